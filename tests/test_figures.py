"""Figures: each chart's data equals its ``*_data`` frame (read from ``fig.data``), and the
chart's CSV export equals that frame."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import pytest

from xmetrics_core import figures, frames
from xmetrics_core.exports import safe_csv_bytes
from xmetrics_core.models import FetchResult, IdStatus, MediaRecord, PostRecord, PostStatus


def post(post_id: str, **groups: Mapping[str, int]) -> PostRecord:
    return PostRecord(
        id=post_id,
        created_at=datetime(2026, 11, 20, tzinfo=UTC),
        metrics={f"{group}_metrics": values for group, values in groups.items()},
    )


def playbacks(*counts: int) -> dict[str, int]:
    return {f"playback_{q}_count": c for q, c in zip((0, 25, 50, 75, 100), counts, strict=True)}


def result(*posts: PostRecord, media: tuple[MediaRecord, ...] = ()) -> FetchResult:
    statuses = tuple(IdStatus(id=p.id, status=PostStatus.OK) for p in posts)
    return FetchResult(posts=posts, media=media, statuses=statuses)


SPLIT_POSTS = (
    post(
        "1",
        public={"retweet_count": 7, "like_count": 40, "reply_count": 5, "impression_count": 1},
        non_public={"impression_count": 1200, "url_link_clicks": 11, "user_profile_clicks": 9},
        organic={
            "impression_count": 900,
            "retweet_count": 5,
            "like_count": 30,
            "reply_count": 4,
            "url_link_clicks": 8,
            "user_profile_clicks": 6,
        },
        promoted={
            "impression_count": 300,
            "retweet_count": 2,
            "like_count": 10,
            "reply_count": 1,
            "url_link_clicks": 3,
            "user_profile_clicks": 3,
        },
    ),
    post(
        "2",
        public={"retweet_count": 1, "like_count": 9, "reply_count": 0},
        non_public={"impression_count": 100, "url_link_clicks": 2, "user_profile_clicks": 1},
        organic={
            "impression_count": 100,
            "retweet_count": 1,
            "like_count": 8,
            "reply_count": 0,
            "url_link_clicks": 2,
            "user_profile_clicks": 1,
        },
    ),
)
QUARTILE_MEDIA = (
    MediaRecord(
        media_key="13_a",
        type="video",
        metrics={
            "non_public_metrics": playbacks(1000, 700, 750, 300, 100),
            "organic_metrics": {**playbacks(600, 500, 400, 300, 50), "view_count": 600},
        },
    ),
    MediaRecord(
        media_key="13_b", type="video", metrics={"non_public_metrics": playbacks(10, 9, 8, 7, 6)}
    ),
)


def split_long(*, per_post: bool) -> pd.DataFrame:
    return frames.split_long_frame(frames.split_frame(result(*SPLIT_POSTS), per_post=per_post))


def quartiles() -> pd.DataFrame:
    return frames.quartiles_frame(result(media=QUARTILE_MEDIA))


def csv_frame(data: pd.DataFrame) -> pd.DataFrame:
    """What a user gets from the chart's CSV download, read back."""
    return pd.read_csv(io.BytesIO(safe_csv_bytes(data)), dtype=str, keep_default_na=False)


def same_numbers(left: list[object], right: list[object]) -> bool:
    def norm(v: object) -> object:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v

    return [norm(v) for v in left] == [norm(v) for v in right]


# -- organic vs promoted ----------------------------------------------------------------------


@pytest.mark.parametrize("per_post", [False, True])
def test_organic_vs_promoted_plots_exactly_its_data(per_post: bool) -> None:
    long = split_long(per_post=per_post)
    fig = figures.organic_vs_promoted_figure(long, per_post=per_post)
    data = figures.organic_vs_promoted_data(long)
    plotted = [
        (t.meta["context"], custom[0], custom[1], y)
        for t in fig.data
        for custom, y in zip(t.customdata, t.y, strict=True)
    ]
    expected = list(
        zip(
            data["context"].astype(str),
            data["post_id"].astype(str),
            data["label"].astype(str),
            [None if pd.isna(v) else int(v) for v in data["value"]],
            strict=True,
        )
    )
    assert sorted(plotted, key=str) == sorted(expected, key=str)
    assert len(plotted) == len(long) == len(data)
    assert [t.name for t in fig.data[:1]] == ["Organic"]
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    diamonds = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert {t.meta["context"] for t in bars} == {"organic", "promoted"}
    assert {t.meta["context"] for t in diamonds} == {"total"}
    assert fig.layout.barmode == "relative"


