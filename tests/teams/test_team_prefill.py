"""The Demo's history prefill in team mode: replicas sharing one PostgreSQL store take the
team's lock in Redis around it, so the store is filled once (the later prefill reads
nothing), never twice at the same time. Real Redis, real PostgreSQL, a twin sandbox each."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.store.conftest import Backend
from xmetrics_core.demo_history import PrefillOutcome, prefill_demo_history
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.shared_state import RedisStateStore, SharedStateUnavailable
from xmetrics_core.store import Store, open_store

NOW = datetime(2026, 6, 10, 14, 20, 31, tzinfo=UTC)
SETTINGS = SandboxSettings()
DAYS = 3
LOCK = "demo-prefill:test"


@pytest.fixture
def shared_url(tmp_path: Path) -> Iterator[str]:
    backend = Backend("postgresql", tmp_path)
    yield backend.new_url()
    backend.cleanup()


def _replica_redis(redis_url: str, prefix: str) -> RedisStateStore:
    """What one replica holds: its own connection pool to the team's Redis."""
    return RedisStateStore(url=redis_url, prefix=prefix)


def test_two_replicas_prefilling_one_shared_store_at_once_fill_it_once(
    redis_url: str, state_prefix: str, shared_url: str
):
    outcomes: dict[str, PrefillOutcome] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def replica(name: str) -> None:
        redis_store = _replica_redis(redis_url, state_prefix)
        store: Store = open_store(shared_url)
        try:
            start.wait(timeout=30)
            outcomes[name] = prefill_demo_history(
                store,
                now=NOW,
                seed=7,
                settings=SETTINGS,
                days=DAYS,
                exclusive=redis_store.exclusive(LOCK, hold_seconds=120, wait_seconds=120),
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()
            redis_store.close()

    threads = [threading.Thread(target=replica, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    first, second = sorted(outcomes.values(), key=lambda outcome: -outcome.fetches)
    # one replica read the Demo's history, the other found every read time held
    assert first.fetches > 0 and first.fetches == first.planned
    assert (second.fetches, second.stored, second.skipped) == (0, 0, second.planned)
    assert second.planned == first.planned
    with open_store(shared_url) as store:
        summary = store.summary()
    assert summary.snapshots == first.snapshots
    assert summary.fetches == first.stored


def test_a_replica_waits_for_the_lock_and_gives_up_in_words(redis_url: str, state_prefix: str):
    holder, waiter = (_replica_redis(redis_url, state_prefix) for _ in range(2))
    try:
        with holder.exclusive(LOCK, hold_seconds=30, wait_seconds=1):
            began = time.monotonic()
            with (
                pytest.raises(SharedStateUnavailable, match="another replica held"),
                waiter.exclusive(LOCK, hold_seconds=30, wait_seconds=0.6),
            ):
                pytest.fail("the lock was held twice")
            assert time.monotonic() - began >= 0.35  # it waited (polling every 0.2 s)
        # released at the end of the block: the next one gets it at once
        with waiter.exclusive(LOCK, hold_seconds=30, wait_seconds=0.5):
            pass
    finally:
        holder.close()
        waiter.close()


def test_a_dead_holders_lock_ends_after_its_hold_time(redis_url: str, state_prefix: str):
    dead, alive = (_replica_redis(redis_url, state_prefix) for _ in range(2))
    try:
        held = dead.exclusive(LOCK, hold_seconds=0.5, wait_seconds=1)
        held.__enter__()  # a replica killed inside the block never releases it
        began = time.monotonic()
        with alive.exclusive(LOCK, hold_seconds=30, wait_seconds=5):
            waited = time.monotonic() - began
        assert 0.2 <= waited < 3
    finally:
        dead.close()
        alive.close()
