"""The client's error hierarchy. Every error carries X's ``errors[]`` when X sent one.

::

    XApiError
    ├── ApiResponseError           (an HTTP answer from X that we could not use)
    │   ├── InvalidRequest         400: bad IDs, unknown fields, too many IDs
    │   ├── Unauthorized           401: missing, expired, revoked or wrong credentials
    │   ├── Forbidden              403: e.g. an app-only token on a user-only endpoint
    │   ├── NotFound               404
    │   ├── PaymentRequired        402: the pay-per-use account has no credits left
    │   ├── RateLimited            429: carries ``reset_at``
    │   ├── ServerError            5xx
    │   └── InvalidResponse        a 2xx whose body is not the JSON X promises
    ├── TransportError             no HTTP answer at all
    │   ├── ApiTimeout             connect or read timeout
    │   └── ApiConnectionError     refused, reset or dropped connection
    └── AuthFlowError              an OAuth sign-in step failed (state, code, verifier …)

Messages never contain tokens or secrets: they are built from X's ``title`` and
``detail`` and from our own words only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


class XApiError(Exception):
    """Base of every error the xmetrics client raises."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        problem: Mapping[str, Any] | None = None,
        api_errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.problem: Mapping[str, Any] = problem or {}
        """The RFC 7807 problem object X sent at the top level (``type``, ``title`` …)."""
        self.api_errors: tuple[Mapping[str, Any], ...] = tuple(api_errors)
        """X's ``errors[]`` items, verbatim."""

    @property
    def problem_type(self) -> str:
        """The problem type's last path segment (``invalid-request``, ``about:blank``).

        X's URIs use the api.twitter.com host in every capture and api.x.com in the
        newest docs, so we compare on the suffix only.
        """
        raw = str(self.problem.get("type", ""))
        return raw.rsplit("/", 1)[-1] if "/" in raw else raw

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code})"


class ApiResponseError(XApiError):
    """X answered, with a status or body we cannot use."""


class InvalidRequest(ApiResponseError):
    """400 Invalid Request."""


class Unauthorized(ApiResponseError):
    """401: the credential is missing, expired, revoked or wrong."""


class Forbidden(ApiResponseError):
    """403: the credential may not use this endpoint."""


class NotFound(ApiResponseError):
    """404 for a whole request."""


class PaymentRequired(ApiResponseError):
    """402: the pay-per-use account has run out of credits."""


class RateLimited(ApiResponseError):
    """429: the 15-minute window (or a usage cap) is used up until ``reset_at``."""

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


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
