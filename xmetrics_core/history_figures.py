"""The History page's figures: plotly express over the store's tidy history frames.

Each figure has a ``*_data`` companion that returns exactly the rows it plots (the chart's
CSV); each builder returns a ``go.Figure`` and never calls streamlit; an empty frame gives
:func:`xmetrics_core.figures.no_data_figure`. Inputs are the frames of
:class:`xmetrics_core.store.Store` (``growth``, ``values_at_ages``, ``baseline``,
``best_time``, ``retention``) and ``latest`` for naming Posts.

* **Growth**: a metric on "hours since posting", one colour per Post, one dash per context
  (total, organic, promoted), so Posts published at different times compare.
* **Value at an age** (1 h, 6 h, 24 h, 48 h, 7 d): bars per Post; a value read between two
  snapshots is hatched and its ``value_kind`` is ``interpolated`` in the CSV.
* **× normal**: each Post at each age divided by the median (or trimmed mean) of the
  author's other Posts at that age; the dashed line at 1 is "normal".
* **Best time to post**: weekday × hour in the user's time zone, the colour the median
  engagement rate, the number in each cell how many Posts it holds.
* **Retention over time**: one video's share of starters reaching 25/50/75/100 % at every
  snapshot, on hours since its first Post.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Final

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from xmetrics_core.figures import CONTEXT_NAMES, MARK_COLOURS, POST_LABEL, no_data_figure
from xmetrics_core.frames import (
    CONTEXT,
    CREATED_AT,
    ID,
    LABEL,
    MEDIA_KEY,
    POST_ID,
    POST_IDS,
    QUARTILE,
    RETENTION,
    TEXT,
    VALUE,
    VIEWERS,
)
from xmetrics_core.labels import post_label
from xmetrics_core.store.history import (
    AGE,
    AGE_HOURS,
    BASELINE,
    FETCHED_AT,
    GAP_HOURS,
    HOUR,
    HOURS,
    INTERPOLATED,
    MEDIAN_ENGAGEMENT_RATE,
    OTHERS,
    POSTS,
    TIMES_NORMAL,
    WEEKDAY,
    WEEKDAYS,
)

VALUE_KIND: Final = "value_kind"
"""``snapshot`` (read at that age), ``interpolated`` (between two snapshots) or ``missing``."""
SNAPSHOT: Final = "snapshot"
INTERPOLATED_KIND: Final = "interpolated"
MISSING: Final = "missing"
RETENTION_PCT: Final = "retention_pct"
MEDIAN_ENGAGEMENT_RATE_PCT: Final = "median_engagement_rate_pct"
QUARTILE_LABEL: Final = "reached"
CONTEXT_NAME: Final = "context_name"
CHART_LABEL_CHARS: Final = 24
#: Colours for Posts, in the order chosen (3:1 on both themes' backgrounds; the context
#: colours stay the figures').
POST_COLOURS: Final = MARK_COLOURS
#: A sequential scale readable on light and dark backgrounds, colour-blind safe.
HEATMAP_SCALE: Final = "Viridis"

GROWTH_TITLE: Final = "Growth since posting"
AGES_TITLE: Final = "Value at an age"
BASELINE_TITLE: Final = "Against the account's normal"
BEST_TIME_TITLE: Final = "Best time to post"
RETENTION_TITLE: Final = "Video retention over time"


def _layout(fig: go.Figure, *, title: str, subtitle: str | None = None) -> go.Figure:
    """Transparent backgrounds and no template (the page's theme applies), the legend above."""
    spec: dict[str, object] = {"text": title}
    if subtitle:
        spec["subtitle"] = {"text": subtitle}
    return fig.update_layout(
        title=spec,
        template=None,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"title": {"text": ""}, "orientation": "h", "y": -0.2, "x": 0},
        margin={"t": 80 if subtitle else 60, "r": 20, "b": 40, "l": 60},
        hovermode="closest",
    )


