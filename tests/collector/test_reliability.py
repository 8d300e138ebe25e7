"""The collector as cron runs it: ``python -m xmetrics_core collect`` child processes against
the sandbox over real HTTP, on SQLite (WAL) and PostgreSQL. Two collectors at once never read
a Post twice; a collector and another writer at once lose and double nothing; ``kill -9`` in
the middle of a run loses no committed snapshot and leaves no half-written one; a store that
cannot be used is one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.collector.helpers import bearer, cli_env, client, run_cli, spawn
from tests.store.conftest import Backend
from tests.store.test_reliability import consistency
from xmetrics_core.client import XClient
from xmetrics_core.collector import collect
from xmetrics_core.sandbox import FaultConfig, Sandbox, start_sandbox
from xmetrics_core.store import Account, Schedule, open_store
from xmetrics_core.store.engine import create_store_engine

#: One read per Post for a year: whatever the test's timing, a Post is due exactly once.
ONCE = "*:52w"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox whose world time is the real time (the child collectors' clock)."""
    with start_sandbox() as running:
        yield running


def visible_posts(sandbox: Sandbox, count: int) -> list[str]:
    world = sandbox.world
    hidden = {world.protected_user_id, world.suspended_user_id}
    ids = [p.id for p in world.posts if p.author_id not in hidden]
    assert len(ids) >= count
    return ids[-count:]


def looked_up(sandbox: Sandbox) -> list[str]:
    return [
        post_id
        for entry in sandbox.request_log.entries("/2/tweets")
        for post_id in entry.params.get("ids", "").split(",")
        if post_id
    ]


def app_env(sandbox: Sandbox, url: str) -> dict[str, str]:
    return cli_env(
        url, {"X_BEARER_TOKEN": sandbox.demo.bearer_token, "X_API_BASE_URL": sandbox.base_url}
    )


def snapshots_per_post(url: str, source: str | None = None) -> Counter[str]:
    with open_store(url) as store:
        engine = store.engine
        query = "SELECT p.id FROM post_snapshots s JOIN posts p ON p.pk = s.post_pk JOIN fetches f ON f.pk = s.fetch_pk"
        if source is not None:
            query += f" WHERE f.source = '{source}'"
        with engine.connect() as connection:
            return Counter(str(r[0]) for r in connection.exec_driver_sql(query))


def summary_numbers(line: str) -> tuple[int, int]:
    """(read, saved) from a summary line."""
    after = line.split("; read ", 1)[1]
    read = int(after.split(" ", 1)[0])
    saved = int(after.split("saved ", 1)[1].split(" ", 1)[0])
    return read, saved


def test_two_collectors_at_once_never_read_the_same_post_twice(
    sandbox: Sandbox, store_url: str
) -> None:
    ids = visible_posts(sandbox, 120)
    with open_store(store_url) as store:
        store.watch(ids)
    sandbox.faults.configure(FaultConfig(latency_ms=250, path_prefix="/2/tweets"))
    env = app_env(sandbox, store_url)
    args = ["collect", "--schedule", ONCE, "--batch-size", "8"]
    children = [spawn(args, env), spawn(args, env)]
    outputs = [child.communicate(timeout=240) for child in children]
    assert [c.returncode for c in children] == [0, 0], [err[-2000:] for _, err in outputs]
    numbers = [summary_numbers(out.strip()) for out, _ in outputs]
    asked = looked_up(sandbox)
    duplicates = [i for i, n in Counter(asked).items() if n > 1]
    assert duplicates == [], "a Post was read by both collectors"
    assert sorted(asked) == sorted(ids)
    assert all(saved > 0 for _, saved in numbers), f"both collectors worked at once: {numbers}"
    assert sum(saved for _, saved in numbers) == len(ids)
    assert snapshots_per_post(store_url) == Counter(dict.fromkeys(ids, 1))
    consistency(store_url)


def test_a_collector_and_another_writer_at_once_lose_nothing_and_double_nothing(
    sandbox: Sandbox, store_url: str
) -> None:
    posts = visible_posts(sandbox, 90)
    ids, others = posts[:80], posts[80:]  # the other writer saves Posts nobody watches
    with open_store(store_url) as store:
        store.watch(ids)
    sandbox.faults.configure(FaultConfig(latency_ms=150, path_prefix="/2/tweets"))
    child = spawn(["collect", "--schedule", ONCE, "--batch-size", "5"], app_env(sandbox, store_url))
    dashboard_saves = 0
    real_clock = XClient(credential=bearer(sandbox), base_url=sandbox.base_url)
    with open_store(store_url) as store, real_clock as reader:
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            result = reader.fetch_posts(others)  # what a dashboard Fetch saves meanwhile
            assert store.save(result, source="dashboard", account=None).stored
            dashboard_saves += 1
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-2000:]
    assert dashboard_saves >= 2, "the writes overlapped the collector's run"
    assert snapshots_per_post(store_url, "collector") == Counter(dict.fromkeys(ids, 1))
    dashboard = snapshots_per_post(store_url, "dashboard")
    assert dashboard == Counter(dict.fromkeys(others, dashboard_saves))
    assert summary_numbers(out.strip()) == (len(ids), len(ids))
    counts = consistency(store_url)
    assert counts["fetches"] == dashboard_saves + len(ids) // 5, "one fetch per batch of 5"
    assert counts["snapshots"] == len(ids) + dashboard_saves * len(others)


