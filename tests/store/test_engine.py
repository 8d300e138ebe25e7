"""Where the store lives, how it is opened and migrated, and how every way it can be unusable
(locked, read-only, corrupt, too new, unreachable) becomes one clear error type."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.store.builders import ME, T0, child_env, hours, impressions, post_id, record, result
from tests.store.conftest import Backend
from xmetrics_core.store import (
    Account,
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
    database_url_from_env,
    head_revision,
    open_store,
    safe_url,
)
from xmetrics_core.store.engine import alembic_config, create_store_engine, normalised_url
from xmetrics_core.store.keys import KeyCache
from xmetrics_core.store.snapshots import save_result

ROOT = Path(__file__).resolve().parents[2]


def one_result(n: int = 0) -> object:
    pid = post_id(T0, n)
    return result([record(pid, created=T0, metrics=impressions(10 + n))], at=T0 + hours(1 + n))


# -- where it lives -------------------------------------------------------------------------


def test_the_url_comes_from_the_environment_else_the_xdg_data_folder() -> None:
    home = str(Path.home())
    assert database_url_from_env({}) == f"sqlite:///{home}/.local/share/xmetrics/history.db"
    assert (
        database_url_from_env({"XDG_DATA_HOME": "/data"}) == "sqlite:////data/xmetrics/history.db"
    )
    assert database_url_from_env({"XDG_DATA_HOME": "relative/ignored"}).startswith(
        f"sqlite:///{home}/"
    )
    chosen = {"XMETRICS_DATABASE_URL": " postgresql://u@db/x ", "XDG_DATA_HOME": "/data"}
    assert database_url_from_env(chosen) == "postgresql://u@db/x"
    # the Demo account's history is never mixed with a user's
    assert database_url_from_env(chosen, demo=True) == "sqlite:////data/xmetrics/demo-history.db"
    assert (
        database_url_from_env({"XMETRICS_DEMO_DATABASE_URL": "sqlite:////d.db"}, demo=True)
        == "sqlite:////d.db"
    )


def test_postgres_urls_use_psycopg_3_and_other_databases_are_refused() -> None:
    assert normalised_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalised_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalised_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(StoreUnavailable, match="SQLite or PostgreSQL"):
        normalised_url("mysql://root:pw@localhost/x")
    assert "pw" not in safe_url("mysql://root:pw@localhost/x")


def test_a_new_sqlite_store_is_made_in_a_private_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "data" / "xmetrics" / "history.db"
    with open_store(f"sqlite:///{path}", busy_timeout=2.5) as store:
        store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with open_store(f"sqlite:///{path}") as again:
        assert again.summary().snapshots == 1


# -- migrations -----------------------------------------------------------------------------


def test_an_older_schema_is_migrated_and_its_history_kept(backend: Backend) -> None:
    url = backend.new_url()
    engine = create_store_engine(url)
    with engine.connect().execution_options(xmetrics_write=True) as connection, connection.begin():
        command.upgrade(alembic_config(connection), "0001_history")
    with engine.connect().execution_options(xmetrics_write=True) as connection, connection.begin():
        assert "watchlist" not in sa.inspect(connection).get_table_names()
        save_result(
            connection,
            one_result(),
            source="collector",
            account=Account(user_id=ME),  # type: ignore[arg-type]
            fetched_at=T0 + hours(1),
            saved_at=T0 + hours(1),
            learnt=KeyCache(),
        )
    engine.dispose()

    with open_store(url) as store:
        assert store.summary().revision == head_revision()
        assert store.history_rows()["public_metrics.impression_count"].tolist() == [10]
        assert store.watch([post_id(T0)], now=T0) == 1


def test_a_store_from_a_newer_xmetrics_is_refused_and_left_untouched(store_url: str) -> None:
    with open_store(store_url) as store:
        store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        with store.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(StoreTooNew, match="newer") as refused:
        open_store(store_url)
    assert refused.value.found == "0099_future" and refused.value.known_head == head_revision()
    engine = create_store_engine(store_url)
    with engine.connect() as connection:
        assert (
            connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            == "0099_future"
        )
        assert connection.exec_driver_sql("SELECT count(*) FROM post_snapshots").scalar() == 1
    engine.dispose()


def test_two_processes_opening_a_new_store_at_once_migrate_it_once(
    store_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "opener.py"
    script.write_text(
        textwrap.dedent(
            """
        import sys, time
        from xmetrics_core.store import open_store
        go = float(sys.argv[2])
        while time.time() < go:
            time.sleep(0.002)
        print(open_store(sys.argv[1]).summary().revision)
        """
        )
    )
    go = time.time() + 3
    children = [
        subprocess.Popen(
            [sys.executable, str(script), store_url, str(go)],
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [c.returncode for c in children] == [0, 0, 0], [err for _, err in outputs]
    assert {out.strip() for out, _ in outputs} == {head_revision()}


# -- a store that cannot be used ------------------------------------------------------------


def test_a_corrupt_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(StoreCorrupt, match="damaged or not a database"):
        open_store(f"sqlite:///{path}")


def test_a_damaged_store_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with open_store(f"sqlite:///{path}") as store:
        for n in range(30):
            store.save(one_result(n), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        with store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # keep the header page, scramble the rest
        data[offset + 8 : offset + 400] = os.urandom(392)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt), open_store(f"sqlite:///{path}") as store:
        store.history_rows()


def test_a_locked_sqlite_store_is_named_as_such_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    url = f"sqlite:///{path}"
    open_store(url).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with open_store(url, busy_timeout=0.3) as store:
            started = time.monotonic()
            with pytest.raises(StoreLocked, match="busy"):
                store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
            assert time.monotonic() - started < 30
            assert store.latest().empty, "reading goes on while another process writes"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_postgres_store_is_named_as_such_after_the_lock_timeout(postgres: Backend) -> None:
    url = postgres.new_url()
    open_store(url).close()
    holder = create_store_engine(url)
    with holder.connect() as connection:
        connection.exec_driver_sql("LOCK TABLE fetches IN ACCESS EXCLUSIVE MODE")
        with open_store(url, busy_timeout=0.3) as store, pytest.raises(StoreLocked):
            store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        connection.rollback()
    holder.dispose()


def test_a_read_only_postgres_store_is_named_as_such(postgres: Backend) -> None:
    url = postgres.new_url()
    open_store(url).close()
    read_only = url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20")
    with open_store(read_only) as store:
        with pytest.raises(StoreReadOnly, match="read-only"):
            store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        assert store.latest().empty


def _read_only(path: Path) -> None:
    """Make ``path`` unwritable for this user: chmod, or for root (who may write anything) the
    immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o555 if path.is_dir() else 0o444)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"cannot make {path} read-only for root: {done.stderr}"


