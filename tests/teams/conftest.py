"""Team-mode tests run on this machine's Redis (127.0.0.1:6379; ``XMETRICS_TEST_REDIS_URL``
points elsewhere), each under a key prefix of its own, deleted afterwards. When Redis is
unreachable the fixture tries to start the machine's ``redis-server`` (as ``.ci/run`` does) and
otherwise FAILS saying how to start it: a team test never skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from cryptography.fernet import Fernet

from tests.store.conftest import postgres_admin, require_postgres, schema_url
from tests.teams.cluster import Cluster, drop_team_resources, start_cluster

REDIS_URL = os.environ.get("XMETRICS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _ping() -> str | None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return str(exc)
    finally:
        client.close()


def require_redis() -> None:
    """Fail (never skip) unless Redis answers, after trying to start the machine's server."""
    problem = _ping()
    if problem is not None and shutil.which("redis-server") is not None:
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379"],
            check=False,
            capture_output=True,
            timeout=30,
        )
        time.sleep(1)
        problem = _ping()
    if problem is not None:
        pytest.fail(
            f"Redis is unreachable at {REDIS_URL} ({problem}): the team tests need it. Start it "
            "with `redis-server --daemonize yes` (Debian: apt-get install redis-server) or "
            "point XMETRICS_TEST_REDIS_URL at one.",
            pytrace=False,
        )


@pytest.fixture
def redis_url() -> str:
    require_redis()
    return REDIS_URL


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    yield client
    client.close()


@pytest.fixture
def state_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"xmtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def state_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One shared Demo sandbox and two replicas (A, B) for the whole run, on this machine's
    Redis (a prefix of its own) and PostgreSQL (a schema of its own), removed afterwards."""
    require_redis()
    require_postgres()
    schema = f"xm_team_{uuid.uuid4().hex[:10]}"
    admin = postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    prefix = f"xmtest-{uuid.uuid4().hex[:12]}"
    running = start_cluster(
        tmp_path_factory.mktemp("team"),
        replicas=2,
        state_url=REDIS_URL,
        state_key=Fernet.generate_key().decode(),
        state_prefix=prefix,
        database_url=schema_url(schema),
    )
    try:
        yield running
    finally:
        running.stop()
        drop_team_resources(redis_url=REDIS_URL, prefix=prefix, admin=admin, schema=schema)
