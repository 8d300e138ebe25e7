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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.errors import AuthFlowError, ConfigurationError

if TYPE_CHECKING:  # requests loads when a request is made, not on import (the CLI's --help)
    from requests import PreparedRequest
    from requests.auth import AuthBase

CredentialKind = Literal["bearer", "oauth1", "oauth2"]

# requests-oauthlib and oauthlib log tokens, signature base strings and token responses at
# DEBUG. Keep those records out of every log this process writes, whatever the root level.
for _noisy in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_noisy).setLevel(logging.INFO)


def _fingerprint(kind: str, *secrets: str | None) -> str:
    digest = hashlib.sha256(b"xmetrics:" + kind.encode())
    for secret in secrets:
        digest.update(b"\x00" + (secret or "").encode())
    return digest.hexdigest()


class BearerAuth:
    """``Authorization: Bearer <token>``: a requests auth callable."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
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

    def auth(self) -> AuthBase | BearerAuth:
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

    def auth(self) -> AuthBase | BearerAuth:
        """requests-oauthlib's HMAC-SHA1 signer."""
        from requests_oauthlib import OAuth1

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

    def auth(self) -> AuthBase | BearerAuth:
        """The access token as ``Authorization: Bearer`` (X's OAuth 2.0 tokens are Bearer
        tokens, RFC 6750). The URL policy (https, or http to loopback only) is the request
        path's, so no process-wide switch is needed for the sandbox."""
        return BearerAuth(self.access_token)


Credential = BearerCredential | OAuth1Credential | OAuth2Credential


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
    ``X_ACCESS_TOKEN_SECRET``), then ``X_BEARER_TOKEN``. Raises ConfigurationError when an OAuth
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
        raise ConfigurationError(f"OAuth 1.0a needs all four variables; missing: {missing}")
    return None


def oauth2_credential_from_token(
    token: Mapping[str, Any],
    *,
    client_id: str | None,
    client_secret: str | None,
    now: datetime,
    previous: OAuth2Credential | None = None,
) -> OAuth2Credential:
    """An :class:`OAuth2Credential` from X's token response (code exchange or refresh).

    ``expires_in`` becomes ``expires_at`` from ``now``; a refresh answer that leaves out the
    refresh token or the scope keeps the ``previous`` credential's. Raises
    :class:`~xmetrics_core.errors.AuthFlowError` when the answer has no access token.
    """
    access = token.get("access_token")
    if not access:
        raise AuthFlowError("X's token response has no access token")
    refresh = token.get("refresh_token") or (previous.refresh_token if previous else None)
    expires_in = token.get("expires_in")
    scope = token.get("scope") or (previous.scope if previous else ())
    return OAuth2Credential(
        access_token=str(access),
        refresh_token=str(refresh) if refresh else None,
        expires_at=now + timedelta(seconds=float(expires_in)) if expires_in is not None else None,
        client_id=client_id,
        client_secret=client_secret,
        scope=tuple(scope.split() if isinstance(scope, str) else scope),
    )


# -- credentials as JSON (the remember-me file, the CLI's refreshed tokens) ------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def credential_to_json(credential: Credential) -> dict[str, Any]:
    """The credential's fields as JSON values (secrets included: for the 0600 file only)."""
    if isinstance(credential, BearerCredential):
        return {"kind": "bearer", "token": credential.token}
    if isinstance(credential, OAuth1Credential):
        return {
            "kind": "oauth1",
            "consumer_key": credential.consumer_key,
            "consumer_secret": credential.consumer_secret,
            "access_token": credential.access_token,
            "access_token_secret": credential.access_token_secret,
        }
    return {
        "kind": "oauth2",
        "access_token": credential.access_token,
        "refresh_token": credential.refresh_token,
        "expires_at": _iso(credential.expires_at),
        "client_id": credential.client_id,
        "client_secret": credential.client_secret,
        "scope": list(credential.scope),
    }


def credential_from_json(data: Mapping[str, Any]) -> Credential:
    """The inverse of :func:`credential_to_json`; ConfigurationError on anything malformed."""
    try:
        kind = data["kind"]
        if kind == "bearer":
            return BearerCredential(token=str(data["token"]))
        if kind == "oauth1":
            return OAuth1Credential(
                consumer_key=str(data["consumer_key"]),
                consumer_secret=str(data["consumer_secret"]),
                access_token=str(data["access_token"]),
                access_token_secret=str(data["access_token_secret"]),
            )
        if kind == "oauth2":
            expires = data.get("expires_at")
            return OAuth2Credential(
                access_token=str(data["access_token"]),
                refresh_token=data.get("refresh_token"),
                expires_at=datetime.fromisoformat(expires) if expires else None,
                client_id=data.get("client_id"),
                client_secret=data.get("client_secret"),
                scope=tuple(data.get("scope") or ()),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"stored credential is missing {exc}") from None
    raise ConfigurationError(f"unknown credential kind {data.get('kind')!r}")
