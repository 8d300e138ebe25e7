"""Helpers for the AppTests: sessions, consent pages answered over HTTP, downloads."""

from __future__ import annotations

import base64
import json
import os
import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import numpy as np
import pytest
import requests
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
APPTEST_TIMEOUT = 30
HTTP_TIMEOUT = (3.05, 10.0)
LOCAL_APP_URL = "http://localhost:8501/"


def isolate_dashboard(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No configured credentials, a private remember-me dir, empty result cache, faults,
    request log and rate-limit windows. Returns the remember-me config dir."""
    from xmetrics_ui.session import result_cache

    for name in list(os.environ):
        if name.startswith("X_"):
            monkeypatch.delenv(name)
    config_dir = tmp_path / "config"
    monkeypatch.setenv("XMETRICS_CONFIG_DIR", str(config_dir))
    result_cache().clear()
    sandbox.faults.clear()
    sandbox.request_log.clear()
    # Every test signs in anew, and X allows /2/users/me 75 times in 15 minutes per user: a
    # whole run's sign-ins would otherwise meet the sandbox's 429 (tests of rate limits use
    # their own sandbox).
    sandbox.reset_rate_limits()
    return config_dir


def new_app() -> AppTest:
    """A fresh browser session on the dashboard (not yet run)."""
    return AppTest.from_file(str(APP), default_timeout=APPTEST_TIMEOUT)


MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown_text(markdown: str) -> str:
    """What a reader sees of Markdown that escapes punctuation (``\\(`` shows as ``(``)."""
    unescaped = MARKDOWN_ESCAPE.sub(r"\1", markdown).replace("  \n", "\n")
    return unescaped.replace("\u2060", "")  # the word joiners that stop autolinks


def element_texts(at: AppTest, kind: str) -> list[str]:
    """What every element of one kind (success, error, text, caption …) shows, as read
    on screen (alerts escape their Markdown: see ``xmetrics_ui.ui.alert``)."""
    return [shown_text(str(e.value)) for e in getattr(at, kind)]


def raw_texts(at: AppTest, kind: str) -> list[str]:
    """The Markdown source of every element of one kind, before Streamlit renders it."""
    return [str(e.value) for e in getattr(at, kind)]


def link_button_urls(at: AppTest) -> list[str]:
    """The URLs of every ``st.link_button`` on the page."""
    return [str(e.proto.url) for e in at.get("link_button")]


class _Form:
    def __init__(self, action: str, fields: dict[str, str]) -> None:
        self.action = action
        self.fields = fields


def _form_of(page_url: str, html: str) -> _Form:
    match = re.search(r'<form method="post" action="([^"]*)">(.*?)</form>', html, re.S)
    assert match, f"no form on {page_url}: {html[:300]}"
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', match.group(2)
        )
    }
    return _Form(urljoin(page_url, unescape(match.group(1))), fields)


def submit_consent(
    url: str, *, decision: str = "allow", user_id: str | None = None
) -> requests.Response:
    """Open a sandbox consent page and press one of its buttons, as a browser would."""
    page = requests.get(url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text[:300]
    form = _form_of(url, page.text)
    data = {**form.fields, "decision": decision}
    if user_id is not None:
        data["user_id"] = user_id
    return requests.post(form.action, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)


def consent_redirect(url: str, *, decision: str = "allow") -> dict[str, str]:
    """The query parameters the consent page's 302 sends back to the app."""
    answer = submit_consent(url, decision=decision)
    assert answer.status_code in (302, 303), answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(LOCAL_APP_URL), location
    return dict(parse_qsl(urlsplit(location).query))


def oauth1_pin(url: str) -> str:
    """Authorize on the sandbox's OAuth 1.0a page and read the PIN it shows."""
    answer = submit_consent(url)
    assert answer.status_code == 200, answer.text[:300]
    match = re.search(r'id="oauth_pin"[^>]*>([^<]+)<', answer.text)
    assert match, answer.text[:300]
    return match.group(1).strip()


def land_callback(params: dict[str, str]) -> AppTest:
    """A NEW session whose first run carries the OAuth callback's query parameters."""
    at = new_app()
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def connect_demo(sandbox: Any) -> AppTest:
    """Connect the Demo account through the real PKCE round trip; returns the landed session."""
    at = new_app().run()
    at.button(key="xm_demo").click().run()
    (url,) = link_button_urls(at)
    return land_callback(consent_redirect(url))


def connect_oauth1_keys(sandbox: Any, at: AppTest | None = None) -> AppTest:
    """Connect the demo user by pasting the four OAuth 1.0a keys (base URL: the sandbox)."""
    demo = sandbox.demo
    at = at or new_app().run()
    at.text_input(key="xm_oauth1_base").set_value(sandbox.base_url)
    at.text_input(key="xm_o1_ck").set_value(demo.consumer_key)
    at.text_input(key="xm_o1_cs").set_value(demo.consumer_secret)
    at.text_input(key="xm_o1_at").set_value(demo.access_token)
    at.text_input(key="xm_o1_as").set_value(demo.access_token_secret)
    return at.button(key="xm_o1_connect").click().run()


def connect_bearer(sandbox: Any) -> AppTest:
    """Connect with the sandbox app's Bearer token (app-only)."""
    at = new_app().run()
    at.text_input(key="xm_bearer_base").set_value(sandbox.base_url)
    at.text_input(key="xm_bearer_token").set_value(sandbox.demo.bearer_token)
    return at.button(key="xm_bearer_connect").click().run()


def api_calls(sandbox: Any) -> list[Any]:
    """Every API request the sandbox logged (OAuth endpoints and pages excluded)."""
    return [
        e
        for e in sandbox.request_log.entries()
        if e.path.startswith("/2/") and "oauth2" not in e.path
    ]


def download_bytes(at: AppTest, key: str) -> bytes:
    """What the download button ``key`` offers (read from the session's public state)."""
    from xmetrics_ui.ui import OFFERED_DOWNLOADS_KEY

    at.download_button(key=key)  # the button is on the page
    data = at.session_state[OFFERED_DOWNLOADS_KEY][key]
    assert isinstance(data, bytes)
    return data


def offered_downloads(at: AppTest) -> list[bytes]:
    """Every download the session's pages have offered so far (latest per button)."""
    from xmetrics_ui.ui import OFFERED_DOWNLOADS_KEY

    if OFFERED_DOWNLOADS_KEY not in at.session_state:
        return []
    return list(at.session_state[OFFERED_DOWNLOADS_KEY].values())


def plotly_specs(at: AppTest) -> dict[str, dict[str, Any]]:
    """Every plotly chart on the page as its figure JSON, by the chart's key."""
    specs: dict[str, dict[str, Any]] = {}
    for element in at.get("plotly_chart"):
        key = str(element.proto.id).rsplit("-", 1)[-1]
        specs[key] = json.loads(element.proto.spec)
    return specs


def trace_values(values: Any) -> list[Any]:
    """A trace's x/y as a list: plotly 7 sends numeric arrays as base64 ``bdata``."""
    if isinstance(values, dict) and "bdata" in values:
        raw = base64.b64decode(values["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(values["dtype"])).tolist()
    return list(values) if values is not None else []
