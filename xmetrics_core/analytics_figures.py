"""Plotly figures over the analytics frames; each returns a ``go.Figure``, never calls streamlit.

As in :mod:`xmetrics_core.figures`: every figure has a ``*_data`` companion returning exactly
the rows it plots (the chart's CSV), colours are the Okabe-Ito palette (one per Post or
video), backgrounds are transparent and no template is set (the page's theme applies), hover
shows exact counts, and no rows give a "No data" figure.

* :func:`growth_curve_figure`: cumulative counts of one metric per Post, over time or over
  hours since posting (the growth curves);
* :func:`bucket_figure`: the count in each bucket (hourly impressions …), stacked per Post;
* :func:`watch_time_figure`: hours of video watched per bucket, per video;
* :func:`playback_figure`: how many plays reached each stage (start, 25 %, 50 %, 75 %,
  complete) over the span, per video.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from xmetrics_core.analytics_frames import (
    CUMULATIVE,
    CUMULATIVE_COMPLETE,
    GRANULARITY,
    HOURS_SINCE_POSTING,
    MEDIA_KEY,
    METRIC,
    POST_ID,
    TIMESTAMP,
    VALUE,
)
from xmetrics_core.figures import MARK_COLOURS, no_data_figure

#: Words for X's analytics names (unknown names are shown as written, underscores spaced).
ANALYTICS_LABELS: Final[Mapping[str, str]] = {
    "impressions": "Impressions",
    "engagements": "Engagements",
    "likes": "Likes",
    "unlikes": "Unlikes",
    "retweets": "Reposts",
    "replies": "Replies",
    "quote_tweets": "Quotes",
    "bookmarks": "Bookmarks",
    "shares": "Shares",
    "url_clicks": "Link clicks",
    "user_profile_clicks": "Profile clicks",
    "detail_expands": "Detail expands",
    "permalink_clicks": "Permalink clicks",
    "hashtag_clicks": "Hashtag clicks",
    "media_views": "Media views",
    "follows": "Follows",
    "unfollows": "Unfollows",
    "video_views": "Video views",
    "playback_start": "Started",
    "playback25": "Reached 25 %",
    "playback50": "Reached 50 %",
    "playback75": "Reached 75 %",
    "playback_complete": "Completed",
    "watch_time_ms": "Watch time (ms)",
}
PLAYBACK_STAGES: Final = (
    "playback_start",
    "playback25",
    "playback50",
    "playback75",
    "playback_complete",
)
WATCH_TIME_METRIC: Final = "watch_time_ms"
WATCH_HOURS: Final = "watch_hours"
STAGE: Final = "stage"
X_AXIS: Final = "x"
_COLOURS: Final = list(MARK_COLOURS)
_TRANSPARENT: Final = "rgba(0,0,0,0)"
_GRANULARITY_WORDS: Final = {"hourly": "per hour", "daily": "per day", "weekly": "per week"}


def metric_label(metric: str) -> str:
    """``Impressions`` for ``impressions``; an unknown name with its underscores spaced."""
    return ANALYTICS_LABELS.get(metric, metric.replace("_", " ").capitalize())


def _layout(fig: go.Figure, *, title: str, height: int = 420) -> go.Figure:
    return fig.update_layout(
        title={"text": title},
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        legend={"title": {"text": ""}, "orientation": "h", "y": -0.2, "x": 0},
        margin={"t": 60, "r": 20, "b": 40, "l": 60},
        height=height,
        template=None,
    )


def _granularity(frame: pd.DataFrame) -> str:
    if GRANULARITY not in frame:
        return ""
    values = frame[GRANULARITY].dropna().astype(str).unique().tolist()
    return str(values[0]) if values else ""


def _of_metric(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    return frame.loc[frame[METRIC].astype(str).eq(metric)]


# -- growth curves ------------------------------------------------------------------------------


def growth_curve_data(
    frame: pd.DataFrame, *, metric: str = "impressions", since_posting: bool = False
) -> pd.DataFrame:
    """The rows :func:`growth_curve_figure` plots: ``post_id`` (or ``media_key``), ``x``
    (``timestamp``, or ``hours_since_posting`` with ``since_posting``), ``cumulative``,
    ``value``, ``cumulative_complete``; ordered by key, then x. Missing buckets stay (gaps)."""
    key = POST_ID if POST_ID in frame else MEDIA_KEY
    x = HOURS_SINCE_POSTING if since_posting else TIMESTAMP
    columns = [key, x, CUMULATIVE, VALUE, CUMULATIVE_COMPLETE]
    data = _of_metric(frame, metric)
    if since_posting:
        data = data.loc[data[HOURS_SINCE_POSTING].notna()]
    return (
        data.reindex(columns=columns)
        .rename(columns={x: X_AXIS})
        .assign(**{key: lambda d: d[key].astype(str)})
        .reset_index(drop=True)
    )


def growth_curve_figure(
    frame: pd.DataFrame, *, metric: str = "impressions", since_posting: bool = False
) -> go.Figure:
    """Cumulative ``metric`` per Post (one line each, markers on the buckets) from the start of
    the span, or on "hours since posting" so Posts of different ages compare. A running sum
    that has passed a missing bucket is drawn dashed (it undercounts)."""
    title = f"{metric_label(metric)} over time (X analytics, cumulative)"
    data = growth_curve_data(frame, metric=metric, since_posting=since_posting)
    if data.empty:
        return no_data_figure(title)
    key = data.columns[0]
    fig = px.line(
        data,
        x=X_AXIS,
        y=CUMULATIVE,
        color=key,
        markers=True,
        color_discrete_sequence=_COLOURS,
        hover_data={VALUE: ":,", CUMULATIVE: ":,", key: True, X_AXIS: True},
        labels={
            X_AXIS: "Hours since posting" if since_posting else "Time (UTC)",
            CUMULATIVE: metric_label(metric),
            VALUE: "in this bucket",
            key: "Post" if key == POST_ID else "Video",
        },
    )
    incomplete = set(data.loc[data[CUMULATIVE_COMPLETE].eq(False).fillna(False), key])
    for trace in fig.data:
        if trace.name in incomplete:
            trace.line.dash = "dash"
    fig.update_yaxes(rangemode="tozero", tickformat="~s")
    return _layout(fig, title=title)


# -- buckets ------------------------------------------------------------------------------------


def bucket_data(frame: pd.DataFrame, *, metric: str = "impressions") -> pd.DataFrame:
    """The rows :func:`bucket_figure` plots: ``timestamp``, ``post_id`` (or ``media_key``),
    ``value``; ordered by key, then time."""
    key = POST_ID if POST_ID in frame else MEDIA_KEY
    return (
        _of_metric(frame, metric)
        .reindex(columns=[TIMESTAMP, key, VALUE])
        .assign(**{key: lambda d: d[key].astype(str)})
        .reset_index(drop=True)
    )


def bucket_figure(frame: pd.DataFrame, *, metric: str = "impressions") -> go.Figure:
    """``metric`` in each bucket (per hour, day or week), stacked per Post: the bars' height is
    the account's count for the bucket, each colour one Post's share."""
    per = _GRANULARITY_WORDS.get(_granularity(frame), "per bucket")
    title = f"{metric_label(metric)} {per} (X analytics)"
    data = bucket_data(frame, metric=metric)
    if data.empty:
        return no_data_figure(title)
    key = data.columns[1]
    fig = px.bar(
        data,
        x=TIMESTAMP,
        y=VALUE,
        color=key,
        color_discrete_sequence=_COLOURS,
        hover_data={VALUE: ":,"},
        labels={
            TIMESTAMP: "Bucket start (UTC)",
            VALUE: metric_label(metric),
            key: "Post" if key == POST_ID else "Video",
        },
    )
    fig.update_layout(barmode="relative", bargap=0.1)
    fig.update_yaxes(rangemode="tozero", tickformat="~s")
    return _layout(fig, title=title)


# -- video ---------------------------------------------------------------------------------------


def watch_time_data(media: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`watch_time_figure` plots: ``timestamp``, ``media_key``, ``value``
    (milliseconds), ``watch_hours`` (= ms / 3,600,000; missing stays missing)."""
    return bucket_data(media, metric=WATCH_TIME_METRIC).assign(
        **{WATCH_HOURS: lambda d: d[VALUE].astype("Float64") / 3_600_000}
    )


