"""The shared state on a real Redis: TTLs, atomic single use, encryption, configuration."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
import redis
import requests
from cryptography.fernet import Fernet

from tests.sandbox.flows import submit
from tests.sandbox.helpers import TIMEOUT
from xmetrics_core.access import AccessMemory, AnalyticsAccess
from xmetrics_core.browser_session import BrowserSessions, new_browser_id
from xmetrics_core.catalogue import Group
from xmetrics_core.columns import PostRecords
from xmetrics_core.connection import AuthMethod, Connection, endpoints_for
from xmetrics_core.credentials import BearerCredential
from xmetrics_core.errors import ConfigurationError
from xmetrics_core.models import FetchResult
from xmetrics_core.parsing import result_from_json
from xmetrics_core.remembered import BrowserRememberedConnections
from xmetrics_core.sandbox import Sandbox
from xmetrics_core.shared_state import (
    EncryptedStateStore,
    PickledStateStore,
    RedisStateStore,
    SharedStateUnavailable,
    team_state,
)
from xmetrics_core.signin import PendingSignIns, finish_callback, start_oauth2_sign_in
from xmetrics_core.state import ResultCache


def _redis(url: str, prefix: str) -> RedisStateStore:
    return RedisStateStore(url=url, prefix=prefix)


def _all_bytes(client: redis.Redis, prefix: str) -> list[bytes]:
    """Every key and value under ``prefix``, as Redis holds them."""
    found: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        found.append(key)
        value = client.get(key)
        if isinstance(value, bytes):
            found.append(value)
    return found


def test_a_value_lives_for_its_ttl_under_the_deployment_prefix(
    redis_url: str, redis_client: redis.Redis, state_prefix: str
):
    store = _redis(redis_url, state_prefix)
    store.put("short", b"one", ttl_seconds=0.3)
    store.put("long", b"two", ttl_seconds=60)
    assert store.get("short") == b"one"
    assert redis_client.exists(f"{state_prefix}:long") == 1
    time.sleep(0.5)
    assert store.get("short") is None
    assert store.get("long") == b"two"
    store.delete("long")
    store.delete("never-there")
    assert store.get("long") is None


def test_take_is_single_use_across_concurrent_takers(redis_url: str, state_prefix: str):
    replicas = [_redis(redis_url, state_prefix) for _ in range(8)]
    replicas[0].put("state-1", b"verifier", ttl_seconds=60)
    got: list[bytes | None] = []
    lock = threading.Lock()
    start = threading.Barrier(len(replicas))

    def take(store: RedisStateStore) -> None:
        start.wait(timeout=5)
        value = store.take("state-1")
        with lock:
            got.append(value)

    threads = [threading.Thread(target=take, args=(s,)) for s in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(got, key=lambda v: v is None) == [b"verifier"] + [None] * 7


def test_two_deployments_on_one_redis_never_see_each_others_keys(
    redis_url: str, redis_client: redis.Redis, state_prefix: str
):
    ours = _redis(redis_url, state_prefix)
    theirs = _redis(redis_url, state_prefix + "-other")
    try:
        ours.put("k", b"ours", ttl_seconds=60)
        assert theirs.get("k") is None
    finally:
        redis_client.delete(f"{state_prefix}-other:k")


def test_encrypted_values_and_keys_are_opaque_and_a_wrong_key_reads_nothing(
    redis_url: str, redis_client: redis.Redis, state_prefix: str, state_key: str
):
    store = EncryptedStateStore(store=_redis(redis_url, state_prefix), key=state_key)
    store.put("xmetrics:signin:some-state", b"the-code-verifier", ttl_seconds=60)
    assert store.get("xmetrics:signin:some-state") == b"the-code-verifier"
    raw = b"".join(_all_bytes(redis_client, state_prefix))
    assert b"the-code-verifier" not in raw and b"some-state" not in raw and b"signin" not in raw

    other = EncryptedStateStore(
        store=_redis(redis_url, state_prefix), key=Fernet.generate_key().decode()
    )
    assert other.get("xmetrics:signin:some-state") is None
    # tampered with: reads as absent, never as someone else's value
    (key,) = list(redis_client.scan_iter(match=f"{state_prefix}:*"))
    redis_client.set(key, b"gAAAAA" + b"x" * 80)
    assert store.get("xmetrics:signin:some-state") is None


def test_the_result_cache_and_access_memory_are_shared_by_two_replicas(
    redis_url: str, state_prefix: str, state_key: str
):
    def replica() -> tuple[ResultCache[object], AccessMemory]:
        encrypted = EncryptedStateStore(store=_redis(redis_url, state_prefix), key=state_key)
        cache: ResultCache[object] = ResultCache(
            ttl_seconds=60,
            store=PickledStateStore(store=encrypted),
            generations=PickledStateStore(store=encrypted),
        )
        return cache, AccessMemory(store=encrypted)

    (cache_a, access_a), (cache_b, access_b) = replica(), replica()
    cache_a.put(("fp-alice", "https://api", "q"), {"posts": (1, 2, 3)})
    assert cache_b.get(("fp-alice", "https://api", "q")) == {"posts": (1, 2, 3)}
    assert cache_b.get(("fp-bob", "https://api", "q")) is None  # keyed by credential
    cache_b.discard_credential("fp-alice")
    assert cache_a.get(("fp-alice", "https://api", "q")) is None
    access_a.remember("fp-alice", AnalyticsAccess.NOT_ENROLLED)
    assert access_b.get("fp-alice") is AnalyticsAccess.NOT_ENROLLED


def test_a_parsed_result_kept_as_columns_comes_back_from_another_replica_equal(
    redis_url: str, state_prefix: str, state_key: str
):
    page = {
        "data": [
            {
                "id": "1",
                "attachments": {"media_keys": ["7_1"]},
                "public_metrics": {"like_count": 3},
            },
            {"id": "2", "public_metrics": {"like_count": 5, "reply_count": 1}},
        ],
        "includes": {"media": [{"media_key": "7_1", "type": "video", "duration_ms": 900}]},
    }
    parsed = result_from_json([orjson.dumps(page)])
    assert isinstance(parsed.posts, PostRecords)
    encrypted = EncryptedStateStore(store=_redis(redis_url, state_prefix), key=state_key)
    replicas = [
        ResultCache(ttl_seconds=60, store=PickledStateStore(store=encrypted)) for _ in range(2)
    ]
    replicas[0].put(("fp-alice", "q"), parsed)
    restored = replicas[1].get(("fp-alice", "q"))
    assert isinstance(restored, FetchResult) and restored == parsed
    assert [p.value(Group.PUBLIC, "like_count") for p in restored.posts] == [3, 5]
    assert restored.media[0].post_ids == ("1",)


def _consent(sandbox: Sandbox, url: str) -> dict[str, str]:
    page = requests.get(url, timeout=TIMEOUT)
    redirect = submit(sandbox.base_url, page.text, "Authorize app")
    assert redirect.status_code in (302, 303), redirect.text[:200]
    return dict(parse_qsl(urlsplit(redirect.headers["Location"]).query))


def test_a_sign_in_started_on_one_replica_finishes_on_another_once_and_no_token_is_in_clear(
    sandbox: Sandbox,
    redis_url: str,
    redis_client: redis.Redis,
    state_prefix: str,
    state_key: str,
):
    def encrypted() -> EncryptedStateStore:
        return EncryptedStateStore(store=_redis(redis_url, state_prefix), key=state_key)

    store_a, store_b = encrypted(), encrypted()
    browser = new_browser_id()
    url = start_oauth2_sign_in(
        pending=PendingSignIns(store=store_a),
        browser_id=browser,
        method=AuthMethod.DEMO,
        endpoints=endpoints_for(sandbox.base_url),
        client_id=sandbox.demo.client_id,
        client_secret=sandbox.demo.client_secret,
        redirect_uri=sandbox.demo.redirect_uris[0],
    )
    params = _consent(sandbox, url)
    outcome = finish_callback(params, pending=PendingSignIns(store=store_b), browser_id=browser)
    assert outcome is not None and outcome.connection is not None and outcome.client is not None
    outcome.client.close()
    again = finish_callback(params, pending=PendingSignIns(store=store_a), browser_id=browser)
    assert again is not None and again.connection is None  # single use, on every replica

    BrowserSessions(store=store_b).save_connection(browser, outcome.connection, remember=False)
    seen_on_a = BrowserSessions(store=store_a).connection(browser)
    assert seen_on_a is not None
    assert seen_on_a.connection.credential == outcome.connection.credential

    raw = b"\n".join(_all_bytes(redis_client, state_prefix))
    assert raw, "the test stored nothing"
    leaked = [s for s in sandbox.issued_secrets() if s.encode() in raw]
    assert leaked == []
    assert browser.encode() not in raw


def test_team_mode_is_off_without_a_url_and_refuses_to_start_without_a_key(redis_url: str):
    assert team_state({}) is None
    with pytest.raises(ConfigurationError, match="XMETRICS_STATE_KEY is not"):
        team_state({"XMETRICS_STATE_URL": redis_url})
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        team_state({"XMETRICS_STATE_URL": redis_url, "XMETRICS_STATE_KEY": "hunter2"})
    with pytest.raises(ConfigurationError, match="redis://"):
        team_state({"XMETRICS_STATE_URL": "http://127.0.0.1:6379", "XMETRICS_STATE_KEY": "x"})


def test_an_unreachable_redis_is_said_in_words(state_key: str):
    with pytest.raises(SharedStateUnavailable, match="not answering") as caught:
        team_state({"XMETRICS_STATE_URL": "redis://127.0.0.1:1/0", "XMETRICS_STATE_KEY": state_key})
    assert state_key not in str(caught.value)


def test_a_memoised_value_is_never_served_after_another_replica_replaced_it(
    redis_url: str, redis_client: redis.Redis, state_prefix: str, state_key: str
):
    def replica() -> PickledStateStore[object]:
        return PickledStateStore(
            store=EncryptedStateStore(store=_redis(redis_url, state_prefix), key=state_key)
        )

    a, b = replica(), replica()
    a.put("result", ("first",), ttl_seconds=60)
    assert b.get("result") == ("first",)
    assert b.get("result") == ("first",)  # memoised now
    a.put("result", ("second",), ttl_seconds=60)
    assert b.get("result") == ("second",)
    a.delete("result")
    assert b.get("result") is None
    # a forged token is never unpickled, memo or not
    b.put("result", ("third",), ttl_seconds=60)
    (key,) = list(redis_client.scan_iter(match=f"{state_prefix}:*"))
    redis_client.set(key, b"gAAAAA" + b"y" * 120)
    assert a.get("result") is None and b.get("result") is None


def test_remembered_connections_follow_their_browser_to_every_replica_and_no_other(
    sandbox: Sandbox,
    redis_url: str,
    redis_client: redis.Redis,
    state_prefix: str,
    state_key: str,
):
    def encrypted() -> EncryptedStateStore:
        return EncryptedStateStore(store=_redis(redis_url, state_prefix), key=state_key)

    mine, theirs = new_browser_id(), new_browser_id()
    connection = Connection(
        credential=BearerCredential(token=sandbox.demo.bearer_token),
        method=AuthMethod.BEARER,
        endpoints=endpoints_for(sandbox.base_url),
    )
    BrowserRememberedConnections(store=encrypted(), browser_id=mine).save(connection)
    on_b = BrowserRememberedConnections(store=encrypted(), browser_id=mine).load()
    assert [r.connection.credential for r in on_b] == [connection.credential]
    assert BrowserRememberedConnections(store=encrypted(), browser_id=theirs).load() == ()
    assert BrowserRememberedConnections(store=encrypted(), browser_id=None).load() == ()
    raw = b"\n".join(_all_bytes(redis_client, state_prefix))
    assert sandbox.demo.bearer_token.encode() not in raw and mine.encode() not in raw
    BrowserRememberedConnections(store=encrypted(), browser_id=mine).forget(connection)
    assert BrowserRememberedConnections(store=encrypted(), browser_id=mine).load() == ()
