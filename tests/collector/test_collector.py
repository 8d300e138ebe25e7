"""The collector against the sandbox over real HTTP, on its clock ("48 hours in seconds"), with
the history store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.collector.helpers import bearer, client
from xmetrics_core.collector import MINE_ORIGIN, collect
from xmetrics_core.credentials import OAuth1Credential
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.sandbox import FaultConfig, Sandbox, start_sandbox
from xmetrics_core.store import Account, Schedule, Store, open_store

#: A fixed world time (mid-morning UTC) so a run of hours never straddles midnight by accident.
START = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
#: Every Post hourly, whatever its age (the budget tests need reads again the same UTC day).
HOURLY = Schedule.parse("*:1h")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(now=START) as running:
        yield running


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def later(sandbox: Sandbox, seconds: float) -> None:
    """World time moves on (Posts grow); protocol time does not, so OAuth 1.0a signatures made
    with the real time stay valid."""
    sandbox.clock.set(sandbox.clock.now() + timedelta(seconds=seconds))


def looked_up_ids(sandbox: Sandbox) -> list[str]:
    """Every Post ID the sandbox was asked for in ``GET /2/tweets`` (in order, repeats kept)."""
    return [
        post_id
        for entry in sandbox.request_log.entries("/2/tweets")
        for post_id in entry.params.get("ids", "").split(",")
        if post_id
    ]


def demo_posts(sandbox: Sandbox, count: int) -> list[str]:
    """The demo account's ``count`` newest Posts (read hourly with :data:`HOURLY`)."""
    posts = sandbox.world.demo_posts[:count]
    assert len(posts) == count
    return [p.id for p in posts]


def expected_reads(created: datetime, runs: list[datetime], schedule: Schedule) -> list[datetime]:
    """The schedule's contract, written out: read when the last read is in an earlier aligned
    bucket of the interval for the Post's age."""
    reads: list[datetime] = []
    for moment in runs:
        interval = schedule.interval(moment - created)
        if interval is None:
            continue
        size = int(interval.total_seconds())
        if not reads or int(reads[-1].timestamp()) // size < int(moment.timestamp()) // size:
            reads.append(moment)
    return reads


def test_collecting_72_hours_reads_hourly_until_48_hours_then_once_a_utc_day(
    sandbox: Sandbox, store: Store
) -> None:
    (post_id,) = demo_posts(sandbox, 1)
    post = sandbox.world.post(post_id)
    assert post is not None
    store.watch([post_id], now=sandbox.clock.now())
    runs: list[datetime] = []
    billable_by_day: dict[object, int] = {}
    with client(sandbox) as reader:
        me = reader.get_me()
        for _ in range(72):
            runs.append(sandbox.clock.now())
            report = collect(store=store, client=reader, me=me, clock=sandbox.clock.now)
            assert report.stopped is None and report.failed == 0
            day = sandbox.clock.now().date()
            billable_by_day[day] = billable_by_day.get(day, 0) + report.billable
            later(sandbox, 3600)

    rows = store.history_rows([post_id])
    fetched = [t.to_pydatetime() for t in rows["fetched_at"]]
    wanted = [
        t.replace(microsecond=0)
        for t in expected_reads(post.created_at, runs, Schedule.parse("48h:1h,30d:1d,*:7d"))
    ]
    assert fetched == wanted
    ages = [(t - post.created_at) / timedelta(hours=1) for t in fetched]
    assert sum(1 for a in ages if a < 48) >= 40, "hourly while young"
    late = [t for t, a in zip(fetched, ages, strict=True) if a >= 48]
    assert late and len({t.date() for t in late}) == len(late), "once per UTC day after 48 h"
    impressions = rows["public_metrics.impression_count"].astype("int64").tolist()
    assert impressions == sorted(impressions) and impressions[-1] > impressions[0], "it grew"
    assert set(billable_by_day.values()) == {1}, (
        "X bills the Post once per UTC day, whatever the reads"
    )
    assert looked_up_ids(sandbox) == [post_id] * len(wanted), "at most once per interval"


