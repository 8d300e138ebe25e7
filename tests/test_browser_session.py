"""Browser sessions: the store, what a browser keeps, the id cookie and the ASGI middleware."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from xmetrics_core.browser_session import (
    BROWSER_COOKIE,
    BrowserCookieMiddleware,
    BrowserSessions,
    Message,
    Preferences,
    StoredForm,
    StoredQuery,
    browser_fingerprint,
    browser_id_from_cookie_header,
    callback_params,
    connection_from_json,
    connection_to_json,
    is_app_page,
    new_browser_id,
    set_cookie_header,
    valid_browser_id,
)
from xmetrics_core.connection import Account, AuthMethod, Connection, endpoints_for
from xmetrics_core.credentials import OAuth1Credential, OAuth2Credential
from xmetrics_core.state import MemoryStateStore


class RecordingStore(MemoryStateStore[bytes]):
    """The in-process store, noting every key written."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self.keys.append(key)
        super().put(key, value, ttl_seconds)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _connection(token: str = "access-token-1") -> Connection:
    return Connection(
        credential=OAuth2Credential(
            access_token=token,
            refresh_token="refresh-token-1",
            expires_at=datetime(2030, 1, 1, tzinfo=UTC),
            client_id="client",
            scope=("tweet.read",),
        ),
        method=AuthMethod.DEMO,
        endpoints=endpoints_for("http://127.0.0.1:8787"),
        account=Account(id="42", username="demo", name="Demo"),
        connected_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    )


# -- the id and the cookie --------------------------------------------------------------------


def test_browser_ids_are_random_and_only_our_shape_is_accepted():
    first, second = new_browser_id(), new_browser_id()
    assert first != second and valid_browser_id(first) == first
    for bad in ("", "short", first + "x", first[:-1] + "!", None, 42):
        assert valid_browser_id(bad) is None


def test_the_cookie_is_httponly_lax_and_secure_over_https():
    browser = new_browser_id()
    header = set_cookie_header(browser, secure=False)
    assert header == f"{BROWSER_COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax"
    assert set_cookie_header(browser, secure=True).endswith("; Secure")


def test_the_id_is_read_from_a_cookie_header_among_others():
    browser = new_browser_id()
    assert browser_id_from_cookie_header(f"a=1; {BROWSER_COOKIE}={browser}; b=2") == browser
    assert browser_id_from_cookie_header(f"{BROWSER_COOKIE}=forged") is None
    assert browser_id_from_cookie_header('bad"cookie') is None
    assert browser_id_from_cookie_header(None) is None


def test_callback_params_are_recognised_only_as_whole_callbacks():
    assert callback_params(b"code=c&state=s") == {"code": "c", "state": "s"}
    assert callback_params("state=s&error=access_denied&error_description=x") is not None
    assert callback_params("oauth_token=t&oauth_verifier=v") is not None
    assert callback_params("denied=t") == {"denied": "t"}
    assert callback_params("code=c") is None
    assert callback_params("embed=true") is None
    assert callback_params("code=first&code=second&state=s") == {"code": "first", "state": "s"}


def test_only_page_paths_carry_callbacks():
    assert is_app_page("/") and is_app_page("/posts")
    assert not is_app_page("/_stcore/stream") and not is_app_page("/media/x.png")
    assert not is_app_page("/static/js/x.js")


# -- what a browser keeps ---------------------------------------------------------------------


def test_a_connection_round_trips_through_json_with_its_fingerprint():
    connection = _connection()
    again = connection_from_json(json.loads(json.dumps(connection_to_json(connection))))
    assert again == connection
    assert again.fingerprint == connection.fingerprint
    oauth1 = replace(
        connection,
        credential=OAuth1Credential(
            consumer_key="ck", consumer_secret="cs", access_token="at", access_token_secret="as"
        ),
        fingerprint="",
    )
    assert connection_from_json(connection_to_json(oauth1)).credential == oauth1.credential
    with pytest.raises(ValueError):
        connection_from_json({"method": "demo"})


def test_the_store_never_holds_the_browser_id_itself():
    store = RecordingStore()
    sessions = BrowserSessions(store=store)
    browser = new_browser_id()
    sessions.save_connection(browser, _connection())
    keys = store.keys
    assert keys and all(browser not in key for key in keys)
    assert all(browser_fingerprint(browser) in key for key in keys)


def test_each_save_is_a_new_revision_and_a_refresh_keeps_the_account():
    sessions = BrowserSessions(store=MemoryStateStore())
    browser = new_browser_id()
    assert sessions.connection(browser) is None
    first = sessions.save_connection(browser, _connection(), remember=True)
    assert first.revision == 1
    rotated = _connection().with_credential(
        replace(_connection().credential, access_token="access-token-2")  # type: ignore[type-var]
    )
    updated = sessions.update_connection(browser, rotated)
    assert updated is not None and updated.revision == 2 and updated.remember
    stored = sessions.connection(browser)
    assert stored is not None
    assert stored.connection.credential.access_token == "access-token-2"  # type: ignore[union-attr]
    assert sessions.update_connection(new_browser_id(), rotated) is None


def test_disconnect_forgets_the_connection_and_query_but_keeps_the_form():
    sessions = BrowserSessions(store=MemoryStateStore())
    browser = new_browser_id()
    sessions.save_connection(browser, _connection())
    sessions.save_query(browser, StoredQuery(paste="1 2", groups=("public_metrics",)))
    sessions.save_form(browser, StoredForm(text="1 2", picked=("3",), per_post=True))
    sessions.save_preferences(browser, Preferences(timezone="Europe/Berlin"))
    sessions.forget_connection(browser)
    assert sessions.connection(browser) is None
    assert sessions.query(browser) is None
    assert sessions.form(browser) == StoredForm(text="1 2", picked=("3",), per_post=True)
    assert sessions.preferences(browser).timezone == "Europe/Berlin"
    sessions.end(browser)
    assert sessions.form(browser) is None
    assert sessions.preferences(browser).timezone == "UTC"