def watch_time_figure(media: pd.DataFrame) -> go.Figure:
    """Hours of video watched per bucket, one colour per video (stacked)."""
    per = _GRANULARITY_WORDS.get(_granularity(media), "per bucket")
    title = f"Watch time {per} (X media analytics)"
    data = watch_time_data(media)
    if data.empty:
        return no_data_figure(title)
    fig = px.bar(
        data,
        x=TIMESTAMP,
        y=WATCH_HOURS,
        color=MEDIA_KEY,
        color_discrete_sequence=_COLOURS,
        hover_data={VALUE: ":,", WATCH_HOURS: ":.2f"},
        labels={
            TIMESTAMP: "Bucket start (UTC)",
            WATCH_HOURS: "Hours watched",
            VALUE: "milliseconds",
            MEDIA_KEY: "Video",
        },
    )
    fig.update_layout(barmode="relative", bargap=0.1)
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, title=title)


def playback_data(media: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`playback_figure` plots: ``media_key``, ``stage`` (start, 25 %, …,
    complete, in that order), ``metric``, ``value`` = the stage's plays summed over the span
    (``<NA>`` when every bucket of it is missing)."""
    data = media.loc[media[METRIC].astype(str).isin(PLAYBACK_STAGES)]
    if data.empty:
        return pd.DataFrame(
            {
                MEDIA_KEY: pd.Series([], dtype="str"),
                STAGE: pd.Series([], dtype="str"),
                METRIC: pd.Series([], dtype="str"),
                VALUE: pd.Series([], dtype="Int64"),
            }
        )
    totals = (
        data.assign(**{MEDIA_KEY: data[MEDIA_KEY].astype(str), METRIC: data[METRIC].astype(str)})
        .groupby([MEDIA_KEY, METRIC], sort=False)[VALUE]
        .sum(min_count=1)
        .astype("Int64")
        .reset_index()
    )
    order = {stage: index for index, stage in enumerate(PLAYBACK_STAGES)}
    keys = {key: index for index, key in enumerate(dict.fromkeys(totals[MEDIA_KEY]))}
    return (
        totals.assign(
            **{STAGE: totals[METRIC].map(metric_label).astype("str")},
            _k=totals[MEDIA_KEY].map(keys),
            _s=totals[METRIC].map(order),
        )
        .sort_values(["_k", "_s"], kind="stable")
        .reindex(columns=[MEDIA_KEY, STAGE, METRIC, VALUE])
        .reset_index(drop=True)
    )


def playback_figure(media: pd.DataFrame) -> go.Figure:
    """Plays reaching each stage over the span, grouped bars per video: where viewers stop."""
    title = "Plays reaching each stage (X media analytics)"
    data = playback_data(media)
    if data.empty:
        return no_data_figure(title)
    fig = px.bar(
        data,
        x=STAGE,
        y=VALUE,
        color=MEDIA_KEY,
        barmode="group",
        color_discrete_sequence=_COLOURS,
        category_orders={STAGE: [metric_label(s) for s in PLAYBACK_STAGES]},
        hover_data={VALUE: ":,"},
        labels={STAGE: "Stage of the video", VALUE: "Plays", MEDIA_KEY: "Video"},
    )
    fig.update_yaxes(rangemode="tozero", tickformat="~s")
    return _layout(fig, title=title)
