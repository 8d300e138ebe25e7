"""OAuth callbacks: X sending the browser back to the dashboard after the consent page.

Behind ``server.py`` the HTTP middleware finishes them before any page loads
(:func:`finish_for_browser`): the connection goes into the browser's session and the
browser is sent on to the same page without the callback's query (303). Under plain
``streamlit run app.py`` (and in AppTest) the script finishes them itself on the first run
of the landing session (:func:`handle_oauth_callback`) and clears the URL. Both go through
``xmetrics_core.signin.finish_callback``, which checks the sign-in belongs to this browser.
"""

from __future__ import annotations

from xmetrics_core.browser_session import AlertKind, Message
from xmetrics_core.errors import AuthFlowError
from xmetrics_core.signin import CallbackOutcome, PendingSignIns, finish_callback
from xmetrics_ui.messages import explain
from xmetrics_ui.session import (
    adopt_connection,
    browser_id,
    browser_sessions,
    current_connection,
    flash,
    pending_sign_ins,
    remembered_connections,
)


def _message(outcome: CallbackOutcome, *, connected_as: str | None) -> tuple[AlertKind, str]:
    """What the user reads after a callback (plain text; the page escapes it)."""
    error = outcome.error
    if error is None:
        return outcome.kind, outcome.message
    if (
        connected_as is not None
        and isinstance(error, AuthFlowError)
        and error.message == PendingSignIns.UNKNOWN
    ):  # e.g. Back to the consent page, Authorize again: the link was used already
        return (
            "info",
            f"You are connected as {connected_as}. That sign-in link had already been used, "
            "so nothing changed.",
        )
    return "error", explain(error)


def handle_oauth_callback(params: dict[str, str]) -> bool:
    """Finish a sign-in whose redirect landed in this (new) Streamlit session.

    ``params`` are the query parameters. Returns True when they were an OAuth callback
    (the caller then clears them from the URL). The outcome is left as a flash message.
    """
    outcome = finish_callback(params, pending=pending_sign_ins(), browser_id=browser_id())
    if outcome is None:
        return False
    if outcome.connection is not None and outcome.client is not None:
        adopt_connection(outcome.connection, outcome.client, remember=outcome.remember)
    current = current_connection()
    kind, text = _message(outcome, connected_as=current.account_label if current else None)
    flash(kind, text)
    return True


def finish_for_browser(params: dict[str, str], browser: str) -> None:
    """``server.py``'s callback handler: finish the sign-in for the browser with id
    ``browser`` (outside any script run) and leave the outcome in its session."""
    sessions = browser_sessions()
    outcome = finish_callback(params, pending=pending_sign_ins(), browser_id=browser)
    if outcome is None:
        return
    if outcome.connection is not None and outcome.client is not None:
        outcome.client.close()  # each page load builds its own client from the stored one
        sessions.save_connection(browser, outcome.connection, remember=outcome.remember)
        if outcome.remember:
            remembered_connections(browser).save(outcome.connection)
    current = sessions.connection(browser)
    kind, text = _message(
        outcome, connected_as=current.connection.account_label if current else None
    )
    sessions.push_message(browser, Message(kind=kind, text=text))
