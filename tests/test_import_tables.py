"""Imported exports → the Posts page's own frames, history snapshots, the daily trend and
the CLI's rows."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest
from import_samples import (
    CONTENT_HEADER,
    LEGACY_NAME,
    LEGACY_POSTS_FILE,
    OVERVIEW_FILE,
    OVERVIEW_HEADER,
    LegacyPost,
    content_rows,
    csv_bytes,
    legacy_posts,
    legacy_posts_file,
    overview_rows,
    shared_export,
)

from xmetrics_core import frames
from xmetrics_core.catalogue import Group
from xmetrics_core.exports import safe_csv_text
from xmetrics_core.imports import (
    daily_frame,
    daily_trend_frame,
    fetch_result_of,
    import_export,
    import_path,
    output_table,
    post_snapshots,
    posts_result,
    posts_table,
)
from xmetrics_core.models import PostStatus

POSTS = legacy_posts(4, promoted_every=2)
LEGACY = import_export(legacy_posts_file(POSTS), name=LEGACY_NAME)
CONTENT = import_export(
    csv_bytes(CONTENT_HEADER, content_rows(2)),
    name="account_analytics_content_2026-08-10_2026-08-16.csv",
)


def test_legacy_posts_become_organic_promoted_and_total_groups_for_the_posts_frame() -> None:
    result = posts_result([LEGACY])
    assert [p.id for p in result.posts] == [str(p.post_id) for p in POSTS]  # newest first
    first, second = result.posts[0], result.posts[1]
    assert first.value(Group.ORGANIC, "impression_count") == 1000
    assert first.value(Group.PROMOTED, "impression_count") == 500
    assert first.value(Group.NON_PUBLIC, "impression_count") == 1500
    assert (
        first.value(Group.PUBLIC, "like_count")
        == POSTS[0].organic["likes"] + POSTS[0].promoted["likes"]
    )  # type: ignore[index]
    assert Group.PROMOTED.value not in second.metrics, "'-' is not promoted, not 0"
    statuses = {s.id: s.status for s in result.statuses}
    assert statuses[second.id] is PostStatus.NOT_PROMOTED
    assert statuses[first.id] is PostStatus.OK
    assert "imported from tweet_activity_metrics_rOpenSci" in result.statuses[0].detail
    assert result.fetched_at == datetime(2022, 1, 1, tzinfo=UTC)


def test_the_posts_frame_recomputes_engagement_rate_from_both_sides() -> None:
    posts = frames.posts_frame(posts_result([LEGACY]))
    first = posts.iloc[0]
    assert first["engagements"] == 20 + 7
    assert first["engagements_source"] == "x"
    assert first["impressions"] == 1500
    assert math.isclose(first["engagement_rate"], 27 / 1500)


def test_the_organic_vs_promoted_split_adds_up_for_imported_posts() -> None:
    split = frames.split_frame(posts_result([LEGACY]), per_post=True)
    assert set(split["post_id"]) == {str(p.post_id) for p in POSTS}
    promoted = split.loc[split["post_id"] == str(POSTS[0].post_id)]
    assert promoted["sum_matches"].all()
    never = split.loc[split["post_id"] == str(POSTS[1].post_id)]
    assert never["promoted"].isna().all()


def test_posts_table_adds_the_columns_the_api_lacks_and_where_each_row_came_from() -> None:
    table = posts_table([LEGACY, CONTENT])
    assert len(table) == len(POSTS) + 2
    assert table["id"].iloc[0] == CONTENT.table["id"].iloc[0]  # 2026 Posts first
    legacy_row = table.loc[table["id"] == str(POSTS[0].post_id)].iloc[0]
    assert legacy_row["export.organic detail expands"] == POSTS[0].organic["detail expands"]
    assert legacy_row["source_file"] == LEGACY_NAME
    assert legacy_row["snapshots"] == 1
    assert legacy_row["snapshot_at"] == pd.Timestamp("2022-01-01", tz="UTC")
    content_row = table.iloc[0]
    assert content_row["export.detail expands"] == int(content_rows(2)[0][13])
    assert pd.isna(content_row["export.organic detail expands"])


def test_the_same_post_in_overlapping_exports_is_one_post_with_two_snapshots() -> None:
    december = LEGACY
    later_posts = [
        LegacyPost(
            post_id=POSTS[0].post_id,
            text=POSTS[0].text,
            time=POSTS[0].time,
            organic={**POSTS[0].organic, "impressions": 9999},
            promoted=POSTS[0].promoted,
        )
    ]
    january = import_export(
        legacy_posts_file(later_posts),
        name="tweet_activity_metrics_rOpenSci_20211215_20220115_en.csv",
    )
    table = posts_table([january, december])  # order of the files does not matter
    row = table.loc[table["id"] == str(POSTS[0].post_id)].iloc[0]
    assert row["organic_metrics.impression_count"] == 9999
    assert row["snapshots"] == 2
    assert row["snapshot_at"] == pd.Timestamp("2022-01-15", tz="UTC")
    history = post_snapshots([december, january])
    mine = history.loc[history["id"] == str(POSTS[0].post_id)]
    assert mine["snapshot_at"].tolist() == [
        pd.Timestamp("2022-01-01", tz="UTC"),
        pd.Timestamp("2022-01-15", tz="UTC"),
    ]
    assert mine["organic_metrics.impression_count"].tolist() == [1000, 9999]


def test_one_export_is_a_snapshot_dated_by_its_end() -> None:
    result = fetch_result_of(LEGACY)
    assert result.fetched_at == LEGACY.snapshot_at
    assert len(result.posts) == LEGACY.rows
    with pytest.raises(ValueError, match="per-day export"):
        fetch_result_of(
            import_export(
                csv_bytes(OVERVIEW_HEADER, overview_rows([("Tue, Feb 18, 2025", 1)])), name="o.csv"
            )
        )


def days(first: int, last: int, impressions: dict[int, int] | None = None) -> list[tuple[str, int]]:
    out = []
    for day in range(last, first - 1, -1):  # newest first, as X writes it
        stamp = pd.Timestamp(2025, 1, day)
        out.append((stamp.strftime("%a, %b %-d, %Y"), (impressions or {}).get(day, day * 10)))
    return out


def test_daily_frame_merges_overlapping_exports_keeping_the_latest_day() -> None:
    early = import_export(csv_bytes(OVERVIEW_HEADER, overview_rows(days(1, 10))), name="o1.csv")
    late = import_export(
        csv_bytes(OVERVIEW_HEADER, overview_rows(days(8, 14, {8: 5}))), name="o2.csv"
    )
    daily = daily_frame([late, early])
    assert daily["date"].tolist() == list(pd.date_range("2025-01-01", "2025-01-14"))
    assert daily.loc[daily["date"] == "2025-01-08", "impressions"].item() == 5
    assert daily.loc[daily["date"] == "2025-01-08", "snapshots"].item() == 2
    assert daily["unfollows"].tolist() == [1] * 14
    assert math.isclose(daily["engagement_rate"].iloc[0], 1 / 10)


def test_the_trend_has_a_seven_day_rolling_mean_only_where_seven_days_exist() -> None:
    gap = [d for d in days(1, 12) if not d[0].startswith("Thu, Jan 9")]
    daily = daily_frame(
        [import_export(csv_bytes(OVERVIEW_HEADER, overview_rows(gap)), name="o.csv")]
    )
    trend = daily_trend_frame(daily, metrics=("impressions",))
    by_day = trend.set_index("date")["rolling_mean_7d"]
    assert by_day.loc["2025-01-06"] != by_day.loc["2025-01-06"]  # NaN: six days so far
    assert by_day.loc["2025-01-07"] == pytest.approx(40.0)  # mean of 10 … 70
    assert by_day.loc["2025-01-08"] == pytest.approx(50.0)
    assert pd.isna(by_day.loc["2025-01-10"])  # the window holds the missing 9 January
    assert set(trend["label"]) == {"Impressions"}
    assert pd.Timestamp("2025-01-09") not in by_day.index


def test_legacy_daily_exports_give_totals_of_both_sides() -> None:
    imported = import_path(
        shared_export("daily_tweet_activity_metrics_LisaDeBruine_20211201_20220101_en.csv")
    )
    daily = daily_frame([imported])
    assert (
        daily["impressions"].tolist() == imported.table["organic_metrics.impression_count"].tolist()
    )
    assert daily["posts_published"].sum() == imported.table["export.tweets published"].sum()
    assert daily["new_follows"].notna().all()


def test_output_table_writes_posts_then_days_with_catalogue_then_export_columns() -> None:
    overview = import_export(csv_bytes(OVERVIEW_HEADER, overview_rows(days(1, 2))), name="o.csv")
    table = output_table([LEGACY, overview])
    assert list(table.columns[:4]) == ["id", "date", "created_at", "text"]
    assert table["created_at"].iloc[0] == "2021-12-28T16:45:00Z"
    assert table["date"].tolist()[-2:] == ["2025-01-01", "2025-01-02"]
    metrics = list(table.columns[4:])
    first_export = next(i for i, c in enumerate(metrics) if c.startswith("export."))
    assert all(not c.startswith("export.") for c in metrics[:first_export])
    assert all(c.startswith("export.") for c in metrics[first_export:])
    assert "public_metrics.quote_count" not in table.columns, "no file has quotes"


def test_formula_text_is_neutralised_in_every_csv_export() -> None:
    posts = [LegacyPost(post_id=1475870580540952577, text="=cmd|' /C calc'!A0")]
    imported = import_export(legacy_posts_file(posts), name=LEGACY_NAME)
    assert imported.table["text"].iloc[0] == "=cmd|' /C calc'!A0"
    assert "'=cmd|" in safe_csv_text(output_table([imported]))
    assert "'=cmd|" in safe_csv_text(posts_table([imported]))


def test_the_real_legacy_export_shows_on_the_posts_frame_like_a_fetch() -> None:
    imported = import_path(shared_export(LEGACY_POSTS_FILE))
    posts = frames.posts_frame(posts_result([imported]))
    assert len(posts) == 17
    assert (posts["status"] == "not_promoted").all()
    assert posts["impressions"].sum() == imported.table["organic_metrics.impression_count"].sum()
    file_rates = imported.table.set_index("id")["export.organic engagement rate"]
    ours = posts.set_index("id")["engagement_rate"]
    assert ((ours - file_rates.reindex(ours.index)).abs() < 1e-12).all()


def test_per_day_exports_alone_give_no_posts_and_empty_frames() -> None:
    overview = import_path(shared_export(OVERVIEW_FILE))
    result = posts_result([overview])
    assert result.posts == () and result.statuses == ()
    all_frames = frames.all_frames(result)
    assert all_frames["posts"].empty and all_frames["split_all_posts"].empty
    assert posts_result([]).posts == ()
