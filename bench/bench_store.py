"""Benchmark: the history store with 1,000 Posts × hourly snapshots × 30 days.

Input: a synthetic account of ``--posts`` Posts, each carrying a video, created over the 48
hours before the first snapshot, read every hour for ``--hours`` hours. Every snapshot carries
all four metric groups on the Post and on its video (every Post ran as an ad: the worst case
for size); counts grow like X's do (fast, then slower) and organic + promoted = total.
Each hour is one ``FetchResult`` of ``--posts`` Posts, saved through ``Store.save`` exactly as
the collector will save it.

Measured on each backend (SQLite in a temporary folder; PostgreSQL on 127.0.0.1:5432, database
``test``, in a schema of its own, dropped afterwards):

* **store size**: SQLite's file after a WAL checkpoint (bytes per Post snapshot, media
  included); PostgreSQL's ``pg_total_relation_size`` of every table;
* **save**: one 1,000-Post snapshot (``Store.save``: rows built from the ``FetchResult``,
  written and committed), median and 95th percentile over every hour as the store fills,
  and the last 24 hours (the store full);
* **queries** on the full store, best of ``--repeats``: latest snapshot per Post (all Posts),
  growth of 20 Posts (impressions in all three contexts), the same-age baseline over every
  Post (impressions at 1 h, 6 h, 24 h, 48 h, 7 d, leave-one-out median), the best-time heatmap.

**Baseline**, in the same run and database: a naive long table, one row per metric value
(``post_id, created_at, fetched_at, context, group, metric, value``), appended every hour with
``DataFrame.to_sql`` (the frame built with ``frames.metrics_long_frame`` and the media frame
melted) and read with ``pandas.read_sql`` + pandas for the same four answers. The ratios are
baseline ÷ store (> 1: the store is faster or smaller).

Goals (issue 12): save ≤ 50 ms per 1,000-Post snapshot; each history query ≤ 250 ms; ≤ 250
bytes per snapshot on SQLite.

Run: ``.venv/bin/python bench/bench_store.py [--posts N] [--hours H] [--naive-hours H]
[--backends sqlite,postgresql]``;
``XMETRICS_BENCH_STORE_POSTS`` / ``XMETRICS_BENCH_STORE_HOURS`` set the size too (a quick run:
``--posts 200 --hours 72``). The full size takes tens of minutes on 2 cores, most of it the
naive baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from xmetrics_core.catalogue import Group, Level, fields_of  # noqa: E402
from xmetrics_core.frames import media_frame, metrics_long_frame, with_derived_post_metrics  # noqa: E402
from xmetrics_core.models import (
    FetchResult,
    FrozenGroups,
    IdStatus,
    MediaRecord,
    PostRecord,
    PostStatus,
)  # noqa: E402
from xmetrics_core.references import TWITTER_EPOCH_MS  # noqa: E402
from xmetrics_core.store import Account, open_store  # noqa: E402
from xmetrics_core.store.history import DEFAULT_AGES, leave_one_out  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AUTHOR = "1500000000000000001"
GROWTH_POSTS = 20
QUARTILE_FIELDS = (
    "playback_0_count",
    "playback_25_count",
    "playback_50_count",
    "playback_75_count",
    "playback_100_count",
)


# -- the synthetic account ---------------------------------------------------------------------


@dataclass
class World:
    """Posts with final counts and growth speeds; ``result_at(hour)`` is one hourly read."""

    n: int
    seed: int = 12
    ids: list[str] = field(init=False)
    created: list[datetime] = field(init=False)
    created_s: npt.NDArray[np.float64] = field(init=False)
    tau_h: npt.NDArray[np.float64] = field(init=False)
    finals: dict[str, npt.NDArray[np.float64]] = field(init=False)
    promoted_share: npt.NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        offsets = np.sort(rng.uniform(0, 48 * 3600, self.n))
        self.created = [START - timedelta(seconds=float(s)) for s in offsets]
        self.created_s = np.array([c.timestamp() for c in self.created])
        self.ids = [
            str(((int(c.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) | (i % 4096))
            for i, c in enumerate(self.created)
        ]
        impressions = rng.lognormal(np.log(20_000), 1.0, self.n)
        rate = {
            "retweet_count": 0.004,
            "quote_count": 0.001,
            "like_count": 0.03,
            "reply_count": 0.003,
            "bookmark_count": 0.002,
            "url_link_clicks": 0.005,
            "user_profile_clicks": 0.004,
        }
        self.finals = {"impression_count": impressions}
        for name, mean in rate.items():
            self.finals[name] = impressions * rng.uniform(0.3, 1.7, self.n) * mean
        views = impressions * rng.uniform(0.2, 0.6, self.n)
        self.finals["view_count"] = views
        share = np.cumprod(
            np.column_stack([np.ones(self.n), rng.uniform(0.4, 0.95, (self.n, 4))]), axis=1
        )
        for q, column in zip(QUARTILE_FIELDS, share.T, strict=True):
            self.finals[q] = views * 0.8 * column
        self.tau_h = rng.uniform(4, 48, self.n)
        self.promoted_share = rng.uniform(0.1, 0.6, self.n)

    def fetched_at(self, hour: int) -> datetime:
        return START + timedelta(hours=hour, seconds=7)

    def totals(self, hour: int) -> dict[str, npt.NDArray[np.int64]]:
        age_h = (self.fetched_at(hour).timestamp() - self.created_s) / 3600
        grown = 1 - np.exp(-age_h / self.tau_h)
        return {
            name: np.floor(final * grown).astype(np.int64) for name, final in self.finals.items()
        }

    def result_at(self, hour: int) -> FetchResult:
        totals = self.totals(hour)
        promoted = {
            k: np.floor(v * self.promoted_share).astype(np.int64) for k, v in totals.items()
        }
        organic = {k: v - promoted[k] for k, v in totals.items()}

        def dicts(
            source: dict[str, npt.NDArray[np.int64]], fields: Sequence[str]
        ) -> list[dict[str, int | None]]:
            matrix = np.column_stack([source[f] for f in fields]).tolist()
            return [dict(zip(fields, row, strict=True)) for row in matrix]

        engagements: npt.NDArray[np.int64] = np.sum(
            [
                totals[f]
                for f in (
                    "retweet_count",
                    "quote_count",
                    "like_count",
                    "reply_count",
                    "url_link_clicks",
                    "user_profile_clicks",
                )
            ],
            axis=0,
        )
        post_groups = [
            dicts(totals, fields_of(Level.POST, Group.PUBLIC)),
            dicts({**totals, "engagements": engagements}, fields_of(Level.POST, Group.NON_PUBLIC)),
            dicts(organic, fields_of(Level.POST, Group.ORGANIC)),
            dicts(promoted, fields_of(Level.POST, Group.PROMOTED)),
        ]
        media_groups = [
            dicts(totals, fields_of(Level.MEDIA, g))
            if g is not Group.ORGANIC and g is not Group.PROMOTED
            else dicts(organic if g is Group.ORGANIC else promoted, fields_of(Level.MEDIA, g))
            for g in (Group.PUBLIC, Group.NON_PUBLIC, Group.ORGANIC, Group.PROMOTED)
        ]
        keys = [f"7_{post_id}" for post_id in self.ids]
        posts = tuple(
            PostRecord(
                id=post_id,
                text=f"Post {i} of the bench account",
                author_id=AUTHOR,
                created_at=created,
                media_keys=(key,),
                metrics=FrozenGroups.of_catalogue_groups(groups),  # type: ignore[arg-type]
            )
            for i, (post_id, created, key, *groups) in enumerate(
                zip(self.ids, self.created, keys, *post_groups, strict=True)
            )
        )
        media = tuple(
            MediaRecord(
                media_key=key,
                type="video",
                duration_ms=30_000,
                post_ids=(post_id,),
                metrics=FrozenGroups.of_catalogue_groups(groups),  # type: ignore[arg-type]
            )
            for key, post_id, *groups in zip(keys, self.ids, *media_groups, strict=True)
        )
        statuses = tuple(
            IdStatus(id=post_id, status=PostStatus.OK, source=post_id, position=i)
            for i, post_id in enumerate(self.ids)
        )
        return FetchResult(
            posts=posts,
            media=media,
            statuses=statuses,
            groups=tuple(Group),
            api_calls=10,
            fetched_at=self.fetched_at(hour),
        )


# -- backends ----------------------------------------------------------------------------------


@contextmanager
def database(backend: str, folder: Path, name: str) -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh database URL and a function measuring its size in bytes."""
    if backend == "sqlite":
        path = folder / f"{name}.db"
        url = f"sqlite:///{path}"

        def sqlite_size() -> int:
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            return sum(p.stat().st_size for p in folder.glob(f"{name}.db*"))

        yield url, sqlite_size
        return
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"

    def pg_size() -> int:
        with admin.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
            return int(
                connection.execute(
                    sa.text(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = :s AND c.relkind IN ('r', 'm')"
                    ),
                    {"s": schema},
                ).scalar_one()
            )

    try:
        yield url, pg_size
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def best_of(repeats: int, work: Callable[[], object]) -> tuple[float, object]:
    times = []
    answer: object = None
    for _ in range(repeats):
        started = time.perf_counter()
        answer = work()
        times.append(time.perf_counter() - started)
    return min(times), answer


