"""Connect: the Demo account first, then every way into the real X API."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from xmetrics_core.connection import (
    AuthMethod,
    ConfiguredCredential,
    Endpoints,
    endpoints_for,
    groups_label,
)
from xmetrics_core.credentials import BearerCredential, Credential, OAuth1Credential
from xmetrics_core.defaults import OAUTH2_SCOPES, X_API_BASE_URL
from xmetrics_core.errors import InputError, Unauthorized, XApiError
from xmetrics_core.labels import escape_markdown
from xmetrics_core.oauth import fetch_app_bearer_token
from xmetrics_ui.session import (
    CONFIGURED_KEY,
    current_connection,
    establish_connection,
    finish_oauth1_sign_in,
    flash,
    redirect_script,
    remembered_connections,
    start_demo_sign_in,
    start_oauth1_sign_in,
    start_oauth2_sign_in,
    this_app_url,
)
from xmetrics_ui.ui import alert, explain, leave_pages_directory_mode, show_error

PIN_PENDING_KEY = "xm_pin_request_token"  # in session.SECRET_WIDGET_KEYS: Disconnect drops it
REDIRECT_KEY = "xm_redirect_to"


def _send_browser_to(url: str, label: str) -> None:
    """Leave for the consent page in this tab, with a visible link if scripts are slow."""
    st.session_state[REDIRECT_KEY] = (url, label)


def _show_pending_redirect() -> None:
    target = st.session_state.pop(REDIRECT_KEY, None)
    if not target:
        return
    url, label = target
    st.info("Opening the sign-in page… If nothing happens, use the button below.")
    st.link_button(label, url, type="primary")
    st.html(redirect_script(url), unsafe_allow_javascript=True)


def _connect_now(
    credential: Credential,
    *,
    method: AuthMethod,
    endpoints: Endpoints,
    remember: bool,
    source: str = "",
) -> None:
    try:
        connection = establish_connection(
            credential, method=method, endpoints=endpoints, remember=remember, source=source
        )
    except (XApiError, InputError) as exc:
        show_error(exc)
        return
    flash("success", f"Connected as {connection.account_label}.")
    st.rerun()


def _api_base(key: str) -> Endpoints | None:
    """The "Advanced: API base URL" field of one way in (api.x.com unless changed)."""
    with st.expander("Advanced: API base URL"):
        text = st.text_input(
            "API base URL",
            value=X_API_BASE_URL,
            key=key,
            help="Point at a local sandbox (e.g. http://127.0.0.1:8787) instead of X.",
        )
    try:
        return endpoints_for(text)
    except InputError as exc:
        alert("error", str(exc))
        return None


REMEMBER_KEY = "xm_remember"


def _remember_toggle() -> None:
    st.checkbox(
        "Remember on this computer",
        value=False,
        key=REMEMBER_KEY,
        help="Keeps the tokens in ~/.config/xmetrics/credentials.json (readable only by you) "
        'and offers "Reconnect" next time. Off by default.',
    )


def _remember() -> bool:
    """The "Remember on this computer" choice (read before the checkbox renders)."""
    return bool(st.session_state.get(REMEMBER_KEY, False))


def _connected_view() -> None:
    """Who is connected, once (the sign-in's own "Connected as" message is the banner)."""
    connection = current_connection()
    if connection is None:
        return
    with st.container(border=True):  # the header above the title names the account
        st.text(f"Auth: {connection.auth_label}")
        st.text(f"Metric groups: {groups_label(connection.unlocked_groups)}")
        st.page_link("pages/posts.py", label="Fetch Post metrics")
        st.caption("Connect another way below to switch accounts; Disconnect is in the sidebar.")


def _demo_section(remember: bool) -> None:
    st.header("Demo account")
    st.write(
        "Try everything without an X developer account: a built-in X API sandbox on this "
        "computer with a demo user, their Posts and videos. You sign in through a real "
        "OAuth 2.0 PKCE consent page, just as with X."
    )
    connected = current_connection() is not None
    if st.button(
        "Connect the Demo account",
        key="xm_demo",
        type="secondary" if connected else "primary",
    ):
        try:
            url = start_demo_sign_in(remember=remember)
        except (XApiError, InputError, OSError) as exc:
            alert("error", f"The Demo account could not start: {explain(exc)}")
            return
        _send_browser_to(url, "Open the Demo account's consent page")
        st.rerun()


def _configured_section(configured: ConfiguredCredential, remember: bool) -> None:
    st.header("Configured credentials")
    st.write(escape_markdown(f"Found: {configured.label}."))
    if st.button("Use configured credentials", key="xm_use_configured", type="primary"):
        _connect_now(
            configured.credential,
            method=AuthMethod.CONFIGURED,
            endpoints=configured.endpoints,
            remember=remember,
            source=configured.source,
        )


def _remembered_section() -> None:
    remembered = remembered_connections().load()
    if not remembered:
        return
    st.header("Remembered on this computer")
    for index, entry in enumerate(remembered):
        if st.button(escape_markdown(f"Reconnect as {entry.label}"), key=f"xm_reconnect_{index}"):
            try:
                connection = establish_connection(
                    entry.connection.credential,
                    method=AuthMethod.REMEMBERED,
                    endpoints=entry.connection.endpoints,
                    remember=True,
                    source="this computer",
                )
            except Unauthorized as exc:  # revoked or expired: it will never work again
                remembered_connections().forget(entry.connection)
                show_error(exc)
                return
            except XApiError as exc:
                if entry.connection.method is AuthMethod.DEMO:  # tokens die with the sandbox
                    remembered_connections().forget(entry.connection)
                    st.warning(
                        "The Demo account's sandbox has restarted since this was remembered, "
                        "so its tokens are gone. Connect the Demo account again."
                    )
                else:
                    show_error(exc)
                return
            except InputError as exc:
                show_error(exc)
                return
            flash("success", f"Connected as {connection.account_label}.")
            st.rerun()


def _form(key: str) -> DeltaGenerator:
    """A form around one way in: its secrets go with the button press, even when the last
    field was never committed (focus on the eye icon, then a click on the button)."""
    return st.form(key, enter_to_submit=False, border=False)


def _bearer_tab(remember: bool) -> None:
    st.caption("A Bearer token is app-only: it reads public metrics only.")
    with _form("xm_bearer_form"):
        endpoints = _api_base("xm_bearer_base")
        token = st.text_input("Bearer token", type="password", key="xm_bearer_token")
        connect = st.form_submit_button("Connect with Bearer token", key="xm_bearer_connect")
        st.markdown("**Or get the app's Bearer token from its API key and secret**")
        app_key = st.text_input("API key (consumer key)", type="password", key="xm_app_key")
        app_secret = st.text_input(
            "API key secret (consumer secret)", type="password", key="xm_app_secret"
        )
        fetch = st.form_submit_button("Fetch app Bearer token", key="xm_bearer_fetch")
    if connect:
        if not token.strip():
            alert("warning", "Paste a Bearer token first.")
        elif endpoints is not None:
            _connect_now(
                BearerCredential(token=token.strip()),
                method=AuthMethod.BEARER,
                endpoints=endpoints,
                remember=remember,
            )
    if fetch:
        if not (app_key.strip() and app_secret.strip()):
            alert("warning", "Paste both the API key and its secret.")
        elif endpoints is not None:
            try:
                credential = fetch_app_bearer_token(
                    app_key.strip(), app_secret.strip(), base_url=endpoints.api_base_url
                )
            except (XApiError, InputError) as exc:
                show_error(exc)
                return
            _connect_now(
                credential, method=AuthMethod.BEARER, endpoints=endpoints, remember=remember
            )


def _oauth1_tab(remember: bool) -> None:
    st.caption("User context: every metric group, for your own Posts of the last 30 days.")
    with _form("xm_oauth1_form"):
        endpoints = _api_base("xm_oauth1_base")
        consumer_key = st.text_input("API key (consumer key)", type="password", key="xm_o1_ck")
        consumer_secret = st.text_input(
            "API key secret (consumer secret)", type="password", key="xm_o1_cs"
        )
        st.markdown("**Paste an access token you already have**")
        access_token = st.text_input("Access token", type="password", key="xm_o1_at")
        access_secret = st.text_input("Access token secret", type="password", key="xm_o1_as")
        four_keys = st.form_submit_button("Connect with these four keys", key="xm_o1_connect")
        st.markdown("**Or sign in with the API key and secret**")
        left, right = st.columns(2)
        with left:
            sign_in = st.form_submit_button("Sign in with X", key="xm_o1_3legged")
        with right:
            use_pin = st.form_submit_button("Sign in with a PIN", key="xm_o1_pin")
    keys = (consumer_key.strip(), consumer_secret.strip())
    if four_keys:
        if not (all(keys) and access_token.strip() and access_secret.strip()):
            alert(
                "warning",
                "All four keys are needed: API key, API key secret, access token and secret.",
            )
        elif endpoints is not None:
            _connect_now(
                OAuth1Credential(
                    consumer_key=keys[0],
                    consumer_secret=keys[1],
                    access_token=access_token.strip(),
                    access_token_secret=access_secret.strip(),
                ),
                method=AuthMethod.OAUTH1_KEYS,
                endpoints=endpoints,
                remember=remember,
            )
    if (sign_in or use_pin) and endpoints is not None:
        if not all(keys):
            alert("warning", "Paste the API key and its secret first.")
            return
        try:
            pending = start_oauth1_sign_in(
                consumer_key=keys[0],
                consumer_secret=keys[1],
                endpoints=endpoints,
                callback="oob" if use_pin else this_app_url(),
                remember=remember,
            )
        except (XApiError, InputError) as exc:
            show_error(exc)
            return
        if sign_in:
            _send_browser_to(pending.url, "Open X's sign-in page")
            st.rerun()
        st.session_state[PIN_PENDING_KEY] = (pending.request_token, pending.url)
    pin_pending = st.session_state.get(PIN_PENDING_KEY)
    if pin_pending:
        request_token, url = pin_pending
        st.link_button("1. Authorize the app (opens X)", url)
        with _form("xm_pin_form"):
            pin = st.text_input("2. Enter the PIN X shows", key="xm_o1_pin_value")
            pin_connect = st.form_submit_button("Connect with PIN", key="xm_o1_pin_connect")
        if pin_connect:
            if not pin.strip():
                alert("warning", "Enter the PIN first.")
                return
            try:
                connection = finish_oauth1_sign_in(request_token=request_token, verifier=pin)
            except (XApiError, InputError) as exc:
                show_error(exc)
                return
            st.session_state.pop(PIN_PENDING_KEY, None)
            flash("success", f"Connected as {connection.account_label}.")
            st.rerun()


def _oauth2_tab(remember: bool) -> None:
    st.caption(
        "Authorization Code with PKCE. Register this app's address as a callback URL of "
        "your X app; tokens refresh automatically before they expire."
    )
    with _form("xm_oauth2_form"):
        endpoints = _api_base("xm_oauth2_base")
        client_id = st.text_input("Client ID", key="xm_o2_client_id")
        client_secret = st.text_input(
            "Client secret (confidential clients only)", type="password", key="xm_o2_secret"
        )
        redirect_uri = st.text_input("Redirect URI", value=this_app_url(), key="xm_o2_redirect")
        scopes_text = st.text_input("Scopes", value=" ".join(OAUTH2_SCOPES), key="xm_o2_scopes")
        start = st.form_submit_button("Sign in with OAuth 2.0", key="xm_o2_start")
    if start and endpoints is not None:
        if not client_id.strip():
            alert("warning", "Paste the OAuth 2.0 client ID first.")
            return
        try:
            url = start_oauth2_sign_in(
                method=AuthMethod.OAUTH2_PKCE,
                endpoints=endpoints,
                client_id=client_id.strip(),
                client_secret=client_secret.strip() or None,
                redirect_uri=redirect_uri.strip(),
                scopes=tuple(scopes_text.split()),
                remember=remember,
            )
        except (XApiError, InputError) as exc:
            show_error(exc)
            return
        _send_browser_to(url, "Open X's consent page")
        st.rerun()


leave_pages_directory_mode()
st.title("Connect")
_show_pending_redirect()
_connected_view()
configured = st.session_state.get(CONFIGURED_KEY)
if isinstance(configured, ConfiguredCredential):
    _configured_section(configured, _remember())
_demo_section(_remember())
_remembered_section()
st.header("Your X account")
_remember_toggle()
bearer, oauth1, oauth2 = st.tabs(["Bearer token", "OAuth 1.0a", "OAuth 2.0 (PKCE)"])
with bearer:
    _bearer_tab(_remember())
with oauth1:
    _oauth1_tab(_remember())
with oauth2:
    _oauth2_tab(_remember())
