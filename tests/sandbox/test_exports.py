"""The Demo account's analytics exports: X's four formats, written from the sandbox's world at
its clock, read back by the importer with the world's own counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from xmetrics_core.imports import ExportFormat, ImportedExport, daily_frame, import_export
from xmetrics_core.sandbox import Sandbox, start_sandbox
from xmetrics_core.sandbox.exports import EXPORT_DAYS, LEGACY_LAG_DAYS, OVERVIEW_FILE

NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
LAST_DAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    """A sandbox whose world is built around NOW and holds still."""
    with start_sandbox(now=NOW) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def imported(demo: Sandbox) -> dict[ExportFormat, ImportedExport]:
    files = demo.demo_exports()
    assert len(files) == 4
    found = {}
    for name, data in files.items():
        export = import_export(data, name=name)
        found[export.format] = export
    return found


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_all_four_formats_import_and_name_the_demo_account(
    demo: Sandbox, imported: dict[ExportFormat, ImportedExport]
) -> None:
    handle = demo.world.user(demo.demo.demo_user_id).username  # type: ignore[union-attr]
    assert set(imported) == set(ExportFormat)
    for export in imported.values():
        assert not export.notes, export.notes
        if export.format is not ExportFormat.OVERVIEW:  # the overview names no account
            assert export.account == handle
    assert imported[ExportFormat.CONTENT].date_range.last == LAST_DAY
    assert imported[ExportFormat.LEGACY_DAYS].date_range.last == LAST_DAY
    assert imported[ExportFormat.LEGACY_POSTS].date_range.last == LAST_DAY - timedelta(
        days=LEGACY_LAG_DAYS
    )
    for export in imported.values():
        first, last = export.date_range.first, export.date_range.last
        assert (last - first).days + 1 == EXPORT_DAYS
    overview = imported[ExportFormat.OVERVIEW]
    assert overview.rows == EXPORT_DAYS
    assert overview.file == OVERVIEW_FILE


def test_the_legacy_export_gives_back_each_posts_two_sides_at_its_end(
    demo: Sandbox, imported: dict[ExportFormat, ImportedExport]
) -> None:
    export = imported[ExportFormat.LEGACY_POSTS]
    moment = export.snapshot_at
    assert moment == midnight(LAST_DAY - timedelta(days=LEGACY_LAG_DAYS - 1))
    table = export.table.set_index("id")
    demo_posts = [
        p
        for p in demo.world.posts_by(demo.demo.demo_user_id, at=moment)
        if midnight(export.date_range.first) <= p.created_at < moment
    ]
    assert set(table.index) == {p.id for p in demo_posts}
    promoted_seen = never_promoted_seen = 0
    for post in demo_posts:
        row = table.loc[post.id]
        served = post.metrics_at(moment)
        organic = served["organic_metrics"]
        assert row["organic_metrics.impression_count"] == organic["impression_count"]
        assert row["organic_metrics.like_count"] == organic["like_count"]
        assert (
            row["non_public_metrics.impression_count"]
            == served["non_public_metrics"]["impression_count"]
        )
        assert row["public_metrics.like_count"] == served["public_metrics"]["like_count"]
        assert row["public_metrics.retweet_count"] == served["public_metrics"]["retweet_count"]
        assert row["created_at"] == pd.Timestamp(post.created_at.replace(second=0, microsecond=0))
        assert row["text"] == post.text  # HTML-escaped in the file, unescaped once on import
        if post.promoted:
            promoted_seen += 1
            promoted = served.get("promoted_metrics", {})
            assert row["promoted_metrics.impression_count"] == promoted.get("impression_count", 0)
        else:
            never_promoted_seen += 1
            assert pd.isna(row["promoted_metrics.impression_count"])  # "-": never promoted
    assert promoted_seen and never_promoted_seen
    assert export.rate_check is not None and export.rate_check.ok


def test_the_content_export_takes_its_times_from_the_post_ids(
    demo: Sandbox, imported: dict[ExportFormat, ImportedExport]
) -> None:
    export = imported[ExportFormat.CONTENT]
    moment = export.snapshot_at
    assert moment == midnight(LAST_DAY + timedelta(days=1))
    for row in export.table.itertuples(index=False):
        post = demo.world.post(row.id, at=moment)
        assert post is not None
        assert row.text == post.text
        created = row.created_at.to_pydatetime()
        assert abs(created - post.created_at) < timedelta(seconds=1)  # the snowflake's ms
    table = export.table.set_index("id")
    for post_id in table.index:
        served = demo.world.metrics_at(post_id, moment)
        assert served is not None
        assert (
            table.loc[post_id, "public_metrics.like_count"]
            == served["public_metrics"]["like_count"]
        )
        assert (
            table.loc[post_id, "non_public_metrics.impression_count"]
            == served["non_public_metrics"]["impression_count"]
        )


def test_per_day_exports_sum_to_the_growth_of_the_demo_posts(
    demo: Sandbox, imported: dict[ExportFormat, ImportedExport]
) -> None:
    first = imported[ExportFormat.OVERVIEW].date_range.first
    start, end = midnight(first), midnight(LAST_DAY + timedelta(days=1))
    grown = 0
    for post in demo.world.posts_by(demo.demo.demo_user_id, at=end - timedelta(microseconds=1)):
        after = post.tally_at(end).impressions
        before = post.tally_at(start).impressions if post.created_at < start else 0
        grown += after - before
    for kind in (ExportFormat.OVERVIEW, ExportFormat.LEGACY_DAYS):
        days = daily_frame([imported[kind]])
        assert len(days) == EXPORT_DAYS
        assert int(days["impressions"].sum()) == grown
    legacy = daily_frame([imported[ExportFormat.LEGACY_DAYS]])
    overview = daily_frame([imported[ExportFormat.OVERVIEW]])
    assert legacy["impressions"].tolist() == overview["impressions"].tolist()
    assert overview["new_follows"].sum() > 0 and overview["unfollows"].sum() >= 0


def test_the_two_per_post_exports_overlap_by_the_weeks_they_share(
    imported: dict[ExportFormat, ImportedExport],
) -> None:
    legacy = set(imported[ExportFormat.LEGACY_POSTS].table["id"])
    content = set(imported[ExportFormat.CONTENT].table["id"])
    assert legacy & content, "no Post in both: the Import page could not show two snapshots"
    assert legacy - content and content - legacy


def test_the_same_world_and_moment_write_the_same_bytes(demo: Sandbox) -> None:
    assert demo.demo_exports(at=NOW) == demo.demo_exports(at=NOW)
    earlier = demo.demo_exports(at=NOW - timedelta(days=3))
    assert earlier != demo.demo_exports(at=NOW)
