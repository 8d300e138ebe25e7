"""OAuth 2.0 over real HTTP with requests-oauthlib: PKCE, refresh rotation, revocation, Bearer."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from tests.sandbox.flows import read_form, submit
from tests.sandbox.helpers import TIMEOUT, bearer, get, oauth1
from xmetrics_core.sandbox import Sandbox

SCOPES = ["tweet.read", "users.read", "offline.access"]
BAD_CODE = {
    "error": "invalid_request",
    "error_description": "Value passed for the authorization code was invalid.",
}
BAD_TOKEN = {
    "error": "invalid_request",
    "error_description": "Value passed for the token was invalid.",
}


@pytest.fixture(autouse=True)
def loopback_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """oauthlib refuses plain http unless told the transport is local."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    yield


@dataclass(frozen=True)
class Flow:
    """A finished consent step: the session, the callback URL and (manual PKCE) the verifier."""

    session: OAuth2Session
    location: str
    verifier: str | None = None

    @property
    def code(self) -> str:
        return parse_qs(urlsplit(self.location).query)["code"][0]


def authorize(
    sandbox: Sandbox,
    *,
    pkce: str = "S256",
    scopes: list[str] | None = None,
    user_id: str | None = None,
    manual: bool = False,
) -> Flow:
    """Open the consent page, press "Authorize app", return the flow with its callback URL.

    requests-oauthlib does PKCE S256 itself; its "plain" mode sends no challenge (an oauthlib
    limitation), so "plain" (and ``manual=True``) build the verifier and challenge here.
    """
    by_library = pkce == "S256" and not manual
    session = OAuth2Session(
        sandbox.demo.client_id,
        redirect_uri=sandbox.demo.redirect_uris[0],
        scope=scopes or SCOPES,
        pkce="S256" if by_library else None,
    )
    verifier: str | None = None
    extra: dict[str, str] = {}
    if not by_library:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        extra = {
            "code_challenge": challenge if pkce == "S256" else verifier,
            "code_challenge_method": pkce,
        }
    url, state = session.authorization_url(sandbox.base_url + "/i/oauth2/authorize", **extra)
    page = requests.get(url, timeout=TIMEOUT)
    assert page.status_code == 200
    redirect = submit(sandbox.base_url, page.text, "Authorize app", user_id=user_id)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return Flow(session, location, verifier)


def exchange(sandbox: Sandbox, flow: Flow) -> dict[str, Any]:
    extra = {"code_verifier": flow.verifier} if flow.verifier else {}
    token: dict[str, Any] = flow.session.fetch_token(
        sandbox.base_url + "/2/oauth2/token",
        authorization_response=flow.location,
        client_secret=sandbox.demo.client_secret,
        timeout=TIMEOUT,
        **extra,
    )
    return token


def raw_exchange(sandbox: Sandbox, flow: Flow, *, verifier: str | None = None) -> requests.Response:
    return requests.post(
        sandbox.base_url + "/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": flow.code,
            "redirect_uri": sandbox.demo.redirect_uris[0],
            "code_verifier": verifier or flow.verifier,
        },
        auth=basic(sandbox),
        timeout=TIMEOUT,
    )


def basic(sandbox: Sandbox) -> HTTPBasicAuth:
    return HTTPBasicAuth(sandbox.demo.client_id, sandbox.demo.client_secret)


def me(sandbox: Sandbox, access_token: object) -> requests.Response:
    return get(sandbox, "/2/users/me", headers={"Authorization": f"Bearer {access_token}"})


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce_flow_signs_in_with_a_confidential_client(sandbox: Sandbox, method: str) -> None:
    token = exchange(sandbox, authorize(sandbox, pkce=method))
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 7200
    assert token["scope"] == SCOPES  # oauthlib splits X's space-separated scope string
    assert "refresh_token" in token
    assert me(sandbox, token["access_token"]).json()["data"]["id"] == sandbox.world.demo_user_id
    assert sandbox.request_log.entries(path="/2/oauth2/token")[-1].auth == "basic"


def test_public_client_sends_client_id_in_the_body(sandbox: Sandbox) -> None:
    flow = authorize(sandbox)
    token = flow.session.fetch_token(
        sandbox.base_url + "/2/oauth2/token",
        authorization_response=flow.location,
        include_client_id=True,
        timeout=TIMEOUT,
    )
    assert me(sandbox, token["access_token"]).status_code == 200


