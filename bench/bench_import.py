"""Benchmark: import 100,000 rows of X's legacy per-Post export, beside ``pandas.read_csv``.

Claim (issue 13): importing 100,000 rows of the legacy "Tweet activity" export takes at most
2× a plain ``pandas.read_csv`` of the same file, measured side by side in the same run, with
the peak memory of both reported.

Input: a file generated here, in a temporary folder, with the real export's header (checked
against ``/work/shared/x-exports`` when that folder exists) and realistic rows: every cell
quoted, counts written as X writes them (``"3423.0"``, ``"0"``), full-precision engagement
rates, multi-line Post text with HTML entities, doubled quotes, emoji and formula-like text,
9 Posts in 10 never promoted (``"-"`` in all 18 promoted columns).

* **ours**: ``imports.import_path(path)``: read, decode, recognise the header, parse every
  column (ids, times, counts, rates, text), check engagement rates against engagements ÷
  impressions, derive organic + promoted totals, find duplicates: the typed result the
  dashboard and the CLI use.
* **baseline**: ``pandas.read_csv(path)`` with default options (type inference only: no
  checks, ``time`` stays text, promoted columns with ``-`` stay text).

Time is the best CPU time (``time.process_time``) of ``--repeats`` runs of each. Peak
memory is measured two ways, in separate runs: in this process, ``tracemalloc``'s peak
(Python and NumPy) plus the peak growth of pyarrow's pool sampled every millisecond (pandas 3
keeps strings in Arrow buffers, which tracemalloc cannot see); and, because pandas' C parser
allocates outside both, the growth of the peak resident set size of a fresh
interpreter doing only that one read (Linux's ``VmHWM``), over the same interpreter after
its imports and a warm-up on a tiny file.

Run: ``.venv/bin/python bench/bench_import.py [--rows N] [--repeats R]``.
Ends with one line: ``BENCH import key=value …``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import html
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from xmetrics_core.imports import import_path  # noqa: E402

SHARED_EXPORT = Path(
    "/work/shared/x-exports/tweet_activity_metrics_rOpenSci_20211201_20220101_en.csv"
)
#: The legacy per-Post export's header, as X wrote it from 2016 to 2021.
HEADER = [
    "Tweet id",
    "Tweet permalink",
    "Tweet text",
    "time",
    "impressions",
    "engagements",
    "engagement rate",
    "retweets",
    "replies",
    "likes",
    "user profile clicks",
    "url clicks",
    "hashtag clicks",
    "detail expands",
    "permalink clicks",
    "app opens",
    "app installs",
    "follows",
    "email tweet",
    "dial phone",
    "media views",
    "media engagements",
    "promoted impressions",
    "promoted engagements",
    "promoted engagement rate",
    "promoted retweets",
    "promoted replies",
    "promoted likes",
    "promoted user profile clicks",
    "promoted url clicks",
    "promoted hashtag clicks",
    "promoted detail expands",
    "promoted permalink clicks",
    "promoted app opens",
    "promoted app installs",
    "promoted follows",
    "promoted email tweet",
    "promoted dial phone",
    "promoted media views",
    "promoted media engagements",
]
TEXTS = (
    'Join us for social coworking & office hours!\n\nAlternating times, "bring a friend" '
    "https://t.co/G4ZBZClwSc",
    "New package review: tidy data <3 🚀 #RStats https://t.co/x1",
    '=HYPERLINK("https://example.com") is just text here',
    "Ça marche — naïve café ✅ thread 🧵 1/3\nmore below",
    "[use case] Evaluating nowcasts by @someone\n\nhttps://t.co/mL9FUG7muh\n\n#RStats",
)
START = datetime(2021, 10, 1, tzinfo=UTC)


def check_header() -> None:
    """The generated header must be the real export's (when the shared file is here)."""
    if SHARED_EXPORT.exists():
        with SHARED_EXPORT.open(encoding="utf-8", newline="") as handle:
            real = next(csv.reader(handle))
        if real != HEADER:
            raise SystemExit("bench_import: HEADER differs from the real export's header")


