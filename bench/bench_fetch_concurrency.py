"""Benchmark: fetch 1,000 Post IDs from the sandbox with 100 ms injected latency per request.

Runs the same fetch twice side by side, with the client's bounded concurrency (4 batches at
once) and with a sequential one-batch-at-a-time baseline (``max_workers=1``), each repeated
and timed by the median. Goals (issue 3): at least 3x faster than sequential, and within 2x
of ``latency * ceil(batches / concurrency)``.

    .venv/bin/python bench/bench_fetch_concurrency.py [--ids 1000] [--latency-ms 100] [--repeat 3]

Ends with one line: ``BENCH fetch_concurrency key=value ...``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xmetrics_core.client import XClient  # noqa: E402
from xmetrics_core.credentials import BearerCredential  # noqa: E402
from xmetrics_core.models import FetchResult  # noqa: E402
from xmetrics_core.sandbox import FaultConfig, SandboxSettings, start_sandbox  # noqa: E402
from xmetrics_core.sandbox.settings import TWEETS_LOOKUP  # noqa: E402

CONCURRENCY = 4


def timed_fetch(client: XClient, ids: list[str]) -> tuple[float, FetchResult]:
    """Wall time of one fetch_posts call and its result."""
    started = time.perf_counter()
    result = client.fetch_posts(ids)
    return time.perf_counter() - started, result


def serve_sandbox(ids_wanted: int, latency_ms: float, channel: Connection) -> None:
    """Child process: the sandbox with injected latency, so it does not share the client's GIL
    (the real X API is another machine). Sends (base_url, bearer token, ids), waits for "stop"."""
    accounts = max(4, math.ceil(ids_wanted / 6) + 2)
    settings = SandboxSettings(accounts=accounts, rate_limits={TWEETS_LOOKUP: (100_000, 100_000)})
    with start_sandbox(settings=settings, seed=7) as sandbox:
        world = sandbox.world
        hidden = {world.protected_user_id, world.suspended_user_id}
        ids = [p.id for p in world.posts if p.author_id not in hidden][:ids_wanted]
        sandbox.faults.configure(FaultConfig(latency_ms=latency_ms))
        channel.send((sandbox.base_url, sandbox.demo.bearer_token, ids))
        if channel.poll(120):
            channel.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve_sandbox, args=(args.ids, args.latency_ms, theirs), daemon=True
    )
    server.start()
    try:
        if not ours.poll(60):
            raise SystemExit("the sandbox did not start within 60 s")
        base_url, token, ids = ours.recv()
        if len(ids) < args.ids:
            raise SystemExit(f"the sandbox world has only {len(ids)} visible Posts")
        base = {"credential": BearerCredential(token=token), "base_url": base_url}
        concurrent_times: list[float] = []
        sequential_times: list[float] = []
        calls = 0
        with (
            XClient(**base, max_workers=CONCURRENCY) as concurrent,
            XClient(**base, max_workers=1) as sequential,
        ):
            # warm up: every worker thread and its Session exist before timing
            timed_fetch(concurrent, ids[: 100 * CONCURRENCY])
            timed_fetch(sequential, ids[:100])
            for _ in range(args.repeat):
                seconds, result = timed_fetch(concurrent, ids)
                concurrent_times.append(seconds)
                calls = result.api_calls
                fetched = sum(1 for s in result.statuses if s.status.has_metrics)
                if fetched != len(ids):
                    raise SystemExit(f"only {fetched} of {len(ids)} Posts fetched")
                seconds, _ = timed_fetch(sequential, ids)
                sequential_times.append(seconds)
    finally:
        ours.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()

    batches = math.ceil(len(ids) / 100)
    ideal = args.latency_ms / 1000 * math.ceil(batches / CONCURRENCY)
    wall = statistics.median(concurrent_times)
    baseline = statistics.median(sequential_times)
    speedup = baseline / wall
    to_ideal = wall / ideal
    print(f"ids={len(ids)} batches={batches} calls={calls} latency={args.latency_ms:.0f}ms")
    print(f"concurrent ({CONCURRENCY}): {', '.join(f'{t:.3f}s' for t in concurrent_times)}")
    print(f"sequential (1): {', '.join(f'{t:.3f}s' for t in sequential_times)}")
    print(
        f"speedup {speedup:.2f}x (goal >= 3), wall/ideal {to_ideal:.2f} (goal <= 2, "
        f"ideal {ideal:.3f}s)"
    )
    print(
        f"BENCH fetch_concurrency ids={len(ids)} calls={calls} concurrency={CONCURRENCY} "
        f"latency_ms={args.latency_ms:.0f} wall_s={wall:.3f} sequential_s={baseline:.3f} "
        f"speedup={speedup:.2f} ideal_s={ideal:.3f} wall_to_ideal={to_ideal:.2f}"
    )


if __name__ == "__main__":
    main()
