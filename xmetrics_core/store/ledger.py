"""The cost ledger: every Post read counted, and what the reads are estimated to cost.

X's pay-per-use billing (FACTS §3): a Post read costs $0.005 per Post returned, an owned read
$0.001, and a resource is billed once per UTC day ("deduplicated per 24h UTC day"). The ledger
keeps one ``reads`` row per (UTC day, account, Post, source) with how many times it was read,
so:

* **reads** count every time X returned the Post (a Post fetched twice counts twice);
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
from datetime import date, datetime
from typing import Final

import sqlalchemy as sa

from xmetrics_core.store.keys import (
    Account,
    KeyCache,
    chunks,
    epoch,
    existing_account_pk,
    insert,
    utc_day,
)
from xmetrics_core.store.schema import posts, reads

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


def record_reads(
    connection: sa.Connection,
    read_posts: Sequence[tuple[int, bool]],
    *,
    account_pk: int,
    source: str,
    read_at: datetime,
) -> None:
    """Count one read of each ``(post key, owned)`` (inside the saving transaction)."""
    if not read_posts:
        return
    moment = epoch(read_at)
    rows = [
        {
            "day": utc_day(read_at),
            "account_pk": account_pk,
            "post_pk": pk,
            "source": source,
            "owned": owned,
            "read_count": 1,
            "first_read_at": moment,
            "last_read_at": moment,
        }
        for pk, owned in sorted(dict(read_posts).items())
    ]
    statement = insert(connection, reads)
    statement = statement.on_conflict_do_update(
        index_elements=[reads.c.day, reads.c.account_pk, reads.c.post_pk, reads.c.source],
        set_={
            "read_count": reads.c.read_count + statement.excluded.read_count,
            "first_read_at": sa.func.least(reads.c.first_read_at, statement.excluded.first_read_at)
            if connection.dialect.name == "postgresql"
            else sa.func.min(reads.c.first_read_at, statement.excluded.first_read_at),
            "last_read_at": sa.func.greatest(reads.c.last_read_at, statement.excluded.last_read_at)
            if connection.dialect.name == "postgresql"
            else sa.func.max(reads.c.last_read_at, statement.excluded.last_read_at),
        },
    )
    for part in chunks(rows):
        connection.execute(statement, list(part))


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
    if account is not None:
        key = existing_account_pk(connection, account.user_id, cache)
        if key is None:
            return Spend(day=today, today=empty, month=empty, prices=prices)
        conditions.append(reads.c.account_pk == key)
    per_post = (
        sa.select(
            reads.c.day,
            sa.func.max(sa.cast(reads.c.owned, sa.Integer)).label("owned"),
            sa.func.sum(reads.c.read_count).label("n"),
        )
        .where(*conditions)
        .group_by(reads.c.day, reads.c.account_pk, reads.c.post_pk)
        .subquery()
    )
    is_today = sa.case((per_post.c.day == today, 1), else_=0).label("is_today")
    rows = connection.execute(
        sa.select(
            is_today,
            per_post.c.owned,
            sa.func.count().label("billable"),
            sa.func.sum(per_post.c.n).label("reads"),
        ).group_by(is_today, per_post.c.owned)
    ).all()
    totals = {(d, o): (int(b), int(r)) for d, o, b, r in rows}

    def period(days: Iterable[int]) -> PeriodSpend:
        chosen = [(o, b, r) for (d, o), (b, r) in totals.items() if d in set(days)]
        billable = sum(b for _, b, _ in chosen)
        owned = sum(b for o, b, _ in chosen if o)
        return PeriodSpend(
            reads=sum(r for _, _, r in chosen),
            billable_reads=billable,
            billable_owned=owned,
            estimated_usd=prices.cost(billable=billable, owned=owned),
        )

    return Spend(day=today, today=period([1]), month=period([0, 1]), prices=prices)


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
                sa.select(posts.c.id).where(posts.c.id.in_(part), posts.c.author_id == account.user_id)
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
    )