def history_post_labels(latest: pd.DataFrame, *, tz: tzinfo = UTC) -> dict[str, str]:
    """Post ID → ``"3 Mar · Start of the text…"`` (date in ``tz``), unique, from the store's
    ``latest`` frame (``id``, ``text``, ``created_at``)."""
    labels: dict[str, str] = {}
    used: set[str] = set()
    for post_id, text, created in zip(latest[ID], latest[TEXT], latest[CREATED_AT], strict=True):
        key = str(post_id)
        if key in labels:
            continue
        label = post_label(
            None if pd.isna(text) else str(text),
            None if pd.isna(created) else created.to_pydatetime(),
            post_id=key,
            tz=tz,
            limit=CHART_LABEL_CHARS,
            date_format="%-d %b",
        )
        if label in used:
            label = f"{label} (…{key[-4:]})"
        used.add(label)
        labels[key] = label
    return labels


def _labelled(frame: pd.DataFrame, post_labels: Mapping[str, str]) -> pd.Series:
    return frame[POST_ID].astype(str).map(lambda pid: post_labels.get(pid, f"Post {pid}"))


def _colours(labels: Sequence[str]) -> dict[str, str]:
    return {label: POST_COLOURS[n % len(POST_COLOURS)] for n, label in enumerate(labels)}


# -- growth ----------------------------------------------------------------------------------------


def growth_data(growth: pd.DataFrame, *, post_labels: Mapping[str, str]) -> pd.DataFrame:
    """The growth chart's rows: ``post_id, post_label, context, context_name, label,
    hours_since_posting, fetched_at, value`` (Post, context, then time)."""
    return pd.DataFrame(
        {
            POST_ID: growth[POST_ID].astype(str),
            POST_LABEL: _labelled(growth, post_labels),
            CONTEXT: growth[CONTEXT].astype(str),
            CONTEXT_NAME: growth[CONTEXT].astype(str).map(CONTEXT_NAMES),
            LABEL: growth[LABEL].astype(str),
            HOURS: growth[HOURS].astype(float).round(3),
            FETCHED_AT: growth[FETCHED_AT],
            VALUE: growth[VALUE],
        }
    ).reset_index(drop=True)


def growth_figure(growth: pd.DataFrame, *, post_labels: Mapping[str, str]) -> go.Figure:
    """One line per Post and context over hours since posting, a marker per snapshot."""
    data = growth_data(growth, post_labels=post_labels)
    if data.empty:
        return no_data_figure(GROWTH_TITLE)
    order = list(dict.fromkeys(data[POST_LABEL]))
    fig = px.line(
        data.assign(
            **{
                VALUE: data[VALUE].astype("float64"),
                FETCHED_AT: data[FETCHED_AT].dt.strftime("%Y-%m-%d %H:%M UTC"),
            }
        ),
        x=HOURS,
        y=VALUE,
        color=POST_LABEL,
        line_dash=CONTEXT_NAME,
        markers=True,
        color_discrete_map=_colours(order),
        category_orders={POST_LABEL: order},
        hover_data={FETCHED_AT: True, POST_ID: True},
        labels={HOURS: "Hours since posting", VALUE: str(data[LABEL].iloc[0])},
    )
    fig.update_traces(marker={"size": 4})
    return _layout(fig, title=GROWTH_TITLE, subtitle="One point per snapshot kept in the history")


# -- the value at an age ----------------------------------------------------------------------------


def ages_data(at_ages: pd.DataFrame, *, post_labels: Mapping[str, str]) -> pd.DataFrame:
    """The ages chart's rows: ``post_id, post_label, age, age_hours, value, value_kind,
    gap_hours`` (``value_kind``: snapshot, interpolated or missing)."""
    interpolated = at_ages[INTERPOLATED].astype("boolean").fillna(False).astype(bool)
    missing = at_ages[VALUE].isna()
    kind = (
        pd.Series(SNAPSHOT, index=at_ages.index, dtype=object)
        .mask(interpolated, INTERPOLATED_KIND)
        .mask(missing, MISSING)
    )
    return pd.DataFrame(
        {
            POST_ID: at_ages[POST_ID].astype(str),
            POST_LABEL: _labelled(at_ages, post_labels),
            AGE: at_ages[AGE].astype(str),
            AGE_HOURS: at_ages[AGE_HOURS].astype(float),
            VALUE: at_ages[VALUE].astype(float).round(1),
            VALUE_KIND: kind.astype(str),
            GAP_HOURS: at_ages[GAP_HOURS].astype(float).round(3),
        }
    ).reset_index(drop=True)


