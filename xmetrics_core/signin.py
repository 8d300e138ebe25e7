"""Sign-ins that leave the dashboard for X's consent page and come back, bound to a browser.

Starting a sign-in (:func:`start_oauth2_sign_in`, :func:`start_oauth1_sign_in`) keeps a
:class:`~xmetrics_core.connection.PendingSignIn` on the server under the OAuth 2.0 ``state``
(or the OAuth 1.0a request token), in a :class:`PendingSignIns` store: JSON in a
:class:`~xmetrics_core.browser_session.StateStore`, single use, expiring. With it goes the
fingerprint of the browser that started it (its id cookie, see ``browser_session``).

When X sends the browser back, :func:`finish_callback` takes the pending sign-in (whoever
comes first wins; a used one is gone) and refuses it unless the same browser brings it
back: a callback URL captured in one browser cannot connect another browser to the
account that started it (login CSRF). A sign-in started without a browser id (the
dashboard run as plain ``streamlit run app.py``, which sets no cookie) is not bound.

Nothing here imports streamlit: the server's HTTP middleware and the Streamlit script both
finish callbacks through these functions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from xmetrics_core.browser_session import AlertKind, browser_fingerprint
from xmetrics_core.client import XClient
from xmetrics_core.connection import Account, AuthMethod, Connection, Endpoints, PendingSignIn
from xmetrics_core.credentials import Credential, OAuth2Credential
from xmetrics_core.defaults import OAUTH2_SCOPES
from xmetrics_core.errors import AuthFlowError, ConfigurationError, InputError, XApiError
from xmetrics_core.oauth import OAuth1Flow, OAuth2PkceFlow, PendingOAuth1
from xmetrics_core.state import StateStore

PENDING_SIGN_IN_TTL_SECONDS: Final = 10 * 60
"""A sign-in must come back from the consent page within ten minutes."""
_EXPIRED_KEPT_SECONDS: Final = 10 * 60
"""How long an expired sign-in is still recognised (to say "expired", not "unknown")."""
_KEY_PREFIX: Final = "xmetrics:signin:"


# -- pending sign-ins -------------------------------------------------------------------------


def pending_to_json(pending: PendingSignIn) -> dict[str, Any]:
    """Every field of ``pending`` as JSON values (secrets included: server-side only)."""
    return {
        "method": pending.method.value,
        "api_base_url": pending.endpoints.api_base_url,
        "web_base_url": pending.endpoints.web_base_url,
        "client_id": pending.client_id,
        "client_secret": pending.client_secret,
        "redirect_uri": pending.redirect_uri,
        "scopes": list(pending.scopes),
        "code_verifier": pending.code_verifier,
        "consumer_key": pending.consumer_key,
        "consumer_secret": pending.consumer_secret,
        "request_token": pending.request_token,
        "request_token_secret": pending.request_token_secret,
        "remember": pending.remember,
        "browser": pending.browser,
    }


def pending_from_json(data: Mapping[str, Any]) -> PendingSignIn:
    """The inverse of :func:`pending_to_json`; ConfigurationError on anything malformed."""
    try:
        return PendingSignIn(
            method=AuthMethod(data["method"]),
            endpoints=Endpoints(
                api_base_url=str(data["api_base_url"]), web_base_url=str(data["web_base_url"])
            ),
            client_id=str(data.get("client_id", "")),
            client_secret=data.get("client_secret") or None,
            redirect_uri=str(data.get("redirect_uri", "")),
            scopes=tuple(str(s) for s in data.get("scopes", OAUTH2_SCOPES)),
            code_verifier=str(data.get("code_verifier", "")),
            consumer_key=str(data.get("consumer_key", "")),
            consumer_secret=str(data.get("consumer_secret", "")),
            request_token=str(data.get("request_token", "")),
            request_token_secret=str(data.get("request_token_secret", "")),
            remember=bool(data.get("remember", False)),
            browser=str(data.get("browser", "")),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(f"stored sign-in is missing {exc}") from None


class PendingSignIns:
    """Sign-ins waiting for X's redirect: keyed by ``state`` (or request token), single use,
    expiring after ``ttl_seconds``, each bound to the browser that started it."""

    UNKNOWN: Final = "this sign-in is unknown or was already used; start the sign-in again"
    EXPIRED: Final = "this sign-in took too long and expired; start the sign-in again"
    OTHER_BROWSER: Final = (
        "this sign-in was started in another browser, so it cannot finish in this one; "
        "start the sign-in again here"
    )

    def __init__(
        self,
        *,
        store: StateStore[bytes],
        ttl_seconds: float = PENDING_SIGN_IN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def _key(self, key: str) -> str:
        return f"{_KEY_PREFIX}{key}"

    def put(self, key: str, pending: PendingSignIn) -> None:
        """Keep ``pending`` until it is taken or expires."""
        if not key:
            raise ValueError("a pending sign-in needs a non-empty state or request token")
        body = {"pending": pending_to_json(pending), "expires_at": self._clock() + self.ttl_seconds}
        self._store.put(
            self._key(key),
            json.dumps(body).encode("utf-8"),
            ttl_seconds=self.ttl_seconds + _EXPIRED_KEPT_SECONDS,
        )

    def take(self, key: str, *, browser_id: str | None) -> PendingSignIn:
        """The sign-in under ``key``, removed, if this browser started it.

        Raises AuthFlowError when it is unknown, used, expired or bound to another browser
        (it is used up in every case: a refused callback cannot be tried again).
        """
        raw = self._store.take(self._key(key)) if key else None
        if raw is None:
            raise AuthFlowError(self.UNKNOWN)
        try:
            body = json.loads(raw.decode("utf-8"))
            pending = pending_from_json(body["pending"])
            expires_at = float(body["expires_at"])
        except (KeyError, TypeError, ValueError):
            raise AuthFlowError(self.UNKNOWN) from None
        if self._clock() > expires_at:
            raise AuthFlowError(self.EXPIRED)
        if pending.browser and (
            browser_id is None or browser_fingerprint(browser_id) != pending.browser
        ):
            raise AuthFlowError(self.OTHER_BROWSER)
        return pending

    def discard(self, key: str) -> None:
        """Forget a sign-in (the user cancelled it)."""
        if key:
            self._store.delete(self._key(key))


# -- starting and finishing -------------------------------------------------------------------


def build_client(credential: Credential, endpoints: Endpoints) -> XClient:
    """A client for one credential; OAuth 2.0 credentials refresh at the token URL."""
    return XClient(
        credential=credential,
        base_url=endpoints.api_base_url,
        token_url=endpoints.oauth2_token_url if isinstance(credential, OAuth2Credential) else None,
    )


def connect(
    credential: Credential, *, method: AuthMethod, endpoints: Endpoints, source: str = ""
) -> tuple[Connection, XClient]:
    """Check the credential against the API and describe the connection it makes.

    User-context credentials call ``GET /2/users/me`` (which also proves they work); an
    app-only Bearer token has no user. Raises XApiError when the API refuses (the client
    is closed then).
    """
    client = build_client(credential, endpoints)
    account: Account | None = None
    try:
        if credential.is_user_context:
            user = client.get_me()
            account = Account(id=user.id, username=user.username, name=user.name)
    except BaseException:
        client.close()
        raise
    connection = Connection(
        credential=client.credential,
        method=method,
        endpoints=endpoints,
        account=account,
        source=source,
    )
    return connection, client


def _browser(browser_id: str | None) -> str:
    return browser_fingerprint(browser_id) if browser_id else ""


def start_oauth2_sign_in(
    *,
    pending: PendingSignIns,
    browser_id: str | None,
    method: AuthMethod,
    endpoints: Endpoints,
    client_id: str,
    client_secret: str | None,
    redirect_uri: str,
    scopes: tuple[str, ...] = OAUTH2_SCOPES,
    remember: bool = False,
) -> str:
    """Start Authorization Code + PKCE; returns the consent URL to send the browser to.

    The verifier stays on the server under the ``state`` the redirect brings back, bound to
    ``browser_id`` (None: not bound).
    """
    flow = OAuth2PkceFlow(
        client_id=client_id,
        client_secret=client_secret or None,
        redirect_uri=redirect_uri,
        scopes=scopes,
        authorize_url=endpoints.oauth2_authorize_url,
        token_url=endpoints.oauth2_token_url,
    )
    started = flow.start()
    pending.put(
        started.state,
        PendingSignIn(
            method=method,
            endpoints=endpoints,
            client_id=client_id,
            client_secret=client_secret or None,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_verifier=started.code_verifier,
            remember=remember,
            browser=_browser(browser_id),
        ),
    )
    return str(started.url)


def start_oauth1_sign_in(
    *,
    pending: PendingSignIns,
    browser_id: str | None,
    consumer_key: str,
    consumer_secret: str,
    endpoints: Endpoints,
    callback: str,
    remember: bool = False,
) -> PendingOAuth1:
    """Get a request token; ``callback`` is the app URL (3-legged) or ``"oob"`` (PIN)."""
    flow = OAuth1Flow(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        callback=callback,
        base_url=endpoints.api_base_url,
    )
    started = flow.start()
    pending.put(
        started.request_token,
        PendingSignIn(
            method=AuthMethod.OAUTH1_PIN if callback == "oob" else AuthMethod.OAUTH1_THREE_LEGGED,
            endpoints=endpoints,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            redirect_uri=callback,
            request_token=started.request_token,
            request_token_secret=started.request_token_secret,
            remember=remember,
            browser=_browser(browser_id),
        ),
    )
    return started


def finish_oauth2(pending: PendingSignIn, *, code: str) -> Credential:
    """Exchange the redirect's code (with the kept PKCE verifier) for tokens."""
    flow = OAuth2PkceFlow(
        client_id=pending.client_id,
        client_secret=pending.client_secret,
        redirect_uri=pending.redirect_uri,
        scopes=pending.scopes,
        authorize_url=pending.endpoints.oauth2_authorize_url,
        token_url=pending.endpoints.oauth2_token_url,
    )
    return flow.finish(code=code, code_verifier=pending.code_verifier)


