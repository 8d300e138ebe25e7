"""The browser's server-side session, driven in AppTest: each AppTest is one page load of a
browser whose id cookie (set by server.py in a real browser) is given by the fixture.

A reload, a new tab or a direct link is a new AppTest with the same browser id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apptest_helpers import (
    connect_oauth1_keys,
    consent_redirect,
    element_texts,
    land_callback,
    link_button_urls,
    new_app,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core.browser_session import BROWSER_COOKIE, new_browser_id
from xmetrics_core.connection import Connection
from xmetrics_ui.session import CONNECTION_KEY, browser_sessions


@pytest.fixture
def as_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """``as_browser(id)``: the next page loads come from the browser with this id cookie."""
    cookies: dict[str, str] = {}
    monkeypatch.setattr("xmetrics_ui.session._cookies", lambda: cookies)

    def switch(browser: str) -> None:
        cookies[BROWSER_COOKIE] = browser

    yield switch
    for browser in list(cookies.values()):
        browser_sessions().end(browser)


def _connection(at: AppTest) -> Connection | None:
    try:
        value = at.session_state[CONNECTION_KEY]
    except KeyError:
        return None
    return value if isinstance(value, Connection) else None


def _statuses(at: AppTest) -> Any:
    return next(t.value for t in at.dataframe if "status_label" in t.value.columns)


def test_a_reload_keeps_the_connection_the_paste_and_the_results(
    sandbox: Any, as_browser: Callable[[str], None]
):
    as_browser(new_browser_id())
    first = connect_oauth1_keys(sandbox)
    connection = _connection(first)
    assert connection is not None
    ids = [p.id for p in sandbox.world.demo_posts[:3]]
    first.switch_page("pages/posts.py").run()
    first.text_area(key="xm_posts_text").set_value(" ".join(ids))
    first.button(key="xm_fetch").click().run()
    assert list(_statuses(first)["id"]) == ids

    reloaded = new_app()
    reloaded.switch_page("pages/posts.py")
    reloaded.run()
    assert not reloaded.exception
    again = _connection(reloaded)
    assert again is not None and again.fingerprint == connection.fingerprint
    assert reloaded.text_area(key="xm_posts_text").value == " ".join(ids)
    assert list(_statuses(reloaded)["id"]) == ids
    assert any("Fetched " in c for c in element_texts(reloaded, "caption"))


def test_another_browser_gets_nothing_of_it(sandbox: Any, as_browser: Callable[[str], None]):
    as_browser(new_browser_id())
    assert _connection(connect_oauth1_keys(sandbox)) is not None
    as_browser(new_browser_id())
    stranger = new_app().run()
    assert _connection(stranger) is None


def test_disconnect_in_one_tab_ends_the_connection_in_every_tab(
    sandbox: Any, as_browser: Callable[[str], None]
):
    as_browser(new_browser_id())
    one = connect_oauth1_keys(sandbox)
    other = new_app().run()
    assert _connection(other) is not None
    one.sidebar.button(key="xm_disconnect").click().run()
    assert _connection(one) is None
    other.run()
    assert _connection(other) is None
    assert _connection(new_app().run()) is None


def test_a_demo_sign_in_finishes_only_in_the_browser_that_started_it(
    sandbox: Any, as_browser: Callable[[str], None]
):
    as_browser(new_browser_id())
    started = new_app().run()
    started.button(key="xm_demo").click().run()
    params = consent_redirect(link_button_urls(started)[0])

    as_browser(new_browser_id())  # the callback URL opened in another browser
    landed = land_callback(params)
    assert not landed.exception
    assert _connection(landed) is None
    assert any("started in another browser" in e for e in element_texts(landed, "error"))


def test_the_time_zone_is_chosen_once_per_browser(sandbox: Any, as_browser: Callable[[str], None]):
    as_browser(new_browser_id())
    at = connect_oauth1_keys(sandbox)
    at.sidebar.selectbox(key="xm_timezone").set_value("Asia/Tokyo").run()
    assert any("Asia/Tokyo" in line for line in element_texts(at.sidebar, "text")), "resets"
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(sandbox.world.demo_posts[0].id)
    at.button(key="xm_fetch").click().run()
    later = new_app()
    later.switch_page("pages/posts.py")
    later.run()
    assert later.sidebar.selectbox(key="xm_timezone").value == "Asia/Tokyo"
    assert any("Fetched " in c and "Asia/Tokyo" in c for c in element_texts(later, "caption"))