def test_organic_vs_promoted_in_total_sums_the_posts() -> None:
    fig = figures.organic_vs_promoted_figure(split_long(per_post=False), per_post=False)
    by_context: dict[str, dict[str, int]] = {}
    for t in fig.data:
        by_context.setdefault(t.meta["context"], {}).update(zip(t.x, t.y, strict=True))
    assert by_context["organic"]["Likes"] == 38
    assert by_context["promoted"]["Likes"] == 10  # Post 2 was never promoted: skipped
    assert by_context["total"]["Likes"] == 49
    assert by_context["total"]["Impressions"] == 1300


def test_organic_vs_promoted_per_post_has_one_row_per_metric() -> None:
    fig = figures.organic_vs_promoted_figure(split_long(per_post=True), per_post=True)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [
        "Impressions",
        "Retweets",
        "Likes",
        "Replies",
        "URL link clicks",
        "Profile clicks",
    ]
    organic_likes = next(t for t in fig.data if t.meta == {"context": "organic", "label": "Likes"})
    assert list(organic_likes.x) == ["1", "2"]
    assert list(organic_likes.y) == [30, 8]
    promoted_likes = next(
        t for t in fig.data if t.meta == {"context": "promoted", "label": "Likes"}
    )
    assert list(promoted_likes.y) == [10, None]  # missing stays a gap, not 0


def test_organic_vs_promoted_gives_every_metric_its_own_facet_and_y_axis() -> None:
    for per_post in (False, True):
        fig = figures.organic_vs_promoted_figure(split_long(per_post=per_post), per_post=per_post)
        axes_by_label: dict[str, set[str]] = {}
        for t in fig.data:
            axes_by_label.setdefault(t.meta["label"], set()).add(t.yaxis)
        assert all(len(axes) == 1 for axes in axes_by_label.values())  # bars, diamond together
        y_axes = [next(iter(axes)) for axes in axes_by_label.values()]
        assert len(set(y_axes)) == len(axes_by_label) == 6  # one y axis per metric
        for name in y_axes:
            axis = fig.layout["yaxis" + name[1:]]
            assert axis.matches is None and axis.rangemode == "tozero"
    total = figures.organic_vs_promoted_figure(split_long(per_post=False), per_post=False)
    axes = sorted({t.xaxis for t in total.data})
    assert len(axes) == 6
    x_domains = {tuple(total.layout["xaxis" + a[1:]].domain) for a in axes}
    y_domains = {tuple(total.layout["yaxis" + a[1:]].domain) for a in axes}
    assert (len(x_domains), len(y_domains)) == (3, 2)  # three facets to a row, two rows
    bars = [t for t in total.data if isinstance(t, go.Bar)]
    assert all(t.texttemplate == "%{y:,}" for t in bars)  # the exact counts on the bars


def test_organic_vs_promoted_per_post_draws_the_posts_with_most_impressions() -> None:
    impressions = {str(n): 1000 + 37 * ((n * 7) % 20) for n in range(1, 21)}  # all distinct
    many = [
        post(
            post_id,
            public={"like_count": 10 + int(post_id), "retweet_count": 1, "reply_count": 0},
            non_public={"impression_count": count},
            organic={"impression_count": count, "like_count": 10 + int(post_id)},
        )
        for post_id, count in impressions.items()
    ]
    limit = figures.MAX_POSTS_PER_SPLIT_CHART
    long = frames.split_long_frame(frames.split_frame(result(*many), per_post=True))
    fig = figures.organic_vs_promoted_figure(long, per_post=True)
    data = figures.organic_vs_promoted_data(long)
    expected = sorted(impressions, key=lambda i: -impressions[i])[:limit]
    organic_likes = next(t for t in fig.data if t.meta == {"context": "organic", "label": "Likes"})
    assert list(organic_likes.x) == sorted(expected, key=int)  # in paste order
    assert set(data["post_id"].astype(str)) == set(expected)
    assert sum(len(t.y) for t in fig.data) == len(data)
    assert fig.layout.title.subtitle.text.startswith(f"The {limit} of 20 Posts")
    assert fig.layout.xaxis.showticklabels is False  # Post IDs once, under the bottom facet
    bottom = fig.layout[f"xaxis{len({t.xaxis for t in fig.data})}"]
    assert bottom.showticklabels is True and bottom.title.text == "Post"
    few = figures.organic_vs_promoted_figure(split_long(per_post=True), per_post=True)
    assert not few.layout.title.subtitle.text  # nothing left out, nothing said