# -- the naive long table ----------------------------------------------------------------------


def naive_frame(result: FetchResult) -> pd.DataFrame:
    """One row per metric value, as a pandas user would write it with to_sql."""
    assert result.fetched_at is not None
    fetched = pd.Timestamp(result.fetched_at)
    created = {p.id: p.created_at for p in result.posts}
    posts = metrics_long_frame(result)[["post_id", "context", "group", "metric", "value"]]
    media = (
        media_frame(result)
        .melt(
            id_vars=["post_ids"],
            value_vars=[c for c in media_frame(result).columns if "_metrics." in c],
        )
        .dropna(subset=["value"])
        .assign(
            group=lambda d: d["variable"].str.split(".").str[0],
            metric=lambda d: d["variable"].str.split(".").str[1],
            context=lambda d: d["group"].map(
                {
                    "public_metrics": "total",
                    "non_public_metrics": "total",
                    "organic_metrics": "organic",
                    "promoted_metrics": "promoted",
                }
            ),
        )
        .rename(columns={"post_ids": "post_id"})[["post_id", "context", "group", "metric", "value"]]
    )
    long = pd.concat(
        [posts.astype(dict.fromkeys(("post_id", "context", "group", "metric"), "str")), media],
        ignore_index=True,
    )
    return long.assign(
        created_at=long["post_id"].map(created),
        fetched_at=fetched,
        value=long["value"].astype("int64"),
    )[["post_id", "created_at", "fetched_at", "context", "group", "metric", "value"]]


