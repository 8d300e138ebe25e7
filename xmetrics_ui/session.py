"""Server singletons, the browser's session and this Streamlit session's connection.

Server-wide (one per server process): the embedded sandbox behind the Demo account and the
cache of fetched results (``st.cache_resource``); the state store with the pending OAuth
sign-ins and the browser sessions (:func:`server_state`, shared with ``server.py``'s HTTP
middleware, which runs outside any script).

Per browser (``xmetrics_core.browser_session``): when the dashboard runs behind
``server.py``, every browser has an id cookie and its connection, last query, form and
preferences live on the server under it, so a reload, a new tab or a direct link picks
them up (:func:`sync_browser_session` on every run). Plain ``streamlit run app.py`` sets no
cookie: then everything lives in this Streamlit session only.

Per Streamlit session (``st.session_state``): the :class:`Connection` and its
:class:`XClient`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal, cast, get_args

import streamlit as st

from xmetrics_core import signin
from xmetrics_core.browser_session import BROWSER_COOKIE, BrowserSessions, valid_browser_id
from xmetrics_core.client import XClient
from xmetrics_core.connection import (
    AuthMethod,
    Connection,
    Endpoints,
    app_base_url,
    endpoints_for,
)
from xmetrics_core.credentials import Credential, OAuth1Credential, OAuth2Credential
from xmetrics_core.defaults import OAUTH2_SCOPES
from xmetrics_core.errors import InputError, XApiError
from xmetrics_core.oauth import PendingOAuth1, revoke_oauth2_token
from xmetrics_core.remembered import (
    BrowserRememberedConnections,
    RememberedConnections,
    default_config_dir,
)
from xmetrics_core.sandbox import Sandbox, SandboxSettings, Tier, start_sandbox
from xmetrics_core.sandbox.remote import RemoteSandbox
from xmetrics_core.signin import PendingSignIns, build_client, connect, finish_oauth1
from xmetrics_core.state import MemoryStateStore, ResultCache, StateStore
from xmetrics_ui.team import shared_demo_sandbox, shared_state

CONNECTION_KEY = "xm_connection"
CLIENT_KEY = "xm_client"
REMEMBERED_KEY = "xm_remembered"
REVISION_KEY = "xm_connection_revision"
"""The browser session's connection revision this Streamlit session holds (None: none)."""
FLASH_KEY = "xm_flash"
CONFIGURED_KEY = "xm_configured"
SECRET_WIDGET_KEYS: tuple[str, ...] = (
    "xm_bearer_token",
    "xm_app_key",
    "xm_app_secret",
    "xm_o1_ck",
    "xm_o1_cs",
    "xm_o1_at",
    "xm_o1_as",
    "xm_o2_secret",
    "xm_o1_pin_value",
    "xm_pin_request_token",
)
"""The Connect page's secret fields (and a pending PIN sign-in): emptied on Disconnect, so
the eye icon has nothing left to reveal."""

RESULT_TTL_SECONDS = 15 * 60
RESULT_MAX_ENTRIES = 64


# -- server singletons --------------------------------------------------------------------------


DEMO_NOW_ENV = "XMETRICS_DEMO_NOW"
"""ISO-8601 time the Demo account's world is built around (default: now). With it the demo
data (Post IDs included) is the same on every start: for screenshots and browser tests."""


def demo_start_time(environ: Mapping[str, str]) -> datetime | None:
    """``$XMETRICS_DEMO_NOW`` as an aware UTC time, or None (then the sandbox uses now)."""
    text = environ.get(DEMO_NOW_ENV, "").strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


DEMO_TIER_ENV = "XMETRICS_DEMO_TIER"
"""The X access level the Demo's sandbox app runs on: ``enterprise`` (default: the Posts page
shows the account's hourly curves from X's analytics) or ``pay-per-use`` (what most apps
are: the page says X serves those to Enterprise apps only)."""


def demo_tier(environ: Mapping[str, str]) -> Tier:
    """``$XMETRICS_DEMO_TIER`` (``enterprise`` when unset or blank); InputError for others."""
    text = environ.get(DEMO_TIER_ENV, "").strip() or "enterprise"
    tiers: tuple[str, ...] = get_args(Tier)
    if text not in tiers:
        raise InputError(f"{DEMO_TIER_ENV} must be one of {', '.join(tiers)}, not {text!r}")
    return cast(Tier, text)