def test_a_failed_sum_check_is_annotated() -> None:
    broken = post(
        "3",
        public={"retweet_count": 1, "like_count": 99, "reply_count": 0},
        non_public={"impression_count": 10, "url_link_clicks": 0, "user_profile_clicks": 0},
        organic={
            "impression_count": 10,
            "retweet_count": 1,
            "like_count": 5,
            "reply_count": 0,
            "url_link_clicks": 0,
            "user_profile_clicks": 0,
        },
        promoted={
            "impression_count": 0,
            "retweet_count": 0,
            "like_count": 1,
            "reply_count": 0,
            "url_link_clicks": 0,
            "user_profile_clicks": 0,
        },
    )
    long = frames.split_long_frame(frames.split_frame(result(broken), per_post=True))
    fig = figures.organic_vs_promoted_figure(long, per_post=True)
    notes = [a.text for a in fig.layout.annotations if "≠" in (a.text or "")]
    assert notes == ["organic + promoted ≠ total for Likes (3)"]
    assert not [
        a
        for a in figures.organic_vs_promoted_figure(
            split_long(per_post=True), per_post=True
        ).layout.annotations
        if "≠" in (a.text or "")
    ]


# -- quartiles --------------------------------------------------------------------------------


def test_quartile_retention_plots_exactly_its_data_with_one_trace_per_context() -> None:
    q = quartiles()
    fig = figures.quartile_retention_figure(q)
    data = figures.quartile_retention_data(q)
    assert [(t.meta["media_key"], t.meta["context"]) for t in fig.data] == [
        ("13_a", "total"),
        ("13_a", "organic"),
        ("13_b", "total"),
    ]
    xs = [x for t in fig.data for x in t.x]
    ys = [y for t in fig.data for y in t.y]
    viewers = [c[0] for t in fig.data for c in t.customdata]
    assert xs == data["quartile"].tolist()
    assert ys == pytest.approx(data["retention_pct"].tolist())
    assert viewers == data["viewers"].tolist()
    assert ys[:5] == pytest.approx([100.0, 70.0, 75.0, 30.0, 10.0])
    # the rise at 50% (700 → 750) is drawn with an open marker, not removed
    assert list(fig.data[0].marker.symbol) == [
        "circle",
        "circle",
        "circle-open",
        "circle",
        "circle",
    ]
    csv = csv_frame(data)
    assert csv["viewers"].tolist() == [str(v) for v in data["viewers"]]
    assert list(csv.columns) == list(data.columns)


def test_quartile_retention_annotates_the_largest_step_drop() -> None:
    fig = figures.quartile_retention_figure(quartiles())
    # step drops: total 13_a: 30%, −7.1%, 60%, 66.7%; organic: 16.7%, 20%, 25%, 83.3%
    [note] = [a for a in fig.layout.annotations if (a.text or "").startswith("Largest drop")]
    [ring] = fig.layout.shapes
    assert ring.xanchor == 100
    assert ring.yanchor == pytest.approx(50 / 600 * 100)
    assert (ring.xref, ring.yref, ring.type) == ("x", "y", "circle")
    assert "83.3%" in note.text and "Organic" in note.text and "ringed" in note.text
    assert "13_a" in note.text  # two videos on show: the note says which one


