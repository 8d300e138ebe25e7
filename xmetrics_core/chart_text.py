"""Text alternatives of the charts: one or two sentences saying what a chart shows.

A screen reader cannot read a plotly SVG, so every chart on every page gets a short summary
next to it (and its data table one click away: ``xmetrics_ui.views.chart_with_download``).
The summaries are computed here from the exact frame a chart draws (its ``*_data`` frame in
:mod:`xmetrics_core.figures`), never from streamlit: :func:`chart_summary` recognises the
dashboard's charts by their frame's columns and falls back to :func:`figure_summary`, which
describes any figure by its title, series and points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pandas as pd
import plotly.graph_objects as go

from xmetrics_core.catalogue import Context
from xmetrics_core.figures import (
    CONTEXT_NAMES,
    ENGAGEMENT_RATE_PCT,
    ENGAGEMENTS_KIND,
    POST_LABEL,
    RETENTION_PCT,
    STEP_DROPOFF_PCT,
    largest_drop,
)
from xmetrics_core.frames import (
    CONTEXT,
    ENGAGEMENTS,
    IMPRESSIONS,
    LABEL,
    MEDIA_KEY,
    METRIC,
    POST_ID,
    QUARTILE,
    SUM_MATCHES,
    VALUE,
    VIEWERS,
)

NO_DATA_SUMMARY: Final = "The chart has no data."
#: How many series a generic summary names before it says "and N more".
_NAMED_SERIES: Final = 4


def _pct(value: float) -> str:
    """``49.6 %``: one decimal, a space before the sign (as read aloud)."""
    return f"{value:.1f} %"


def _context(name: object) -> str:
    """``organic`` for the organic context, ``X's total`` for the total (lower case but X)."""
    label = CONTEXT_NAMES.get(str(name), str(name))
    return label if label.startswith("X") else label.lower()


def _has(frame: pd.DataFrame, columns: Sequence[str]) -> bool:
    return all(column in frame.columns for column in columns)


def _plain(text: object) -> str:
    return " ".join(str(text).split())


# -- the dashboard's charts --------------------------------------------------------------------


def retention_summary(data: pd.DataFrame) -> str:
    """From :func:`~xmetrics_core.figures.quartile_retention_data`: the largest drop
    between two quartiles and how many starters reached the end, per context.

    ``"Largest drop: 49.6 % of viewers lost between 0 % and 25 %, organic. Played to the
    end: 10.0 % of starters (X's total), 8.3 % (organic)."``"""
    if data.empty:
        return NO_DATA_SUMMARY
    several = data[MEDIA_KEY].astype(str).nunique() > 1
    parts: list[str] = []
    worst = largest_drop(data)
    if worst is not None:
        where = _context(worst[CONTEXT])
        if several:
            where = f"{where}, video {worst[MEDIA_KEY]}"
        reached = int(worst[QUARTILE])
        parts.append(
            f"Largest drop: {_pct(float(worst[STEP_DROPOFF_PCT]))} of viewers lost between "
            f"{reached - 25} % and {reached} %, {where}."
        )
    ends = data.loc[data[QUARTILE].eq(100) & data[RETENTION_PCT].notna()]
    if not ends.empty:
        shares = [
            f"{_pct(float(row[RETENTION_PCT]))} ({_context(row[CONTEXT])}"
            + (f", video {row[MEDIA_KEY]})" if several else ")")
            for _, row in ends.iterrows()
        ]
        parts.append(f"Played to the end: {', '.join(shares)} of starters.")
    return " ".join(parts) or "Retention per quartile; no quartile has starters to compare with."


def counts_summary(data: pd.DataFrame) -> str:
    """From :func:`~xmetrics_core.figures.quartile_counts_data`: viewers who started and
    who reached 100 %, per context (and video).

    ``"Viewers who started → played to the end: X's total 1,000 → 100; organic 600 → 50."``"""
    if data.empty:
        return NO_DATA_SUMMARY
    several = data[MEDIA_KEY].astype(str).nunique() > 1
    parts: list[str] = []
    for (media_key, context), part in data.groupby([MEDIA_KEY, CONTEXT], sort=False):
        by_quartile = dict(zip(part[QUARTILE].astype(int), part[VIEWERS], strict=True))
        start, end = by_quartile.get(0), by_quartile.get(100)
        counts = " → ".join("unknown" if pd.isna(v) else f"{int(v):,}" for v in (start, end))
        name = _context(context) + (f" (video {media_key})" if several else "")
        parts.append(f"{name} {counts}")
    return f"Viewers who started → played to the end: {'; '.join(parts)}."


