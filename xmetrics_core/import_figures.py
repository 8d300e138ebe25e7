"""Figures the Import page adds to the Posts page's: best time to post and the daily trend.

As in :mod:`xmetrics_core.figures`: each builder returns a ``go.Figure`` and never calls
streamlit, each has a ``*_data`` companion giving exactly the rows it draws (the chart's CSV),
plotly express over tidy (long) frames, Okabe-Ito colours, transparent backgrounds and no
template (the page's theme applies), and no rows give a "No data" figure.

* :func:`best_time_frame`: weekday × hour of the Posts (in a time zone) with the median
  engagement rate and how many Posts each cell holds: the same columns as the history
  store's ``Store.best_time``, so one figure draws both; :func:`best_time_figure` draws it
  as a punch card (dot size = Posts, colour = median rate).
* :func:`daily_trend_figure`: per-day exports' impressions, engagements, follows and
  unfollows, each day's value and its 7-day rolling mean, one panel per metric (their
  sizes differ by orders of magnitude).
* :func:`daily_split_figure`: legacy per-day exports' organic and promoted sides, stacked
  per day (impressions, engagements).
* :func:`import_chart_exports`: every chart's data for the zip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Final

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from xmetrics_core import figures
from xmetrics_core.frames import CREATED_AT, ENGAGEMENT_RATE, POST_URL, split_long_frame
from xmetrics_core.imports.formats import DATE, ExportFormat
from xmetrics_core.imports.reader import ImportedExport
from xmetrics_core.imports.tables import ROLLING_MEAN_7D

WEEKDAY: Final = "weekday"
HOUR: Final = "hour"
POSTS: Final = "posts"
MEDIAN_ENGAGEMENT_RATE: Final = "median_engagement_rate"
MEDIAN_ENGAGEMENT_RATE_PCT: Final = "median_engagement_rate_pct"
WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_DTYPE: Final = pd.CategoricalDtype(list(WEEKDAYS), ordered=True)
BEST_TIME_COLUMNS: Final = (WEEKDAY, HOUR, MEDIAN_ENGAGEMENT_RATE, POSTS)

SERIES: Final = "series"
DAILY: Final = "daily"
MEAN_7D: Final = "7-day mean"
METRIC: Final = "metric"
LABEL: Final = "label"
VALUE: Final = "value"

_BEST_TIME_TITLE: Final = "Best time to post"
_TREND_TITLE: Final = "Daily trend"


# -- best time to post --------------------------------------------------------------------------


def best_time_frame(posts: pd.DataFrame, *, tz: tzinfo = UTC) -> pd.DataFrame:
    """Weekday × hour (in ``tz``) of the Posts' creation: the median engagement rate and the
    number of Posts of each cell; always 7 × 24 rows, Monday 0 h first (an empty cell has
    ``posts`` 0 and a NaN rate). Input: :func:`xmetrics_core.frames.posts_frame` (Posts
    without a time are left out; a Post without a rate counts in ``posts``)."""
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["_day", HOUR])
    timed = posts.loc[posts[CREATED_AT].notna()]
    local = pd.Series(
        pd.DatetimeIndex(pd.to_datetime(timed[CREATED_AT], utc=True)).tz_convert(tz),
        index=timed.index,
    )
    cells = (
        pd.DataFrame(
            {
                "_day": local.dt.day_of_week.astype("int64"),
                HOUR: local.dt.hour.astype("int64"),
                ENGAGEMENT_RATE: timed[ENGAGEMENT_RATE].astype("float64"),
            }
        )
        .groupby(["_day", HOUR])
        .agg(
            **{
                MEDIAN_ENGAGEMENT_RATE: (ENGAGEMENT_RATE, "median"),
                POSTS: (ENGAGEMENT_RATE, "size"),
            }
        )
        .reindex(grid)
        .reset_index()
    )
    weekday = pd.Categorical.from_codes(cells["_day"].to_numpy(), dtype=_WEEKDAY_DTYPE)
    return pd.DataFrame(
        {
            WEEKDAY: weekday,
            HOUR: cells[HOUR].astype("int64"),
            MEDIAN_ENGAGEMENT_RATE: cells[MEDIAN_ENGAGEMENT_RATE].astype("float64"),
            POSTS: cells[POSTS].fillna(0).astype("int64"),
        }
    )


def best_time_data(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells :func:`best_time_figure` draws: those with Posts, Monday first, with the
    median rate in percent. Input: :func:`best_time_frame` (or ``Store.best_time``)."""
    drawn = cells.loc[cells[POSTS].gt(0)]
    return (
        drawn.assign(
            **{MEDIAN_ENGAGEMENT_RATE_PCT: drawn[MEDIAN_ENGAGEMENT_RATE].astype("float64") * 100}
        )
        .reindex(columns=[WEEKDAY, HOUR, POSTS, MEDIAN_ENGAGEMENT_RATE_PCT])
        .sort_values([WEEKDAY, HOUR], kind="stable")
        .reset_index(drop=True)
    )


