"""Frames from hand-made FetchResults: exact values for every derived metric."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xmetrics_core import frames
from xmetrics_core.catalogue import MEDIA_METRICS, POST_METRICS, Group, Level, total_metric
from xmetrics_core.models import FetchResult, IdStatus, MediaRecord, PostRecord, PostStatus

PUB, NON, ORG, PRO = (
    g.value for g in (Group.PUBLIC, Group.NON_PUBLIC, Group.ORGANIC, Group.PROMOTED)
)
NA = pd.NA


def post(
    post_id: str, *, media_keys: tuple[str, ...] = (), **groups: Mapping[str, int]
) -> PostRecord:
    return PostRecord(
        id=post_id,
        text=f"Post {post_id}",
        author_id="42",
        created_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        media_keys=media_keys,
        metrics={f"{group}_metrics": values for group, values in groups.items()},
    )


def playbacks(*counts: int | None) -> dict[str, int | None]:
    return {
        f"playback_{q}_count": c
        for q, c in zip((0, 25, 50, 75, 100), counts, strict=True)
        if c is not None
    }


def video(
    media_key: str, *, post_ids: tuple[str, ...] = (), **groups: Mapping[str, int | None]
) -> MediaRecord:
    return MediaRecord(
        media_key=media_key,
        type="video",
        duration_ms=30_000,
        post_ids=post_ids,
        metrics={f"{group}_metrics": values for group, values in groups.items()},
    )


def ok(*post_ids: str) -> tuple[IdStatus, ...]:
    return tuple(
        IdStatus(id=i, status=PostStatus.OK, source=i, position=n) for n, i in enumerate(post_ids)
    )


def result(
    *posts: PostRecord,
    media: tuple[MediaRecord, ...] = (),
    statuses: tuple[IdStatus, ...] | None = None,
) -> FetchResult:
    return FetchResult(
        posts=posts,
        media=media,
        statuses=ok(*(p.id for p in posts)) if statuses is None else statuses,
    )


FULL_PUBLIC = {
    "impression_count": 1000,
    "retweet_count": 7,
    "quote_count": 3,
    "like_count": 40,
    "reply_count": 5,
    "bookmark_count": 2,
}
FULL_NON_PUBLIC = {"impression_count": 1200, "url_link_clicks": 11, "user_profile_clicks": 9}


def one_row(frame: pd.DataFrame) -> pd.Series:
    assert len(frame) == 1
    return frame.iloc[0]


# -- schemas ----------------------------------------------------------------------------------


def test_empty_result_keeps_every_frame_schema() -> None:
    empty = frames.all_frames(FetchResult())
    schemas = {
        "posts": frames.POSTS_SCHEMA,
        "statuses": frames.STATUSES_SCHEMA,
        "metrics_long": frames.METRICS_LONG_SCHEMA,
        "media": frames.MEDIA_SCHEMA,
        "quartiles": frames.QUARTILES_SCHEMA,
        "split_per_post": frames.SPLIT_SCHEMA,
        "split_all_posts": frames.SPLIT_SCHEMA,
    }
    assert list(empty) == list(schemas)
    for name, frame in empty.items():
        assert frame.empty, name
        assert list(frame.columns) == list(schemas[name]), name
    assert list(frames.split_long_frame(empty["split_per_post"]).columns) == list(
        frames.SPLIT_LONG_SCHEMA
    )


def test_every_catalogue_metric_is_a_column() -> None:
    posts = frames.posts_frame(FetchResult())
    media = frames.media_frame(FetchResult())
    assert [m.path for m in POST_METRICS] == [
        c for c in posts.columns if c in frames.POST_METRIC_COLUMNS
    ]
    assert [m.path for m in MEDIA_METRICS] == [
        c for c in media.columns if c in frames.MEDIA_METRIC_COLUMNS
    ]


def test_frames_are_identical_from_the_single_and_the_shared_builders() -> None:
    r = result(
        post("1", public=FULL_PUBLIC, non_public=FULL_NON_PUBLIC, media_keys=("13_v",)),
        media=(video("13_v", non_public=playbacks(10, 8, 6, 4, 2)),),
    )
    shared = frames.all_frames(r)
    pd.testing.assert_frame_equal(shared["posts"], frames.posts_frame(r))
    pd.testing.assert_frame_equal(shared["metrics_long"], frames.metrics_long_frame(r))
    pd.testing.assert_frame_equal(shared["media"], frames.media_frame(r))
    pd.testing.assert_frame_equal(shared["quartiles"], frames.quartiles_frame(r))
    pd.testing.assert_frame_equal(shared["split_per_post"], frames.split_frame(r, per_post=True))


# -- Posts: derived metrics -------------------------------------------------------------------


def test_one_post_derived_metrics_are_exact() -> None:
    row = one_row(
        frames.posts_frame(result(post("1", public=FULL_PUBLIC, non_public=FULL_NON_PUBLIC)))
    )
    # stated sum: retweets 7 + quotes 3 + likes 40 + replies 5 + link clicks 11 + profile clicks 9
    assert row["engagements"] == 75
    assert row["engagements_source"] == "sum"
    assert row["impressions"] == 1200  # non-public impressions win over public (1000)
    assert row["engagement_rate"] == pytest.approx(75 / 1200)
    assert row["reposts_and_quotes"] == 10
    assert row["public_metrics.like_count"] == 40
    assert row["status"] == "ok"
    assert row["status_label"] == PostStatus.OK.label


def test_x_engagements_are_used_when_the_api_gives_them() -> None:
    non_public = {**FULL_NON_PUBLIC, "engagements": 90}
    row = one_row(frames.posts_frame(result(post("1", public=FULL_PUBLIC, non_public=non_public))))
    assert row["engagements"] == 90
    assert row["engagements_source"] == "x"
    assert row["engagement_rate"] == pytest.approx(90 / 1200)


def test_public_only_post_sums_public_counts_and_uses_public_impressions() -> None:
    row = one_row(frames.posts_frame(result(post("1", public=FULL_PUBLIC))))
    assert row["engagements"] == 7 + 3 + 40 + 5
    assert row["engagements_source"] == "sum"
    assert row["impressions"] == 1000
    assert row["engagement_rate"] == pytest.approx(55 / 1000)
    assert row["non_public_metrics.impression_count"] is NA


def test_zero_impressions_give_a_missing_rate_not_an_error() -> None:
    public = {**FULL_PUBLIC, "impression_count": 0}
    row = one_row(frames.posts_frame(result(post("1", public=public))))
    assert row["impressions"] == 0
    assert row["engagements"] == 55
    assert math.isnan(row["engagement_rate"])


def test_missing_impressions_give_a_missing_rate() -> None:
    public = {k: v for k, v in FULL_PUBLIC.items() if k != "impression_count"}
    row = one_row(frames.posts_frame(result(post("1", public=public))))
    assert row["impressions"] is NA
    assert math.isnan(row["engagement_rate"])


def test_a_sub_key_x_left_out_stays_missing_and_is_skipped_in_the_sum() -> None:
    # A real 2022 response omitted url_link_clicks for a Post without a URL.
    non_public = {"impression_count": 7, "user_profile_clicks": 1}
    row = one_row(
        frames.posts_frame(result(post("1", public={"like_count": 2}, non_public=non_public)))
    )
    assert row["non_public_metrics.url_link_clicks"] is NA
    assert row["engagements"] == 3
    assert row["reposts_and_quotes"] is NA  # no retweet_count, no quote_count
    assert row["engagement_rate"] == pytest.approx(3 / 7)


def test_reposts_and_quotes_need_both_parts() -> None:
    public = {"retweet_count": 4}
    row = one_row(frames.posts_frame(result(post("1", public=public))))
    assert row["reposts_and_quotes"] is NA
    assert row["engagements"] == 4


def test_metric_counts_are_nullable_integers_and_rates_floats() -> None:
    posts = frames.posts_frame(result(post("1", public=FULL_PUBLIC)))
    assert posts["public_metrics.like_count"].dtype == "Int64"
    assert posts["engagements"].dtype == "Int64"
    assert posts["engagement_rate"].dtype == "float64"


# -- Posts: statuses --------------------------------------------------------------------------


def test_all_errors_still_give_one_row_per_pasted_id() -> None:
    statuses = (
        IdStatus(id="10", status=PostStatus.NOT_FOUND, detail="deleted", source="10", position=0),
        IdStatus(
            id="11",
            status=PostStatus.FAILED,
            detail="HTTP 503",
            source="x.com/a/status/11",
            position=1,
        ),
        IdStatus(
            id="oops", status=PostStatus.INVALID, detail="not an ID", source="oops", position=2
        ),
    )
    r = FetchResult(statuses=statuses)
    posts = frames.posts_frame(r)
    assert posts["id"].tolist() == ["10", "11", "oops"]
    assert posts["status"].tolist() == ["not_found", "failed", "invalid"]
    assert posts["status_detail"].tolist() == ["deleted", "HTTP 503", "not an ID"]
    for column in (
        *frames.POST_METRIC_COLUMNS,
        "engagements",
        "impressions",
        "reposts_and_quotes",
    ):
        assert posts[column].isna().all(), column
    assert posts["engagement_rate"].isna().all()
    assert posts["engagements_source"].isna().all()
    assert frames.metrics_long_frame(r).empty
    assert frames.split_frame(r, per_post=True).empty

    table = frames.statuses_frame(r)
    assert table["source"].tolist() == ["10", "x.com/a/status/11", "oops"]
    assert table["position"].tolist() == [0, 1, 2]
    assert table["status_label"].tolist() == [s.status.label for s in statuses]


def test_posts_follow_paste_order_and_a_record_without_status_is_kept() -> None:
    first, second, stray = (
        post("2", public={"like_count": 1}),
        post("1", public={"like_count": 2}),
        post("9"),
    )
    r = FetchResult(posts=(second, first, stray), statuses=ok("2", "1"))
    posts = frames.posts_frame(r)
    assert posts["id"].tolist() == ["2", "1", "9"]
    assert posts["public_metrics.like_count"].tolist() == [1, 2, NA]
    assert posts["status"].isna().tolist() == [False, False, True]


def test_unknown_position_is_missing() -> None:
    table = frames.statuses_frame(FetchResult(statuses=(IdStatus(id="1", status=PostStatus.OK),)))
    assert table["position"].tolist() == [NA]


# -- metrics (long) ---------------------------------------------------------------------------


def test_metrics_long_has_one_row_per_returned_value_in_catalogue_order() -> None:
    r = result(
        post("1", public={"like_count": 3, "impression_count": 50}, organic={"like_count": 2}),
        post("2", promoted={"like_count": 1}),
    )
    long = frames.metrics_long_frame(r)
    text = [
        long[c].astype(str).tolist() for c in ("post_id", "context", "group", "metric", "label")
    ]
    rows = list(zip(*text, long["value"].tolist(), strict=True))
    assert rows == [
        ("1", "total", PUB, "impression_count", "Impressions", 50),
        ("1", "total", PUB, "like_count", "Likes", 3),
        ("1", "organic", ORG, "like_count", "Likes", 2),
        ("2", "promoted", PRO, "like_count", "Likes", 1),
    ]


def test_metrics_long_has_no_row_for_a_missing_value_but_keeps_zero() -> None:
    long = frames.metrics_long_frame(result(post("1", public={"like_count": 0})))
    assert long["value"].tolist() == [0]


# -- media and quartiles ----------------------------------------------------------------------


def _quartiles(
    r: FetchResult, context: str = "total", media_key: str | None = None
) -> pd.DataFrame:
    q = frames.quartiles_frame(r)
    q = q.loc[q["context"].astype(str).eq(context)]
    if media_key is not None:
        q = q.loc[q["media_key"].astype(str).eq(media_key)]
    return q.reset_index(drop=True)


def _floats(series: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in series]


def test_quartile_retention_dropoff_and_completion_are_exact() -> None:
    r = result(
        post("1", media_keys=("13_v",)),
        media=(video("13_v", non_public=playbacks(200, 160, 100, 50, 20)),),
    )
    q = _quartiles(r)
    assert q["quartile"].tolist() == [0, 25, 50, 75, 100]
    assert q["viewers"].tolist() == [200, 160, 100, 50, 20]
    assert _floats(q["retention"]) == pytest.approx([1.0, 0.8, 0.5, 0.25, 0.1])
    assert q["step_dropoff"].isna().tolist() == [True, False, False, False, False]
    assert _floats(q["step_dropoff"])[1:] == pytest.approx([0.2, 0.375, 0.5, 0.6])
    assert q["absolute_drop"].tolist() == [NA, 40, 60, 50, 30]
    assert _floats(q["completion_rate"]) == pytest.approx([0.1] * 5)
    assert q["rises"].tolist() == [False] * 5
    assert q["post_ids"].astype(str).tolist() == ["1"] * 5

    media = one_row(frames.media_frame(r))
    assert media["completion_rate.total"] == pytest.approx(0.1)
    assert math.isnan(media["completion_rate.organic"])
    assert not media["has_skips"]


def test_rising_quartiles_are_flagged_and_kept() -> None:
    r = result(media=(video("13_v", organic=playbacks(100, 60, 70, 30, 10)),))
    q = _quartiles(r, "organic")
    assert q["viewers"].tolist() == [100, 60, 70, 30, 10]
    assert q["rises"].tolist() == [False, False, True, False, False]
    assert _floats(q["step_dropoff"])[2] == pytest.approx(1 - 70 / 60)
    assert q["absolute_drop"].tolist() == [NA, 40, -10, 40, 20]
    assert _floats(q["retention"]) == pytest.approx([1.0, 0.6, 0.7, 0.3, 0.1])
    assert bool(one_row(frames.media_frame(r))["has_skips"]) is True


def test_zero_starters_give_missing_ratios_not_division_by_zero() -> None:
    # X's own documentation sample: playback_0_count 0, playback_25_count 2.
    r = result(media=(video("13_v", non_public=playbacks(0, 2, 1, 1, 1)),))
    q = _quartiles(r)
    assert q["retention"].isna().all()
    assert q["completion_rate"].isna().all()
    assert q["step_dropoff"].isna().tolist() == [True, True, False, False, False]
    assert _floats(q["step_dropoff"])[2:] == pytest.approx([0.5, 0.0, 0.0])
    assert q["rises"].tolist() == [False, True, False, False, False]
    assert math.isnan(one_row(frames.media_frame(r))["completion_rate.total"])


def test_a_missing_quartile_stays_missing_and_its_neighbours_are_unknown() -> None:
    r = result(media=(video("13_v", non_public=playbacks(100, 80, None, 40, 20)),))
    q = _quartiles(r)
    assert q["viewers"].tolist() == [100, 80, NA, 40, 20]
    assert q["rises"].tolist() == [False, False, NA, NA, False]
    assert q["absolute_drop"].tolist() == [NA, 20, NA, NA, 20]
    assert q["step_dropoff"].isna().tolist() == [True, False, True, True, False]
    assert _floats(q["retention"]) == pytest.approx([1.0, 0.8, None, 0.4, 0.2])


def test_total_context_reads_non_public_and_contexts_without_data_have_no_rows() -> None:
    r = result(
        media=(
            video(
                "13_v",
                public={"view_count": 500},
                non_public=playbacks(10, 9, 8, 7, 6),
                promoted={**playbacks(4, 3, 2, 1, 0), "view_count": 4},
            ),
        )
    )
    q = frames.quartiles_frame(r)
    assert q["context"].astype(str).tolist() == ["total"] * 5 + ["promoted"] * 5
    assert q["viewers"].tolist() == [10, 9, 8, 7, 6, 4, 3, 2, 1, 0]
    assert total_metric(Level.MEDIA, "playback_0_count").group is Group.NON_PUBLIC
    media = one_row(frames.media_frame(r))
    assert media["public_metrics.view_count"] == 500
    assert media["promoted_metrics.view_count"] == 4
    assert media["completion_rate.promoted"] == 0.0


def test_photos_only_give_media_rows_without_metrics_and_no_quartiles() -> None:
    photos = tuple(
        MediaRecord(media_key=f"3_{i}", type="photo", url=f"https://pbs/{i}.jpg") for i in range(2)
    )
    r = result(post("1", public=FULL_PUBLIC, media_keys=("3_0", "3_1")), media=photos)
    media = frames.media_frame(r)
    assert media["media_key"].tolist() == ["3_0", "3_1"]
    assert media["type"].tolist() == ["photo", "photo"]
    assert media["post_ids"].tolist() == ["1", "1"]
    assert media[list(frames.MEDIA_METRIC_COLUMNS)].isna().all().all()
    assert media["has_skips"].tolist() == [False, False]
    quartiles = frames.quartiles_frame(r)
    assert quartiles.empty
    assert list(quartiles.columns) == list(frames.QUARTILES_SCHEMA)
    assert frames.posts_frame(r)["media_keys"].tolist() == ["3_0 3_1"]


def test_a_video_shared_by_two_posts_is_one_media_row_listing_both() -> None:
    shared = video("13_v", post_ids=("1", "2", "77"), non_public=playbacks(50, 40, 30, 20, 10))
    r = result(post("2", media_keys=("13_v",)), post("1", media_keys=("13_v",)), media=(shared,))
    media = frames.media_frame(r)
    assert len(media) == 1
    assert media["post_ids"].tolist() == ["2 1 77"]  # pasted Posts first, then X's others
    q = frames.quartiles_frame(r)
    assert len(q) == 5  # counted once, not once per Post
    assert q["viewers"].tolist() == [50, 40, 30, 20, 10]
    assert q["post_ids"].astype(str).unique().tolist() == ["2 1 77"]


# -- organic vs promoted ----------------------------------------------------------------------

ORGANIC_1 = {
    "impression_count": 900,
    "retweet_count": 5,
    "like_count": 30,
    "reply_count": 4,
    "url_link_clicks": 8,
    "user_profile_clicks": 6,
}
PROMOTED_1 = {
    "impression_count": 300,
    "retweet_count": 2,
    "like_count": 10,
    "reply_count": 1,
    "url_link_clicks": 3,
    "user_profile_clicks": 3,
}


def _consistent_post(post_id: str) -> PostRecord:
    return post(
        post_id,
        public=FULL_PUBLIC,
        non_public=FULL_NON_PUBLIC,
        organic=ORGANIC_1,
        promoted=PROMOTED_1,
    )


def test_split_per_post_checks_total_equals_organic_plus_promoted() -> None:
    broken_public = {**FULL_PUBLIC, "like_count": 41}  # 30 + 10 ≠ 41
    r = result(
        _consistent_post("1"),
        post(
            "2",
            public=broken_public,
            non_public=FULL_NON_PUBLIC,
            organic=ORGANIC_1,
            promoted=PROMOTED_1,
        ),
    )
    split = frames.split_frame(r, per_post=True)
    fields = [
        "impression_count",
        "retweet_count",
        "like_count",
        "reply_count",
        "url_link_clicks",
        "user_profile_clicks",
    ]
    assert split["post_id"].tolist() == ["1"] * 6 + ["2"] * 6
    assert split["metric"].astype(str).tolist() == fields * 2
    assert split["label"].tolist()[:3] == ["Impressions", "Retweets", "Likes"]
    assert split["organic"].tolist()[:6] == [900, 5, 30, 4, 8, 6]
    assert split["promoted"].tolist()[:6] == [300, 2, 10, 1, 3, 3]
    # totals: non-public impressions and clicks, public Retweets, likes, replies
    assert split["total"].tolist()[:6] == [1200, 7, 40, 5, 11, 9]
    assert split["sum_matches"].tolist() == [True] * 6 + [True, True, False, True, True, True]


def test_split_over_all_posts_sums_each_metric_and_fails_if_any_post_fails() -> None:
    broken_public = {**FULL_PUBLIC, "like_count": 41}
    r = result(
        _consistent_post("1"),
        post(
            "2",
            public=broken_public,
            non_public=FULL_NON_PUBLIC,
            organic=ORGANIC_1,
            promoted=PROMOTED_1,
        ),
    )
    total = frames.split_frame(r, per_post=False)
    assert total["post_id"].tolist() == [frames.ALL_POSTS] * 6
    assert total["organic"].tolist() == [1800, 10, 60, 8, 16, 12]
    assert total["promoted"].tolist() == [600, 4, 20, 2, 6, 6]
    assert total["total"].tolist() == [2400, 14, 81, 10, 22, 18]
    assert total["sum_matches"].tolist() == [True, True, False, True, True, True]


def test_split_of_a_never_promoted_post_has_an_unknown_check() -> None:
    r = result(
        _consistent_post("1"),
        post("2", public=FULL_PUBLIC, non_public=FULL_NON_PUBLIC, organic=ORGANIC_1),
    )
    split = frames.split_frame(r, per_post=True)
    never = split.loc[split["post_id"].eq("2")]
    assert never["promoted"].isna().all()
    assert never["sum_matches"].isna().all()
    total = frames.split_frame(r, per_post=False)
    assert total["promoted"].tolist() == [300, 2, 10, 1, 3, 3]  # missing parts skipped
    assert total["sum_matches"].isna().all()


def test_public_only_posts_are_not_in_the_split() -> None:
    r = result(post("1", public=FULL_PUBLIC))
    assert frames.split_frame(r, per_post=True).empty
    assert frames.split_frame(r, per_post=False).empty


def test_split_long_frame_has_total_organic_promoted_per_metric() -> None:
    long = frames.split_long_frame(frames.split_frame(result(_consistent_post("1")), per_post=True))
    assert len(long) == 18
    head = long.head(3)
    assert head["context"].astype(str).tolist() == ["total", "organic", "promoted"]
    assert head["value"].tolist() == [1200, 900, 300]
    assert head["metric"].astype(str).unique().tolist() == ["impression_count"]
    assert long["sum_matches"].all()


# -- the sandbox world's ground truth ---------------------------------------------------------


def test_frames_agree_with_the_sandbox_world(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The demo account's own Posts, converted to a FetchResult by hand (no client code)."""
    world = sandbox.world
    owned = world.demo_posts
    assert owned, "the sandbox world should give the demo account Posts"
    keys = {k for p in owned for k in p.media_keys}
    media_items = [world.media_item(k) for k in sorted(keys)]
    r = FetchResult(
        posts=tuple(
            PostRecord(
                id=p.id,
                text=p.text,
                author_id=p.author_id,
                created_at=p.created_at,
                media_keys=p.media_keys,
                metrics=p.metrics,
            )
            for p in owned
        ),
        media=tuple(
            MediaRecord(
                media_key=m.media_key,
                type=m.type,
                duration_ms=m.duration_ms,
                post_ids=m.post_ids,
                metrics=m.metrics,
            )
            for m in media_items
            if m is not None
        ),
        statuses=ok(*(p.id for p in owned)),
    )
    built = frames.all_frames(r)
    posts = built["posts"].set_index("id")
    for p in owned:
        row = posts.loc[p.id]
        impressions = (p.non_public_metrics or {}).get(
            "impression_count", p.public_metrics.get("impression_count")
        )
        if "engagements" in (p.non_public_metrics or {}):
            engagements = p.non_public_metrics["engagements"]
        else:
            parts = [
                p.public_metrics.get(f)
                for f in ("retweet_count", "quote_count", "like_count", "reply_count")
            ]
            parts += [
                (p.non_public_metrics or {}).get(f)
                for f in ("url_link_clicks", "user_profile_clicks")
            ]
            engagements = sum(v for v in parts if v is not None)
        assert row["engagements"] == engagements
        if impressions:
            assert row["engagement_rate"] == pytest.approx(engagements / impressions)
        else:
            assert math.isnan(row["engagement_rate"])
        assert (
            row["reposts_and_quotes"]
            == p.public_metrics["retweet_count"] + p.public_metrics["quote_count"]
        )

    # The world is internally consistent: every known split check holds.
    split = built["split_per_post"]
    assert not split["sum_matches"].eq(False).fillna(False).any()
    promoted_ids = {p.id for p in owned if p.promoted}
    known = split.loc[split["sum_matches"].notna(), "post_id"]
    assert set(known) == promoted_ids

    quartiles = built["quartiles"]
    for m in media_items:
        if m is None or m.non_public_metrics is None:
            continue
        rows = quartiles.loc[
            quartiles["media_key"].astype(str).eq(m.media_key)
            & quartiles["context"].astype(str).eq("total")
        ]
        assert rows["viewers"].tolist() == [
            m.non_public_metrics.get(f"playback_{q}_count", NA) for q in (0, 25, 50, 75, 100)
        ]
        assert rows["post_ids"].astype(str).iloc[0].split() == list(
            dict.fromkeys([p.id for p in owned if m.media_key in p.media_keys] + list(m.post_ids))
        )


