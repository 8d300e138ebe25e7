"""Credentials: immutable, never show a secret, pick the right requests auth object."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import requests
from requests_oauthlib import OAuth1

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.credentials import (
    BearerCredential,
    OAuth1Credential,
    OAuth2Credential,
    credential_from_env,
    credential_from_json,
    credential_to_json,
    oauth2_credential_from_token,
)
from xmetrics_core.errors import AuthFlowError, ConfigurationError

SECRETS = ("s3cret-bearer", "ck-123", "cs-456", "at-789", "ats-012", "o2-access", "o2-refresh")


def all_credentials() -> list[BearerCredential | OAuth1Credential | OAuth2Credential]:
    return [
        BearerCredential(token="s3cret-bearer"),
        OAuth1Credential(
            consumer_key="ck-123",
            consumer_secret="cs-456",
            access_token="at-789",
            access_token_secret="ats-012",
        ),
        OAuth2Credential(
            access_token="o2-access",
            refresh_token="o2-refresh",
            client_id="client-1",
            client_secret="cs-456",
        ),
    ]


@pytest.mark.parametrize("credential", all_credentials(), ids=lambda c: c.kind)
def test_repr_and_str_never_show_a_secret(credential: object) -> None:
    for text in (repr(credential), str(credential), repr(credential.auth())):
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize("credential", all_credentials(), ids=lambda c: c.kind)
def test_credentials_are_frozen(credential: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        credential.kind = "bearer"  # type: ignore[attr-defined]


def test_fingerprint_is_stable_salted_and_secret_free() -> None:
    a = BearerCredential(token="s3cret-bearer")
    assert a.fingerprint == BearerCredential(token="s3cret-bearer").fingerprint
    assert a.fingerprint != BearerCredential(token="other").fingerprint
    assert len(a.fingerprint) == 64 and "s3cret" not in a.fingerprint
    import hashlib

    assert a.fingerprint != hashlib.sha256(b"s3cret-bearer").hexdigest()


def test_groups_follow_the_credential_kind() -> None:
    bearer, oauth1, oauth2 = all_credentials()
    assert bearer.allowed_groups == (Group.PUBLIC,) and not bearer.is_user_context
    assert oauth1.allowed_groups == ALL_GROUPS and oauth1.is_user_context
    assert oauth2.allowed_groups == ALL_GROUPS and oauth2.is_user_context


def _prepared(
    auth: requests.auth.AuthBase, url: str = "https://api.x.com/2/tweets?ids=1"
) -> requests.PreparedRequest:
    return requests.Request("GET", url, auth=auth).prepare()


def test_bearer_sets_the_authorization_header() -> None:
    request = _prepared(BearerCredential(token="abc").auth())
    assert request.headers["Authorization"] == "Bearer abc"


def test_oauth1_signs_with_hmac_sha1() -> None:
    _, oauth1, _ = all_credentials()
    auth = oauth1.auth()
    assert isinstance(auth, OAuth1)
    header = _prepared(auth).headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert 'oauth_signature_method="HMAC-SHA1"' in header
    assert 'oauth_consumer_key="ck-123"' in header and 'oauth_token="at-789"' in header


def test_oauth2_sends_the_access_token_as_bearer() -> None:
    _, _, oauth2 = all_credentials()
    assert _prepared(oauth2.auth()).headers["Authorization"] == "Bearer o2-access"


def test_oauth2_expiry_window() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    soon = OAuth2Credential(access_token="a", expires_at=now + timedelta(seconds=30))
    later = OAuth2Credential(access_token="a", expires_at=now + timedelta(hours=1))
    assert soon.expires_within(60, now=now)
    assert not later.expires_within(60, now=now)
    assert not OAuth2Credential(access_token="a").expires_within(60, now=now)
    assert not OAuth2Credential(access_token="a").can_refresh
    assert OAuth2Credential(access_token="a", refresh_token="r", client_id="c").can_refresh


def test_env_prefers_oauth2_then_oauth1_then_bearer() -> None:
    env = {
        "X_BEARER_TOKEN": "b",
        "X_CONSUMER_KEY": "ck",
        "X_CONSUMER_SECRET": "cs",
        "X_ACCESS_TOKEN": "at",
        "X_ACCESS_TOKEN_SECRET": "ats",
    }
    assert isinstance(credential_from_env(env), OAuth1Credential)
    oauth2 = credential_from_env(
        env | {"X_OAUTH2_ACCESS_TOKEN": "o", "X_OAUTH2_REFRESH_TOKEN": "r", "X_CLIENT_ID": "c"}
    )
    assert isinstance(oauth2, OAuth2Credential)
    assert (oauth2.access_token, oauth2.refresh_token, oauth2.client_id) == ("o", "r", "c")
    assert credential_from_env({"X_BEARER_TOKEN": " b "}) == BearerCredential(token="b")
    assert credential_from_env({}) is None
    assert credential_from_env({"X_BEARER_TOKEN": ""}) is None


def test_partial_oauth1_env_names_what_is_missing_without_values() -> None:
    with pytest.raises(ConfigurationError, match="X_ACCESS_TOKEN_SECRET") as caught:
        credential_from_env(
            {"X_CONSUMER_KEY": "ck-value", "X_CONSUMER_SECRET": "cs-value", "X_ACCESS_TOKEN": "a"}
        )
    assert "ck-value" not in str(caught.value) and "cs-value" not in str(caught.value)


def test_a_token_response_becomes_a_credential_keeping_what_a_refresh_left_out() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = oauth2_credential_from_token(
        {"access_token": "a1", "refresh_token": "r1", "expires_in": 7200, "scope": "tweet.read"},
        client_id="c",
        client_secret=None,
        now=now,
    )
    assert first.expires_at == now + timedelta(hours=2) and first.scope == ("tweet.read",)
    refreshed = oauth2_credential_from_token(
        {"access_token": "a2"}, client_id="c", client_secret=None, now=now, previous=first
    )
    assert (refreshed.refresh_token, refreshed.scope, refreshed.expires_at) == (
        "r1",
        ("tweet.read",),
        None,
    )
    with pytest.raises(AuthFlowError, match="no access token"):
        oauth2_credential_from_token({}, client_id="c", client_secret=None, now=now)


@pytest.mark.parametrize("credential", all_credentials(), ids=lambda c: c.kind)
def test_every_credential_kind_round_trips_through_json(credential: object) -> None:
    assert credential_from_json(credential_to_json(credential)) == credential  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "carrier-pigeon"},
        {"kind": "oauth1"},
        {"kind": "oauth2", "access_token": "a", "expires_at": "soon"},
    ],
)
def test_malformed_credential_json_is_a_configuration_error(data: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        credential_from_json(data)
