"""Benchmark: fetch 1,000 Post IDs from the sandbox with 100 ms injected latency per request.

Two cases, each with its baseline beside it in the same run, timed by the median of
``--repeat`` runs:

* **public** (app-only Bearer token, 1,000 IDs): the client's bounded concurrency (4 batches at
  once) against a sequential one-batch-at-a-time fetch (``max_workers=1``). Goals (issue 3):
  at least 3x faster than sequential, within 2x of ``latency * ceil(batches / concurrency)``.
* **mixed** (the demo user's OAuth 1.0a token; 1,000 unique recent IDs, a quarter of them
  someone else's Posts): the client against plain ``requests`` in 4 threads asking every
  group in 10 batches of 100, the way a script would (it gets no metrics at all for the
  other accounts' Posts: X answers them with Field Authorization Errors only). The client's
  ``wall_to_floor`` is its wall time over the pipelined floor of its own calls,
  ``latency * ceil(calls / concurrency)`` (``/2/users/me`` included). Goals (issue 9): at
  most 1.15x the floor, every ID with a status, no more calls than before the pipelining
  (14: ``/2/users/me`` + 10 private batches + 3 public-only fallbacks).

    .venv/bin/python bench/bench_fetch_concurrency.py [--ids 1000] [--latency-ms 100] [--repeat 5]

The sandbox runs in a child process, so it does not share the client's GIL (the real X API
is another machine). The mixed case also reports the CPU seconds each fetch costs the client
process (``client_cpu_s``) and the sandbox process (``sandbox_cpu_s``, all its threads): what
each round of 4 calls adds to the latency when the cores are shared. Ends with ``BENCH fetch_concurrency ...`` and ``BENCH fetch_mixed ...``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from requests_oauthlib import OAuth1

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xmetrics_core.catalogue import ALL_GROUPS  # noqa: E402
from xmetrics_core.client import XClient  # noqa: E402
from xmetrics_core.credentials import BearerCredential, OAuth1Credential  # noqa: E402
from xmetrics_core.fetchplan import lookup_params  # noqa: E402
from xmetrics_core.models import FetchResult  # noqa: E402
from xmetrics_core.sandbox import FaultConfig, SandboxSettings, start_sandbox  # noqa: E402
from xmetrics_core.sandbox.settings import TWEETS_LOOKUP, USERS_ME  # noqa: E402

CONCURRENCY = 4
MIXED_OTHERS_SHARE = 0.25
CALLS_BEFORE_PIPELINING = 14
"""The mixed case before issue 9: /2/users/me, then 10 private batches, then 3 fallbacks."""


def timed_fetch(client: XClient, ids: list[str]) -> tuple[float, FetchResult]:
    """Wall time of one fetch_posts call and its result."""
    started = time.perf_counter()
    result = client.fetch_posts(ids)
    return time.perf_counter() - started, result


def serve_sandbox(ids_wanted: int, latency_ms: float, channel: Connection) -> None:
    """Child process: the sandbox with injected latency. Sends what the benchmark needs, then
    waits for "stop"."""
    others_wanted = round(ids_wanted * MIXED_OTHERS_SHARE)
    accounts = max(4, math.ceil(ids_wanted / 6) + 2, math.ceil(others_wanted / 3.5))
    settings = SandboxSettings(
        accounts=accounts,
        demo_posts=max(60, math.ceil((ids_wanted - others_wanted) * 1.55)),
        rate_limits={TWEETS_LOOKUP: (100_000, 100_000), USERS_ME: (None, 100_000)},
    )
    with start_sandbox(settings=settings, seed=7) as sandbox:
        world = sandbox.world
        now = sandbox.clock.now()
        hidden = {world.protected_user_id, world.suspended_user_id}
        visible = [p for p in world.posts if p.author_id not in hidden]
        recent = [p for p in visible if p.within_private_window(now)]
        mine = [p.id for p in recent if p.author_id == world.demo_user_id]
        others = [p.id for p in recent if p.author_id != world.demo_user_id]
        mixed = mine[: ids_wanted - others_wanted] + others[:others_wanted]
        random.Random(9).shuffle(mixed)
        sandbox.faults.configure(FaultConfig(latency_ms=latency_ms))
        demo = sandbox.demo
        channel.send(
            {
                "base_url": sandbox.base_url,
                "bearer": demo.bearer_token,
                "oauth1": (
                    demo.consumer_key,
                    demo.consumer_secret,
                    demo.access_token,
                    demo.access_token_secret,
                ),
                "public_ids": [p.id for p in visible][:ids_wanted],
                "mixed_ids": mixed,
                "others": others_wanted,
            }
        )
        while channel.poll(300):  # "cpu": this process's CPU seconds so far; "stop": end
            if channel.recv() != "cpu":
                break
            channel.send(time.process_time())


def four_thread_requests(base_url: str, auth: OAuth1, ids: list[str]) -> tuple[float, int, int]:
    """The script baseline: 4 threads of plain requests, batches of 100 asking every group.
    Returns the wall time, the calls and how many IDs came back with metrics."""
    batches = [ids[i : i + 100] for i in range(0, len(ids), 100)]
    with requests.Session() as warm:
        warm.get(f"{base_url}/2/tweets", params=lookup_params(ids[:1], ALL_GROUPS), auth=auth)

    def fetch(batch: list[str]) -> int:
        answer = requests.get(
            f"{base_url}/2/tweets", params=lookup_params(batch, ALL_GROUPS), auth=auth, timeout=30
        )
        return len(answer.json().get("data") or [])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        with_metrics = sum(pool.map(fetch, batches))
    return time.perf_counter() - started, len(batches), with_metrics


def public_case(setup: dict[str, Any], repeat: int, latency_ms: float) -> str:
    ids: list[str] = setup["public_ids"]
    base = {"credential": BearerCredential(token=setup["bearer"]), "base_url": setup["base_url"]}
    concurrent_times: list[float] = []
    sequential_times: list[float] = []
    calls = 0
    with (
        XClient(**base, max_workers=CONCURRENCY) as concurrent,
        XClient(**base, max_workers=1) as sequential,
    ):
        timed_fetch(concurrent, ids[: 100 * CONCURRENCY])  # warm up every worker's Session
        timed_fetch(sequential, ids[:100])
        for _ in range(repeat):
            seconds, result = timed_fetch(concurrent, ids)
            concurrent_times.append(seconds)
            calls = result.api_calls
            fetched = sum(1 for s in result.statuses if s.status.has_metrics)
            if fetched != len(ids):
                raise SystemExit(f"only {fetched} of {len(ids)} Posts fetched")
            seconds, _ = timed_fetch(sequential, ids)
            sequential_times.append(seconds)
    batches = math.ceil(len(ids) / 100)
    ideal = latency_ms / 1000 * math.ceil(batches / CONCURRENCY)
    wall = statistics.median(concurrent_times)
    baseline = statistics.median(sequential_times)
    print(f"public: ids={len(ids)} batches={batches} calls={calls} latency={latency_ms:.0f}ms")
    print(f"  concurrent ({CONCURRENCY}): {', '.join(f'{t:.3f}s' for t in concurrent_times)}")
    print(f"  sequential (1): {', '.join(f'{t:.3f}s' for t in sequential_times)}")
    print(
        f"  speedup {baseline / wall:.2f}x (goal >= 3), wall/ideal {wall / ideal:.2f} "
        f"(goal <= 2, ideal {ideal:.3f}s)"
    )
    return (
        f"BENCH fetch_concurrency ids={len(ids)} calls={calls} concurrency={CONCURRENCY} "
        f"latency_ms={latency_ms:.0f} wall_s={wall:.3f} sequential_s={baseline:.3f} "
        f"speedup={baseline / wall:.2f} ideal_s={ideal:.3f} wall_to_ideal={wall / ideal:.2f}"
    )


def sandbox_cpu(channel: Connection) -> float:
    """The sandbox process's CPU seconds so far (all its threads)."""
    channel.send("cpu")
    seconds: float = channel.recv()
    return seconds


