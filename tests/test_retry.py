"""The retry policy is pure: bounded attempts, bounded total wait, jitter, rate-limit reset."""

from __future__ import annotations

import pytest

from xmetrics_core.retry import RetryPolicy


def policy(**overrides: float) -> RetryPolicy:
    values = {"random": lambda: 0.0} | overrides
    return RetryPolicy(**values)  # type: ignore[arg-type]


def test_backoff_doubles_and_caps_without_jitter() -> None:
    p = policy()
    assert [p.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_shortens_by_at_most_its_fraction() -> None:
    low = RetryPolicy(random=lambda: 0.999999)
    assert 0.5 * 0.5 <= low.backoff(1) < 0.5
    assert RetryPolicy(random=lambda: 0.0).backoff(1) == 0.5


def test_gives_up_after_max_attempts() -> None:
    p = policy()
    assert p.next_wait(attempts_made=1, waited=0) == 0.5
    assert p.next_wait(attempts_made=3, waited=1.5) == 2.0
    assert p.next_wait(attempts_made=4, waited=3.5) is None


def test_total_wait_is_bounded() -> None:
    p = policy(max_total_wait=2.0)
    assert p.next_wait(attempts_made=2, waited=0.5) == 1.0
    assert p.next_wait(attempts_made=3, waited=1.5) is None


def test_rate_limit_reset_within_budget_is_waited_for() -> None:
    p = policy()
    assert p.next_wait(attempts_made=1, waited=0, until_reset=12.0) == 12.0
    assert p.next_wait(attempts_made=1, waited=0, until_reset=-3.0) == 0.0


def test_rate_limit_reset_past_budget_is_not_slept_through() -> None:
    assert policy().next_wait(attempts_made=1, waited=0, until_reset=900.0) is None
    assert policy().next_wait(attempts_made=1, waited=15, until_reset=6.0) is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    assert RetryPolicy().is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 501])
def test_client_errors_are_not_retryable(status: int) -> None:
    assert not RetryPolicy().is_retryable_status(status)


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
