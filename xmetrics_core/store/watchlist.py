"""The collector's watchlist: which Posts to read, when (a schedule by age), and claims so two
collectors running at once never read the same Post twice.

**Schedule.** A Post of age *a* is read every *interval(a)*: by default hourly until 48 hours,
daily until 30 days, weekly after (:data:`DEFAULT_SCHEDULE`; :meth:`Schedule.parse` reads
``"48h:1h,30d:1d,*:7d"``). Intervals are aligned buckets of UTC time: a Post is due when its
last read was in an earlier bucket (an earlier UTC hour, UTC day, or 7-day week) than now, so
it is read at most once per interval, a collector started by cron a few seconds early or late
never skips a whole interval, and the daily reads fall one per UTC day, the day X bills a
Post once. Any read counts, whoever made it (dashboard, CLI, collector); a FAILED one does not
(a Post whose reads all failed on its last day is due again).

**Claims.** :func:`claim_due` marks the due Posts it hands out with a claim token and a lease
(``claimed_until``) in one write transaction: SQLite's write lock (``BEGIN IMMEDIATE``)
serialises claimers; on PostgreSQL the due rows are locked with ``SELECT … FOR UPDATE SKIP
LOCKED``, so a second claimer skips them instead of waiting. A claimed Post is not handed out
again until the claim is released (:func:`release`) or its lease ends (a collector killed
mid-run does not hold its Posts for ever).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from xmetrics_core.models import PostStatus
from xmetrics_core.references import snowflake_time
from xmetrics_core.store.keys import (
    Account,
    KeyCache,
    account_pk,
    chunks,
    epoch,
    from_epoch,
    insert_ignore,
    select_keys,
)
from xmetrics_core.store.schema import (
    STATUS_CODES,
    accounts,
    fetches,
    post_days,
    post_snapshots,
    posts,
    watched_accounts,
    watchlist,
)
from xmetrics_core.store.snapshots import post_keys

#: Default time a claim holds its Posts if the collector never releases it.
DEFAULT_LEASE: Final = timedelta(minutes=15)
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"48h"``, ``"30d"``, ``"2w"`` → timedelta."""
    match = _DURATION.match(text.lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 1h, 1d, 1w)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True, slots=True)
class Tier:
    """Read every ``every`` while the Post is younger than ``until_age`` (None: for ever)."""

    until_age: timedelta | None
    every: timedelta


@dataclass(frozen=True, slots=True)
class Schedule:
    """Tiers by age, youngest first; a Post older than the last bounded tier is not read any
    more unless the last tier is unbounded."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("a schedule needs at least one tier")
        ages = [t.until_age for t in self.tiers]
        if any(a is None for a in ages[:-1]):
            raise ValueError("only the last tier may run for ever")
        bounded = [a for a in ages if a is not None]
        if bounded != sorted(bounded) or len(set(bounded)) != len(bounded):
            raise ValueError("tiers must be in increasing age")
        if any(t.every.total_seconds() < 1 for t in self.tiers):
            raise ValueError("intervals must be at least one second")

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """``"48h:1h,30d:1d,*:7d"``: read hourly until 48 h, daily until 30 days, weekly
        after. Without a final ``*:EVERY`` Posts stop being read after the last age."""
        tiers = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            age, sep, every = part.partition(":")
            if not sep:
                raise ValueError(f"schedule tier {part!r}: write AGE:EVERY, e.g. 48h:1h")
            until = None if age.strip() == "*" else parse_duration(age)
            tiers.append(Tier(until, parse_duration(every)))
        return cls(tuple(tiers))

    def interval(self, age: timedelta) -> timedelta | None:
        """How often a Post of this age is read (None: no longer read)."""
        for tier in self.tiers:
            if tier.until_age is None or age < tier.until_age:
                return tier.every
        return None

    def interval_seconds(self, age: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
        """:meth:`interval` in SQL, in whole seconds (NULL: no longer read)."""
        whens = [
            (age < int(t.until_age.total_seconds()), int(t.every.total_seconds()))
            for t in self.tiers
            if t.until_age is not None
        ]
        last = self.tiers[-1]
        otherwise = None if last.until_age is not None else int(last.every.total_seconds())
        if not whens:
            return sa.literal(otherwise, sa.BigInteger)
        return sa.case(*whens, else_=sa.literal(otherwise, sa.BigInteger))


DEFAULT_SCHEDULE: Final = Schedule.parse("48h:1h,30d:1d,*:7d")


@dataclass(frozen=True, slots=True, kw_only=True)
class DuePost:
    post_id: str
    created_at: datetime | None
    last_read_at: datetime | None
    interval: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """Posts handed to one collector run; release it when their results are saved."""

    token: str
    post_ids: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowedAccount:
    """An account whose new Posts the collector watches (``watch add --mine``)."""

    account: Account
    followed_since: datetime
    newest_post_id: str | None
    """The account's newest Post the store knows (its created_at, then ID), None if none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchedPost:
    post_id: str
    added_at: datetime
    origin: str
    created_at: datetime | None
    last_read_at: datetime | None
    claimed_until: datetime | None


