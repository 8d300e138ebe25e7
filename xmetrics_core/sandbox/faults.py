"""Fault injection for client tests and benchmarks, deterministic under a seed.

Two sources of faults apply to requests whose path starts with ``path_prefix`` (``/2/``):

* ``faults.script(Fault(...), ...)``: a FIFO of one-shot faults applied, in order, to the next
  matching requests ("429 then success" tests).
* ``faults.configure(FaultConfig(...))``: rates. The decision for one request is a pure
  function of (seed, method, path, sorted query, the n-th time this exact request was seen),
  hashed with SHA-256, so it does not depend on how threads interleave.

Fault kinds: ``status`` (429 with proper rate-limit headers resetting in ``reset_in`` s, 500 or
503), ``drop`` (the TCP connection is closed with no response; the client sees a connection
error), ``slow`` (the response waits ``seconds``; use it against a client read timeout) and
``malformed`` (200 with a truncated JSON body). ``latency_ms`` (+ uniform jitter) applies to
every matching request: its answer leaves no sooner than that after the request arrived (the
server's work happens within it, as on X's fleet; a ``slow`` fault comes on top).
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "drop", "slow", "malformed"]


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """Rates (0..1) of each fault and added latency; all zero means no faults."""

    seed: int = 0
    latency_ms: float = 0
    latency_jitter_ms: float = 0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 5.0
    rate_malformed: float = 0.0
    path_prefix: str = "/2/"

    def __post_init__(self) -> None:
        total = (
            self.rate_429
            + self.rate_500
            + self.rate_503
            + self.rate_drop
            + self.rate_slow
            + self.rate_malformed
        )
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:.3f}, more than 1")


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One scripted fault. ``status`` applies to kind "status"; ``seconds`` to "slow"."""

    kind: FaultKind = "status"
    status: int = 429
    reset_in: int = 60
    seconds: float = 5.0


@dataclass(frozen=True, kw_only=True)
class FaultDecision:
    """What to do to one request."""

    latency_seconds: float = 0.0
    fault: Fault | None = None


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FaultInjector:
    """Holds the fault configuration and script. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._script: deque[Fault] = deque()
        self._seen: dict[str, int] = {}

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault rates (and restart the per-request counters)."""
        with self._lock:
            self._config = config
            self._seen.clear()

    def script(self, *faults: Fault) -> None:
        """Queue one-shot faults for the next matching requests, in order."""
        with self._lock:
            self._script.extend(faults)

    def clear(self) -> None:
        """No faults: default config, empty script."""
        with self._lock:
            self._config = FaultConfig()
            self._script.clear()
            self._seen.clear()

    def pending(self) -> int:
        """Scripted faults not yet applied."""
        with self._lock:
            return len(self._script)

    def decide(self, *, method: str, path: str, query: Mapping[str, str]) -> FaultDecision:
        """The fault (if any) for this request."""
        with self._lock:
            config = self._config
            if not path.startswith(config.path_prefix):
                return FaultDecision()
            signature = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
            request_key = f"{method} {path}?{signature}"
            nth = self._seen.get(request_key, 0)
            self._seen[request_key] = nth + 1
            scripted = self._script.popleft() if self._script else None
        latency = config.latency_ms / 1000
        if config.latency_jitter_ms:
            latency += (
                _unit(config.seed, "jitter", request_key, nth) * config.latency_jitter_ms / 1000
            )
        if scripted is not None:
            return FaultDecision(latency_seconds=latency, fault=scripted)
        draw = _unit(config.seed, request_key, nth)
        ladder: tuple[tuple[float, Fault], ...] = (
            (config.rate_429, Fault(kind="status", status=429)),
            (config.rate_500, Fault(kind="status", status=500)),
            (config.rate_503, Fault(kind="status", status=503)),
            (config.rate_drop, Fault(kind="drop")),
            (config.rate_slow, Fault(kind="slow", seconds=config.slow_seconds)),
            (config.rate_malformed, Fault(kind="malformed")),
        )
        threshold = 0.0
        for rate, fault in ladder:
            threshold += rate
            if draw < threshold:
                return FaultDecision(latency_seconds=latency, fault=fault)
        return FaultDecision(latency_seconds=latency)
