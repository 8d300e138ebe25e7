"""The request log: what the sandbox was asked, so tests and benchmarks can count calls.

Every request (v2 and OAuth endpoints alike) is recorded as a :class:`LoggedRequest` when it
completes. Secret-bearing parameters are redacted before they are stored, so the log never holds
a token, code, verifier or secret. :meth:`RequestLog.clear` also forgets requests that were
still in flight (e.g. a "slow" fault the client gave up on): a request is only recorded if no
``clear()`` happened since it arrived, so a shared sandbox's log is not polluted by the
previous test's stragglers. :attr:`RequestLog.in_flight` counts requests that arrived and have
not completed; :meth:`RequestLog.wait_until` lets a test wait for a condition on the log (for
example "nothing in flight") instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

REDACTED = "[redacted]"

#: Parameter names whose values are secrets.
SECRET_PARAMS = frozenset(
    {
        "code",
        "code_verifier",
        "code_challenge",
        "refresh_token",
        "access_token",
        "token",
        "oauth_token",
        "oauth_verifier",
        "oauth_signature",
        "client_secret",
        "pin",
    }
)


def redact(params: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``params`` with every secret-bearing value replaced by ``[redacted]``."""
    return {k: (REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in params.items()}


@dataclass(frozen=True, kw_only=True)
class LoggedRequest:
    """One request as the sandbox saw it.

    ``auth`` is one of ``bearer``, ``oauth1``, ``oauth2_user``, ``basic``, ``none``, ``invalid``.
    ``fault`` names the injected fault (``status``, ``drop``, ``slow``, ``malformed``) or is None;
    ``status`` is 0 when the connection was dropped without a response. ``connection`` numbers
    the TCP connection the request came on (1, 2, … in the order the sandbox accepted them):
    requests sharing one came over a kept-alive connection.
    """

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    auth: str = "none"
    user_id: str | None = None
    status: int = 0
    fault: str | None = None
    connection: int = 0


class RequestLog:
    """Thread-safe, append-only list of :class:`LoggedRequest`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entrant: wait_until's condition reads the log
        self._changed = threading.Condition(self._lock)
        self._entries: list[LoggedRequest] = []
        self._generation = 0
        self._in_flight = 0

    def begin(self) -> int:
        """Call when a request arrives; pass the result to :meth:`append` when it completes."""
        with self._lock:
            self._in_flight += 1
            self._changed.notify_all()
            return self._generation

    def append(self, entry: LoggedRequest, *, begun: int | None = None) -> None:
        """Record one request (params already redacted), unless the log was cleared since
        ``begun`` (the value :meth:`begin` returned when the request arrived). A request that
        called :meth:`begin` is no longer in flight once appended, logged or not."""
        with self._lock:
            if begun is not None:
                self._in_flight = max(0, self._in_flight - 1)
            if begun is None or begun == self._generation:
                self._entries.append(entry)
            self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        """Requests that arrived and have not completed yet."""
        with self._lock:
            return self._in_flight

    def wait_until(self, condition: Callable[[RequestLog], bool], *, timeout: float) -> bool:
        """Wait until ``condition(log)`` holds (checked whenever a request arrives or completes);
        False if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def entries(self, path: str | None = None, method: str | None = None) -> list[LoggedRequest]:
        """Requests so far, oldest first, optionally filtered by exact path and method."""
        with self._lock:
            found = list(self._entries)
        return [
            e
            for e in found
            if (path is None or e.path == path) and (method is None or e.method == method.upper())
        ]

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """How many requests matched."""
        return len(self.entries(path, method))

    def clear(self) -> None:
        """Forget every entry, and every request still in flight."""
        with self._lock:
            self._entries.clear()
            self._generation += 1
