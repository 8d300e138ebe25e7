"""Benchmark and soak: fetch 5,000 Post IDs while the sandbox misbehaves, beside a clean run.

The sandbox injects 10 % 429, 5 % 5xx (500 and 503), 2 % dropped connections, 2 % malformed
JSON and jittered latency on every ``/2/`` request. The client (OAuth 1.0a, the demo user, 4
workers) must end every pasted ID with metrics or a status: none lost, none duplicated, and no
logical request tried more than the retry policy's ``max_attempts`` (checked against the
sandbox's own request log, not the client's counters). The same IDs are fetched once more with
no faults as the baseline.

Backoff waits are *virtual*: the client's ``RetryPolicy.sleep`` (a public constructor
argument) sleeps 1/1000 of each requested wait, so a 60 s ``x-rate-limit-reset`` costs 60 ms
of wall time; the requested total is reported as ``virtual_wait_s``.

    .venv/bin/python bench/bench_fault_soak.py [--ids 5000] [--latency-ms 5] [--jitter-ms 20]

The suite runs :func:`run_soak` at CI size (``tests/hostile/test_fault_soak.py``). Ends with one
line: ``BENCH fault_soak ids=… calls=… retries=… wall_s=… lost=0 duplicated=0 …``.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xmetrics_core.client import XClient, XUser  # noqa: E402
from xmetrics_core.credentials import OAuth1Credential  # noqa: E402
from xmetrics_core.models import FetchResult, PostRecord, PostStatus  # noqa: E402
from xmetrics_core.retry import RetryPolicy  # noqa: E402
from xmetrics_core.sandbox import FaultConfig, Sandbox, SandboxSettings, start_sandbox  # noqa: E402
from xmetrics_core.sandbox.settings import TWEETS_LOOKUP, USERS_ME  # noqa: E402
from xmetrics_core.sandbox.world import make_snowflake  # noqa: E402

SOAK_MAX_ATTEMPTS = 5
VIRTUAL_TIME_SCALE = 0.001
"""Wall seconds slept per second of backoff the client asks for."""
FINAL_WITHOUT_METRICS = frozenset(
    {PostStatus.NOT_FOUND, PostStatus.NOT_AUTHORIZED, PostStatus.FAILED}
)


def hostile_faults(*, seed: int, latency_ms: float, jitter_ms: float) -> FaultConfig:
    """The issue's mix: 10 % 429, 5 % 5xx, 2 % drops, 2 % malformed JSON, jittered latency."""
    return FaultConfig(
        seed=seed,
        latency_ms=latency_ms,
        latency_jitter_ms=jitter_ms,
        rate_429=0.10,
        rate_500=0.025,
        rate_503=0.025,
        rate_drop=0.02,
        rate_malformed=0.02,
    )


@dataclass(kw_only=True)
class VirtualSleep:
    """A ``RetryPolicy.sleep`` that records each wait and sleeps a scaled-down share of it."""

    scale: float = VIRTUAL_TIME_SCALE
    requested: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.requested.append(seconds)
        time.sleep(seconds * self.scale)


@dataclass(frozen=True, kw_only=True)
class SoakReport:
    """What one soak run did and whether every invariant held."""

    ids: int
    calls: int
    retries: int
    wall_s: float
    lost: int
    duplicated: int
    with_metrics: int
    final_without_metrics: int
    failed: int
    statuses: Counter[str]
    max_attempts_seen: int
    retry_bound: int
    faults_injected: Counter[str]
    log_calls: int
    logical_requests: int
    """Distinct requests in the sandbox's log (a retry repeats one)."""
    virtual_wait_s: float
    wrong_metrics: int


def soak_ids(sandbox: Sandbox, count: int, *, seed: int) -> list[str]:
    """``count`` unique IDs, shuffled deterministically: world Posts (visible, protected,
    suspended), deleted IDs, and for about a fifth snowflakes nobody posted (recent and old)."""
    world = sandbox.world
    rng = random.Random(seed)
    real = list(dict.fromkeys([*(p.id for p in world.posts), *world.deleted_ids]))
    rng.shuffle(real)
    unknown_wanted = max(count // 5, count - len(real))
    now = sandbox.clock.now()
    unknown = [
        make_snowflake(
            now - timedelta(days=rng.uniform(0.01, 60), seconds=n), worker=1023, sequence=n
        )
        for n in range(1, unknown_wanted + 1)
    ]
    chosen = list(dict.fromkeys([*real[: count - len(unknown)], *unknown]))[:count]
    if len(chosen) < count:
        raise ValueError(f"could only build {len(chosen)} unique IDs")
    rng.shuffle(chosen)
    return chosen


def demo_oauth1(sandbox: Sandbox) -> OAuth1Credential:
    """The demo user's OAuth 1.0a credential (user context: private groups for own Posts)."""
    demo = sandbox.demo
    return OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )


