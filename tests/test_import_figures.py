"""The Import page's own figures: best time to post (weekday × hour) and the daily trend."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from import_samples import (
    CONTENT_FILE,
    CONTENT_HEADER,
    COUNTS,
    LEGACY_DAYS_HEADER,
    LEGACY_NAME,
    OVERVIEW_FILE,
    OVERVIEW_HEADER,
    content_rows,
    csv_bytes,
    legacy_posts,
    legacy_posts_file,
    overview_rows,
    shared_export,
)

from xmetrics_core import frames as fr
from xmetrics_core import import_figures as ifig
from xmetrics_core.figures import NO_DATA
from xmetrics_core.imports import (
    daily_frame,
    daily_trend_frame,
    import_export,
    import_path,
    posts_result,
)
from xmetrics_core.references import snowflake_time


def posts_of(*imports: object) -> pd.DataFrame:
    return fr.posts_frame(posts_result(list(imports)))  # type: ignore[arg-type]


def test_best_time_puts_each_post_in_its_weekday_and_hour_with_the_median_rate() -> None:
    # 28, 27, 26 Dec 2021 (Tue, Mon, Sun) at 16:45, 16:44, 16:43 UTC
    imported = import_export(legacy_posts_file(legacy_posts(3)), name=LEGACY_NAME)
    posts = posts_of(imported)
    cells = ifig.best_time_frame(posts)
    assert list(cells.columns) == list(ifig.BEST_TIME_COLUMNS)
    assert len(cells) == 7 * 24
    filled = cells.loc[cells[ifig.POSTS] > 0]
    assert [(str(d), h) for d, h in zip(filled[ifig.WEEKDAY], filled[ifig.HOUR], strict=True)] == [
        ("Mon", 16),
        ("Tue", 16),
        ("Sun", 16),
    ]
    tuesday = filled.loc[filled[ifig.WEEKDAY].astype(str).eq("Tue")].iloc[0]
    first = posts.loc[posts[fr.ID].eq(str(legacy_posts(1)[0].post_id))].iloc[0]
    assert tuesday[ifig.MEDIAN_ENGAGEMENT_RATE] == first[fr.ENGAGEMENT_RATE]
    assert cells[ifig.POSTS].sum() == 3
    assert cells.loc[cells[ifig.POSTS].eq(0), ifig.MEDIAN_ENGAGEMENT_RATE].isna().all()


def test_best_time_follows_the_time_zone() -> None:
    imported = import_export(legacy_posts_file(legacy_posts(1)), name=LEGACY_NAME)
    cells = ifig.best_time_frame(posts_of(imported), tz=ZoneInfo("Asia/Tokyo"))
    filled = cells.loc[cells[ifig.POSTS] > 0]
    # 16:45 UTC on Tuesday 28 Dec is 01:45 on Wednesday in Tokyo
    assert (str(filled[ifig.WEEKDAY].iloc[0]), int(filled[ifig.HOUR].iloc[0])) == ("Wed", 1)


def test_a_date_only_export_takes_the_time_of_day_from_the_post_id() -> None:
    name = "account_analytics_content_2026-08-10_2026-08-16.csv"
    imported = import_export(csv_bytes(CONTENT_HEADER, content_rows(3), quote_all=False), name=name)
    posts = posts_of(imported)
    cells = ifig.best_time_frame(posts)
    expected = sorted(
        (moment.weekday(), moment.hour)
        for moment in (snowflake_time(str(i)) for i in posts[fr.ID])
        if moment is not None
    )
    filled = cells.loc[cells[ifig.POSTS] > 0]
    got = sorted(
        (ifig.WEEKDAYS.index(str(d)), int(h))
        for d, h in zip(filled[ifig.WEEKDAY], filled[ifig.HOUR], strict=True)
        for _ in range(
            int(
                filled.loc[(filled[ifig.WEEKDAY] == d) & (filled[ifig.HOUR] == h), ifig.POSTS].iloc[
                    0
                ]
            )
        )
    )
    assert got == expected
    assert not all(hour == 0 for _, hour in got)  # not midnight: the snowflake's hour


def test_best_time_figure_draws_exactly_its_data() -> None:
    imported = import_path(shared_export(CONTENT_FILE))
    cells = ifig.best_time_frame(posts_of(imported))
    data = ifig.best_time_data(cells)
    fig = ifig.best_time_figure(cells, zone_label="UTC")
    xs = [x for trace in fig.data for x in trace.x]
    ys = [y for trace in fig.data for y in trace.y]
    sizes = [s for trace in fig.data for s in trace.marker.size]
    assert xs == data[ifig.HOUR].tolist()
    assert ys == data[ifig.WEEKDAY].astype(str).tolist()
    assert sizes == data[ifig.POSTS].tolist()
    assert data[ifig.POSTS].sum() == imported.rows
    rates = data[ifig.MEDIAN_ENGAGEMENT_RATE_PCT].to_numpy()
    assert np.allclose(
        rates, cells.loc[cells[ifig.POSTS] > 0, ifig.MEDIAN_ENGAGEMENT_RATE].to_numpy() * 100
    )


def test_without_posts_the_best_time_figure_says_no_data() -> None:
    empty = ifig.best_time_frame(posts_of())
    assert len(empty) == 7 * 24
    fig = ifig.best_time_figure(empty)
    assert fig.layout.annotations[0].text == NO_DATA


def test_the_daily_trend_draws_each_day_and_its_7_day_mean() -> None:
    days = [(f"Tue, Feb {d}, 2025", 100 * d) for d in range(18, 0, -1)]
    imported = import_export(
        csv_bytes(OVERVIEW_HEADER, overview_rows(days), quote_all=False), name=OVERVIEW_FILE
    )
    trend = daily_trend_frame(daily_frame([imported]))
    data = ifig.daily_trend_data(trend)
    impressions = data.loc[data[ifig.METRIC].eq("impressions")]
    daily = impressions.loc[impressions[ifig.SERIES].eq(ifig.DAILY)]
    mean = impressions.loc[impressions[ifig.SERIES].eq(ifig.MEAN_7D)]
    assert daily[ifig.VALUE].tolist() == [100.0 * d for d in range(1, 19)]
    # the mean of the 7 days ending on each day, from the 7th day on
    assert mean[ifig.VALUE].tolist() == [100.0 * (d - 3) for d in range(7, 19)]
    fig = ifig.daily_trend_figure(trend)
    drawn = {
        (trace.name, trace.customdata[0][0]): list(trace.y) for trace in fig.data if len(trace.y)
    }
    assert drawn[(ifig.DAILY, "Impressions")] == daily[ifig.VALUE].tolist()
    assert drawn[(ifig.MEAN_7D, "Impressions")] == mean[ifig.VALUE].tolist()
    assert {label for _, label in drawn} == {
        "Impressions",
        "Engagements",
        "New follows",
        "Unfollows",
    }


def test_the_daily_trend_of_a_real_overview_export_sums_to_the_file() -> None:
    path = shared_export(OVERVIEW_FILE)
    imported = import_path(path)
    data = ifig.daily_trend_data(daily_trend_frame(daily_frame([imported])))
    raw = pd.read_csv(path)
    for metric, column in (("impressions", "Impressions"), ("unfollows", "Unfollows")):
        drawn = data.loc[data[ifig.METRIC].eq(metric) & data[ifig.SERIES].eq(ifig.DAILY)]
        assert drawn[ifig.VALUE].sum() == raw[column].sum()


def test_the_zip_holds_the_data_of_every_chart_the_imports_allow() -> None:
    legacy = import_export(legacy_posts_file(legacy_posts(3, promoted_every=2)), name=LEGACY_NAME)
    frames = fr.all_frames(posts_result([legacy]))
    charts = ifig.import_chart_exports(frames, trend=daily_trend_frame(daily_frame([legacy])))
    assert set(charts) == {
        "organic_vs_promoted",
        "organic_vs_promoted_per_post",
        "engagement_rate",
        "best_time",
    }
    overview = import_path(shared_export(OVERVIEW_FILE))
    trend = daily_trend_frame(daily_frame([overview]))
    days_only = ifig.import_chart_exports(fr.all_frames(posts_result([overview])), trend=trend)
    assert set(days_only) == {"daily_trend"}
    assert days_only["daily_trend"].equals(ifig.daily_trend_data(trend))


def legacy_days_file(days: list[tuple[str, int, int | None]]) -> bytes:
    """A legacy per-day export: (date, organic impressions, promoted impressions or None
    for '-'), engagements a tenth of the impressions."""
    rows = []
    for day, organic, promoted in days:
        side = {"impressions": organic, "engagements": organic // 10}
        cells = [day, "1"]
        for name in COUNTS:
            if name == "engagement rate":
                cells.append(repr(side["engagements"] / side["impressions"]))
            else:
                cells.append(f"{side.get(name, 0)}.0")
        for name in COUNTS:
            if promoted is None:
                cells.append("-")
            elif name == "engagement rate":
                cells.append(repr((promoted // 10) / promoted))
            else:
                cells.append(
                    str({"impressions": promoted, "engagements": promoted // 10}.get(name, 0))
                )
        rows.append(cells)
    return csv_bytes(LEGACY_DAYS_HEADER, rows)


DAYS_NAME = "daily_tweet_activity_metrics_rOpenSci_20211201_20211204_en.csv"
LATER_DAYS_NAME = "daily_tweet_activity_metrics_rOpenSci_20211202_20211205_en.csv"


def test_legacy_per_day_exports_split_organic_and_promoted_day_by_day() -> None:
    imported = import_export(
        legacy_days_file(
            [("2021-12-01", 100, 40), ("2021-12-02", 200, None), ("2021-12-03", 300, 60)]
        ),
        name=DAYS_NAME,
    )
    data = ifig.daily_split_data([imported])
    impressions = data.loc[data[ifig.METRIC].eq("impressions")]
    assert impressions[[ifig.CONTEXT, ifig.VALUE]].to_numpy().tolist() == [
        ["organic", 100],
        ["organic", 200],
        ["organic", 300],
        ["promoted", 40],
        ["promoted", 60],  # 2 Dec: "-", never promoted: no row, never 0
    ]
    engagements = data.loc[data[ifig.METRIC].eq("engagements"), ifig.VALUE].tolist()
    assert engagements == [10, 20, 30, 4, 6]
    fig = ifig.daily_split_figure(data)
    drawn = sorted(v for trace in fig.data for v in trace.y)
    assert drawn == sorted(data[ifig.VALUE].tolist())
    assert {trace.name for trace in fig.data} == {"Organic", "Promoted"}


def test_a_day_in_two_legacy_files_comes_from_the_later_one() -> None:
    first = import_export(legacy_days_file([("2021-12-02", 200, 10)]), name=DAYS_NAME)
    later = import_export(legacy_days_file([("2021-12-02", 250, 15)]), name=LATER_DAYS_NAME)
    data = ifig.daily_split_data([later, first])
    impressions = data.loc[data[ifig.METRIC].eq("impressions"), ifig.VALUE].tolist()
    assert impressions == [250, 15]


def test_current_exports_have_no_sides_to_split() -> None:
    overview = import_path(shared_export(OVERVIEW_FILE))
    assert ifig.daily_split_data([overview]).empty
    assert (
        ifig.daily_split_figure(ifig.daily_split_data([overview])).layout.annotations[0].text
        == NO_DATA
    )