def test_a_null_from_x_is_missing_not_zero() -> None:
    row = one_row(
        frames.posts_frame(
            result(post("1", public={"like_count": None, "retweet_count": 2, "quote_count": 1}))
        )
    )  # type: ignore[dict-item]
    assert row["public_metrics.like_count"] is NA
    assert row["public_metrics.retweet_count"] == 2
    assert row["engagements"] == 3


# -- any shape X may send ---------------------------------------------------------------------

_maybe_count = st.one_of(st.none(), st.integers(min_value=0, max_value=10**12))


@st.composite
def _metric_groups(draw: st.DrawFn, level: Level) -> dict[str, dict[str, int | None]]:
    """Some groups, each with some sub-keys (absent, null or a count)."""
    groups: dict[str, dict[str, int | None]] = {}
    for group in Group:
        if draw(st.booleans()):
            continue
        fields = [
            m.field
            for m in (POST_METRICS if level is Level.POST else MEDIA_METRICS)
            if m.group is group
        ]
        chosen = draw(st.lists(st.sampled_from(fields), unique=True)) if fields else []
        groups[group.value] = {f: draw(_maybe_count) for f in chosen}
    return groups


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_metric_groups(Level.POST), max_size=6),
    st.lists(_metric_groups(Level.MEDIA), max_size=4),
)
def test_every_value_lands_in_its_column_and_missing_stays_missing(
    post_groups: list[dict[str, dict[str, int | None]]],
    media_groups: list[dict[str, dict[str, int | None]]],
) -> None:
    posts = tuple(PostRecord(id=str(i), metrics=g) for i, g in enumerate(post_groups))
    media = tuple(
        MediaRecord(media_key=f"13_{i}", type="video", metrics=g)
        for i, g in enumerate(media_groups)
    )
    built = frames.all_frames(
        FetchResult(posts=posts, media=media, statuses=ok(*(p.id for p in posts)))
    )

    for frame, records, metrics in (
        (built["posts"], posts, POST_METRICS),
        (built["media"], media, MEDIA_METRICS),
    ):
        for m in metrics:
            expected = [r.value(m.group, m.field) for r in records]
            assert frame[m.path].tolist() == [NA if v is None else v for v in expected], m.path

    present = sum(
        v is not None for p in posts for values in p.metrics.values() for v in values.values()
    )
    assert len(built["metrics_long"]) == present
    quartiles = built["quartiles"]
    assert len(quartiles) % 5 == 0
    assert quartiles["retention"].dropna().ge(0).all()
    assert not quartiles.loc[quartiles["quartile"].eq(0), "rises"].any()


