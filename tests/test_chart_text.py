"""Chart summaries: each chart's text alternative says what the chart shows, from its data."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from tests.test_figures import QUARTILE_MEDIA, post, quartiles, result, split_long
from xmetrics_core import chart_text, figures, frames


def _one_video() -> pd.DataFrame:
    q = quartiles()
    return q.loc[q[frames.MEDIA_KEY].eq("13_a")]


def test_the_retention_summary_names_the_largest_drop_and_the_end() -> None:
    data = figures.quartile_retention_data(_one_video())
    assert chart_text.chart_summary(figures.quartile_retention_figure(_one_video()), data) == (
        "Largest drop: 83.3 % of viewers lost between 75 % and 100 %, organic. "
        "Played to the end: 10.0 % (X's total), 8.3 % (organic) of starters."
    )


def test_with_several_videos_the_summary_says_which_video() -> None:
    data = figures.quartile_retention_data(quartiles())
    summary = chart_text.retention_summary(data)
    assert "organic, video 13_a." in summary
    assert "60.0 % (X's total, video 13_b)" in summary


def test_the_viewer_counts_summary_gives_starters_and_finishers() -> None:
    data = figures.quartile_counts_data(_one_video())
    assert chart_text.chart_summary(go.Figure(), data) == (
        "Viewers who started → played to the end: X's total 1,000 → 100; organic 600 → 50."
    )


def test_the_split_summary_sums_impressions_per_context() -> None:
    data = figures.organic_vs_promoted_data(split_long(per_post=True))
    summary = chart_text.chart_summary(go.Figure(), data)
    assert summary.startswith(
        "Impressions over 2 Posts: 1,000 organic, 300 promoted, X's total 1,300."
    )
    assert "6 metrics drawn" in summary


def test_a_failed_sum_check_is_named_in_the_summary() -> None:
    data = figures.organic_vs_promoted_data(split_long(per_post=False))
    data.loc[0, "sum_matches"] = False
    assert "Organic + promoted ≠ X's total for " in chart_text.split_summary(data)


def test_the_rate_summary_names_the_highest_and_lowest_posts() -> None:
    posts = frames.posts_frame(
        result(
            *(post(str(n), public={"impression_count": 100, "like_count": n}) for n in (5, 50, 1))
        )
    )
    data = figures.engagement_rate_data(posts, post_labels={"50": "Launch day", "1": "Quiet"})
    assert chart_text.chart_summary(go.Figure(), data) == (
        "3 Posts ranked. Highest: 50.0 % (Launch day), lowest: 1.0 % (Quiet). "
        "3 with public interactions only."
    )


def test_any_other_chart_is_described_by_its_title_series_and_points() -> None:
    fig = go.Figure(
        [go.Scatter(x=[1, 2, 3], y=[4, 5, 6], name="Organic"), go.Bar(y=[1, 2], name="Paid")]
    ).update_layout(title={"text": "Impressions per day"})
    summary = chart_text.chart_summary(fig, pd.DataFrame({"day": [1, 2], "value": [3, 4]}))
    assert summary == "Impressions per day: 2 series (Organic, Paid), 5 points."


def test_empty_charts_say_they_have_no_data() -> None:
    empty = figures.quartile_retention_data(quartiles().iloc[:0])
    assert chart_text.chart_summary(go.Figure(), empty) == chart_text.NO_DATA_SUMMARY
    assert chart_text.figure_summary(figures.no_data_figure("Rates")) == "Rates: no data."


def test_preview_alt_text_has_the_duration_and_the_posts_text() -> None:
    media = frames.media_frame(
        result(
            post("7"),
            media=(QUARTILE_MEDIA[0],),
        )
    ).assign(**{frames.DURATION_MS: [65_000], frames.POST_IDS: ["7"]})
    posts = frames.posts_frame(result(post("7"))).assign(
        **{frames.TEXT: ["Our  launch,\nin 65 seconds"]}
    )
    assert figures.video_alt_texts(media, posts) == {
        "13_a": "Preview of a 1:05 video in the Post: Our launch, in 65 seconds"
    }
    alone = media.assign(**{frames.POST_IDS: [""], frames.DURATION_MS: [None]})
    assert figures.video_alt_texts(alone, posts) == {
        "13_a": "Preview of a video of unknown length (media 13_a)"
    }
