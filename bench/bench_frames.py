"""Benchmark: raw JSON answers for 100,000 Posts with video → every frame, end to end.

Input: synthetic raw X API v2 lookup answers (``GET /2/tweets``, 100 Posts per answer, every
metric group on Posts and on their videos) as the compact JSON bytes X sends (``orjson.dumps``
of the generated pages; X's answers carry no spaces either).

Measured, on the same bytes, median CPU time of ``--repeats`` runs (7 by default; ≥ 5), ours,
the parse alone and the baseline timed in turn (one of each, then again), so a load that comes
and goes on a shared machine weighs on both sides of the ratio alike:

* **ours, end to end** (``ours_s``): bytes → ``FetchResult`` → every frame, through the
  request path's own functions after HTTP, as ``XClient.fetch_posts`` runs them: a
  ``fetchplan.FetchPlan`` over the Posts' references (the owner's recent Posts, every group
  asked: 1,000 batches of 100, one answer each); each answer's bytes read into columns by
  ``parsing.decode_lookup`` as the client has the request path do it (X's usual answer
  decoded by msgspec straight into typed structs, any other through orjson and
  ``parsing.answer_columns``: only one answer's decoded objects are alive at a time),
  reconciled by ``fetchplan.read_lookup`` and kept by ``FetchPlan.absorb``; then
  ``FetchPlan.result`` (statuses
  read from the columns, Posts in paste order, media merged by
  ``parsing.media_of_answers``; ``posts`` / ``media`` are ``columns.PostRecords`` /
  ``MediaRecords`` views) → ``frames.all_frames`` (all seven frames: posts, statuses,
  metrics long, media, quartiles, organic vs promoted per Post and over all Posts) from the
  columns. ``parsing.result_from_json`` (answers fetched before) runs the same parse.
  ``speedup_vs_json_normalize`` and ``mem_ratio`` are this path's.
* **baseline** (``json_normalize_s``): ``json.loads`` of the same bytes, then
  ``pandas.json_normalize`` of the Posts and of the media (what twarc-csv's DataFrameConverter
  does at its core). It only flattens: no long frame, no quartiles. twarc-csv itself is not
  measured: version 0.7.2 installs from PyPI, but its DataFrameConverter calls
  ``DataFrame.applymap``, which pandas 3 removed, so it fails on the first batch.
* ``parse_s`` (bytes → FetchResult) and ``frames_only_s`` / ``frames_only_peak_mb`` /
  ``frames_only_mem_ratio`` (``all_frames`` on an already parsed, long-lived result) under
  their own keys.

Peak memory is measured in a separate run: ``tracemalloc``'s peak (Python and NumPy
allocations) plus the peak growth of pyarrow's pool, sampled every millisecond (pandas 3
keeps strings in Arrow buffers, which tracemalloc cannot see); the sum is an upper bound of
the combined peak. ``mem_ratio`` = (raw JSON bytes + that peak) / raw JSON bytes: the input
counted. The input is built first and frozen out of the garbage collector (``gc.freeze``) for
both sides, as a long-lived input.

Run: ``.venv/bin/python bench/bench_frames.py [--posts N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pyarrow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from xmetrics_core.catalogue import ALL_GROUPS, QUARTILES, Group, Level, fields_of  # noqa: E402
from xmetrics_core.fetchplan import FetchPlan, read_lookup  # noqa: E402
from xmetrics_core.frames import all_frames  # noqa: E402
from xmetrics_core.models import FetchResult, PostRef, RateLimitState  # noqa: E402
from xmetrics_core.parsing import decode_lookup  # noqa: E402
from xmetrics_core.references import references_from, snowflake_time  # noqa: E402

RawPage = dict[str, Any]
PAGE_SIZE = 100
AUTHOR_ID = "2244994945"
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def _rows_of_dicts(fields: Sequence[str], values: npt.NDArray[np.int64]) -> list[dict[str, int]]:
    return [dict(zip(fields, row, strict=True)) for row in values.tolist()]


def _playbacks(rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """n × 5 quartile counts: a start, then 40-105 % of the previous (some rise: skips)."""
    start = rng.integers(100, 10_000, size=(n, 1)).astype(np.float64)
    factors = rng.uniform(0.4, 1.05, size=(n, len(QUARTILES) - 1))
    counts = np.concatenate([start, start * np.cumprod(factors, axis=1)], axis=1)
    return counts.astype(np.int64)


def _post_groups(rng: np.random.Generator, n: int) -> dict[str, list[dict[str, int]]]:
    """Every Post metric group for n Posts; totals = organic + promoted where both carry it."""
    organic_fields = fields_of(Level.POST, Group.ORGANIC)
    organic = rng.integers(0, 5_000, size=(n, len(organic_fields)))
    promoted = rng.integers(0, 1_000, size=(n, len(organic_fields)))
    totals = dict(zip(organic_fields, (organic + promoted).T, strict=True))
    groups = {
        Group.ORGANIC.value: _rows_of_dicts(organic_fields, organic),
        Group.PROMOTED.value: _rows_of_dicts(fields_of(Level.POST, Group.PROMOTED), promoted),
    }
    for group in (Group.PUBLIC, Group.NON_PUBLIC):
        fields = fields_of(Level.POST, group)
        columns = [totals.get(f, rng.integers(0, 9_000, size=n)) for f in fields]
        groups[group.value] = _rows_of_dicts(fields, np.stack(columns, axis=1))
    return groups


def _media_groups(rng: np.random.Generator, n: int) -> dict[str, list[dict[str, int]]]:
    groups = {}
    for group in (Group.NON_PUBLIC, Group.ORGANIC, Group.PROMOTED):
        fields = fields_of(Level.MEDIA, group)
        extra = len(fields) - len(QUARTILES)  # view_count after the playbacks
        values = np.concatenate(
            [_playbacks(rng, n), rng.integers(0, 20_000, size=(n, extra))], axis=1
        )
        groups[group.value] = _rows_of_dicts(fields, values)
    public = fields_of(Level.MEDIA, Group.PUBLIC)
    groups[Group.PUBLIC.value] = _rows_of_dicts(public, rng.integers(0, 20_000, (n, len(public))))
    return groups


def _post_id(i: int) -> str:
    return str(1_850_000_000_000_000_000 + i)


def synthetic_pages(n_posts: int, *, seed: int = 7) -> list[RawPage]:
    """Raw lookup pages: every Post carries its own video, every group present."""
    rng = np.random.default_rng(seed)
    post_groups = _post_groups(rng, n_posts)
    media_groups = _media_groups(rng, n_posts)
    durations = rng.integers(5_000, 600_000, size=n_posts).tolist()
    pages: list[RawPage] = []
    for start in range(0, n_posts, PAGE_SIZE):
        data: list[dict[str, Any]] = []
        media: list[dict[str, Any]] = []
        for i in range(start, min(start + PAGE_SIZE, n_posts)):
            post_id = _post_id(i)
            media_key = f"13_{post_id}"
            created = EPOCH + timedelta(seconds=i)
            data.append(
                {
                    "id": post_id,
                    "text": f"Post {i} with a video 🍿 https://t.co/x{i}",
                    "author_id": AUTHOR_ID,
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "edit_history_tweet_ids": [post_id],
                    "attachments": {"media_keys": [media_key]},
                    **{group: rows[i] for group, rows in post_groups.items()},
                }
            )
            media.append(
                {
                    "media_key": media_key,
                    "type": "video",
                    "duration_ms": durations[i],
                    "preview_image_url": f"https://pbs.twimg.com/ext_tw_video_thumb/{i}/pu/img/x.jpg",
                    **{group: rows[i] for group, rows in media_groups.items()},
                }
            )
        pages.append({"data": data, "includes": {"media": media}})
    return pages


def references(n_posts: int) -> list[PostRef]:
    """The generated Posts' references, as the paste box gives them (time from the ID)."""
    return list(references_from([_post_id(i) for i in range(n_posts)]).refs)


