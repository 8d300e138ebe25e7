"""The analytics frames: tidy rows, running sums that never invent a zero, stable schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from xmetrics_core.analytics import AnalyticsPoint, AnalyticsResult, AnalyticsStatus
from xmetrics_core.analytics import AnalyticsStatusKind as Kind
from xmetrics_core.analytics_frames import (
    MEDIA_ANALYTICS_SCHEMA,
    POST_ANALYTICS_SCHEMA,
    USAGE_SCHEMA,
    analytics_frame,
    analytics_status_frame,
    media_analytics_frame,
    post_analytics_frame,
    usage_daily_frame,
)
from xmetrics_core.usage import DailyUsage, ProjectUsage

T = datetime(2026, 12, 1, tzinfo=UTC)


def hourly(key: str, metric: str, values: list[int | None]) -> list[AnalyticsPoint]:
    return [
        AnalyticsPoint(key=key, timestamp=T + timedelta(hours=i), metric=metric, value=v)
        for i, v in enumerate(values)
    ]


def result(points: list[AnalyticsPoint], *, level: str = "post") -> AnalyticsResult:
    return AnalyticsResult(
        level=level,  # type: ignore[arg-type]
        granularity="hourly",
        since=T,
        until=T + timedelta(hours=4),
        points=tuple(points),
        statuses=(AnalyticsStatus(key="1", status=Kind.OK),),
        created_at={"1": T - timedelta(hours=2)},
    )


def test_one_row_per_bucket_post_and_metric_with_running_sums() -> None:
    frame = post_analytics_frame(
        result(hourly("1", "impressions", [5, 3, 4]) + hourly("2", "likes", [1, 0, 2]))
    )
    assert list(frame.columns) == list(POST_ANALYTICS_SCHEMA)
    assert {c: str(t) for c, t in frame.dtypes.items()} == dict(POST_ANALYTICS_SCHEMA)
    first = frame.loc[frame["post_id"] == "1"]
    assert first["cumulative"].tolist() == [5, 8, 12]
    assert first["hours_since_posting"].tolist() == [2.0, 3.0, 4.0]
    second = frame.loc[frame["post_id"] == "2"]
    assert second["cumulative"].tolist() == [1, 1, 3]
    assert second["created_at"].isna().all() and second["hours_since_posting"].isna().all()
    assert set(frame["granularity"]) == {"hourly"}


def test_a_missing_bucket_stays_missing_and_marks_the_running_sum_incomplete() -> None:
    frame = post_analytics_frame(result(hourly("1", "impressions", [5, None, 3, 4])))
    assert frame["value"].isna().tolist() == [False, True, False, False]
    assert frame["cumulative"].tolist()[0] == 5 and pd.isna(frame["cumulative"].iloc[1])
    assert frame["cumulative"].tolist()[2:] == [8, 12]
    assert frame["cumulative_complete"].tolist() == [True, False, False, False]
    assert 0 not in frame["value"].dropna().tolist()


def test_media_frames_and_empty_results_keep_their_schema() -> None:
    media = media_analytics_frame(
        result(hourly("7_1", "watch_time_ms", [1000, 2000]), level="media")
    )
    assert list(media.columns) == list(MEDIA_ANALYTICS_SCHEMA)
    assert media["cumulative"].tolist() == [1000, 3000]
    for level, schema in (("post", POST_ANALYTICS_SCHEMA), ("media", MEDIA_ANALYTICS_SCHEMA)):
        empty = analytics_frame(result([], level=level))
        assert empty.empty
        assert {c: str(t) for c, t in empty.dtypes.items()} == dict(schema)


def test_statuses_and_usage_frames() -> None:
    statuses = analytics_status_frame(result([]))
    assert statuses.to_dict("records") == [{"post_id": "1", "status": "ok", "detail": ""}]
    usage = ProjectUsage(
        project_id="1",
        project_usage=3,
        project_cap=10,
        cap_reset_day=2,
        daily=(
            DailyUsage(day=date(2026, 12, 1), posts=3),
            DailyUsage(day=date(2026, 12, 2), posts=None),
        ),
        apps=(),
        fetched_at=T,
    )
    daily = usage_daily_frame(usage)
    assert {c: str(t) for c, t in daily.dtypes.items()} == dict(USAGE_SCHEMA)
    assert daily["posts"].tolist()[0] == 3 and pd.isna(daily["posts"].iloc[1])
