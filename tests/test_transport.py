"""The request path without sockets: error mapping, headers on errors, retries, OAuth 2.0
refresh and the URL policy, over a scripted transport."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from fake_x import FakeX, json_answer

from xmetrics_core.credentials import BearerCredential, OAuth2Credential
from xmetrics_core.errors import (
    ApiConnectionError,
    ApiResponseError,
    ConfigurationError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
    format_reset,
    problem_type,
)
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.transport import (
    CallTally,
    HttpRequest,
    HttpResponse,
    XApi,
    error_from_response,
    rate_limit_from_headers,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RESET = "1790000000"
HEADERS = {
    "x-rate-limit-limit": "900",
    "x-rate-limit-remaining": "0",
    "x-rate-limit-reset": RESET,
    "x-transaction-id": "8f4c70590e71e846",
}
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


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def api(x: FakeX, credential: object = None, **overrides: object) -> XApi:
    settings: dict[str, object] = {
        "credential": credential or BearerCredential(token="t"),
        "base_url": "https://api.x.com",
        "transport": x,
        "clock": lambda: NOW,
        "retry": RetryPolicy(sleep=Sleeps(), random=lambda: 0.0),
    }
    return XApi(**(settings | overrides))  # type: ignore[arg-type]


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
        json_answer(status, {"title": "T", "detail": "D", "type": "about:blank"})
    )
    assert type(error) is expected
    assert error.status_code == status
    assert "T" in error.message and "D" in error.message


def test_errors_carry_x_errors_and_problem() -> None:
    error = error_from_response(json_answer(400, INVALID_IDS))
    assert isinstance(error, InvalidRequest)
    assert error.api_errors[0]["parameters"] == {"ids": ["abc"]}
    assert error.problem["title"] == "Invalid Request"
    assert error.problem_type == "invalid-request"
    assert "errors" not in error.problem


def test_errors_carry_the_rate_limit_headers_and_xs_request_id() -> None:
    error = error_from_response(json_answer(403, {"title": "Forbidden"}, HEADERS))
    assert error.request_id == "8f4c70590e71e846"
    assert error.rate_limit is not None
    assert (error.rate_limit.limit, error.rate_limit.remaining) == (900, 0)
    assert error.rate_limit.reset_at == datetime.fromtimestamp(int(RESET), tz=UTC)
    bare = error_from_response(json_answer(404, {"title": "Not Found"}))
    assert (bare.rate_limit, bare.request_id) == (None, None)


def test_rate_limited_carries_reset_time() -> None:
    body = {"title": "Too Many Requests", "type": "about:blank", "status": 429}
    error = error_from_response(json_answer(429, body, {"x-rate-limit-reset": RESET}))
    assert isinstance(error, RateLimited)
    assert error.reset_at == datetime.fromtimestamp(int(RESET), tz=UTC)


def test_non_json_error_bodies_still_map() -> None:
    error = error_from_response(HttpResponse(status=502, body=b"<html>Bad Gateway</html>"))
    assert isinstance(error, ServerError) and error.api_errors == ()


def test_rate_limit_headers_parse_case_insensitively() -> None:
    state = rate_limit_from_headers(
        HttpResponse(status=200, headers={"X-Rate-Limit-Limit": "9"}).headers
    )
    assert state is not None and state.limit == 9 and state.remaining is None
    assert rate_limit_from_headers({}) is None


def test_problem_type_ignores_host() -> None:
    for host in ("api.twitter.com", "api.x.com"):
        item = {"type": f"https://{host}/2/problems/resource-not-found"}
        assert problem_type(item) == "resource-not-found"
    assert problem_type({"type": "about:blank"}) == "about:blank"


def test_reset_time_is_told_in_utc_minutes() -> None:
    assert format_reset(datetime(2026, 1, 1, 14, 5, 59, tzinfo=UTC)) == "try again after 14:05 UTC"


def test_get_json_returns_xs_object_and_counts_the_call() -> None:
    x = FakeX()
    tally = CallTally()
    body = api(x).get_json("/2/users/me", tally=tally)
    assert body["data"]["id"] == "42"
    assert (tally.calls, tally.retries) == (1, 0)
    (request,) = x.requests
    assert (request.method, request.url) == ("GET", "https://api.x.com/2/users/me")
    assert request.timeout.as_tuple() == (3.05, 20.0)


def test_a_503_is_retried_and_the_final_error_names_xs_request_id() -> None:
    x = FakeX()
    x.answers.extend([lambda _r: json_answer(503, {"title": "Service Unavailable"}, HEADERS)] * 4)
    sleeps = Sleeps()
    tally = CallTally()
    with pytest.raises(ServerError) as caught:
        api(x, retry=RetryPolicy(sleep=sleeps, random=lambda: 0.0)).get_json(
            "/2/tweets", {"ids": "1"}, tally=tally
        )
    assert sleeps == [0.5, 1.0, 2.0]
    assert (tally.calls, tally.retries) == (4, 3)
    assert caught.value.request_id == "8f4c70590e71e846"
    assert caught.value.rate_limit is not None and caught.value.rate_limit.remaining == 0


def test_a_429_past_the_wait_bound_is_raised_at_once_with_the_reset_time() -> None:
    x = FakeX()
    reset = NOW + timedelta(minutes=15)
    headers = HEADERS | {"x-rate-limit-reset": str(int(reset.timestamp()))}
    x.answers.append(lambda _r: json_answer(429, {"title": "Too Many Requests"}, headers))
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as caught:
        api(x, retry=RetryPolicy(sleep=sleeps)).get_json("/2/tweets", {"ids": "1"})
    assert sleeps == []
    assert caught.value.reset_at == reset
    assert "try again after 12:15 UTC" in caught.value.message
    assert caught.value.request_id == "8f4c70590e71e846"


def test_a_dropped_connection_is_retried() -> None:
    x = FakeX()

    def drop(request: HttpRequest) -> HttpResponse:
        raise ApiConnectionError(f"the connection to X failed or was dropped ({request.where})")

    x.answers.append(drop)
    tally = CallTally()
    assert api(x).get_json("/2/users/me", tally=tally)["data"]["id"] == "42"
    assert (tally.calls, tally.retries) == (2, 1)


def test_a_truncated_body_is_retried_then_reported_as_invalid() -> None:
    x = FakeX()
    x.answers.append(lambda _r: HttpResponse(status=200, body=b'{"data": [{"id": "1'))
    assert api(x).get_json("/2/users/me")["data"]["id"] == "42"
    assert x.paths() == ["/2/users/me", "/2/users/me"]


def test_a_401_is_answered_by_one_refresh_through_the_same_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    x = FakeX()
    x.answers.append(lambda _r: json_answer(401, {"title": "Unauthorized"}))
    x.answers.append(
        lambda r: (
            json_answer(
                200,
                {
                    "access_token": "new",
                    "refresh_token": "r2",
                    "expires_in": 7200,
                    "token_type": "bearer",
                },
            )
            if r.url.endswith("/2/oauth2/token")
            else None
        )
    )
    rotated: list[OAuth2Credential] = []
    credential = OAuth2Credential(access_token="old", refresh_token="r1", client_id="c")
    path = api(
        x,
        credential,
        base_url="http://127.0.0.1:8787",
        on_credential_refreshed=rotated.append,
    )
    tally = CallTally()
    assert path.get_json("/2/users/me", tally=tally)["data"]["id"] == "42"
    assert x.paths() == ["/2/users/me", "/2/oauth2/token", "/2/users/me"]
    form = parse_qs(x.requests[1].data or "")
    assert form == {"grant_type": ["refresh_token"], "refresh_token": ["r1"], "client_id": ["c"]}
    assert [c.access_token for c in rotated] == ["new"] and path.credential == rotated[0]
    assert rotated[0].expires_at == NOW + timedelta(hours=2)
    assert tally.calls == 3
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # plain http to loopback, no switch


def test_a_refused_refresh_says_to_reconnect() -> None:
    x = FakeX()
    x.answers.append(lambda _r: json_answer(401, {"title": "Unauthorized"}))
    x.answers.append(
        lambda _r: json_answer(400, {"error": "invalid_request", "error_description": "revoked"})
    )
    credential = OAuth2Credential(access_token="old", refresh_token="r1", client_id="c")
    with pytest.raises(Unauthorized, match="reconnect"):
        api(x, credential).get_json("/2/users/me")


@pytest.mark.parametrize(
    "url", ["http://api.x.com", "ftp://127.0.0.1", "http://192.0.2.1:8787", "//api.x.com"]
)
def test_tokens_never_travel_in_the_clear_off_this_machine(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        XApi(credential=BearerCredential(token="t"), base_url=url)


def test_endpoints_are_named_as_x_documents_them() -> None:
    from xmetrics_core.transport import endpoint_name

    assert endpoint_name("get", "/2/tweets") == "GET /2/tweets"
    assert endpoint_name("GET", "/2/users/2244994945/tweets") == "GET /2/users/:id/tweets"
    assert endpoint_name("GET", "/2/users/me") == "GET /2/users/me"


def test_each_endpoint_keeps_its_own_rate_limit() -> None:
    x = FakeX()

    def limited(remaining: str) -> Callable[[HttpRequest], HttpResponse]:
        headers = {**HEADERS, "x-rate-limit-remaining": remaining}
        return lambda _r: json_answer(200, {"data": []}, headers)

    x.answers.extend([limited("899"), limited("299"), limited("898")])
    client = api(x)
    client.get_json("/2/tweets", {"ids": "20"})
    client.get_json("/2/tweets/analytics", {"ids": "20"})
    client.get_json("/2/tweets", {"ids": "21"})

    assert [(s.endpoint, s.remaining) for s in client.rate_limits] == [
        ("GET /2/tweets", 898),
        ("GET /2/tweets/analytics", 299),
    ]
    assert client.rate_limit.endpoint == "GET /2/tweets"  # the newest answer's
