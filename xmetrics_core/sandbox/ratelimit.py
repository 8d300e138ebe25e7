"""Fixed 15-minute rate-limit windows, per (endpoint, app) and per (endpoint, user).

App-only Bearer requests count against the app's budget for an endpoint; OAuth 1.0a and
OAuth 2.0 user requests against that user's budget (FACTS §3). A window starts with the first
request and resets ``window_seconds`` later on the sandbox clock's protocol time (the real time
plus every ``advance()``, not the world time that ``--speed`` accelerates);
``x-rate-limit-reset`` is that moment in epoch seconds, so a client can sleep until it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from xmetrics_core.sandbox.settings import SandboxClock


@dataclass(frozen=True, kw_only=True)
class RateDecision:
    """The outcome of counting one request."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        """The lowercase ``x-rate-limit-*`` headers X sends."""
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }


class RateLimiter:
    """Counts requests per key in fixed windows. Thread-safe."""

    def __init__(self, *, clock: SandboxClock, window_seconds: int) -> None:
        self._clock = clock
        self._window = window_seconds
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, *, endpoint: str, key: str, limit: int) -> RateDecision:
        """Count one request and say whether it is within the window's budget."""
        now = self._clock.protocol_timestamp()
        with self._lock:
            start, used = self._windows.get((endpoint, key), (now, 0))
            if now >= start + self._window:
                start, used = now, 0
            allowed = used < limit
            if allowed:
                used += 1
            self._windows[(endpoint, key)] = (start, used)
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - used),
            reset=math.ceil(start + self._window),
        )

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()
