"""OAuth attacks, each refused with a clear message, at two levels:

* the sign-in flows (``xmetrics_core.oauth``) and the client against a sandbox over real HTTP;
* the dashboard's callback handling (AppTest with ``at.query_params``), where every refused
  attempt must leave the session with no connection and no client ("no half-connected
  session") and the callback parameters gone from the URL.

Attacks: state mismatch, replayed state, replayed code, code older than 30 s, wrong PKCE
verifier (an injected code), forged or replayed OAuth 1.0a signatures and verifiers, expired and
revoked tokens, a redirect URI or callback that is not registered.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from apptest_helpers import (
    HTTP_TIMEOUT,
    LOCAL_APP_URL,
    connect_demo,
    consent_redirect,
    element_texts,
    land_callback,
    link_button_urls,
    new_app,
    submit_consent,
)
from requests_oauthlib import OAuth1
from streamlit.testing.v1 import AppTest

from xmetrics_core.client import XClient
from xmetrics_core.connection import AuthMethod, Connection, PendingSignIn, endpoints_for
from xmetrics_core.credentials import OAuth1Credential, OAuth2Credential
from xmetrics_core.errors import AuthFlowError, Unauthorized
from xmetrics_core.oauth import (
    OAuth1Flow,
    OAuth2PkceFlow,
    PendingAuthorization,
    oauth2_credential_from_token,
    revoke_oauth2_token,
)
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.signin import PendingSignIns
from xmetrics_core.state import MemoryStateStore
from xmetrics_ui.session import CLIENT_KEY, CONNECTION_KEY

UNREGISTERED = "http://127.0.0.1:9/steal/"
USER_SCOPES_WITHOUT_REFRESH = ("tweet.read", "users.read")


# -- helpers ------------------------------------------------------------------------------------


def pkce_flow(sandbox: Any, *, redirect_uri: str = LOCAL_APP_URL) -> OAuth2PkceFlow:
    demo = sandbox.demo
    return OAuth2PkceFlow(
        client_id=demo.client_id,
        client_secret=demo.client_secret,
        redirect_uri=redirect_uri,
        authorize_url=f"{sandbox.base_url}/i/oauth2/authorize",
        token_url=f"{sandbox.base_url}/2/oauth2/token",
        clock=sandbox.clock.now,
    )


def authorized(sandbox: Any) -> tuple[OAuth2PkceFlow, PendingAuthorization, dict[str, str]]:
    """A started PKCE sign-in, approved on the consent page: (flow, pending, redirect params)."""
    flow = pkce_flow(sandbox)
    pending = flow.start()
    params = consent_redirect(pending.url)
    assert params["state"] == pending.state
    return flow, pending, params


def oauth1_flow(sandbox: Any, *, callback: str = "oob") -> OAuth1Flow:
    demo = sandbox.demo
    return OAuth1Flow(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        callback=callback,
        base_url=sandbox.base_url,
    )


def demo_oauth1(sandbox: Any, **changes: str) -> OAuth1Credential:
    demo = sandbox.demo
    values = {
        "consumer_key": demo.consumer_key,
        "consumer_secret": demo.consumer_secret,
        "access_token": demo.access_token,
        "access_token_secret": demo.access_token_secret,
    }
    return OAuth1Credential(**(values | changes))


def connection_of(at: AppTest) -> Connection | None:
    try:
        value = at.session_state[CONNECTION_KEY]
    except KeyError:
        return None
    return value if isinstance(value, Connection) else None


def assert_not_connected(at: AppTest) -> None:
    """Refused, said so, and nothing half-done left in the session or the URL."""
    assert not at.exception, [str(e.value) for e in at.exception]
    assert connection_of(at) is None
    with pytest.raises(KeyError):
        at.session_state[CLIENT_KEY]
    assert len(at.query_params) == 0, dict(at.query_params)
    assert not any("Connected as" in s for s in element_texts(at, "success"))
    assert at.button(key="xm_demo").label == "Connect the Demo account"


def error_text(at: AppTest) -> str:
    return " ".join(element_texts(at, "error") + element_texts(at, "warning"))


def start_demo_sign_in(at: AppTest | None = None) -> tuple[AppTest, str]:
    """A session that pressed "Connect the Demo account": (session, consent URL)."""
    at = at or new_app().run()
    at.button(key="xm_demo").click().run()
    (url,) = link_button_urls(at)
    return at, url


def state_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return str(parse_qs(urlsplit(url).query)["state"][0])


def start_oauth2_tab(at: AppTest, sandbox: Any, *, redirect_uri: str, scopes: str) -> str:
    """Fill the OAuth 2.0 (PKCE) tab for ``sandbox`` and press Sign in: the consent URL."""
    at.text_input(key="xm_oauth2_base").set_value(sandbox.base_url)
    at.text_input(key="xm_o2_client_id").set_value(sandbox.demo.client_id)
    at.text_input(key="xm_o2_secret").set_value(sandbox.demo.client_secret)
    at.text_input(key="xm_o2_redirect").set_value(redirect_uri)
    at.text_input(key="xm_o2_scopes").set_value(scopes)
    at.button(key="xm_o2_start").click().run()
    assert not at.exception
    (url,) = link_button_urls(at)
    return str(url)


# -- state: the app's pending sign-ins ------------------------------------------------------------


def _pending_sign_in() -> PendingSignIn:
    return PendingSignIn(
        method=AuthMethod.DEMO,
        endpoints=endpoints_for("http://127.0.0.1:8787"),
        client_id="client",
        redirect_uri="http://127.0.0.1:8501/",
        code_verifier="verifier",
    )


def test_core_a_state_nobody_issued_is_refused():
    store = PendingSignIns(store=MemoryStateStore())
    store.put("the-real-state", _pending_sign_in())
    with pytest.raises(AuthFlowError, match="unknown or was already used"):
        store.take("forged-state", browser_id=None)
    assert store.take("the-real-state", browser_id=None) == _pending_sign_in()


def test_core_a_state_is_single_use():
    store = PendingSignIns(store=MemoryStateStore())
    store.put("state", _pending_sign_in())
    store.take("state", browser_id=None)
    with pytest.raises(AuthFlowError, match="already used"):
        store.take("state", browser_id=None)


def test_dashboard_refuses_a_callback_whose_state_it_never_issued(dashboard: Any):
    at = land_callback({"code": "stolen-code", "state": "forged-state"})
    assert_not_connected(at)
    assert "Sign-in failed" in error_text(at) and "start the sign-in again" in error_text(at)


def test_dashboard_refuses_a_replayed_state(demo: Any, dashboard: Any):
    _, url = start_demo_sign_in()
    params = consent_redirect(url)
    assert connection_of(land_callback(params)) is not None
    replayed = land_callback(params)
    assert_not_connected(replayed)
    assert "already used" in error_text(replayed)


def test_dashboard_refuses_a_callback_error_with_a_forged_state(dashboard: Any):
    at = land_callback({"error": "access_denied", "state": "forged"})
    assert_not_connected(at)
    assert "Sign-in failed" in error_text(at)


# -- codes ----------------------------------------------------------------------------------------


def test_core_a_replayed_code_is_refused(fresh_sandbox: Any):
    flow, pending, params = authorized(fresh_sandbox)
    first = flow.finish(code=params["code"], code_verifier=pending.code_verifier)
    assert first.access_token
    with pytest.raises(AuthFlowError, match="invalid_request") as refused:
        flow.finish(code=params["code"], code_verifier=pending.code_verifier)
    assert "authorization code was invalid" in refused.value.message
    assert first.access_token not in refused.value.message


def test_core_a_code_older_than_30_seconds_is_refused(fresh_sandbox: Any):
    flow, pending, params = authorized(fresh_sandbox)
    fresh_sandbox.clock.advance(31)
    with pytest.raises(AuthFlowError, match="authorization code was invalid"):
        flow.finish(code=params["code"], code_verifier=pending.code_verifier)


def test_core_a_code_younger_than_30_seconds_still_works(fresh_sandbox: Any):
    flow, pending, params = authorized(fresh_sandbox)
    fresh_sandbox.clock.advance(25)
    assert flow.finish(code=params["code"], code_verifier=pending.code_verifier).access_token


def test_core_a_wrong_pkce_verifier_is_refused_and_burns_the_code(fresh_sandbox: Any):
    flow, pending, params = authorized(fresh_sandbox)
    attacker_verifier = pkce_flow(fresh_sandbox).start().code_verifier
    with pytest.raises(AuthFlowError, match="authorization code was invalid"):
        flow.finish(code=params["code"], code_verifier=attacker_verifier)
    with pytest.raises(AuthFlowError, match="authorization code was invalid"):
        flow.finish(code=params["code"], code_verifier=pending.code_verifier)


def test_dashboard_refuses_a_used_code_under_a_fresh_state(demo: Any, dashboard: Any):
    """The attacker replays a code that was already exchanged, under the victim's new state."""
    _, url = start_demo_sign_in()
    used = consent_redirect(url)
    assert connection_of(land_callback(used)) is not None
    _, victim_url = start_demo_sign_in()
    at = land_callback({"code": used["code"], "state": state_of(victim_url)})
    assert_not_connected(at)
    assert "Sign-in failed" in error_text(at) and "authorization code was invalid" in error_text(at)