def naive_latest(engine: sa.Engine) -> pd.DataFrame:
    long = pd.read_sql(
        'SELECT l.post_id, l.created_at, l.fetched_at, l."group", l.metric, l.value FROM naive l '
        "JOIN (SELECT post_id, max(fetched_at) AS m FROM naive GROUP BY post_id) x "
        "ON l.post_id = x.post_id AND l.fetched_at = x.m WHERE l.metric NOT LIKE 'playback%%' AND l.metric <> 'view_count'",
        engine,
    )
    wide = long.assign(path=long["group"] + "." + long["metric"]).pivot_table(
        index=["post_id", "created_at", "fetched_at"], columns="path", values="value", aggfunc="max"
    )
    return with_derived_post_metrics(
        wide.reset_index().astype(dict.fromkeys(wide.columns, "Int64"))
    )


def naive_growth(engine: sa.Engine, ids: Sequence[str]) -> pd.DataFrame:
    listed = ",".join(f"'{i}'" for i in ids)
    frame = pd.read_sql(
        "SELECT post_id, created_at, fetched_at, context, value FROM naive WHERE metric = 'impression_count' "
        f"AND \"group\" <> 'public_metrics' AND post_id IN ({listed})",
        engine,
    )
    created = pd.to_datetime(frame["created_at"], utc=True)
    fetched = pd.to_datetime(frame["fetched_at"], utc=True)
    return frame.assign(
        hours_since_posting=(fetched - created).dt.total_seconds() / 3600
    ).sort_values(["post_id", "context", "fetched_at"])


