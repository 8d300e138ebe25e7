"""Server singletons and the per-session connection, shared by app.py and the pages.

Server-wide (``st.cache_resource``, one per server process): the embedded sandbox behind
the Demo account, the store of pending OAuth sign-ins (keyed by ``state``) and the cache
of fetched results (keyed by credential fingerprint, IDs and groups).

Per session (``st.session_state``): the :class:`Connection` and its :class:`XClient`.
Nothing here is a module-level mutable global.
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import streamlit as st

from xmetrics_core.client import XClient
from xmetrics_core.connection import (
    Account,
    AuthMethod,
    Connection,
    Endpoints,
    PendingSignIn,
    app_base_url,
    endpoints_for,
)
from xmetrics_core.credentials import Credential, OAuth1Credential, OAuth2Credential
from xmetrics_core.defaults import OAUTH2_SCOPES
from xmetrics_core.errors import AuthFlowError, InputError, XApiError
from xmetrics_core.oauth import (
    OAuth1Flow,
    OAuth2PkceFlow,
    PendingAuthStore,
    PendingOAuth1,
    revoke_oauth2_token,
)
from xmetrics_core.remembered import RememberedConnections, default_config_dir
from xmetrics_core.sandbox import Sandbox, start_sandbox
from xmetrics_core.state import ResultCache
from xmetrics_ui.messages import explain

CONNECTION_KEY = "xm_connection"
CLIENT_KEY = "xm_client"
REMEMBERED_KEY = "xm_remembered"
FLASH_KEY = "xm_flash"
CONFIGURED_KEY = "xm_configured"

PENDING_SIGN_IN_TTL_SECONDS = 10 * 60
"""A sign-in must come back from the consent page within ten minutes."""
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


@st.cache_resource(show_spinner="Starting the Demo account's sandbox…")
def demo_sandbox() -> Sandbox:
    """The embedded X API sandbox behind the Demo account: started once per server."""
    return start_sandbox(now=demo_start_time(os.environ))


@st.cache_resource
def pending_sign_ins() -> PendingAuthStore:
    """OAuth sign-ins waiting for their redirect, keyed by ``state`` (single use, expiring)."""
    return PendingAuthStore(ttl_seconds=PENDING_SIGN_IN_TTL_SECONDS)


@st.cache_resource
def result_cache() -> ResultCache[Any]:
    """Fetched results for every session of this server, keyed by credential first."""
    return ResultCache(ttl_seconds=RESULT_TTL_SECONDS, max_entries=RESULT_MAX_ENTRIES)


def remembered_connections() -> RememberedConnections:
    """The opt-in remember-me file (``$XMETRICS_CONFIG_DIR`` or ``~/.config/xmetrics``)."""
    return RememberedConnections(config_dir=default_config_dir(os.environ))


# -- the session's connection --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flash:
    """A message that survives one rerun (e.g. the outcome of an OAuth callback)."""

    kind: Literal["success", "error", "warning", "info"]
    text: str


def flash(kind: Literal["success", "error", "warning", "info"], text: str) -> None:
    """Show ``text`` on the next render of whatever page runs."""
    st.session_state[FLASH_KEY] = Flash(kind, text)


def pop_flash() -> Flash | None:
    """The pending flash message, removed."""
    value = st.session_state.pop(FLASH_KEY, None)
    return value if isinstance(value, Flash) else None


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


def build_client(credential: Credential, endpoints: Endpoints) -> XClient:
    """A client for one credential; OAuth 2.0 credentials refresh at the token URL."""
    return XClient(
        credential=credential,
        base_url=endpoints.api_base_url,
        token_url=endpoints.oauth2_token_url if isinstance(credential, OAuth2Credential) else None,
    )


def establish_connection(
    credential: Credential,
    *,
    method: AuthMethod,
    endpoints: Endpoints,
    source: str = "",
    remember: bool = False,
) -> Connection:
    """Check the credential against the API, then make it this session's connection.

    User-context credentials call ``GET /2/users/me`` (which also proves they work); an
    app-only Bearer token has no user. Raises XApiError when the API refuses.
    """
    client = build_client(credential, endpoints)
    account: Account | None = None
    if credential.is_user_context:
        user = client.get_me()
        account = Account(id=user.id, username=user.username, name=user.name)
    connection = Connection(
        credential=client.credential,
        method=method,
        endpoints=endpoints,
        account=account,
        source=source,
    )
    _close_client()
    st.session_state[CONNECTION_KEY] = connection
    st.session_state[CLIENT_KEY] = client
    st.session_state[REMEMBERED_KEY] = remember
    if remember:
        remembered_connections().save(connection)
    return connection


def sync_refreshed_credential() -> None:
    """After API calls: keep the newest OAuth 2.0 tokens (they rotate on refresh)."""
    connection, client = current_connection(), current_client()
    if connection is None or client is None or client.credential is connection.credential:
        return
    updated = connection.with_credential(client.credential)
    st.session_state[CONNECTION_KEY] = updated
    if st.session_state.get(REMEMBERED_KEY):
        remembered_connections().save(updated)


def _close_client() -> None:
    """Stop the worker threads of the session's previous client, if any."""
    client = current_client()
    if client is not None:
        client.close()


