"""The HTML pages of the sign-in flows: plain forms with real submit buttons.

Every value shown is HTML-escaped. The OAuth 2.0 consent page has an account picker (default:
the demo account) and two ``<button type="submit">`` elements named "Authorize app" and
"Cancel"; the OAuth 1.0a page has "Authorize app" and, for ``oob`` callbacks, a result page
showing the 7-digit PIN in the element with id ``oauth_pin``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from xmetrics_core.sandbox.world import User

_STYLE = (
    ":root{color-scheme:light dark}"
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
    "button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}"
    "select{font-size:1rem;padding:.3rem}"
    "button:focus-visible,select:focus-visible{outline:3px solid currentColor;outline-offset:2px}"
)


def _page(title: str, body: str) -> str:
    """A whole page: one ``main`` landmark holding everything (screen readers jump to it),
    the system's light or dark colours, a visible keyboard focus."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )


def _account_picker(users: Sequence[User], default_user_id: str) -> str:
    options = "".join(
        f'<option value="{escape(u.id)}"{" selected" if u.id == default_user_id else ""}>'
        f"@{escape(u.username)} ({escape(u.name)})</option>"
        for u in users
    )
    return (
        '<p><label for="user_id">Sign in as</label> '
        f'<select id="user_id" name="user_id">{options}</select></p>'
    )


def oauth2_consent(
    *,
    action: str,
    fields: Mapping[str, str],
    scopes: Sequence[str],
    users: Sequence[User],
    default_user_id: str,
) -> str:
    """The OAuth 2.0 consent page."""
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    body = (
        "<p>The xmetrics sandbox app wants to access your account.</p>"
        f'<ul id="scopes">{scope_items}</ul>'
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        f"{_account_picker(users, default_user_id)}"
        '<button type="submit" name="decision" value="allow">Authorize app</button>'
        '<button type="submit" name="decision" value="deny">Cancel</button>'
        "</form>"
    )
    return _page("Authorize access to your account", body)


def oauth1_authorize(
    *, action: str, fields: Mapping[str, str], users: Sequence[User], default_user_id: str
) -> str:
    """The OAuth 1.0a authorize page."""
    body = (
        "<p>The xmetrics sandbox app wants to use your account.</p>"
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        f"{_account_picker(users, default_user_id)}"
        '<button type="submit" name="decision" value="allow">Authorize app</button>'
        "</form>"
    )
    return _page("Authorize the app", body)


def oauth1_pin(pin: str) -> str:
    """The page shown for ``oob`` callbacks: the PIN to type into the app."""
    body = (
        "<p>Enter this PIN in the app to finish signing in:</p>"
        f'<p><code id="oauth_pin" style="font-size:2rem">{escape(pin)}</code></p>'
    )
    return _page("You've authorized the app", body)


def error_page(title: str, message: str) -> str:
    """A plain error page (no redirect)."""
    return _page(title, f'<p id="error">{escape(message)}</p>')
