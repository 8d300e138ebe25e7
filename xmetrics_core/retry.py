"""The retry policy: pure arithmetic over attempts, waits and X's rate-limit reset.

The client asks :meth:`RetryPolicy.next_wait` after every retryable failure (429, 500, 502,
503, 504, connect errors, dropped connections, read timeouts) and either sleeps the returned
seconds through :attr:`RetryPolicy.sleep` or gives up. Two bounds hold at once: at most
``max_attempts`` attempts, and at most ``max_total_wait`` seconds slept in total. A wait that
would cross the total bound is never slept through: the caller reports it instead (for a 429,
with X's reset time).

Backoff is exponential (``base_delay · 2^(n-1)``, capped at ``max_delay``) with "equal
jitter": the wait is drawn from ``[delay · (1 - jitter), delay]`` so concurrent batches do not
retry in lockstep. For a 429 carrying ``x-rate-limit-reset`` the wait is the time until that
reset instead (X will refuse anything earlier).
"""

from __future__ import annotations

import random as random_module
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry. ``sleep`` and ``random`` are injectable for tests."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total_wait: float = 20.0
    jitter: float = 0.5
    """Fraction of each backoff delay that is randomised (0 = none, 1 = full jitter)."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random_module.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_total_wait) < 0:
            raise ValueError("delays must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, retry_number: int) -> float:
        """The jittered delay before retry ``retry_number`` (1 for the first retry)."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** max(0, retry_number - 1))
        return delay * (1 - self.jitter * self.random())

    def next_wait(
        self, *, attempts_made: int, waited: float, until_reset: float | None = None
    ) -> float | None:
        """Seconds to sleep before the next attempt, or None to give up now.

        ``attempts_made`` counts attempts so far (the failed one included), ``waited`` the
        seconds already slept for this request, ``until_reset`` the seconds until X's
        rate-limit window resets when a 429 said so.
        """
        if attempts_made >= self.max_attempts:
            return None
        wait = max(0.0, until_reset) if until_reset is not None else self.backoff(attempts_made)
        if waited + wait > self.max_total_wait:
            return None
        return wait

    def is_retryable_status(self, status_code: int) -> bool:
        """429 and the transient 5xx answers are worth another try."""
        return status_code in RETRYABLE_STATUS