def to_fetch_result(raw: Sequence[bytes], refs: Sequence[PostRef]) -> FetchResult:
    """Raw answers → FetchResult the way ``XClient.fetch_posts`` reads its answers: the fetch
    plan's batches (all sent at once: no refusals, so no fallback batches), each answer
    decoded (``parsing.decode_lookup``, what the client gives the request path) and
    reconciled (``read_lookup`` → ``absorb``) as it comes, then the
    plan's result: one OK status per Post (the owner's recent Posts, every group back)."""
    now = (snowflake_time(refs[0].id) or EPOCH) + timedelta(days=1)
    plan = FetchPlan(refs, asked=ALL_GROUPS, now=now)
    batches = plan.start()
    if len(batches) != len(raw):
        raise ValueError(f"{len(raw)} answers for {len(batches)} batches")
    for batch, body in zip(batches, raw, strict=True):
        answer = decode_lookup(body)
        if answer is None or plan.absorb(read_lookup(batch, answer)):
            raise ValueError("a synthetic answer left a Post without its metrics")
    return plan.result(
        invalid=(),
        user_context=True,
        me_id=AUTHOR_ID,
        rate_limit=RateLimitState(),
        api_calls=len(raw),
        retries=0,
    )


def baseline(raw: Sequence[bytes]) -> tuple[pd.DataFrame, ...]:
    pages = [json.loads(page) for page in raw]
    posts = [p for page in pages for p in page.get("data", ())]
    media = [m for page in pages for m in page.get("includes", {}).get("media", ())]
    return pd.json_normalize(posts), pd.json_normalize(media)


def median_time(run: Callable[[], object], repeats: int) -> float:
    """Median CPU time (``time.process_time``) of ``repeats`` runs: the code is
    single-threaded, and CPU time is steadier than wall time on a shared machine."""
    (median,) = interleaved_medians([run], repeats)
    return median