def test_account_picker_signs_in_another_account(sandbox: Sandbox) -> None:
    account = sandbox.accounts[7]
    token = exchange(sandbox, authorize(sandbox, user_id=account.user_id))
    assert me(sandbox, token["access_token"]).json()["data"]["id"] == account.user_id


def test_consent_page_has_real_buttons_and_defaults_to_the_demo_account(sandbox: Sandbox) -> None:
    session = OAuth2Session(
        sandbox.demo.client_id,
        redirect_uri=sandbox.demo.redirect_uris[0],
        scope=SCOPES,
        pkce="S256",
    )
    url, _ = session.authorization_url(sandbox.base_url + "/i/oauth2/authorize")
    form = read_form(requests.get(url, timeout=TIMEOUT).text)
    assert set(form.buttons) == {"Authorize app", "Cancel"}
    assert form.fields["user_id"] == sandbox.world.demo_user_id
    assert sandbox.world.suspended_user_id not in form.options
    assert len(form.options) == len(sandbox.accounts) - 1


def test_cancel_redirects_with_access_denied(sandbox: Sandbox) -> None:
    session = OAuth2Session(
        sandbox.demo.client_id,
        redirect_uri=sandbox.demo.redirect_uris[0],
        scope=SCOPES,
        pkce="S256",
    )
    url, state = session.authorization_url(sandbox.base_url + "/i/oauth2/authorize")
    redirect = submit(sandbox.base_url, requests.get(url, timeout=TIMEOUT).text, "Cancel")
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": [state]}


def test_unregistered_redirect_uri_shows_an_error_page_until_registered(
    fresh_sandbox: Sandbox,
) -> None:
    uri = "http://127.0.0.1:9999/oauth/callback"
    session = OAuth2Session(
        fresh_sandbox.demo.client_id, redirect_uri=uri, scope=SCOPES, pkce="S256"
    )
    url, _ = session.authorization_url(fresh_sandbox.base_url + "/i/oauth2/authorize")
    page = requests.get(url, timeout=TIMEOUT, allow_redirects=False)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "redirect_uri is not registered" in page.text
    fresh_sandbox.register_redirect_uri(uri)
    assert requests.get(url, timeout=TIMEOUT).status_code == 200


def test_code_is_single_use(sandbox: Sandbox) -> None:
    flow = authorize(sandbox, manual=True)
    assert raw_exchange(sandbox, flow).status_code == 200
    again = raw_exchange(sandbox, flow)
    assert again.status_code == 400
    assert again.json() == BAD_CODE


def test_code_older_than_30_seconds_is_refused(fresh_sandbox: Sandbox) -> None:
    flow = authorize(fresh_sandbox, manual=True)
    fresh_sandbox.clock.advance(31)
    late = raw_exchange(fresh_sandbox, flow)
    assert late.status_code == 400
    assert late.json() == BAD_CODE


def test_code_within_30_seconds_is_accepted(fresh_sandbox: Sandbox) -> None:
    flow = authorize(fresh_sandbox, manual=True)
    fresh_sandbox.clock.advance(25)
    assert raw_exchange(fresh_sandbox, flow).status_code == 200


def test_wrong_code_verifier_is_refused(sandbox: Sandbox) -> None:
    flow = authorize(sandbox, manual=True)
    response = raw_exchange(sandbox, flow, verifier="x" * 50)
    assert response.status_code == 400
    assert response.json() == BAD_CODE