def test_kill_9_mid_collect_keeps_every_committed_snapshot_and_no_half_written_one(
    sandbox: Sandbox, store_url: str
) -> None:
    ids = visible_posts(sandbox, 60)
    with open_store(store_url) as store:
        store.watch(ids)
    sandbox.faults.configure(FaultConfig(latency_ms=300, path_prefix="/2/tweets"))
    child = spawn(["collect", "--schedule", ONCE, "--batch-size", "4"], app_env(sandbox, store_url))
    with open_store(store_url) as store:
        deadline = time.monotonic() + 120
        while store.summary().fetches < 3 and time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()[1][-2000:]
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        counts = consistency(store_url)  # every fetch holds exactly its snapshots
        kept = snapshots_per_post(store_url)
        assert 3 * 4 <= counts["snapshots"] < len(ids) and set(kept.values()) == {1}
        # the dead run's claims hold their Posts until the lease ends; then the rest is read
        schedule = Schedule.parse(ONCE)
        assert any(w.claimed_until is not None for w in store.watchlist()), "killed holding a claim"
        sandbox.faults.clear()
        after_lease = datetime.now(UTC) + timedelta(minutes=16)
        with client(sandbox, bearer(sandbox)) as reader:
            report = collect(
                store=store, client=reader, me=None, clock=lambda: after_lease, schedule=schedule
            )
        assert report.read == len(ids) - counts["snapshots"]
    assert snapshots_per_post(store_url) == Counter(dict.fromkeys(ids, 1)), (
        "nothing lost or doubled"
    )
    consistency(store_url)


# -- a store that cannot be used --------------------------------------------------------------


def _collect_fails_clearly(env: dict[str, str], *needles: str) -> str:
    code, out, err = run_cli(["collect", "--schedule", ONCE], env)
    assert code == 3, (code, out, err)
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xmetrics: the history store")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_a_corrupt_store_stops_collect_with_a_clear_message(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    damaged = tmp_path / "history.db"
    damaged.write_bytes(b"\x00not a database" * 512)
    _collect_fails_clearly(app_env(sandbox, f"sqlite:///{damaged}"), "damaged or not a database")
    code, _, err = run_cli(["history"], app_env(sandbox, f"sqlite:///{damaged}"))
    assert code == 3 and "Traceback" not in err
    assert looked_up(sandbox) == []


def test_a_store_from_a_newer_xmetrics_stops_collect_and_is_left_untouched(
    sandbox: Sandbox, store_url: str
) -> None:
    with open_store(store_url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_future'")
    _collect_fails_clearly(app_env(sandbox, store_url), "newer than this xmetrics knows")
    engine = create_store_engine(store_url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert version == "0099_future"


def test_a_read_only_store_stops_collect_with_a_clear_message(
    sandbox: Sandbox, backend: Backend
) -> None:
    url = backend.new_url()
    with open_store(url) as store:
        store.watch(visible_posts(sandbox, 3))
    if backend.name == "sqlite":
        path = url.removeprefix("sqlite:///")
        read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        read_only = url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20")
    _collect_fails_clearly(app_env(sandbox, read_only), "read-only")
    assert looked_up(sandbox) == [], "nothing read that could not be saved"


def test_a_locked_store_stops_collect_after_the_busy_timeout(
    sandbox: Sandbox, backend: Backend
) -> None:
    url = backend.new_url()
    with open_store(url) as store:
        store.watch(visible_posts(sandbox, 3))
    env = {**app_env(sandbox, url), "XMETRICS_STORE_BUSY_TIMEOUT": "0.5"}
    if backend.name == "sqlite":
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            _collect_fails_clearly(env, "busy")
            assert time.monotonic() - started < 60
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    else:
        engine = create_store_engine(url)
        with engine.connect() as connection:
            connection.execute(sa.text("LOCK TABLE watchlist IN ACCESS EXCLUSIVE MODE"))
            _collect_fails_clearly(env, "busy")
            connection.rollback()
        engine.dispose()
    assert looked_up(sandbox) == []


def test_an_unreachable_postgres_stops_collect_without_its_password(sandbox: Sandbox) -> None:
    url = "postgresql://xmetrics:hunter2-secret@127.0.0.1:1/history"
    line = _collect_fails_clearly(app_env(sandbox, url), "cannot be used")
    assert "hunter2-secret" not in line and "***" in line


def test_the_followed_account_survives_a_cron_style_run(sandbox: Sandbox, store_url: str) -> None:
    """``watch add --mine`` then ``collect`` as two child processes, as cron would run them."""
    env = cli_env(
        store_url,
        {
            "X_CONSUMER_KEY": sandbox.demo.consumer_key,
            "X_CONSUMER_SECRET": sandbox.demo.consumer_secret,
            "X_ACCESS_TOKEN": sandbox.demo.access_token,
            "X_ACCESS_TOKEN_SECRET": sandbox.demo.access_token_secret,
            "X_API_BASE_URL": sandbox.base_url,
        },
    )
    code, _, err = run_cli(["watch", "add", "--mine"], env)
    assert code == 0, err
    with open_store(store_url) as store:
        (followed,) = store.followed()
        assert followed.account == Account(
            user_id=sandbox.world.demo_user_id, username="xmetrics_demo"
        )
    code, out, err = run_cli(["collect"], env)
    assert code == 0, err
    assert out.startswith("collect: 0 due; read 0 Posts"), "nothing new since it was followed"
    assert len(sandbox.request_log.entries(f"/2/users/{sandbox.world.demo_user_id}/tweets")) == 1