def naive_baseline(engine: sa.Engine) -> pd.DataFrame:
    frame = pd.read_sql(
        "SELECT post_id, created_at, fetched_at, value FROM naive WHERE \"group\" = 'non_public_metrics' "
        "AND metric = 'impression_count'",
        engine,
    )
    created = pd.to_datetime(frame["created_at"], utc=True).astype("int64") / 1e9
    fetched = pd.to_datetime(frame["fetched_at"], utc=True).astype("int64") / 1e9
    frame = frame.assign(age=fetched - created).sort_values(["post_id", "age"])
    ages = np.array([a.total_seconds() for a in DEFAULT_AGES])
    rows: list[tuple[object, float, float]] = []
    for post_id, group in frame.groupby("post_id", sort=False):
        x = np.concatenate([[0.0], group["age"].to_numpy()])
        y = np.concatenate([[0.0], group["value"].to_numpy(dtype=np.float64)])
        values = np.interp(ages, x, y, right=np.nan)
        rows.extend((post_id, a, v) for a, v in zip(ages, values, strict=True))
    at_ages = pd.DataFrame(rows, columns=["post_id", "age", "value"])
    parts = []
    for _, part in at_ages.groupby("age"):
        stat, _count = leave_one_out(
            part["value"].to_numpy(dtype=np.float64), method="median", trim=0.25
        )
        parts.append(part.assign(baseline=stat, times_normal=part["value"] / stat))
    return pd.concat(parts)


def naive_heatmap(engine: sa.Engine) -> pd.DataFrame:
    latest = naive_latest(engine)
    created = pd.to_datetime(latest["created_at"], utc=True)
    return (
        latest.assign(weekday=created.dt.day_of_week, hour=created.dt.hour)
        .groupby(["weekday", "hour"])["engagement_rate"]
        .agg(["median", "size"])
    )


# -- one backend -------------------------------------------------------------------------------


@dataclass
class Figures:
    size_bytes: int = 0
    save_s: list[float] = field(default_factory=list)
    queries: dict[str, float] = field(default_factory=dict)


