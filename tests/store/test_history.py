"""History frames from snapshots with chosen times and counts, on both backends: growth on
hours since posting, the value at an age (interpolated and marked so), the account's same-age
baseline, best time to post, video retention over time, and the CLI's history rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.store.builders import ME, SOMEONE, T0, hours, impressions, post_id, record, result, video
from xmetrics_core.catalogue import ALL_GROUPS, Context, Group, Level, metrics_for
from xmetrics_core.cli import POST_COLUMNS
from xmetrics_core.models import IdStatus, PostStatus
from xmetrics_core.store import Account, Store
from xmetrics_core.store.history import leave_one_out

MINE = Account(user_id=ME, username="me")


def read_at(
    store: Store,
    pid: str,
    created: datetime,
    points: dict[float, int],
    *,
    author: str = ME,
    account: Account = MINE,
    organic: float = 1.0,
) -> None:
    """Save one snapshot of ``pid`` at each age (hours) with that many impressions."""
    for age, total in points.items():
        store.save(
            result(
                [
                    record(
                        pid,
                        created=created,
                        author=author,
                        metrics=impressions(total, organic=int(total * organic), likes=total // 10),
                    )
                ],
                at=created + hours(age),
            ),
            source="collector",
            account=account,
        )


def test_growth_is_one_row_per_snapshot_and_context_on_hours_since_posting(store: Store) -> None:
    early, late = T0, T0 + timedelta(days=3)
    a, b = post_id(early), post_id(late)
    read_at(store, a, early, {1: 100, 2: 180, 5: 300}, organic=0.75)
    read_at(store, b, late, {1: 50, 3: 90})
    frame = store.growth([b, a], field="impression_count")

    assert list(frame.columns) == [
        "post_id",
        "fetched_at",
        "hours_since_posting",
        "context",
        "group",
        "metric",
        "label",
        "value",
    ]
    assert list(dict.fromkeys(frame["post_id"])) == [b, a]  # in the order asked
    rows_a = frame[frame["post_id"] == a]
    total = rows_a[rows_a["context"] == "total"]
    assert list(total["hours_since_posting"]) == [1.0, 2.0, 5.0]
    assert list(total["value"]) == [100, 180, 300]
    assert list(total["group"]) == ["non_public_metrics"] * 3  # total impressions are non-public
    organic = rows_a[rows_a["context"] == "organic"]
    assert list(organic["value"]) == [75, 135, 225]
    promoted = rows_a[rows_a["context"] == "promoted"]
    assert list(promoted["value"]) == [25, 45, 75]
    assert set(frame["label"]) == {"Impressions"}
    assert str(frame["fetched_at"].dtype) == "datetime64[us, UTC]"


def test_growth_of_a_public_only_metric_has_only_its_total(store: Store) -> None:
    pid = post_id(T0)
    read_at(store, pid, T0, {1: 10})
    frame = store.growth([pid], field="quote_count")
    assert set(frame["context"]) == {"total"} and set(frame["group"]) == {"public_metrics"}
    with pytest.raises(ValueError, match="known fields"):
        store.growth([pid], field="no_such_count")


def test_a_missing_value_has_no_point_and_a_failed_read_none_at_all(store: Store) -> None:
    pid = post_id(T0)
    read_at(store, pid, T0, {1: 10})
    public_only = impressions(20)
    for group in (Group.NON_PUBLIC, Group.ORGANIC, Group.PROMOTED):
        del public_only[group.value]
    store.save(
        result([record(pid, created=T0, metrics=public_only)], at=T0 + hours(2)),
        source="collector",
        account=MINE,
    )
    failed = IdStatus(id=pid, status=PostStatus.FAILED, detail="timeout")
    store.save(result([], at=T0 + hours(3), statuses=[failed]), source="collector", account=MINE)
    total = store.growth([pid], field="impression_count", contexts=[Context.TOTAL])
    assert list(total["hours_since_posting"]) == [1.0]  # non-public impressions only at 1 h
    likes = store.growth([pid], field="like_count", contexts=[Context.TOTAL])
    assert list(likes["hours_since_posting"]) == [1.0, 2.0]


def test_the_value_at_an_age_is_read_exactly_or_interpolated_and_marked(store: Store) -> None:
    pid = post_id(T0)
    read_at(store, pid, T0, {0.5: 40, 1: 100, 4: 400, 8: 500, 30: 900})
    frame = store.values_at_ages([pid], field="impression_count").set_index("age")

    assert list(frame.index) == ["1 h", "6 h", "24 h", "48 h", "7 d"]
    assert frame.loc["1 h", "value"] == 100 and not frame.loc["1 h", "interpolated"]
    assert frame.loc["1 h", "gap_hours"] == 0
    assert frame.loc["6 h", "value"] == pytest.approx(450)  # halfway from 400 (4 h) to 500 (8 h)
    assert frame.loc["6 h", "interpolated"] and frame.loc["6 h", "gap_hours"] == 4
    assert frame.loc["24 h", "value"] == pytest.approx(500 + 400 * 16 / 22)
    assert frame.loc["24 h", "gap_hours"] == 22
    assert np.isnan(frame.loc["48 h", "value"]) and pd.isna(frame.loc["48 h", "interpolated"])
    assert np.isnan(frame.loc["7 d", "value"])  # nothing is extrapolated past the last read


def test_before_the_first_read_the_value_grows_from_zero_at_creation_unless_too_far(
    store: Store,
) -> None:
    soon, late = post_id(T0, 1), post_id(T0, 2)
    read_at(store, soon, T0, {0.5: 60, 2: 200})
    read_at(store, late, T0, {9: 900})
    one_hour = [timedelta(hours=1)]
    six_hours = [timedelta(hours=6)]
    soon_1h = store.values_at_ages([soon], field="impression_count", ages=one_hour).iloc[0]
    assert np.isnan(soon_1h["value"]), "0.5 h → 2 h is wider than the 1 h a 1 h value allows"
    anchored = store.values_at_ages([soon], field="impression_count", ages=[timedelta(minutes=15)])
    assert anchored["value"].iloc[0] == pytest.approx(30)  # creation (0) → 0.5 h (60)
    assert anchored["interpolated"].iloc[0] and anchored["gap_hours"].iloc[0] == 0.5
    assert anchored["age"].iloc[0] == "15 min"
    late_6h = store.values_at_ages([late], field="impression_count", ages=six_hours)
    assert late_6h["value"].isna().all(), "creation → 9 h is too wide for a 6 h value"
    wider = store.values_at_ages(
        [late], field="impression_count", ages=six_hours, max_gap_factor=2.0
    )
    assert wider["value"].iloc[0] == pytest.approx(600)
    assert wider["gap_hours"].iloc[0] == 9


def test_latest_picks_each_posts_own_newest_snapshot(store: Store) -> None:
    # different Posts last read on different days: each must get its own newest read
    a, b, c = post_id(T0, 1), post_id(T0, 2), post_id(T0, 3)
    read_at(store, a, T0, {1: 10, 30: 30})
    read_at(store, b, T0, {1: 11, 60: 61})
    read_at(store, c, T0, {2: 5})
    deleted = IdStatus(id=c, status=PostStatus.NOT_FOUND, detail="gone")
    store.save(result([], at=T0 + hours(80), statuses=[deleted]), source="collector", account=MINE)

    latest = store.latest([a, b, c]).set_index("id")
    assert latest.loc[a, "public_metrics.impression_count"] == 30
    assert latest.loc[b, "public_metrics.impression_count"] == 61
    assert latest.loc[c, "public_metrics.impression_count"] == 5  # its last numbers
    assert latest.loc[b, "fetched_at"] == pd.Timestamp(T0 + hours(60))
    assert latest.loc[a, "engagement_rate"] == pytest.approx(3 / 30)
    newest_status = store.latest([c], with_metrics=False)
    assert list(newest_status["status"]) == ["not_found"]


def test_history_can_be_read_as_one_account_saw_it(store: Store) -> None:
    pid = post_id(T0)
    read_at(store, pid, T0, {1: 10})
    stranger = Account(user_id=SOMEONE)
    public_only = {Group.PUBLIC.value: impressions(20)[Group.PUBLIC.value]}
    store.save(
        result([record(pid, created=T0, metrics=public_only)], at=T0 + hours(2)),
        source="dashboard",
        account=stranger,
    )
    assert store.latest([pid], account=MINE)["non_public_metrics.impression_count"].iloc[0] == 10
    assert store.latest([pid])["public_metrics.impression_count"].iloc[0] == 20
    assert len(store.history_rows([pid], account=stranger)) == 1
    assert store.latest([pid], account=Account(user_id="999")).empty


def test_each_post_against_the_accounts_same_age_normal(store: Store) -> None:
    totals = [100, 200, 300, 400, 1000]
    ids = [post_id(T0 + timedelta(days=n)) for n in range(len(totals))]
    for n, (pid, total) in enumerate(zip(ids, totals, strict=True)):
        read_at(store, pid, T0 + timedelta(days=n), {1: total, 24: total * 3})
    read_at(store, post_id(T0, 9), T0, {1: 10**6}, author=SOMEONE)  # someone else's: ignored

    frame = store.baseline(
        author_id=ME, field="impression_count", ages=[timedelta(hours=1), timedelta(hours=24)]
    )
    one_hour = frame[frame["age"] == "1 h"].set_index("post_id")
    # the 1,000 Post's normal is the median of the other four: (200 + 300) / 2
    assert one_hour.loc[ids[4], "baseline"] == pytest.approx(250)
    assert one_hour.loc[ids[4], "times_normal"] == pytest.approx(4.0)
    assert one_hour.loc[ids[0], "baseline"] == pytest.approx(350)  # median of 200, 300, 400, 1000
    assert set(one_hour["others"]) == {4}
    trimmed = store.baseline(
        author_id=ME,
        field="impression_count",
        ages=[timedelta(hours=1)],
        method="trimmed_mean",
        trim=0.25,
        post_ids=[ids[4]],
    )
    assert list(trimmed["post_id"]) == [ids[4]]
    assert trimmed["baseline"].iloc[0] == pytest.approx(250)  # 100, [200, 300], 400 trimmed
    few = store.baseline(
        author_id=ME, field="impression_count", ages=[timedelta(hours=1)], min_others=5
    )
    assert few["baseline"].isna().all()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 10**6)), min_size=0, max_size=25),
    method=st.sampled_from(["median", "trimmed_mean"]),
    trim=st.sampled_from([0.0, 0.1, 0.25, 0.4]),
)
def test_leave_one_out_matches_the_plain_definition(
    values: list[int | None], method: str, trim: float
) -> None:
    array = np.array([np.nan if v is None else float(v) for v in values])
    got, count = leave_one_out(array, method=method, trim=trim)  # type: ignore[arg-type]
    for i in range(len(array)):
        others = np.sort(np.delete(array, i) if not np.isnan(array[i]) else array)
        others = others[~np.isnan(others)]
        assert count[i] == len(others)
        if len(others) == 0:
            assert np.isnan(got[i])
            continue
        if method == "median":
            expected = float(np.median(others))
        else:
            cut = int(np.floor(len(others) * trim))
            kept = others[cut : len(others) - cut]
            expected = float(kept.mean()) if len(kept) else np.nan
        assert got[i] == pytest.approx(expected, nan_ok=True)


def test_best_time_to_post_in_the_users_time_zone(store: Store) -> None:
    sunday_late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris (UTC+1)
    monday_nine = datetime(2026, 11, 2, 8, 10, tzinfo=UTC)  # Monday 09:10 in Paris
    for n, (created, total, likes) in enumerate(
        [
            (sunday_late, 100, 10),
            (sunday_late + timedelta(minutes=5), 100, 30),
            (monday_nine, 200, 10),
        ]
    ):
        pid = post_id(created, n)
        store.save(
            result(
                [record(pid, created=created, metrics=_with_likes(total, likes))],
                at=created + hours(30),
            ),
            source="collector",
            account=MINE,
        )
    young = post_id(monday_nine, 7)
    store.save(
        result(
            [record(young, created=monday_nine, metrics=_with_likes(10, 10))],
            at=monday_nine + hours(2),
        ),
        source="collector",
        account=MINE,
    )

    grid = store.best_time(author_id=ME, time_zone="Europe/Paris")
    assert len(grid) == 7 * 24 and list(grid.columns) == [
        "weekday",
        "hour",
        "median_engagement_rate",
        "posts",
    ]
    cell = grid[(grid["weekday"] == "Mon") & (grid["hour"] == 0)].iloc[0]
    assert cell["posts"] == 2 and cell["median_engagement_rate"] == pytest.approx(0.2)
    nine = grid[(grid["weekday"] == "Mon") & (grid["hour"] == 9)].iloc[0]
    assert nine["posts"] == 1, "the 2-hour-old Post is too young to count"
    assert nine["median_engagement_rate"] == pytest.approx(0.05)
    assert grid["posts"].sum() == 3
    in_utc = store.best_time(author_id=ME, time_zone="UTC")
    assert in_utc[(in_utc["weekday"] == "Sun") & (in_utc["hour"] == 23)]["posts"].iloc[0] == 2


def _with_likes(total: int, likes: int) -> dict[str, dict[str, int | None]]:
    groups = impressions(total)
    groups[Group.PUBLIC.value] = {**groups[Group.PUBLIC.value], "like_count": likes}
    return groups


def test_video_retention_at_every_snapshot(store: Store) -> None:
    pid = post_id(T0)
    for age, playbacks in ((2, [100, 80, 50, 30, 10]), (10, [400, 300, 200, 100, 40])):
        store.save(
            result(
                [record(pid, created=T0, metrics=impressions(1), media_keys=["7_1"])],
                at=T0 + hours(age),
                media=[video("7_1", [pid], playbacks)],
            ),
            source="collector",
            account=MINE,
        )
    frame = store.retention([pid], contexts=[Context.TOTAL, Context.ORGANIC])
    total = frame[frame["context"] == "total"]
    assert list(total["hours_since_posting"].unique()) == [2.0, 10.0]
    assert list(total["quartile"])[:5] == [0, 25, 50, 75, 100]
    assert list(total["retention"])[:5] == pytest.approx([1.0, 0.8, 0.5, 0.3, 0.1])
    assert list(total["viewers"])[5:] == [400, 300, 200, 100, 40]
    assert set(frame["post_ids"]) == {pid} and set(frame["media_key"]) == {"7_1"}
    assert len(frame[frame["context"] == "organic"]) == 10


def test_history_rows_have_the_cli_fetch_columns_oldest_first(store: Store) -> None:
    a, b = post_id(T0, 1), post_id(T0, 2)
    read_at(store, a, T0, {1: 1, 5: 5})
    read_at(store, b, T0, {3: 3})
    rows = store.history_rows([a, b])
    metric_paths = [m.path for m in metrics_for(Level.POST, ALL_GROUPS)]
    assert list(rows.columns) == ["id", "fetched_at", "status", "status_detail", *metric_paths]
    assert set(POST_COLUMNS) - set(rows.columns) == {"created_at", "author_id", "text"}
    assert list(rows["public_metrics.impression_count"]) == [1, 3, 5]
    some = store.history_rows(
        [a, b], since=T0 + hours(2), until=T0 + hours(4), groups=[Group.PUBLIC]
    )
    assert list(some["id"]) == [b]
    assert [c for c in some.columns if "_metrics." in c] == [
        m.path for m in metrics_for(Level.POST, [Group.PUBLIC])
    ]
    assert str(rows["public_metrics.like_count"].dtype) == "Int64"


def test_every_frame_keeps_its_columns_when_empty(store: Store) -> None:
    nothing = ["1460323737035677698"]
    frames = {
        "latest": store.latest(nothing),
        "growth": store.growth(nothing, field="like_count"),
        "at_ages": store.values_at_ages(nothing, field="like_count"),
        "baseline": store.baseline(author_id=ME, field="like_count"),
        "retention": store.retention(nothing),
        "history": store.history_rows(nothing),
    }
    for name, frame in frames.items():
        assert frame.empty and len(frame.columns) > 3, name
    assert len(store.best_time(author_id=ME)) == 168