def mixed_case(setup: dict[str, Any], repeat: int, latency_ms: float, channel: Connection) -> str:
    ids: list[str] = setup["mixed_ids"]
    key, secret, token, token_secret = setup["oauth1"]
    credential = OAuth1Credential(
        consumer_key=key,
        consumer_secret=secret,
        access_token=token,
        access_token_secret=token_secret,
    )
    ours: list[float] = []
    client_cpu: list[float] = []
    server_cpu: list[float] = []
    calls: set[int] = set()
    with XClient(
        credential=credential, base_url=setup["base_url"], max_workers=CONCURRENCY
    ) as client:
        timed_fetch(client, ids[: 100 * CONCURRENCY])  # warm up every worker's Session
        for _ in range(repeat):
            sandbox_before, client_before = sandbox_cpu(channel), time.process_time()
            seconds, result = timed_fetch(client, ids)
            client_cpu.append(time.process_time() - client_before)
            server_cpu.append(sandbox_cpu(channel) - sandbox_before)
            ours.append(seconds)
            calls.add(result.api_calls)
            if len(result.statuses) != len(ids):
                raise SystemExit(f"{len(result.statuses)} statuses for {len(ids)} IDs")
            fetched = sum(1 for s in result.statuses if s.status.has_metrics)
            if fetched != len(ids):
                raise SystemExit(f"only {fetched} of {len(ids)} Posts fetched")
    auth = OAuth1(
        key, client_secret=secret, resource_owner_key=token, resource_owner_secret=token_secret
    )
    script = [four_thread_requests(setup["base_url"], auth, ids) for _ in range(repeat)]
    (call_count,) = calls
    floor = latency_ms / 1000 * math.ceil(call_count / CONCURRENCY)
    wall = statistics.median(ours)
    script_wall = statistics.median(t for t, _, _ in script)
    script_calls, script_fetched = script[0][1], script[0][2]
    print(
        f"mixed: ids={len(ids)} ({setup['others']} not the caller's) calls={call_count} "
        f"(before pipelining {CALLS_BEFORE_PIPELINING}) latency={latency_ms:.0f}ms"
    )
    print(f"  xmetrics ({CONCURRENCY} workers): {', '.join(f'{t:.3f}s' for t in ours)}")
    print(
        f"  4-thread requests: {', '.join(f'{t:.3f}s' for t, _, _ in script)}, "
        f"{script_calls} calls, metrics for {script_fetched} of {len(ids)} IDs"
    )
    print(f"  wall/floor {wall / floor:.2f} (goal <= 1.15, floor {floor:.3f}s)")
    print(
        f"  CPU per fetch (median): client {statistics.median(client_cpu):.3f}s, sandbox "
        f"{statistics.median(server_cpu):.3f}s ({call_count} calls, 4 at a time)"
    )
    return (
        f"BENCH fetch_mixed ids={len(ids)} others={setup['others']} calls={call_count} "
        f"calls_before={CALLS_BEFORE_PIPELINING} concurrency={CONCURRENCY} "
        f"latency_ms={latency_ms:.0f} wall_s={wall:.3f} floor_s={floor:.3f} "
        f"wall_to_floor={wall / floor:.2f} fetched={len(ids)} "
        f"requests_4_threads_s={script_wall:.3f} requests_4_threads_calls={script_calls} "
        f"requests_4_threads_fetched={script_fetched} "
        f"client_cpu_s={statistics.median(client_cpu):.3f} "
        f"sandbox_cpu_s={statistics.median(server_cpu):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve_sandbox, args=(args.ids, args.latency_ms, theirs), daemon=True
    )
    server.start()
    try:
        if not ours.poll(60):
            raise SystemExit("the sandbox did not start within 60 s")
        setup = ours.recv()
        if len(setup["public_ids"]) < args.ids or len(setup["mixed_ids"]) < args.ids:
            raise SystemExit("the sandbox world has too few visible Posts")
        lines = [
            public_case(setup, args.repeat, args.latency_ms),
            mixed_case(setup, args.repeat, args.latency_ms, ours),
        ]
    finally:
        ours.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
