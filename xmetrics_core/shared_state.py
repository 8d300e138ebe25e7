"""Team mode: the dashboard's server-side state in Redis, encrypted, shared by replicas.

One ``streamlit run`` keeps pending sign-ins, browser sessions, the result cache and the
remembered analytics access in its own memory (:class:`~xmetrics_core.state.MemoryStateStore`).
Several replicas behind a load balancer must share them, so with ``XMETRICS_STATE_URL``
(``redis://host:6379/0``) every one of them lives in Redis instead:

* :class:`RedisStateStore` is the :class:`~xmetrics_core.state.StateStore` of ``bytes`` on
  Redis: ``GET``, ``SET key value PX ttl``, ``GETDEL`` (atomic single use: of two replicas
  taking the same OAuth ``state``, exactly one gets it) and ``DEL``, every key under a
  per-deployment prefix (``XMETRICS_STATE_PREFIX``, default ``xmetrics``);
* :class:`EncryptedStateStore` wraps it: every value is encrypted and authenticated with
  Fernet (AES-128-CBC + HMAC-SHA256) under ``XMETRICS_STATE_KEY``, and every key is replaced
  by its HMAC, so Redis holds no token, no secret, no browser id and no Post ID in clear;
* :class:`PickledStateStore` keeps Python values (the result cache's ``FetchResult``) in an
  encrypted store only: the values are authenticated before they are unpickled, so whoever
  can write to Redis without the key cannot make a replica load anything.

:func:`team_state` reads the configuration: None when ``XMETRICS_STATE_URL`` is unset (one
process, in-process state, nothing to install); a ConfigurationError, with what to do, when
it is set without a usable key (team mode refuses to start rather than keep tokens in clear).
Redis failing mid-session raises :class:`SharedStateUnavailable` (an InputError: the pages
show its message, never a traceback).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import pickle
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import redis
from cachetools import LRUCache
from cryptography.fernet import Fernet, InvalidToken
from redis.maint_notifications import MaintNotificationsConfig

from xmetrics_core.errors import ConfigurationError, InputError
from xmetrics_core.state import ResultCache, StateStore

STATE_URL_ENV: Final = "XMETRICS_STATE_URL"
STATE_KEY_ENV: Final = "XMETRICS_STATE_KEY"
STATE_PREFIX_ENV: Final = "XMETRICS_STATE_PREFIX"
DEFAULT_PREFIX: Final = "xmetrics"
REDIS_TIMEOUT_SECONDS: Final = 3.0

NEW_KEY_HINT: Final = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)

V = TypeVar("V")
log = logging.getLogger(__name__)


class SharedStateUnavailable(InputError):
    """The shared state store (Redis) did not answer: said in words, never a traceback."""


def _unavailable(exc: Exception) -> SharedStateUnavailable:
    # redis-py's messages name the host and port, never a value; the URL (which may hold a
    # password) is not repeated here
    return SharedStateUnavailable(
        "The team's shared state (Redis) is not answering, so sign-ins and sessions cannot be "
        f"read right now ({type(exc).__name__}). Try again in a moment; if it lasts, "
        "reconnect your account."
    )


class RedisStateStore:
    """A :class:`~xmetrics_core.state.StateStore` of ``bytes`` in Redis (see the module doc).

    ``url`` is a redis-py URL (``redis://[:password@]host:port/db``); every key is stored as
    ``<prefix>:<key>``. Timeouts are explicit (connect and each command).
    """

    def __init__(
        self,
        *,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        timeout_seconds: float = REDIS_TIMEOUT_SECONDS,
    ) -> None:
        self._prefix = f"{prefix}:"
        self._redis: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            health_check_interval=30,
            # cluster maintenance push notifications: a Redis Enterprise/Cloud feature that a
            # plain redis-server (7.x) answers with an error on every new connection
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )

    @property
    def prefix(self) -> str:
        """What every key of this store starts with (``<prefix>:``)."""
        return self._prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> bytes | None:
        try:
            value = self._redis.get(self._k(key))
        except redis.RedisError as exc:
            raise _unavailable(exc) from None
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        milliseconds = max(1, int(ttl_seconds * 1000))
        try:
            self._redis.set(self._k(key), value, px=milliseconds)
        except redis.RedisError as exc:
            raise _unavailable(exc) from None

    def take(self, key: str) -> bytes | None:
        try:
            value = self._redis.getdel(self._k(key))
        except redis.RedisError as exc:
            raise _unavailable(exc) from None
        return value if isinstance(value, bytes) else None

    def delete(self, key: str) -> None:
        try:
            self._redis.delete(self._k(key))
        except redis.RedisError as exc:
            raise _unavailable(exc) from None

    @contextmanager
    def exclusive(self, name: str, *, hold_seconds: float, wait_seconds: float) -> Iterator[None]:
        """Hold the team-wide lock ``name`` for the block: redis-py's ``Lock`` (``SET NX PX``
        with a random token, released by a script only by its holder), waiting up to
        ``wait_seconds`` for it; a holder that dies frees it after ``hold_seconds``.
        SharedStateUnavailable when Redis does not answer or the wait runs out."""
        lock = self._redis.lock(
            f"{self._prefix}lock:{name}",
            timeout=hold_seconds,
            blocking_timeout=wait_seconds,
            sleep=0.2,
        )
        try:
            acquired = lock.acquire()
        except redis.RedisError as exc:
            raise _unavailable(exc) from None
        if not acquired:
            raise SharedStateUnavailable(
                f"another replica held the team's {name!r} lock for over {wait_seconds:.0f} s"
            )
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.RedisError:  # expired (held too long) or Redis away: it ends by itself
                log.warning("the team's %r lock had already ended", name)

    def ping(self) -> None:
        """Raise SharedStateUnavailable unless Redis answers (checked at start)."""
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise _unavailable(exc) from None

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()


class EncryptedStateStore:
    """Values encrypted and authenticated with Fernet, keys replaced by their HMAC.

    ``key`` is a Fernet key (32 url-safe base64 bytes). A value that fails authentication (a
    different key, or tampered with) reads as absent: a miss, never an error.
    """

    def __init__(self, *, store: StateStore[bytes], key: str | bytes) -> None:
        self._store = store
        self._fernet = Fernet(key)
        raw = base64.urlsafe_b64decode(key)
        self._key_mac = hashlib.sha256(b"xmetrics state keys\0" + raw).digest()

    def _k(self, key: str) -> str:
        return hmac.new(self._key_mac, key.encode("utf-8"), hashlib.sha256).hexdigest()

    def _open(self, token: bytes | None) -> bytes | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            return None

    def get(self, key: str) -> bytes | None:
        return self._open(self._store.get(self._k(key)))

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self.put_sealed(key, self.seal(value), ttl_seconds)

    def take(self, key: str) -> bytes | None:
        return self._open(self._store.take(self._k(key)))

    def delete(self, key: str) -> None:
        self._store.delete(self._k(key))

    # the sealed form, for a consumer that memoises what it decoded (PickledStateStore)

    def seal(self, value: bytes) -> bytes:
        """``value`` encrypted and authenticated (a fresh random IV: never the same twice)."""
        return self._fernet.encrypt(value)

    def open_sealed(self, token: bytes) -> bytes | None:
        """The value inside a sealed token, or None when it fails authentication."""
        return self._open(token)

    def get_sealed(self, key: str) -> bytes | None:
        """The sealed token under ``key`` as stored (not yet authenticated), or None."""
        return self._store.get(self._k(key))

    def take_sealed(self, key: str) -> bytes | None:
        """:meth:`get_sealed` and delete, atomically."""
        return self._store.take(self._k(key))

    def put_sealed(self, key: str, token: bytes, ttl_seconds: float) -> None:
        """Store a token made by :meth:`seal`."""
        self._store.put(self._k(key), token, ttl_seconds)


class PickledStateStore(Generic[V]):
    """Python values in an :class:`EncryptedStateStore` (only there: a value is unpickled
    after Fernet authenticated it, so only a holder of the key could have written it).

    Unpickling a large result (1,000 Posts) costs tens of milliseconds, more than Redis and
    Fernet together, and a cached rerun reads the same value again and again. So the values
    this process put or decoded are memoised by the SHA-256 of their sealed token (at most
    ``memo_entries``): a token is never the same for two writes (Fernet's random IV), and a
    token equal to one already authenticated holds the same value. Values are shared by
    reference, as in :class:`~xmetrics_core.state.MemoryStateStore`: store immutable ones.
    """

    def __init__(self, *, store: EncryptedStateStore, memo_entries: int = 32) -> None:
        self._store = store
        self._memo: LRUCache[bytes, V] = LRUCache(maxsize=memo_entries)
        self._lock = threading.Lock()

    def _decode(self, token: bytes | None) -> V | None:
        if token is None:
            return None
        digest = hashlib.sha256(token).digest()
        with self._lock:
            if digest in self._memo:
                return self._memo[digest]
        raw = self._store.open_sealed(token)
        if raw is None:
            return None
        value: V = pickle.loads(raw)  # noqa: S301 - authenticated by Fernet first
        with self._lock:
            self._memo[digest] = value
        return value

    def get(self, key: str) -> V | None:
        return self._decode(self._store.get_sealed(key))

    def put(self, key: str, value: V, ttl_seconds: float) -> None:
        token = self._store.seal(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        self._store.put_sealed(key, token, ttl_seconds)
        with self._lock:
            self._memo[hashlib.sha256(token).digest()] = value

    def take(self, key: str) -> V | None:
        return self._decode(self._store.take_sealed(key))

    def delete(self, key: str) -> None:
        self._store.delete(key)


class BestEffortStateStore(Generic[V]):
    """A cache's store that shrugs off an outage: a read while Redis is away is a miss and a
    write is skipped (logged once per call, without keys or values). Only for what can be
    fetched again (the result cache), never for sign-ins or sessions."""

    def __init__(self, *, store: StateStore[V]) -> None:
        self._store = store

    def get(self, key: str) -> V | None:
        try:
            return self._store.get(key)
        except SharedStateUnavailable:
            log.warning("shared cache unavailable: read treated as a miss")
            return None

    def put(self, key: str, value: V, ttl_seconds: float) -> None:
        try:
            self._store.put(key, value, ttl_seconds)
        except SharedStateUnavailable:
            log.warning("shared cache unavailable: result not cached")

    def take(self, key: str) -> V | None:
        try:
            return self._store.take(key)
        except SharedStateUnavailable:
            log.warning("shared cache unavailable: read treated as a miss")
            return None

    def delete(self, key: str) -> None:
        try:
            self._store.delete(key)
        except SharedStateUnavailable:
            log.warning("shared cache unavailable: entry not deleted (it expires with its TTL)")


@dataclass(frozen=True, kw_only=True)
class TeamState:
    """Team mode's shared store: the encrypted one every consumer uses, and Redis below."""

    store: EncryptedStateStore
    redis: RedisStateStore

    def result_cache(self, *, ttl_seconds: float) -> ResultCache[Any]:
        """The replicas' one result cache: pickled, encrypted, and a Redis outage a miss."""
        return ResultCache(
            ttl_seconds=ttl_seconds,
            store=BestEffortStateStore(store=PickledStateStore(store=self.store)),
            generations=BestEffortStateStore(store=PickledStateStore(store=self.store)),
        )


def state_key(settings: Mapping[str, str]) -> str:
    """``XMETRICS_STATE_KEY``, checked; ConfigurationError saying what to do otherwise."""
    key = settings.get(STATE_KEY_ENV, "").strip()
    if not key:
        raise ConfigurationError(
            f"{STATE_URL_ENV} is set (team mode) but {STATE_KEY_ENV} is not: the shared state "
            "holds sign-in tokens and is only kept encrypted. Set the same key on every "
            f"replica ({NEW_KEY_HINT})."
        )
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{STATE_KEY_ENV} is not a Fernet key (32 url-safe base64-encoded bytes); "
            f"{NEW_KEY_HINT}."
        ) from None
    return key


def team_state(settings: Mapping[str, str], *, check: bool = True) -> TeamState | None:
    """The shared state of ``settings`` (the environment, with ``.streamlit/secrets.toml``'s
    values for names it does not set): None without ``XMETRICS_STATE_URL``.

    ConfigurationError without a usable ``XMETRICS_STATE_KEY`` or with a URL that is not
    ``redis://``/``rediss://``/``unix://``; with ``check``, SharedStateUnavailable when Redis
    does not answer a PING.
    """
    url = settings.get(STATE_URL_ENV, "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            f"{STATE_URL_ENV} must be a redis:// (or rediss://, unix://) URL, such as "
            "redis://127.0.0.1:6379/0"
        )
    key = state_key(settings)
    prefix = settings.get(STATE_PREFIX_ENV, "").strip() or DEFAULT_PREFIX
    shared = RedisStateStore(url=url, prefix=prefix)
    if check:
        shared.ping()
    return TeamState(store=EncryptedStateStore(store=shared, key=key), redis=shared)