def test_paste_statuses_give_every_token_a_row_in_paste_order() -> None:
    from xmetrics_core.references import parse_references

    paste = parse_references("20 junk 21 20 https://x.com/a/status/21")
    statuses = (
        *(
            IdStatus(id=ref.id, status=PostStatus.OK, source=ref.source, position=ref.position)
            for ref in paste.refs
        ),
        IdStatus(id="junk", status=PostStatus.INVALID, detail="not a Post ID", position=1),
    )
    table = frames.paste_statuses_frame(FetchResult(statuses=statuses), paste)
    assert table["id"].tolist() == ["20", "junk", "21", "20", "21"]
    assert table["position"].tolist() == [0, 1, 2, 3, 4]
    assert table["status"].tolist() == ["ok", "invalid", "ok", "duplicate", "duplicate"]
    assert table["detail"].tolist()[1] == "not a Post ID"
    assert table["detail"].tolist()[3:] == [
        "same Post as pasted token #1; fetched once",
        "same Post as pasted token #3; fetched once",
    ]
    assert table["source"].tolist()[4] == "https://x.com/a/status/21"
    assert list(table.columns) == list(frames.STATUSES_SCHEMA)
    every = frames.all_frames(FetchResult(statuses=statuses), paste=paste)["statuses"]
    assert every.equals(table)