@st.cache_resource(show_spinner="Starting the Demo account's sandbox…")
def demo_sandbox() -> Sandbox:
    """The embedded X API sandbox behind the Demo account: started once per server (the
    Demo's sign-in goes to :func:`demo_app`, the team's shared sandbox when there is one)."""
    return start_sandbox(
        settings=SandboxSettings(tier=demo_tier(os.environ)), now=demo_start_time(os.environ)
    )


def demo_app() -> Sandbox | RemoteSandbox:
    """The sandbox the Demo account signs in to: the team's shared one when configured
    (``XMETRICS_DEMO_SANDBOX_FILE``), else this server's embedded one."""
    shared = shared_demo_sandbox()
    return demo_sandbox() if shared is None else shared


def demo_world_now(app: Sandbox | RemoteSandbox) -> datetime:
    """The Demo's world time: ``app``'s clock (the shared sandbox's asked over HTTP;
    SharedSandboxUnavailable when it does not answer)."""
    return app.now() if isinstance(app, RemoteSandbox) else app.clock.now()


@st.cache_resource
def result_cache() -> ResultCache[Any]:
    """Fetched results for every session of this server, keyed by credential first (in
    team mode: encrypted in the shared Redis, for every replica)."""
    team = shared_state()
    if team is not None:  # a Redis outage makes a miss (fetch again), never an error
        return team.result_cache(ttl_seconds=RESULT_TTL_SECONDS)
    return ResultCache(ttl_seconds=RESULT_TTL_SECONDS, max_entries=RESULT_MAX_ENTRIES)


@dataclass(frozen=True, kw_only=True)
class ServerState:
    """The state the script and ``server.py``'s middleware share: one per process."""

    store: StateStore[bytes]
    pending: PendingSignIns
    browsers: BrowserSessions


_SERVER_STATE_LOCK = threading.Lock()


@cache
def _new_server_state() -> ServerState:
    team = shared_state()
    store: StateStore[bytes] = MemoryStateStore(max_entries=100_000) if team is None else team.store
    return ServerState(
        store=store,
        pending=PendingSignIns(store=store),
        browsers=BrowserSessions(store=store),
    )


def server_state() -> ServerState:
    """The process's state store, pending sign-ins and browser sessions (created once).

    Not an ``st.cache_resource``: the HTTP middleware calls it outside any script run.
    """
    with _SERVER_STATE_LOCK:
        return _new_server_state()


def pending_sign_ins() -> PendingSignIns:
    """OAuth sign-ins waiting for their redirect (single use, expiring, browser-bound)."""
    return server_state().pending


def browser_sessions() -> BrowserSessions:
    """What each browser keeps on this server (see ``xmetrics_core.browser_session``)."""
    return server_state().browsers


def remembered_connections(
    browser: str | None = None,
) -> RememberedConnections | BrowserRememberedConnections:
    """The opt-in remember-me file (``$XMETRICS_CONFIG_DIR`` or ``~/.config/xmetrics``); in
    team mode this browser's remembered connections in the shared state (``browser``: its id,
    for callers outside a script run; else the cookie's)."""
    team = shared_state()
    if team is not None:
        return BrowserRememberedConnections(
            store=team.store, browser_id=browser if browser is not None else browser_id()
        )
    return RememberedConnections(config_dir=default_config_dir(os.environ))


def _cookies() -> Mapping[str, str]:
    """The cookies the browser sent with this session's websocket handshake."""
    return st.context.cookies


def browser_id() -> str | None:
    """This browser's id from its cookie (set by ``server.py``), or None under plain
    ``streamlit run app.py`` (no cookie) and in AppTest."""
    return valid_browser_id(_cookies().get(BROWSER_COOKIE))


# -- the session's connection --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flash:
    """A message that survives one rerun (e.g. the outcome of an OAuth callback)."""

    kind: Literal["success", "error", "warning", "info"]
    text: str


def flash(kind: Literal["success", "error", "warning", "info"], text: str) -> None:
    """Show ``text`` on the next render of whatever page runs."""
    st.session_state[FLASH_KEY] = Flash(kind, text)