def test_wrong_client_secret_is_401(sandbox: Sandbox) -> None:
    response = requests.post(
        sandbox.base_url + "/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "whatever"},
        auth=HTTPBasicAuth(sandbox.demo.client_id, "wrong"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401


def test_refresh_rotates_and_a_spent_refresh_token_is_refused(sandbox: Sandbox) -> None:
    flow = authorize(sandbox)
    first = exchange(sandbox, flow)
    second = flow.session.refresh_token(
        sandbox.base_url + "/2/oauth2/token",
        refresh_token=first["refresh_token"],
        auth=basic(sandbox),
        timeout=TIMEOUT,
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert me(sandbox, second["access_token"]).status_code == 200
    reused = requests.post(
        sandbox.base_url + "/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=basic(sandbox),
        timeout=TIMEOUT,
    )
    assert reused.status_code == 400
    assert reused.json() == BAD_TOKEN


def test_no_refresh_token_without_offline_access(sandbox: Sandbox) -> None:
    token = exchange(sandbox, authorize(sandbox, scopes=["tweet.read", "users.read"]))
    assert "refresh_token" not in token


def test_access_token_expires_after_its_lifetime(fresh_sandbox: Sandbox) -> None:
    token = fresh_sandbox.issue_oauth2_token(fresh_sandbox.world.demo_user_id, lifetime=60)
    assert token["expires_in"] == 60
    assert token["scope"] == "tweet.read users.read offline.access"
    assert me(fresh_sandbox, token["access_token"]).status_code == 200
    fresh_sandbox.clock.advance(61)
    assert me(fresh_sandbox, token["access_token"]).status_code == 401


def test_revoked_access_token_is_401(sandbox: Sandbox) -> None:
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id)
    revoked = requests.post(
        sandbox.base_url + "/2/oauth2/revoke",
        data={"token": token["access_token"], "token_type_hint": "access_token"},
        auth=basic(sandbox),
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200
    assert revoked.json() == {"revoked": True}
    response = me(sandbox, token["access_token"])
    assert response.status_code == 401
    assert response.json()["type"] == "about:blank"


def test_revoked_refresh_token_cannot_refresh(sandbox: Sandbox) -> None:
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id)
    requests.post(
        sandbox.base_url + "/2/oauth2/revoke",
        data={"token": token["refresh_token"], "client_id": sandbox.demo.client_id},
        timeout=TIMEOUT,
    ).raise_for_status()
    refused = requests.post(
        sandbox.base_url + "/2/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": sandbox.demo.client_id,
        },
        timeout=TIMEOUT,
    )
    assert refused.json() == BAD_TOKEN


def test_app_only_bearer_from_client_credentials(sandbox: Sandbox) -> None:
    response = requests.post(
        sandbox.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=HTTPBasicAuth(sandbox.demo.consumer_key, sandbox.demo.consumer_secret),
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    token = response.json()
    assert token == {"token_type": "bearer", "access_token": sandbox.demo.bearer_token}
    post = sandbox.world.demo_posts[1]
    lookup = get(
        sandbox,
        "/2/tweets",
        params={"ids": post.id},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert lookup.status_code == 200
    wrong = requests.post(
        sandbox.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=HTTPBasicAuth(sandbox.demo.consumer_key, "wrong"),
        timeout=TIMEOUT,
    )
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["code"] == 99


def test_unknown_bearer_is_401(sandbox: Sandbox) -> None:
    response = get(
        sandbox, "/2/tweets", params={"ids": "20"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    assert get(sandbox, "/2/tweets", params={"ids": "20"}).status_code == 401


# -- scopes ---------------------------------------------------------------------------------------

FORBIDDEN = {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"}


def read_endpoints(sandbox: Sandbox) -> list[tuple[str, dict[str, str]]]:
    post = sandbox.world.demo_posts[1].id
    return [
        ("/2/tweets", {"ids": post}),
        (f"/2/tweets/{post}", {}),
        (f"/2/users/{sandbox.world.demo_user_id}/tweets", {}),
        ("/2/users/me", {}),
    ]


@pytest.mark.parametrize(
    "scopes", [["users.read"], ["tweet.read"], ["users.read", "offline.access"]]
)
def test_a_token_without_tweet_read_and_users_read_is_403(
    sandbox: Sandbox, scopes: list[str]
) -> None:
    token = exchange(sandbox, authorize(sandbox, scopes=scopes))
    assert token["scope"] == scopes  # requests-oauthlib splits the granted scope
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for path, params in read_endpoints(sandbox):
        refused = get(sandbox, path, params=params, headers=headers)
        assert refused.status_code == 403, path
        assert refused.json() == FORBIDDEN


def test_the_needed_scopes_read_everything_and_survive_a_refresh(sandbox: Sandbox) -> None:
    token = exchange(sandbox, authorize(sandbox, scopes=[*SCOPES, "like.read"]))
    refreshed = requests.post(
        sandbox.base_url + "/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=basic(sandbox),
        timeout=TIMEOUT,
    ).json()
    for access in (token["access_token"], refreshed["access_token"]):
        headers = {"Authorization": f"Bearer {access}"}
        for path, params in read_endpoints(sandbox):
            assert get(sandbox, path, params=params, headers=headers).status_code == 200, path
    narrow = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=("users.read",))
    refused = me(sandbox, narrow["access_token"])
    assert refused.status_code == 403


def test_oauth1_tokens_and_app_only_bearers_have_no_scopes_to_check(sandbox: Sandbox) -> None:
    for path, params in read_endpoints(sandbox):
        assert get(sandbox, path, params=params, auth=oauth1(sandbox)).status_code == 200
        if not path.endswith("/me"):
            assert get(sandbox, path, params=params, headers=bearer(sandbox)).status_code == 200
