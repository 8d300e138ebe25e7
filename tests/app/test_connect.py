"""The Connect page and app.py's OAuth callback handling, against the embedded sandbox."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from apptest_helpers import (
    connect_bearer,
    connect_demo,
    connect_oauth1_keys,
    consent_redirect,
    element_texts,
    land_callback,
    link_button_urls,
    new_app,
    oauth1_pin,
    raw_texts,
    shown_text,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core.client import XClient
from xmetrics_core.connection import AuthMethod, Connection
from xmetrics_core.credentials import OAuth2Credential
from xmetrics_core.errors import Unauthorized
from xmetrics_ui.session import CONNECTION_KEY, pending_sign_ins


def _connection(at: AppTest) -> Connection | None:
    try:
        value = at.session_state[CONNECTION_KEY]
    except KeyError:
        return None
    return value if isinstance(value, Connection) else None


def _demo_handle(sandbox: Any) -> str:
    return f"@{sandbox.world.user(sandbox.world.demo_user_id).username}"


def _all_text(at: AppTest) -> str:
    kinds = ("text", "markdown", "caption", "success", "info", "warning", "error", "header")
    main = " ".join(" ".join(element_texts(at, kind)) for kind in kinds)
    side = " ".join(str(e.value) for kind in kinds for e in getattr(at.sidebar, kind))
    return f"{main} {side}"


# -- the Demo account: a real PKCE round trip ----------------------------------------------------


def test_demo_account_connects_through_the_consent_page(sandbox: Any):
    at = new_app().run()
    at.button(key="xm_demo").click().run()
    assert not at.exception
    (url,) = link_button_urls(at)
    assert url.startswith(f"{sandbox.base_url}/i/oauth2/authorize?")
    assert "code_challenge_method=S256" in url
    params = consent_redirect(url)
    assert set(params) == {"code", "state"}

    landed = land_callback(params)
    assert not landed.exception
    connection = _connection(landed)
    assert connection is not None
    assert connection.method is AuthMethod.DEMO
    assert connection.account is not None
    assert connection.account.id == sandbox.world.demo_user_id
    assert f"Connected as {_demo_handle(sandbox)}" in " ".join(element_texts(landed, "success"))
    assert len(landed.query_params) == 0, "code and state must leave the URL once used"
    sidebar = [str(t.value) for t in landed.sidebar.text]
    assert f"Account: {connection.account_label}" in sidebar
    assert any("PKCE" in line for line in sidebar)
    assert "Metric groups: Public, Non-public, Organic, Promoted" in sidebar
    assert any("requests left; resets" in line and "UTC" in line for line in sidebar)


def test_a_used_state_cannot_be_replayed(sandbox: Any):
    at = new_app().run()
    at.button(key="xm_demo").click().run()
    params = consent_redirect(link_button_urls(at)[0])
    assert _connection(land_callback(params)) is not None

    replayed = land_callback(params)
    assert not replayed.exception
    assert _connection(replayed) is None
    assert any("already used" in e for e in element_texts(replayed, "error"))
    assert len(replayed.query_params) == 0


def test_a_callback_with_a_wrong_state_is_refused_with_a_clear_message():
    landed = land_callback({"code": "stolen-code", "state": "forged-state"})
    assert not landed.exception
    assert _connection(landed) is None
    (message,) = element_texts(landed, "error")
    assert "Sign-in failed" in message and "start the sign-in again" in message
    assert len(landed.query_params) == 0


def test_an_expired_sign_in_is_refused(sandbox: Any):
    at = new_app().run()
    store = pending_sign_ins()
    ttl = store.ttl_seconds
    store.ttl_seconds = 0  # this sign-in expires the moment it is stored
    try:
        at.button(key="xm_demo").click().run()
    finally:
        store.ttl_seconds = ttl
    params = consent_redirect(link_button_urls(at)[0])
    landed = land_callback(params)
    assert _connection(landed) is None
    assert any("expired" in e for e in element_texts(landed, "error"))


def test_cancelling_on_the_consent_page_connects_nothing(sandbox: Any):
    at = new_app().run()
    at.button(key="xm_demo").click().run()
    params = consent_redirect(link_button_urls(at)[0], decision="deny")
    assert params.get("error") == "access_denied"
    landed = land_callback(params)
    assert not landed.exception
    assert _connection(landed) is None
    assert any("not completed" in w for w in element_texts(landed, "warning"))
    assert len(landed.query_params) == 0


# -- Bearer --------------------------------------------------------------------------------------


def test_bearer_token_connects_app_only_and_says_public_metrics_only(sandbox: Any):
    at = connect_bearer(sandbox)
    assert not at.exception
    connection = _connection(at)
    assert connection is not None and connection.account is None
    sidebar = " ".join(str(t.value) for t in at.sidebar.text)
    assert "App-only" in sidebar and "Metric groups: Public" in sidebar
    assert any("Public metrics only" in str(c.value) for c in at.sidebar.caption)


def test_app_key_and_secret_fetch_the_app_bearer_token(sandbox: Any):
    at = new_app().run()
    at.text_input(key="xm_bearer_base").set_value(sandbox.base_url)
    at.text_input(key="xm_app_key").set_value(sandbox.demo.consumer_key)
    at.text_input(key="xm_app_secret").set_value(sandbox.demo.consumer_secret)
    at.button(key="xm_bearer_fetch").click().run()
    assert not at.exception
    connection = _connection(at)
    assert connection is not None
    assert connection.credential.kind == "bearer"


def test_a_wrong_bearer_token_says_what_to_do(sandbox: Any):
    at = new_app().run()
    at.text_input(key="xm_bearer_base").set_value(sandbox.base_url)
    at.text_input(key="xm_bearer_token").set_value("not-a-real-token")
    at.button(key="xm_bearer_connect").click().run()
    # an app-only token is only checked on first use: connecting works, fetching says 401
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(sandbox.world.demo_posts[0].id)
    at.button(key="xm_fetch").click().run()
    assert not at.exception
    assert any("did not accept the credential" in e for e in element_texts(at, "error"))


def test_an_empty_bearer_token_and_a_bad_base_url_get_messages():
    at = new_app().run()
    at.button(key="xm_bearer_connect").click().run()
    assert any("Paste a Bearer token" in w for w in element_texts(at, "warning"))
    at.text_input(key="xm_bearer_base").set_value("ftp://example")
    at.text_input(key="xm_bearer_token").set_value("a-token")
    at.button(key="xm_bearer_connect").click().run()  # the form sends both with the press
    assert any("API base URL must look like" in e for e in element_texts(at, "error"))
    assert _connection(at) is None
    assert not at.exception


# -- OAuth 1.0a ----------------------------------------------------------------------------------


def test_oauth1_four_keys_connect_the_user(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    assert not at.exception
    connection = _connection(at)
    assert connection is not None
    assert connection.method is AuthMethod.OAUTH1_KEYS
    assert connection.account is not None
    assert connection.account.handle == _demo_handle(sandbox)


def test_oauth1_missing_keys_are_named():
    at = new_app().run()
    at.text_input(key="xm_o1_ck").set_value("only-one")
    at.button(key="xm_o1_connect").click().run()
    assert any("All four keys are needed" in w for w in element_texts(at, "warning"))


def test_oauth1_three_legged_callback_lands_back_in_the_app(sandbox: Any):
    at = new_app().run()
    at.text_input(key="xm_oauth1_base").set_value(sandbox.base_url)
    at.text_input(key="xm_o1_ck").set_value(sandbox.demo.consumer_key)
    at.text_input(key="xm_o1_cs").set_value(sandbox.demo.consumer_secret)
    at.button(key="xm_o1_3legged").click().run()
    assert not at.exception
    (url,) = link_button_urls(at)
    params = consent_redirect(url)
    assert set(params) >= {"oauth_token", "oauth_verifier"}
    landed = land_callback(params)
    assert not landed.exception
    connection = _connection(landed)
    assert connection is not None
    assert connection.method is AuthMethod.OAUTH1_THREE_LEGGED
    assert len(landed.query_params) == 0


def test_oauth1_pin_flow(sandbox: Any):
    at = new_app().run()
    at.text_input(key="xm_oauth1_base").set_value(sandbox.base_url)
    at.text_input(key="xm_o1_ck").set_value(sandbox.demo.consumer_key)
    at.text_input(key="xm_o1_cs").set_value(sandbox.demo.consumer_secret)
    at.button(key="xm_o1_pin").click().run()
    assert not at.exception
    (url,) = link_button_urls(at)
    pin = oauth1_pin(url)
    at.text_input(key="xm_o1_pin_value").set_value("0000000")
    at.button(key="xm_o1_pin_connect").click().run()
    assert _connection(at) is None
    assert element_texts(at, "error"), "a wrong PIN must be refused with a message"
    # the request token is single use: start again and use the right PIN
    at.button(key="xm_o1_pin").click().run()
    url = [u for u in link_button_urls(at) if "oauth_token=" in u][0]
    at.text_input(key="xm_o1_pin_value").set_value(oauth1_pin(url))
    at.button(key="xm_o1_pin_connect").click().run()
    assert not at.exception
    connection = _connection(at)
    assert connection is not None and connection.method is AuthMethod.OAUTH1_PIN
    assert pin


# -- OAuth 2.0 with your own client ----------------------------------------------------------------


def test_oauth2_with_client_id_and_secret(sandbox: Any):
    at = new_app().run()
    at.text_input(key="xm_oauth2_base").set_value(sandbox.base_url)
    at.text_input(key="xm_o2_client_id").set_value(sandbox.demo.client_id)
    at.text_input(key="xm_o2_secret").set_value(sandbox.demo.client_secret)
    assert at.text_input(key="xm_o2_redirect").value == "http://localhost:8501/"
    assert at.text_input(key="xm_o2_scopes").value == "tweet.read users.read offline.access"
    at.button(key="xm_o2_start").click().run()
    (url,) = link_button_urls(at)
    landed = land_callback(consent_redirect(url))
    assert not landed.exception
    connection = _connection(landed)
    assert connection is not None and connection.method is AuthMethod.OAUTH2_PKCE
    assert isinstance(connection.credential, OAuth2Credential)
    assert connection.credential.refresh_token, "offline.access must give a refresh token"


# -- configured credentials ----------------------------------------------------------------------


def test_environment_credentials_are_offered_not_used_silently(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("X_BEARER_TOKEN", sandbox.demo.bearer_token)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    at = new_app().run()
    assert _connection(at) is None
    assert "Configured credentials" in [s.value for s in at.header]
    at.button(key="xm_use_configured").click().run()
    connection = _connection(at)
    assert connection is not None
    assert "environment variables" in connection.auth_label


def test_secrets_toml_credentials(sandbox: Any):
    at = new_app()
    at.secrets["x"] = {
        "consumer_key": sandbox.demo.consumer_key,
        "consumer_secret": sandbox.demo.consumer_secret,
        "access_token": sandbox.demo.access_token,
        "access_token_secret": sandbox.demo.access_token_secret,
        "api_base_url": sandbox.base_url,
    }
    at.run()
    at.button(key="xm_use_configured").click().run()
    assert not at.exception
    connection = _connection(at)
    assert connection is not None and connection.account is not None
    assert "st.secrets" in connection.auth_label


# -- remember me, disconnect, secrets on screen ------------------------------------------------------


def test_remember_is_off_by_default_and_writes_nothing(sandbox: Any, clean_state: Path):
    at = new_app().run()
    assert at.checkbox(key="xm_remember").value is False
    connect_oauth1_keys(sandbox, at)
    assert not (clean_state / "credentials.json").exists()


def test_remembered_connection_is_offered_in_a_new_session_not_auto_connected(
    sandbox: Any, clean_state: Path
):
    at = new_app().run()
    at.checkbox(key="xm_remember").check().run()
    connect_oauth1_keys(sandbox, at)
    stored = clean_state / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600

    later = new_app().run()
    assert _connection(later) is None
    button = later.button(key="xm_reconnect_0")
    assert shown_text(button.label) == f"Reconnect as {_connection(at).account_label}"  # type: ignore[union-attr]
    button.click().run()
    connection = _connection(later)
    assert connection is not None and connection.method is AuthMethod.REMEMBERED


def test_disconnect_revokes_the_oauth2_token(sandbox: Any, clean_state: Path):
    at = connect_demo(sandbox)
    connection = _connection(at)
    assert connection is not None
    at.sidebar.button(key="xm_disconnect").click().run()
    assert not at.exception
    assert _connection(at) is None
    assert any("revoked" in i for i in element_texts(at, "info"))
    with (
        XClient(credential=connection.credential, base_url=sandbox.base_url) as client,
        pytest.raises(Unauthorized),
    ):
        client.get_me()


def test_no_secret_is_ever_shown(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    shown = _all_text(at)
    demo = sandbox.demo
    for secret in (demo.consumer_secret, demo.access_token, demo.access_token_secret):
        assert secret not in shown
    secret_inputs = {
        "xm_bearer_token",
        "xm_app_key",
        "xm_app_secret",
        "xm_o1_ck",
        "xm_o1_cs",
        "xm_o1_at",
        "xm_o1_as",
        "xm_o2_secret",
    }
    masked = {t.key for t in at.text_input if t.proto.type == t.proto.PASSWORD}
    assert secret_inputs <= masked


def test_a_remembered_demo_connection_from_a_previous_sandbox_is_forgotten(
    sandbox: Any, clean_state: Path
):
    from dataclasses import replace

    from xmetrics_core.connection import endpoints_for
    from xmetrics_core.remembered import RememberedConnections

    at = connect_demo(sandbox)
    store = RememberedConnections(config_dir=clean_state)
    connection = _connection(at)
    assert connection is not None
    gone = endpoints_for("http://127.0.0.1:9")  # the old sandbox's port, nothing listens
    store.save(replace(connection, endpoints=gone))

    later = new_app().run()
    later.button(key="xm_reconnect_0").click().run()
    assert not later.exception
    assert _connection(later) is None
    assert any("Connect the Demo account again" in w for w in element_texts(later, "warning"))
    assert store.load() == ()


SECRET_INPUTS = (
    "xm_bearer_token",
    "xm_app_key",
    "xm_app_secret",
    "xm_o1_ck",
    "xm_o1_cs",
    "xm_o1_at",
    "xm_o1_as",
    "xm_o2_secret",
)


def test_disconnect_empties_every_secret_field(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    at.text_input(key="xm_bearer_token").set_value("a-pasted-bearer-token")
    at.text_input(key="xm_o2_secret").set_value("a-pasted-client-secret")
    at.run()
    assert _connection(at) is not None
    at.sidebar.button(key="xm_disconnect").click().run()
    assert not at.exception
    assert _connection(at) is None
    left = {key: at.text_input(key=key).value for key in SECRET_INPUTS}
    assert left == dict.fromkeys(SECRET_INPUTS, ""), "Disconnect must clear every pasted secret"


MARKDOWN_PAYLOAD = "[Click here](https://evil.example/login) ![t](http://192.0.2.1/t.png) <b>x</b>"
LIVE_MARKDOWN = re.compile(r"(?<!\\)(?:\]\(|!\[|<)")
"""A link or image (``](``, ``![``) or an HTML tag that Markdown would render as such."""


def test_an_error_description_from_the_url_is_shown_as_plain_text(sandbox: Any):
    at = new_app().run()
    at.button(key="xm_demo").click().run()
    (url,) = link_button_urls(at)
    state = parse_qs(urlsplit(url).query)["state"][0]
    landed = land_callback(
        {"error": "access_denied", "state": state, "error_description": MARKDOWN_PAYLOAD}
    )
    assert not landed.exception
    assert _connection(landed) is None
    (warning,) = raw_texts(landed, "warning")
    assert not LIVE_MARKDOWN.search(warning), f"URL text reached Markdown: {warning}"
    (shown,) = element_texts(landed, "warning")
    assert MARKDOWN_PAYLOAD in shown, "the reader sees the description exactly as sent"


def test_connected_says_so_once_and_the_demo_button_steps_back(sandbox: Any):
    landed = connect_demo(sandbox)
    assert [s for s in element_texts(landed, "success") if "Connected as" in s] == [
        f"Connected as {_connection(landed).account_label}."  # type: ignore[union-attr]
    ]
    assert landed.button(key="xm_demo").proto.type == "secondary"
    again = landed.run()  # the flash is gone; the page header names the account
    assert not [s for s in element_texts(again, "success") if "Connected as" in s]
    assert new_app().run().button(key="xm_demo").proto.type == "primary"