def test_the_largest_drop_note_sits_above_the_plot_area_never_on_the_lines() -> None:
    only_a = quartiles().loc[lambda d: d["media_key"].eq("13_a")].reset_index(drop=True)
    for q in (quartiles(), only_a):
        fig = figures.quartile_retention_figure(q)
        [note] = fig.layout.annotations
        assert (note.xref, note.yref, note.showarrow) == ("paper", "paper", False)
        assert note.yanchor == "top" and note.y > 1  # its top edge is above the plot area
        plot_height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
        lines = note.text.count("<br>") + 1
        assert (note.y - 1) * plot_height >= 18 * lines  # and so is its bottom edge
        legend_bottom_px = (1 - fig.layout.legend.y) * fig.layout.height + figures.LEGEND_ROW_PX
        note_top_px = fig.layout.margin.t - (note.y - 1) * plot_height
        assert legend_bottom_px <= note_top_px  # the legend is above the note, not on it
    assert "13_a" not in figures.quartile_retention_figure(only_a).layout.annotations[0].text


def test_without_starters_the_largest_drop_is_named_but_not_ringed() -> None:
    no_start = MediaRecord(
        media_key="13_c",
        type="video",
        metrics={"non_public_metrics": {"playback_25_count": 80, "playback_50_count": 20}},
    )
    fig = figures.quartile_retention_figure(frames.quartiles_frame(result(media=(no_start,))))
    [note] = fig.layout.annotations
    assert note.text.startswith("Largest drop: 75.0% of viewers lost")
    assert fig.layout.shapes == ()


def test_the_two_quartile_charts_line_up_side_by_side() -> None:
    retention = figures.quartile_retention_figure(quartiles())
    counts = figures.quartile_counts_figure(quartiles())
    assert retention.layout.height == counts.layout.height
    assert retention.layout.margin.t == counts.layout.margin.t
    assert retention.layout.legend.orientation == counts.layout.legend.orientation == "h"


def test_quartile_counts_plot_exact_viewers_grouped_by_context() -> None:
    q = quartiles()
    fig = figures.quartile_counts_figure(q)
    data = figures.quartile_counts_data(q)
    assert fig.layout.barmode == "group"
    assert [y for t in fig.data for y in t.y] == data["viewers"].tolist()
    assert list(fig.data[0].x) == ["0%", "25%", "50%", "75%", "100%"]
    assert list(fig.data[0].y) == [1000, 700, 750, 300, 100]
    assert fig.layout.yaxis.title.text == "Viewers"
    assert "%{y:,} viewers" in fig.data[0].hovertemplate


# -- engagement rate --------------------------------------------------------------------------


def test_engagement_rate_ranks_posts_and_leaves_out_missing_rates() -> None:
    r = result(
        post("low", public={"like_count": 1, "impression_count": 100}),
        post("high", public={"like_count": 30, "impression_count": 100}),
        post("zero", public={"like_count": 3, "impression_count": 0}),
        post(
            "mid", public={"like_count": 1}, non_public={"impression_count": 20, "engagements": 2}
        ),
    )
    posts = frames.posts_frame(r)
    fig = figures.engagement_rate_figure(posts)
    data = figures.engagement_rate_data(posts)
    assert data["id"].tolist() == ["high", "mid", "low"]
    assert list(fig.layout.yaxis.categoryarray) == ["high", "mid", "low"]  # the ranking
    assert fig.layout.yaxis.autorange == "reversed"
    by_kind = {t.meta["kind"]: t for t in fig.data}
    assert list(by_kind["public_only"].y) == ["high", "low"]
    assert list(by_kind["public_only"].x) == pytest.approx([30.0, 1.0])
    assert list(by_kind["with_clicks"].y) == ["mid"]
    assert [c[:2] for c in by_kind["public_only"].customdata] == [[30, 100], [1, 100]]
    assert by_kind["with_clicks"].name == "Your Posts (clicks included)"
    assert by_kind["public_only"].name == "Public interactions only"
    assert by_kind["with_clicks"].marker.color != by_kind["public_only"].marker.color
    assert all(t.orientation == "h" for t in fig.data)
    assert fig.layout.xaxis.title.text == "Engagement rate (%)"
    assert fig.layout.title.subtitle.text == "1 Post(s) without impressions are not shown"
    assert not fig.layout.annotations, "no footnote on the axis labels (issue 10, defect 8)"
    csv = csv_frame(data)
    assert csv["id"].tolist() == ["high", "mid", "low"]
    assert csv["engagements_source"].tolist() == ["sum", "x", "sum"]
    assert csv["engagements_kind"].tolist() == ["public_only", "with_clicks", "public_only"]


