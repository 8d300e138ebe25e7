"""What a browser keeps between page loads, whose sign-in finishes where, and what a callback
URL may do: Chromium against the dashboard's server on loopback.

* a reload, a direct link and a new tab keep the connection and the last results;
* Back after the consent page and Forward again keep the connection (the callback URL is not
  in the history);
* a callback URL captured in one browser connects nothing in another (login CSRF);
* Markdown in a callback's ``error_description`` stays text, and nothing leaves 127.0.0.1;
* a keyboard user's pasted secret is used even when focus went to the eye icon.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from browser_helpers import (
    AppServer,
    RecordedPage,
    click_until_visible,
    start_app_server,
    stop_app_server,
)
from playwright.sync_api import Browser, Page, expect

from tests.sandbox.flows import submit
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world

pytestmark = pytest.mark.browser

CONNECTED = re.compile(r"Account: @\w+")


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> World:
    return build_world(seed=7, now=app_server.demo_now, settings=SandboxSettings())


def _start_demo(page: Page, server: AppServer) -> None:
    page.goto(server.base_url)
    page.get_by_role("button", name="Connect the Demo account").click()
    page.wait_for_url("**/i/oauth2/authorize?**")
    expect(page.get_by_role("button", name="Authorize app")).to_be_visible()


def _connect_demo(page: Page, server: AppServer) -> None:
    _start_demo(page, server)
    page.get_by_role("button", name="Authorize app").click()
    expect(page.get_by_test_id("stSidebar").get_by_text(CONNECTED)).to_be_visible()


def _sidebar(page: Page) -> Any:
    return page.get_by_test_id("stSidebar")


def _fetch(page: Page, ids: list[str]) -> None:
    page.get_by_role("link", name="Posts").click()
    box = page.get_by_role("textbox", name="Post IDs or URLs")
    box.fill("\n".join(ids))
    box.press("Control+Enter")
    click_until_visible(
        page.get_by_role("button", name="Fetch", exact=True),
        page.get_by_text("Status of every ID"),
    )


def test_a_reload_a_direct_link_and_a_new_tab_keep_the_connection_and_results(
    app_server: AppServer, app_page: RecordedPage, world: World, artifacts: Path
):
    page = app_page.page
    _connect_demo(page, app_server)
    ids = [p.id for p in world.demo_posts[:3]]
    _fetch(page, ids)
    first_text = world.post(ids[0]).text.split()[0]

    page.reload()
    expect(_sidebar(page).get_by_text(CONNECTED)).to_be_visible()
    expect(page.get_by_text("Status of every ID")).to_be_visible()
    expect(page.get_by_role("textbox", name="Post IDs or URLs")).to_have_value("\n".join(ids))

    page.goto(f"{app_server.base_url}video")
    expect(_sidebar(page).get_by_text(CONNECTED)).to_be_visible()
    expect(page.get_by_role("heading", name="Video", exact=True)).to_be_visible()

    other_tab = page.context.new_page()
    other_tab.goto(f"{app_server.base_url}posts")
    expect(_sidebar(other_tab).get_by_text(CONNECTED)).to_be_visible()
    expect(other_tab.get_by_text("Status of every ID")).to_be_visible()
    assert first_text
    other_tab.screenshot(path=str(artifacts / "new_tab_keeps_results.png"), full_page=True)

    # Disconnect in one tab ends the browser's session: the other tab's next page load is out
    _sidebar(other_tab).get_by_role("button", name="Disconnect").click()
    expect(_sidebar(other_tab).get_by_text("Not connected.")).to_be_visible()
    page.reload()
    expect(_sidebar(page).get_by_text("Not connected.")).to_be_visible()
    assert app_page.foreign_requests() == []


def test_back_to_the_consent_page_and_forward_again_stay_connected(
    app_server: AppServer, app_page: RecordedPage
):
    page = app_page.page
    _connect_demo(page, app_server)
    assert "code=" not in page.url and "state=" not in page.url, page.url

    for _ in range(3):  # back through whatever entries the sign-in left, to X's consent page
        page.go_back()
        page.wait_for_load_state()
        if "/i/oauth2/authorize" in page.url:
            break
    assert "/i/oauth2/authorize" in page.url, page.url
    page.go_forward()
    page.wait_for_load_state()
    expect(_sidebar(page).get_by_text(CONNECTED)).to_be_visible()
    page.wait_for_timeout(1500)  # give a wrongly replayed callback time to say so
    expect(page.get_by_text("Sign-in failed")).to_have_count(0)
    expect(page.get_by_text("already used")).to_have_count(0)
    assert "code=" not in page.url, page.url
    assert app_page.foreign_requests() == []


def _callback_url_of(consent_url: str) -> str:
    """Press "Authorize app" on the consent page over plain HTTP (as an attacker's tool
    would) and return where it sends the browser, without going there."""
    sandbox_base = f"{urlsplit(consent_url).scheme}://{urlsplit(consent_url).netloc}"
    consent = requests.get(consent_url, timeout=(3.05, 10))
    answer = submit(sandbox_base, consent.text, "Authorize app")
    assert answer.status_code in (302, 303), answer.text[:300]
    return str(answer.headers["Location"])


def test_a_callback_url_from_another_browser_connects_nothing(
    app_server: AppServer, chromium_browser: Browser, app_page: RecordedPage
):
    attacker = chromium_browser.new_context()
    try:
        page = attacker.new_page()
        page.set_default_timeout(30_000)
        _start_demo(page, app_server)  # the sign-in is the attacker browser's
        callback = _callback_url_of(page.url)
    finally:
        attacker.close()

    victim = app_page.page  # another browser: its own cookies
    victim.goto(callback)
    expect(victim.get_by_text("started in another browser", exact=False)).to_be_visible()
    expect(_sidebar(victim).get_by_text("Not connected.")).to_be_visible()
    assert "code=" not in victim.url
    assert app_page.foreign_requests() == []


MARKDOWN_DESCRIPTION = "[Click here](https://evil.example/login) ![t](http://192.0.2.1/t.png)"


def test_markdown_in_a_callback_stays_text_and_nothing_leaves_loopback(
    app_server: AppServer, app_page: RecordedPage, artifacts: Path
):
    page = app_page.page
    _start_demo(page, app_server)
    state = parse_qs(urlsplit(page.url).query)["state"][0]
    page.goto(
        f"{app_server.base_url}?error=access_denied&state={quote(state)}"
        f"&error_description={quote(MARKDOWN_DESCRIPTION)}"
    )
    notice = page.get_by_test_id("stAlert").filter(has_text="Sign-in was not completed")
    expect(notice).to_be_visible()
    shown = notice.inner_text().replace("\u2060", "")  # invisible joiners stop autolinks
    assert MARKDOWN_DESCRIPTION in shown, shown
    page.wait_for_timeout(1000)  # an injected image would have been requested by now
    assert page.locator("a[href*='evil.example']").count() == 0
    assert page.locator("img[src*='192.0.2.1']").count() == 0
    page.screenshot(path=str(artifacts / "hostile_callback.png"), full_page=True)
    assert app_page.foreign_requests() == [], app_page.foreign_requests()


def test_a_keyboard_user_connects_with_a_pasted_bearer_token(
    app_server: AppServer, app_page: RecordedPage, sandbox: Any
):
    page = app_page.page
    page.goto(app_server.base_url)
    panel = page.get_by_role("tabpanel", name="Bearer token")
    panel.get_by_text("Advanced: API base URL").click()
    base = panel.get_by_role("textbox", name="API base URL", exact=True)
    base.fill(sandbox.base_url)
    base.press("Tab")
    token = panel.get_by_role("textbox", name="Bearer token", exact=True)
    token.fill(sandbox.demo.bearer_token)
    token.press("Tab")  # focus moves to the eye icon inside the field
    panel.get_by_role("button", name="Connect with Bearer token").click()
    expect(_sidebar(page).get_by_text("Account: App-only", exact=False)).to_be_visible()
    expect(page.get_by_text("Paste a Bearer token first")).to_have_count(0)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``streamlit run app.py``: the dashboard without server.py's middleware."""
    server = start_app_server(tmp_path_factory.mktemp("plain-streamlit"), entry="app.py")
    try:
        yield server
    finally:
        stop_app_server(server)


def test_plain_streamlit_run_app_py_works_and_says_what_it_lacks(
    plain_server: AppServer, app_page: RecordedPage
):
    page = app_page.page
    page.goto(plain_server.base_url)
    expect(page.get_by_text("Started without server.py", exact=False)).to_be_visible()
    _connect_demo(page, plain_server)  # the callback is finished by the page itself
    assert "code=" not in page.url
    page.reload()  # the documented loss: no browser session without server.py
    expect(_sidebar(page).get_by_text("Not connected.")).to_be_visible()
    assert app_page.foreign_requests() == []