def test_max_reads_stops_before_overspending_but_free_rereads_still_happen(
    sandbox: Sandbox, store: Store
) -> None:
    ids = demo_posts(sandbox, 6)
    store.watch(ids, now=sandbox.clock.now())
    with client(sandbox) as reader:
        me = reader.get_me()
        first = collect(
            store=store, client=reader, me=me, clock=sandbox.clock.now, schedule=HOURLY, max_reads=4
        )
        assert (first.read, first.billable, first.over_budget, first.skipped) == (4, 4, 2, 2)
        assert len(looked_up_ids(sandbox)) == 4
        later(sandbox, 3600)  # the same UTC day: the four are due again, and free
        second = collect(
            store=store, client=reader, me=me, clock=sandbox.clock.now, schedule=HOURLY, max_reads=0
        )
        assert (second.read, second.free, second.billable, second.over_budget) == (4, 4, 0, 2)
        third = collect(
            store=store, client=reader, me=me, clock=sandbox.clock.now, schedule=HOURLY, max_reads=5
        )
        assert (third.read, third.billable, third.over_budget) == (2, 2, 0)
        assert third.estimated_usd == pytest.approx(2 * 0.001), "own Posts at the owned price"
    assert sorted(set(looked_up_ids(sandbox))) == sorted(ids)
    assert (
        store.spend(now=sandbox.clock.now(), account=Account(user_id=me.id)).today.billable_reads
        == 6
    )
    assert third.spend is not None and third.spend.today.billable_reads == 6


def test_a_dry_run_reads_nothing_writes_nothing_and_prices_what_is_due(
    sandbox: Sandbox, store: Store
) -> None:
    ids = demo_posts(sandbox, 5)
    store.watch(ids, now=sandbox.clock.now())
    with client(sandbox) as reader:
        me = reader.get_me()
        collect(
            store=store, client=reader, me=me, clock=sandbox.clock.now, schedule=HOURLY, max_reads=2
        )
        later(sandbox, 3600)
        sandbox.request_log.clear()
        before = store.summary()
        dry = collect(
            store=store,
            client=reader,
            me=me,
            clock=sandbox.clock.now,
            dry_run=True,
            schedule=HOURLY,
            max_reads=1,
        )
    assert sandbox.request_log.count() == 0
    assert store.summary() == before
    assert (dry.due, dry.free, dry.billable, dry.over_budget, dry.read) == (5, 2, 1, 2, 3)
    assert dry.estimated_usd == pytest.approx(0.005), "a Post never read: priced as not owned"
    assert dry.summary_line().startswith("collect --dry-run: 5 due; would read 3 Posts")


def test_posts_another_collector_holds_are_skipped_and_named(
    sandbox: Sandbox, store: Store
) -> None:
    ids = demo_posts(sandbox, 6)
    store.watch(ids, now=sandbox.clock.now())
    other = store.claim_due(limit=2, now=sandbox.clock.now())
    with client(sandbox) as reader:
        report = collect(store=store, client=reader, me=reader.get_me(), clock=sandbox.clock.now)
    assert (report.due, report.read, report.held_elsewhere) == (6, 4, 2)
    assert not set(other.post_ids) & set(looked_up_ids(sandbox))
    assert "2 held by another collector" in report.summary_line()
    held = {w.post_id: w.claimed_until for w in store.watchlist()}
    assert all(held[i] is not None for i in other.post_ids), "the other claim is untouched"
    assert all(held[i] is None for i in ids if i not in other.post_ids), "ours were released"


