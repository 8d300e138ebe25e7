"""Benchmark: what team mode adds to a cached rerun, Redis (encrypted) beside in-process.

Claim (issue 14): moving the server-side state to Redis keeps a cached rerun cheap. Every
rerun of the Posts page with results on show reads, from the server's state, the browser's
connection (``BrowserSessions.connection``) and the last results (``ResultCache.get``, here a
``FetchResult`` of 1,000 Posts with every metric the Demo's user token gets, fetched over HTTP
from the sandbox). Both are timed on the in-process ``MemoryStateStore`` (the baseline, what
one ``make run`` uses) and on Redis through ``EncryptedStateStore`` + ``PickledStateStore``
(what ``XMETRICS_STATE_URL`` uses), side by side in the same run, medians of ``--reads``;
and once, another replica's first read of the same results (it decrypts and unpickles them;
its later reads are memoised like the first replica's).

Needs Redis on 127.0.0.1:6379 (``XMETRICS_BENCH_REDIS_URL`` elsewhere); its keys go under a
prefix of their own and are deleted at the end. Sessions served per replica with one vs two
replicas: ``bench/bench_replicas.py``.

Run: ``.venv/bin/python bench/bench_teams.py [--reads N]``.
Ends with one line: ``BENCH teams key=value …``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from xmetrics_core.browser_session import BrowserSessions, new_browser_id  # noqa: E402
from xmetrics_core.client import XClient  # noqa: E402
from xmetrics_core.connection import AuthMethod, Connection, endpoints_for  # noqa: E402
from xmetrics_core.credentials import OAuth1Credential  # noqa: E402
from xmetrics_core.models import FetchResult  # noqa: E402
from xmetrics_core.sandbox import SandboxSettings, start_sandbox  # noqa: E402
from xmetrics_core.shared_state import (  # noqa: E402
    BestEffortStateStore,
    EncryptedStateStore,
    PickledStateStore,
    RedisStateStore,
)
from xmetrics_core.state import MemoryStateStore, ResultCache, StateStore  # noqa: E402

POSTS = 1000
REDIS_URL = os.environ.get("XMETRICS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def _median_ms(action: Callable[[], object], reads: int) -> float:
    action()  # warm
    times: list[float] = []
    for _ in range(reads):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _fetch() -> tuple[FetchResult, Connection]:
    with start_sandbox(settings=SandboxSettings(demo_posts=POSTS)) as sandbox:
        demo = sandbox.demo
        credential = OAuth1Credential(
            consumer_key=demo.consumer_key,
            consumer_secret=demo.consumer_secret,
            access_token=demo.access_token,
            access_token_secret=demo.access_token_secret,
        )
        ids = [post.id for post in sandbox.world.demo_posts][:POSTS]
        client = XClient(credential=credential, base_url=sandbox.base_url)
        try:
            result = client.fetch_posts(ids)
        finally:
            client.close()
        connection = Connection(
            credential=credential,
            method=AuthMethod.OAUTH1_KEYS,
            endpoints=endpoints_for(sandbox.base_url),
        )
        return result, connection


def _measure(
    name: str,
    bytes_store: StateStore[bytes],
    cache: ResultCache[Any],
    result: FetchResult,
    connection: Connection,
    reads: int,
) -> dict[str, float]:
    sessions = BrowserSessions(store=bytes_store)
    browser = new_browser_id()
    sessions.save_connection(browser, connection, remember=False)
    key = (connection.fingerprint, connection.endpoints.api_base_url, "bench", name)
    cache.put(key, result)
    assert cache.get(key) is not None
    session_ms = _median_ms(lambda: sessions.connection(browser), reads)
    cache_ms = _median_ms(lambda: cache.get(key), reads)
    return {"session_ms": session_ms, "cache_ms": cache_ms, "rerun_ms": session_ms + cache_ms}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    result, connection = _fetch()
    size = len(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))

    memory_store: MemoryStateStore[bytes] = MemoryStateStore()
    memory = _measure(
        "memory", memory_store, ResultCache(ttl_seconds=900), result, connection, args.reads
    )

    prefix = f"xmbench-{uuid.uuid4().hex[:10]}"
    shared = RedisStateStore(url=REDIS_URL, prefix=prefix)
    shared.ping()
    encrypted = EncryptedStateStore(store=shared, key=Fernet.generate_key())
    cache: ResultCache[Any] = ResultCache(
        ttl_seconds=900,
        store=BestEffortStateStore(store=PickledStateStore(store=encrypted)),
        generations=BestEffortStateStore(store=PickledStateStore(store=encrypted)),
    )
    try:
        team = _measure("redis", encrypted, cache, result, connection, args.reads)
        # another replica's first read of that result: nothing memoised yet, so it decrypts
        # and unpickles (once; then it is memoised there too)
        other: ResultCache[Any] = ResultCache(
            ttl_seconds=900,
            store=PickledStateStore(store=encrypted),
            generations=PickledStateStore(store=encrypted),
        )
        key = (connection.fingerprint, connection.endpoints.api_base_url, "bench", "redis")
        start = time.perf_counter()
        assert other.get(key) is not None
        team["other_first_ms"] = (time.perf_counter() - start) * 1000
    finally:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        shared.close()

    print(f"result: {len(result.posts):,} Posts, {size / 1e6:.2f} MB pickled")
    for label, numbers in (("in-process", memory), ("redis+fernet", team)):
        print(
            f"{label:>13}: session {numbers['session_ms']:.3f} ms, cached results "
            f"{numbers['cache_ms']:.3f} ms, together {numbers['rerun_ms']:.3f} ms"
        )
    print(f"another replica's first read of those results: {team['other_first_ms']:.1f} ms")
    print(
        f"BENCH teams posts={len(result.posts)} pickled_mb={size / 1e6:.2f} "
        f"reads={args.reads} memory_rerun_ms={memory['rerun_ms']:.3f} "
        f"redis_rerun_ms={team['rerun_ms']:.3f} redis_session_ms={team['session_ms']:.3f} "
        f"redis_cache_ms={team['cache_ms']:.3f} other_replica_first_ms={team['other_first_ms']:.1f} "
        f"added_ms={team['rerun_ms'] - memory['rerun_ms']:.3f} "
        f"ratio={team['rerun_ms'] / max(memory['rerun_ms'], 1e-6):.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
