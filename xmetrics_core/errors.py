"""The client's error hierarchy. Every error carries X's ``errors[]`` when X sent one.

::

    XApiError
    ├── ApiResponseError           (an HTTP answer from X that we could not use)
    │   ├── InvalidRequest         400: bad IDs, unknown fields, too many IDs
    │   ├── Unauthorized           401: missing, expired, revoked or wrong credentials
    │   ├── Forbidden              403: ``reason`` says which kind (scope, access level,
    │   │                          authentication); a missing scope or access level is
    │   │                          explained in the message
    │   ├── NotFound               404
    │   ├── PaymentRequired        402: the pay-per-use account has no credits left
    │   ├── RateLimited            429: carries ``reset_at``
    │   ├── ServerError            5xx
    │   └── InvalidResponse        a 2xx whose body is not the JSON X promises
    ├── TransportError             no HTTP answer at all
    │   ├── ApiTimeout             connect or read timeout
    │   └── ApiConnectionError     refused, reset or dropped connection
    └── AuthFlowError              an OAuth sign-in step failed (state, code, verifier …)

    InputError (a ValueError)      what the user typed or configured cannot be used
    ├── InputTooLarge              a paste past the size limits
    └── ConfigurationError         a bad API base URL, plain http off loopback, a half-set
        │                          OAuth 1.0a environment, an unreadable credential file
        └── AppBearerRequired      an endpoint only the app's Bearer token may call
                                   (``/2/usage/tweets``) and none is known

An answer X gave (``ApiResponseError``) carries the response's rate-limit headers as
``rate_limit`` (a :class:`~xmetrics_core.models.RateLimitState`, or None when X sent none) and
X's request id as ``request_id`` (the ``x-transaction-id`` header of X's answers; None when
absent), so a report can name the request X's support can trace.

The dashboard catches ``XApiError`` and ``InputError`` and says what to do; anything else is a
bug and reaches the page's "unexpected problem" boundary.

Messages never contain tokens or secrets: they are built from X's ``title`` and
``detail`` and from our own words only.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Self

if TYPE_CHECKING:
    from xmetrics_core.models import RateLimitState


def problem_type(item: Mapping[str, Any]) -> str:
    """The last path segment of a problem's ``type`` URI (``resource-not-found``).

    X's URIs use the api.twitter.com host in every capture and api.x.com in the newest docs,
    so problems are compared on the suffix only.
    """
    return str(item.get("type", "")).rstrip("/").rsplit("/", 1)[-1]


class XApiError(Exception):
    """Base of every error the xmetrics client raises."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        problem: Mapping[str, Any] | None = None,
        api_errors: Sequence[Mapping[str, Any]] = (),
        rate_limit: RateLimitState | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.problem: Mapping[str, Any] = problem or {}
        """The RFC 7807 problem object X sent at the top level (``type``, ``title`` …)."""
        self.api_errors: tuple[Mapping[str, Any], ...] = tuple(api_errors)
        """X's ``errors[]`` items, verbatim."""
        self.rate_limit = rate_limit
        """The answer's ``x-rate-limit-*`` headers (None: no answer, or none sent)."""
        self.request_id = request_id
        """X's id of the request (``x-transaction-id``), for support; None when absent."""

    @property
    def problem_type(self) -> str:
        """The problem type's last path segment (``invalid-request``, ``about:blank``)."""
        return problem_type(self.problem)

    def with_message(self, message: str) -> Self:
        """The same error (type, status, X's details, headers) with another message."""
        twin = copy.copy(self)
        twin.message = message
        twin.args = (message,)
        return twin

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code})"


class ApiResponseError(XApiError):
    """X answered, with a status or body we cannot use."""


class InvalidRequest(ApiResponseError):
    """400 Invalid Request."""


class Unauthorized(ApiResponseError):
    """401: the credential is missing, expired, revoked or wrong."""