def ages_figure(
    at_ages: pd.DataFrame, *, post_labels: Mapping[str, str], metric_label: str
) -> go.Figure:
    """Bars per age and Post; interpolated values hatched (and named so in the hover)."""
    data = ages_data(at_ages, post_labels=post_labels)
    drawn = data.loc[data[VALUE_KIND].ne(MISSING)]
    if drawn.empty:
        return no_data_figure(AGES_TITLE)
    order = list(dict.fromkeys(data[POST_LABEL]))
    fig = px.bar(
        drawn,
        x=AGE,
        y=VALUE,
        color=POST_LABEL,
        pattern_shape=VALUE_KIND,
        pattern_shape_map={SNAPSHOT: "", INTERPOLATED_KIND: "/"},
        barmode="group",
        color_discrete_map=_colours(order),
        category_orders={AGE: list(dict.fromkeys(data[AGE])), POST_LABEL: order},
        hover_data={VALUE_KIND: True, GAP_HOURS: True},
        labels={AGE: "Age", VALUE: metric_label, VALUE_KIND: "Read"},
    )
    return _layout(
        fig,
        title=AGES_TITLE,
        subtitle="Hatched: interpolated between the snapshots on either side",
    )


# -- against the account's normal ------------------------------------------------------------------


def baseline_data(baseline: pd.DataFrame, *, post_labels: Mapping[str, str]) -> pd.DataFrame:
    """The "× normal" chart's rows: ``post_id, post_label, age, value, value_kind,
    baseline, times_normal, others``."""
    kinds = ages_data(baseline, post_labels=post_labels)
    return pd.DataFrame(
        {
            POST_ID: kinds[POST_ID],
            POST_LABEL: kinds[POST_LABEL],
            AGE: kinds[AGE],
            VALUE: kinds[VALUE],
            VALUE_KIND: kinds[VALUE_KIND],
            BASELINE: baseline[BASELINE].astype(float).round(1).to_numpy(),
            TIMES_NORMAL: baseline[TIMES_NORMAL].astype(float).round(3).to_numpy(),
            OTHERS: baseline[OTHERS].astype("int64").to_numpy(),
        }
    )


def baseline_figure(
    baseline: pd.DataFrame, *, post_labels: Mapping[str, str], method: str
) -> go.Figure:
    """Each Post's value ÷ the author's normal at the same age; a dashed line at 1 × normal."""
    data = baseline_data(baseline, post_labels=post_labels)
    drawn = data.loc[data[TIMES_NORMAL].notna()]
    if drawn.empty:
        return no_data_figure(BASELINE_TITLE)
    order = list(dict.fromkeys(data[POST_LABEL]))
    fig = px.bar(
        drawn,
        x=AGE,
        y=TIMES_NORMAL,
        color=POST_LABEL,
        barmode="group",
        color_discrete_map=_colours(order),
        category_orders={AGE: list(dict.fromkeys(data[AGE])), POST_LABEL: order},
        hover_data={VALUE: True, BASELINE: True, OTHERS: True, VALUE_KIND: True},
        labels={AGE: "Age", TIMES_NORMAL: "× normal"},
    )
    fig.add_hline(y=1.0, line_dash="dash", annotation_text="normal", annotation_position="top left")
    what = "median" if method == "median" else "trimmed mean"
    return _layout(
        fig,
        title=BASELINE_TITLE,
        subtitle=f"1 = the {what} of the account's other Posts at the same age",
    )


# -- best time to post ------------------------------------------------------------------------------


def best_time_data(best_time: pd.DataFrame) -> pd.DataFrame:
    """The heatmap's cells: ``weekday, hour, median_engagement_rate,
    median_engagement_rate_pct, posts`` (7 × 24 rows, Monday 0 h first)."""
    rate = best_time[MEDIAN_ENGAGEMENT_RATE].astype(float)
    return pd.DataFrame(
        {
            WEEKDAY: best_time[WEEKDAY].astype(str),
            HOUR: best_time[HOUR].astype("int64"),
            MEDIAN_ENGAGEMENT_RATE: rate.round(6),
            MEDIAN_ENGAGEMENT_RATE_PCT: (rate * 100).round(2),
            POSTS: best_time[POSTS].astype("int64"),
        }
    ).reset_index(drop=True)


