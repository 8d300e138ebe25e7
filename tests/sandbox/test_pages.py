"""The sign-in pages: real submit buttons, an account picker, everything escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.sandbox.flows import pin_of, read_form
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.sandbox.pages import error_page, oauth1_authorize, oauth1_pin, oauth2_consent
from xmetrics_core.sandbox.world import build_world

WORLD = build_world(seed=7, now=datetime(2026, 11, 26, tzinfo=UTC), settings=SandboxSettings())
HOSTILE = '"><script>alert(1)</script>'


def test_consent_page_escapes_every_value_it_echoes() -> None:
    html = oauth2_consent(
        action="/i/oauth2/authorize",
        fields={"state": HOSTILE, "redirect_uri": "http://127.0.0.1:8501/"},
        scopes=["tweet.read", HOSTILE],
        users=WORLD.users,
        default_user_id=WORLD.demo_user_id,
    )
    assert "<script>" not in html
    form = read_form(html)
    assert form.fields["state"] == HOSTILE
    assert set(form.buttons) == {"Authorize app", "Cancel"}
    assert form.fields["user_id"] == WORLD.demo_user_id
    assert "<b>" not in html  # user descriptions carry markup; only usernames and names are shown


def test_oauth1_pages_have_the_button_and_the_pin() -> None:
    html = oauth1_authorize(
        action="/oauth/authorize",
        fields={"oauth_token": "tok"},
        users=WORLD.users[:3],
        default_user_id=WORLD.users[1].id,
    )
    form = read_form(html)
    assert set(form.buttons) == {"Authorize app"}
    assert form.fields["user_id"] == WORLD.users[1].id
    assert pin_of(oauth1_pin("0123456")) == "0123456"


def test_error_page_escapes_its_message() -> None:
    assert "<script>" not in error_page("Oops", HOSTILE)
