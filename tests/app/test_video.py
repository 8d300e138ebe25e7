"""The Video page: videos once per media key, views, completion, quartile charts, downloads."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from apptest_helpers import (
    connect_oauth1_keys,
    download_bytes,
    element_texts,
    plotly_specs,
    trace_values,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core import exports, figures
from xmetrics_core import frames as fr


def _video_posts(sandbox: Any) -> tuple[list[str], str]:
    """Recent demo Posts with videos, including both Posts that share one video."""
    world = sandbox.world
    now = sandbox.clock.now()
    recent = [p for p in world.demo_posts if p.within_private_window(now)]
    videos = [
        m
        for m in world.media
        if m.type == "video" and m.owner_id == world.demo_user_id and len(m.post_ids) > 1
    ]
    shared = videos[0]
    ids = [pid for pid in shared.post_ids if world.post(pid).within_private_window(now)]
    for post in recent:
        if post.id not in ids and any(
            world.media_item(k) is not None and world.media_item(k).type == "video"
            for k in post.media_keys
        ):
            ids.append(post.id)
        if len(ids) >= 4:
            break
    return ids, shared.media_key


def _open_video_page(sandbox: Any, ids: list[str]) -> AppTest:
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(" ".join(ids))
    at.button(key="xm_fetch").click().run()
    at.switch_page("pages/video.py").run()
    assert not at.exception
    return at


def _videos_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.dataframe if "media_key" in t.value.columns)


def test_a_video_shared_by_two_posts_appears_once(sandbox: Any):
    ids, shared_key = _video_posts(sandbox)
    at = _open_video_page(sandbox, ids)
    table = _videos_table(at)
    assert table["media_key"].is_unique
    assert shared_key in set(table["media_key"])
    expected_keys = {
        k
        for pid in ids
        for k in sandbox.world.post(pid).media_keys
        if sandbox.world.media_item(k).type == "video"
    }
    assert set(table["media_key"]) == expected_keys
    row = table.set_index("media_key").loc[shared_key]
    truth = sandbox.world.media_item(shared_key)
    assert row["public_metrics.view_count"] == truth.public_metrics["view_count"]
    assert row["duration_ms"] == truth.duration_ms


def test_retention_chart_draws_the_chosen_videos_quartiles(sandbox: Any):
    ids, shared_key = _video_posts(sandbox)
    at = _open_video_page(sandbox, ids)
    at.selectbox(key="xm_video_pick").set_value(shared_key).run()
    assert not at.exception
    spec = plotly_specs(at)["xm_chart_retention"]
    truth = sandbox.world.media_item(shared_key)
    organic = next(t for t in spec["data"] if t["name"].startswith("Organic"))
    starts = truth.organic_metrics["playback_0_count"]
    expected = [
        100.0 * truth.organic_metrics[f"playback_{q}_count"] / starts for q in (0, 25, 50, 75, 100)
    ]
    assert trace_values(organic["x"]) == [0, 25, 50, 75, 100]
    assert trace_values(organic["y"]) == pytest.approx(expected, rel=1e-12)  # ÷ order may differ
    counts = plotly_specs(at)["xm_chart_dropoff"]
    organic_bars = next(t for t in counts["data"] if t["name"].startswith("Organic"))
    assert trace_values(organic_bars["y"]) == [
        truth.organic_metrics[f"playback_{q}_count"] for q in (0, 25, 50, 75, 100)
    ]


def test_video_downloads_are_the_exact_csv_of_what_is_shown(sandbox: Any):
    ids, shared_key = _video_posts(sandbox)
    at = _open_video_page(sandbox, ids)
    at.selectbox(key="xm_video_pick").set_value(shared_key).run()
    table = _videos_table(at)
    assert download_bytes(at, "xm_dl_videos") == exports.safe_csv_bytes(table)
    quartiles = _quartiles_of(at, shared_key)
    assert download_bytes(at, "xm_chart_retention_csv") == exports.safe_csv_bytes(
        figures.quartile_retention_data(quartiles)
    )
    assert download_bytes(at, "xm_chart_dropoff_csv") == exports.safe_csv_bytes(
        figures.quartile_counts_data(quartiles)
    )


def _quartiles_of(at: AppTest, media_key: str) -> pd.DataFrame:
    from xmetrics_ui.session import result_cache
    from xmetrics_ui.views import RESULT_KEY

    result = result_cache().get(at.session_state[RESULT_KEY])
    assert result is not None
    quartiles = fr.quartiles_frame(result)
    return quartiles.loc[quartiles[fr.MEDIA_KEY].eq(media_key)].reset_index(drop=True)


def test_completion_rate_is_shown_per_context(sandbox: Any):
    ids, shared_key = _video_posts(sandbox)
    at = _open_video_page(sandbox, ids)
    truth = sandbox.world.media_item(shared_key)
    rate = truth.organic_metrics["playback_100_count"] / truth.organic_metrics["playback_0_count"]
    assert f"Completion (organic): {rate:.1%}" in element_texts(at, "text")


def test_posts_without_video_say_so(sandbox: Any):
    world = sandbox.world
    no_video = next(
        p.id
        for p in world.demo_posts
        if not any(world.media_item(k).type == "video" for k in p.media_keys)
    )
    at = _open_video_page(sandbox, [no_video])
    assert any("None of the fetched Posts carries a video" in i for i in element_texts(at, "info"))


def test_the_video_page_before_any_fetch_points_to_posts(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/video.py").run()
    assert not at.exception
    assert any("Fetch some Posts" in i for i in element_texts(at, "info"))