def best_time_figure(cells: pd.DataFrame, *, zone_label: str = "UTC") -> go.Figure:
    """A punch card: one dot per weekday × hour with Posts, its size the number of Posts,
    its colour the median engagement rate (grey: no rate, e.g. no impressions)."""
    data = best_time_data(cells)
    if data.empty:
        return figures.no_data_figure(_BEST_TIME_TITLE)
    plotted = data.assign(**{WEEKDAY: data[WEEKDAY].astype(str)})
    fig = px.scatter(
        plotted,
        x=HOUR,
        y=WEEKDAY,
        size=POSTS,
        color=MEDIAN_ENGAGEMENT_RATE_PCT,
        color_continuous_scale="Viridis",
        size_max=28,
        category_orders={WEEKDAY: list(WEEKDAYS)},
        custom_data=[POSTS, MEDIAN_ENGAGEMENT_RATE_PCT],
        labels={
            HOUR: f"Hour of the day ({zone_label})",
            WEEKDAY: "",
            MEDIAN_ENGAGEMENT_RATE_PCT: "Median rate (%)",
        },
    )
    fig.update_traces(
        marker={"line": {"color": figures.OUTLINE_COLOUR, "width": 1}},
        hovertemplate=(
            "%{y} %{x}:00<br>%{customdata[0]:,} Post(s)<br>median engagement rate "
            "%{customdata[1]:.2f}%<extra></extra>"
        ),
    )
    fig.update_xaxes(range=[-0.5, 23.5], dtick=3)
    fig.update_yaxes(  # every weekday on the axis, Monday at the top, days without Posts too
        categoryorder="array", categoryarray=list(WEEKDAYS), range=[6.5, -0.5], type="category"
    )
    figures._base_layout(
        fig,
        title=_BEST_TIME_TITLE,
        subtitle=f"When the Posts went out ({zone_label}): dot size = Posts, colour = median "
        "engagement rate",
    )
    return fig.update_layout(height=380, margin={"t": 90})


# -- daily trend --------------------------------------------------------------------------------


