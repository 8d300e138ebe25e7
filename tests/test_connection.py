"""The dashboard's connection logic: endpoints, configured credentials, remember-me, cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.connection import (
    APP_ONLY_REASON,
    DEFAULT_APP_URL,
    Account,
    AuthMethod,
    Connection,
    Endpoints,
    PendingSignIn,
    app_base_url,
    configured_credential,
    endpoints_for,
    group_options,
    may_load_in_browser,
    rate_limit_label,
)
from xmetrics_core.credentials import BearerCredential, OAuth1Credential, OAuth2Credential
from xmetrics_core.models import RateLimitState

OAUTH1 = OAuth1Credential(
    consumer_key="ck-secret",
    consumer_secret="cs-secret",
    access_token="at-secret",
    access_token_secret="ats-secret",
)
OAUTH2 = OAuth2Credential(
    access_token="access-secret",
    refresh_token="refresh-secret",
    expires_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    client_id="client-1",
    client_secret="client-secret",
    scope=("tweet.read", "users.read", "offline.access"),
)
SANDBOX = Endpoints(api_base_url="http://127.0.0.1:8787", web_base_url="http://127.0.0.1:8787")


def _connection(credential=OAUTH2, *, username: str | None = "demo_user") -> Connection:
    account = (
        None
        if username is None
        else Account(id=str(abs(hash(username))), username=username, name="Demo User")
    )
    return Connection(
        credential=credential, method=AuthMethod.DEMO, endpoints=SANDBOX, account=account
    )


# -- endpoints and the app's own URL -----------------------------------------------------------


def test_empty_or_x_base_url_means_x_with_its_separate_consent_host():
    for text in (None, "", "  ", "https://api.x.com", "https://api.x.com/"):
        endpoints = endpoints_for(text)
        assert endpoints.is_x
        assert endpoints.oauth2_authorize_url == "https://x.com/i/oauth2/authorize"
        assert endpoints.oauth2_token_url == "https://api.x.com/2/oauth2/token"


def test_a_sandbox_base_url_serves_api_and_consent_page():
    endpoints = endpoints_for("http://127.0.0.1:8787/")
    assert not endpoints.is_x
    assert endpoints.oauth2_authorize_url == "http://127.0.0.1:8787/i/oauth2/authorize"
    assert endpoints.oauth2_token_url == "http://127.0.0.1:8787/2/oauth2/token"


@pytest.mark.parametrize("text", ["api.x.com", "ftp://127.0.0.1", "http://", "not a url"])
def test_a_base_url_that_is_not_http_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match="https://api.x.com"):
        endpoints_for(text)


def test_app_base_url_keeps_scheme_host_and_port_only():
    assert app_base_url("http://127.0.0.1:8501/posts") == "http://127.0.0.1:8501/"
    assert app_base_url("https://metrics.example.org/video?x=1") == "https://metrics.example.org/"
    assert app_base_url(None) == DEFAULT_APP_URL
    assert app_base_url("about:blank") == DEFAULT_APP_URL


# -- labels ---------------------------------------------------------------------------------------


def test_rate_limit_label_gives_remaining_and_reset_time_in_utc():
    now = datetime(2026, 11, 26, 13, 53, 30, tzinfo=UTC)
    state = RateLimitState(
        limit=900, remaining=873, reset_at=now + timedelta(minutes=11, seconds=45)
    )
    assert (
        rate_limit_label(state, now=now) == "873 of 900 requests left; resets 14:05 UTC (in 12 min)"
    )


def test_rate_limit_label_names_the_endpoint_and_uses_the_chosen_time_zone():
    from zoneinfo import ZoneInfo

    now = datetime(2026, 11, 26, 13, 53, 30, tzinfo=UTC)
    state = RateLimitState(
        limit=900,
        remaining=873,
        reset_at=now + timedelta(minutes=11, seconds=45),
        endpoint="GET /2/tweets",
    )
    assert rate_limit_label(state, now=now, tz=ZoneInfo("Europe/Berlin")) == (
        "GET /2/tweets: 873 of 900 requests left; resets 15:05 Europe/Berlin (in 12 min)"
    )


def test_rate_limit_label_before_any_request_says_so():
    assert "not known yet" in rate_limit_label(RateLimitState())


def test_account_and_auth_labels():
    assert _connection().account_label == "@demo_user (Demo User)"
    assert _connection(BearerCredential(token="t"), username=None).account_label.startswith(
        "App-only"
    )
    assert "PKCE" in _connection().auth_label


def test_bearer_unlocks_public_only_and_says_why_the_rest_is_disabled():
    options = {o.group: o for o in group_options(BearerCredential(token="t"))}
    assert options[Group.PUBLIC].enabled
    for group in (Group.NON_PUBLIC, Group.ORGANIC, Group.PROMOTED):
        assert not options[group].enabled
        assert options[group].reason == APP_ONLY_REASON
    assert all(o.enabled for o in group_options(OAUTH1))
    assert _connection().unlocked_groups == ALL_GROUPS


def test_refreshed_connection_keeps_its_cache_fingerprint():
    connection = _connection()
    rotated = OAuth2Credential(
        access_token="new-access", refresh_token="new-refresh", client_id="c"
    )
    refreshed = connection.with_credential(rotated)
    assert refreshed.credential is rotated
    assert refreshed.fingerprint == connection.fingerprint == OAUTH2.fingerprint
    assert refreshed.account == connection.account


def test_pending_sign_in_repr_shows_no_secret():
    pending = PendingSignIn(
        method=AuthMethod.OAUTH2_PKCE,
        endpoints=SANDBOX,
        client_id="client-id-secret",
        client_secret="client-secret-value",
        code_verifier="verifier-secret",
        consumer_secret="consumer-secret-value",
        request_token_secret="rts-secret",
    )
    text = repr(pending)
    for secret in ("client-secret-value", "verifier-secret", "consumer-secret-value", "rts-secret"):
        assert secret not in text


# -- configured credentials -------------------------------------------------------------------------


def test_secrets_table_wins_over_the_environment():
    found = configured_credential(
        secrets={"bearer_token": "from-secrets", "api_base_url": "http://127.0.0.1:9000"},
        environ={"X_BEARER_TOKEN": "from-env"},
    )
    assert found is not None
    assert found.source == "st.secrets"
    assert isinstance(found.credential, BearerCredential)
    assert found.credential.token == "from-secrets"
    assert found.endpoints.api_base_url == "http://127.0.0.1:9000"


def test_environment_variables_use_the_cli_names():
    found = configured_credential(
        secrets={},
        environ={
            "X_CONSUMER_KEY": "a",
            "X_CONSUMER_SECRET": "b",
            "X_ACCESS_TOKEN": "c",
            "X_ACCESS_TOKEN_SECRET": "d",
        },
    )
    assert found is not None
    assert found.source == "environment variables"
    assert isinstance(found.credential, OAuth1Credential)
    assert found.endpoints.is_x
    assert "OAuth 1.0a" in found.label


def test_nothing_configured_gives_none():
    assert configured_credential(secrets=None, environ={"HOME": "/tmp"}) is None
    assert configured_credential(secrets={"bearer_token": "  "}, environ={}) is None


def test_preview_images_load_from_outside_only_with_the_real_x_api():
    image = "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/a.jpg"
    local = "http://127.0.0.1:8787/media/a.jpg"
    assert may_load_in_browser(image, Endpoints())
    assert not may_load_in_browser(image, SANDBOX)
    assert may_load_in_browser(local, SANDBOX)
    assert not may_load_in_browser("javascript:alert(1)", Endpoints())
    assert not may_load_in_browser(None, Endpoints())
