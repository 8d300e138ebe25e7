"""OAuth 2.0: Authorization Code with PKCE, refresh rotation, revocation, app-only Bearer.

* Authorize (``/i/oauth2/authorize``): ``response_type=code``, a known ``client_id``, a
  ``redirect_uri`` registered *exactly* (else an error page, no redirect), ``state``,
  ``code_challenge`` and ``code_challenge_method`` S256 or plain, non-empty known scopes.
  The consent page lets any account but the suspended one sign in (default: the demo owner).
* Codes are single use (spent by the first exchange attempt) and expire ``auth_code_lifetime``
  seconds (30) after issue on the sandbox clock's protocol time; the verifier is checked with oauthlib's
  ``code_challenge_method_s256`` / ``_plain`` helpers.
* The token endpoint (``/2/oauth2/token``) authenticates confidential clients by HTTP Basic and
  public clients by ``client_id`` in the body (the demo client is accepted both ways).
* ``refresh_token`` is issued only with ``offline.access`` and rotates on every use; a spent
  refresh token is refused. Access tokens live ``access_token_lifetime`` seconds (7200) of
  protocol time and carry the granted scopes, which the API checks per endpoint.
* Failures use X's bodies: ``400 {"error":"invalid_request","error_description":"Value passed
  for the authorization code was invalid."}`` (or "...for the token was invalid.").
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from oauthlib.oauth2.rfc6749.grant_types.authorization_code import (
    code_challenge_method_plain,
    code_challenge_method_s256,
)

from xmetrics_core.sandbox import problems
from xmetrics_core.sandbox.accounts import AppCredentials
from xmetrics_core.sandbox.settings import SandboxClock, SandboxSettings

JsonDict = dict[str, object]

KNOWN_SCOPES = frozenset(
    {
        "tweet.read",
        "tweet.write",
        "tweet.moderate.write",
        "users.email",
        "users.read",
        "follows.read",
        "follows.write",
        "offline.access",
        "space.read",
        "mute.read",
        "mute.write",
        "like.read",
        "like.write",
        "list.read",
        "list.write",
        "block.read",
        "block.write",
        "bookmark.read",
        "bookmark.write",
        "media.write",
    }
)


@dataclass(frozen=True, kw_only=True)
class AuthorizeRequest:
    """A validated authorize request."""

    client_id: str
    redirect_uri: str
    state: str
    scopes: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str


@dataclass(kw_only=True)
class _Code:
    request: AuthorizeRequest
    user_id: str
    issued_at: float
    spent: bool = False


@dataclass(kw_only=True)
class _Access:
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


@dataclass(kw_only=True)
class _Refresh:
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    spent: bool = False


@dataclass(frozen=True, kw_only=True)
class TokenAnswer:
    """Status and JSON body of a token or revoke request."""

    status: int
    body: JsonDict
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AccessGrant:
    """Who an access token belongs to."""

    user_id: str
    scopes: tuple[str, ...]


class AuthorizeError(ValueError):
    """The authorize request cannot be shown or redirected (message is safe to display)."""


class SandboxOAuth2:
    """In-memory authorization server. Thread-safe."""

    def __init__(
        self, *, app: AppCredentials, settings: SandboxSettings, clock: SandboxClock
    ) -> None:
        self._app = app
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._redirect_uris: set[str] = set()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}

    # -- redirect URIs ------------------------------------------------------------------------
    def register_redirect_uri(self, uri: str) -> None:
        """Allow one more exact redirect URI (and OAuth 1.0a callback)."""
        with self._lock:
            self._redirect_uris.add(uri)

    def redirect_uris(self) -> frozenset[str]:
        """The registered redirect URIs."""
        with self._lock:
            return frozenset(self._redirect_uris)

    # -- authorize ----------------------------------------------------------------------------
    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Validate the authorize parameters; raises :class:`AuthorizeError`."""
        if params.get("client_id") != self._app.client_id:
            raise AuthorizeError("Unknown client_id: this app is not registered.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris():
            raise AuthorizeError("The redirect_uri is not registered for this app.")
        if params.get("response_type") != "code":
            raise AuthorizeError("response_type must be 'code'.")
        state = params.get("state", "")
        if not state or len(state) > 500:
            raise AuthorizeError("state is required (at most 500 characters).")
        scopes = tuple(s for s in params.get("scope", "").replace("+", " ").split(" ") if s)
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            raise AuthorizeError("scope must list known scopes, separated by spaces.")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "plain")
        if not challenge or method not in ("S256", "plain"):
            raise AuthorizeError("PKCE is required: code_challenge with method S256 or plain.")
        return AuthorizeRequest(
            client_id=self._app.client_id,
            redirect_uri=redirect_uri,
            state=state,
            scopes=scopes,
            code_challenge=challenge,
            code_challenge_method=method,
        )

    def issue_code(self, request: AuthorizeRequest, user_id: str) -> str:
        """A fresh single-use authorization code."""
        code = secrets.token_urlsafe(48)
        with self._lock:
            self._codes[code] = _Code(
                request=request, user_id=user_id, issued_at=self._clock.protocol_timestamp()
            )
        return code

    # -- token endpoint -----------------------------------------------------------------------
    def _client(self, form: Mapping[str, str], authorization: str) -> str | None:
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
            if client_id == self._app.client_id and secrets.compare_digest(
                secret, self._app.client_secret
            ):
                return client_id
            return None
        if form.get("client_id") == self._app.client_id:
            return self._app.client_id
        return None

    def token(self, form: Mapping[str, str], *, authorization: str) -> TokenAnswer:
        """``POST /2/oauth2/token``."""
        client_id = self._client(form, authorization)
        if client_id is None:
            return TokenAnswer(
                status=401,
                body={
                    "error": "unauthorized_client",
                    "error_description": "Missing valid authorization header",
                },
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(form, client_id)
        if grant == "refresh_token":
            return self._refresh_token(form, client_id)
        return TokenAnswer(
            status=400,
            body={
                "error": "invalid_request",
                "error_description": "Missing required parameter [grant_type].",
            },
        )

    def _exchange_code(self, form: Mapping[str, str], client_id: str) -> TokenAnswer:
        invalid = TokenAnswer(status=400, body=problems.oauth2_invalid("authorization code"))
        now = self._clock.protocol_timestamp()
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.spent:
                return invalid
            code.spent = True
        request = code.request
        if now - code.issued_at > self._settings.auth_code_lifetime:
            return invalid
        if request.client_id != client_id or form.get("redirect_uri") != request.redirect_uri:
            return invalid
        verifier = form.get("code_verifier", "")
        check = (
            code_challenge_method_s256
            if request.code_challenge_method == "S256"
            else code_challenge_method_plain
        )
        if not verifier or not check(verifier, request.code_challenge):
            return invalid
        return TokenAnswer(status=200, body=self.issue(code.user_id, scopes=request.scopes))

    def _refresh_token(self, form: Mapping[str, str], client_id: str) -> TokenAnswer:
        invalid = TokenAnswer(status=400, body=problems.oauth2_invalid("token"))
        with self._lock:
            refresh = self._refresh.get(form.get("refresh_token", ""))
            if refresh is None or refresh.spent or refresh.client_id != client_id:
                return invalid
            refresh.spent = True
        return TokenAnswer(status=200, body=self.issue(refresh.user_id, scopes=refresh.scopes))

    def issue(
        self, user_id: str, *, scopes: tuple[str, ...], lifetime: int | None = None
    ) -> JsonDict:
        """Mint an access token (and a refresh token with ``offline.access``): X's body."""
        seconds = self._settings.access_token_lifetime if lifetime is None else lifetime
        access = secrets.token_urlsafe(64)
        body: JsonDict = {
            "token_type": "bearer",
            "expires_in": seconds,
            "access_token": access,
            "scope": " ".join(scopes),
        }
        with self._lock:
            self._access[access] = _Access(
                user_id=user_id,
                client_id=self._app.client_id,
                scopes=scopes,
                expires_at=self._clock.protocol_timestamp() + seconds,
            )
            if "offline.access" in scopes:
                refresh = secrets.token_urlsafe(64)
                self._refresh[refresh] = _Refresh(
                    user_id=user_id, client_id=self._app.client_id, scopes=scopes
                )
                body["refresh_token"] = refresh
        return body

    def revoke(self, form: Mapping[str, str], *, authorization: str) -> TokenAnswer:
        """``POST /2/oauth2/revoke``: revokes an access or refresh token."""
        if self._client(form, authorization) is None:
            return TokenAnswer(
                status=401,
                body={
                    "error": "unauthorized_client",
                    "error_description": "Missing valid authorization header",
                },
            )
        token = form.get("token", "")
        with self._lock:
            if token in self._access:
                self._access[token].revoked = True
            elif token in self._refresh:
                self._refresh[token].spent = True
            else:
                return TokenAnswer(status=400, body=problems.oauth2_invalid("token"))
        return TokenAnswer(status=200, body={"revoked": True})

    def issued_secrets(self) -> frozenset[str]:
        """Every authorization code, access token and refresh token issued so far."""
        with self._lock:
            return frozenset([*self._codes, *self._access, *self._refresh])

    def access_grant(self, token: str) -> AccessGrant | None:
        """The grant behind a live (unexpired, unrevoked) access token, else None."""
        now = self._clock.protocol_timestamp()
        with self._lock:
            found = self._access.get(token)
            if found is None or found.revoked or now >= found.expires_at:
                return None
            return AccessGrant(user_id=found.user_id, scopes=found.scopes)