def test_a_pasted_id_the_result_lacks_still_gets_a_row() -> None:
    from xmetrics_core.references import parse_references

    table = frames.paste_statuses_frame(FetchResult(), parse_references("30"))
    assert table["status"].tolist() == ["failed"]


def test_fetched_posts_link_to_x_and_missing_ones_do_not() -> None:
    r = FetchResult(
        posts=(post("40", public={"like_count": 1}),),
        statuses=(
            IdStatus(id="40", status=PostStatus.OK),
            IdStatus(id="41", status=PostStatus.NOT_FOUND),
        ),
    )
    urls = frames.posts_frame(r)["post_url"].tolist()
    assert urls[0] == "https://x.com/i/web/status/40"
    assert pd.isna(urls[1])


def test_summary_totals_skip_missing_values_and_rate_only_posts_with_both() -> None:
    posts = frames.posts_frame(
        result(
            post(
                "1",
                public={
                    "impression_count": 100,
                    "like_count": 5,
                    "retweet_count": 1,
                    "quote_count": 1,
                },
            ),
            post("2", public={"like_count": 3}),  # no impressions: summed, but not rated
            post("3"),
        )
    )
    totals = frames.summary_totals(posts)
    assert totals.impressions == 100
    assert totals.engagements == 5 + 1 + 1 + 3
    assert totals.engagement_rate == pytest.approx(7 / 100)
    assert totals.reposts_and_quotes == 2


def test_summary_totals_of_nothing_are_missing_not_zero() -> None:
    totals = frames.summary_totals(frames.posts_frame(result(post("1"))))
    assert (totals.impressions, totals.engagements, totals.engagement_rate) == (None, None, None)
    assert totals.reposts_and_quotes is None
