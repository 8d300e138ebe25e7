"""The cost ledger: every Post read counted, and what the reads are estimated to cost.

X's pay-per-use billing (FACTS §3): a Post read costs $0.005 per Post returned, an owned read
$0.001, and a resource is billed once per UTC day ("deduplicated per 24h UTC day"). The ledger
keeps one ``reads`` row per (UTC day, account, Post, source) that read the Post that day, and
each saved fetch counts the Posts X returned in it (``fetches.read_count``), so:

* **reads** count every time X returned a Post (a Post fetched twice counts twice);
* **billable reads** count each (UTC day, account, Post) once: reading a Post again the same
  UTC day costs nothing more. Deduplication is per xmetrics account, which is per developer
  app for the usual one-app, one-account user; reads through two apps are billed twice by X
  and counted twice here, so the estimate errs on the high side, never the low one;
* a read is **owned** when the Post's author is the account that read it.

Prices are settings (:class:`ReadPrices`) defaulting to X's published prices and are always
shown as estimates: X applies the owned price to reads of an account's own Posts when that
user owns the developer app, and X's invoice is the truth. The month is the UTC calendar
month (X's billing month may start on another day).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import sqlalchemy as sa

from xmetrics_core.store.keys import (
    Account,
    KeyCache,
    bulk_statement,
    chunks,
    day_start,
    epoch,
    existing_account_pk,
    run_bulk,
    utc_day,
)
from xmetrics_core.store.schema import fetches, posts, reads

POST_READ_PRICE_ENV: Final = "XMETRICS_PRICE_POST_READ"
OWNED_POST_READ_PRICE_ENV: Final = "XMETRICS_PRICE_OWNED_POST_READ"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadPrices:
    """Estimated US dollars per billable Post read: X's published pay-per-use prices by
    default (FACTS §3). Estimates, not X's invoice."""

    post_read: float = 0.005
    owned_post_read: float = 0.001

    def __post_init__(self) -> None:
        if self.post_read < 0 or self.owned_post_read < 0:
            raise ValueError("read prices cannot be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReadPrices:
        """Defaults, overridden by ``XMETRICS_PRICE_POST_READ`` / ``…_OWNED_POST_READ``."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def price(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a price in US dollars, e.g. 0.005") from None

        return cls(
            post_read=price(POST_READ_PRICE_ENV, defaults.post_read),
            owned_post_read=price(OWNED_POST_READ_PRICE_ENV, defaults.owned_post_read),
        )

    def cost(self, *, billable: int, owned: int) -> float:
        """Estimated dollars for ``billable`` reads of which ``owned`` are of own Posts."""
        return (billable - owned) * self.post_read + owned * self.owned_post_read


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodSpend:
    reads: int
    """Every time X returned a Post."""
    billable_reads: int
    """Distinct (UTC day, account, Post)."""
    billable_owned: int
    """Of those, reads of the account's own Posts."""
    estimated_usd: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Spend:
    """Reads and estimated spend today (UTC) and in this UTC calendar month."""

    day: date
    today: PeriodSpend
    month: PeriodSpend
    prices: ReadPrices


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadPlan:
    """What fetching some Post IDs now would add to today's bill (an upper bound: an ID that
    turns out deleted is not billed)."""

    requested: int
    """Unique IDs asked for."""
    already_read_today: int
    """Read by this account earlier this UTC day: free."""
    billable: int
    billable_owned: int
    """Known to be the account's own Posts (others count at the full price)."""
    estimated_usd: float
    read_today_ids: frozenset[str] = frozenset()
    """The IDs of :attr:`already_read_today` (the collector reads them for free)."""
    owned_ids: frozenset[str] = frozenset()
    """The IDs known to be the account's own Posts."""


def record_reads(
    connection: sa.Connection,
    read_posts: Sequence[tuple[int, bool]],
    *,
    account_pk: int,
    source: str,
    read_at: datetime,
    learnt: KeyCache,
) -> None:
    """Note the first read this UTC day of each ``(post key, owned)`` by this account and
    source (inside the saving transaction; later reads that day are already billed)."""
    day = utc_day(read_at)
    known = learnt.reads.get(day, set())
    moment = epoch(read_at)
    rows = [
        (day, account_pk, pk, source, owned, moment)
        for pk, owned in sorted(dict(read_posts).items())
        if (account_pk, pk, source) not in known
    ]
    run_bulk(connection, _READ_INSERT[connection.dialect.name], READ_COLUMNS, rows)
    learnt.reads = {day: known | {(account_pk, pk, source) for _, _, pk, _, _, _ in rows}}


READ_COLUMNS: Final = ("day", "account_pk", "post_pk", "source", "owned", "first_read_at")
_READ_INSERT: Final = {
    d: bulk_statement(d, reads, READ_COLUMNS, lambda s: s.on_conflict_do_nothing())
    for d in ("sqlite", "postgresql")
}


def _month_start(day: date) -> date:
    return day.replace(day=1)


def spend(
    connection: sa.Connection,
    *,
    now: datetime,
    account: Account | None,
    prices: ReadPrices,
    cache: KeyCache,
) -> Spend:
    """Reads and estimated spend today and this month (one account, or every account)."""
    today = utc_day(now)
    empty = PeriodSpend(reads=0, billable_reads=0, billable_owned=0, estimated_usd=0.0)
    conditions = [reads.c.day >= _month_start(today), reads.c.day <= today]
    fetch_conditions = [
        fetches.c.fetched_at >= day_start(_month_start(today)),
        fetches.c.fetched_at < day_start(today + timedelta(days=1)),
    ]
    if account is not None:
        key = existing_account_pk(connection, account.user_id, cache)
        if key is None:
            return Spend(day=today, today=empty, month=empty, prices=prices)
        conditions.append(reads.c.account_pk == key)
        fetch_conditions.append(fetches.c.account_pk == key)
    per_post = (
        sa.select(reads.c.day, sa.func.max(sa.cast(reads.c.owned, sa.Integer)).label("owned"))
        .where(*conditions)
        .group_by(reads.c.day, reads.c.account_pk, reads.c.post_pk)
        .subquery()
    )
    is_today = sa.case((per_post.c.day == today, 1), else_=0).label("is_today")
    billable = {
        (int(d), int(o)): int(n)
        for d, o, n in connection.execute(
            sa.select(is_today, per_post.c.owned, sa.func.count()).group_by(
                is_today, per_post.c.owned
            )
        ).all()
    }
    fetch_today = sa.case((fetches.c.fetched_at >= day_start(today), 1), else_=0).label("is_today")
    read_counts = {
        int(d): int(n or 0)
        for d, n in connection.execute(
            sa.select(fetch_today, sa.func.sum(fetches.c.read_count))
            .where(*fetch_conditions)
            .group_by(fetch_today)
        ).all()
    }

    def period(days: set[int]) -> PeriodSpend:
        total = sum(n for (d, _), n in billable.items() if d in days)
        owned = sum(n for (d, o), n in billable.items() if d in days and o)
        return PeriodSpend(
            reads=sum(n for d, n in read_counts.items() if d in days),
            billable_reads=total,
            billable_owned=owned,
            estimated_usd=prices.cost(billable=total, owned=owned),
        )

    return Spend(day=today, today=period({1}), month=period({0, 1}), prices=prices)


def plan_reads(
    connection: sa.Connection,
    post_ids: Iterable[str],
    *,
    account: Account,
    now: datetime,
    prices: ReadPrices,
    cache: KeyCache,
) -> ReadPlan:
    """How many billable reads fetching ``post_ids`` now would make (see :class:`ReadPlan`)."""
    wanted = sorted(set(post_ids))
    key = existing_account_pk(connection, account.user_id, cache)
    read_today: set[str] = set()
    owned: set[str] = set()
    for part in chunks(wanted):
        owned.update(
            connection.execute(
                sa.select(posts.c.id).where(
                    posts.c.id.in_(part), posts.c.author_id == account.user_id
                )
            ).scalars()
        )
        if key is not None:
            read_today.update(
                connection.execute(
                    sa.select(posts.c.id)
                    .join(reads, reads.c.post_pk == posts.c.pk)
                    .where(
                        posts.c.id.in_(part),
                        reads.c.day == utc_day(now),
                        reads.c.account_pk == key,
                    )
                    .distinct()
                ).scalars()
            )
    billable = [i for i in wanted if i not in read_today]
    billable_owned = sum(1 for i in billable if i in owned)
    return ReadPlan(
        requested=len(wanted),
        already_read_today=len(wanted) - len(billable),
        billable=len(billable),
        billable_owned=billable_owned,
        estimated_usd=prices.cost(billable=len(billable), owned=billable_owned),
        read_today_ids=frozenset(read_today),
        owned_ids=frozenset(owned),
    )
