"""X's error bodies (RFC 7807 "Problem" objects), exactly as FACTS.md §2 and §3 quote them.

Every builder is a small pure function returning a JSON-ready dict. The problem ``type`` URI
host is a setting (``problem_host``): captures use ``api.twitter.com``, newer docs ``api.x.com``.
"""

from __future__ import annotations

from collections.abc import Sequence

JsonDict = dict[str, object]

INVALID_REQUEST_DETAIL = "One or more parameters to your request was invalid."


def problem_type(host: str, name: str) -> str:
    """``https://api.twitter.com/2/problems/<name>``."""
    return f"https://{host}/2/problems/{name}"


def unauthorized() -> JsonDict:
    """401 for a missing, wrong, expired or revoked credential."""
    return {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def too_many_requests() -> JsonDict:
    """429 when the 15-minute window is used up."""
    return {
        "title": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
        "detail": "Too Many Requests",
    }


def server_error(status: int) -> JsonDict:
    """Generic 5xx body (used by fault injection)."""
    titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = titles.get(status, "Server Error")
    return {"title": title, "type": "about:blank", "status": status, "detail": title}


def unsupported_authentication(host: str) -> JsonDict:
    """403 for an app-only token on a user-context-only endpoint (note the two spaces)."""
    return {
        "title": "Unsupported Authentication",
        "detail": (
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."
        ),
        "type": problem_type(host, "unsupported-authentication"),
        "status": 403,
    }


def credits_depleted(host: str, account_id: str) -> JsonDict:
    """402 when a pay-per-use account has no credits left (shape ⚠ per FACTS §3)."""
    return {
        "account_id": int(account_id),
        "title": "CreditsDepleted",
        "detail": (
            f"Your enrolled account [{account_id}] does not have any credits to fulfill "
            "this request."
        ),
        "type": problem_type(host, "credits"),
    }


def invalid_request(host: str, errors: Sequence[JsonDict]) -> JsonDict:
    """400 with one ``{parameters, message}`` item per invalid parameter."""
    return {
        "errors": list(errors),
        "title": "Invalid Request",
        "detail": INVALID_REQUEST_DETAIL,
        "type": problem_type(host, "invalid-request"),
    }


def parameter_error(name: str, values: Sequence[str], message: str) -> JsonDict:
    """One item of an invalid-request ``errors[]``."""
    return {"parameters": {name: list(values)}, "message": message}


def not_found(host: str, *, resource_type: str, parameter: str, value: str) -> JsonDict:
    """Partial error for a missing or deleted resource."""
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": problem_type(host, "resource-not-found"),
    }


def not_authorized_for_resource(
    host: str, *, resource_type: str, parameter: str, value: str
) -> JsonDict:
    """Partial error for a Post of a protected or suspended account.

    The 2020/2021 captures lack ``resource_id``; spec 2.166 requires it (as every other
    resource problem carries it), so it is added.
    """
    noun = "Tweet" if resource_type == "tweet" else resource_type
    return {
        "value": value,
        "parameter": parameter,
        "resource_id": value,
        "resource_type": resource_type,
        "section": "data",
        "title": "Authorization Error",
        "detail": f"Sorry, you are not authorized to see the {noun} with {parameter}: [{value}].",
        "type": problem_type(host, "not-authorized-for-resource"),
    }


def user_suspended(host: str, *, parameter: str, value: str, username: str) -> JsonDict:
    """Partial error for a suspended user (type resource-not-found, as captured)."""
    return {
        "value": value,
        "detail": f"User has been suspended: [{username}].",
        "title": "Forbidden",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": problem_type(host, "resource-not-found"),
    }


def field_unauthorized(host: str, *, field: str, parameter: str, value: str) -> JsonDict:
    """Partial error for one private metric sub-field the caller may not read."""
    return {
        "resource_type": "tweet",
        "field": field,
        "parameter": parameter,
        "resource_id": value,
        "title": "Field Authorization Error",
        "section": "data",
        "detail": (
            f"Sorry, you are not authorized to access '{field}' on the Tweet with "
            f"{parameter} : [{value}]."
        ),
        "value": value,
        "type": problem_type(host, "not-authorized-for-field"),
    }


def oauth2_invalid(what: str) -> JsonDict:
    """The token endpoint's 400 body (``what``: "authorization code" or "token")."""
    return {
        "error": "invalid_request",
        "error_description": f"Value passed for the {what} was invalid.",
    }
