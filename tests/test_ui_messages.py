"""The dashboard's wording of errors (``xmetrics_ui.messages``: no Streamlit in it)."""

from __future__ import annotations

from fake_x import json_answer

from xmetrics_core.transport import error_from_response
from xmetrics_ui.messages import explain


def _forbidden(body: dict[str, object]) -> Exception:
    return error_from_response(json_answer(403, body))


def test_a_scope_403_tells_the_user_to_reconnect_and_allow_reading_posts() -> None:
    error = _forbidden({"title": "Forbidden", "type": "about:blank", "status": 403})
    message = explain(error)
    assert "reconnect and allow reading Posts" in message
    assert "tweet.read" in message


def test_a_refused_access_level_says_the_apps_level_does_not_include_it() -> None:
    error = _forbidden(
        {
            "title": "Client Forbidden",
            "detail": "This request must be made using an approved developer account.",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
            "reason": "client-not-enrolled",
        }
    )
    assert "access level does not include it" in explain(error)