def best_time_figure(best_time: pd.DataFrame, *, zone: str) -> go.Figure:
    """Weekday × hour (in ``zone``): colour = median engagement rate, text = Posts."""
    data = best_time_data(best_time)
    if data.empty or int(data[POSTS].sum()) == 0:
        return no_data_figure(BEST_TIME_TITLE)
    rates = data.pivot(index=WEEKDAY, columns=HOUR, values=MEDIAN_ENGAGEMENT_RATE_PCT).reindex(
        list(WEEKDAYS)
    )
    counts = data.pivot(index=WEEKDAY, columns=HOUR, values=POSTS).reindex(list(WEEKDAYS))
    fig = px.imshow(
        rates,
        color_continuous_scale=HEATMAP_SCALE,
        aspect="auto",
        labels={"x": f"Hour posted ({zone})", "y": "", "color": "Median rate %"},
    )
    text = counts.map(lambda n: str(int(n)) if n else "")
    fig.update_traces(
        text=text.to_numpy(),
        texttemplate="%{text}",
        customdata=counts.to_numpy(),
        hovertemplate="%{y} %{x}:00 · median engagement rate %{z:.2f} % · "
        "%{customdata} Posts<extra></extra>",
    )
    fig.update_xaxes(dtick=2)
    return _layout(
        fig,
        title=BEST_TIME_TITLE,
        subtitle=f"Median engagement rate by when Posts went out ({zone}); "
        "the number is how many Posts",
    )


# -- video retention over time ---------------------------------------------------------------------


def retention_history_data(retention: pd.DataFrame, *, media_key: str) -> pd.DataFrame:
    """One video's retention at every snapshot: ``media_key, post_ids, fetched_at,
    hours_since_posting, context, quartile, reached, viewers, retention, retention_pct``
    (quartiles 25–100 %; 0 % is everyone who started)."""
    part = retention.loc[retention[MEDIA_KEY].astype(str).eq(media_key) & retention[QUARTILE].gt(0)]
    return pd.DataFrame(
        {
            MEDIA_KEY: part[MEDIA_KEY].astype(str),
            POST_IDS: part[POST_IDS].astype(str),
            FETCHED_AT: part[FETCHED_AT],
            HOURS: part[HOURS].astype(float).round(3),
            CONTEXT: part[CONTEXT].astype(str),
            QUARTILE: part[QUARTILE].astype("int64"),
            QUARTILE_LABEL: part[QUARTILE].map(lambda q: f"{int(q)} %"),
            VIEWERS: part[VIEWERS],
            RETENTION: part[RETENTION].astype(float).round(6),
            RETENTION_PCT: (part[RETENTION].astype(float) * 100).round(2),
        }
    ).reset_index(drop=True)


def retention_history_figure(retention: pd.DataFrame, *, media_key: str) -> go.Figure:
    """The share of starters reaching each quartile, at every snapshot of one video."""
    data = retention_history_data(retention, media_key=media_key)
    if data.empty:
        return no_data_figure(RETENTION_TITLE)
    order = list(dict.fromkeys(data.sort_values(QUARTILE)[QUARTILE_LABEL]))
    plotted = data.assign(
        **{
            FETCHED_AT: data[FETCHED_AT].dt.strftime("%Y-%m-%d %H:%M UTC"),
            VIEWERS: data[VIEWERS].astype("float64"),
        }
    )
    fig = px.line(
        plotted,
        x=HOURS,
        y=RETENTION_PCT,
        color=QUARTILE_LABEL,
        markers=True,
        color_discrete_sequence=list(POST_COLOURS),
        category_orders={QUARTILE_LABEL: order},
        hover_data={FETCHED_AT: True, VIEWERS: True},
        labels={
            HOURS: "Hours since the video was first posted",
            RETENTION_PCT: "% of starters",
            QUARTILE_LABEL: "Reached",
        },
    )
    fig.update_traces(marker={"size": 4})
    return _layout(
        fig,
        title=RETENTION_TITLE,
        subtitle="Share of the viewers who started it that reached 25, 50, 75 and 100 %",
    )


__all__ = [
    "CONTEXT_NAME",
    "MEDIAN_ENGAGEMENT_RATE_PCT",
    "QUARTILE_LABEL",
    "RETENTION_PCT",
    "VALUE_KIND",
    "ages_data",
    "ages_figure",
    "baseline_data",
    "baseline_figure",
    "best_time_data",
    "best_time_figure",
    "growth_data",
    "growth_figure",
    "history_post_labels",
    "retention_history_data",
    "retention_history_figure",
]