def pop_flash() -> list[Flash]:
    """The pending messages, removed: this session's, then any the server left for this
    browser (an OAuth callback finished by ``server.py``)."""
    found: list[Flash] = []
    value = st.session_state.pop(FLASH_KEY, None)
    if isinstance(value, Flash):
        found.append(value)
    browser = browser_id()
    if browser is not None:
        found.extend(Flash(m.kind, m.text) for m in browser_sessions().take_messages(browser))
    return found


def keep_widget_values(keys: tuple[str, ...]) -> None:
    """Hand page widgets their values back, so they survive a switch to another page.

    Streamlit drops a widget's value at the end of a run that does not draw it; assigning
    it through Session State first makes it plain session data until the widget returns.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def current_connection() -> Connection | None:
    """This session's connection, or None."""
    value = st.session_state.get(CONNECTION_KEY)
    return value if isinstance(value, Connection) else None


def current_client() -> XClient | None:
    """This session's client (built with the connection), or None."""
    value = st.session_state.get(CLIENT_KEY)
    return value if isinstance(value, XClient) else None


def _hold(connection: Connection, client: XClient, *, remember: bool) -> None:
    """Make ``connection`` (with its open client) this Streamlit session's connection."""
    _close_client()
    st.session_state[CONNECTION_KEY] = connection
    st.session_state[CLIENT_KEY] = client
    st.session_state[REMEMBERED_KEY] = remember


def _forget_locally() -> None:
    _close_client()
    for key in (CONNECTION_KEY, CLIENT_KEY, REMEMBERED_KEY, REVISION_KEY):
        st.session_state.pop(key, None)


def adopt_connection(connection: Connection, client: XClient, *, remember: bool) -> None:
    """Make a new connection this browser's (server side, when it has an id) and this
    session's; with ``remember``, also the remember-me file's."""
    _hold(connection, client, remember=remember)
    browser = browser_id()
    if browser is not None:
        stored = browser_sessions().save_connection(browser, connection, remember=remember)
        st.session_state[REVISION_KEY] = stored.revision
    if remember:
        remembered_connections().save(connection)


def sync_browser_session() -> None:
    """Every run: agree with the browser's server-side session.

    A reload, a new tab or a direct link starts a Streamlit session with nothing in it: it
    picks up the browser's connection. A connection replaced or ended in another tab (or
    expired) is picked up or dropped here too. Without a browser id nothing happens.
    """
    browser = browser_id()
    if browser is None:
        return
    stored = browser_sessions().connection(browser)
    held = st.session_state.get(REVISION_KEY)
    if stored is None:
        if held is not None or current_connection() is not None:
            _forget_locally()
        return
    if stored.revision != held or current_connection() is None:
        connection = stored.connection
        _hold(
            connection,
            build_client(connection.credential, connection.endpoints),
            remember=stored.remember,
        )
        st.session_state[REVISION_KEY] = stored.revision


def establish_connection(
    credential: Credential,
    *,
    method: AuthMethod,
    endpoints: Endpoints,
    source: str = "",
    remember: bool = False,
) -> Connection:
    """Check the credential against the API, then make it this browser's connection.

    User-context credentials call ``GET /2/users/me`` (which also proves they work); an
    app-only Bearer token has no user. Raises XApiError when the API refuses.
    """
    connection, client = connect(credential, method=method, endpoints=endpoints, source=source)
    adopt_connection(connection, client, remember=remember)
    return connection


def sync_refreshed_credential() -> None:
    """After API calls: keep the newest OAuth 2.0 tokens (they rotate on refresh)."""
    connection, client = current_connection(), current_client()
    if connection is None or client is None or client.credential is connection.credential:
        return
    updated = connection.with_credential(client.credential)
    st.session_state[CONNECTION_KEY] = updated
    browser = browser_id()
    if browser is not None:
        stored = browser_sessions().update_connection(browser, updated)
        if stored is not None:
            st.session_state[REVISION_KEY] = stored.revision
    if st.session_state.get(REMEMBERED_KEY):
        remembered_connections().save(updated)


def _close_client() -> None:
    """Stop the worker threads of the session's previous client, if any."""
    client = current_client()
    if client is not None:
        client.close()


def _end_browser_connection() -> None:
    browser = browser_id()
    if browser is not None:
        browser_sessions().forget_connection(browser)