def _lookup_key(params: Mapping[str, str]) -> tuple[str, str]:
    """One logical ``GET /2/tweets`` request: its IDs and fields (retries repeat both)."""
    return (params.get("ids", ""), params.get("tweet.fields", ""))


def _metrics_match(sandbox: Sandbox, record: PostRecord, now: datetime) -> bool:
    """Public metrics equal the world's; the demo user's recent Posts carry the private ones."""
    truth = sandbox.world.post(record.id)
    if truth is None:
        return False
    if dict(record.metrics.get("public_metrics", {})) != dict(truth.public_metrics):
        return False
    if truth.author_id == sandbox.world.demo_user_id and truth.within_private_window(now):
        served = record.metrics.get("non_public_metrics")
        return served is not None and dict(served) == dict(truth.non_public_metrics)
    return True


def check_soak(
    sandbox: Sandbox,
    ids: Sequence[str],
    result: FetchResult,
    *,
    wall_s: float,
    retry_bound: int,
    sleep: VirtualSleep,
) -> SoakReport:
    """Compare one fetch's result with the IDs asked, the world and the sandbox's request log."""
    asked = set(ids)
    status_ids = [s.id for s in result.statuses]
    counted = Counter(status_ids)
    lost = len(asked - set(status_ids))
    duplicated = sum(n - 1 for n in counted.values() if n > 1)
    duplicated += sum(n - 1 for n in Counter(p.id for p in result.posts).values() if n > 1)
    records = {p.id: p for p in result.posts}
    now = sandbox.clock.now()
    wrong = 0
    for status in result.statuses:
        truth = sandbox.world.post(status.id)
        if status.status.has_metrics:
            record = records.get(status.id)
            wrong += record is None or not _metrics_match(sandbox, record, now)
        else:
            wrong += (
                status.status not in FINAL_WITHOUT_METRICS
                or not status.detail
                or (status.status is PostStatus.NOT_FOUND and truth is not None)
            )
    entries = [e for e in sandbox.request_log.entries() if e.path.startswith("/2/")]
    attempts_per_request = Counter(_lookup_key(e.params) for e in entries if e.path == "/2/tweets")
    me_calls = sum(1 for e in entries if e.path == "/2/users/me")
    if me_calls:
        attempts_per_request[("/2/users/me", "")] = me_calls
    statuses = Counter(s.status.value for s in result.statuses)
    return SoakReport(
        ids=len(ids),
        calls=result.api_calls,
        retries=result.retries,
        wall_s=wall_s,
        lost=lost,
        duplicated=duplicated,
        with_metrics=sum(1 for s in result.statuses if s.status.has_metrics),
        final_without_metrics=sum(1 for s in result.statuses if s.status in FINAL_WITHOUT_METRICS),
        failed=statuses.get(PostStatus.FAILED.value, 0),
        statuses=statuses,
        max_attempts_seen=max(attempts_per_request.values(), default=0),
        retry_bound=retry_bound,
        faults_injected=Counter(e.fault or "none" for e in entries),
        log_calls=len(entries),
        logical_requests=len(attempts_per_request),
        virtual_wait_s=sum(sleep.requested),
        wrong_metrics=wrong,
    )


def run_soak(
    sandbox: Sandbox,
    ids: Sequence[str],
    faults: FaultConfig | None,
    *,
    max_attempts: int = SOAK_MAX_ATTEMPTS,
    me: XUser | None = None,
) -> tuple[FetchResult, SoakReport]:
    """One fetch of ``ids`` under ``faults`` (None: a clean baseline), checked. Without ``me``
    the client asks ``/2/users/me`` first, under the same faults."""
    sandbox.request_log.clear()
    sandbox.reset_rate_limits()
    if faults is None:
        sandbox.faults.clear()
    else:
        sandbox.faults.configure(faults)
    sleep = VirtualSleep()
    policy = RetryPolicy(
        max_attempts=max_attempts,
        base_delay=0.2,
        max_delay=4.0,
        max_total_wait=600.0,
        sleep=sleep,
    )
    try:
        with XClient(
            credential=demo_oauth1(sandbox),
            base_url=sandbox.base_url,
            retry=policy,
            max_workers=4,
            clock=sandbox.clock.now,
        ) as client:
            started = time.perf_counter()
            result = client.fetch_posts(list(ids), me=me)
            wall = time.perf_counter() - started
    finally:
        sandbox.faults.clear()
    return result, check_soak(
        sandbox, ids, result, wall_s=wall, retry_bound=max_attempts, sleep=sleep
    )


