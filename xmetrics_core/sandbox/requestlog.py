"""The request log: what the sandbox was asked, so tests and benchmarks can count calls.

Every request (v2 and OAuth endpoints alike) is recorded as a :class:`LoggedRequest` when it
completes. Secret-bearing parameters are redacted before they are stored, so the log never holds
a token, code, verifier or secret. :meth:`RequestLog.clear` also forgets requests that were
still in flight (e.g. a "slow" fault the client gave up on): a request is only recorded if no
``clear()`` happened since it arrived, so a shared sandbox's log is not polluted by the
previous test's stragglers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
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
    ``status`` is 0 when the connection was dropped without a response.
    """

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    auth: str = "none"
    user_id: str | None = None
    status: int = 0
    fault: str | None = None


class RequestLog:
    """Thread-safe, append-only list of :class:`LoggedRequest`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []
        self._generation = 0

    def begin(self) -> int:
        """Call when a request arrives; pass the result to :meth:`append` when it completes."""
        with self._lock:
            return self._generation

    def append(self, entry: LoggedRequest, *, begun: int | None = None) -> None:
        """Record one request (params already redacted), unless the log was cleared since
        ``begun`` (the value :meth:`begin` returned when the request arrived)."""
        with self._lock:
            if begun is not None and begun != self._generation:
                return
            self._entries.append(entry)

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
