"""Server-side state that expires: one interface, one in-process implementation.

Everything the dashboard keeps between requests for a while (OAuth sign-ins waiting for their
redirect, fetched results) goes through a :class:`StateStore`:

``get(key)``
    the live value, or None when absent or expired;
``put(key, value, ttl_seconds)``
    store (or replace) it for ``ttl_seconds``;
``take(key)``
    get *and* delete in one atomic step: a single-use value (an OAuth ``state``) can be taken
    by exactly one caller;
``delete(key)``
    forget it (no error when absent).

Keys are ``str``. Values: :class:`MemoryStateStore` keeps the object itself, by reference,
never copied or serialised (so store immutable values: ``FetchResult`` and the pending
sign-ins are frozen). A store shared by several processes (Redis, for several replicas) keeps
``bytes``: it is a ``StateStore[bytes]`` (``GET``, ``SET key value PX ttl``, ``GETDEL``,
``DEL``), and the consumer encodes its values for it (``xmetrics_core.shared_state``: Redis,
encrypted, for team mode). Expiry is the store's: an entry past its
TTL is never returned. A store may also drop entries early (a bounded in-process store evicts
the least recently used one), so consumers treat a miss as "not there", never as an error.

:class:`ResultCache` is the dashboard's cache of fetched results on top of a store: keys
always start with the credential's fingerprint, and forgetting one credential's entries is a
new *generation* for that fingerprint (no key scan, so it works the same on Redis).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

from cachetools import TLRUCache

V = TypeVar("V")


class StateStore(Protocol[V]):
    """Expiring key-value state shared by every session of a server (see the module doc)."""

    def get(self, key: str) -> V | None:
        """The live value under ``key``, or None when absent or expired."""
        ...

    def put(self, key: str, value: V, ttl_seconds: float) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds`` (replacing any earlier one)."""
        ...

    def take(self, key: str) -> V | None:
        """Atomically get and delete: the live value (then gone for everyone), or None."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error when it is absent)."""
        ...


class MemoryStateStore(Generic[V]):
    """The in-process :class:`StateStore`: a bounded ``cachetools.TLRUCache`` under a lock.

    Each entry expires ``ttl_seconds`` after it was put (per entry); past ``max_entries`` the
    least recently used entry goes. ``clock`` is the time source (seconds, monotonic by
    default; tests pass their own). Values are kept by reference.
    """

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cache: TLRUCache[str, tuple[float, V]] = TLRUCache(
            maxsize=max_entries, ttu=_expiry, timer=clock
        )
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._cache.get(key)
        return None if entry is None else entry[1]

    def put(self, key: str, value: V, ttl_seconds: float) -> None:
        with self._lock:
            self._cache[key] = (ttl_seconds, value)

    def take(self, key: str) -> V | None:
        with self._lock:
            entry = self._cache.pop(key, None)
        return None if entry is None else entry[1]

    def delete(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)

    def clear(self) -> None:
        """Forget everything (tests, and the in-process store only)."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        """Live entries (expired ones are dropped first)."""
        with self._lock:
            self._cache.expire()
            return len(self._cache)


def _expiry(_key: str, entry: tuple[float, object], now: float) -> float:
    return now + entry[0]


def _digest(parts: tuple[Hashable, ...]) -> str:
    """A stable text key for a tuple of plain values (str, int, tuples of them …)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class ResultCache(Generic[V]):
    """Fetched results shared by every session of one server, expiring, keyed by credential.

    Keys are tuples whose first item is the credential's fingerprint (see
    ``xmetrics_ui.session.cache_key``), so a session can only reach entries made with its own
    credential. Values are shared, not copied: they must be immutable (``FetchResult`` is).
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 15 * 60,
        max_entries: int = 64,
        clock: Callable[[], float] = time.monotonic,
        store: StateStore[V] | None = None,
        generations: StateStore[str] | None = None,
    ) -> None:
        self._ttl = ttl_seconds
        self._store: StateStore[V] = (
            MemoryStateStore(max_entries=max_entries, clock=clock) if store is None else store
        )
        self._generations: StateStore[str] = (
            MemoryStateStore(clock=clock) if generations is None else generations
        )

    def _key(self, key: tuple[Hashable, ...]) -> str:
        fingerprint = str(key[0]) if key else ""
        generation = self._generations.get(f"generation:{fingerprint}") or "0"
        return f"result:{fingerprint}:{generation}:{_digest(key)}"

    def get(self, key: tuple[Hashable, ...]) -> V | None:
        """The live value under ``key``, or None when absent or expired."""
        return self._store.get(self._key(key))

    def put(self, key: tuple[Hashable, ...], value: V) -> None:
        """Store ``value`` for the cache's TTL."""
        self._store.put(self._key(key), value, self._ttl)

    def discard(self, key: tuple[Hashable, ...]) -> None:
        """Forget one entry (the Refresh button)."""
        self._store.delete(self._key(key))

    def discard_credential(self, fingerprint: str) -> None:
        """Forget every entry made with one credential (on disconnect): its keys move to a new
        generation, and the old entries are never read again (they expire with their TTL)."""
        # a fresh random generation, kept past the TTL of every entry made before it
        self._generations.put(f"generation:{fingerprint}", secrets.token_hex(8), self._ttl * 2)

    def clear(self) -> None:
        """Forget everything (the in-process store only; used by tests)."""
        for store in (self._store, self._generations):
            if isinstance(store, MemoryStateStore):
                store.clear()
