"""OAuth 1.0a: request token, authorize, access token, and verification of signed requests.

Built on oauthlib's ``RequestTokenEndpoint``, ``AccessTokenEndpoint`` and ``ResourceEndpoint``
with :class:`SandboxValidator` as the ``RequestValidator``:

* only HMAC-SHA1 signatures (as X); every signature is recomputed and compared by oauthlib;
* the validator's ``safe_characters`` and length limits are widened to fit X-style tokens
  (``<user_id>-<random>``) and oauthlib's own nonces;
* timestamps are checked against the sandbox clock's *protocol time* (±300 s: the real time
  plus every ``clock.advance()``) rather than oauthlib's own host-clock check, so advancing the
  clock makes a signature stale while a world held still, set elsewhere or run faster (``--now``,
  ``--speed``) still accepts clients signing with the host clock;
* nonces are remembered per (consumer key, token, timestamp, nonce): a replay is refused (401);
* callbacks must be ``oob`` or a registered redirect URI; ``oob`` verifiers are 7-digit PINs.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from oauthlib.common import UNICODE_ASCII_CHARACTER_SET, Request
from oauthlib.oauth1 import RequestValidator
from oauthlib.oauth1.rfc5849.endpoints import (
    AccessTokenEndpoint,
    RequestTokenEndpoint,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from xmetrics_core.sandbox.accounts import AppCredentials, SandboxAccount
from xmetrics_core.sandbox.settings import SandboxClock

TIMESTAMP_WINDOW_SECONDS = 300

# oauthlib logs signature base strings, tokens and verifiers at DEBUG while it verifies a
# request: keep them out of every log the sandbox's process writes, whatever the root level.
logging.getLogger("oauthlib").setLevel(logging.INFO)


@dataclass(kw_only=True)
class _RequestToken:
    secret: str
    callback: str
    user_id: str | None = None
    verifier: str | None = None


@dataclass(frozen=True, kw_only=True)
class _AccessToken:
    secret: str
    user_id: str


class SandboxValidator(RequestValidator):  # type: ignore[misc]
    """oauthlib validator over in-memory token tables. Thread-safe."""

    def __init__(
        self,
        *,
        app: AppCredentials,
        accounts: Iterable[SandboxAccount],
        clock: SandboxClock,
        redirect_uris: Callable[[], frozenset[str]],
    ) -> None:
        super().__init__()
        self._app = app
        self._clock = clock
        self._redirect_uris = redirect_uris
        self._lock = threading.Lock()
        self._request_tokens: dict[str, _RequestToken] = {}
        self._access_tokens: dict[str, _AccessToken] = {
            a.access_token: _AccessToken(secret=a.access_token_secret, user_id=a.user_id)
            for a in accounts
        }
        self._nonces: set[tuple[str, str, str, str]] = set()
        self._usernames = {a.user_id: a.username for a in accounts}

    # -- policy -------------------------------------------------------------------------------
    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return ("HMAC-SHA1",)

    @property
    def safe_characters(self) -> set[str]:
        return set(UNICODE_ASCII_CHARACTER_SET) | {"-", "_"}

    @property
    def client_key_length(self) -> tuple[int, int]:
        return 10, 64

    @property
    def request_token_length(self) -> tuple[int, int]:
        return 20, 64

    @property
    def access_token_length(self) -> tuple[int, int]:
        return 20, 80

    @property
    def nonce_length(self) -> tuple[int, int]:
        return 8, 64

    @property
    def verifier_length(self) -> tuple[int, int]:
        return 7, 64

    @property
    def timestamp_lifetime(self) -> int:
        return 10**10  # the sandbox clock is checked in validate_timestamp_and_nonce instead

    @property
    def enforce_ssl(self) -> bool:
        return False

    @property
    def dummy_client(self) -> str:
        return "dummy_client_key_0000"

    @property
    def dummy_request_token(self) -> str:
        return "dummy_request_token_0000"

    @property
    def dummy_access_token(self) -> str:
        return "dummy_access_token_0000"

    # -- lookups ------------------------------------------------------------------------------
    def get_client_secret(self, client_key: str, request: Request) -> str:
        if client_key == self._app.consumer_key:
            return self._app.consumer_secret
        return "dummy-secret"

    def get_request_token_secret(self, client_key: str, token: str, request: Request) -> str:
        with self._lock:
            found = self._request_tokens.get(token)
        return found.secret if found else "dummy-secret"

    def get_access_token_secret(self, client_key: str, token: str, request: Request) -> str:
        with self._lock:
            found = self._access_tokens.get(token)
        return found.secret if found else "dummy-secret"

    def get_default_realms(self, client_key: str, request: Request) -> list[str]:
        return []

    def get_realms(self, token: str, request: Request) -> list[str]:
        return []

    def get_redirect_uri(self, token: str, request: Request) -> str:
        with self._lock:
            found = self._request_tokens.get(token)
        return found.callback if found else "oob"

    def invalidate_request_token(
        self, client_key: str, request_token: str, request: Request
    ) -> None:
        with self._lock:
            self._request_tokens.pop(request_token, None)

    # -- validation ---------------------------------------------------------------------------
    def validate_client_key(self, client_key: str, request: Request) -> bool:
        return client_key == self._app.consumer_key

    def validate_request_token(self, client_key: str, token: str, request: Request) -> bool:
        with self._lock:
            return token in self._request_tokens

    def validate_access_token(self, client_key: str, token: str, request: Request) -> bool:
        with self._lock:
            return token in self._access_tokens

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Request,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        try:
            skew = abs(self._clock.protocol_timestamp() - int(timestamp))
        except ValueError:
            return False
        if skew > TIMESTAMP_WINDOW_SECONDS:
            return False
        key = (client_key, request_token or access_token or "", timestamp, nonce)
        with self._lock:
            if key in self._nonces:
                return False
            self._nonces.add(key)
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Request) -> bool:
        return redirect_uri == "oob" or redirect_uri in self._redirect_uris()

    def validate_requested_realms(
        self, client_key: str, realms: list[str], request: Request
    ) -> bool:
        return True

    def validate_realms(
        self,
        client_key: str,
        token: str,
        request: Request,
        uri: str | None = None,
        realms: list[str] | None = None,
    ) -> bool:
        return True

    def validate_verifier(
        self, client_key: str, token: str, verifier: str, request: Request
    ) -> bool:
        with self._lock:
            found = self._request_tokens.get(token)
            return bool(
                found
                and found.verifier is not None
                and secrets.compare_digest(found.verifier, verifier)
            )

    def verify_request_token(self, token: str, request: Request) -> bool:
        with self._lock:
            return token in self._request_tokens

    def verify_realms(self, token: str, realms: list[str], request: Request) -> bool:
        return True

    # -- storage ------------------------------------------------------------------------------
    def save_request_token(self, token: dict[str, str], request: Request) -> None:
        with self._lock:
            self._request_tokens[token["oauth_token"]] = _RequestToken(
                secret=token["oauth_token_secret"], callback=request.redirect_uri or "oob"
            )

    def save_verifier(self, token: str, verifier: dict[str, str], request: Request) -> None:
        raise NotImplementedError("verifiers are issued by SandboxOAuth1.authorize")

    def save_access_token(self, token: dict[str, str], request: Request) -> None:
        with self._lock:
            self._access_tokens[token["oauth_token"]] = _AccessToken(
                secret=token["oauth_token_secret"], user_id=token["user_id"]
            )

    # -- sandbox helpers ----------------------------------------------------------------------
    def pending_callback(self, token: str) -> str | None:
        """The callback of a pending request token, or None if the token is unknown."""
        with self._lock:
            found = self._request_tokens.get(token)
        return found.callback if found else None

    def approve(self, token: str, user_id: str) -> str | None:
        """Attach the user and a fresh verifier to a request token; None if unknown."""
        with self._lock:
            found = self._request_tokens.get(token)
            if found is None:
                return None
            found.user_id = user_id
            if found.callback == "oob":
                found.verifier = f"{secrets.randbelow(10**7):07d}"
            else:
                found.verifier = secrets.token_urlsafe(24)
            return found.verifier

    def request_token_user(self, token: str) -> str | None:
        """The user who approved a request token."""
        with self._lock:
            found = self._request_tokens.get(token)
        return found.user_id if found else None

    def user_of_access_token(self, token: str) -> str | None:
        """The user an access token belongs to."""
        with self._lock:
            found = self._access_tokens.get(token)
        return found.user_id if found else None

    def issued_secrets(self) -> frozenset[str]:
        """Request-token secrets, verifiers, access tokens and their secrets. Request tokens
        themselves are left out: they travel in the authorize URL by design."""
        with self._lock:
            values = [t.secret for t in self._request_tokens.values()]
            values += [t.verifier for t in self._request_tokens.values() if t.verifier]
            for token, access in self._access_tokens.items():
                values += [token, access.secret]
        return frozenset(values)

    def username(self, user_id: str) -> str:
        return self._usernames.get(user_id, "")


@dataclass(frozen=True, kw_only=True)
class OAuth1Response:
    """A status, a form-encoded (or empty) body and headers."""

    status: int
    body: str
    headers: dict[str, str]


class SandboxOAuth1:
    """The three OAuth 1.0a steps and resource-request verification."""

    def __init__(self, *, validator: SandboxValidator) -> None:
        self.validator = validator
        self._request_tokens = RequestTokenEndpoint(validator)
        self._access_tokens = AccessTokenEndpoint(validator)
        self._resources = ResourceEndpoint(validator)

    def request_token(self, *, uri: str, body: str, headers: dict[str, str]) -> OAuth1Response:
        """``POST /oauth/request_token``."""
        out_headers, out_body, status = self._request_tokens.create_request_token_response(
            uri, http_method="POST", body=body, headers=headers
        )
        return OAuth1Response(status=status, body=out_body or "", headers=dict(out_headers))

    def access_token(self, *, uri: str, body: str, headers: dict[str, str]) -> OAuth1Response:
        """``POST /oauth/access_token``: adds ``user_id`` and ``screen_name`` like X."""
        token = _oauth_param(headers, body, "oauth_token")
        user_id = self.validator.request_token_user(token) if token else None
        if user_id is None:
            return OAuth1Response(status=401, body="", headers={})
        credentials = {"user_id": user_id, "screen_name": self.validator.username(user_id)}
        out_headers, out_body, status = self._access_tokens.create_access_token_response(
            uri, http_method="POST", body=body, headers=headers, credentials=credentials
        )
        return OAuth1Response(status=status, body=out_body or "", headers=dict(out_headers))

    def verify(self, *, uri: str, method: str, body: str, headers: dict[str, str]) -> str | None:
        """The user ID of a correctly signed, fresh, non-replayed request; else None."""
        valid, request = self._resources.validate_protected_resource_request(
            uri, http_method=method, body=body or None, headers=headers
        )
        if not valid or request is None:
            return None
        return self.validator.user_of_access_token(request.resource_owner_key)


def _oauth_param(headers: dict[str, str], body: str, name: str) -> str | None:
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if authorization.lower().startswith("oauth "):
        params: list[tuple[str, str]] = parse_authorization_header(authorization)
        for key, value in params:
            if key == name:
                return value
    for key, value in parse_qsl(body or ""):
        if key == name:
            return value
    return None


def oauth1_header_present(headers: dict[str, Any]) -> bool:
    """Whether the Authorization header uses the OAuth 1.0a scheme."""
    authorization = str(next((v for k, v in headers.items() if k.lower() == "authorization"), ""))
    return authorization.lower().startswith("oauth ")
