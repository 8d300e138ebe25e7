"""X's sign-in flows on requests-oauthlib/oauthlib: OAuth 2.0 PKCE, OAuth 1.0a, app-only.

Endpoints (FACTS §4): OAuth 2.0 consent at ``https://x.com/i/oauth2/authorize`` and tokens at
``https://api.x.com/2/oauth2/token`` (revoke: ``/2/oauth2/revoke``); OAuth 1.0a at
``{api}/oauth/request_token``, ``{api}/oauth/authorize``, ``{api}/oauth/access_token``; the
app-only Bearer token at ``{api}/oauth2/token`` (no ``/2/``). The sandbox serves all of them
from its one base URL.

Every HTTP call has an explicit timeout. Errors become :class:`AuthFlowError` with a message
built from X's ``error``/``error_description`` or our own words, never a token or secret.
:class:`PendingAuthStore` keeps the PKCE verifier (or the OAuth 1.0a request token secret)
on the server between "send the browser to X" and "X sends it back".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from oauthlib.oauth2 import BackendApplicationClient, WebApplicationClient
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests_oauthlib import OAuth1Session, OAuth2Session

from xmetrics_core.credentials import (
    BearerCredential,
    OAuth1Credential,
    OAuth2Credential,
    permit_plain_http_to_loopback,
)
from xmetrics_core.errors import AuthFlowError

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 20.0)
X_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
X_TOKEN_URL = "https://api.x.com/2/oauth2/token"
X_API_BASE_URL = "https://api.x.com"
DEFAULT_SCOPES: tuple[str, ...] = ("tweet.read", "users.read", "offline.access")
CODE_VERIFIER_LENGTH = 64


@dataclass(frozen=True, kw_only=True)
class PendingAuthorization:
    """Step 1 of PKCE: where to send the browser, and what to keep server-side for step 2."""

    url: str
    state: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class PendingOAuth1:
    """Step 1 of OAuth 1.0a: the authorize URL and the request token pair."""

    url: str
    request_token: str
    request_token_secret: str = field(repr=False)


def _oauth2_error_message(exc: Exception, action: str) -> str:
    if isinstance(exc, OAuth2Error):
        reason = exc.description or exc.error or "refused"
        return f"X refused to {action}: {exc.error or 'error'} ({reason})"
    return f"X's answer while trying to {action} was not a token response"


def _transport_message(exc: requests.RequestException, action: str) -> str:
    if isinstance(exc, requests.Timeout):
        return f"X did not answer in time while trying to {action}"
    return f"could not reach X to {action} (connection failed)"


class OAuth2PkceFlow:
    """OAuth 2.0 Authorization Code with PKCE (S256)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        redirect_uri: str,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        authorize_url: str = X_AUTHORIZE_URL,
        token_url: str = X_TOKEN_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = tuple(scopes)
        permit_plain_http_to_loopback(authorize_url)
        permit_plain_http_to_loopback(token_url)
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.timeout = timeout
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"OAuth2PkceFlow(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"

    def start(self) -> PendingAuthorization:
        """The consent URL (with ``state`` and an S256 ``code_challenge``) and the verifier."""
        helper = WebApplicationClient(self.client_id)
        verifier = helper.create_code_verifier(CODE_VERIFIER_LENGTH)
        challenge = helper.create_code_challenge(verifier, "S256")
        with OAuth2Session(
            client_id=self.client_id, redirect_uri=self.redirect_uri, scope=list(self.scopes)
        ) as session:
            url, state = session.authorization_url(
                self.authorize_url, code_challenge=challenge, code_challenge_method="S256"
            )
        return PendingAuthorization(url=str(url), state=str(state), code_verifier=str(verifier))

    def finish(self, *, code: str, code_verifier: str) -> OAuth2Credential:
        """Exchange the code from the redirect (within X's 30 s) for tokens."""
        if not code:
            raise AuthFlowError("the redirect from X carried no authorization code")
        auth = (
            requests.auth.HTTPBasicAuth(self.client_id, self._client_secret)
            if self._client_secret
            else None
        )
        with OAuth2Session(client_id=self.client_id, redirect_uri=self.redirect_uri) as session:
            try:
                token: dict[str, Any] = session.fetch_token(
                    self.token_url,
                    code=code,
                    code_verifier=code_verifier,
                    auth=auth,
                    include_client_id=auth is None,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                raise AuthFlowError(_transport_message(exc, "finish the sign-in")) from None
            except (OAuth2Error, ValueError) as exc:
                raise AuthFlowError(
                    _oauth2_error_message(exc, "finish the sign-in"),
                    status_code=getattr(exc, "status_code", None),
                ) from None
        return oauth2_credential_from_token(
            token,
            client_id=self.client_id,
            client_secret=self._client_secret,
            now=self._clock(),
        )


def oauth2_credential_from_token(
    token: dict[str, Any],
    *,
    client_id: str | None,
    client_secret: str | None,
    now: datetime,
) -> OAuth2Credential:
    """An :class:`OAuth2Credential` from X's token response."""
    access = token.get("access_token")
    if not access:
        raise AuthFlowError("X's token response has no access token")
    expires_in = token.get("expires_in")
    scope = token.get("scope") or ()
    return OAuth2Credential(
        access_token=str(access),
        refresh_token=str(token["refresh_token"]) if token.get("refresh_token") else None,
        expires_at=now + timedelta(seconds=float(expires_in)) if expires_in is not None else None,
        client_id=client_id,
        client_secret=client_secret,
        scope=tuple(scope.split() if isinstance(scope, str) else scope),
    )


class OAuth1Flow:
    """OAuth 1.0a three-legged (callback URL) or PIN-based (``callback="oob"``) sign-in."""

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        callback: str = "oob",
        base_url: str = X_API_BASE_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self.callback = callback
        self.base_url = base_url.rstrip("/")
        permit_plain_http_to_loopback(self.base_url)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"OAuth1Flow(callback={self.callback!r}, base_url={self.base_url!r})"

    def start(self) -> PendingOAuth1:
        """Get a request token and the authorize URL to send the user to."""
        with OAuth1Session(
            self._consumer_key,
            client_secret=self._consumer_secret,
            callback_uri=self.callback,
        ) as session:
            try:
                answer = session.fetch_request_token(
                    f"{self.base_url}/oauth/request_token", timeout=self.timeout
                )
            except requests.RequestException as exc:
                raise AuthFlowError(_transport_message(exc, "start the sign-in")) from None
            except ValueError as exc:
                raise AuthFlowError(
                    "X refused the request token (check the API key and secret and that the "
                    "callback URL is registered for the app)",
                    status_code=getattr(exc, "status_code", None),
                ) from None
            url = session.authorization_url(f"{self.base_url}/oauth/authorize")
        return PendingOAuth1(
            url=str(url),
            request_token=str(answer.get("oauth_token", "")),
            request_token_secret=str(answer.get("oauth_token_secret", "")),
        )

    def finish(self, pending: PendingOAuth1, verifier: str) -> OAuth1Credential:
        """Exchange the verifier (from the callback, or the PIN) for the user's access pair."""
        if not verifier:
            raise AuthFlowError("no verifier: paste the PIN X showed, or use the callback link")
        with OAuth1Session(
            self._consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=pending.request_token,
            resource_owner_secret=pending.request_token_secret,
            verifier=verifier,
        ) as session:
            try:
                answer = session.fetch_access_token(
                    f"{self.base_url}/oauth/access_token", timeout=self.timeout
                )
            except requests.RequestException as exc:
                raise AuthFlowError(_transport_message(exc, "finish the sign-in")) from None
            except ValueError as exc:
                raise AuthFlowError(
                    "X refused the verifier or PIN (it may be wrong, used or expired); "
                    "start the sign-in again",
                    status_code=getattr(exc, "status_code", None),
                ) from None
        token, secret = answer.get("oauth_token"), answer.get("oauth_token_secret")
        if not token or not secret:
            raise AuthFlowError("X's access token answer is incomplete")
        return OAuth1Credential(
            consumer_key=self._consumer_key,
            consumer_secret=self._consumer_secret,
            access_token=str(token),
            access_token_secret=str(secret),
        )


def fetch_app_bearer_token(
    consumer_key: str,
    consumer_secret: str,
    *,
    base_url: str = X_API_BASE_URL,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> BearerCredential:
    """The app's Bearer token via ``POST {base}/oauth2/token`` (client credentials, Basic)."""
    base = base_url.rstrip("/")
    permit_plain_http_to_loopback(base)
    auth = requests.auth.HTTPBasicAuth(
        quote(consumer_key, safe=""), quote(consumer_secret, safe="")
    )
    with OAuth2Session(client=BackendApplicationClient(client_id=None)) as session:
        try:
            token: dict[str, Any] = session.fetch_token(
                f"{base}/oauth2/token", auth=auth, include_client_id=False, timeout=timeout
            )
        except requests.RequestException as exc:
            raise AuthFlowError(_transport_message(exc, "get the app's Bearer token")) from None
        except (OAuth2Error, ValueError) as exc:
            raise AuthFlowError(
                _oauth2_error_message(exc, "issue the app's Bearer token")
                + "; check the API key and secret",
                status_code=getattr(exc, "status_code", None),
            ) from None
    access = token.get("access_token")
    if not access:
        raise AuthFlowError("X's answer has no Bearer token")
    return BearerCredential(token=str(access))


def revoke_oauth2_token(
    credential: OAuth2Credential,
    *,
    base_url: str = X_API_BASE_URL,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> None:
    """Revoke the credential's refresh token (if any) and access token at X."""
    url = f"{base_url.rstrip('/')}/2/oauth2/revoke"
    permit_plain_http_to_loopback(url)
    if not credential.client_id:
        raise AuthFlowError("revoking needs the client id the token was issued to")
    helper = WebApplicationClient(credential.client_id)
    auth = (
        requests.auth.HTTPBasicAuth(credential.client_id, credential.client_secret)
        if credential.client_secret
        else None
    )
    tokens = [
        ("refresh_token", credential.refresh_token),
        ("access_token", credential.access_token),
    ]
    for hint, token in tokens:
        if not token:
            continue
        target, headers, body = helper.prepare_token_revocation_request(
            url, token, token_type_hint=hint
        )
        if auth is None:
            body = f"{body}&client_id={quote(credential.client_id, safe='')}"
        try:
            response = requests.post(target, data=body, headers=headers, auth=auth, timeout=timeout)
        except requests.RequestException as exc:
            raise AuthFlowError(_transport_message(exc, "revoke the token")) from None
        if response.status_code >= 400:
            raise AuthFlowError(
                f"X refused to revoke the {hint.replace('_', ' ')} (HTTP {response.status_code})",
                status_code=response.status_code,
            )


class PendingAuthStore:
    """Pending sign-ins keyed by ``state`` (or request token): single use, expiring, in memory.

    Thread-safe; shared by every Streamlit session of one server process, because the browser
    may come back from X in a new session. Holds at most ``max_entries`` live entries.
    """

    UNKNOWN = "this sign-in is unknown or was already used; start the sign-in again"
    EXPIRED = "this sign-in took too long and expired; start the sign-in again"

    def __init__(
        self,
        *,
        ttl_seconds: float = 600,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, object]] = {}

    def put(self, state: str, payload: object) -> None:
        """Keep ``payload`` under ``state`` until it is popped or expires."""
        if not state:
            raise ValueError("state must not be empty")
        with self._lock:
            self._purge(self._clock())
            if len(self._entries) >= self._max_entries:
                oldest = min(self._entries, key=lambda k: self._entries[k][0])
                del self._entries[oldest]
            self._entries[state] = (self._clock() + self.ttl_seconds, payload)

    def pop(self, state: str) -> object:
        """The payload under ``state``, removed. AuthFlowError when unknown, used or expired."""
        with self._lock:
            entry = self._entries.pop(state, None)
            now = self._clock()
            if entry is None:
                raise AuthFlowError(self.UNKNOWN)
            deadline, payload = entry
            if now > deadline:
                raise AuthFlowError(self.EXPIRED)
            self._purge(now)
            return payload

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _purge(self, now: float) -> None:
        # keep expired entries for one extra TTL so pop() can say "expired", not "unknown"
        stale = [
            k for k, (deadline, _) in self._entries.items() if now > deadline + self.ttl_seconds
        ]
        for key in stale:
            del self._entries[key]
