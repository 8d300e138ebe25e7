"""The collector's watchlist: the schedule by age, what is due, and claims that keep two
collectors (threads or processes) from ever reading the same Post twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.store.builders import ME, child_env, impressions, post_id, record, result
from xmetrics_core.models import IdStatus, PostStatus
from xmetrics_core.store import (
    DEFAULT_SCHEDULE,
    Account,
    Schedule,
    Store,
    open_store,
    parse_duration,
)

MINE = Account(user_id=ME)
ROOT = Path(__file__).resolve().parents[2]


def test_the_default_schedule_is_hourly_then_daily_then_weekly() -> None:
    assert DEFAULT_SCHEDULE.interval(timedelta(hours=3)) == timedelta(hours=1)
    assert DEFAULT_SCHEDULE.interval(timedelta(hours=48)) == timedelta(days=1)
    assert DEFAULT_SCHEDULE.interval(timedelta(days=29)) == timedelta(days=1)
    assert DEFAULT_SCHEDULE.interval(timedelta(days=400)) == timedelta(weeks=1)
    bounded = Schedule.parse("6h:30m, 2d:6h")
    assert bounded.interval(timedelta(hours=1)) == timedelta(minutes=30)
    assert bounded.interval(timedelta(days=3)) is None  # no longer read


@pytest.mark.parametrize(
    "text", ["", "48h", "1h:0h", "2d:1h,1d:1h", "*:1h,2d:1d", "48x:1h", "-1h:1h"]
)
def test_a_malformed_schedule_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError):
        Schedule.parse(text)
    assert parse_duration("90m") == timedelta(minutes=90)


def watched(store: Store, created: datetime, n: int = 1) -> list[str]:
    ids = [post_id(created, k) for k in range(n)]
    assert store.watch(ids, now=created) == n
    return ids


def read(store: Store, pid: str, created: datetime, at: datetime) -> None:
    store.save(
        result([record(pid, created=created, metrics=impressions(1))], at=at),
        source="collector",
        account=MINE,
    )


def test_a_post_is_due_once_per_interval_bucket(store: Store) -> None:
    created = datetime(2026, 11, 2, 9, 20, tzinfo=UTC)
    (pid,) = watched(store, created)
    assert [d.post_id for d in store.due(now=created + timedelta(minutes=5))] == [pid]
    read(store, pid, created, created + timedelta(minutes=41))  # 10:01
    assert store.due(now=datetime(2026, 11, 2, 10, 59, tzinfo=UTC)) == []
    due = store.due(now=datetime(2026, 11, 2, 11, 0, 30, tzinfo=UTC))  # a new UTC hour
    assert [d.post_id for d in due] == [pid] and due[0].interval == timedelta(hours=1)
    assert due[0].last_read_at == created + timedelta(minutes=41)
    # older than 48 h: daily, one read per UTC day
    day_three = created + timedelta(days=3)
    read(store, pid, created, day_three.replace(hour=0, minute=5))
    assert store.due(now=day_three.replace(hour=23, minute=59)) == []
    assert len(store.due(now=day_three.replace(hour=23, minute=59) + timedelta(minutes=2))) == 1


def test_a_failed_read_does_not_count_as_a_read(store: Store) -> None:
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    (pid,) = watched(store, created)
    failed = IdStatus(id=pid, status=PostStatus.FAILED, detail="timeout")
    store.save(
        result([], at=created + timedelta(minutes=10), statuses=[failed]),
        source="collector",
        account=MINE,
    )
    assert len(store.due(now=created + timedelta(minutes=20))) == 1


def test_watching_and_unwatching_keeps_history(store: Store) -> None:
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ids = watched(store, created, 3)
    assert store.watch(ids[:1], now=created) == 0  # already watched
    read(store, ids[0], created, created + timedelta(hours=1))
    listed = {w.post_id: w for w in store.watchlist()}
    assert set(listed) == set(ids)
    assert listed[ids[0]].last_read_at == created + timedelta(hours=1)
    assert listed[ids[1]].created_at == created.replace(microsecond=0)
    assert store.unwatch([ids[0], "1460323737035677698"]) == 1
    assert len(store.history_rows([ids[0]])) == 1
    assert store.watch_account(MINE) and not store.watch_account(MINE)
    assert store.followed_accounts() == [MINE]
    assert store.unwatch_account(MINE) and store.followed_accounts() == []


def test_a_claimed_post_is_not_handed_out_again_until_released_or_expired(store: Store) -> None:
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ids = watched(store, created, 5)
    now = created + timedelta(minutes=30)
    first = store.claim_due(limit=3, now=now)
    second = store.claim_due(limit=10, now=now)
    assert len(first.post_ids) == 3 and set(second.post_ids) == set(ids) - set(first.post_ids)
    assert store.claim_due(limit=10, now=now).post_ids == ()
    assert len(store.due(now=now)) == 5  # the dry run still sees them
    assert store.release(first) == 3
    assert set(store.claim_due(limit=10, now=now).post_ids) == set(first.post_ids)
    later = now + timedelta(minutes=16)  # second's 15-minute lease has run out
    assert set(store.claim_due(limit=10, now=later).post_ids) == set(ids)


def test_two_collectors_in_threads_never_claim_the_same_post(store: Store) -> None:
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ids = watched(store, created, 60)
    now = created + timedelta(minutes=30)
    claimed: list[list[str]] = [[], [], []]
    start = threading.Barrier(3)

    def collector(n: int) -> None:
        start.wait()
        while batch := store.claim_due(limit=4, now=now).post_ids:
            claimed[n].extend(batch)

    threads = [threading.Thread(target=collector, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    everything = [pid for part in claimed for pid in part]
    assert len(everything) == len(set(everything)) == len(ids)


CLAIMER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone, timedelta
    from xmetrics_core.store import open_store
    url, go = sys.argv[1], float(sys.argv[2])
    now = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
    store = open_store(url)
    while time.time() < go:
        time.sleep(0.005)
    while True:
        batch = store.claim_due(limit=3, now=now).post_ids
        if not batch:
            break
        print(" ".join(batch), flush=True)
    """
)


def test_two_collector_processes_never_claim_the_same_post(store_url: str, tmp_path: Path) -> None:
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with open_store(store_url) as store:
        ids = watched(store, created, 45)
    script = tmp_path / "claimer.py"
    script.write_text(CLAIMER)
    go = time.time() + 3  # both start claiming at the same moment
    children = [
        subprocess.Popen(
            [sys.executable, str(script), store_url, str(go)],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    claimed = [[pid for line in out.splitlines() for pid in line.split()] for out, _ in outputs]
    everything = claimed[0] + claimed[1]
    assert len(everything) == len(set(everything)) == len(ids)


def test_a_post_past_the_last_age_of_a_bounded_schedule_is_never_due(store: Store) -> None:
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    (pid,) = watched(store, created)
    short = Schedule.parse("2d:6h")
    assert [d.post_id for d in store.due(now=created + timedelta(days=1), schedule=short)] == [pid]
    assert store.due(now=created + timedelta(days=3), schedule=short) == []
    assert store.claim_due(limit=5, now=created + timedelta(days=3), schedule=short).post_ids == ()
    weekly = store.due(now=created + timedelta(days=90))
    assert [d.interval for d in weekly] == [timedelta(weeks=1)]
