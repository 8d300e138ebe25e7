"""Benchmark: how fast ``python -m xmetrics_core --help`` answers (goal, issue 9: ≤ 0.3 s).

Runs it (and ``analytics --help``, ``usage --help``: the same goal, issue 11) ``--repeat``
times in fresh interpreters, beside the bare interpreter start
(``python -c pass``) and ``python -c "import pandas"`` (what the CLI avoids loading until it
writes a table), and reports medians of the wall time.

    .venv/bin/python bench/bench_cli_startup.py [--repeat 9]

Ends with one line: ``BENCH cli_startup key=value ...``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_wall(arguments: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, *arguments], cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    median_wall(["-m", "xmetrics_core", "--help"], 1)  # warm the file cache
    help_s = median_wall(["-m", "xmetrics_core", "--help"], args.repeat)
    analytics_s = median_wall(["-m", "xmetrics_core", "analytics", "--help"], args.repeat)
    usage_s = median_wall(["-m", "xmetrics_core", "usage", "--help"], args.repeat)
    bare_s = median_wall(["-c", "pass"], args.repeat)
    pandas_s = median_wall(["-c", "import pandas"], args.repeat)
    print(
        f"--help {help_s:.3f}s, analytics --help {analytics_s:.3f}s, usage --help "
        f"{usage_s:.3f}s (goal <= 0.3 each), bare interpreter {bare_s:.3f}s, "
        f"import pandas {pandas_s:.3f}s (medians of {args.repeat})"
    )
    print(
        f"BENCH cli_startup help_s={help_s:.3f} analytics_help_s={analytics_s:.3f} "
        f"usage_help_s={usage_s:.3f} bare_python_s={bare_s:.3f} "
        f"import_pandas_s={pandas_s:.3f} goal_s=0.300"
    )


if __name__ == "__main__":
    main()
