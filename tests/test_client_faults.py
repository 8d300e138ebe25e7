"""Each failure mode over real HTTP against the sandbox: the outcome, and no ID lost.

Sleeps are injected (recorded, never slept) so backoff and rate-limit waits cost no time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from xmetrics_core.client import Timeouts, XClient, XUser
from xmetrics_core.credentials import BearerCredential, Credential, OAuth2Credential
from xmetrics_core.errors import RateLimited, Unauthorized
from xmetrics_core.models import FetchResult, PostStatus
from xmetrics_core.oauth import revoke_oauth2_token
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.sandbox import Fault, SandboxSettings

SCOPES = ("tweet.read", "users.read", "offline.access")


@pytest.fixture
def clean(sandbox: Any) -> Iterator[Any]:
    sandbox.faults.clear()
    sandbox.request_log.clear()
    yield sandbox
    sandbox.faults.clear()
    sandbox.request_log.clear()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    sandbox: Any, credential: Credential, sleeps: Sleeps | None = None, **overrides: Any
) -> XClient:
    settings: dict[str, Any] = {
        "credential": credential,
        "base_url": sandbox.base_url,
        "clock": sandbox.clock.protocol_now,  # the host's clock: rate-limit resets, expiry
        "retry": RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps(), random=lambda: 0.0),
    }
    return XClient(**(settings | overrides))


def bearer(sandbox: Any) -> BearerCredential:
    return BearerCredential(token=sandbox.demo.bearer_token)


def visible_ids(sandbox: Any, count: int) -> list[str]:
    world = sandbox.world
    hidden = {world.protected_user_id, world.suspended_user_id}
    return [p.id for p in world.posts if p.author_id not in hidden][:count]


def assert_every_id_once(result: FetchResult, ids: list[str]) -> None:
    assert [s.id for s in result.statuses] == ids


def test_429_then_success_waits_until_the_reset(clean: Any) -> None:
    sandbox, sleeps, ids = clean, Sleeps(), visible_ids(clean, 50)
    sandbox.faults.script(Fault(kind="status", status=429, reset_in=7))
    with client_for(sandbox, bearer(sandbox), sleeps) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert len(sleeps) == 1 and 5.5 <= sleeps[0] <= 7.0
    assert (result.api_calls, result.retries) == (2, 1)
    assert [e.status for e in sandbox.request_log.entries(path="/2/tweets")] == [429, 200]


def test_429_past_the_wait_bound_fails_the_batch_with_the_reset_time(clean: Any) -> None:
    sandbox, sleeps, ids = clean, Sleeps(), visible_ids(clean, 150)
    sandbox.faults.script(Fault(kind="status", status=429, reset_in=900))
    with client_for(sandbox, bearer(sandbox), sleeps, max_workers=1) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    failed = [s for s in result.statuses if s.status is PostStatus.FAILED]
    assert [s.id for s in failed] == ids[:100]
    reset = (sandbox.clock.protocol_now() + timedelta(seconds=900)).strftime("%H:%M")
    minute_before = (sandbox.clock.protocol_now() + timedelta(seconds=899)).strftime("%H:%M")
    assert all("rate limited" in s.detail for s in failed)
    assert any(f"try again after {hhmm} UTC" in failed[0].detail for hhmm in (reset, minute_before))
    assert {s.status for s in result.statuses[100:]} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert sleeps == []  # the 15-minute wait is reported, not slept through
    assert result.api_calls == 2


def test_429_past_the_bound_raises_rate_limited_outside_fetches(clean: Any) -> None:
    sandbox = clean
    sandbox.faults.script(Fault(kind="status", status=429, reset_in=600))
    with client_for(sandbox, bearer(sandbox)) as client, pytest.raises(RateLimited) as caught:
        client.recent_posts(sandbox.world.demo_user_id)
    assert caught.value.reset_at is not None
    assert "try again after" in caught.value.message


def test_503_is_retried_with_backoff(clean: Any) -> None:
    sandbox, sleeps, ids = clean, Sleeps(), visible_ids(clean, 20)
    sandbox.faults.script(Fault(kind="status", status=503), Fault(kind="status", status=503))
    with client_for(sandbox, bearer(sandbox), sleeps) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert sleeps == [0.5, 1.0]
    assert (result.api_calls, result.retries) == (3, 2)


def test_persistent_503_fails_after_max_attempts_without_losing_ids(clean: Any) -> None:
    sandbox, sleeps, ids = clean, Sleeps(), visible_ids(clean, 30)
    sandbox.faults.script(*[Fault(kind="status", status=503)] * 4)
    with client_for(sandbox, bearer(sandbox), sleeps) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.FAILED}
    assert "503" in result.statuses[0].detail
    assert sleeps == [0.5, 1.0, 2.0]
    assert result.api_calls == 4


def test_dropped_connection_is_retried(clean: Any) -> None:
    sandbox, sleeps, ids = clean, Sleeps(), visible_ids(clean, 20)
    sandbox.faults.script(Fault(kind="drop"))
    with client_for(sandbox, bearer(sandbox), sleeps) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert (result.api_calls, result.retries) == (2, 1)


def test_read_timeout_is_retried(clean: Any) -> None:
    sandbox, sleeps, ids = clean, Sleeps(), visible_ids(clean, 20)
    sandbox.faults.script(Fault(kind="slow", seconds=2.0))
    timeouts = Timeouts(connect=1.0, read=0.3)
    with client_for(sandbox, bearer(sandbox), sleeps, timeout=timeouts) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert (result.api_calls, result.retries) == (2, 1)


def test_timeouts_every_attempt_fail_the_batch_with_a_clear_detail(clean: Any) -> None:
    sandbox, ids = clean, visible_ids(clean, 10)
    sandbox.faults.script(*[Fault(kind="slow", seconds=1.0)] * 2)
    retry = RetryPolicy(max_attempts=2, sleep=Sleeps(), random=lambda: 0.0)
    timeouts = Timeouts(connect=1.0, read=0.2)
    with client_for(sandbox, bearer(sandbox), retry=retry, timeout=timeouts) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.FAILED}
    assert "did not answer in time" in result.statuses[0].detail


def test_malformed_json_is_retried_like_a_server_error(clean: Any) -> None:
    sandbox, ids = clean, visible_ids(clean, 20)
    sandbox.faults.script(Fault(kind="malformed"), Fault(kind="malformed"))
    with client_for(sandbox, bearer(sandbox)) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert (result.api_calls, result.retries) == (3, 2)


def test_malformed_json_past_the_bound_fails_the_batch_as_invalid_response(clean: Any) -> None:
    sandbox, ids = clean, visible_ids(clean, 20)
    retry = RetryPolicy(max_attempts=2, sleep=Sleeps(), random=lambda: 0.0)
    sandbox.faults.script(Fault(kind="malformed"), Fault(kind="malformed"))
    with client_for(sandbox, bearer(sandbox), retry=retry) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.FAILED}
    assert "not a JSON object" in result.statuses[0].detail
    assert result.api_calls == 2


def test_depleted_credits_fail_the_batch_saying_to_add_credits(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(settings=SandboxSettings(credits=0))
    ids = [p.id for p in sandbox.world.demo_posts[:5]]
    with client_for(sandbox, bearer(sandbox)) as client:
        result = client.fetch_posts(ids)
    assert_every_id_once(result, ids)
    assert {s.status for s in result.statuses} == {PostStatus.FAILED}
    assert "add credits" in result.statuses[0].detail
    assert result.api_calls == 1  # a 402 is not retried


def oauth2_credential(
    sandbox: Any, token: dict[str, Any], *, confidential: bool = True
) -> OAuth2Credential:
    return OAuth2Credential(
        access_token=str(token["access_token"]),
        refresh_token=str(token["refresh_token"]),
        client_id=sandbox.demo.client_id,
        client_secret=sandbox.demo.client_secret if confidential else None,
        scope=tuple(str(token["scope"]).split()),
    )


@pytest.mark.parametrize("confidential", [True, False], ids=["confidential", "public-client"])
def test_401_is_answered_by_one_refresh_and_the_rotated_token_is_handed_back(
    fresh_sandbox: Any, confidential: bool
) -> None:
    sandbox = fresh_sandbox
    world = sandbox.world
    token = sandbox.issue_oauth2_token(world.demo_user_id, scopes=SCOPES, lifetime=1)
    credential = oauth2_credential(sandbox, token, confidential=confidential)
    sandbox.clock.advance(5)
    handed_back: list[OAuth2Credential] = []
    ids = [p.id for p in world.demo_posts[:150]]
    with client_for(sandbox, credential, on_credential_refreshed=handed_back.append) as client:
        result = client.fetch_posts(ids)
        assert client.credential is handed_back[0]
    assert_every_id_once(result, ids)
    assert all(s.status.has_metrics for s in result.statuses)
    (fresh,) = handed_back
    assert fresh.access_token != credential.access_token
    assert fresh.refresh_token not in (None, credential.refresh_token)
    assert fresh.expires_at is not None and fresh.client_id == credential.client_id
    # one refresh for all threads; the users/me 401 triggered it
    token_calls = sandbox.request_log.entries(path="/2/oauth2/token")
    assert len(token_calls) == 1
    assert token_calls[0].auth == ("basic" if confidential else "none")
    assert sandbox.request_log.entries(path="/2/users/me")[0].status == 401


def test_token_expiring_within_a_minute_is_refreshed_before_the_request(clean: Any) -> None:
    sandbox = clean
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES, lifetime=30)
    credential = oauth2_credential(sandbox, token)
    credential = OAuth2Credential(
        access_token=credential.access_token,
        refresh_token=credential.refresh_token,
        client_id=credential.client_id,
        client_secret=credential.client_secret,
        expires_at=sandbox.clock.protocol_now() + timedelta(seconds=30),
    )
    handed_back: list[OAuth2Credential] = []
    with client_for(sandbox, credential, on_credential_refreshed=handed_back.append) as client:
        me = client.get_me()
    assert me.id == sandbox.world.demo_user_id and len(handed_back) == 1
    statuses = [e.status for e in sandbox.request_log.entries()]
    assert statuses == [200, 200]
    assert [e.path for e in sandbox.request_log.entries()] == ["/2/oauth2/token", "/2/users/me"]


def test_revoked_token_raises_unauthorized_telling_to_reconnect(clean: Any) -> None:
    sandbox = clean
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES)
    credential = oauth2_credential(sandbox, token)
    revoke_oauth2_token(credential, base_url=sandbox.base_url)
    with client_for(sandbox, credential) as client, pytest.raises(Unauthorized) as caught:
        client.fetch_posts([p.id for p in sandbox.world.demo_posts[:5]])
    assert "reconnect" in caught.value.message
    for secret in (credential.access_token, credential.refresh_token or "-"):
        assert secret not in caught.value.message and secret not in repr(caught.value)


def test_revoked_bearer_token_fails_fast(clean: Any) -> None:
    sandbox = clean
    credential = BearerCredential(token="not-a-real-token")
    with client_for(sandbox, credential) as client, pytest.raises(Unauthorized, match="reconnect"):
        client.fetch_posts(visible_ids(sandbox, 3))
    assert sandbox.request_log.count(path="/2/tweets") == 1


def test_access_token_without_refresh_gets_unauthorized_after_expiry(fresh_sandbox: Any) -> None:
    sandbox = fresh_sandbox
    token = sandbox.issue_oauth2_token(
        sandbox.world.demo_user_id, scopes=("tweet.read", "users.read"), lifetime=1
    )
    sandbox.clock.advance(5)
    credential = OAuth2Credential(access_token=str(token["access_token"]))
    with client_for(sandbox, credential) as client, pytest.raises(Unauthorized, match="reconnect"):
        client.get_me()


def test_rate_limit_state_follows_the_newest_response(clean: Any) -> None:
    sandbox = clean
    with client_for(sandbox, bearer(sandbox)) as client:
        client.fetch_posts(visible_ids(sandbox, 5))
        first = client.rate_limit
        client.fetch_posts(visible_ids(sandbox, 5))
        second = client.rate_limit
    assert first.limit == second.limit is not None
    assert second.remaining == first.remaining - 1  # type: ignore[operator]
    assert second.reset_at is not None
    assert second.endpoint == "GET /2/tweets", "the window belongs to one endpoint"


def test_given_me_skips_users_me(clean: Any) -> None:
    sandbox = clean
    from xmetrics_core.credentials import OAuth1Credential

    demo = sandbox.demo
    credential = OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )
    me = XUser(id=sandbox.world.demo_user_id, username="x", name="x")
    with client_for(sandbox, credential) as client:
        client.fetch_posts([sandbox.world.demo_posts[0].id], me=me)
    assert sandbox.request_log.count(path="/2/users/me") == 0


def test_debug_logs_never_carry_a_token(
    fresh_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import threading

    sandbox = fresh_sandbox
    caplog.set_level(logging.DEBUG)
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES, lifetime=1)
    credential = oauth2_credential(sandbox, token)
    sandbox.clock.advance(5)
    handed_back: list[OAuth2Credential] = []
    callers: list[threading.Thread] = []
    with client_for(sandbox, credential, on_credential_refreshed=handed_back.append) as client:
        client.fetch_posts(
            [p.id for p in sandbox.world.demo_posts[:120]],
            progress=lambda done, total: callers.append(threading.current_thread()),
        )
    secrets = [
        credential.access_token,
        credential.refresh_token or "-",
        sandbox.demo.client_secret,
        handed_back[0].access_token,
        handed_back[0].refresh_token or "-",
    ]
    assert "GET /2/tweets params=['expansions', 'ids', 'media.fields', 'tweet.fields']" in (
        caplog.text
    )
    for secret in secrets:
        assert secret not in caplog.text
    assert callers and set(callers) == {threading.current_thread()}