def test_dashboard_refuses_an_injected_code_minted_for_another_verifier(demo: Any, dashboard: Any):
    """Code injection: the attacker's own (unused) code, under the victim's state. PKCE makes
    the exchange fail because the victim's verifier does not match the attacker's challenge."""
    _, _, attacker = authorized(demo)
    _, victim_url = start_demo_sign_in()
    at = land_callback({"code": attacker["code"], "state": state_of(victim_url)})
    assert_not_connected(at)
    assert "authorization code was invalid" in error_text(at)


def test_dashboard_refuses_a_code_older_than_30_seconds(sandbox_factory: Any, dashboard: Any):
    slow = sandbox_factory()
    at = new_app().run()
    url = start_oauth2_tab(at, slow, redirect_uri=LOCAL_APP_URL, scopes="tweet.read users.read")
    params = consent_redirect(url)
    slow.clock.advance(31)
    landed = land_callback(params)
    assert_not_connected(landed)
    assert "authorization code was invalid" in error_text(landed)


# -- redirect URIs and callbacks ------------------------------------------------------------------


def test_core_an_unregistered_redirect_uri_gets_an_error_page_and_never_a_code(fresh_sandbox: Any):
    pending = pkce_flow(fresh_sandbox, redirect_uri=UNREGISTERED).start()
    page = requests.get(pending.url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "redirect_uri is not registered" in page.text
    forged = submit_consent(pkce_flow(fresh_sandbox).start().url)  # a real form…
    assert forged.status_code == 302
    tampered = requests.post(
        f"{fresh_sandbox.base_url}/i/oauth2/authorize",
        data={
            "response_type": "code",
            "client_id": fresh_sandbox.demo.client_id,
            "redirect_uri": UNREGISTERED,  # …re-posted with the attacker's redirect
            "state": "s",
            "scope": "tweet.read",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
            "decision": "allow",
        },
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert tampered.status_code == 400 and "Location" not in tampered.headers


def test_core_an_unregistered_oauth1_callback_is_refused_with_a_clear_message(fresh_sandbox: Any):
    with pytest.raises(AuthFlowError, match="callback URL is registered"):
        oauth1_flow(fresh_sandbox, callback=UNREGISTERED).start()


def test_dashboard_sends_no_one_anywhere_with_an_unregistered_redirect_uri(
    sandbox_factory: Any, dashboard: Any
):
    other = sandbox_factory()
    at = new_app().run()
    url = start_oauth2_tab(at, other, redirect_uri=UNREGISTERED, scopes="tweet.read users.read")
    page = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    assert page.status_code == 400 and "not registered" in page.text
    assert "Location" not in page.headers
    assert connection_of(at) is None
    with pytest.raises(KeyError):
        at.session_state[CLIENT_KEY]


# -- OAuth 1.0a signatures and verifiers ----------------------------------------------------------


def test_core_a_forged_oauth1_signature_is_refused(fresh_sandbox: Any):
    forged = demo_oauth1(fresh_sandbox, access_token_secret="not-the-secret-" + "x" * 30)
    with (
        XClient(credential=forged, base_url=fresh_sandbox.base_url) as client,
        pytest.raises(Unauthorized) as refused,
    ):
        client.get_me()
    assert "401" in refused.value.message and "reconnect" in refused.value.message
    assert forged.access_token_secret not in refused.value.message


def test_core_a_replayed_or_tampered_oauth1_request_is_refused(fresh_sandbox: Any):
    demo = fresh_sandbox.demo
    auth = OAuth1(
        demo.consumer_key,
        client_secret=demo.consumer_secret,
        resource_owner_key=demo.access_token,
        resource_owner_secret=demo.access_token_secret,
    )
    signed = requests.Request("GET", f"{fresh_sandbox.base_url}/2/users/me", auth=auth).prepare()
    with requests.Session() as session:
        assert session.send(signed, timeout=HTTP_TIMEOUT).status_code == 200
        assert session.send(signed, timeout=HTTP_TIMEOUT).status_code == 401, "a replay"
        other = requests.Request(
            "GET", f"{fresh_sandbox.base_url}/2/tweets", params={"ids": "20"}, auth=auth
        ).prepare()
        other.prepare_url(f"{fresh_sandbox.base_url}/2/tweets", {"ids": "21"})
        assert session.send(other, timeout=HTTP_TIMEOUT).status_code == 401, "tampered"


def test_core_a_forged_oauth1_verifier_is_refused(fresh_sandbox: Any):
    flow = oauth1_flow(fresh_sandbox)
    pending = flow.start()
    submit_consent(pending.url)
    with pytest.raises(AuthFlowError, match="refused the verifier or PIN"):
        flow.finish(pending, "0000000")


def test_dashboard_refuses_forged_oauth1_keys(demo: Any, dashboard: Any):
    at = new_app().run()
    at.text_input(key="xm_oauth1_base").set_value(demo.base_url)
    at.text_input(key="xm_o1_ck").set_value(demo.demo.consumer_key)
    at.text_input(key="xm_o1_cs").set_value(demo.demo.consumer_secret)
    at.text_input(key="xm_o1_at").set_value(demo.demo.access_token)
    at.text_input(key="xm_o1_as").set_value("forged-" + "s" * 38)
    at.button(key="xm_o1_connect").click().run()
    assert "X did not accept the credential (401" in error_text(at)
    assert connection_of(at) is None


def test_dashboard_refuses_a_replayed_or_forged_oauth1_callback(demo: Any, dashboard: Any):
    at = new_app().run()
    at.text_input(key="xm_oauth1_base").set_value(demo.base_url)
    at.text_input(key="xm_o1_ck").set_value(demo.demo.consumer_key)
    at.text_input(key="xm_o1_cs").set_value(demo.demo.consumer_secret)
    at.button(key="xm_o1_3legged").click().run()
    (url,) = link_button_urls(at)
    answer = submit_consent(url)
    assert answer.status_code in (302, 303)
    from urllib.parse import parse_qsl, urlsplit

    params = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    forged = land_callback({**params, "oauth_verifier": "forged-verifier-123"})
    assert_not_connected(forged)
    assert "Sign-in failed" in error_text(forged)
    # the forged attempt used up the pending sign-in: the real verifier is now refused too
    replayed = land_callback(params)
    assert_not_connected(replayed)
    assert "already used" in error_text(replayed) or "Sign-in failed" in error_text(replayed)


# -- expired and revoked tokens -------------------------------------------------------------------


def user_token(sandbox: Any, **kwargs: Any) -> OAuth2Credential:
    body = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, **kwargs)
    return oauth2_credential_from_token(
        body,
        client_id=sandbox.demo.client_id,
        client_secret=sandbox.demo.client_secret,
        now=sandbox.clock.now(),
    )


def test_core_an_expired_token_without_refresh_is_refused_with_reconnect(fresh_sandbox: Any):
    credential = user_token(fresh_sandbox, scopes=USER_SCOPES_WITHOUT_REFRESH, lifetime=60)
    fresh_sandbox.clock.advance(61)
    with (
        XClient(credential=credential, base_url=fresh_sandbox.base_url) as client,
        pytest.raises(Unauthorized, match="reconnect"),
    ):
        client.get_me()


def test_core_a_revoked_token_and_its_refresh_token_are_refused(fresh_sandbox: Any):
    credential = user_token(fresh_sandbox)
    revoke_oauth2_token(credential, base_url=fresh_sandbox.base_url)
    with (
        XClient(credential=credential, base_url=fresh_sandbox.base_url) as client,
        pytest.raises(Unauthorized, match="reconnect") as refused,
    ):
        client.get_me()
    assert credential.access_token not in str(refused.value)
    assert str(credential.refresh_token) not in str(refused.value)


def fetch_on_posts_page(at: AppTest, text: str) -> AppTest:
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(text)
    return at.button(key="xm_fetch").click().run()


def test_dashboard_drops_a_connection_whose_token_was_revoked(demo: Any, dashboard: Any):
    at = connect_demo(demo)
    connection = connection_of(at)
    assert connection is not None and isinstance(connection.credential, OAuth2Credential)
    revoke_oauth2_token(connection.credential, base_url=demo.base_url)
    at = fetch_on_posts_page(at, demo.world.demo_posts[0].id)
    assert not at.exception
    assert "X did not accept the credential" in error_text(at)
    assert connection_of(at) is None, "a credential X refuses must not stay connected"


def test_dashboard_drops_a_connection_whose_token_expired(sandbox_factory: Any, dashboard: Any):
    short = sandbox_factory(settings=SandboxSettings(access_token_lifetime=60))
    at = new_app().run()
    url = start_oauth2_tab(at, short, redirect_uri=LOCAL_APP_URL, scopes="tweet.read users.read")
    at = land_callback(consent_redirect(url))
    assert connection_of(at) is not None
    short.clock.advance(61)
    at = fetch_on_posts_page(at, short.world.demo_posts[0].id)
    assert not at.exception
    assert "X did not accept the credential" in error_text(at)
    assert connection_of(at) is None, "a credential X refuses must not stay connected"


def test_dashboard_refuses_to_reconnect_a_remembered_token_that_was_revoked(
    demo: Any, dashboard: Any
):
    at = new_app().run()
    at.checkbox(key="xm_remember").check().run()
    _, url = start_demo_sign_in(at)
    connection = connection_of(land_callback(consent_redirect(url)))
    assert connection is not None and isinstance(connection.credential, OAuth2Credential)
    revoke_oauth2_token(connection.credential, base_url=demo.base_url)

    later = new_app().run()
    later.button(key="xm_reconnect_0").click().run()
    assert_not_connected(later)
    assert "X did not accept the credential" in error_text(later)