def finish_oauth1(pending: PendingSignIn, *, verifier: str) -> Credential:
    """Exchange the verifier (callback or PIN) for the user's access token pair."""
    flow = OAuth1Flow(
        consumer_key=pending.consumer_key,
        consumer_secret=pending.consumer_secret,
        callback="oob" if pending.method is AuthMethod.OAUTH1_PIN else pending.redirect_uri,
        base_url=pending.endpoints.api_base_url,
    )
    return flow.finish(
        PendingOAuth1(
            url="",
            request_token=pending.request_token,
            request_token_secret=pending.request_token_secret,
        ),
        verifier.strip(),
    )


@dataclass(frozen=True, kw_only=True)
class CallbackOutcome:
    """What a callback ended in: a connection (with its open client), a cancellation in
    words, or an error for the page to explain."""

    connection: Connection | None = None
    client: XClient | None = None
    remember: bool = False
    kind: AlertKind = "info"
    message: str = ""
    error: Exception | None = None


def finish_callback(
    params: Mapping[str, str], *, pending: PendingSignIns, browser_id: str | None
) -> CallbackOutcome | None:
    """Finish the sign-in a callback's query parameters belong to, for this browser.

    Returns None when ``params`` are not an OAuth callback. The consent page's own
    ``error_description`` is passed on as it came (the page shows it as plain text).
    """
    try:
        if "state" in params and "code" in params:
            started = pending.take(params["state"], browser_id=browser_id)
            credential = finish_oauth2(started, code=params["code"])
        elif "state" in params and "error" in params:
            pending.take(params["state"], browser_id=browser_id)
            reason = params.get("error_description") or params["error"]
            return CallbackOutcome(
                kind="warning",
                message=f"Sign-in was not completed ({reason}). Nothing was connected.",
            )
        elif "oauth_token" in params and "oauth_verifier" in params:
            started = pending.take(params["oauth_token"], browser_id=browser_id)
            credential = finish_oauth1(started, verifier=params["oauth_verifier"])
        elif "denied" in params:
            pending.take(params["denied"], browser_id=browser_id)
            return CallbackOutcome(
                kind="warning", message="Sign in with X was cancelled. Nothing was connected."
            )
        else:
            return None
        connection, client = connect(credential, method=started.method, endpoints=started.endpoints)
    except (XApiError, InputError) as exc:
        return CallbackOutcome(kind="error", error=exc)
    return CallbackOutcome(
        connection=connection,
        client=client,
        remember=started.remember,
        kind="success",
        message=f"Connected as {connection.account_label}.",
    )


__all__ = [
    "PENDING_SIGN_IN_TTL_SECONDS",
    "CallbackOutcome",
    "PendingSignIns",
    "build_client",
    "connect",
    "finish_callback",
    "finish_oauth1",
    "finish_oauth2",
    "pending_from_json",
    "pending_to_json",
    "start_oauth1_sign_in",
    "start_oauth2_sign_in",
]
