"""Fault soak at CI size: 1,000 IDs per round while the sandbox injects 429s, 5xx, dropped
connections, malformed JSON and jittered latency. The full 5,000-ID run is
``bench/bench_fault_soak.py``; both use the same :func:`run_soak` and checks.

Every check is made against the sandbox's ground truth and its own request log, never against
the client's view of itself: no ID lost, none duplicated, metrics equal the world's, and no
logical request sent more often than the retry policy allows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench.bench_fault_soak import (
    SOAK_MAX_ATTEMPTS,
    SoakReport,
    describe,
    hostile_faults,
    run_soak,
    soak_ids,
    soak_settings,
)
from xmetrics_core.client import XUser
from xmetrics_core.models import PostStatus
from xmetrics_core.sandbox import Fault, FaultConfig

CI_IDS = 1000
CI_ROUNDS = 8


@pytest.fixture(scope="module")
def soak_sandbox() -> Any:
    from xmetrics_core.sandbox import start_sandbox

    with start_sandbox(settings=soak_settings(accounts=200), seed=7) as running:
        yield running


def demo_user(sandbox: Any) -> XUser:
    user = sandbox.world.user(sandbox.world.demo_user_id)
    return XUser(id=user.id, username=user.username, name=user.name)


def assert_nothing_lost(report: SoakReport) -> None:
    assert report.lost == 0, describe("soak", report)
    assert report.duplicated == 0, describe("soak", report)
    assert report.wrong_metrics == 0, describe("soak", report)
    assert sum(report.statuses.values()) == report.ids


def test_every_id_ends_with_metrics_or_a_status_under_the_issues_fault_mix(soak_sandbox: Any):
    ids = soak_ids(soak_sandbox, CI_IDS, seed=5)
    clean, baseline = run_soak(soak_sandbox, ids, FaultConfig(latency_ms=1, latency_jitter_ms=4))
    assert_nothing_lost(baseline)
    assert baseline.retries == 0 and baseline.failed == 0

    injected: Counter[str] = Counter()
    calls = retries = 0
    wall = 0.0
    for round_number in range(CI_ROUNDS):
        faults = hostile_faults(seed=100 + round_number, latency_ms=1, jitter_ms=4)
        result, report = run_soak(soak_sandbox, ids, faults)
        assert_nothing_lost(report)
        assert [s.id for s in result.statuses] == ids, "one status per ID, in paste order"
        assert report.max_attempts_seen <= report.retry_bound, describe("soak", report)
        assert report.calls == report.log_calls, "the client counts every request it sent"
        assert report.retries == report.log_calls - report.logical_requests
        expected = {s.id: s.status for s in clean.statuses}
        for status in result.statuses:
            assert status.status in (expected[status.id], PostStatus.FAILED), status
        injected.update(report.faults_injected)
        calls, retries, wall = calls + report.calls, retries + report.retries, wall + report.wall_s
    assert {"status", "drop", "malformed"} <= set(injected), injected
    faulted = sum(v for k, v in injected.items() if k != "none")
    print(
        f"\nSOAK ids={CI_IDS} rounds={CI_ROUNDS} calls={calls} retries={retries} "
        f"faults={faulted} wall_s={wall:.2f} baseline_calls={baseline.calls} "
        f"baseline_wall_s={baseline.wall_s:.2f}"
    )


def test_when_faults_outlast_the_retry_bound_ids_fail_with_a_reason_and_none_is_lost(
    soak_sandbox: Any,
):
    ids = soak_ids(soak_sandbox, 600, seed=9)
    storm = FaultConfig(seed=3, rate_429=0.3, rate_503=0.3, rate_drop=0.1, rate_malformed=0.1)
    result, report = run_soak(soak_sandbox, ids, storm, max_attempts=2, me=demo_user(soak_sandbox))
    assert_nothing_lost(report)
    assert report.max_attempts_seen <= 2, describe("storm", report)
    assert report.failed > 0, "an 80 % fault rate must defeat two attempts somewhere"
    for status in result.statuses:
        if status.status is PostStatus.FAILED:
            assert status.detail, status
            assert any(
                word in status.detail
                for word in ("rate limited", "X answered", "connection", "JSON", "no answer")
            ), status.detail


def test_a_users_me_call_that_fails_after_retries_still_ends_every_id_with_a_status(
    soak_sandbox: Any,
):
    """The fetch plan asks ``/2/users/me`` first (ownership) when ``me`` is not given, as the
    CLI does. If that one call is defeated by faults, the pasted IDs must still each end with
    metrics or a status (ownership unknown), not vanish behind an exception."""
    ids = soak_ids(soak_sandbox, 300, seed=13)
    soak_sandbox.request_log.clear()
    soak_sandbox.faults.script(*[Fault(kind="drop")] * SOAK_MAX_ATTEMPTS)
    try:
        result, report = run_soak(soak_sandbox, ids, FaultConfig())
    finally:
        soak_sandbox.faults.clear()
    assert_nothing_lost(report)
    assert report.max_attempts_seen <= SOAK_MAX_ATTEMPTS
    assert [s.id for s in result.statuses] == ids
