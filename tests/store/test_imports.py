"""Imports in the history store (source = import): one snapshot per export dated by its end,
the same Post in overlapping exports as one Post with two snapshots, no cost-ledger reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from tests.import_samples import (
    CONTENT_FILE,
    LEGACY_NAME,
    OVERVIEW_FILE,
    legacy_posts,
    legacy_posts_file,
    shared_export,
)
from xmetrics_core.imports import ImportedExport, import_export, import_path
from xmetrics_core.imports.saving import import_account, save_imports
from xmetrics_core.store import Account, Store

#: The same three Posts exported again a month later with more impressions.
LATER_NAME = "tweet_activity_metrics_rOpenSci_20211215_20220115_en.csv"


def two_overlapping_exports() -> tuple[ImportedExport, ImportedExport]:
    first = legacy_posts(3)
    later = legacy_posts(3)
    for post in later:
        post.organic = {**post.organic, "impressions": post.organic["impressions"] + 500}
    return (
        import_export(legacy_posts_file(first), name=LEGACY_NAME),
        import_export(legacy_posts_file(later), name=LATER_NAME),
    )


def test_the_same_post_in_two_exports_is_one_post_with_two_snapshots(store: Store) -> None:
    december, january = two_overlapping_exports()
    report = save_imports(store, [december, january])
    assert [s.snapshots for s in report.saved] == [3, 3]
    ids = [str(p.post_id) for p in legacy_posts(3)]
    rows = store.history_rows(ids)
    assert len(rows) == 6
    assert rows.groupby("id").size().to_dict() == dict.fromkeys(ids, 2)
    when = sorted(set(rows["fetched_at"]))
    assert when == [
        pd.Timestamp(datetime(2022, 1, 1, tzinfo=UTC)),
        pd.Timestamp(datetime(2022, 1, 15, tzinfo=UTC)),
    ]
    first_id = ids[0]
    impressions = rows.loc[rows["id"].eq(first_id), "non_public_metrics.impression_count"]
    assert impressions.tolist() == [1000, 1500]
    latest = store.latest(ids)
    assert latest.set_index("id").loc[first_id, "non_public_metrics.impression_count"] == 1500


def test_saving_an_export_again_stores_nothing(store: Store) -> None:
    december, _ = two_overlapping_exports()
    assert save_imports(store, [december]).snapshots == 3
    again = save_imports(store, [december])
    assert again.snapshots == 0
    assert not again.saved[0].stored
    assert "1 already saved before" in again.summary
    assert store.summary().snapshots == 3


def test_an_import_is_no_api_read_and_costs_nothing(store: Store) -> None:
    december, january = two_overlapping_exports()
    save_imports(store, [december, january])
    for now in (datetime(2022, 1, 1, 12, tzinfo=UTC), datetime(2022, 1, 15, 12, tzinfo=UTC)):
        spend = store.spend(now=now)
        assert spend.month.reads == 0
        assert spend.month.billable_reads == 0
        assert spend.month.estimated_usd == 0


def test_per_day_exports_have_no_posts_to_keep(store: Store) -> None:
    overview = import_path(shared_export(OVERVIEW_FILE))
    report = save_imports(store, [overview])
    assert report.snapshots == 0
    assert report.saved[0].per_day
    assert "1 per-day file has no Posts to keep" in report.summary
    assert store.summary().fetches == 0


def test_the_connected_accounts_own_export_is_filed_under_it(store: Store) -> None:
    content = import_path(shared_export(CONTENT_FILE))  # HestysInvest's Posts
    owner = Account(user_id="1234567", username="hestysinvest")
    assert import_account(content, owner) == owner
    assert import_account(content, Account(user_id="99", username="someone_else")) is None
    save_imports(store, [content], account=owner)
    mine = store.latest(account=owner)
    assert len(mine) == content.rows
    assert set(mine["author_id"]) == {"1234567"}
    cells = store.best_time(author_id="1234567", min_age=pd.Timedelta(0).to_pytimedelta())
    assert cells["posts"].sum() == content.rows


def test_someone_elses_export_is_kept_under_no_account(store: Store) -> None:
    content = import_path(shared_export(CONTENT_FILE))
    save_imports(store, [content], account=Account(user_id="99", username="someone_else"))
    assert store.latest(account=Account(user_id="99", username="someone_else")).empty
    everything = store.latest()
    assert len(everything) == content.rows
    assert everything["author_id"].isna().all()
