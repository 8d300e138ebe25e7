"""What went wrong and what to do, in words: the dashboard's one wording of errors.

No Streamlit here, so both the session logic (``session``) and the page helpers (``ui``) use
it without importing each other.
"""

from __future__ import annotations

from datetime import UTC

from xmetrics_core.access import explain_forbidden
from xmetrics_core.errors import (
    ApiConnectionError,
    ApiTimeout,
    AuthFlowError,
    Forbidden,
    InvalidRequest,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
    XApiError,
)


def explain(exc: Exception) -> str:
    """What went wrong and what to do, in words (never a traceback, never a token)."""
    if isinstance(exc, RateLimited):
        when = f"until {exc.reset_at.astimezone(UTC):%H:%M} UTC" if exc.reset_at else "for a while"
        return f"Rate limited {when}; results so far are kept. Try again after that."
    if isinstance(exc, Unauthorized):
        return (
            "X did not accept the credential (401: wrong, expired or revoked). "
            "Check the keys or sign in again on the Connect page."
        )
    if isinstance(exc, Forbidden):  # a missing scope, the app's access level, the token's kind
        return explain_forbidden(exc)
    if isinstance(exc, PaymentRequired):
        return (
            "The X API account has no credits left (402). Add credits in the developer "
            "portal, then fetch again."
        )
    if isinstance(exc, ServerError):
        return "X had a server error; nothing is lost. Try again in a minute."
    if isinstance(exc, ApiTimeout):
        return "X did not answer in time. Check your network and try again."
    if isinstance(exc, ApiConnectionError):
        return "Could not reach the API. Check the API base URL and your network, then try again."
    if isinstance(exc, AuthFlowError):
        message = exc.message.rstrip(".")
        if "again" in message:
            return f"Sign-in failed: {message}."
        return f"Sign-in failed: {message}. Start again from the Connect page."
    if isinstance(exc, InvalidRequest):
        return f"X rejected the request: {exc.message}. Check the input and try again."
    if isinstance(exc, XApiError):
        return f"The request failed: {exc.message}. Try again, or reconnect."
    return f"{exc}"