def interleaved_medians(runs: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median CPU time of each of ``runs``, timed in turn (a, b, c, a, b, c, …), so a load
    that comes and goes on a shared machine weighs on every side alike."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, kept in zip(runs, times, strict=True):
            gc.collect()
            start = time.process_time()
            run()
            kept.append(time.process_time() - start)
    return [statistics.median(kept) for kept in times]


def _arrow_peak_while(run: Callable[[], object]) -> tuple[object, int]:
    """Run ``run`` while a thread samples pyarrow's pool every millisecond; return its
    result and the highest growth of Arrow-allocated bytes seen."""
    pool = pyarrow.default_memory_pool()
    before = pool.bytes_allocated()
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, pool.bytes_allocated() - before)
            done.wait(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        kept = run()
    finally:
        done.set()
        sampler.join()
    return kept, max(peak, pool.bytes_allocated() - before)


def peak_bytes(run: Callable[[], object]) -> int:
    """Peak memory of ``run``: tracemalloc's peak (Python and NumPy) plus the sampled peak
    of Arrow's pool (pandas 3 strings), an upper bound of the combined peak."""
    gc.collect()
    tracemalloc.start()
    kept, arrow_peak = _arrow_peak_while(run)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return traced_peak + arrow_peak


def _measure_frames(
    result: FetchResult, repeats: int
) -> tuple[dict[str, pd.DataFrame], float, int]:
    """all_frames on an already parsed result (frozen out of the collector like the input):
    the frames, the median CPU time and the peak memory."""
    gc.collect()
    gc.freeze()
    peak = peak_bytes(lambda: all_frames(result))
    seconds = median_time(lambda: all_frames(result), repeats)
    return all_frames(result), seconds, peak


def end_to_end(raw: Sequence[bytes], refs: Sequence[PostRef]) -> dict[str, pd.DataFrame]:
    """What the issue times: raw JSON answers → FetchResult → every frame, in one go."""
    return all_frames(to_fetch_result(raw, refs))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    raw = [orjson.dumps(page) for page in synthetic_pages(args.posts)]
    raw_bytes = sum(map(len, raw))
    refs = references(args.posts)
    warm = end_to_end(raw[:10], refs[: 10 * PAGE_SIZE])  # warm-up: imports, caches
    if set(warm["statuses"]["status"]) != {"ok"}:
        raise ValueError("the synthetic Posts did not all come back OK")
    baseline(raw[:10])
    gc.collect()
    gc.freeze()  # the input is long-lived: keep it out of both sides' collections

    ours_s, parse_s, baseline_s = interleaved_medians(
        [
            lambda: end_to_end(raw, refs),
            lambda: to_fetch_result(raw, refs),
            lambda: baseline(raw),
        ],
        args.repeats,
    )
    ours_peak = peak_bytes(lambda: end_to_end(raw, refs))
    baseline_peak = peak_bytes(lambda: baseline(raw))
    built, frames_s, frames_peak = _measure_frames(to_fetch_result(raw, refs), args.repeats)

    mb = 1024 * 1024
    rows = " ".join(f"{name}={len(frame)}" for name, frame in built.items())
    print(f"rows: {rows}")
    print(
        f"CPU time (median of {args.repeats}): raw JSON → frames {ours_s:.2f}s (parse alone "
        f"{parse_s:.2f}s, frames alone {frames_s:.2f}s) vs json.loads + json_normalize "
        f"{baseline_s:.2f}s. Peak memory above the input: raw → frames {ours_peak / mb:.0f} MB, "
        f"frames alone {frames_peak / mb:.0f} MB, json_normalize {baseline_peak / mb:.0f} MB; "
        f"raw JSON {raw_bytes / mb:.0f} MB. twarc-csv 0.7.2 not measured: its "
        "DataFrameConverter calls DataFrame.applymap, removed in pandas 3."
    )
    print(
        f"BENCH frames posts={len(built['posts'])} repeats={args.repeats} "
        f"speedup_vs_json_normalize={baseline_s / ours_s:.2f} "
        f"mem_ratio={(raw_bytes + ours_peak) / raw_bytes:.2f} "
        f"ours_s={ours_s:.3f} parse_s={parse_s:.3f} json_normalize_s={baseline_s:.3f} "
        f"peak_mem_mb={ours_peak / mb:.1f} raw_json_mb={raw_bytes / mb:.1f} "
        f"json_normalize_peak_mb={baseline_peak / mb:.1f} "
        f"json_normalize_mem_ratio={(raw_bytes + baseline_peak) / raw_bytes:.2f} "
        f"frames_only_s={frames_s:.3f} frames_only_speedup={baseline_s / frames_s:.2f} "
        f"frames_only_peak_mb={frames_peak / mb:.1f} "
        f"frames_only_mem_ratio={frames_peak / raw_bytes:.2f}"
    )


if __name__ == "__main__":
    main()
