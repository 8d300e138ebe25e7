"""Scopes, the 403 explanations and the remembered analytics access."""

from __future__ import annotations

from typing import Any

import pytest

from tests.analytics_helpers import (
    SandboxFactory,
    client_for,
    growing_demo_post,
    oauth2_token,
    start,
)
from xmetrics_core.access import (
    ENDPOINT_SCOPES,
    MEDIA_ANALYTICS_PATH,
    NOT_ENROLLED_EXPLANATION,
    TWEETS_ANALYTICS_PATH,
    USAGE_NEEDS_APP_BEARER,
    AccessMemory,
    AnalyticsAccess,
    analytics_explanation,
    explain_forbidden,
    granted_scope_warning,
    missing_scopes,
    needed_scopes,
    scope_advice,
    usage_unavailable_reason,
)
from xmetrics_core.credentials import BearerCredential, OAuth1Credential, OAuth2Credential
from xmetrics_core.defaults import OAUTH2_SCOPES
from xmetrics_core.errors import SCOPE_ADVICE, Forbidden, ForbiddenReason
from xmetrics_core.models import PostStatus
from xmetrics_core.oauth import OAuth2PkceFlow
from xmetrics_core.sandbox.settings import REQUIRED_SCOPES
from xmetrics_core.state import MemoryStateStore

OAUTH1 = OAuth1Credential(
    consumer_key="ck", consumer_secret="cs", access_token="at", access_token_secret="ats"
)


def test_the_sign_in_asks_for_every_scope_the_endpoints_need() -> None:
    assert set(needed_scopes()) <= set(OAUTH2_SCOPES)
    assert "offline.access" in OAUTH2_SCOPES  # a refresh token, so the sign-in lasts
    flow = OAuth2PkceFlow(
        client_id="client",
        redirect_uri="http://127.0.0.1:8501/",
        authorize_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
    )
    assert "scope=tweet.read+users.read+offline.access" in flow.start().url


def test_our_scope_table_agrees_with_the_sandboxes() -> None:
    for endpoint, scopes in REQUIRED_SCOPES.items():
        path = endpoint.removeprefix("GET ")
        if path == "/2/tweets/:id":
            continue  # xmetrics never calls the single-Post lookup
        assert ENDPOINT_SCOPES[path] == scopes, path


def test_missing_scopes_compare_the_granted_ones_with_what_an_endpoint_needs() -> None:
    narrow = OAuth2Credential(access_token="t", scope=("users.read",))
    assert missing_scopes(narrow) == ("tweet.read",)
    assert missing_scopes(narrow, [MEDIA_ANALYTICS_PATH]) == ("tweet.read",)
    assert missing_scopes(OAuth2Credential(access_token="t", scope=OAUTH2_SCOPES)) == ()
    assert missing_scopes(OAuth2Credential(access_token="t")) == ()  # unknown: X will tell
    assert missing_scopes(OAUTH1) == ()


def test_a_sign_in_granted_fewer_scopes_is_warned_about_in_a_users_words() -> None:
    warning = granted_scope_warning(OAuth2Credential(access_token="t", scope=("users.read",)))
    assert warning is not None
    assert "reconnect and allow reading Posts" in warning and "offline.access" in warning
    assert granted_scope_warning(OAuth2Credential(access_token="t", scope=OAUTH2_SCOPES)) is None
    assert granted_scope_warning(OAUTH1) is None
    assert scope_advice() in SCOPE_ADVICE  # one wording in the error and in the explanation


def problem_error(body: dict[str, Any]) -> Forbidden:
    return Forbidden("X answered 403 Forbidden", status_code=403, problem=body)


