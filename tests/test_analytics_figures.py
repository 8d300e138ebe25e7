"""The analytics figures plot exactly their ``*_data`` rows and never call streamlit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go

from xmetrics_core.analytics import AnalyticsPoint, AnalyticsResult
from xmetrics_core.analytics_figures import (
    bucket_data,
    bucket_figure,
    growth_curve_data,
    growth_curve_figure,
    metric_label,
    playback_data,
    playback_figure,
    watch_time_data,
    watch_time_figure,
)
from xmetrics_core.analytics_frames import media_analytics_frame, post_analytics_frame
from xmetrics_core.figures import NO_DATA

T = datetime(2026, 12, 1, tzinfo=UTC)


def points(key: str, metric: str, values: list[int | None]) -> list[AnalyticsPoint]:
    return [
        AnalyticsPoint(key=key, timestamp=T + timedelta(hours=i), metric=metric, value=v)
        for i, v in enumerate(values)
    ]


def frame(level: str, rows: list[AnalyticsPoint]) -> object:
    result = AnalyticsResult(
        level=level,  # type: ignore[arg-type]
        granularity="hourly",
        since=T,
        until=T + timedelta(hours=3),
        points=tuple(rows),
        created_at={"1": T - timedelta(hours=1), "2": T - timedelta(hours=5)},
    )
    return post_analytics_frame(result) if level == "post" else media_analytics_frame(result)


POSTS = frame(
    "post",
    points("1", "impressions", [5, None, 4])
    + points("2", "impressions", [9, 1, 1])
    + points("1", "likes", [1, 1, 1]),
)
MEDIA = frame(
    "media",
    points("7_1", "watch_time_ms", [3_600_000, 7_200_000])
    + points("7_1", "playback_start", [10, 5])
    + points("7_1", "playback_complete", [2, 1])
    + points("7_1", "playback50", [None, None]),
)


def ys(fig: go.Figure) -> list[list[object]]:
    return [list(trace.y) for trace in fig.data]


def test_growth_curves_plot_the_running_sums_per_post_dashed_after_a_gap() -> None:
    data = growth_curve_data(POSTS, metric="impressions")
    fig = growth_curve_figure(POSTS, metric="impressions")
    assert [t.name for t in fig.data] == ["1", "2"]
    assert len(data) == 6 and list(data["post_id"]) == ["1"] * 3 + ["2"] * 3
    assert ys(fig)[1] == [9, 10, 11]
    assert ys(fig)[0][0] == 5 and ys(fig)[0][2] == 9  # the gap stays a gap
    assert fig.data[0].line.dash == "dash" and fig.data[1].line.dash != "dash"
    assert "Impressions" in fig.layout.title.text
    since = growth_curve_figure(POSTS, metric="impressions", since_posting=True)
    assert list(since.data[1].x) == [5.0, 6.0, 7.0]


def test_bucket_bars_stack_each_posts_count() -> None:
    data = bucket_data(POSTS, metric="impressions")
    fig = bucket_figure(POSTS, metric="impressions")
    assert fig.layout.barmode == "relative" and "per hour" in fig.layout.title.text
    assert sum(len(t.y) for t in fig.data) == len(data) == 6


def test_watch_time_in_hours_and_playback_stages_in_order() -> None:
    watch = watch_time_data(MEDIA)
    assert watch["watch_hours"].tolist() == [1.0, 2.0]
    assert ys(watch_time_figure(MEDIA)) == [[1.0, 2.0]]
    stages = playback_data(MEDIA)
    assert stages["metric"].tolist() == ["playback_start", "playback50", "playback_complete"]
    assert stages["value"].tolist()[0] == 15 and stages["value"].isna().tolist()[1]
    fig = playback_figure(MEDIA)
    assert list(fig.data[0].x) == [metric_label(m) for m in stages["metric"]]


def test_no_rows_give_a_figure_that_says_no_data() -> None:
    empty = frame("post", [])
    for fig in (growth_curve_figure(empty), bucket_figure(empty)):
        assert fig.layout.annotations[0].text == NO_DATA
    empty_media = frame("media", [])
    for fig in (watch_time_figure(empty_media), playback_figure(empty_media)):
        assert fig.layout.annotations[0].text == NO_DATA
    assert metric_label("brand_new_metric") == "Brand new metric"