_FAILED: Final = STATUS_CODES[PostStatus.FAILED]


def _last_reads() -> sa.CTE:
    """``(post_pk, last_read)`` for every watched Post: the time of its newest read that did not
    fail, on the last UTC day it has snapshots (found through ``post_days`` and that day's
    fetches, newest first: a few key lookups, never a scan of the snapshots). A day whose
    every read failed leaves it NULL: due again. Materialized: computed once per Post."""
    last_day = (
        sa.select(sa.func.max(post_days.c.day))
        .where(post_days.c.post_pk == watchlist.c.post_pk)
        .correlate(watchlist)
        .scalar_subquery()
    )
    newest = (
        sa.select(fetches.c.fetched_at)
        .select_from(fetches)
        .join(
            post_snapshots,
            sa.and_(
                post_snapshots.c.fetch_pk == fetches.c.pk,
                post_snapshots.c.post_pk == watchlist.c.post_pk,
            ),
        )
        .where(fetches.c.day == last_day, post_snapshots.c.status != _FAILED)
        .order_by(fetches.c.fetched_at.desc(), fetches.c.pk.desc())
        .limit(1)
        .correlate(watchlist)
        .scalar_subquery()
    )
    return (
        sa.select(watchlist.c.post_pk, newest.label("last_read"))
        .cte("last_reads")
        .prefix_with("MATERIALIZED")
    )


def add(
    connection: sa.Connection,
    post_ids: Iterable[str],
    *,
    now: datetime,
    origin: str,
    learnt: KeyCache,
) -> int:
    """Watch these Posts; returns how many were not watched before."""
    ids = sorted(set(post_ids))
    if not ids:
        return 0
    info: dict[str, tuple[str | None, int | None, str | None]] = {}
    for post_id in ids:
        created = snowflake_time(post_id)
        info[post_id] = (None, None if created is None else epoch(created), None)
    keys = post_keys(connection, info, learnt)
    watched = select_keys(connection, watchlist.c.post_pk, (), keys.values())
    new = [i for i in ids if keys[i] not in watched]
    for part in chunks(new):
        connection.execute(
            insert_ignore(connection, watchlist),
            [{"post_pk": keys[i], "added_at": epoch(now), "origin": origin} for i in part],
        )
    return len(new)


def remove(connection: sa.Connection, post_ids: Iterable[str]) -> int:
    """Stop watching these Posts (their snapshots stay); returns how many were watched."""
    removed = 0
    for part in chunks(sorted(set(post_ids))):
        keys = sa.select(posts.c.pk).where(posts.c.id.in_(part)).scalar_subquery()
        removed += connection.execute(
            sa.delete(watchlist).where(watchlist.c.post_pk.in_(keys))
        ).rowcount
    return removed


def listed(connection: sa.Connection) -> list[WatchedPost]:
    """Every watched Post, youngest first."""
    last_reads = _last_reads()
    rows = connection.execute(
        sa.select(
            posts.c.id,
            watchlist.c.added_at,
            watchlist.c.origin,
            posts.c.created_at,
            last_reads.c.last_read,
            watchlist.c.claimed_until,
        )
        .select_from(watchlist)
        .join(posts, posts.c.pk == watchlist.c.post_pk)
        .join(last_reads, last_reads.c.post_pk == watchlist.c.post_pk)
        .order_by(sa.desc(posts.c.created_at), posts.c.id)
    ).all()
    return [
        WatchedPost(
            post_id=r.id,
            added_at=from_epoch(r.added_at),
            origin=r.origin,
            created_at=None if r.created_at is None else from_epoch(r.created_at),
            last_read_at=None if r.last_read is None else from_epoch(r.last_read),
            claimed_until=None if r.claimed_until is None else from_epoch(r.claimed_until),
        )
        for r in rows
    ]