SCOPE_403 = {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"}
NOT_ENROLLED_403 = {
    "title": "Client Forbidden",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
APP_ONLY_403 = {
    "title": "Unsupported Authentication",
    "type": "https://api.x.com/2/problems/unsupported-authentication",
}


def test_each_kind_of_403_is_recognised_and_explained() -> None:
    scope = problem_error(SCOPE_403)
    assert scope.reason is ForbiddenReason.SCOPE and SCOPE_ADVICE in scope.message
    narrow = OAuth2Credential(access_token="t", scope=("tweet.read",))
    text = explain_forbidden(scope, credential=narrow, path="/2/tweets")
    assert "reconnect and allow reading your account" in text and "users.read" in text
    assert "reading Posts" in explain_forbidden(scope)
    enrolled = problem_error(NOT_ENROLLED_403)
    assert enrolled.reason is ForbiddenReason.ACCESS_LEVEL and "Enterprise" in enrolled.message
    assert explain_forbidden(enrolled, path=TWEETS_ANALYTICS_PATH) == NOT_ENROLLED_EXPLANATION
    app_only = problem_error(APP_ONLY_403)
    assert app_only.reason is ForbiddenReason.AUTHENTICATION
    assert "user sign-in" in explain_forbidden(app_only)
    other = problem_error({"title": "Forbidden"})
    assert other.reason is ForbiddenReason.OTHER and other.message == "X answered 403 Forbidden"
    assert other.with_message("changed").reason is ForbiddenReason.OTHER


def test_a_token_without_tweet_read_is_explained_where_posts_are_fetched(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    post = growing_demo_post(sandbox)
    credential = oauth2_token(sandbox, ("users.read", "offline.access"))
    with client_for(sandbox, credential) as client:
        with pytest.raises(Forbidden) as caught:
            client.get_me()
        assert caught.value.reason is ForbiddenReason.SCOPE
        assert "reconnect and allow reading Posts" in caught.value.message
        public_only = client.fetch_posts([post.id], groups=[])
    (status,) = public_only.statuses
    assert status.status is PostStatus.FAILED
    assert "reconnect and allow reading Posts" in status.detail
    assert credential.access_token not in status.detail


def test_access_memory_keeps_bytes_under_the_fingerprint_never_the_token() -> None:
    store: MemoryStateStore[bytes] = MemoryStateStore()
    replica_a, replica_b = AccessMemory(store=store), AccessMemory(store=store)
    credential = OAuth2Credential(access_token="secret-token-value")
    replica_a.remember(credential.fingerprint, AnalyticsAccess.NOT_ENROLLED)
    assert replica_b.get(credential.fingerprint) is AnalyticsAccess.NOT_ENROLLED
    key = AccessMemory.KEY_PREFIX + credential.fingerprint
    assert store.get(key) == b"not_enrolled"
    assert "secret-token-value" not in key
    replica_b.remember(credential.fingerprint, AnalyticsAccess.UNKNOWN)
    assert replica_a.get(credential.fingerprint) is AnalyticsAccess.UNKNOWN
    store.put(key, b"\xff garbage", 60)
    assert replica_a.get(credential.fingerprint) is AnalyticsAccess.UNKNOWN


def test_remembered_access_expires_so_an_upgraded_app_is_asked_again() -> None:
    now = [0.0]
    memory = AccessMemory(store=MemoryStateStore(clock=lambda: now[0]), ttl_seconds=60)
    memory.remember("fp", AnalyticsAccess.AVAILABLE)
    now[0] = 59.0
    assert memory.get("fp") is AnalyticsAccess.AVAILABLE
    now[0] = 61.0
    assert memory.get("fp") is AnalyticsAccess.UNKNOWN


def test_explanations_for_analytics_and_usage() -> None:
    assert analytics_explanation(AnalyticsAccess.NOT_ENROLLED) == (
        "X serves hourly analytics to Enterprise apps only; xmetrics builds curves from its "
        "own snapshots instead."
    )
    assert analytics_explanation(AnalyticsAccess.AVAILABLE) == ""
    assert analytics_explanation(AnalyticsAccess.UNKNOWN) == ""
    assert usage_unavailable_reason(BearerCredential(token="b")) is None
    assert usage_unavailable_reason(OAuth2Credential(access_token="t")) == USAGE_NEEDS_APP_BEARER
    assert usage_unavailable_reason(None) == USAGE_NEEDS_APP_BEARER