class ForbiddenReason(StrEnum):
    """Why X answered 403, read from its problem object (:func:`forbidden_reason`)."""

    SCOPE = "scope"
    """``{"title": "Forbidden", "type": "about:blank"}``: the OAuth 2.0 token lacks a scope the
    endpoint needs (the captured body; FACTS §2, plhery/node-twitter-api-v2#265)."""
    ACCESS_LEVEL = "access_level"
    """``client-forbidden`` (``reason: client-not-enrolled``): the app's access level does not
    include the endpoint (Post and media analytics are Enterprise only)."""
    AUTHENTICATION = "authentication"
    """``unsupported-authentication``: this kind of credential may not call the endpoint."""
    OTHER = "other"


#: What a user does about each 403 (our words; appended to the error's message).
SCOPE_ADVICE: Final = (
    "the sign-in did not allow what this needs: reconnect and allow reading Posts and "
    "reading your account (OAuth 2.0 scopes tweet.read, users.read)"
)
ACCESS_LEVEL_ADVICE: Final = (
    "the X app's access level does not include this endpoint (Post and media analytics need "
    "Enterprise access)"
)


def forbidden_reason(problem: Mapping[str, Any]) -> ForbiddenReason:
    """The kind of 403 a problem object describes (compared on the type's path suffix)."""
    kind = problem_type(problem)
    if kind == "client-forbidden":
        return ForbiddenReason.ACCESS_LEVEL
    if kind == "unsupported-authentication":
        return ForbiddenReason.AUTHENTICATION
    if kind == "about:blank" and str(problem.get("title", "")) == "Forbidden":
        return ForbiddenReason.SCOPE
    return ForbiddenReason.OTHER


class Forbidden(ApiResponseError):
    """403: the credential may not use this endpoint.

    ``reason`` (:class:`ForbiddenReason`) says which kind; for a missing OAuth 2.0 scope and
    for an access level without the endpoint the message ends with what to do
    (:data:`SCOPE_ADVICE`, :data:`ACCESS_LEVEL_ADVICE`), so every place that shows
    ``message`` (a Post's status, the CLI, the dashboard) explains it.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = forbidden_reason(self.problem)
        advice = {
            ForbiddenReason.SCOPE: SCOPE_ADVICE,
            ForbiddenReason.ACCESS_LEVEL: ACCESS_LEVEL_ADVICE,
        }.get(self.reason)
        if advice and advice not in message:
            self.message = f"{message.rstrip('. ')}; {advice}"
            self.args = (self.message,)


class NotFound(ApiResponseError):
    """404 for a whole request."""


class PaymentRequired(ApiResponseError):
    """402: the pay-per-use account has run out of credits."""


class RateLimited(ApiResponseError):
    """429: the 15-minute window (or a usage cap) is used up until ``reset_at``."""

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


def format_reset(reset_at: datetime | None) -> str:
    """``"try again after 14:05 UTC"`` for a rate-limit reset time."""
    if reset_at is None:
        return "try again in a few minutes"
    return f"try again after {reset_at.astimezone(UTC):%H:%M} UTC"


class ServerError(ApiResponseError):
    """5xx from X."""


class InvalidResponse(ApiResponseError):
    """A success status whose body is not the JSON X documents."""


class TransportError(XApiError):
    """No HTTP answer at all."""


class ApiTimeout(TransportError):
    """Connect or read timeout."""


class ApiConnectionError(TransportError):
    """Connection refused, reset or dropped."""


class AuthFlowError(XApiError):
    """An OAuth sign-in step failed: bad or replayed state, expired code, wrong verifier."""


class InputError(ValueError):
    """Input or configuration that cannot be used; the message says why and what to do.

    A ``ValueError`` (so generic callers still see one), but its own type: call sites catch
    ``InputError``, never a bare ``ValueError``, so a programming error is not shown to a
    user as their own mistake.
    """


class InputTooLarge(InputError):
    """The paste is longer than the accepted characters or has too many unique IDs."""


class ConfigurationError(InputError):
    """A setting that cannot work: an API base URL, a credential set, a credential file."""


class AppBearerRequired(ConfigurationError):
    """The endpoint takes the app's Bearer token only (``GET /2/usage/tweets``) and this
    connection does not know it; the message says where to put one."""