def drop_refused_connection() -> None:
    """X answered 401 for this session's credential: it is revoked or expired for good.

    Forget it everywhere (session, browser session, cached results, the remember-me file)
    without trying to revoke it; the caller tells the user to sign in again.
    """
    connection = current_connection()
    _forget_locally()
    _end_browser_connection()
    if connection is not None:
        result_cache().discard_credential(connection.fingerprint)
        remembered_connections().forget(connection)


def forget_pasted_secrets() -> None:
    """Empty every secret field of the Connect page (their widgets start blank again)."""
    for key in SECRET_WIDGET_KEYS:
        st.session_state.pop(key, None)


def disconnect() -> str:
    """Revoke where X allows it, forget the connection (in every tab of this browser) and
    the secrets pasted into the Connect page; returns what happened."""
    connection = current_connection()
    _forget_locally()
    _end_browser_connection()
    forget_pasted_secrets()
    if connection is None:
        return "Not connected."
    result_cache().discard_credential(connection.fingerprint)
    remembered_connections().forget(connection)
    credential = connection.credential
    if isinstance(credential, OAuth2Credential):
        try:
            revoke_oauth2_token(credential, base_url=connection.endpoints.api_base_url)
        except (XApiError, InputError) as exc:
            return (
                f"Disconnected, but X did not confirm revoking the token ({exc}). "
                "Revoke the app's access on x.com under Settings → Security → Connected apps."
            )
        return "Disconnected; the OAuth 2.0 token was revoked."
    if isinstance(credential, OAuth1Credential):
        return (
            "Disconnected. OAuth 1.0a tokens stay valid until you revoke the app's access "
            "on x.com under Settings → Security → Connected apps."
        )
    return "Disconnected. App-only Bearer tokens are not revoked (they belong to the app)."


# -- OAuth sign-ins that leave the app and come back -----------------------------------------------


def this_app_url() -> str:
    """The app's base URL as the browser sees it: where OAuth callbacks land."""
    return app_base_url(st.context.url)


def start_oauth2_sign_in(
    *,
    method: AuthMethod,
    endpoints: Endpoints,
    client_id: str,
    client_secret: str | None,
    redirect_uri: str,
    scopes: tuple[str, ...] = OAUTH2_SCOPES,
    remember: bool = False,
) -> str:
    """Start Authorization Code + PKCE for this browser; returns the consent URL."""
    return signin.start_oauth2_sign_in(
        pending=pending_sign_ins(),
        browser_id=browser_id(),
        method=method,
        endpoints=endpoints,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        scopes=scopes,
        remember=remember,
    )


def start_demo_sign_in(*, remember: bool = False) -> str:
    """The Demo account: a real PKCE round trip against the embedded sandbox."""
    sandbox = demo_app()
    redirect_uri = this_app_url()
    sandbox.register_redirect_uri(redirect_uri)
    demo = sandbox.demo
    return start_oauth2_sign_in(
        method=AuthMethod.DEMO,
        endpoints=endpoints_for(sandbox.base_url),
        client_id=demo.client_id,
        client_secret=demo.client_secret,
        redirect_uri=redirect_uri,
        remember=remember,
    )


def start_oauth1_sign_in(
    *,
    consumer_key: str,
    consumer_secret: str,
    endpoints: Endpoints,
    callback: str,
    remember: bool = False,
) -> PendingOAuth1:
    """Get a request token; ``callback`` is the app URL (3-legged) or ``"oob"`` (PIN)."""
    return signin.start_oauth1_sign_in(
        pending=pending_sign_ins(),
        browser_id=browser_id(),
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        endpoints=endpoints,
        callback=callback,
        remember=remember,
    )


def finish_oauth1_sign_in(*, request_token: str, verifier: str) -> Connection:
    """Exchange the PIN for an access token and connect (this browser's sign-in only)."""
    pending = pending_sign_ins().take(request_token, browser_id=browser_id())
    credential = finish_oauth1(pending, verifier=verifier)
    return establish_connection(
        credential, method=pending.method, endpoints=pending.endpoints, remember=pending.remember
    )


def redirect_script(url: str) -> str:
    """A script sending this tab to ``url`` (always a URL we built, never user text)."""
    target = json.dumps(url).replace("</", "<\\/")
    return f"<script>window.location.assign({target});</script>"


def cache_key(connection: Connection, *parts: Hashable) -> tuple[Hashable, ...]:
    """A result-cache key that always starts with the credential's fingerprint."""
    return (connection.fingerprint, connection.endpoints.api_base_url, *parts)
