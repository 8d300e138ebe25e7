"""The cost ledger: every read counted, billed once per Post per UTC day, own Posts cheaper,
prices as settings, and what a planned fetch would add to today's bill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.store.builders import ME, SOMEONE, impressions, post_id, record, result
from xmetrics_core.store import Account, ReadPrices, Store

MINE = Account(user_id=ME, username="me")
NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def read(
    store: Store,
    at: datetime,
    ids_and_authors: list[tuple[str, str]],
    *,
    source: str = "collector",
    account: Account | None = MINE,
) -> None:
    created = datetime(2026, 11, 9, tzinfo=UTC)
    records = [
        record(pid, created=created, author=author, metrics=impressions(1))
        for pid, author in ids_and_authors
    ]
    store.save(result(records, at=at), source=source, account=account)  # type: ignore[arg-type]


def ids(n: int, author: str = ME, start: int = 0) -> list[tuple[str, str]]:
    created = datetime(2026, 11, 9, tzinfo=UTC)
    return [(post_id(created, start + k), author) for k in range(n)]


def test_reading_a_post_again_the_same_utc_day_costs_nothing_more(store: Store) -> None:
    posts = ids(3, SOMEONE)
    read(store, NOON, posts)
    read(store, NOON + timedelta(hours=1), posts)
    read(store, NOON + timedelta(hours=2), posts, source="dashboard")
    spend = store.spend(now=NOON + timedelta(hours=3), account=MINE)
    assert spend.today.reads == 9
    assert spend.today.billable_reads == 3
    assert spend.today.estimated_usd == pytest.approx(3 * 0.005)
    assert spend.day == NOON.date()


def test_a_new_utc_day_bills_again_and_the_month_adds_up(store: Store) -> None:
    posts = ids(2, SOMEONE)
    midnight = datetime(2026, 11, 11, tzinfo=UTC)
    read(store, midnight - timedelta(seconds=1), posts)  # 23:59:59 on the 10th
    read(store, midnight, posts)  # 00:00:00 on the 11th
    read(store, datetime(2026, 10, 31, 23, 0, tzinfo=UTC), posts)  # last month: not counted
    spend = store.spend(now=midnight + timedelta(hours=5), account=MINE)
    assert (spend.today.reads, spend.today.billable_reads) == (2, 2)
    assert (spend.month.reads, spend.month.billable_reads) == (4, 4)
    assert spend.month.estimated_usd == pytest.approx(4 * 0.005)


def test_own_posts_are_priced_as_owned_reads(store: Store) -> None:
    read(store, NOON, ids(4, ME) + ids(6, SOMEONE, start=10))
    spend = store.spend(now=NOON, account=MINE)
    assert spend.today.billable_owned == 4 and spend.today.billable_reads == 10
    assert spend.today.estimated_usd == pytest.approx(4 * 0.001 + 6 * 0.005)
    dearer = store.spend(
        now=NOON, account=MINE, prices=ReadPrices(post_read=0.01, owned_post_read=0.002)
    )
    assert dearer.today.estimated_usd == pytest.approx(4 * 0.002 + 6 * 0.01)


def test_accounts_are_counted_apart_and_together(store: Store) -> None:
    posts = ids(2, SOMEONE)
    read(store, NOON, posts, account=MINE)
    read(store, NOON, posts, account=Account(user_id="7"), source="cli")
    read(store, NOON, posts, account=None, source="cli")  # app-only Bearer token
    assert store.spend(now=NOON, account=MINE).today.billable_reads == 2
    assert store.spend(now=NOON).today.billable_reads == 6
    assert store.spend(now=NOON, account=Account(user_id="never")).today.reads == 0


def test_prices_are_settings_with_xs_published_defaults() -> None:
    assert ReadPrices() == ReadPrices(post_read=0.005, owned_post_read=0.001)
    env = {"XMETRICS_PRICE_POST_READ": "0.006", "XMETRICS_PRICE_OWNED_POST_READ": " "}
    assert ReadPrices.from_env(env) == ReadPrices(post_read=0.006, owned_post_read=0.001)
    with pytest.raises(ValueError, match="XMETRICS_PRICE_POST_READ"):
        ReadPrices.from_env({"XMETRICS_PRICE_POST_READ": "five cents"})
    with pytest.raises(ValueError, match="negative"):
        ReadPrices(post_read=-1)


def test_a_planned_fetch_says_how_many_billable_reads_it_will_make_today(store: Store) -> None:
    mine, theirs = ids(3, ME), ids(3, SOMEONE, start=10)
    read(store, NOON, mine[:2] + theirs[:1])
    read(store, NOON - timedelta(days=1), theirs[1:2] + mine[2:])  # yesterday: billable again
    wanted = [p for p, _ in mine + theirs] + ["1460323737035677698", mine[0][0]]
    plan = store.plan_reads(wanted, account=MINE, now=NOON + timedelta(hours=1))
    assert plan.requested == 7  # duplicates once
    assert plan.already_read_today == 3
    assert plan.billable == 4
    assert plan.billable_owned == 1  # the third own Post, known; unknown ones count at full price
    assert plan.estimated_usd == pytest.approx(1 * 0.001 + 3 * 0.005)
    tomorrow = store.plan_reads(wanted, account=MINE, now=NOON + timedelta(days=1))
    assert tomorrow.already_read_today == 0 and tomorrow.billable == 7
    stranger = store.plan_reads(wanted, account=Account(user_id="8"), now=NOON)
    assert stranger.billable == 7 and stranger.billable_owned == 0