def test_following_the_connected_account_watches_its_new_posts_and_reads_them(
    sandbox: Sandbox, store: Store
) -> None:
    start = sandbox.clock.now()
    with client(sandbox) as reader:
        me = reader.get_me()
        store.watch_account(Account(user_id=me.id, username=me.username), now=start)
        later(sandbox, 12 * 3600)
        report = collect(store=store, client=reader, me=me, clock=sandbox.clock.now)
        now = sandbox.clock.now()
        new = {p.id for p in sandbox.world.posts_by(me.id, at=now) if p.created_at > start}
        assert new, "the demo account posts over 12 hours"
        assert report.discovered == len(new) and report.read == len(new)
        assert {w.post_id for w in store.watchlist() if w.origin == MINE_ORIGIN} == new
        timeline = sandbox.request_log.entries(f"/2/users/{me.id}/tweets")
        assert len(timeline) == 1 and "start_time" in timeline[0].params
        assert report.billable == len(new), "the timeline and the lookup the same day: billed once"

        later(sandbox, 10 * 3600)
        next_run = collect(store=store, client=reader, me=me, clock=sandbox.clock.now)
        newer = {
            p.id
            for p in sandbox.world.posts_by(me.id, at=sandbox.clock.now())
            if p.created_at > now
        }
        second = sandbox.request_log.entries(f"/2/users/{me.id}/tweets")[-1]
        assert second.params.get("since_id") == max(new, key=int)
        assert next_run.discovered == len(newer)
        assert next_run.read == len(new) + len(newer), "the new ones and the hourly re-reads"


def test_a_run_where_x_fails_every_read_stops_saves_the_failures_and_leaves_them_due(
    sandbox: Sandbox, store: Store
) -> None:
    ids = demo_posts(sandbox, 3)
    store.watch(ids, now=sandbox.clock.now())
    sandbox.faults.configure(FaultConfig(rate_500=1.0, path_prefix="/2/tweets"))
    reader_retry = RetryPolicy(max_attempts=1)
    from xmetrics_core.client import XClient

    with XClient(
        credential=OAuth1Credential(
            consumer_key=sandbox.demo.consumer_key,
            consumer_secret=sandbox.demo.consumer_secret,
            access_token=sandbox.demo.access_token,
            access_token_secret=sandbox.demo.access_token_secret,
        ),
        base_url=sandbox.base_url,
        clock=sandbox.clock.now,
        retry=reader_retry,
    ) as reader:
        me = reader.get_me()
        failed = collect(store=store, client=reader, me=me, clock=sandbox.clock.now)
        assert (failed.failed, failed.read, failed.billable) == (3, 0, 0)
        assert failed.stopped is not None and "failed every read" in failed.stopped
        assert len(store.due(now=sandbox.clock.now())) == 3, "a failed read leaves them due"
        sandbox.faults.clear()
        retried = collect(store=store, client=reader, me=me, clock=sandbox.clock.now)
    assert (retried.read, retried.failed, retried.stopped) == (3, 0, None)
    statuses = store.history_rows(ids)["status"].tolist()
    assert statuses.count("failed") == 3 and len(statuses) == 6


def test_a_refused_credential_ends_the_run_and_releases_its_claims(
    sandbox: Sandbox, store: Store
) -> None:
    ids = demo_posts(sandbox, 3)
    store.watch(ids, now=sandbox.clock.now())
    with client(
        sandbox,
        OAuth1Credential(
            consumer_key=sandbox.demo.consumer_key,
            consumer_secret=sandbox.demo.consumer_secret,
            access_token=sandbox.demo.access_token,
            access_token_secret="not-the-secret",
        ),
    ) as reader:
        report = collect(store=store, client=reader, me=None, clock=sandbox.clock.now)
    assert report.stopped is not None and report.read == 0
    assert all(w.claimed_until is None for w in store.watchlist())
    assert len(store.due(now=sandbox.clock.now())) == 3


def test_an_app_only_token_collects_public_metrics_as_the_app(
    sandbox: Sandbox, store: Store
) -> None:
    ids = demo_posts(sandbox, 2)
    store.watch(ids, now=sandbox.clock.now())
    with client(sandbox, bearer(sandbox)) as reader:
        report = collect(store=store, client=reader, me=None, clock=sandbox.clock.now)
    assert report.read == 2 and report.billable_owned == 0
    assert report.estimated_usd == pytest.approx(2 * 0.005)
    rows = store.history_rows(ids)
    assert rows["public_metrics.like_count"].notna().all()
    assert rows["non_public_metrics.impression_count"].isna().all()