def test_a_used_session_stays_alive_and_an_idle_one_expires():
    clock = Clock()
    store = MemoryStateStore(clock=clock)
    sessions = BrowserSessions(store=store, ttl_seconds=100, clock=clock)
    browser = new_browser_id()
    sessions.save_connection(browser, _connection())
    sessions.save_query(browser, StoredQuery(paste="1", groups=()))
    for _ in range(5):  # used every 60 s for 5 minutes: kept alive
        clock.now += 60
        assert sessions.connection(browser) is not None
    assert sessions.query(browser) is not None
    clock.now += 101
    assert sessions.connection(browser) is None


def test_messages_are_shown_once_in_order():
    sessions = BrowserSessions(store=MemoryStateStore())
    browser = new_browser_id()
    sessions.push_message(browser, Message(kind="warning", text="first"))
    sessions.push_message(browser, Message(kind="success", text="second"))
    assert [m.text for m in sessions.take_messages(browser)] == ["first", "second"]
    assert sessions.take_messages(browser) == ()


def test_unreadable_stored_values_count_as_absent():
    store = MemoryStateStore()
    sessions = BrowserSessions(store=store)
    browser = new_browser_id()
    key = f"xmetrics:browser:{browser_fingerprint(browser)}:connection"
    store.put(key, b"not json", ttl_seconds=60)
    assert sessions.connection(browser) is None
    store.put(key, b'{"connection": {"method": "nope"}}', ttl_seconds=60)
    assert sessions.connection(browser) is None


# -- the middleware ---------------------------------------------------------------------------


class Recorder:
    """The app behind the middleware, and what the middleware sent."""

    def __init__(self) -> None:
        self.called_with: list[MutableMapping[str, Any]] = []
        self.sent: list[MutableMapping[str, Any]] = []

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        self.called_with.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.sent[0].get("headers", []))


async def _receive() -> MutableMapping[str, Any]:
    return {"type": "http.request"}


def _scope(path: str = "/", query: bytes = b"", cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": headers,
        "scheme": "http",
        "root_path": "",
    }


def _serve(app: Any, scope: MutableMapping[str, Any], recorder: Recorder) -> None:
    """Run one ASGI call to the end on its own thread's event loop (the browser tests keep
    Playwright's loop running on this thread)."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(asyncio.run, app(scope, _receive, recorder.send)).result(timeout=30)


def _run(middleware: BrowserCookieMiddleware, scope: dict[str, Any], recorder: Recorder) -> None:
    _serve(middleware, scope, recorder)


def test_a_first_visit_gets_a_cookie_and_a_known_browser_does_not():
    recorder = Recorder()
    middleware = BrowserCookieMiddleware(recorder.app, on_callback=lambda p, b: None)
    _run(middleware, _scope(), recorder)
    cookies = [v.decode() for k, v in recorder.headers() if k == b"set-cookie"]
    assert len(cookies) == 1 and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    issued = browser_id_from_cookie_header(cookies[0].split(";")[0])
    assert issued is not None

    again = Recorder()
    middleware = BrowserCookieMiddleware(again.app, on_callback=lambda p, b: None)
    _run(middleware, _scope(cookie=f"{BROWSER_COOKIE}={issued}"), again)
    assert not [v for k, v in again.headers() if k == b"set-cookie"]


def test_a_callback_is_finished_for_that_browser_and_redirected_without_its_query():
    recorder = Recorder()
    seen: list[tuple[dict[str, str], str]] = []
    browser = new_browser_id()
    middleware = BrowserCookieMiddleware(recorder.app, on_callback=lambda p, b: seen.append((p, b)))
    _run(
        middleware,
        _scope("/posts", b"code=the-code&state=the-state", cookie=f"{BROWSER_COOKIE}={browser}"),
        recorder,
    )
    assert seen == [({"code": "the-code", "state": "the-state"}, browser)]
    assert recorder.called_with == [], "Streamlit never sees the callback"
    start = recorder.sent[0]
    assert start["status"] == 303
    headers = dict(start["headers"])
    assert headers[b"location"] == b"/posts"
    assert headers[b"cache-control"] == b"no-store"
    assert headers[b"referrer-policy"] == b"no-referrer"


def test_a_callback_from_a_browser_without_a_cookie_gets_a_fresh_id():
    recorder = Recorder()
    seen: list[str] = []
    middleware = BrowserCookieMiddleware(recorder.app, on_callback=lambda p, b: seen.append(b))
    _run(middleware, _scope("/", b"state=s&error=access_denied"), recorder)
    (browser,) = seen
    cookie = dict(recorder.sent[0]["headers"])[b"set-cookie"].decode()
    assert cookie.startswith(f"{BROWSER_COOKIE}={browser};")


def test_assets_and_websockets_pass_through_untouched():
    recorder = Recorder()
    middleware = BrowserCookieMiddleware(recorder.app, on_callback=lambda p, b: None)
    _run(middleware, _scope("/_stcore/health", b"code=c&state=s"), recorder)
    assert recorder.sent[0]["status"] == 200, "not a page: no callback handling"
    socket = {"type": "websocket", "path": "/_stcore/stream", "headers": []}
    _serve(middleware, socket, recorder)
    assert recorder.called_with[-1] is socket
