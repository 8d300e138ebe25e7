"""The Demo account's history: weeks of snapshots read from the sandbox at past world times.

The History page of the Demo must be alive on its first open, so the Demo's own store (never
the user's real one) is filled with what a collector *would* have read over the last
:data:`DEMO_DAYS` days. It is done through the real path, nothing is invented:

1. a private twin of the Demo's sandbox is started (same seed, same settings, same UTC day,
   so the same world, Post IDs and curves; its own port, rate limits and clock, so moving
   its clock never disturbs the sandbox the dashboard's sessions are using);
2. an :class:`~xmetrics_core.client.XClient` signs in as the Demo user (OAuth 1.0a, every
   metric group) and reads the Demo's Posts of the last 30 days from its timeline;
3. for every read time of :func:`read_times` (a collector's schedule by age: hourly while a
   Post is young, then every few hours, then daily) the twin's clock is **set** to that time
   and ``fetch_posts`` reads the Posts due then over HTTP;
4. each result is saved with ``source="collector"``, the Demo account and its world time.

Idempotent: read times are whole UTC hours, and a time whose snapshots the store already
holds (for those Posts, by that account) is skipped without a request; a result saved twice
is stored once anyway (the store's fingerprint). So a second start reads nothing, and a
restart hours later reads only the hours since. Replicas of a team sharing one store take a
lock around it (``exclusive``), so the second replica's prefill is such a second start. Bounded: at most ``max_reads`` fetches
(default :data:`MAX_FETCHES`), a few seconds (``bench/bench_demo_history.py`` measures it).

Never imports streamlit; the dashboard runs :func:`prefill_demo_history` once per server on
a background thread (``xmetrics_ui.store``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from xmetrics_core.catalogue import Group
from xmetrics_core.client import XClient
from xmetrics_core.credentials import OAuth1Credential
from xmetrics_core.models import PostStatus
from xmetrics_core.sandbox import SandboxSettings, start_sandbox
from xmetrics_core.store import Account, Store

log = logging.getLogger(__name__)

#: How far back the Demo's history reaches.
DEMO_DAYS: Final = 21
#: An upper bound on the fetches one prefill makes (the schedule needs ~500 for 21 days).
MAX_FETCHES: Final = 1500
HOUR: Final = timedelta(hours=1)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Cadence:
    """Read a Post every ``every`` while it is younger than ``until``."""

    until: timedelta
    every: timedelta


#: The schedule by age (a collector's, coarser with age): hourly for 12 hours (the rise),
#: every 3 hours to three days, every 12 hours to a week, then daily at 00:00 UTC.
DEMO_SCHEDULE: Final = (
    Cadence(until=timedelta(hours=12), every=timedelta(hours=1)),
    Cadence(until=timedelta(hours=72), every=timedelta(hours=3)),
    Cadence(until=timedelta(days=7), every=timedelta(hours=12)),
    Cadence(until=timedelta.max, every=timedelta(days=1)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefillOutcome:
    """What one prefill did."""

    start: datetime
    end: datetime
    posts: int
    planned: int
    """Read times in the window."""
    skipped: int
    """Read times the store already held."""
    fetches: int
    """Results read over HTTP (one ``fetch_posts`` each)."""
    stored: int
    """Results the store kept (a result it already had is not stored again)."""
    snapshots: int
    seconds: float


def floor_hour(moment: datetime) -> datetime:
    """``moment`` (aware) down to its whole UTC hour."""
    utc = moment.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def _due(age: timedelta, at: datetime, schedule: Iterable[Cadence]) -> bool:
    for cadence in schedule:
        if age < cadence.until:
            step = int(cadence.every.total_seconds())
            return int(at.timestamp()) % step == 0
    return False


def read_times(
    created: Mapping[str, datetime],
    *,
    start: datetime,
    end: datetime,
    schedule: Iterable[Cadence] = DEMO_SCHEDULE,
) -> dict[datetime, tuple[str, ...]]:
    """Whole UTC hours from ``start`` to ``end`` (both floored) → the Posts read then.

    A Post is read at an hour when it exists (created before it) and the hour is on its
    age's cadence (``DEMO_SCHEDULE``: hourly while under 12 hours old …); the last hour reads
    every Post, so each one's newest snapshot is the window's end. Pure: no clock, no HTTP.
    """
    cadences = tuple(schedule)
    first, last = floor_hour(start), floor_hour(end)
    plan: dict[datetime, tuple[str, ...]] = {}
    at = first
    while at <= last:
        due = tuple(
            post_id
            for post_id, born in created.items()
            if born < at and (at == last or _due(at - born, at, cadences))
        )
        if due:
            plan[at] = due
        at += HOUR
    return plan


def _held_times(
    store: Store, post_ids: Iterable[str], *, account: Account, since: datetime
) -> set[tuple[datetime, str]]:
    """(read time, Post ID) pairs the store already has for this account since ``since``."""
    rows = store.history_rows(list(post_ids), since=since, groups=(Group.PUBLIC,), account=account)
    return {
        (moment.to_pydatetime(), str(post_id))
        for moment, post_id in zip(rows["fetched_at"], rows["id"], strict=True)
    }


def prefill_demo_history(
    store: Store,
    *,
    now: datetime,
    seed: int,
    settings: SandboxSettings,
    days: int = DEMO_DAYS,
    max_fetches: int = MAX_FETCHES,
    schedule: Iterable[Cadence] = DEMO_SCHEDULE,
    progress: ProgressCallback | None = None,
    exclusive: AbstractContextManager[object] | None = None,
) -> PrefillOutcome:
    """Fill ``store`` (the Demo's) with the Demo's Posts read at past world times.

    ``now``, ``seed`` and ``settings`` are the Demo sandbox's (its clock's world time): the
    twin started here serves the same world. ``progress(done, total)`` is called after every
    read time; ``schedule`` is the cadence by age (:data:`DEMO_SCHEDULE`). Raises
    :class:`~xmetrics_core.store.StoreError` when the store refuses a write and
    :class:`~xmetrics_core.errors.XApiError` when the twin does (neither should happen; the
    caller shows it and the dashboard goes on without the Demo's history).

    ``exclusive``: a lock held from before the store is asked what it holds until the last
    save (team mode: ``RedisStateStore.exclusive``, one for every replica sharing the store).
    Replicas then prefill one after the other, and each one after the first finds every read
    time held and reads nothing: the store is filled once for the team.
    """
    with exclusive if exclusive is not None else nullcontext():
        return _prefill(
            store,
            now=now,
            seed=seed,
            settings=settings,
            days=days,
            max_fetches=max_fetches,
            schedule=schedule,
            progress=progress,
        )


def _prefill(
    store: Store,
    *,
    now: datetime,
    seed: int,
    settings: SandboxSettings,
    days: int,
    max_fetches: int,
    schedule: Iterable[Cadence],
    progress: ProgressCallback | None,
) -> PrefillOutcome:
    began = time.perf_counter()
    end = floor_hour(now)
    start = end - timedelta(days=days)
    twin = start_sandbox(settings=settings, seed=seed, now=end)
    try:
        demo = twin.demo
        credential = OAuth1Credential(
            consumer_key=demo.consumer_key,
            consumer_secret=demo.consumer_secret,
            access_token=demo.access_token,
            access_token_secret=demo.access_token_secret,
        )
        with XClient(credential=credential, base_url=twin.base_url, clock=twin.clock.now) as client:
            me = client.get_me()
            account = Account(user_id=me.id, username=me.username)
            recent = client.recent_posts(me.id, days=30)
            created = {post.id: post.created_at for post in recent if post.created_at is not None}
            plan = read_times(created, start=start, end=end, schedule=schedule)
            held = _held_times(store, created, account=account, since=start)
            todo = {
                at: ids for at, ids in plan.items() if not all((at, pid) in held for pid in ids)
            }
            times = sorted(todo)[:max_fetches]
            fetched = stored = snapshots = 0
            for done, at in enumerate(times, start=1):
                twin.clock.set(at)
                result = client.fetch_posts(todo[at], me=me)
                fetched += 1
                if any(s.status is PostStatus.FAILED for s in result.statuses):
                    log.warning("demo history: a read at %s failed; it is not saved", at)
                else:
                    saved = store.save(result, source="collector", account=account, fetched_at=at)
                    stored += int(saved.stored)
                    snapshots += saved.snapshots
                if progress is not None:
                    progress(done, len(times))
    finally:
        twin.stop()
    outcome = PrefillOutcome(
        start=start,
        end=end,
        posts=len(created),
        planned=len(plan),
        skipped=len(plan) - len(todo),
        fetches=fetched,
        stored=stored,
        snapshots=snapshots,
        seconds=time.perf_counter() - began,
    )
    log.info(
        "demo history: %d reads, %d stored, %d snapshots in %.1f s",
        outcome.fetches,
        outcome.stored,
        outcome.snapshots,
        outcome.seconds,
    )
    return outcome


__all__ = [
    "DEMO_DAYS",
    "DEMO_SCHEDULE",
    "MAX_FETCHES",
    "Cadence",
    "PrefillOutcome",
    "floor_hour",
    "prefill_demo_history",
    "read_times",
]
