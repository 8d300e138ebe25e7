"""The client's pure parts: error mapping, rate-limit headers, request building, parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.client import (
    USER_AGENT,
    XClient,
    error_from_response,
    format_reset,
    lookup_params,
    parse_created_at,
    post_from_json,
    problem_type,
    rate_limit_from_headers,
)
from xmetrics_core.credentials import BearerCredential
from xmetrics_core.errors import (
    ApiResponseError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
)


def response(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    answer.headers.update(headers or {})
    return answer


INVALID_IDS = {
    "errors": [
        {
            "parameters": {"ids": ["abc"]},
            "message": "The `ids` query parameter value [abc] is not valid",
        }
    ],
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (402, PaymentRequired),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (418, ApiResponseError),
    ],
)
def test_each_status_maps_to_its_error(status: int, expected: type[Exception]) -> None:
    error = error_from_response(
        response(status, {"title": "T", "detail": "D", "type": "about:blank"})
    )
    assert type(error) is expected
    assert error.status_code == status
    assert "T" in error.message and "D" in error.message


def test_errors_carry_x_errors_and_problem() -> None:
    error = error_from_response(response(400, INVALID_IDS))
    assert isinstance(error, InvalidRequest)
    assert error.api_errors[0]["parameters"] == {"ids": ["abc"]}
    assert error.problem["title"] == "Invalid Request"
    assert error.problem_type == "invalid-request"
    assert "errors" not in error.problem


def test_rate_limited_carries_reset_time() -> None:
    body = {
        "title": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
        "detail": "Too Many Requests",
    }
    error = error_from_response(response(429, body, {"x-rate-limit-reset": "1790000000"}))
    assert isinstance(error, RateLimited)
    assert error.reset_at == datetime.fromtimestamp(1790000000, tz=UTC)


def test_non_json_error_bodies_still_map() -> None:
    error = error_from_response(response(502, "<html>Bad Gateway</html>"))
    assert isinstance(error, ServerError) and error.api_errors == ()


def test_rate_limit_headers_parse() -> None:
    state = rate_limit_from_headers(
        {
            "x-rate-limit-limit": "900",
            "x-rate-limit-remaining": "899",
            "x-rate-limit-reset": "1790000000",
        }
    )
    assert state is not None
    assert (state.limit, state.remaining) == (900, 899)
    assert state.reset_at == datetime.fromtimestamp(1790000000, tz=UTC)
    assert rate_limit_from_headers({}) is None


def test_problem_type_ignores_host() -> None:
    assert problem_type({"type": "https://api.twitter.com/2/problems/resource-not-found"}) == (
        "resource-not-found"
    )
    assert problem_type({"type": "https://api.x.com/2/problems/resource-not-found"}) == (
        "resource-not-found"
    )
    assert problem_type({"type": "about:blank"}) == "about:blank"


def test_lookup_asks_for_base_fields_groups_and_media() -> None:
    params = lookup_params(["1", "2"], ALL_GROUPS)
    assert params["ids"] == "1,2"
    assert params["tweet.fields"] == (
        "created_at,author_id,attachments,public_metrics,non_public_metrics,organic_metrics,"
        "promoted_metrics"
    )
    assert params["expansions"] == "attachments.media_keys"
    assert params["media.fields"].startswith("media_key,type,duration_ms,preview_image_url,url,")
    assert lookup_params(["1"], (Group.PUBLIC,))["media.fields"].endswith(",url,public_metrics")


def test_post_parsing_keeps_missing_sub_keys_missing() -> None:
    record = post_from_json(
        {
            "id": "1558553189766631429",
            "text": "hi",
            "author_id": "42",
            "created_at": "2022-08-13T20:36:51.000Z",
            "attachments": {"media_keys": ["7_1"]},
            "public_metrics": {"like_count": 3},
            "non_public_metrics": {"impression_count": 7, "user_profile_clicks": 0},
        }
    )
    assert record.created_at == datetime(2022, 8, 13, 20, 36, 51, tzinfo=UTC)
    assert record.media_keys == ("7_1",)
    assert record.value(Group.NON_PUBLIC, "url_link_clicks") is None
    assert record.value(Group.NON_PUBLIC, "user_profile_clicks") == 0
    assert parse_created_at("garbage") is None


def test_reset_time_is_told_in_utc_minutes() -> None:
    assert format_reset(datetime(2026, 1, 1, 14, 5, 59, tzinfo=UTC)) == "try again after 14:05 UTC"


def test_client_refuses_plain_http_to_another_host() -> None:
    with pytest.raises(ValueError, match="https"):
        XClient(credential=BearerCredential(token="t"), base_url="http://api.x.com")


def test_client_repr_and_user_agent_hide_nothing_secret() -> None:
    client = XClient(credential=BearerCredential(token="sekrit"))
    assert "sekrit" not in repr(client)
    assert USER_AGENT.startswith("xmetrics/")
    client.close()
