"""Small shared pieces of the store: accounts, sources, times, dialect-neutral upserts and the
process-wide cache of integer keys.

Rows of ``accounts``, ``posts``, ``media`` and ``status_details`` are never deleted and their
integer keys never change, so each :class:`~xmetrics_core.store.Store` remembers the keys it
has seen. Keys learnt inside a transaction join the cache only after that transaction
commits (:meth:`KeyCache.merge`), so a rolled-back insert can never leave a key behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Literal, TypeVar, get_args

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

Source = Literal["dashboard", "cli", "collector", "import"]
SOURCE_VALUES: Final[tuple[str, ...]] = get_args(Source)

#: Rows per statement for ``IN (...)`` lists and multi-row inserts (under SQLite's limits).
CHUNK: Final = 500

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """The X account whose credential read a result: its user ID and handle, never a token.

    ``Account.app_only()`` stands for reads made with an app-only Bearer token (no user).
    """

    user_id: str
    username: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id or not self.user_id.strip():
            raise ValueError("an account needs its X user ID")

    @classmethod
    def app_only(cls) -> Account:
        from xmetrics_core.store.schema import APP_ONLY_USER_ID

        return cls(user_id=APP_ONLY_USER_ID, username=None)


def checked_source(source: str) -> Source:
    if source not in SOURCE_VALUES:
        raise ValueError(f"unknown source {source!r}; one of {', '.join(SOURCE_VALUES)}")
    return source  # type: ignore[return-value]  # checked just above


# -- time --------------------------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused (the store never guesses a time zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time without a time zone: {moment.isoformat()} (use UTC)")
    return moment.astimezone(UTC)


def epoch(moment: datetime) -> int:
    """Whole seconds since the Unix epoch (UTC), rounded down."""
    return int(utc(moment).timestamp() // 1)


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def utc_day(moment: datetime) -> date:
    return utc(moment).date()


def day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# -- dialect-neutral statements ----------------------------------------------------------------


def insert(connection: sa.Connection, table: sa.Table) -> Any:
    """The backend's INSERT that knows ``ON CONFLICT`` (SQLite's or PostgreSQL's)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(connection: sa.Connection, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` on either backend."""
    return insert(connection, table).on_conflict_do_nothing()


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- the key cache -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostKey:
    pk: int
    has_author: bool


@dataclass(kw_only=True)
class KeyCache:
    """Known integer keys: accounts by user ID, Posts by ID, media by key, details by text."""

    accounts: dict[str, int] = field(default_factory=dict)
    posts: dict[str, PostKey] = field(default_factory=dict)
    media: dict[str, int] = field(default_factory=dict)
    details: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, learnt: KeyCache) -> None:
        """Take in what a committed transaction learnt."""
        with self.lock:
            self.accounts.update(learnt.accounts)
            self.posts.update(learnt.posts)
            self.media.update(learnt.media)
            self.details.update(learnt.details)

    def snapshot(self) -> KeyCache:
        """A private copy for one transaction to read and extend."""
        with self.lock:
            return KeyCache(
                accounts=dict(self.accounts),
                posts=dict(self.posts),
                media=dict(self.media),
                details=dict(self.details),
            )


def select_keys(
    connection: sa.Connection, key_column: sa.Column[Any], value_columns: Sequence[sa.Column[Any]],
    wanted: Iterable[Any],
) -> dict[Any, tuple[Any, ...]]:
    """``{key: (values…)}`` for the wanted keys that exist, in chunks."""
    found: dict[Any, tuple[Any, ...]] = {}
    ordered = sorted(set(wanted))
    for part in chunks(ordered):
        rows = connection.execute(
            sa.select(key_column, *value_columns).where(key_column.in_(part))
        ).all()
        found.update({row[0]: tuple(row[1:]) for row in rows})
    return found


def account_pk(connection: sa.Connection, account: Account, learnt: KeyCache) -> int:
    """The account's key, creating its row (and keeping its handle current)."""
    from xmetrics_core.store.schema import accounts

    known = learnt.accounts.get(account.user_id)
    if known is not None and account.username is None:
        return known
    connection.execute(
        insert(connection, accounts)
        .values(user_id=account.user_id, username=account.username)
        .on_conflict_do_nothing()
    )
    row = connection.execute(
        sa.select(accounts.c.pk, accounts.c.username).where(accounts.c.user_id == account.user_id)
    ).one()
    if account.username is not None and row.username != account.username:
        connection.execute(
            sa.update(accounts).where(accounts.c.pk == row.pk).values(username=account.username)
        )
    learnt.accounts[account.user_id] = row.pk
    return int(row.pk)


def existing_account_pk(connection: sa.Connection, user_id: str, cache: KeyCache) -> int | None:
    from xmetrics_core.store.schema import accounts

    known = cache.accounts.get(user_id)
    if known is not None:
        return known
    pk = connection.execute(sa.select(accounts.c.pk).where(accounts.c.user_id == user_id)).scalar()
    return None if pk is None else int(pk)


def mapping_of(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


__all__ = [
    "Account",
    "KeyCache",
    "Source",
    "epoch",
    "from_epoch",
    "utc",
    "utc_day",
]
