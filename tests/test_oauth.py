"""OAuth flows: pure parts (PKCE URL, pending store). Flows end to end are in the lower half."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from xmetrics_core.errors import AuthFlowError
from xmetrics_core.oauth import OAuth2PkceFlow, PendingAuthStore


def test_pkce_start_builds_the_consent_url_with_s256() -> None:
    flow = OAuth2PkceFlow(
        client_id="cid",
        redirect_uri="http://127.0.0.1:8501/",
        scopes=("tweet.read", "users.read", "offline.access"),
        authorize_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
    )
    pending = flow.start()
    parts = urlsplit(pending.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.netloc, parts.path) == ("x.com", "/i/oauth2/authorize")
    assert query["response_type"] == "code" and query["client_id"] == "cid"
    assert query["redirect_uri"] == "http://127.0.0.1:8501/"
    assert query["scope"] == "tweet.read users.read offline.access"
    assert query["state"] == pending.state and len(pending.state) >= 20
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert pending.code_verifier not in pending.url
    assert pending.code_verifier not in repr(pending)
    assert flow.start().state != pending.state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pending_store_is_single_use() -> None:
    store = PendingAuthStore(ttl_seconds=600, clock=FakeClock())
    store.put("s1", {"verifier": "v"})
    assert store.pop("s1") == {"verifier": "v"}
    with pytest.raises(AuthFlowError, match="unknown or was already used"):
        store.pop("s1")
    with pytest.raises(AuthFlowError, match="unknown or was already used"):
        store.pop("never-seen")


def test_pending_store_expires_with_a_distinct_message() -> None:
    clock = FakeClock()
    store = PendingAuthStore(ttl_seconds=600, clock=clock)
    store.put("s1", "payload")
    clock.now += 601
    with pytest.raises(AuthFlowError, match="expired"):
        store.pop("s1")


def test_pending_store_forgets_long_expired_entries() -> None:
    clock = FakeClock()
    store = PendingAuthStore(ttl_seconds=10, clock=clock)
    store.put("old", 1)
    clock.now += 100
    store.put("new", 2)
    assert len(store) == 1


def test_pending_store_is_bounded() -> None:
    store = PendingAuthStore(ttl_seconds=600, clock=FakeClock(), max_entries=3)
    for n in range(5):
        store.put(f"s{n}", n)
    assert len(store) == 3
