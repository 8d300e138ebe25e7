"""OAuth flows: the PKCE URL and the pending store, then every flow end to end against the
sandbox, its consent pages submitted the way a browser submits them."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from xmetrics_core.client import XClient
from xmetrics_core.credentials import OAuth1Credential, OAuth2Credential
from xmetrics_core.errors import AuthFlowError, Unauthorized
from xmetrics_core.oauth import (
    OAuth1Flow,
    OAuth2PkceFlow,
    fetch_app_bearer_token,
    revoke_oauth2_token,
)


def test_pkce_start_builds_the_consent_url_with_s256() -> None:
    flow = OAuth2PkceFlow(
        client_id="cid",
        redirect_uri="http://127.0.0.1:8501/",
        scopes=("tweet.read", "users.read", "offline.access"),
        authorize_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
    )
    pending = flow.start()
    parts = urlsplit(pending.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.netloc, parts.path) == ("x.com", "/i/oauth2/authorize")
    assert query["response_type"] == "code" and query["client_id"] == "cid"
    assert query["redirect_uri"] == "http://127.0.0.1:8501/"
    assert query["scope"] == "tweet.read users.read offline.access"
    assert query["state"] == pending.state and len(pending.state) >= 20
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert pending.code_verifier not in pending.url
    assert pending.code_verifier not in repr(pending)
    assert flow.start().state != pending.state


# -- end to end against the sandbox: the consent pages are submitted like a browser would ------

SCOPES = ("tweet.read", "users.read", "offline.access")
TIMEOUT = (2.0, 5.0)


class FormReader(HTMLParser):
    """Reads the first form: its action, hidden inputs, select options and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, list[str]] = {}
        self.options: list[str] = []
        self.texts: dict[str, str] = {}
        self._select: str | None = None
        self._capture: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            self.options.append(a["value"])
            if "selected" in a:
                self.fields[self._select] = a["value"]
        elif tag == "button" and a.get("type") == "submit":
            self.buttons.setdefault(a["name"], []).append(a["value"])
        if "id" in a:
            self._capture = a["id"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._capture:
            self.texts[self._capture] = self.texts.get(self._capture, "") + data


def submit_consent(
    base_url: str, consent_url: str, *, decision: str = "allow", user_id: str | None = None
) -> requests.Response:
    page = requests.get(consent_url, timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    form = FormReader()
    form.feed(page.text)
    assert decision in form.buttons["decision"]
    fields = dict(form.fields) | {"decision": decision}
    if user_id is not None:
        assert user_id in form.options
        fields["user_id"] = user_id
    return requests.post(
        f"{base_url}{form.action}", data=fields, allow_redirects=False, timeout=TIMEOUT
    )


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def pkce_flow(sandbox: Any, *, confidential: bool = True) -> OAuth2PkceFlow:
    demo = sandbox.demo
    return OAuth2PkceFlow(
        client_id=demo.client_id,
        client_secret=demo.client_secret if confidential else None,
        redirect_uri=demo.redirect_uris[0],
        scopes=SCOPES,
        authorize_url=f"{sandbox.base_url}/i/oauth2/authorize",
        token_url=f"{sandbox.base_url}/2/oauth2/token",
    )


def me_of(sandbox: Any, credential: Any) -> str:
    with XClient(credential=credential, base_url=sandbox.base_url) as client:
        return client.get_me().id


@pytest.mark.parametrize("confidential", [True, False], ids=["confidential", "public-client"])
def test_pkce_sign_in_end_to_end(sandbox: Any, confidential: bool) -> None:
    flow = pkce_flow(sandbox, confidential=confidential)
    pending = flow.start()
    account = sandbox.accounts[2]
    redirect = submit_consent(sandbox.base_url, pending.url, user_id=account.user_id)
    assert redirect.status_code in (302, 303)
    back = query_of(redirect.headers["Location"])
    assert back["state"] == pending.state  # X sends back the state it was given
    credential = flow.finish(code=back["code"], code_verifier=pending.code_verifier)
    assert isinstance(credential, OAuth2Credential)
    assert credential.refresh_token and credential.expires_at is not None
    assert set(credential.scope) == set(SCOPES)
    assert me_of(sandbox, credential) == account.user_id


def test_pkce_wrong_verifier_is_refused_with_xs_words(sandbox: Any) -> None:
    flow = pkce_flow(sandbox)
    pending = flow.start()
    back = query_of(submit_consent(sandbox.base_url, pending.url).headers["Location"])
    with pytest.raises(AuthFlowError, match="invalid_request") as caught:
        flow.finish(code=back["code"], code_verifier="x" * 64)
    assert back["code"] not in caught.value.message


def test_pkce_code_is_single_use(sandbox: Any) -> None:
    flow = pkce_flow(sandbox)
    pending = flow.start()
    back = query_of(submit_consent(sandbox.base_url, pending.url).headers["Location"])
    flow.finish(code=back["code"], code_verifier=pending.code_verifier)
    with pytest.raises(AuthFlowError, match="refused"):
        flow.finish(code=back["code"], code_verifier=pending.code_verifier)


def test_pkce_code_expires_after_30_seconds(fresh_sandbox: Any) -> None:
    flow = pkce_flow(fresh_sandbox)
    pending = flow.start()
    back = query_of(submit_consent(fresh_sandbox.base_url, pending.url).headers["Location"])
    fresh_sandbox.clock.advance(31)
    with pytest.raises(AuthFlowError, match="refused"):
        flow.finish(code=back["code"], code_verifier=pending.code_verifier)


def test_pkce_cancel_comes_back_with_access_denied(sandbox: Any) -> None:
    pending = pkce_flow(sandbox).start()
    back = query_of(
        submit_consent(sandbox.base_url, pending.url, decision="deny").headers["Location"]
    )
    assert back == {"error": "access_denied", "state": pending.state}


def oauth1_flow(sandbox: Any, callback: str) -> OAuth1Flow:
    return OAuth1Flow(
        consumer_key=sandbox.demo.consumer_key,
        consumer_secret=sandbox.demo.consumer_secret,
        callback=callback,
        base_url=sandbox.base_url,
    )


def test_oauth1_three_legged_sign_in_end_to_end(sandbox: Any) -> None:
    flow = oauth1_flow(sandbox, sandbox.demo.redirect_uris[0])
    pending = flow.start()
    assert pending.request_token and pending.request_token_secret not in pending.url
    assert query_of(pending.url) == {"oauth_token": pending.request_token}
    account = sandbox.accounts[3]
    redirect = submit_consent(sandbox.base_url, pending.url, user_id=account.user_id)
    back = query_of(redirect.headers["Location"])
    assert back["oauth_token"] == pending.request_token
    credential = flow.finish(pending, back["oauth_verifier"])
    assert isinstance(credential, OAuth1Credential)
    assert me_of(sandbox, credential) == account.user_id


def test_oauth1_pin_sign_in_end_to_end(sandbox: Any) -> None:
    flow = oauth1_flow(sandbox, "oob")
    pending = flow.start()
    page = submit_consent(sandbox.base_url, pending.url)
    reader = FormReader()
    reader.feed(page.text)
    pin = reader.texts["oauth_pin"].strip()
    assert pin.isdigit()
    credential = flow.finish(pending, pin)
    assert me_of(sandbox, credential) == sandbox.world.demo_user_id


def test_oauth1_wrong_pin_is_refused(sandbox: Any) -> None:
    flow = oauth1_flow(sandbox, "oob")
    pending = flow.start()
    submit_consent(sandbox.base_url, pending.url)
    with pytest.raises(AuthFlowError, match="verifier or PIN"):
        flow.finish(pending, "0000000")


def test_oauth1_wrong_consumer_secret_is_refused_without_echoing_it(sandbox: Any) -> None:
    flow = OAuth1Flow(
        consumer_key=sandbox.demo.consumer_key,
        consumer_secret="definitely-wrong-secret",
        callback="oob",
        base_url=sandbox.base_url,
    )
    with pytest.raises(AuthFlowError) as caught:
        flow.start()
    assert "definitely-wrong-secret" not in str(caught.value)


def test_app_bearer_token_is_fetched_with_basic_auth(sandbox: Any) -> None:
    demo = sandbox.demo
    credential = fetch_app_bearer_token(
        demo.consumer_key, demo.consumer_secret, base_url=sandbox.base_url
    )
    assert credential.token == demo.bearer_token
    with pytest.raises(AuthFlowError, match="check the API key") as caught:
        fetch_app_bearer_token(demo.consumer_key, "nope-secret", base_url=sandbox.base_url)
    assert "nope-secret" not in caught.value.message


def test_revoked_oauth2_token_no_longer_works(sandbox: Any) -> None:
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES)
    credential = OAuth2Credential(
        access_token=str(token["access_token"]),
        refresh_token=str(token["refresh_token"]),
        client_id=sandbox.demo.client_id,
        client_secret=sandbox.demo.client_secret,
    )
    assert me_of(sandbox, credential) == sandbox.world.demo_user_id
    revoke_oauth2_token(credential, base_url=sandbox.base_url)
    with pytest.raises(Unauthorized, match="reconnect"):
        me_of(sandbox, credential)
    with pytest.raises(AuthFlowError, match="revoke"):
        revoke_oauth2_token(
            OAuth2Credential(access_token="unknown", client_id=sandbox.demo.client_id),
            base_url=sandbox.base_url,
        )