def write_export(path: Path, rows: int, *, seed: int = 7) -> None:
    """``rows`` Posts of the legacy per-Post export, written as X writes it."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(rows):
            post_id = 1_445_000_000_000_000_000 + i * 1_000_003
            impressions = rng.randint(0, 50_000)
            engagements = rng.randint(0, impressions // 10 + 1) if impressions else 0
            rate = engagements / impressions if impressions else 0.0
            organic = [
                str(post_id),
                f"https://twitter.com/rOpenSci/status/{post_id}",
                html.escape(f"{TEXTS[i % len(TEXTS)]} #{i}", quote=False),
                (START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M +0000"),
                f"{impressions}.0",
                f"{engagements}.0",
                repr(rate),
                *(f"{rng.randint(0, 50)}.0" for _ in range(8)),
                *(str(rng.randint(0, 5)) for _ in range(7)),
            ]
            if i % 10 == 0:
                promoted_impressions = rng.randint(1, 9_000)
                promoted_engagements = rng.randint(0, promoted_impressions // 10)
                promoted = [
                    str(promoted_impressions),
                    str(promoted_engagements),
                    repr(promoted_engagements / promoted_impressions),
                    *(str(rng.randint(0, 20)) for _ in range(15)),
                ]
            else:
                promoted = ["-"] * 18
            writer.writerow(organic + promoted)


def best_time(run: Callable[[], object], repeats: int) -> float:
    """Best CPU time of ``repeats`` runs (steadier than wall time on a shared machine)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def peak_bytes(run: Callable[[], object]) -> int:
    """tracemalloc's peak plus the sampled peak growth of Arrow's pool during ``run``."""
    pool = pyarrow.default_memory_pool()
    before = pool.bytes_allocated()
    arrow_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal arrow_peak
        while not done.is_set():
            arrow_peak = max(arrow_peak, pool.bytes_allocated() - before)
            done.wait(0.001)

    gc.collect()
    sampler = threading.Thread(target=sample, daemon=True)
    tracemalloc.start()
    sampler.start()
    try:
        kept = run()
    finally:
        done.set()
        sampler.join()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrow_peak = max(arrow_peak, pool.bytes_allocated() - before)
    del kept
    return int(traced_peak) + int(arrow_peak)


def _read_once(side: str, path: Path) -> object:
    return import_path(path) if side == "ours" else pd.read_csv(path)


def peak_rss() -> int:
    """This process's peak resident set (bytes): Linux's VmHWM, which starts afresh with
    each program (``ru_maxrss`` keeps the parent's peak across fork and exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_growth_child(side: str, path: Path) -> None:
    """In a fresh interpreter: warm up on a tiny file, then read ``path`` once and print
    how much the peak resident set grew (bytes)."""
    with tempfile.TemporaryDirectory(prefix="xmetrics-bench-import-") as folder:
        tiny = Path(folder) / path.name
        write_export(tiny, 10)
        _read_once(side, tiny)
    gc.collect()
    before = peak_rss()
    kept = _read_once(side, path)
    after = peak_rss()
    del kept
    print(after - before)


def rss_growth(side: str, path: Path) -> int:
    done = subprocess.run(
        [sys.executable, __file__, "--rss-child", side, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rss-child", nargs=2, metavar=("SIDE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_growth_child(args.rss_child[0], Path(args.rss_child[1]))
        return
    check_header()
    with tempfile.TemporaryDirectory(prefix="xmetrics-bench-import-") as folder:
        path = Path(folder) / "tweet_activity_metrics_rOpenSci_20211001_20211231_en.csv"
        write_export(path, args.rows)
        size_mb = path.stat().st_size / 1_000_000

        imported = import_path(path)  # warm-up (imports, caches) and a correctness check
        baseline = pd.read_csv(path)
        if imported.rows != args.rows or len(baseline) != args.rows:
            raise SystemExit(f"bench_import: {imported.rows} rows imported, {args.rows} written")
        if imported.rate_check is None or not imported.rate_check.ok:
            raise SystemExit("bench_import: engagement rates did not check out")
        del imported, baseline

        ours_s = best_time(lambda: import_path(path), args.repeats)
        read_csv_s = best_time(lambda: pd.read_csv(path), args.repeats)
        ours_peak = peak_bytes(lambda: import_path(path))
        read_csv_peak = peak_bytes(lambda: pd.read_csv(path))
        ours_rss = rss_growth("ours", path)
        read_csv_rss = rss_growth("read_csv", path)

    mb = 1_000_000
    ratio = ours_s / read_csv_s
    print(
        f"{args.rows:,} rows, {size_mb:.1f} MB: import {ours_s:.3f} s vs pandas.read_csv "
        f"{read_csv_s:.3f} s (CPU, best of {args.repeats}) = {ratio:.2f}x (goal <= 2x). "
        f"Peak memory (tracemalloc + Arrow): import {ours_peak / mb:.0f} MB, read_csv "
        f"{read_csv_peak / mb:.0f} MB; peak RSS growth: import {ours_rss / mb:.0f} MB, "
        f"read_csv {read_csv_rss / mb:.0f} MB."
    )
    print(
        f"BENCH import rows={args.rows} file_mb={size_mb:.1f} ours_s={ours_s:.3f} "
        f"read_csv_s={read_csv_s:.3f} time_ratio={ratio:.2f} within_2x={ratio <= 2.0} "
        f"ours_peak_mb={ours_peak / mb:.1f} read_csv_peak_mb={read_csv_peak / mb:.1f} "
        f"ours_rss_mb={ours_rss / mb:.1f} read_csv_rss_mb={read_csv_rss / mb:.1f} "
        f"rss_ratio={ours_rss / max(read_csv_rss, 1):.2f}"
    )


if __name__ == "__main__":
    main()