def soak_settings(*, accounts: int = 800) -> SandboxSettings:
    """A roomy world (about six Posts per account), and rate limits that only the injected
    429s can hit."""
    return SandboxSettings(
        accounts=accounts,
        rate_limits={TWEETS_LOOKUP: (100_000, 100_000), USERS_ME: (None, 100_000)},
    )


def describe(name: str, report: SoakReport) -> str:
    """A human-readable line about one run."""
    faults = ", ".join(f"{k} {v}" for k, v in sorted(report.faults_injected.items()))
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
    return (
        f"{name}: {report.ids} IDs, {report.calls} calls ({report.log_calls} logged: {faults}), "
        f"{report.retries} retries, max {report.max_attempts_seen}/{report.retry_bound} attempts "
        f"per request, {report.wall_s:.2f}s wall, {report.virtual_wait_s:.1f}s virtual backoff; "
        f"lost {report.lost}, duplicated {report.duplicated}, wrong {report.wrong_metrics}; "
        f"{statuses}"
    )


def totals(reports: Sequence[SoakReport]) -> dict[str, float]:
    """Sums (and the worst attempts count) over several rounds."""
    return {
        "ids": sum(r.ids for r in reports),
        "calls": sum(r.calls for r in reports),
        "retries": sum(r.retries for r in reports),
        "wall_s": sum(r.wall_s for r in reports),
        "lost": sum(r.lost for r in reports),
        "duplicated": sum(r.duplicated for r in reports),
        "wrong": sum(r.wrong_metrics for r in reports),
        "failed": sum(r.failed for r in reports),
        "with_metrics": sum(r.with_metrics for r in reports),
        "faults": sum(sum(v for k, v in r.faults_injected.items() if k != "none") for r in reports),
        "max_attempts": max((r.max_attempts_seen for r in reports), default=0),
        "virtual_wait_s": sum(r.virtual_wait_s for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=5000)
    parser.add_argument(
        "--rounds", type=int, default=8, help="fetches of all IDs, new fault seed each"
    )
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--jitter-ms", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    started_at = datetime.now().astimezone()
    hostile: list[SoakReport] = []
    clean: list[SoakReport] = []
    with start_sandbox(settings=soak_settings(), seed=7) as sandbox:
        ids = soak_ids(sandbox, args.ids, seed=args.seed)
        for round_number in range(args.rounds):
            seed = args.seed + round_number
            latency = {"latency_ms": args.latency_ms, "latency_jitter_ms": args.jitter_ms}
            _, baseline = run_soak(sandbox, ids, FaultConfig(seed=seed, **latency))
            _, soak = run_soak(
                sandbox,
                ids,
                hostile_faults(seed=seed, latency_ms=args.latency_ms, jitter_ms=args.jitter_ms),
            )
            clean.append(baseline)
            hostile.append(soak)
            print(describe(f"round {round_number + 1} baseline", baseline))
            print(describe(f"round {round_number + 1} hostile ", soak))
    print(f"run at {started_at:%Y-%m-%d %H:%M %Z}")
    soak_sum, base_sum = totals(hostile), totals(clean)
    rounds = max(args.rounds, 1)
    broken = [
        name
        for name, bad in (
            ("lost", soak_sum["lost"]),
            ("duplicated", soak_sum["duplicated"]),
            ("wrong metrics", soak_sum["wrong"]),
            ("retry bound", max(0, soak_sum["max_attempts"] - SOAK_MAX_ATTEMPTS)),
        )
        if bad
    ]
    wall_ratio = soak_sum["wall_s"] / base_sum["wall_s"] if base_sum["wall_s"] else float("inf")
    print(
        f"BENCH fault_soak ids={args.ids} rounds={args.rounds} "
        f"calls={soak_sum['calls'] / rounds:.1f} retries={soak_sum['retries'] / rounds:.1f} "
        f"wall_s={soak_sum['wall_s'] / rounds:.2f} lost={soak_sum['lost']:.0f} "
        f"duplicated={soak_sum['duplicated']:.0f} wrong={soak_sum['wrong']:.0f} "
        f"failed={soak_sum['failed'] / rounds:.1f} "
        f"faults_injected={soak_sum['faults'] / rounds:.1f} "
        f"max_attempts={soak_sum['max_attempts']:.0f}/{SOAK_MAX_ATTEMPTS} "
        f"virtual_wait_s={soak_sum['virtual_wait_s'] / rounds:.1f} "
        f"baseline_calls={base_sum['calls'] / rounds:.1f} "
        f"baseline_wall_s={base_sum['wall_s'] / rounds:.2f} wall_ratio={wall_ratio:.2f} "
        f"call_ratio={soak_sum['calls'] / max(base_sum['calls'], 1):.2f}"
    )
    if broken:
        raise SystemExit(f"invariants broken: {', '.join(broken)}")


if __name__ == "__main__":
    main()
