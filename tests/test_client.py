"""The client's pure parts: error mapping, rate-limit headers, request building, parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.client import (
    USER_AGENT,
    XClient,
    error_from_response,
    format_reset,
    lookup_params,
    merge_media,
    parse_created_at,
    post_from_json,
    posts_from_json,
    problem_type,
    rate_limit_from_headers,
    result_from_pages,
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
from xmetrics_core.models import PostStatus


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


def test_endpoints_are_named_as_x_documents_them() -> None:
    from xmetrics_core.client import endpoint_name

    assert endpoint_name("get", "/2/tweets") == "GET /2/tweets"
    assert endpoint_name("GET", "/2/users/2244994945/tweets") == "GET /2/users/:id/tweets"
    assert endpoint_name("GET", "/2/users/me") == "GET /2/users/me"


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


def test_created_at_in_another_offset_is_told_in_utc() -> None:
    assert parse_created_at("2022-08-13T22:36:51+02:00") == datetime(
        2022, 8, 13, 20, 36, 51, tzinfo=UTC
    )
    assert parse_created_at(None) is None
    parsed = parse_created_at("2022-08-13T20:36:51.000Z")
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo in (UTC, UTC)


def test_garbled_metric_values_become_missing_and_the_rest_of_the_page_stays_intact() -> None:
    good = {"id": "1", "public_metrics": {"like_count": 3, "reply_count": None}}
    garbled = {"id": "2", "public_metrics": {"like_count": "3", "reply_count": 4.5}}
    not_a_group = {"id": "3", "public_metrics": [1, 2], "organic_metrics": None}
    first, second, third = posts_from_json([good, garbled, not_a_group])
    assert dict(first.metrics["public_metrics"]) == {"like_count": 3, "reply_count": None}
    assert dict(second.metrics["public_metrics"]) == {"like_count": None, "reply_count": None}
    assert dict(third.metrics) == {}


def test_parsed_records_do_not_change_when_the_raw_json_does() -> None:
    likes = {"like_count": 3}
    keys = ["7_1"]
    item = {"id": "1", "public_metrics": likes, "attachments": {"media_keys": keys}}
    record = post_from_json(item)
    likes["like_count"] = 99
    keys.append("7_2")
    assert record.value(Group.PUBLIC, "like_count") == 3
    assert record.media_keys == ("7_1",)
    with pytest.raises(TypeError):
        record.metrics["public_metrics"]["like_count"] = 5  # type: ignore[index]


def test_media_sent_twice_is_merged_and_lists_every_carrying_post_in_post_order() -> None:
    posts = posts_from_json(
        [
            {"id": "1", "attachments": {"media_keys": ["7_b"]}},
            {"id": "2", "attachments": {"media_keys": ["7_a", "7_b"]}},
        ]
    )
    media = merge_media(
        [
            {"media_key": "7_a", "type": "photo"},
            {"media_key": "7_b", "type": "video", "public_metrics": {"view_count": 5}},
            {"media_key": "7_z", "type": "video", "duration_ms": 1000},
            {
                "media_key": "7_b",
                "type": None,
                "duration_ms": 2000,
                "organic_metrics": {"view_count": 4},
                "public_metrics": {"view_count": 6},
            },
            {"type": "video"},
        ],
        posts,
    )
    assert [m.media_key for m in media] == ["7_b", "7_a", "7_z"]
    shared = media[0]
    assert shared.type == "video" and shared.duration_ms == 2000
    assert shared.post_ids == ("1", "2")
    assert {g: dict(v) for g, v in shared.metrics.items()} == {
        "public_metrics": {"view_count": 6},
        "organic_metrics": {"view_count": 4},
    }
    assert media[2].post_ids == ()


def test_raw_pages_become_a_result_with_every_post_ok_in_page_order() -> None:
    pages: list[dict[str, Any]] = [
        {
            "data": [{"id": "10", "attachments": {"media_keys": ["3_1"]}}, "junk", {"no": "id"}],
            "includes": {"media": [{"media_key": "3_1", "type": "video"}]},
        },
        {"data": [{"id": "11", "public_metrics": {"like_count": 1}}]},
        {"errors": [{"title": "Not Found Error"}]},
    ]
    result = result_from_pages(pages, groups=(Group.PUBLIC,))
    assert [p.id for p in result.posts] == ["10", "11"]
    assert [(s.id, s.status, s.position) for s in result.statuses] == [
        ("10", PostStatus.OK, 0),
        ("11", PostStatus.OK, 1),
    ]
    assert [(m.media_key, m.post_ids) for m in result.media] == [("3_1", ("10",))]
    assert result.groups == (Group.PUBLIC,)
