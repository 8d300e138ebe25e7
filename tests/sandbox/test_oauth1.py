"""OAuth 1.0a over real HTTP with requests-oauthlib: the three-legged flow and signature checks."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import requests
from requests_oauthlib import OAuth1, OAuth1Session

from tests.sandbox.flows import pin_of, submit
from tests.sandbox.helpers import TIMEOUT, SandboxFactory, get, oauth1
from xmetrics_core.sandbox import Sandbox

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


def start_flow(sandbox: Sandbox, callback: str) -> tuple[OAuth1Session, str, dict[str, str]]:
    session = OAuth1Session(
        sandbox.demo.consumer_key, client_secret=sandbox.demo.consumer_secret, callback_uri=callback
    )
    tokens = session.fetch_request_token(sandbox.base_url + "/oauth/request_token", timeout=TIMEOUT)
    assert tokens["oauth_callback_confirmed"] == "true"
    url = session.authorization_url(sandbox.base_url + "/oauth/authorize")
    page = requests.get(url, timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Authorize app" in page.text
    return session, page.text, tokens


def test_callback_flow_signs_in_the_chosen_account(sandbox: Sandbox) -> None:
    account = sandbox.accounts[4]
    callback = sandbox.demo.redirect_uris[0]
    session, page, _ = start_flow(sandbox, callback)
    redirect = submit(sandbox.base_url, page, "Authorize app", user_id=account.user_id)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(callback)
    assert set(parse_qs(urlsplit(location).query)) == {"oauth_token", "oauth_verifier"}
    session.parse_authorization_response(location)
    access = session.fetch_access_token(sandbox.base_url + "/oauth/access_token", timeout=TIMEOUT)
    assert access["user_id"] == account.user_id
    assert access["screen_name"] == account.username
    signed = OAuth1Session(
        sandbox.demo.consumer_key,
        client_secret=sandbox.demo.consumer_secret,
        resource_owner_key=access["oauth_token"],
        resource_owner_secret=access["oauth_token_secret"],
    )
    me = signed.get(sandbox.base_url + "/2/users/me", timeout=TIMEOUT)
    assert me.json()["data"]["id"] == account.user_id


def test_pin_flow_shows_a_seven_digit_pin_that_completes_sign_in(sandbox: Sandbox) -> None:
    _, page, tokens = start_flow(sandbox, "oob")
    shown = submit(sandbox.base_url, page, "Authorize app")
    assert shown.status_code == 200
    pin = pin_of(shown.text)
    finishing = OAuth1Session(
        sandbox.demo.consumer_key,
        client_secret=sandbox.demo.consumer_secret,
        resource_owner_key=tokens["oauth_token"],
        resource_owner_secret=tokens["oauth_token_secret"],
        verifier=pin,
    )
    access = finishing.fetch_access_token(sandbox.base_url + "/oauth/access_token", timeout=TIMEOUT)
    assert access["user_id"] == sandbox.world.demo_user_id


def test_wrong_verifier_is_refused(sandbox: Sandbox) -> None:
    _, page, tokens = start_flow(sandbox, "oob")
    real_pin = pin_of(submit(sandbox.base_url, page, "Authorize app").text)
    wrong_pin = "0000000" if real_pin != "0000000" else "1111111"
    guessing = OAuth1Session(
        sandbox.demo.consumer_key,
        client_secret=sandbox.demo.consumer_secret,
        resource_owner_key=tokens["oauth_token"],
        resource_owner_secret=tokens["oauth_token_secret"],
        verifier=wrong_pin,
    )
    response = guessing.post(sandbox.base_url + "/oauth/access_token", timeout=TIMEOUT)
    assert response.status_code == 401


def test_unregistered_callback_is_refused(sandbox: Sandbox) -> None:
    session = OAuth1Session(
        sandbox.demo.consumer_key,
        client_secret=sandbox.demo.consumer_secret,
        callback_uri="http://evil.example/cb",
    )
    response = session.post(sandbox.base_url + "/oauth/request_token", timeout=TIMEOUT)
    assert response.status_code in (400, 401)


def test_unknown_request_token_shows_an_error_page(sandbox: Sandbox) -> None:
    page = get(sandbox, "/oauth/authorize", params={"oauth_token": "nope"})
    assert page.status_code == 400
    assert "Authorize app" not in page.text


def test_wrong_signature_is_401(sandbox: Sandbox) -> None:
    demo = sandbox.accounts[0]
    wrong = OAuth1(
        sandbox.demo.consumer_key, "not-the-secret", demo.access_token, demo.access_token_secret
    )
    response = get(sandbox, "/2/users/me", auth=wrong)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    wrong_token_secret = OAuth1(
        sandbox.demo.consumer_key, sandbox.demo.consumer_secret, demo.access_token, "nope"
    )
    assert get(sandbox, "/2/users/me", auth=wrong_token_secret).status_code == 401


def test_tampered_query_breaks_the_signature(sandbox: Sandbox) -> None:
    post = sandbox.world.demo_posts[1]
    request = requests.Request(
        "GET", sandbox.base_url + "/2/tweets", params={"ids": post.id}, auth=oauth1(sandbox)
    ).prepare()
    assert request.url is not None
    request.url = request.url.replace(post.id, sandbox.world.demo_posts[2].id)
    with requests.Session() as session:
        response = session.send(request, timeout=TIMEOUT)
    assert response.status_code == 401


def test_replayed_nonce_is_401(sandbox: Sandbox) -> None:
    demo = sandbox.accounts[0]
    fixed = OAuth1(
        sandbox.demo.consumer_key,
        sandbox.demo.consumer_secret,
        demo.access_token,
        demo.access_token_secret,
        nonce="replayednonce0123456789",
        timestamp=str(int(sandbox.clock.protocol_timestamp())),
    )
    assert get(sandbox, "/2/users/me", auth=fixed).status_code == 200
    replay = get(sandbox, "/2/users/me", auth=fixed)
    assert replay.status_code == 401
    assert replay.json() == UNAUTHORIZED


def test_timestamp_is_checked_against_the_sandbox_clock(fresh_sandbox: Sandbox) -> None:
    assert get(fresh_sandbox, "/2/users/me", auth=oauth1(fresh_sandbox)).status_code == 200
    fresh_sandbox.clock.advance(600)
    assert get(fresh_sandbox, "/2/users/me", auth=oauth1(fresh_sandbox)).status_code == 401
    demo = fresh_sandbox.accounts[0]
    in_sandbox_time = OAuth1(
        fresh_sandbox.demo.consumer_key,
        fresh_sandbox.demo.consumer_secret,
        demo.access_token,
        demo.access_token_secret,
        timestamp=str(int(fresh_sandbox.clock.protocol_timestamp())),
    )
    assert get(fresh_sandbox, "/2/users/me", auth=in_sandbox_time).status_code == 200


def test_host_clock_signatures_work_whatever_the_world_time(
    sandbox_factory: SandboxFactory,
) -> None:
    """``--now`` far from the real time and ``--speed`` move the world, not OAuth 1.0a freshness:
    a client signing with its own clock is accepted."""
    future = sandbox_factory(now=datetime(2027, 6, 1, tzinfo=UTC))
    future.clock.run(speed=86400)
    assert get(future, "/2/users/me", auth=oauth1(future)).status_code == 200
    future.clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert get(future, "/2/users/me", auth=oauth1(future)).status_code == 200


def test_every_account_has_working_access_tokens(sandbox: Sandbox) -> None:
    for account in sandbox.accounts[:-1]:  # all but the suspended one
        me = get(sandbox, "/2/users/me", auth=oauth1(sandbox, account))
        assert me.json()["data"]["id"] == account.user_id


def test_suspended_account_cannot_authorize(sandbox: Sandbox) -> None:
    _, page, _ = start_flow(sandbox, "oob")
    refused = submit(
        sandbox.base_url, page, "Authorize app", user_id=sandbox.world.suspended_user_id
    )
    assert refused.status_code == 400
    assert "oauth_pin" not in refused.text
