"""Small shared pieces of the store: accounts, sources, times, dialect-neutral upserts and the
process-wide cache of integer keys.

Rows of ``accounts``, ``posts``, ``media`` and ``status_details`` are never deleted and their
integer keys never change, so each :class:`~xmetrics_core.store.Store` remembers the keys it
has seen. Keys learnt inside a transaction join the cache only after that transaction
commits (:meth:`KeyCache.merge`), so a rolled-back insert can never leave a key behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
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


Conflict = Callable[[Any], sa.Insert]
"""Adds the ``ON CONFLICT`` clause to a backend's INSERT (``lambda s: s.on_conflict_do_nothing()``)."""


def bulk_statement(
    dialect: str, table: sa.Table, columns: Sequence[str], conflict: Conflict
) -> sa.Insert:
    """An INSERT of many rows at once, with an ``ON CONFLICT`` clause, for :func:`run_bulk`.

    SQLite: one row of bound values, run with the driver's ``executemany``. PostgreSQL:
    ``INSERT … SELECT unnest(%(col)s::type[]), …``: one statement with one array per column,
    however many rows (a 1,000-row ``VALUES`` list of 30,000 parameters takes PostgreSQL
    longer to plan than to run, and ``executemany`` sends one statement per row).
    """
    if dialect == "postgresql":
        arrays = sa.select(
            *(
                sa.func.unnest(sa.cast(sa.bindparam(name), postgresql.ARRAY(table.c[name].type)))
                for name in columns
            )
        )
        return conflict(postgresql.insert(table).from_select(list(columns), arrays))
    return conflict(sqlite.insert(table).values({name: sa.bindparam(name) for name in columns}))


def run_bulk(
    connection: sa.Connection,
    statement: sa.Insert,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Run a :func:`bulk_statement` for ``rows`` (tuples in ``columns`` order) through the
    driver, inside the connection's transaction.

    The hot path of saving: SQLAlchemy's per-row parameter processing costs about 5 µs a row,
    a third of a 1,000-Post save, and buys nothing for plain integers and strings. The SQL
    itself (columns, quoting, ``ON CONFLICT``) is SQLAlchemy's, compiled once per process.
    """
    if not rows:
        return
    sql, order = _compiled(connection, statement, columns)
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            arrays = zip(*rows, strict=True)
            cursor.execute(sql, {name: list(v) for name, v in zip(columns, arrays, strict=True)})
        elif order is None:
            cursor.executemany(sql, [dict(zip(columns, row, strict=True)) for row in rows])
        elif order == list(range(len(columns))):
            cursor.executemany(sql, rows)
        else:
            cursor.executemany(sql, [tuple(row[i] for i in order) for row in rows])
    finally:
        cursor.close()


def copy_rows(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Append rows that cannot exist yet (their key holds a fetch created in this very
    transaction): PostgreSQL's ``COPY … FROM STDIN``, SQLite's ``executemany``."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        key = (table.name, tuple(columns))
        statement = _PLAIN_INSERTS.get(key)
        if statement is None:
            statement = _PLAIN_INSERTS[key] = bulk_statement(
                "sqlite", table, columns, lambda s: s.on_conflict_do_nothing()
            )
        run_bulk(connection, statement, columns, rows)
        return
    quote = connection.dialect.identifier_preparer
    names = ", ".join(quote.quote(c) for c in columns)
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {quote.format_table(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


_PLAIN_INSERTS: dict[tuple[str, tuple[str, ...]], sa.Insert] = {}
#: SQL text and positional order of the statements :func:`run_bulk` has compiled (module
#: constants, so their ids are stable for the life of the process).
_COMPILED: dict[tuple[int, str], tuple[str, list[int] | None]] = {}


def _compiled(
    connection: sa.Connection, statement: sa.Insert, columns: Sequence[str]
) -> tuple[str, list[int] | None]:
    key = (id(statement), connection.dialect.name)
    known = _COMPILED.get(key)
    if known is None:
        done = statement.compile(dialect=connection.dialect)
        positions = done.positiontup or ()
        order = [list(columns).index(name) for name in positions] if done.positional else None
        known = _COMPILED[key] = (str(done), order)
    return known


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
    media_posts: set[tuple[int, int]] = field(default_factory=set)
    """(media key, Post key) links known to be stored."""
    post_days: dict[int, set[int]] = field(default_factory=dict)
    """UTC day number → Post keys known to have a ``post_days`` row that day."""
    media_days: dict[int, set[int]] = field(default_factory=dict)
    reads: dict[date, set[tuple[int, int, str]]] = field(default_factory=dict)
    """The ledger rows of the newest UTC day known to be stored: (account, Post, source)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, learnt: KeyCache) -> None:
        """Take in what a committed transaction learnt."""
        with self.lock:
            self.accounts.update(learnt.accounts)
            self.posts.update(learnt.posts)
            self.media.update(learnt.media)
            self.details.update(learnt.details)
            self.media_posts.update(learnt.media_posts)
            _merge_days(self.post_days, learnt.post_days)
            _merge_days(self.media_days, learnt.media_days)
            for day, known in learnt.reads.items():
                newest = max(self.reads, default=day)
                if day > newest:
                    self.reads = {day: set(known)}
                elif day == newest:
                    self.reads.setdefault(day, set()).update(known)

    def snapshot(self) -> KeyCache:
        """A private copy for one transaction to read and extend."""
        with self.lock:
            return KeyCache(
                accounts=dict(self.accounts),
                posts=dict(self.posts),
                media=dict(self.media),
                details=dict(self.details),
                media_posts=set(self.media_posts),
                post_days={day: set(keys) for day, keys in self.post_days.items()},
                media_days={day: set(keys) for day, keys in self.media_days.items()},
                reads={day: set(known) for day, known in self.reads.items()},
            )


def _merge_days(mine: dict[int, set[int]], learnt: dict[int, set[int]]) -> None:
    """Keep the newest day only (older days are never written again by an hourly saver)."""
    for day, keys in learnt.items():
        newest = max(mine, default=day)
        if day > newest:
            mine.clear()
            mine[day] = set(keys)
        elif day == newest:
            mine.setdefault(day, set()).update(keys)


def select_keys(
    connection: sa.Connection,
    key_column: sa.Column[Any],
    value_columns: Sequence[sa.Column[Any]],
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


__all__ = [
    "Account",
    "KeyCache",
    "Source",
    "epoch",
    "from_epoch",
    "utc",
    "utc_day",
]