def run_store(world: World, hours: int, url: str, size: Callable[[], int], repeats: int) -> Figures:
    figures = Figures()
    account = Account(user_id=AUTHOR, username="bench")
    with open_store(url) as store:
        for hour in range(hours):
            result = world.result_at(hour)
            started = time.perf_counter()
            store.save(result, source="collector", account=account)
            figures.save_s.append(time.perf_counter() - started)
            if hour % 72 == 71:
                print(f"  store: {hour + 1} of {hours} hours saved", file=sys.stderr)
        figures.size_bytes = size()
        chosen = world.ids[:: max(1, world.n // GROWTH_POSTS)][:GROWTH_POSTS]
        checks = {
            "latest": lambda: store.latest(author_id=AUTHOR),
            "growth20": lambda: store.growth(chosen, field="impression_count"),
            "baseline": lambda: store.baseline(author_id=AUTHOR, field="impression_count"),
            "heatmap": lambda: store.best_time(author_id=AUTHOR, time_zone="Europe/Paris"),
        }
        for name, work in checks.items():
            figures.queries[name], answer = best_of(repeats, work)
            assert isinstance(answer, pd.DataFrame) and not answer.empty, name
    return figures


def run_naive(world: World, hours: int, url: str, size: Callable[[], int], repeats: int) -> Figures:
    figures = Figures()
    engine = sa.create_engine(url)
    try:
        for hour in range(hours):
            result = world.result_at(hour)
            started = time.perf_counter()
            naive_frame(result).to_sql(
                "naive", engine, if_exists="append", index=False, chunksize=10_000
            )
            figures.save_s.append(time.perf_counter() - started)
            if hour % 72 == 71:
                print(f"  naive: {hour + 1} of {hours} hours saved", file=sys.stderr)
        figures.size_bytes = size()
        chosen = world.ids[:: max(1, world.n // GROWTH_POSTS)][:GROWTH_POSTS]
        checks = {
            "latest": lambda: naive_latest(engine),
            "growth20": lambda: naive_growth(engine, chosen),
            "baseline": lambda: naive_baseline(engine),
            "heatmap": lambda: naive_heatmap(engine),
        }
        for name, work in checks.items():
            figures.queries[name], _ = best_of(1, work)  # full scans: once is enough
    finally:
        engine.dispose()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--posts", type=int, default=int(os.environ.get("XMETRICS_BENCH_STORE_POSTS", "1000"))
    )
    parser.add_argument(
        "--hours", type=int, default=int(os.environ.get("XMETRICS_BENCH_STORE_HOURS", "720"))
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--no-naive", action="store_true", help="skip the naive baseline (no ratios)"
    )
    parser.add_argument(
        "--naive-hours",
        type=int,
        default=None,
        help="write only this many hours to the naive table (default: all); its queries then "
        "read a smaller table, which favours the baseline",
    )
    args = parser.parse_args(argv)
    world = World(args.posts)
    snapshots = args.posts * args.hours
    naive_hours = min(args.hours, args.naive_hours or args.hours)
    print(
        f"{args.posts} Posts × {args.hours} hourly snapshots = {snapshots:,} Post snapshots (+ as many video snapshots)"
    )
    bench: dict[str, Any] = {"posts": args.posts, "hours": args.hours}
    if not args.no_naive:
        bench["naive_hours"] = naive_hours
    ok = True
    with tempfile.TemporaryDirectory(prefix="xmetrics-bench-store-") as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            with database(backend, Path(tmp), "store") as (url, size):
                ours = run_store(world, args.hours, url, size, args.repeats)
            naive: Figures | None = None
            if not args.no_naive:
                with database(backend, Path(tmp), "naive") as (url, size):
                    naive = run_naive(world, naive_hours, url, size, args.repeats)
            short = "pg" if backend == "postgresql" else backend
            per_snapshot = ours.size_bytes / snapshots
            save_ms = statistics.median(ours.save_s) * 1000
            save_p95 = float(np.percentile(ours.save_s, 95)) * 1000
            save_full = statistics.median(ours.save_s[-24:]) * 1000
            print(
                f"\n{backend}: store {ours.size_bytes / 1e6:.1f} MB = {per_snapshot:.0f} bytes per snapshot"
            )
            print(
                f"  save one {args.posts}-Post snapshot: median {save_ms:.1f} ms, p95 {save_p95:.1f} ms, full store {save_full:.1f} ms"
            )
            for name, seconds in ours.queries.items():
                print(
                    f"  {name:<9} {seconds * 1000:8.1f} ms"
                    + (
                        f"   naive {naive.queries[name] * 1000:9.1f} ms  ({naive.queries[name] / seconds:.1f}×)"
                        if naive
                        else ""
                    )
                )
            bench[f"{short}_bytes_per_snapshot"] = round(per_snapshot)
            bench[f"{short}_save_ms"] = round(save_ms, 1)
            bench[f"{short}_save_full_ms"] = round(save_full, 1)
            for name, seconds in ours.queries.items():
                bench[f"{short}_{name}_ms"] = round(seconds * 1000, 1)
            if naive is not None:
                naive_save = statistics.median(naive.save_s) * 1000
                naive_per_snapshot = naive.size_bytes / (args.posts * naive_hours)
                print(
                    f"  naive ({naive_hours} hours): {naive_per_snapshot:.0f} bytes per snapshot"
                    f" ({naive_per_snapshot / per_snapshot:.1f}× the store)"
                )
                print(
                    f"  naive: {naive.size_bytes / 1e6:.1f} MB, save {naive_save:.1f} ms "
                    f"({naive_save / save_ms:.1f}× the store's)"
                )
                bench[f"{short}_size_ratio"] = round(naive_per_snapshot / per_snapshot, 2)
                bench[f"{short}_save_ratio"] = round(naive_save / save_ms, 2)
                for name, seconds in ours.queries.items():
                    bench[f"{short}_{name}_ratio"] = round(naive.queries[name] / seconds, 1)
            goals = save_full <= 50 and all(s <= 0.25 for s in ours.queries.values())
            if backend == "sqlite":
                goals = goals and per_snapshot <= 250
            bench[f"{short}_goals_met"] = goals
            ok = ok and goals
    print("\nBENCH store " + " ".join(f"{k}={v}" for k, v in bench.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