def split_summary(data: pd.DataFrame) -> str:
    """From :func:`~xmetrics_core.figures.organic_vs_promoted_data`: organic and promoted
    against X's total for the first metric (impressions where there are), over the Posts
    drawn, and the metrics whose sum check fails.

    ``"Impressions over 2 Posts: 1,000 organic, 300 promoted, X's total 1,300. 6 metrics
    drawn."``"""
    if data.empty:
        return NO_DATA_SUMMARY
    metrics = list(dict.fromkeys(data[METRIC].astype(str)))
    first = "impression_count" if "impression_count" in metrics else metrics[0]
    rows = data.loc[data[METRIC].astype(str).eq(first)]
    label = _plain(rows[LABEL].iloc[0])
    sums = []
    for context in (Context.ORGANIC, Context.PROMOTED, Context.TOTAL):
        values = rows.loc[rows[CONTEXT].astype(str).eq(context.value), VALUE]
        if values.notna().any():
            total = f"{int(values.sum(skipna=True)):,}"
            sums.append(
                f"X's total {total}" if context is Context.TOTAL else f"{total} {context.value}"
            )
    posts = data[POST_ID].astype(str).nunique()
    scope = "over all Posts" if posts == 1 else f"over {posts} Posts"
    text = f"{label} {scope}: {', '.join(sums) or 'no values'}."
    if len(metrics) > 1:
        text += f" {len(metrics)} metrics drawn, one panel each."
    failed = data.loc[data[SUM_MATCHES].eq(False).fillna(False), LABEL].astype(str).unique()
    if len(failed):
        text += f" Organic + promoted ≠ X's total for {', '.join(failed[:4])}."
    return text


def engagement_rate_summary(data: pd.DataFrame) -> str:
    """From :func:`~xmetrics_core.figures.engagement_rate_data` (highest rate first): the
    highest and lowest rates and how many Posts of each kind.

    ``"4 Posts ranked. Highest: 12.5 % (3 Mar · Launch day…), lowest: 1.2 % (…).
    3 of your Posts (clicks included), 1 with public interactions only."``"""
    if data.empty:
        return NO_DATA_SUMMARY
    rates = data[ENGAGEMENT_RATE_PCT].astype(float)
    top, bottom = (
        data.iloc[int(rates.to_numpy().argmax())],
        data.iloc[int(rates.to_numpy().argmin())],
    )
    count = len(data)
    text = f"{count} Post{'s' if count != 1 else ''} ranked. Highest: {_pct(float(top[ENGAGEMENT_RATE_PCT]))} ({_plain(top[POST_LABEL])})"
    if count > 1:
        text += (
            f", lowest: {_pct(float(bottom[ENGAGEMENT_RATE_PCT]))} ({_plain(bottom[POST_LABEL])})"
        )
    kinds = data[ENGAGEMENTS_KIND].astype(str).value_counts()
    described = [
        f"{int(kinds[kind])} {words}" for kind, words in _RATE_KIND_WORDS.items() if kind in kinds
    ]
    return f"{text}. {', '.join(described)}."


_RATE_KIND_WORDS: Final = {
    "with_clicks": "of your own recent Posts (clicks included)",
    "public_only": "with public interactions only",
}


# -- any chart --------------------------------------------------------------------------------


def figure_summary(figure: go.Figure) -> str:
    """Any figure in words: its title, its series and how many points it draws.

    ``"Impressions per day: 2 series (Organic, Promoted), 14 points."``"""
    title = _plain(getattr(figure.layout.title, "text", None) or "Chart")
    names = [_plain(trace.name) for trace in figure.data if trace.name]
    points = 0
    for trace in figure.data:
        values = getattr(trace, "y", None)
        if values is None:
            values = getattr(trace, "x", None)
        points += 0 if values is None else len(values)
    if not figure.data:
        return f"{title}: no data."
    shown = ", ".join(names[:_NAMED_SERIES]) + (
        f" and {len(names) - _NAMED_SERIES} more" if len(names) > _NAMED_SERIES else ""
    )
    series = f"{len(figure.data)} series" + (f" ({shown})" if shown else "")
    return f"{title}: {series}, {points:,} points."


_SUMMARIES: Final = (
    ((STEP_DROPOFF_PCT, RETENTION_PCT, QUARTILE, VIEWERS, MEDIA_KEY), retention_summary),
    ((QUARTILE, VIEWERS, MEDIA_KEY, CONTEXT), counts_summary),
    ((POST_ID, METRIC, LABEL, CONTEXT, VALUE, SUM_MATCHES), split_summary),
    (
        (ENGAGEMENT_RATE_PCT, POST_LABEL, ENGAGEMENTS, IMPRESSIONS, ENGAGEMENTS_KIND),
        engagement_rate_summary,
    ),
)


def chart_summary(figure: go.Figure, frame: pd.DataFrame) -> str:
    """The summary of a chart drawing ``frame``: the dashboard's own charts by their data
    (recognised by the frame's columns), any other by :func:`figure_summary`."""
    for columns, summarise in _SUMMARIES:
        if _has(frame, columns):
            return summarise(frame)
    return figure_summary(figure)
