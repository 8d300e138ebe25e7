"""Benchmark: sessions served per replica, one replica vs two behind nginx (issue 14).

Claim: the dashboard scales out. A team deployment (``tests/teams/cluster.py``: the shared
Demo sandbox, N ``streamlit run server.py`` replicas sharing Redis and PostgreSQL, Debian's
nginx in front with ``deploy/nginx.conf``) is started with one replica, measured, stopped,
and started again with two, measured the same way in the same run.

The load: ``--sessions`` browser-like sessions (``tests/teams/streamlit_client.py``: the
WebSocket protocol of Streamlit's frontend, ``BackMsg`` rerun → ``ForwardMsg`` to
``script_finished``, the browser's cookie, through nginx), each signed in to the Demo with
the same results on show: the Posts page rerun with ``--posts`` cached results (the browser's
connection, last query and the result cache in Redis, seeded as the page saves them; the
first run of every session is checked to show the results, not "expired from the cache").
Every session reruns the page back to back for ``--seconds``; reported: reruns per second
(all sessions), the per-replica share, and p50/p95 of one rerun's latency, for one and two
replicas, and their ratios. The sessions are spread evenly over the replicas (browser ids
are drawn until nginx's cookie hash gives each replica its share), so the ratio measures the
replicas, not the luck of the hash. The Demo's history store is prefilled (as the replicas
do it, under the team's lock) before any session opens it, as a team's long-running store
is, so the replicas' own prefills read nothing; and the first ``--warmup`` seconds of reruns
are not counted.

**This machine has 2 cores, shared with other work**, and the client, nginx, Redis,
PostgreSQL and the sandbox run on the same 2 cores as the replicas: a second replica can
use the second core only as far as the rest leaves it free, so the ratio is a floor of what
two replicas on two hosts would give, and it moves with the machine's load. Bounded: about
two minutes (two cluster starts and ``2 × --seconds``); loopback only.

Needs Redis (127.0.0.1:6379, ``XMETRICS_TEST_REDIS_URL``), PostgreSQL (``test`` database,
``XMETRICS_TEST_POSTGRES_URL``) and ``/usr/sbin/nginx``; its keys and schemas are removed.

Run: ``.venv/bin/python bench/bench_replicas.py [--sessions 8] [--seconds 20] [--posts 20]
[--warmup 3]``.
Ends with one line: ``BENCH replicas key=value …``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from tests.store.conftest import postgres_admin, schema_url  # noqa: E402
from tests.teams.cluster import (  # noqa: E402
    Cluster,
    demo_connection,
    drop_team_resources,
    start_cluster,
)
from tests.teams.conftest import REDIS_URL  # noqa: E402
from tests.teams.streamlit_client import StreamlitSession  # noqa: E402
from xmetrics_core.browser_session import BROWSER_COOKIE, BrowserSessions, StoredQuery  # noqa: E402
from xmetrics_core.demo_history import prefill_demo_history  # noqa: E402
from xmetrics_core.references import parse_references  # noqa: E402
from xmetrics_core.sandbox.remote import RemoteSandbox  # noqa: E402
from xmetrics_core.shared_state import team_state  # noqa: E402
from xmetrics_core.store import open_store  # noqa: E402
from xmetrics_ui.session import RESULT_TTL_SECONDS  # noqa: E402
from xmetrics_ui.store import PREFILL_LOCK_SECONDS, prefill_lock_name  # noqa: E402
from xmetrics_ui.views import posts_result_key  # noqa: E402

PAGE = "posts"
SHOWN = b"Status of every ID"
EXPIRED = b"expired from the cache"
TIMEOUT = 20


@dataclass(frozen=True, kw_only=True)
class Measured:
    replicas: int
    sessions: int
    split: str
    """Sessions per replica, as nginx routed them (``4/4``)."""
    reruns: int
    seconds: float
    latencies: list[float]

    @property
    def reruns_per_second(self) -> float:
        return self.reruns / self.seconds

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000


def _browsers(cluster: Cluster, sessions: int) -> dict[str, str]:
    """``sessions`` browser ids (→ the replica nginx pins each to), an even share each."""
    share = -(-sessions // len(cluster.replicas))
    picked: dict[str, str] = {}
    per_replica: Counter[str] = Counter()
    for _ in range(sessions * 20):
        if len(picked) == sessions:
            break
        browser = requests.Session()
        browser.get(cluster.nginx_url, timeout=TIMEOUT)  # the first load sets the cookie
        replica = browser.get(cluster.nginx_url, timeout=TIMEOUT).headers["X-Xmetrics-Replica"]
        if per_replica[replica] < share:
            per_replica[replica] += 1
            picked[browser.cookies[BROWSER_COOKIE]] = replica
    if len(picked) < sessions:
        raise RuntimeError(f"nginx did not spread {sessions} browsers: {dict(per_replica)}")
    return picked


def _seed(cluster: Cluster, browsers: list[str], posts: int) -> None:
    """Each browser signed in to the Demo with ``posts`` results on show, in the shared
    state, as the Posts page keeps them after a Fetch."""
    connection, client = demo_connection(cluster)
    assert connection.account is not None
    groups = connection.credential.allowed_groups
    with client:
        mine = client.recent_posts(connection.account.id, days=30)[:posts]
        paste = "\n".join(post.id for post in mine)
        parsed = parse_references(paste)
        result = client.fetch_posts(parsed, groups=groups)
    team = team_state(cluster.env)
    assert team is not None
    team.result_cache(ttl_seconds=RESULT_TTL_SECONDS).put(
        posts_result_key(connection, parsed, groups), result
    )
    stored = BrowserSessions(store=team.store)
    for browser in browsers:
        stored.save_connection(browser, connection, remember=False)
        stored.save_query(
            browser,
            StoredQuery(
                paste=paste,
                groups=tuple(group.value for group in groups),
                fingerprint=connection.fingerprint,
                fetched_at=result.fetched_at,
            ),
        )


async def _drive(
    cluster: Cluster, browsers: list[str], *, warmup: float, seconds: float
) -> tuple[int, float, list[float]]:
    """Every session: connect, one checked first run, then reruns back to back; the reruns
    that start after ``warmup`` and end within ``seconds`` after it are measured."""
    ready = asyncio.Barrier(len(browsers) + 1)
    go = asyncio.Event()
    window: dict[str, float] = {}
    latencies: list[float] = []

    async def one(browser: str) -> None:
        session = StreamlitSession(
            base_url=cluster.nginx_url, cookies={BROWSER_COOKIE: browser}, timeout_seconds=120
        )
        async with session:
            first = await session.rerun(PAGE)
            if SHOWN not in first.payload or EXPIRED in first.payload:
                raise RuntimeError("a session's first run did not show the cached results")
            await ready.wait()
            await go.wait()
            while time.perf_counter() < window["end"]:
                began = time.perf_counter()
                rerun = await session.rerun(PAGE)
                if began >= window["start"] and time.perf_counter() <= window["end"]:
                    latencies.append(rerun.seconds)

    tasks = [asyncio.create_task(one(browser)) for browser in browsers]
    waiting = asyncio.create_task(ready.wait())
    while not waiting.done():  # every first run done, or one of them failed
        done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [task for task in done if task is not waiting and task.exception()]
        if failed:
            for task in tasks:
                task.cancel()
            waiting.cancel()
            await failed[0]  # raises its exception
    window["start"] = time.perf_counter() + warmup
    window["end"] = window["start"] + seconds
    go.set()
    await asyncio.gather(*tasks)
    return len(latencies), seconds, latencies


def _prefill_demo_store(cluster: Cluster) -> None:
    """The Demo's history store filled as the replicas fill it (the shared sandbox's world,
    under the team's lock), before any session opens it: their prefills then read nothing."""
    team = team_state(cluster.env)
    assert team is not None
    world = RemoteSandbox.from_json(cluster.sandbox_line).world()
    with open_store(cluster.env["XMETRICS_DEMO_DATABASE_URL"]) as store:
        prefill_demo_history(
            store,
            now=world.now,
            seed=world.seed,
            settings=world.settings,
            exclusive=team.redis.exclusive(
                prefill_lock_name(store.url),
                hold_seconds=PREFILL_LOCK_SECONDS,
                wait_seconds=PREFILL_LOCK_SECONDS,
            ),
        )