def _writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("unwritable", ["file", "folder"])
def test_a_read_only_sqlite_file_or_folder_is_named_as_such(
    tmp_path: Path, unwritable: str
) -> None:
    folder = tmp_path / "store"
    path = folder / "history.db"
    with open_store(f"sqlite:///{path}") as store:
        store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        with store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for extra in folder.glob("history.db-*"):
        extra.unlink()
    target = path if unwritable == "file" else folder
    _read_only(target)
    try:
        with pytest.raises(StoreReadOnly, match="read-only"):
            open_store(f"sqlite:///{path}")
    finally:
        _writable(target)


def test_sqlite_refusing_a_write_is_named_read_only(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    open_store(f"sqlite:///{path}").close()
    with open_store(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        assert store.summary().snapshots == 0
        with pytest.raises(StoreReadOnly, match="read-only"):
            store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]


def test_an_unreachable_postgres_is_named_as_such_without_its_password() -> None:
    with pytest.raises(StoreUnavailable) as failed:
        open_store("postgresql://xmetrics:hunter2-secret@127.0.0.1:1/history", busy_timeout=1)
    assert "hunter2-secret" not in failed.value.message and "***" in failed.value.message


def test_every_store_error_is_one_type_the_dashboard_can_catch() -> None:
    for kind in (StoreUnavailable, StoreLocked, StoreReadOnly, StoreCorrupt, StoreTooNew):
        assert issubclass(kind, StoreError)


def test_the_store_serves_many_threads_at_once(store_url: str) -> None:
    with open_store(store_url) as store:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                store.save(one_result(n), source="dashboard", account=Account(user_id=ME))  # type: ignore[arg-type]
                store.latest()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert store.summary().snapshots == 8


def test_a_lock_on_the_snapshot_table_is_named_locked_too(postgres: Backend) -> None:
    # the snapshots are written with COPY through the driver's own cursor
    url = postgres.new_url()
    open_store(url).close()
    holder = create_store_engine(url)
    with holder.connect() as connection:
        connection.exec_driver_sql("LOCK TABLE post_snapshots IN ACCESS EXCLUSIVE MODE")
        with open_store(url, busy_timeout=0.3) as store, pytest.raises(StoreLocked):
            store.save(one_result(), source="cli", account=Account(user_id=ME))  # type: ignore[arg-type]
        connection.rollback()
    holder.dispose()
