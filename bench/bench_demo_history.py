"""Benchmark: the Demo's history prefill and the History page's queries on its store.

Goal (issue 12, the Demo): the History page of the Demo is alive on its first open; its
prefill runs once per server on a background thread and the page waits at most
``DEMO_WAIT_SECONDS`` (3 s) for it, so the prefill should take a few seconds.

Measures, in one run on fresh SQLite files:

* ``prefill``: :func:`prefill_demo_history` with its schedule by age (21 days);
* ``again``: the same call a second time (idempotent: reads and stores nothing);
* the baseline beside it: the naive prefill that reads *every* Demo Post at *every* hour of
  the same 21 days (same twin, same client, same saving), which the schedule replaces;
* the History page's queries on the filled store (growth of 5 Posts, values at ages,
  × normal, best time, retention), median of ``--repeat``.

    .venv/bin/python bench/bench_demo_history.py [--repeat 5]

Ends with one line: ``BENCH demo_history key=value ...``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from xmetrics_core.demo_history import DEMO_DAYS, Cadence, prefill_demo_history
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.store import open_store

NOW = datetime(2026, 6, 10, 14, 20, tzinfo=UTC)


def _median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = SandboxSettings()
    with tempfile.TemporaryDirectory() as folder:
        with open_store(f"sqlite:///{Path(folder) / 'demo.db'}") as store:
            first = prefill_demo_history(store, now=NOW, seed=7, settings=settings)
            again = prefill_demo_history(store, now=NOW, seed=7, settings=settings)
            latest = store.latest(with_metrics=False)
            author = str(latest["author_id"].mode().iloc[0])
            ids = [str(i) for i in latest.sort_values("created_at")["id"].iloc[-5:]]
            queries = {
                "growth": lambda: store.growth(ids, field="impression_count"),
                "ages": lambda: store.values_at_ages(ids, field="impression_count"),
                "baseline": lambda: store.baseline(
                    author_id=author, field="impression_count", post_ids=ids
                ),
                "best_time": lambda: store.best_time(author_id=author, time_zone="Europe/Berlin"),
                "retention": lambda: store.retention(ids),
            }
            query_ms = {name: _median_ms(work, args.repeat) for name, work in queries.items()}
            size = Path(folder, "demo.db").stat().st_size
        # the baseline: every Post at every hour (a schedule of one cadence: hourly)
        hourly = (Cadence(until=timedelta.max, every=timedelta(hours=1)),)
        with open_store(f"sqlite:///{Path(folder) / 'naive.db'}") as naive_store:
            naive = prefill_demo_history(
                naive_store, now=NOW, seed=7, settings=settings, schedule=hourly
            )
            naive_size = Path(folder, "naive.db").stat().st_size
    print(
        f"prefill {DEMO_DAYS} days: {first.fetches} reads, {first.snapshots} snapshots of "
        f"{first.posts} Posts in {first.seconds:.2f} s ({size / 1e6:.1f} MB); again: "
        f"{again.fetches} reads in {again.seconds:.2f} s; naive hourly: {naive.fetches} reads, "
        f"{naive.snapshots} snapshots in {naive.seconds:.2f} s ({naive_size / 1e6:.1f} MB)"
    )
    print(
        "History queries (ms, median of "
        f"{args.repeat}): " + ", ".join(f"{k} {v:.1f}" for k, v in query_ms.items())
    )
    print(
        f"BENCH demo_history prefill_s={first.seconds:.2f} prefill_reads={first.fetches} "
        f"prefill_snapshots={first.snapshots} again_s={again.seconds:.2f} "
        f"again_reads={again.fetches} naive_s={naive.seconds:.2f} naive_reads={naive.fetches} "
        f"naive_snapshots={naive.snapshots} "
        + " ".join(f"{k}_ms={v:.1f}" for k, v in query_ms.items())
    )


if __name__ == "__main__":
    main()