def _measure(replicas: int, args: argparse.Namespace, root: Path) -> Measured:
    schema = f"xm_bench_{uuid.uuid4().hex[:10]}"
    prefix = f"xmbench-{uuid.uuid4().hex[:10]}"
    admin = postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    cluster: Cluster | None = None
    try:
        cluster = start_cluster(
            root / f"replicas-{replicas}",
            replicas=replicas,
            state_url=REDIS_URL,
            state_key=Fernet.generate_key().decode(),
            state_prefix=prefix,
            database_url=schema_url(schema),
            nginx=True,
        )
        _prefill_demo_store(cluster)
        pinned = _browsers(cluster, args.sessions)
        _seed(cluster, list(pinned), args.posts)
        reruns, seconds, latencies = asyncio.run(
            _drive(cluster, list(pinned), warmup=args.warmup, seconds=args.seconds)
        )
        split = "/".join(str(n) for _, n in sorted(Counter(pinned.values()).items()))
        return Measured(
            replicas=replicas,
            sessions=args.sessions,
            split=split,
            reruns=reruns,
            seconds=seconds,
            latencies=latencies,
        )
    finally:
        if cluster is not None:
            cluster.stop()
        drop_team_resources(redis_url=REDIS_URL, prefix=prefix, admin=admin, schema=schema)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    # a TERM (timeout, Ctrl-C in a pipeline) still stops the clusters and removes their data
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="xm-bench-replicas-") as folder:
        one = _measure(1, args, Path(folder))
        two = _measure(2, args, Path(folder))
    for measured in (one, two):
        print(
            f"{measured.replicas} replica(s), {measured.sessions} sessions ({measured.split}): "
            f"{measured.reruns} reruns in {measured.seconds:.1f} s = "
            f"{measured.reruns_per_second:.1f}/s "
            f"({measured.reruns_per_second / measured.replicas:.1f}/s per replica), "
            f"p50 {measured.percentile_ms(50):.0f} ms, p95 {measured.percentile_ms(95):.0f} ms"
        )
    print(
        f"BENCH replicas sessions={args.sessions} posts={args.posts} seconds={args.seconds:g} "
        f"one_reruns_per_s={one.reruns_per_second:.2f} two_reruns_per_s={two.reruns_per_second:.2f} "
        f"throughput_ratio={two.reruns_per_second / one.reruns_per_second:.2f} "
        f"one_per_replica={one.reruns_per_second:.2f} "
        f"two_per_replica={two.reruns_per_second / 2:.2f} "
        f"one_p50_ms={one.percentile_ms(50):.0f} one_p95_ms={one.percentile_ms(95):.0f} "
        f"two_p50_ms={two.percentile_ms(50):.0f} two_p95_ms={two.percentile_ms(95):.0f} "
        f"p50_ratio={two.percentile_ms(50) / one.percentile_ms(50):.2f} "
        f"p95_ratio={two.percentile_ms(95) / one.percentile_ms(95):.2f} split_two={two.split}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