def test_our_sum_with_private_clicks_is_ranked_with_xs_own_count() -> None:
    own = post(
        "own",
        public={"like_count": 5, "impression_count": 1},
        non_public={"impression_count": 100, "url_link_clicks": 3, "user_profile_clicks": 2},
    )
    data = figures.engagement_rate_data(frames.posts_frame(result(own)))
    assert data["engagements_source"].tolist() == ["sum"]
    assert data["engagements_kind"].tolist() == ["with_clicks"]


def test_charts_name_posts_by_date_and_text_and_escape_them_for_plotly() -> None:
    tricky = PostRecord(
        id="7",
        text="<a href='https://evil'>win</a> a long Post text that goes on and on",
        created_at=datetime(2026, 3, 3, 12, tzinfo=UTC),
        metrics={"public_metrics": {"like_count": 5, "impression_count": 50}},
    )
    posts = frames.posts_frame(result(tricky))
    labels = figures.post_labels(posts)
    assert labels == {"7": "3 Mar · <a href='https://…"}  # 18 characters of text
    fig = figures.engagement_rate_figure(posts, post_labels=labels)
    assert list(fig.data[0].y) == ["3 Mar · &lt;a href='https://…"]
    assert fig.data[0].showlegend is True
    data = figures.engagement_rate_data(posts, post_labels=labels)
    assert data["post_label"].tolist() == [labels["7"]], "the CSV keeps the text as it is"
    assert data["id"].tolist() == ["7"], "and the ID"


def test_posts_with_the_same_label_stay_apart() -> None:
    same = [PostRecord(id=i, text="gm", created_at=datetime(2026, 3, 3, tzinfo=UTC)) for i in "12"]
    labels = figures.post_labels(frames.posts_frame(result(*same)))
    assert len(set(labels.values())) == 2


def test_the_per_post_split_names_posts_and_the_summed_one_says_what_it_covers() -> None:
    r = result(*SPLIT_POSTS, post("3", public={"like_count": 1, "impression_count": 10}))
    built = frames.all_frames(r)
    labels = {"1": "first Post", "2": "second Post"}
    per_post = figures.organic_vs_promoted_figure(
        frames.split_long_frame(built["split_per_post"]), per_post=True, post_labels=labels
    )
    assert {x for t in per_post.data for x in t.x} == {"first Post", "second Post"}
    coverage = figures.split_coverage(built["posts"], built["split_per_post"])
    assert (coverage.split_posts, coverage.posts_with_metrics) == (2, 3)
    summed = figures.organic_vs_promoted_figure(
        frames.split_long_frame(built["split_all_posts"]), per_post=False, coverage=coverage
    )
    assert summed.layout.title.subtitle.text == "Covers 2 of the 3 Posts (yours, last 30 days)"
    assert summed.layout.title.text == "Organic vs promoted"


def test_the_largest_drop_is_between_two_quartiles() -> None:
    only_a = quartiles().loc[lambda d: d["media_key"].eq("13_a")].reset_index(drop=True)
    [note] = figures.quartile_retention_figure(only_a).layout.annotations
    assert "lost<br>between 75% and 100% (Organic)" in note.text


def test_chart_exports_hold_every_charts_data() -> None:
    r = result(*SPLIT_POSTS, media=QUARTILE_MEDIA)
    built = frames.all_frames(r)
    exported = figures.chart_exports(built)
    assert set(exported) == {
        "organic_vs_promoted",
        "organic_vs_promoted_per_post",
        "engagement_rate",
        "videos",
        "retention_13_a",
        "dropoff_13_a",
        "retention_13_b",
        "dropoff_13_b",
    }
    for key in ("13_a", "13_b"):  # each video's data as its own chart's button gives it
        one = built["quartiles"].loc[lambda d, k=key: d["media_key"].eq(k)].reset_index(drop=True)
        assert exported[f"retention_{key}"].equals(figures.quartile_retention_data(one))
        assert exported[f"dropoff_{key}"].equals(figures.quartile_counts_data(one))
    assert exported["engagement_rate"].equals(figures.engagement_rate_data(built["posts"]))