def daily_trend_data(trend: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`daily_trend_figure` draws: ``date, metric, label, series`` (``daily``
    or ``7-day mean``), ``value``; the daily values first, then the means, each by metric
    and date; days without a value left out. Input: ``imports.daily_trend_frame``."""
    columns = [DATE, METRIC, LABEL, SERIES, VALUE]
    if trend.empty:
        return pd.DataFrame(columns=columns)
    daily = trend.loc[trend[VALUE].notna(), [DATE, METRIC, LABEL, VALUE]].assign(**{SERIES: DAILY})
    mean = (
        trend.loc[trend[ROLLING_MEAN_7D].notna(), [DATE, METRIC, LABEL, ROLLING_MEAN_7D]]
        .rename(columns={ROLLING_MEAN_7D: VALUE})
        .assign(**{SERIES: MEAN_7D})
    )
    return (
        pd.concat([daily, mean], ignore_index=True)
        .astype({VALUE: "float64"})
        .reindex(columns=columns)
        .reset_index(drop=True)
    )


def daily_trend_figure(trend: pd.DataFrame) -> go.Figure:
    """Each metric's value per day (thin line with dots) and its 7-day rolling mean (thick),
    one panel per metric with its own y axis. Input: ``imports.daily_trend_frame``."""
    data = daily_trend_data(trend)
    if data.empty:
        return figures.no_data_figure(_TREND_TITLE)
    labels = list(dict.fromkeys(str(v) for v in data[LABEL]))
    fig = px.line(
        data,
        x=DATE,
        y=VALUE,
        color=SERIES,
        facet_row=LABEL,
        category_orders={LABEL: labels, SERIES: [DAILY, MEAN_7D]},
        color_discrete_map={DAILY: figures.OKABE_ITO["sky_blue"], MEAN_7D: figures.RATE_COLOUR},
        markers=True,
        labels={DATE: "", VALUE: "", SERIES: ""},
        custom_data=[LABEL, SERIES],
    )
    fig.update_traces(
        hovertemplate="%{x|%a %-d %b %Y}<br>%{customdata[0]} (%{customdata[1]}): "
        "%{y:,.1f}<extra></extra>"
    )
    for trace in fig.data:
        if trace.name == MEAN_7D:
            trace.update(line={"width": 3}, marker={"size": 1})
        else:
            trace.update(line={"width": 1}, marker={"size": 4})
    fig.update_yaxes(matches=None, rangemode="tozero", title_text="")
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    figures._base_layout(
        fig,
        title=_TREND_TITLE,
        subtitle="Each day's value and the mean of the 7 days ending that day",
    )
    return fig.update_layout(
        height=170 * len(labels) + 120,
        margin={"t": 110},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    )


# -- organic vs promoted per day (legacy per-day exports) ---------------------------------------

CONTEXT: Final = "context"
#: What the per-day split shows: (metric, organic column, promoted column, label).
DAILY_SPLIT_METRICS: Final = (
    (
        "impressions",
        "organic_metrics.impression_count",
        "promoted_metrics.impression_count",
        "Impressions",
    ),
    ("engagements", "export.organic engagements", "export.promoted engagements", "Engagements"),
)
_DAILY_SPLIT_TITLE: Final = "Organic vs promoted, per day"


def daily_split_data(imports: Sequence[ImportedExport]) -> pd.DataFrame:
    """The legacy per-day exports' two sides, day by day: ``date, metric, label, context``
    (``organic`` | ``promoted``), ``value``; a day in several files from the file that ends
    last; a side the file leaves empty (``-``: never promoted) has no row, never 0. Oldest
    day first, organic before promoted. Other formats have no sides and add nothing."""
    columns = [DATE, METRIC, LABEL, CONTEXT, VALUE]
    parts = []
    for imported in imports:
        if imported.format is not ExportFormat.LEGACY_DAYS:
            continue
        table = imported.table
        for metric, organic, promoted, label in DAILY_SPLIT_METRICS:
            for context, column in (("organic", organic), ("promoted", promoted)):
                if column not in table:
                    continue
                parts.append(
                    pd.DataFrame(
                        {
                            DATE: table[DATE],
                            METRIC: metric,
                            LABEL: label,
                            CONTEXT: context,
                            VALUE: table[column].astype("Float64"),
                            "_snapshot": imported.snapshot_at,
                        }
                    )
                )
    if not parts:
        return pd.DataFrame(columns=columns)
    rows = pd.concat(parts, ignore_index=True)
    rows = rows.sort_values("_snapshot", kind="stable").drop_duplicates(
        [DATE, METRIC, CONTEXT], keep="last"
    )
    rows = rows.loc[rows[VALUE].notna()]
    order = {m: n for n, (m, *_rest) in enumerate(DAILY_SPLIT_METRICS)}
    return (
        rows.assign(
            _metric=rows[METRIC].map(order), _context=rows[CONTEXT].eq("promoted").astype(int)
        )
        .sort_values(["_metric", "_context", DATE], kind="stable")
        .astype({VALUE: "int64"})
        .reindex(columns=columns)
        .reset_index(drop=True)
    )


def daily_split_figure(data: pd.DataFrame) -> go.Figure:
    """Organic and promoted stacked per day, one panel per metric with its own y axis.
    Input: :func:`daily_split_data` (what it draws)."""
    if data.empty:
        return figures.no_data_figure(_DAILY_SPLIT_TITLE)
    labels = list(dict.fromkeys(str(v) for v in data[LABEL]))
    named = data.assign(**{CONTEXT: data[CONTEXT].map(figures.CONTEXT_NAMES)})
    fig = px.bar(
        named,
        x=DATE,
        y=VALUE,
        color=CONTEXT,
        facet_row=LABEL,
        barmode="stack",
        category_orders={LABEL: labels, CONTEXT: ["Organic", "Promoted"]},
        color_discrete_map={
            figures.CONTEXT_NAMES[c]: figures.CONTEXT_COLOURS[c] for c in ("organic", "promoted")
        },
        labels={DATE: "", VALUE: "", CONTEXT: ""},
        custom_data=[LABEL, CONTEXT],
    )
    fig.update_traces(
        hovertemplate="%{x|%a %-d %b %Y}<br>%{customdata[0]} (%{customdata[1]}): "
        "%{y:,}<extra></extra>"
    )
    fig.update_yaxes(matches=None, rangemode="tozero", title_text="")
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    figures._base_layout(
        fig,
        title=_DAILY_SPLIT_TITLE,
        subtitle="Legacy per-day exports: the unprefixed columns organic, 'promoted …' promoted",
    )
    return fig.update_layout(
        height=200 * len(labels) + 120,
        margin={"t": 110},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    )


# -- everything for the zip ---------------------------------------------------------------------


def import_chart_exports(
    frames: Mapping[str, pd.DataFrame],
    *,
    trend: pd.DataFrame,
    daily_split: pd.DataFrame | None = None,
    post_labels: Mapping[str, str] | None = None,
    tz: tzinfo = UTC,
) -> dict[str, pd.DataFrame]:
    """The data of every chart the Import page draws, by export name (what each chart's CSV
    button gives): ``organic_vs_promoted``, ``organic_vs_promoted_per_post`` (legacy
    per-Post exports), ``engagement_rate``, ``best_time`` (per-Post exports),
    ``daily_trend`` (per-day exports) and ``daily_organic_vs_promoted`` (legacy per-day
    exports); a chart without rows is left out. Input: ``frames.all_frames`` of the
    imported Posts, ``imports.daily_trend_frame`` and :func:`daily_split_data`."""
    out: dict[str, pd.DataFrame] = {}
    posts = frames["posts"]
    if not posts.empty and posts[POST_URL].notna().any():
        if not frames["split_all_posts"].empty:
            out["organic_vs_promoted"] = figures.organic_vs_promoted_data(
                split_long_frame(frames["split_all_posts"])
            )
            out["organic_vs_promoted_per_post"] = figures.organic_vs_promoted_data(
                split_long_frame(frames["split_per_post"]), post_labels=post_labels
            )
        out["engagement_rate"] = figures.engagement_rate_data(
            figures.highest_rated_posts(posts), post_labels=post_labels
        )
        out["best_time"] = best_time_data(best_time_frame(posts, tz=tz))
    if not trend.empty:
        out["daily_trend"] = daily_trend_data(trend)
    if daily_split is not None and not daily_split.empty:
        out["daily_organic_vs_promoted"] = daily_split
    return out
