"""Smoke test: every page of the navigation runs, connected or not, without an exception."""

from __future__ import annotations

from typing import Any

import pytest
from apptest_helpers import APP, connect_oauth1_keys, new_app

PAGES = ("pages/connect.py", "pages/posts.py", "pages/video.py")


def test_the_navigation_lists_exactly_these_pages():
    text = APP.read_text(encoding="utf-8")
    assert text.count("st.Page(") == len(PAGES)
    for page in PAGES:
        assert f'st.Page("{page}"' in text


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_a_connection(page: str):
    at = new_app().run()
    at.switch_page(page).run()
    assert not at.exception
    if page != "pages/connect.py":
        assert any("Connect an account first" in str(i.value) for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_when_connected(sandbox: Any, page: str):
    at = connect_oauth1_keys(sandbox)
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception
    sidebar = [str(t.value) for t in at.sidebar.text]
    assert any(line.startswith("Account: @") for line in sidebar)


def test_the_connect_page_is_the_default_and_leads_with_the_demo_account():
    at = new_app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Connect"]
    subheaders = [s.value for s in at.subheader]
    assert subheaders.index("Demo account") < subheaders.index("Your X account")
    assert at.button(key="xm_demo").label == "Connect the Demo account"
    assert at.sidebar.caption[0].value == "Not connected."


def test_an_unexpected_error_becomes_a_message_not_a_traceback(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, real_error_handling: None
):
    import xmetrics_ui.ui
    from xmetrics_ui import views

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    at = connect_oauth1_keys(sandbox)
    monkeypatch.setattr(views, "group_checkboxes", broken)
    at.switch_page("pages/posts.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == [xmetrics_ui.ui.UNEXPECTED_PROBLEM]
    assert any(t.value.startswith("Account: @") for t in at.sidebar.text)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_run_on_its_own_hands_over_to_app_py(pages_directory_mode: None, page: str):
    at = new_app().run()
    at.switch_page(page).run()  # AppTest now runs the page file alone, as a fresh server might
    assert not at.exception
    assert [s.value for s in at.sidebar.subheader] == ["Connection"], "app.py ran as the frame"
    assert at.title[0].value == page.removeprefix("pages/").removesuffix(".py").capitalize()