def test_video_labels_name_the_first_post_that_carries_the_video() -> None:
    carrier = PostRecord(
        id="9",
        text="Our launch video",
        created_at=datetime(2026, 3, 3, tzinfo=UTC),
        media_keys=("13_v",),
    )
    video = MediaRecord(media_key="13_v", type="video", duration_ms=65_000, post_ids=("9",))
    built = frames.all_frames(result(carrier, media=(video,)))
    assert figures.video_labels(built["media"], built["posts"]) == {
        "13_v": "Video 1:05 · 3 Mar · Our launch video"
    }


# -- every figure -----------------------------------------------------------------------------


def _all_figures(r: FetchResult) -> dict[str, go.Figure]:
    built = frames.all_frames(r)
    return {
        "split_total": figures.organic_vs_promoted_figure(
            frames.split_long_frame(built["split_all_posts"]), per_post=False
        ),
        "split_posts": figures.organic_vs_promoted_figure(
            frames.split_long_frame(built["split_per_post"]), per_post=True
        ),
        "retention": figures.quartile_retention_figure(built["quartiles"]),
        "counts": figures.quartile_counts_figure(built["quartiles"]),
        "rate": figures.engagement_rate_figure(built["posts"]),
    }


@pytest.mark.parametrize(
    "case",
    [
        FetchResult(),
        FetchResult(statuses=(IdStatus(id="1", status=PostStatus.NOT_FOUND),)),
        result(post("1"), media=(MediaRecord(media_key="3_p", type="photo"),)),
    ],
    ids=["empty", "all errors", "photos only"],
)
def test_no_data_gives_a_figure_saying_so(case: FetchResult) -> None:
    for name, fig in _all_figures(case).items():
        assert fig.data == (), name
        assert [a.text for a in fig.layout.annotations] == [figures.NO_DATA], name


def test_figures_use_okabe_ito_per_context_and_transparent_theme_neutral_layout() -> None:
    r = result(*SPLIT_POSTS, media=QUARTILE_MEDIA)
    default_template = go.Figure().layout.template
    for name, fig in _all_figures(r).items():
        assert fig.layout.paper_bgcolor == "rgba(0,0,0,0)", name
        assert fig.layout.plot_bgcolor == "rgba(0,0,0,0)", name
        assert fig.layout.template == default_template, name  # no hard-coded light/dark
        for trace in fig.data:
            context = (trace.meta or {}).get("context")
            if context:
                assert trace.marker.color == figures.CONTEXT_COLOURS[context], name
            assert trace.hovertemplate, name
    assert set(figures.CONTEXT_COLOURS.values()) <= set(figures.OKABE_ITO.values())


def test_figures_build_from_the_sandbox_world(sandbox) -> None:  # type: ignore[no-untyped-def]
    world = sandbox.world
    owned = world.demo_posts
    media = {k: world.media_item(k) for p in owned for k in p.media_keys}
    r = FetchResult(
        posts=tuple(PostRecord(id=p.id, media_keys=p.media_keys, metrics=p.metrics) for p in owned),
        media=tuple(
            MediaRecord(media_key=m.media_key, type=m.type, post_ids=m.post_ids, metrics=m.metrics)
            for m in media.values()
            if m is not None
        ),
        statuses=tuple(IdStatus(id=p.id, status=PostStatus.OK) for p in owned),
    )
    built = frames.all_frames(r)
    figs = _all_figures(r)
    retention = figures.quartile_retention_data(built["quartiles"])
    assert [y for t in figs["retention"].data for y in t.y] == pytest.approx(
        retention["retention_pct"].tolist(), nan_ok=True
    )
    rate = figures.engagement_rate_data(built["posts"])
    assert list(figs["rate"].data[0].y) == rate["id"].tolist()
    assert rate["engagement_rate_pct"].is_monotonic_decreasing
    assert same_numbers(
        [y for t in figs["counts"].data for y in t.y], built["quartiles"]["viewers"].tolist()
    )


def test_the_rate_chart_keeps_the_posts_with_the_highest_rates_in_their_order() -> None:
    posts = frames.posts_frame(
        result(
            *(
                post(str(n), public={"impression_count": 100, "like_count": n})
                for n in (5, 50, 1, 30)
            ),
            post("9"),  # no rate: never among the highest
        )
    )
    kept = figures.highest_rated_posts(posts, 2)
    assert list(kept[frames.ID]) == ["50", "30"]
    assert figures.highest_rated_posts(posts, 10) is posts
