"""Where the store lives, how it is connected to, how its errors are named, and its migrations.

* :func:`database_url_from_env` picks the database: ``XMETRICS_DATABASE_URL`` when set (any
  SQLAlchemy URL of SQLite or PostgreSQL; ``postgresql://`` and ``postgres://`` mean psycopg 3),
  else the embedded SQLite file ``$XDG_DATA_HOME/xmetrics/history.db`` (``~/.local/share`` when
  ``XDG_DATA_HOME`` is unset). The Demo account's store is always its own file
  (``demo-history.db`` beside it, or ``XMETRICS_DEMO_DATABASE_URL``), never mixed with real data.
* :func:`create_store_engine` opens SQLite in WAL mode with a busy timeout and
  ``synchronous=NORMAL`` (a commit survives a killed process; WAL keeps readers and the one
  writer out of each other's way), and takes the write lock at the start of every write
  transaction (``BEGIN IMMEDIATE``), so two writers queue instead of failing half-way.
  PostgreSQL gets a connect timeout and a ``lock_timeout`` of the same length.
* :func:`translated` turns driver errors into the store's own (:mod:`.errors`).
* :func:`upgrade_schema` runs the Alembic migrations shipped in ``migrations/`` up to the
  head, under a lock (SQLite's write lock, a PostgreSQL advisory lock), so two processes
  opening a new store at once migrate it once. A database at a revision this version does
  not know (a newer xmetrics wrote it) is refused with :class:`~.errors.StoreTooNew` and left
  untouched; an older one is migrated forward, never dropped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from xmetrics_core.store.errors import (
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

DATABASE_URL_ENV: Final = "XMETRICS_DATABASE_URL"
DEMO_DATABASE_URL_ENV: Final = "XMETRICS_DEMO_DATABASE_URL"
HISTORY_FILE: Final = "history.db"
DEMO_HISTORY_FILE: Final = "demo-history.db"
#: Seconds a writer waits for another writer's lock before :class:`StoreLocked`.
DEFAULT_BUSY_TIMEOUT: Final = 10.0
#: Seconds to wait for a PostgreSQL server to answer a connection.
CONNECT_TIMEOUT: Final = 5
#: ``pg_advisory_xact_lock`` key that serialises migrations ("xmetrics" in ASCII, truncated).
MIGRATION_LOCK_KEY: Final = 0x786D6574726963
#: SQLite page cache per connection (KiB): a save touches one page per Post in each snapshot
#: table, so 1,000 Posts' pages should stay in memory between hourly saves.
SQLITE_CACHE_KIB: Final = 32 * 1024
#: Read the file through a memory map: a Post's snapshots sit on a page per read (time-major
#: keys), and a read() system call per page was most of a 20-Post, 30-day growth query.
SQLITE_MMAP_BYTES: Final = 1 << 30
SQLITE_PAGE_SIZE: Final = 4096
SQLITE_WAL_AUTOCHECKPOINT: Final = 1000
#: Execution option asking for a write transaction (``BEGIN IMMEDIATE`` on SQLite).
WRITE: Final = "xmetrics_write"

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")


# -- where the store lives ---------------------------------------------------------------------


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/xmetrics``, or ``~/.local/share/xmetrics`` (XDG Base Directory spec:
    an unset or relative ``XDG_DATA_HOME`` is ignored)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "xmetrics"


def default_sqlite_url(environ: Mapping[str, str] | None = None, *, demo: bool = False) -> str:
    """The embedded store's URL: ``sqlite:///<data dir>/history.db`` (or ``demo-history.db``)."""
    name = DEMO_HISTORY_FILE if demo else HISTORY_FILE
    return f"sqlite:///{data_dir(environ) / name}"


def database_url_from_env(environ: Mapping[str, str] | None = None, *, demo: bool = False) -> str:
    """The store's URL: ``XMETRICS_DATABASE_URL`` (``XMETRICS_DEMO_DATABASE_URL`` for the Demo
    account) when set and not blank, else :func:`default_sqlite_url`."""
    env = os.environ if environ is None else environ
    configured = env.get(DEMO_DATABASE_URL_ENV if demo else DATABASE_URL_ENV, "").strip()
    return configured or default_sqlite_url(env, demo=demo)


def normalised_url(url: str | sa.URL) -> sa.URL:
    """``url`` as an SQLAlchemy URL; ``postgresql://``/``postgres://`` use psycopg 3.

    Raises :class:`StoreUnavailable` for anything but SQLite and PostgreSQL.
    """
    try:
        parsed = sa.make_url(
            url.replace("postgres://", "postgresql://", 1) if isinstance(url, str) else url
        )
    except sa.exc.ArgumentError as exc:
        raise StoreUnavailable(f"not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise StoreUnavailable(
        f"xmetrics keeps history in SQLite or PostgreSQL, not {backend!r} ({safe_url(parsed)})"
    )


def safe_url(url: str | sa.URL) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


# -- engines -----------------------------------------------------------------------------------


def create_store_engine(
    url: str | sa.URL, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> sa.Engine:
    """An engine for the store at ``url`` (see the module docstring for the settings)."""
    parsed = normalised_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout=busy_timeout)
    lock_ms = max(1, int(busy_timeout * 1000))
    # JIT compiling these short queries cost more than it saved (80 ms of 550 in a plan)
    options = f"-c lock_timeout={lock_ms} -c jit=off -c random_page_cost=1.1"
    query_options = parsed.query.get("options")
    if query_options:
        extra = query_options if isinstance(query_options, str) else " ".join(query_options)
        options = f"{extra} {options}"
    return sa.create_engine(
        parsed.difference_update_query(["options"]),
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT,
            "options": options,
            "application_name": "xmetrics",
        },
    )


