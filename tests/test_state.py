"""The state store (expiring, bounded, single-use take) and the result cache on top of it."""

from __future__ import annotations

import threading

from xmetrics_core.state import MemoryStateStore, ResultCache, StateStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_value_lives_for_its_own_ttl() -> None:
    clock = FakeClock()
    store: MemoryStateStore[str] = MemoryStateStore(clock=clock)
    store.put("short", "a", 10)
    store.put("long", "b", 100)
    clock.now = 9.9
    assert (store.get("short"), store.get("long")) == ("a", "b")
    clock.now = 10.1
    assert (store.get("short"), store.get("long")) == (None, "b")
    assert len(store) == 1


def test_take_hands_a_value_to_exactly_one_caller() -> None:
    store: MemoryStateStore[int] = MemoryStateStore()
    store.put("state", 7, 60)
    winners: list[int] = []
    start = threading.Barrier(8)

    def race() -> None:
        start.wait(timeout=10)
        value = store.take("state")
        if value is not None:
            winners.append(value)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert winners == [7]
    assert store.get("state") is None


def test_values_are_kept_by_reference_and_delete_is_quiet() -> None:
    store: MemoryStateStore[list[int]] = MemoryStateStore()
    value = [1, 2]
    store.put("k", value, 60)
    assert store.get("k") is value
    store.delete("k")
    store.delete("never-there")
    assert store.get("k") is None


def test_a_full_store_lets_the_least_recently_used_entry_go() -> None:
    store: MemoryStateStore[int] = MemoryStateStore(max_entries=2, clock=FakeClock())
    store.put("a", 1, 60)
    store.put("b", 2, 60)
    assert store.get("a") == 1
    store.put("c", 3, 60)
    assert (store.get("a"), store.get("b"), store.get("c")) == (1, None, 3)


def test_the_memory_store_is_a_state_store() -> None:
    store: StateStore[bytes] = MemoryStateStore()
    store.put("k", b"v", 1)
    assert store.take("k") == b"v"


def test_cached_results_expire_after_the_ttl() -> None:
    clock = FakeClock()
    cache: ResultCache[str] = ResultCache(ttl_seconds=60, max_entries=4, clock=clock)
    cache.put(("fp", "ids"), "result")
    clock.now = 59
    assert cache.get(("fp", "ids")) == "result"
    clock.now = 61
    assert cache.get(("fp", "ids")) is None


def test_the_least_recently_used_result_goes_first() -> None:
    cache: ResultCache[int] = ResultCache(ttl_seconds=60, max_entries=2, clock=FakeClock())
    cache.put(("a",), 1)
    cache.put(("b",), 2)
    assert cache.get(("a",)) == 1
    cache.put(("c",), 3)
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == 1
    assert cache.get(("c",)) == 3


def test_discarding_one_credential_keeps_the_others() -> None:
    clock = FakeClock()
    cache: ResultCache[int] = ResultCache(ttl_seconds=60, clock=clock)
    cache.put(("alice", "1"), 1)
    cache.put(("alice", "2"), 2)
    cache.put(("bob", "1"), 3)
    cache.discard_credential("alice")
    assert cache.get(("alice", "1")) is None
    assert cache.get(("alice", "2")) is None
    assert cache.get(("bob", "1")) == 3
    cache.put(("alice", "1"), 4)  # a new sign-in with the same credential starts afresh
    assert cache.get(("alice", "1")) == 4
    clock.now = 200  # the old generation's entries are long gone by now
    cache.put(("alice", "2"), 5)
    assert cache.get(("alice", "1")) is None
    assert cache.get(("alice", "2")) == 5
    cache.discard(("bob", "1"))
    assert cache.get(("bob", "1")) is None


def test_results_live_in_the_store_they_are_given() -> None:
    shared: MemoryStateStore[int] = MemoryStateStore()
    generations: MemoryStateStore[str] = MemoryStateStore()
    first: ResultCache[int] = ResultCache(store=shared, generations=generations)
    second: ResultCache[int] = ResultCache(store=shared, generations=generations)
    first.put(("fp", "ids"), 1)
    assert second.get(("fp", "ids")) == 1  # another replica sees it
    second.discard_credential("fp")
    assert first.get(("fp", "ids")) is None
