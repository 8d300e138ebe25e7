"""Fault injection over real sockets: scripted one-shot faults and seeded rates."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.sandbox.helpers import TIMEOUT, bearer
from xmetrics_core.sandbox import Fault, FaultConfig, Sandbox
from xmetrics_core.sandbox.faults import FaultInjector


def lookup(
    sandbox: Sandbox, post_id: str | None = None, timeout: float = TIMEOUT
) -> requests.Response:
    post = post_id or sandbox.world.demo_posts[1].id
    return requests.get(
        sandbox.base_url + "/2/tweets",
        params={"ids": post},
        headers=bearer(sandbox),
        timeout=timeout,
    )


def test_scripted_429_then_success(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.script(Fault(kind="status", status=429, reset_in=30))
    limited = lookup(fresh_sandbox)
    assert limited.status_code == 429
    assert limited.json()["title"] == "Too Many Requests"
    reset = int(limited.headers["x-rate-limit-reset"])
    assert abs(reset - (fresh_sandbox.clock.protocol_timestamp() + 30)) <= 2
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.headers["x-rate-limit-limit"] == "3500"  # the app's GET /2/tweets budget
    assert lookup(fresh_sandbox).status_code == 200
    assert [e.fault for e in fresh_sandbox.request_log.entries(path="/2/tweets")] == [
        "status",
        None,
    ]


@pytest.mark.parametrize("status", [500, 503])
def test_scripted_server_errors(fresh_sandbox: Sandbox, status: int) -> None:
    fresh_sandbox.faults.script(Fault(kind="status", status=status))
    response = lookup(fresh_sandbox)
    assert response.status_code == status
    assert response.json()["status"] == status


def test_drop_closes_the_connection_without_a_response(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.script(Fault(kind="drop"))
    with pytest.raises(requests.exceptions.ConnectionError):
        lookup(fresh_sandbox)
    assert lookup(fresh_sandbox).status_code == 200
    # The dropped request is logged when its handler ends, which can be after the client
    # has seen the reset and the second request has been served: wait for both, any order.
    assert fresh_sandbox.request_log.wait_until(
        lambda log: log.count(path="/2/tweets") == 2, timeout=5
    ), "the dropped request was never logged"
    outcomes = {(e.fault, e.status) for e in fresh_sandbox.request_log.entries(path="/2/tweets")}
    assert outcomes == {("drop", 0), (None, 200)}


def test_drop_on_a_kept_alive_connection_drops_it_and_the_next_request_opens_another(
    fresh_sandbox: Sandbox,
) -> None:
    post = fresh_sandbox.world.demo_posts[1].id
    url = fresh_sandbox.base_url + "/2/tweets"

    def lookup_on(session: requests.Session) -> requests.Response:
        return session.get(
            url, params={"ids": post}, headers=bearer(fresh_sandbox), timeout=TIMEOUT
        )

    with requests.Session() as session:
        assert lookup_on(session).status_code == 200  # the connection is now kept alive
        fresh_sandbox.faults.script(Fault(kind="drop"))
        with pytest.raises(requests.exceptions.ConnectionError):
            lookup_on(session)
        assert lookup_on(session).status_code == 200
    assert fresh_sandbox.request_log.wait_until(
        lambda log: log.count(path="/2/tweets") == 3, timeout=5
    ), "the dropped request was never logged"
    logged = {(e.fault, e.connection) for e in fresh_sandbox.request_log.entries()}
    assert logged == {(None, 1), ("drop", 1), (None, 2)}, "a dropped connection is not reused"


def test_slow_response_trips_a_client_read_timeout(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.script(Fault(kind="slow", seconds=2.0))
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        lookup(fresh_sandbox, timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_malformed_json_is_a_truncated_200(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.script(Fault(kind="malformed"))
    response = lookup(fresh_sandbox)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_faults_apply_only_to_v2_api_paths(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.script(Fault(kind="status", status=500))
    token = requests.post(
        fresh_sandbox.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(fresh_sandbox.demo.consumer_key, fresh_sandbox.demo.consumer_secret),
        timeout=TIMEOUT,
    )
    assert token.status_code == 200
    assert fresh_sandbox.faults.pending() == 1
    assert lookup(fresh_sandbox).status_code == 500


def test_latency_is_added(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.configure(FaultConfig(latency_ms=150))
    started = time.monotonic()
    assert lookup(fresh_sandbox).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_the_answer_is_worked_out_within_the_latency_not_after_it(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.configure(FaultConfig(latency_ms=3000))
    today = fresh_sandbox.clock.now().date()
    billed = fresh_sandbox.usage.billed_on(today)
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(lookup, fresh_sandbox, timeout=10)
        deadline = time.monotonic() + 2.5
        while fresh_sandbox.usage.billed_on(today) == billed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fresh_sandbox.usage.billed_on(today) == billed + 1, "not billed within 2.5 s"
        assert not answer.done(), "the answer left before the latency was over"
        assert answer.result().status_code == 200


def test_a_slow_fault_comes_on_top_of_the_latency(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.configure(FaultConfig(latency_ms=200))
    fresh_sandbox.faults.script(Fault(kind="slow", seconds=0.3))
    started = time.monotonic()
    assert lookup(fresh_sandbox).status_code == 200
    assert time.monotonic() - started >= 0.5


def test_seeded_rates_are_deterministic_and_close_to_the_rate(fresh_sandbox: Sandbox) -> None:
    config = FaultConfig(seed=3, rate_500=0.2, rate_503=0.1)

    def run() -> list[int]:
        fresh_sandbox.faults.configure(config)
        return [lookup(fresh_sandbox, p.id).status_code for p in fresh_sandbox.world.posts[:60]]

    first, second = run(), run()
    assert first == second
    failures = sum(s != 200 for s in first)
    assert 8 <= failures <= 30
    assert set(first) <= {200, 500, 503}


def test_decisions_do_not_depend_on_request_order() -> None:
    keys: list[tuple[str, dict[str, str]]] = [
        (f"/2/tweets/{n}", {"tweet.fields": "id"}) for n in range(50)
    ]
    forward, backward = FaultInjector(), FaultInjector()
    config = FaultConfig(seed=9, rate_429=0.3, rate_drop=0.2)
    forward.configure(config)
    backward.configure(config)
    a = {p: forward.decide(method="GET", path=p, query=q).fault for p, q in keys}
    b = {p: backward.decide(method="GET", path=p, query=q).fault for p, q in reversed(keys)}
    assert a == b
    assert any(f is not None for f in a.values())


def test_rates_over_one_are_refused() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rate_500=0.7, rate_503=0.5)