def _check_writable(path: Path) -> None:
    """Create the store's folder (0700) and refuse, before SQLite does so cryptically, a file
    or folder this user may not write (WAL mode writes ``-wal`` and ``-shm`` files beside it)."""
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreReadOnly(
            f"cannot create the history folder {folder}: {exc.strerror or exc}; point "
            f"{DATABASE_URL_ENV} at a writable place"
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreReadOnly(
            f"the history store {path} is read-only for this user: give xmetrics write "
            f"access to it, or point {DATABASE_URL_ENV} elsewhere"
        )
    wal = path.with_name(path.name + "-wal")
    if not os.access(folder, os.W_OK) and not (wal.exists() and os.access(wal, os.W_OK)):
        raise StoreReadOnly(
            f"the history folder {folder} is read-only for this user (SQLite writes its "
            f"journal beside {path.name}): give xmetrics write access to it, or point "
            f"{DATABASE_URL_ENV} elsewhere"
        )


def _sqlite_engine(url: sa.URL, *, busy_timeout: float) -> sa.Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in str(url)
    if not in_memory and not database.startswith("file:"):
        _check_writable(Path(database).expanduser())
    engine = sa.create_engine(
        url,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    busy_ms = max(1, int(busy_timeout * 1000))

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")  # only a new file takes it
            if not in_memory:
                mode = cursor.execute("PRAGMA journal_mode").fetchone()
                if not mode or str(mode[0]).lower() != "wal":
                    cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT}")
            cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_postgresql(engine: sa.Engine | sa.Connection) -> bool:
    return engine.dialect.name == "postgresql"


# -- errors ------------------------------------------------------------------------------------

_SQLITE_LOCKED = ("database is locked", "database table is locked", "database schema is locked")
_SQLITE_READ_ONLY = ("readonly database", "read-only", "attempt to write a readonly")
_SQLITE_CORRUPT = ("file is not a database", "malformed", "file is encrypted", "not a database")
_PG_LOCKED = frozenset({"55P03", "40P01"})  # lock_not_available, deadlock_detected
_PG_READ_ONLY = frozenset({"25006", "42501"})  # read_only_sql_transaction, insufficient_privilege
_PG_CORRUPT = frozenset({"XX001", "XX002"})  # data_corrupted, index_corrupted


def store_error(exc: BaseException, url: str | sa.URL) -> StoreError:
    """The store error a driver error stands for, its message naming the store (no password)."""
    where = safe_url(url)
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    lowered = text.lower()
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if code in _PG_LOCKED or any(s in lowered for s in _SQLITE_LOCKED):
        return StoreLocked(
            f"the history store {where} is busy: another xmetrics process held its lock "
            f"too long ({text}); try again in a moment"
        )
    if code in _PG_READ_ONLY or any(s in lowered for s in _SQLITE_READ_ONLY):
        return StoreReadOnly(
            f"the history store {where} is read-only ({text}): give xmetrics write access to "
            f"it and its folder, or point {DATABASE_URL_ENV} elsewhere"
        )
    if code in _PG_CORRUPT or any(s in lowered for s in _SQLITE_CORRUPT):
        return StoreCorrupt(
            f"the history store {where} is damaged or not a database ({text}): move it aside "
            "(xmetrics then starts a new one) or restore a backup"
        )
    return StoreUnavailable(f"the history store {where} cannot be used: {text}")


#: What :func:`translated` turns into store errors (the bulk writes use the drivers' own
#: cursors, whose errors SQLAlchemy does not wrap).
DRIVER_ERRORS: Final = (sa.exc.DBAPIError, sa.exc.DisconnectionError, sqlite3.Error, psycopg.Error)


@contextmanager
def translated(url: str | sa.URL) -> Iterator[None]:
    """Run a block, turning driver errors into :class:`StoreError` subclasses."""
    try:
        yield
    except StoreError:
        raise
    except DRIVER_ERRORS as exc:
        raise store_error(exc, url) from exc


# -- migrations --------------------------------------------------------------------------------


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration for the migrations shipped in the package (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of xmetrics knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError("no migrations shipped")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The database's schema revision (None for a new, empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def _refuse_unknown(revision: str | None, url: str | sa.URL) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        head = head_revision()
        raise StoreTooNew(
            f"the history store {safe_url(url)} has schema {revision!r}, newer than this "
            f"xmetrics knows (up to {head!r}): a newer xmetrics wrote it. Upgrade xmetrics, or "
            f"point {DATABASE_URL_ENV} at another store; it was left untouched",
            found=revision,
            known_head=head,
        )


def upgrade_schema(engine: sa.Engine, url: str | sa.URL) -> str:
    """Migrate the store to :func:`head_revision` (under a lock); returns the revision."""
    head = head_revision()
    with engine.connect() as probe:
        revision = current_revision(probe)
        probe.rollback()
    if revision == head:
        return head
    _refuse_unknown(revision, url)
    with engine.connect().execution_options(**{WRITE: True}) as connection, connection.begin():
        if is_postgresql(connection):
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        revision = current_revision(connection)  # another process may have migrated meanwhile
        _refuse_unknown(revision, url)
        if revision != head:
            log.info("migrating the history store from %s to %s", revision or "empty", head)
            command.upgrade(alembic_config(connection), "head")
    return head


__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_BUSY_TIMEOUT",
    "DEMO_DATABASE_URL_ENV",
    "create_store_engine",
    "data_dir",
    "database_url_from_env",
    "default_sqlite_url",
    "head_revision",
    "normalised_url",
    "safe_url",
    "store_error",
    "translated",
    "upgrade_schema",
]
