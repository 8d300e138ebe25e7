"""Drive the sandbox's HTML sign-in pages like a browser would: read the form, submit it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import requests

from tests.sandbox.helpers import TIMEOUT


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self.options: list[str] = []
        self._button: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values["name"]] = values.get("value", "")
        elif tag == "button" and values.get("type") == "submit":
            self._button = (values.get("name", ""), values.get("value", ""))
        elif tag == "option":
            self.options.append(values.get("value", ""))
            if "selected" in values:
                self.fields["user_id"] = values.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = self._button

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None


def read_form(html: str) -> _FormParser:
    """The consent/authorize form: action, hidden fields, buttons by visible name, accounts."""
    parser = _FormParser()
    parser.feed(html)
    return parser


def submit(
    base_url: str, html: str, button: str, *, user_id: str | None = None
) -> requests.Response:
    """Press ``button`` (by its visible text) on the page, without following the redirect."""
    form = read_form(html)
    data = dict(form.fields)
    name, value = form.buttons[button]
    data[name] = value
    if user_id is not None:
        data["user_id"] = user_id
    return requests.post(base_url + form.action, data=data, allow_redirects=False, timeout=TIMEOUT)


def pin_of(html: str) -> str:
    """The PIN shown on the ``oob`` page."""
    match = re.search(r'id="oauth_pin"[^>]*>(\d{7})<', html)
    assert match, "the PIN page should show a 7-digit PIN in #oauth_pin"
    return match.group(1)
