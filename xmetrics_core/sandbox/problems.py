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


def forbidden() -> JsonDict:
    """403 for an OAuth 2.0 user token without a scope the endpoint needs (captured for
    ``/2/users/me`` with ``users.read`` but no ``tweet.read``: plhery/node-twitter-api-v2#265)."""
    return {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"}


def unsupported_authentication_for(host: str, *, caller: str, supported: Sequence[str]) -> JsonDict:
    """403 for a caller kind the endpoint refuses, naming the kinds it supports (the same
    shape as :func:`unsupported_authentication`, which is the app-only case)."""
    return {
        "title": "Unsupported Authentication",
        "detail": (
            f"Authenticating with {caller} is forbidden for this endpoint.  "
            f"Supported authentication types are [{', '.join(supported)}]."
        ),
        "type": problem_type(host, "unsupported-authentication"),
        "status": 403,
    }


def client_not_enrolled(host: str, *, client_id: str) -> JsonDict:
    """403 ``client-forbidden`` for an app whose access level lacks the endpoint (the analytics
    endpoints on a pay-per-use app: ANALYTICS.md). The shape follows the spec's
    ``ClientForbiddenProblem`` and the body X sends apps without the needed access level."""
    return {
        "client_id": client_id,
        "detail": (
            "Post and media analytics are only available to Enterprise apps. Your app is on "
            "pay-per-use access: to use this endpoint it needs Enterprise access."
        ),
        "registration_url": "https://docs.x.com/enterprise-api/introduction",
        "title": "Client Forbidden",
        "required_enrollment": "Enterprise",
        "reason": "client-not-enrolled",
        "type": problem_type(host, "client-forbidden"),
    }


def usage_capped(host: str, account_id: str) -> JsonDict:
    """429 once the project's monthly Post-read cap is used (captured in xdk#25, 2026)."""
    return {
        "account_id": int(account_id),
        "product_name": "standard-basic",
        "title": "UsageCapExceeded",
        "period": "Monthly",
        "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": problem_type(host, "usage-capped"),
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
    host: str, *, resource_type: str, parameter: str, value: str, section: str = "data"
) -> JsonDict:
    """Partial error for a Post of a protected or suspended account.

    The 2020/2021 captures lack ``resource_id``; spec 2.166 requires it (as every other
    resource problem carries it), so it is added. ``section`` is ``includes`` when the
    resource was reached through an expansion.
    """
    noun = "Tweet" if resource_type == "tweet" else resource_type
    return {
        "value": value,
        "parameter": parameter,
        "resource_id": value,
        "resource_type": resource_type,
        "section": section,
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


def field_unauthorized(
    host: str, *, field: str, parameter: str, value: str, section: str = "data"
) -> JsonDict:
    """Partial error for one private metric sub-field the caller may not read (``section``
    ``includes`` and ``parameter`` ``referenced_tweets.id`` for an expanded Post, as captured
    in plhery/node-twitter-api-v2#432)."""
    return {
        "resource_type": "tweet",
        "field": field,
        "parameter": parameter,
        "resource_id": value,
        "title": "Field Authorization Error",
        "section": section,
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