def _due_query(
    *, now: datetime, schedule: Schedule, unclaimed_only: bool
) -> sa.Select[tuple[int, str, int | None, int | None, int]]:
    moment = sa.literal(epoch(now), sa.BigInteger)
    born = sa.func.coalesce(posts.c.created_at, watchlist.c.added_at)
    interval = schedule.interval_seconds(moment - born)
    last_reads = _last_reads()
    last = last_reads.c.last_read
    conditions: list[sa.ColumnElement[bool]] = [
        interval.is_not(None),
        sa.or_(last.is_(None), last // interval < moment // interval),
    ]
    if unclaimed_only:
        conditions.append(
            sa.or_(watchlist.c.claimed_until.is_(None), watchlist.c.claimed_until <= moment)
        )
    return (
        sa.select(
            watchlist.c.post_pk,
            posts.c.id,
            posts.c.created_at,
            last.label("last_read"),
            interval.label("interval"),
        )
        .select_from(watchlist)
        .join(posts, posts.c.pk == watchlist.c.post_pk)
        .join(last_reads, last_reads.c.post_pk == watchlist.c.post_pk)
        .where(*conditions)
        .order_by(sa.nulls_first(sa.asc(last)), sa.desc(born), watchlist.c.post_pk)
    )


def _due_posts(
    rows: Sequence[sa.Row[tuple[int, str, int | None, int | None, int]]],
) -> list[DuePost]:
    return [
        DuePost(
            post_id=r.id,
            created_at=None if r.created_at is None else from_epoch(r.created_at),
            last_read_at=None if r.last_read is None else from_epoch(r.last_read),
            interval=timedelta(seconds=int(r.interval)),
        )
        for r in rows
    ]


def due(
    connection: sa.Connection, *, now: datetime, schedule: Schedule, limit: int | None = None
) -> list[DuePost]:
    """Watched Posts due a read now (claimed ones included), least recently read first."""
    query = _due_query(now=now, schedule=schedule, unclaimed_only=False)
    if limit is not None:
        query = query.limit(limit)
    return _due_posts(connection.execute(query).all())


def claim(
    connection: sa.Connection,
    *,
    now: datetime,
    schedule: Schedule,
    limit: int,
    lease: timedelta,
) -> Claim:
    """Claim up to ``limit`` due, unclaimed Posts (inside the caller's write transaction)."""
    token = secrets.token_hex(16)
    expires = now + lease
    query = _due_query(now=now, schedule=schedule, unclaimed_only=True).limit(max(0, limit))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=watchlist)
    rows = connection.execute(query).all()
    keys = [r.post_pk for r in rows]
    for part in chunks(sorted(keys)):
        connection.execute(
            sa.update(watchlist)
            .where(watchlist.c.post_pk.in_(part))
            .values(claimed_by=token, claimed_until=epoch(expires))
        )
    return Claim(token=token, post_ids=tuple(r.id for r in rows), expires_at=expires)


def release(connection: sa.Connection, token: str) -> int:
    """End a claim (its Posts can be handed out again when due); returns how many it held."""
    return connection.execute(
        sa.update(watchlist)
        .where(watchlist.c.claimed_by == token)
        .values(claimed_by=None, claimed_until=None)
    ).rowcount


def watch_account(
    connection: sa.Connection, account: Account, *, now: datetime, learnt: KeyCache
) -> bool:
    """Follow an account's new Posts (``watch add --mine``); False if already followed."""
    key = account_pk(connection, account, learnt)
    inserted = connection.execute(
        insert_ignore(connection, watched_accounts)
        .values(account_pk=key, added_at=epoch(now))
        .returning(watched_accounts.c.account_pk)
    ).scalar()
    return inserted is not None


def unwatch_account(connection: sa.Connection, user_id: str) -> bool:
    keys = sa.select(accounts.c.pk).where(accounts.c.user_id == user_id).scalar_subquery()
    return bool(
        connection.execute(
            sa.delete(watched_accounts).where(watched_accounts.c.account_pk.in_(keys))
        ).rowcount
    )


def followed_accounts(connection: sa.Connection) -> list[Account]:
    rows = connection.execute(
        sa.select(accounts.c.user_id, accounts.c.username)
        .join(watched_accounts, watched_accounts.c.account_pk == accounts.c.pk)
        .order_by(accounts.c.user_id)
    ).all()
    return [Account(user_id=r.user_id, username=r.username) for r in rows]


def followed(connection: sa.Connection) -> list[FollowedAccount]:
    """Every followed account, when it was followed and its newest Post the store knows (where
    the collector's next look at its timeline starts: ``since_id``)."""
    newest = (
        sa.select(posts.c.id)
        .where(posts.c.author_id == accounts.c.user_id)
        .order_by(
            sa.desc(posts.c.created_at), sa.desc(sa.func.length(posts.c.id)), sa.desc(posts.c.id)
        )
        .limit(1)
        .correlate(accounts)
        .scalar_subquery()
    )
    rows = connection.execute(
        sa.select(
            accounts.c.user_id,
            accounts.c.username,
            watched_accounts.c.added_at,
            newest.label("newest"),
        )
        .join(watched_accounts, watched_accounts.c.account_pk == accounts.c.pk)
        .order_by(accounts.c.user_id)
    ).all()
    return [
        FollowedAccount(
            account=Account(user_id=r.user_id, username=r.username),
            followed_since=from_epoch(r.added_at),
            newest_post_id=r.newest,
        )
        for r in rows
    ]


__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_SCHEDULE",
    "Claim",
    "DuePost",
    "FollowedAccount",
    "Schedule",
    "Tier",
    "WatchedPost",
    "parse_duration",
]
