"""Sign-ins bound to the browser that started them, against the sandbox over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.sandbox.flows import submit
from tests.sandbox.helpers import TIMEOUT
from xmetrics_core.browser_session import browser_fingerprint, new_browser_id
from xmetrics_core.connection import AuthMethod, PendingSignIn, endpoints_for
from xmetrics_core.errors import AuthFlowError
from xmetrics_core.sandbox import Sandbox
from xmetrics_core.signin import (
    PendingSignIns,
    finish_callback,
    pending_from_json,
    pending_to_json,
    start_oauth1_sign_in,
    start_oauth2_sign_in,
)
from xmetrics_core.state import MemoryStateStore


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def _pending(browser: str = "") -> PendingSignIn:
    return PendingSignIn(
        method=AuthMethod.DEMO,
        endpoints=endpoints_for("http://127.0.0.1:8787"),
        client_id="client",
        client_secret="secret",
        redirect_uri="http://127.0.0.1:8501/",
        code_verifier="verifier",
        remember=True,
        browser=browser,
    )


def test_a_pending_sign_in_round_trips_through_json():
    pending = _pending(browser="f" * 64)
    assert pending_from_json(pending_to_json(pending)) == pending
    assert "verifier" not in repr(pending) and "secret" not in repr(pending)


def test_a_pending_sign_in_is_single_use():
    store = PendingSignIns(store=MemoryStateStore())
    store.put("state-1", _pending())
    assert store.take("state-1", browser_id=None) == _pending()
    with pytest.raises(AuthFlowError, match="unknown or was already used"):
        store.take("state-1", browser_id=None)
    with pytest.raises(ValueError):
        store.put("", _pending())


def test_a_late_sign_in_is_called_expired_not_unknown():
    clock = Clock()
    store = PendingSignIns(store=MemoryStateStore(clock=clock), ttl_seconds=60, clock=clock)
    store.put("state-1", _pending())
    clock.now += 61
    with pytest.raises(AuthFlowError, match="expired"):
        store.take("state-1", browser_id=None)


def test_a_bound_sign_in_finishes_only_in_its_own_browser():
    mine, theirs = new_browser_id(), new_browser_id()
    store = PendingSignIns(store=MemoryStateStore())
    store.put("state-1", _pending(browser=browser_fingerprint(mine)))
    store.put("state-2", _pending(browser=browser_fingerprint(mine)))
    with pytest.raises(AuthFlowError, match="started in another browser"):
        store.take("state-1", browser_id=theirs)
    with pytest.raises(AuthFlowError, match="unknown"):  # refused once, gone for everyone
        store.take("state-1", browser_id=mine)
    with pytest.raises(AuthFlowError, match="started in another browser"):
        store.take("state-2", browser_id=None)
    store.put("state-3", _pending(browser=browser_fingerprint(mine)))
    assert store.take("state-3", browser_id=mine).client_id == "client"


def _consent(sandbox: Sandbox, url: str) -> dict[str, str]:
    page = requests.get(url, timeout=TIMEOUT)
    redirect = submit(sandbox.base_url, page.text, "Authorize app")
    assert redirect.status_code in (302, 303), redirect.text[:200]
    return dict(parse_qsl(urlsplit(redirect.headers["Location"]).query))


def _start_demo(sandbox: Sandbox, pending: PendingSignIns, browser: str | None) -> str:
    return start_oauth2_sign_in(
        pending=pending,
        browser_id=browser,
        method=AuthMethod.DEMO,
        endpoints=endpoints_for(sandbox.base_url),
        client_id=sandbox.demo.client_id,
        client_secret=sandbox.demo.client_secret,
        redirect_uri=sandbox.demo.redirect_uris[0],
    )


def test_a_callback_captured_in_another_browser_connects_nothing(sandbox: Sandbox):
    pending = PendingSignIns(store=MemoryStateStore())
    started_in, replayed_in = new_browser_id(), new_browser_id()
    params = _consent(sandbox, _start_demo(sandbox, pending, started_in))

    outcome = finish_callback(params, pending=pending, browser_id=replayed_in)
    assert outcome is not None and outcome.connection is None
    assert isinstance(outcome.error, AuthFlowError)
    assert "another browser" in outcome.error.message


def test_a_callback_in_its_own_browser_connects_the_account(sandbox: Sandbox):
    pending = PendingSignIns(store=MemoryStateStore())
    browser = new_browser_id()
    params = _consent(sandbox, _start_demo(sandbox, pending, browser))
    outcome = finish_callback(params, pending=pending, browser_id=browser)
    assert outcome is not None and outcome.connection is not None and outcome.client is not None
    try:
        assert outcome.connection.account is not None
        assert outcome.connection.account.id == sandbox.world.demo_user_id
        assert outcome.kind == "success" and "Connected as @" in outcome.message
    finally:
        outcome.client.close()
    replay = finish_callback(params, pending=pending, browser_id=browser)
    assert replay is not None and isinstance(replay.error, AuthFlowError)


def test_a_sign_in_started_without_a_browser_id_is_not_bound(sandbox: Sandbox):
    pending = PendingSignIns(store=MemoryStateStore())
    params = _consent(sandbox, _start_demo(sandbox, pending, None))
    outcome = finish_callback(params, pending=pending, browser_id=new_browser_id())
    assert outcome is not None and outcome.connection is not None and outcome.client is not None
    outcome.client.close()


def test_an_oauth1_callback_is_bound_too(sandbox: Sandbox):
    pending = PendingSignIns(store=MemoryStateStore())
    browser = new_browser_id()
    sandbox.register_redirect_uri("http://127.0.0.1:8501/")
    started = start_oauth1_sign_in(
        pending=pending,
        browser_id=browser,
        consumer_key=sandbox.demo.consumer_key,
        consumer_secret=sandbox.demo.consumer_secret,
        endpoints=endpoints_for(sandbox.base_url),
        callback="http://127.0.0.1:8501/",
    )
    params = _consent(sandbox, started.url)
    assert set(params) >= {"oauth_token", "oauth_verifier"}
    refused = finish_callback(params, pending=pending, browser_id=new_browser_id())
    assert refused is not None and isinstance(refused.error, AuthFlowError)


def test_a_cancelled_sign_in_says_so_and_passes_the_reason_on_verbatim(sandbox: Sandbox):
    pending = PendingSignIns(store=MemoryStateStore())
    browser = new_browser_id()
    url = _start_demo(sandbox, pending, browser)
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    outcome = finish_callback(
        {"state": state, "error": "access_denied", "error_description": "[x](https://e)"},
        pending=pending,
        browser_id=browser,
    )
    assert outcome is not None and outcome.kind == "warning"
    assert "[x](https://e)" in outcome.message, "the page escapes it, not the core"
    assert finish_callback({"embed": "true"}, pending=pending, browser_id=browser) is None
