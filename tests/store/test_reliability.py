"""Reliability on both backends: two writers at once lose nothing and double nothing, and a
process killed with SIGKILL in the middle of saving loses no committed snapshot and leaves
no half-written one."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import sqlalchemy as sa

from tests.store.builders import ME, T0, child_env, numbered_result
from xmetrics_core.store import Account, open_store

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys, time
    from xmetrics_core.store import Account, open_store
    from tests.store.builders import numbered_result
    url, first, last, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    posts = int(sys.argv[5])
    results = [numbered_result(n, posts=posts) for n in range(first, last)]
    store = open_store(url)
    while time.time() < go:
        time.sleep(0.002)
    for n, result in zip(range(first, last), results):
        outcome = store.save(result, source="collector", account=Account(user_id="4000000001"))
        print(n, int(outcome.stored), flush=True)
    """
)


def spawn(script: Path, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def consistency(url: str) -> dict[str, int]:
    """Counts, and every fetch holding exactly the snapshots it says it holds."""
    with open_store(url) as store:
        with store.engine.connect() as connection:
            broken = connection.execute(
                sa.text(
                    "SELECT f.pk FROM fetches f WHERE f.snapshot_count <> "
                    "(SELECT count(*) FROM post_snapshots s WHERE s.fetch_pk = f.pk) "
                    "OR f.media_snapshot_count <> "
                    "(SELECT count(*) FROM media_snapshots m WHERE m.fetch_pk = f.pk)"
                )
            ).all()
            assert broken == [], f"half-written fetches: {broken}"
            orphans = connection.execute(
                sa.text(
                    "SELECT count(*) FROM post_snapshots s "
                    "WHERE NOT EXISTS (SELECT 1 FROM fetches f WHERE f.pk = s.fetch_pk)"
                )
            ).scalar_one()
            assert orphans == 0
            if store.backend == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        summary = store.summary()
        return {
            "fetches": summary.fetches,
            "snapshots": summary.snapshots,
            "media": summary.media_snapshots,
        }


def test_two_writers_at_once_lose_nothing_and_double_nothing(
    store_url: str, tmp_path: Path
) -> None:
    open_store(store_url).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = time.time() + 4
    posts = 40
    children = [
        spawn(script, store_url, 0, 24, go, posts),
        spawn(script, store_url, 12, 36, go, posts),
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [c.returncode for c in children] == [0, 0], [err[-2000:] for _, err in outputs]
    stored = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert len(stored) == 48
    by_result: dict[str, int] = {}
    for n, was_stored in stored:
        by_result[n] = by_result.get(n, 0) + int(was_stored)
    assert by_result == {str(n): 1 for n in range(36)}, "each result stored by exactly one writer"

    counts = consistency(store_url)
    assert counts == {"fetches": 36, "snapshots": 36 * posts, "media": 36 * posts}
    with open_store(store_url) as store:
        rows = store.history_rows()
        assert rows.groupby("id").size().eq(36).all()
        spend = store.spend(account=Account(user_id=ME), now=T0)
        assert spend.today.reads == 15 * posts  # results 0..14 fall on T0's UTC day
        assert spend.today.billable_reads == posts


KILLED = textwrap.dedent(
    """
    import sys
    import time
    from xmetrics_core.store import Account, open_store
    from tests.store.builders import numbered_result
    url, first, posts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    results = [numbered_result(n, posts=posts) for n in range(first, first + 2)]
    store = open_store(url)
    for n, result in enumerate(results, start=first):
        print("start", n, flush=True)
        store.save(result, source="collector", account=Account(user_id="4000000001"))
        print("saved", n, flush=True)  # only after the save has committed
    time.sleep(120)  # stay to be killed even when a quick machine finished both saves
    """
)


def test_a_process_killed_while_saving_loses_no_committed_snapshot(
    store_url: str, tmp_path: Path
) -> None:
    open_store(store_url).close()
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    committed: list[int] = []
    killed: list[int] = []
    for round_number, delay in enumerate((0.05, 0.15, 0.3)):
        child = spawn(script, store_url, round_number * 100, 5000)
        assert child.stdout is not None
        lines = [child.stdout.readline().split() for _ in range(3)]  # start, saved, start
        assert [line[0] for line in lines] == ["start", "saved", "start"]
        time.sleep(delay)  # a 5,000-Post save takes longer: this lands in the middle of it
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL
        committed.append(int(lines[1][1]))
        committed += [int(w[1]) for w in map(str.split, rest.splitlines()) if w[0] == "saved"]
        if not any(
            w[0] == "saved" and int(w[1]) == int(lines[2][1])
            for w in map(str.split, rest.splitlines())
        ):
            killed.append(int(lines[2][1]))

        counts = consistency(store_url)  # nothing half-written
        with open_store(store_url) as store, store.engine.connect() as connection:
            saved = set(connection.execute(sa.text("SELECT fetched_at FROM fetches")).scalars())
        assert counts["fetches"] == len(saved)
        committed_times = {
            int(numbered_result(n, posts=1).fetched_at.timestamp()) for n in committed
        }  # type: ignore[union-attr]
        assert committed_times <= saved, "a committed save went missing"
    assert killed, "at least one save was killed before its commit"
    with open_store(store_url) as store:  # and the store goes on working
        assert store.save(numbered_result(999, posts=5), source="collector", account=None).stored
