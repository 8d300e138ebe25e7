"""X's sign-in flows on requests-oauthlib/oauthlib: OAuth 2.0 PKCE, OAuth 1.0a, app-only.

Endpoints (FACTS §4): OAuth 2.0 consent at ``https://x.com/i/oauth2/authorize`` and tokens at
``https://api.x.com/2/oauth2/token`` (revoke: ``/2/oauth2/revoke``); OAuth 1.0a at
``{api}/oauth/request_token``, ``{api}/oauth/authorize``, ``{api}/oauth/access_token``; the
app-only Bearer token at ``{api}/oauth2/token`` (no ``/2/``). The sandbox serves all of them
from its one base URL.

Every HTTP call has an explicit timeout. Errors become :class:`AuthFlowError` with a message
built from X's ``error``/``error_description`` or our own words, never a token or secret.
The dashboard keeps what a sign-in needs between "send the browser to X" and "X sends it
back" in :class:`xmetrics_core.signin.PendingSignIns` (single use, expiring, browser-bound).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import requests
from oauthlib.common import add_params_to_qs, add_params_to_uri, generate_token
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from oauthlib.oauth2.rfc6749.parameters import prepare_token_request
from oauthlib.oauth2.rfc6749.utils import list_to_scope
from requests_oauthlib import OAuth1Session

from xmetrics_core.credentials import BearerCredential, OAuth1Credential, OAuth2Credential
from xmetrics_core.credentials import oauth2_credential_from_token as oauth2_credential_from_token
from xmetrics_core.defaults import (
    DEFAULT_TIMEOUTS,
    OAUTH2_SCOPES,
    X_API_BASE_URL,
    X_WEB_BASE_URL,
    Timeouts,
    require_secure_url,
)
from xmetrics_core.errors import ApiTimeout, AuthFlowError, TransportError
from xmetrics_core.transport import (
    FORM_HEADERS,
    HttpRequest,
    RequestsTransport,
    Transport,
    client_auth,
    token_request,
)

X_AUTHORIZE_URL: Final = f"{X_WEB_BASE_URL}/i/oauth2/authorize"
X_TOKEN_URL: Final = f"{X_API_BASE_URL}/2/oauth2/token"
CODE_VERIFIER_LENGTH: Final = 64


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


def _transport_message(exc: Exception, action: str) -> str:
    if isinstance(exc, ApiTimeout | requests.Timeout):
        return f"X did not answer in time while trying to {action}"
    return f"could not reach X to {action} (connection failed)"


def _token(
    url: str,
    body: str,
    *,
    auth: requests.auth.AuthBase | None,
    timeout: Timeouts,
    action: str,
    hint: str = "",
) -> dict[str, Any]:
    """A token endpoint's answer, or AuthFlowError saying what X refused (never a secret);
    ``hint`` (what to check) follows a refusal."""
    sender = RequestsTransport()
    try:
        return token_request(sender, url, body, auth=auth, timeout=timeout)
    except TransportError as exc:
        raise AuthFlowError(_transport_message(exc, action)) from None
    except (OAuth2Error, ValueError) as exc:
        raise AuthFlowError(
            _oauth2_error_message(exc, action) + (f"; {hint}" if hint else ""),
            status_code=getattr(exc, "status_code", None),
        ) from None
    finally:
        sender.close()


class OAuth2PkceFlow:
    """OAuth 2.0 Authorization Code with PKCE (S256), on oauthlib's request building and
    token parsing; plain http is accepted for loopback URLs only (the sandbox)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        redirect_uri: str,
        scopes: Sequence[str] = OAUTH2_SCOPES,
        authorize_url: str = X_AUTHORIZE_URL,
        token_url: str = X_TOKEN_URL,
        timeout: Timeouts = DEFAULT_TIMEOUTS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = tuple(scopes)
        self.authorize_url = require_secure_url(authorize_url)
        self.token_url = require_secure_url(token_url)
        self.timeout = timeout
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"OAuth2PkceFlow(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"

    def start(self) -> PendingAuthorization:
        """The consent URL (with ``state`` and an S256 ``code_challenge``) and the verifier."""
        helper = WebApplicationClient(self.client_id)
        verifier = helper.create_code_verifier(CODE_VERIFIER_LENGTH)
        state = generate_token()
        url = add_params_to_uri(
            self.authorize_url,
            [
                ("response_type", "code"),
                ("client_id", self.client_id),
                ("redirect_uri", self.redirect_uri),
                ("scope", list_to_scope(list(self.scopes))),
                ("state", state),
                ("code_challenge", helper.create_code_challenge(verifier, "S256")),
                ("code_challenge_method", "S256"),
            ],
        )
        return PendingAuthorization(url=str(url), state=str(state), code_verifier=str(verifier))

    def finish(self, *, code: str, code_verifier: str) -> OAuth2Credential:
        """Exchange the code from the redirect (within X's 30 s) for tokens."""
        if not code:
            raise AuthFlowError("the redirect from X carried no authorization code")
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=code_verifier,
            client_id=self.client_id,
            include_client_id=not self._client_secret,
        )
        token = _token(
            self.token_url,
            body,
            auth=client_auth(self.client_id, self._client_secret),
            timeout=self.timeout,
            action="finish the sign-in",
        )
        return oauth2_credential_from_token(
            token,
            client_id=self.client_id,
            client_secret=self._client_secret,
            now=self._clock(),
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
        timeout: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self.callback = callback
        self.base_url = require_secure_url(base_url.rstrip("/"))
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"OAuth1Flow(callback={self.callback!r}, base_url={self.base_url!r})"

    def _token_step(
        self, fetch: Callable[..., dict[str, str]], endpoint: str, *, action: str, refused: str
    ) -> dict[str, str]:
        """One OAuth 1.0a token call (``{base}/oauth/<endpoint>``), its failures in words."""
        try:
            return fetch(f"{self.base_url}/oauth/{endpoint}", timeout=self.timeout.as_tuple())
        except requests.RequestException as exc:
            raise AuthFlowError(_transport_message(exc, action)) from None
        except ValueError as exc:
            raise AuthFlowError(refused, status_code=getattr(exc, "status_code", None)) from None

    def start(self) -> PendingOAuth1:
        """Get a request token and the authorize URL to send the user to."""
        with OAuth1Session(
            self._consumer_key,
            client_secret=self._consumer_secret,
            callback_uri=self.callback,
        ) as session:
            answer = self._token_step(
                session.fetch_request_token,
                "request_token",
                action="start the sign-in",
                refused="X refused the request token (check the API key and secret and that the "
                "callback URL is registered for the app)",
            )
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
            answer = self._token_step(
                session.fetch_access_token,
                "access_token",
                action="finish the sign-in",
                refused="X refused the verifier or PIN (it may be wrong, used or expired); "
                "start the sign-in again",
            )
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
    timeout: Timeouts = DEFAULT_TIMEOUTS,
) -> BearerCredential:
    """The app's Bearer token via ``POST {base}/oauth2/token`` (client credentials, Basic)."""
    token = _token(
        f"{base_url.rstrip('/')}/oauth2/token",
        prepare_token_request("client_credentials", include_client_id=False),
        auth=requests.auth.HTTPBasicAuth(
            quote(consumer_key, safe=""), quote(consumer_secret, safe="")
        ),
        timeout=timeout,
        action="issue the app's Bearer token",
        hint="check the API key and secret",
    )
    access = token.get("access_token")
    if not access:
        raise AuthFlowError("X's answer has no Bearer token")
    return BearerCredential(token=str(access))