def drop_refused_connection() -> None:
    """X answered 401 for this session's credential: it is revoked or expired for good.

    Forget it everywhere (session, cached results, the remember-me file) without trying to
    revoke it; the caller tells the user to sign in again.
    """
    connection = current_connection()
    _close_client()
    for key in (CONNECTION_KEY, CLIENT_KEY, REMEMBERED_KEY):
        st.session_state.pop(key, None)
    if connection is not None:
        result_cache().discard_credential(connection.fingerprint)
        remembered_connections().forget(connection)


def disconnect() -> str:
    """Revoke where X allows it, forget this session's connection; returns what happened."""
    connection = current_connection()
    _close_client()
    for key in (CONNECTION_KEY, CLIENT_KEY, REMEMBERED_KEY):
        st.session_state.pop(key, None)
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
    """Start Authorization Code + PKCE; returns the consent URL to send the browser to.

    The verifier stays on the server under the ``state`` the redirect brings back.
    """
    flow = OAuth2PkceFlow(
        client_id=client_id,
        client_secret=client_secret or None,
        redirect_uri=redirect_uri,
        scopes=scopes,
        authorize_url=endpoints.oauth2_authorize_url,
        token_url=endpoints.oauth2_token_url,
    )
    pending = flow.start()
    pending_sign_ins().put(
        pending.state,
        PendingSignIn(
            method=method,
            endpoints=endpoints,
            client_id=client_id,
            client_secret=client_secret or None,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_verifier=pending.code_verifier,
            remember=remember,
        ),
    )
    return str(pending.url)


def start_demo_sign_in(*, remember: bool = False) -> str:
    """The Demo account: a real PKCE round trip against the embedded sandbox."""
    sandbox = demo_sandbox()
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
    flow = OAuth1Flow(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        callback=callback,
        base_url=endpoints.api_base_url,
    )
    pending = flow.start()
    pending_sign_ins().put(
        pending.request_token,
        PendingSignIn(
            method=AuthMethod.OAUTH1_PIN if callback == "oob" else AuthMethod.OAUTH1_THREE_LEGGED,
            endpoints=endpoints,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            redirect_uri=callback,
            request_token=pending.request_token,
            request_token_secret=pending.request_token_secret,
            remember=remember,
        ),
    )
    return pending


def finish_oauth1_sign_in(*, request_token: str, verifier: str) -> Connection:
    """Exchange the verifier (callback or PIN) for an access token and connect."""
    pending = _pop_pending(request_token)
    flow = OAuth1Flow(
        consumer_key=pending.consumer_key,
        consumer_secret=pending.consumer_secret,
        callback="oob" if pending.method is AuthMethod.OAUTH1_PIN else pending.redirect_uri,
        base_url=pending.endpoints.api_base_url,
    )
    credential = flow.finish(
        PendingOAuth1(
            url="",
            request_token=pending.request_token,
            request_token_secret=pending.request_token_secret,
        ),
        verifier.strip(),
    )
    return establish_connection(
        credential,
        method=pending.method,
        endpoints=pending.endpoints,
        remember=pending.remember,
    )


def _pop_pending(key: str) -> PendingSignIn:
    """The pending sign-in under ``key``, removed; AuthFlowError if unknown, used or expired."""
    pending = pending_sign_ins().pop(key)
    if not isinstance(pending, PendingSignIn):
        raise AuthFlowError(
            "this sign-in link is unknown, expired or already used; start again from Connect"
        )
    return pending


def _finish_oauth2(code: str, state: str) -> Connection:
    pending = _pop_pending(state)
    flow = OAuth2PkceFlow(
        client_id=pending.client_id,
        client_secret=pending.client_secret,
        redirect_uri=pending.redirect_uri,
        scopes=pending.scopes,
        authorize_url=pending.endpoints.oauth2_authorize_url,
        token_url=pending.endpoints.oauth2_token_url,
    )
    credential = flow.finish(code=code, code_verifier=pending.code_verifier)
    return establish_connection(
        credential,
        method=pending.method,
        endpoints=pending.endpoints,
        remember=pending.remember,
    )


def handle_oauth_callback(params: dict[str, str]) -> bool:
    """Finish a sign-in whose redirect landed in this (new) session.

    ``params`` are the query parameters. Returns True when they were an OAuth callback
    (the caller then clears them from the URL). The outcome is left as a flash message.
    """
    try:
        if "state" in params and "code" in params:
            connection = _finish_oauth2(params["code"], params["state"])
        elif "state" in params and "error" in params:
            pending_sign_ins().pop(params["state"])
            reason = params.get("error_description") or params["error"]
            flash("warning", f"Sign-in was not completed ({reason}). Nothing was connected.")
            return True
        elif "oauth_token" in params and "oauth_verifier" in params:
            connection = finish_oauth1_sign_in(
                request_token=params["oauth_token"], verifier=params["oauth_verifier"]
            )
        elif "denied" in params:
            pending_sign_ins().pop(params["denied"])
            flash("warning", "Sign in with X was cancelled. Nothing was connected.")
            return True
        else:
            return False
    except (XApiError, InputError) as exc:
        flash("error", explain(exc))
        return True
    flash("success", f"Connected as {connection.account_label}.")
    return True


def redirect_script(url: str) -> str:
    """A script sending this tab to ``url`` (always a URL we built, never user text)."""
    target = json.dumps(url).replace("</", "<\\/")
    return f"<script>window.location.assign({target});</script>"


def cache_key(connection: Connection, *parts: Hashable) -> tuple[Hashable, ...]:
    """A result-cache key that always starts with the credential's fingerprint."""
    return (connection.fingerprint, connection.endpoints.api_base_url, *parts)
