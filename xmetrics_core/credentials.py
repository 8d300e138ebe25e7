"""Credentials as small immutable values, applied through requests auth objects.

Three kinds, matching X's three ways in (FACTS §4):

* :class:`BearerCredential` — app-only; public metrics only.
* :class:`OAuth1Credential` — OAuth 1.0a user context (HMAC-SHA1 signed by requests-oauthlib).
* :class:`OAuth2Credential` — OAuth 2.0 user context (PKCE), optionally refreshable.

No secret ever shows up in ``repr()``; :attr:`fingerprint` is a salted SHA-256 of the secret
parts, usable as a cache key, never reversible into the token.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from requests_oauthlib import OAuth1, OAuth2

from xmetrics_core.catalogue import ALL_GROUPS, Group

CredentialKind = Literal["bearer", "oauth1", "oauth2"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# requests-oauthlib and oauthlib log tokens, signature base strings and token responses at
# DEBUG. Keep those records out of every log this process writes, whatever the root level.
for _noisy in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_noisy).setLevel(logging.INFO)


def _fingerprint(kind: str, *secrets: str | None) -> str:
    digest = hashlib.sha256(b"xmetrics:" + kind.encode())
    for secret in secrets:
        digest.update(b"\x00" + (secret or "").encode())
    return digest.hexdigest()


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` for app-only requests."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


@dataclass(frozen=True, kw_only=True)
class BearerCredential:
    """An app-only Bearer token (public metrics only)."""

    token: str = field(repr=False)

    kind: CredentialKind = field(default="bearer", init=False)
    is_user_context: bool = field(default=False, init=False)

    @property
    def allowed_groups(self) -> tuple[Group, ...]:
        """App-only tokens see public metrics only."""
        return (Group.PUBLIC,)

    @property
    def fingerprint(self) -> str:
        """Salted SHA-256 hex of the token: a cache key, never the token."""
        return _fingerprint(self.kind, self.token)

    def auth(self) -> AuthBase:
        """A requests auth object sending the Bearer header."""
        return BearerAuth(self.token)


@dataclass(frozen=True, kw_only=True)
class OAuth1Credential:
    """OAuth 1.0a user context: the app's consumer pair and the user's access pair."""

    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)

    kind: CredentialKind = field(default="oauth1", init=False)
    is_user_context: bool = field(default=True, init=False)

    @property
    def allowed_groups(self) -> tuple[Group, ...]:
        """User context can ask for every group (X decides per Post)."""
        return ALL_GROUPS

    @property
    def fingerprint(self) -> str:
        """Salted SHA-256 hex of all four parts."""
        return _fingerprint(
            self.kind,
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
        )

    def auth(self) -> AuthBase:
        """requests-oauthlib's HMAC-SHA1 signer."""
        signer: AuthBase = OAuth1(
            client_key=self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=self.access_token,
            resource_owner_secret=self.access_token_secret,
            signature_method="HMAC-SHA1",
        )
        return signer


@dataclass(frozen=True, kw_only=True)
class OAuth2Credential:
    """OAuth 2.0 user context (Authorization Code + PKCE), refreshable when it has a refresh
    token and a client id."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scope: tuple[str, ...] = ()

    kind: CredentialKind = field(default="oauth2", init=False)
    is_user_context: bool = field(default=True, init=False)

    @property
    def allowed_groups(self) -> tuple[Group, ...]:
        """User context can ask for every group (X decides per Post)."""
        return ALL_GROUPS

    @property
    def can_refresh(self) -> bool:
        """A refresh needs the refresh token and the client id it was issued to."""
        return bool(self.refresh_token and self.client_id)

    @property
    def fingerprint(self) -> str:
        """Salted SHA-256 hex of the access token (it changes on every refresh)."""
        return _fingerprint(self.kind, self.access_token)

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """True when the access token expires in ``seconds`` or less (False if unknown)."""
        if self.expires_at is None:
            return False
        current = now or datetime.now(UTC)
        return (self.expires_at - current).total_seconds() <= seconds

    def auth(self) -> AuthBase:
        """requests-oauthlib's OAuth2 object carrying the Bearer access token."""
        bearer: AuthBase = OAuth2(
            client_id=self.client_id,
            token={"access_token": self.access_token, "token_type": "Bearer"},
        )
        return bearer


Credential = BearerCredential | OAuth1Credential | OAuth2Credential


def permit_plain_http_to_loopback(url: str) -> None:
    """Refuse plain ``http`` except to 127.0.0.1/localhost (the sandbox).

    oauthlib insists on https through the ``OAUTHLIB_INSECURE_TRANSPORT`` environment
    switch; we flip it only after checking the URL ourselves, so non-loopback http is
    still refused (here, with a ValueError).
    """
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        return
    raise ValueError(
        f"{parts.scheme or 'schemeless'} URL to {parts.hostname or '?'} refused: "
        "X API URLs must use https (plain http only to 127.0.0.1)"
    )


ENV_VARIABLES = (
    "X_BEARER_TOKEN",
    "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "X_OAUTH2_ACCESS_TOKEN",
    "X_OAUTH2_REFRESH_TOKEN",
    "X_CLIENT_ID",
    "X_CLIENT_SECRET",
)


def credential_from_env(environ: Mapping[str, str]) -> Credential | None:
    """The credential described by the CLI's environment variables, or None.

    Precedence (most capable first): OAuth 2.0 user (``X_OAUTH2_ACCESS_TOKEN`` with optional
    ``X_OAUTH2_REFRESH_TOKEN``, ``X_CLIENT_ID``, ``X_CLIENT_SECRET``), OAuth 1.0a user (all
    four of ``X_CONSUMER_KEY``, ``X_CONSUMER_SECRET``, ``X_ACCESS_TOKEN``,
    ``X_ACCESS_TOKEN_SECRET``), then ``X_BEARER_TOKEN``. Raises ValueError when an OAuth
    1.0a set is only partly given (naming the missing variables, never their values).
    """

    def get(name: str) -> str | None:
        value = environ.get(name, "").strip()
        return value or None

    oauth2_token = get("X_OAUTH2_ACCESS_TOKEN")
    if oauth2_token:
        return OAuth2Credential(
            access_token=oauth2_token,
            refresh_token=get("X_OAUTH2_REFRESH_TOKEN"),
            client_id=get("X_CLIENT_ID"),
            client_secret=get("X_CLIENT_SECRET"),
        )
    oauth1_names = (
        "X_CONSUMER_KEY",
        "X_CONSUMER_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
    )
    oauth1 = {name: get(name) for name in oauth1_names}
    given = [name for name, value in oauth1.items() if value]
    if len(given) == len(oauth1_names):
        return OAuth1Credential(
            consumer_key=oauth1["X_CONSUMER_KEY"] or "",
            consumer_secret=oauth1["X_CONSUMER_SECRET"] or "",
            access_token=oauth1["X_ACCESS_TOKEN"] or "",
            access_token_secret=oauth1["X_ACCESS_TOKEN_SECRET"] or "",
        )
    bearer = get("X_BEARER_TOKEN")
    if bearer:
        return BearerCredential(token=bearer)
    if given:
        missing = ", ".join(name for name in oauth1_names if name not in given)
        raise ValueError(f"OAuth 1.0a needs all four variables; missing: {missing}")
    return None