def revoke_oauth2_token(
    credential: OAuth2Credential,
    *,
    base_url: str = X_API_BASE_URL,
    timeout: Timeouts = DEFAULT_TIMEOUTS,
    transport: Transport | None = None,
) -> None:
    """Revoke the credential's refresh token (if any) and access token at X (RFC 7009)."""
    url = require_secure_url(f"{base_url.rstrip('/')}/2/oauth2/revoke")
    if not credential.client_id:
        raise AuthFlowError("revoking needs the client id the token was issued to")
    sender = transport or RequestsTransport()
    auth = client_auth(credential.client_id, credential.client_secret)
    public_client = [] if auth else [("client_id", credential.client_id)]
    tokens = [
        ("refresh_token", credential.refresh_token),
        ("access_token", credential.access_token),
    ]
    try:
        for hint, token in tokens:
            if not token:
                continue
            body = add_params_to_qs(
                "", [("token", token), ("token_type_hint", hint), *public_client]
            )
            request = HttpRequest(
                method="POST", url=url, data=body, headers=FORM_HEADERS, auth=auth, timeout=timeout
            )
            try:
                response = sender.send(request)
            except TransportError as exc:
                raise AuthFlowError(_transport_message(exc, "revoke the token")) from None
            if response.status >= 400:
                raise AuthFlowError(
                    f"X refused to revoke the {hint.replace('_', ' ')} (HTTP {response.status})",
                    status_code=response.status,
                )
    finally:
        if transport is None:
            sender.close()
