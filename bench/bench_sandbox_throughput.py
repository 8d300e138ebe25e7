"""Benchmark: how fast the sandbox serves ``GET /2/tweets`` with 100 IDs and every field.

Later benchmarks drive the sandbox hard; this shows it is not their bottleneck. One client,
one keep-alive ``requests.Session`` on loopback, an OAuth 2.0 user token of the demo owner and
100 of its Posts from the last 30 days (the world is sized to 150 demo Posts), so every Post is
served with all four metric groups, media (with their private groups) and author expansions:
the heaviest successful lookup. Baseline, side by side on the same server and session: the trivial
``GET /2/users/me``. Each side is bounded by a request count and a time budget.

The world lives in time: first measured held still (the in-process default, where a request
evaluates each Post's curves once per second of sandbox time and then reuses them), then with
the clock running at 600× (every request sees new counts, so every curve is evaluated anew).

Run: ``.venv/bin/python bench/bench_sandbox_throughput.py [--requests N] [--seconds S]``.
Ends with one line: ``BENCH sandbox_throughput rps_tweets_100=… rps_users_me=… ratio=… p50_ms=… p95_ms=…
rps_tweets_100_moving=… p50_ms_moving=…``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xmetrics_core.sandbox import SandboxSettings, start_sandbox  # noqa: E402
from xmetrics_core.sandbox.settings import DEFAULT_RATE_LIMITS  # noqa: E402

TIMEOUT = (3.05, 20.0)
TWEET_FIELDS = (
    "public_metrics,non_public_metrics,organic_metrics,promoted_metrics,created_at,author_id,"
    "attachments,conversation_id,lang,entities,referenced_tweets,edit_controls"
)
MEDIA_FIELDS = (
    "public_metrics,non_public_metrics,organic_metrics,promoted_metrics,duration_ms,type,"
    "preview_image_url,url,variants,width,height,alt_text"
)


def measure(
    session: requests.Session, url: str, params: dict[str, str], *, count: int, seconds: float
) -> tuple[float, list[float]]:
    """Requests per second and per-request latencies (s) of up to ``count`` sequential calls."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while len(latencies) < count and time.perf_counter() < deadline:
        before = time.perf_counter()
        response = session.get(url, params=params, timeout=TIMEOUT)
        response.raise_for_status()
        response.json()
        latencies.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    """Run both sides and print the BENCH line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per side (default 200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per side")
    args = parser.parse_args()

    unlimited = {
        endpoint: (None if app is None else 10**9, None if user is None else 10**9)
        for endpoint, (app, user) in DEFAULT_RATE_LIMITS.items()
    }
    settings = SandboxSettings(rate_limits=unlimited, demo_posts=150)
    with start_sandbox(settings=settings) as sandbox, requests.Session() as session:
        world = sandbox.world
        now = sandbox.clock.now()
        ids = [p.id for p in world.demo_posts if p.within_private_window(now)][:100]
        if len(ids) != 100:
            raise RuntimeError("the world should hold 100 demo Posts from the last 30 days")
        token = sandbox.issue_oauth2_token(world.demo_user_id)
        session.headers["Authorization"] = f"Bearer {token['access_token']}"
        lookup = {
            "ids": ",".join(ids),
            "tweet.fields": TWEET_FIELDS,
            "expansions": "attachments.media_keys,author_id",
            "media.fields": MEDIA_FIELDS,
            "user.fields": "created_at,description,public_metrics,protected,verified",
        }
        sample = session.get(sandbox.base_url + "/2/tweets", params=lookup, timeout=TIMEOUT)
        body = sample.json()
        size_kb = len(sample.content) / 1024
        measure(session, sandbox.base_url + "/2/users/me", {}, count=10, seconds=2)  # warm-up
        rps_tweets, latencies = measure(
            session,
            sandbox.base_url + "/2/tweets",
            lookup,
            count=args.requests,
            seconds=args.seconds,
        )
        rps_me, _ = measure(
            session, sandbox.base_url + "/2/users/me", {}, count=args.requests, seconds=args.seconds
        )
        sandbox.clock.run(speed=600)  # ten sandbox minutes a second: new counts every request
        rps_moving, moving = measure(
            session,
            sandbox.base_url + "/2/tweets",
            lookup,
            count=args.requests,
            seconds=args.seconds,
        )
    print(
        f"GET /2/tweets: {len(ids)} IDs, {len(body.get('data', []))} served, "
        f"{len(body.get('errors', []))} partial errors, {size_kb:.0f} KiB per response; "
        f"{len(latencies)} requests, mean {statistics.mean(latencies) * 1000:.1f} ms"
    )
    print(
        f"BENCH sandbox_throughput rps_tweets_100={rps_tweets:.1f} rps_users_me={rps_me:.1f} "
        f"ratio={rps_tweets / rps_me:.3f} p50_ms={percentile(latencies, 0.5) * 1000:.1f} "
        f"p95_ms={percentile(latencies, 0.95) * 1000:.1f} "
        f"rps_tweets_100_moving={rps_moving:.1f} p50_ms_moving={percentile(moving, 0.5) * 1000:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
