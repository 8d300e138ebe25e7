"""The history store's test backends: every store test runs on SQLite and on PostgreSQL.

* SQLite: a file in the test's temporary folder.
* PostgreSQL: ``127.0.0.1:5432``, database ``test`` (trust auth), each test in a schema of its
  own (``search_path`` in the URL), dropped afterwards. ``XMETRICS_TEST_POSTGRES_URL`` points
  elsewhere. When the server is unreachable the fixture tries to start the machine's cluster
  (``pg_ctlcluster``, as ``.ci/run`` does) and otherwise FAILS the test saying how to start it:
  a PostgreSQL test never skips (a skipped one would hide a broken backend in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from xmetrics_core.store import Store, open_store

POSTGRES_URL = os.environ.get(
    "XMETRICS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")

_reachable: bool | None = None


def _try_connect() -> str | None:
    engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return None
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def _start_cluster() -> None:
    """Start the machine's PostgreSQL cluster if it is installed but stopped (as .ci/run)."""
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "start"],
        check=False,
        capture_output=True,
        timeout=60,
    )
    time.sleep(1)


def require_postgres() -> None:
    global _reachable
    if _reachable:
        return
    problem = _try_connect()
    if problem is not None:
        _start_cluster()
        problem = _try_connect()
    if problem is not None:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}). Start it "
            "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set "
            "XMETRICS_TEST_POSTGRES_URL; the PostgreSQL tests never skip.",
            pytrace=False,
        )
    _reachable = True


def postgres_admin() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def schema_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


class Backend:
    """Makes fresh, empty store URLs of one backend for one test; cleans them up."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self.schemas: list[str] = []

    def new_url(self) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.folder / f'history-{uuid.uuid4().hex[:8]}.db'}"
        require_postgres()
        schema = f"xm_test_{uuid.uuid4().hex[:12]}"
        admin = postgres_admin()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        admin.dispose()
        self.schemas.append(schema)
        return schema_url(schema)

    def cleanup(self) -> None:
        if not self.schemas:
            return
        admin = postgres_admin()
        with admin.connect() as connection:
            for schema in self.schemas:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = Backend(str(request.param), tmp_path)
    yield made
    made.cleanup()


@pytest.fixture
def store_url(backend: Backend) -> str:
    return backend.new_url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


StoreFactory = Callable[[], Store]


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Backend]:
    """PostgreSQL alone, for the tests of what only PostgreSQL does (its own locks, roles)."""
    made = Backend("postgresql", tmp_path)
    yield made
    made.cleanup()
