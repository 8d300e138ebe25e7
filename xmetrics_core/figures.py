"""Plotly figures over the tidy frames; each returns a ``go.Figure`` and never calls streamlit.

Every figure has a companion ``*_data`` function returning exactly the rows it plots, in
trace order: that frame is the chart's CSV export, and the tests rebuild it from
``fig.data``. Colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies), one fixed colour per context. Backgrounds are transparent and no template
is set, so the page's ``st.plotly_chart(fig, theme="streamlit")`` applies the light or
dark theme. Hover labels show exact counts. An empty input gives a figure that says
"No data" instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xmetrics_core.catalogue import Context
from xmetrics_core.frames import (
    CONTEXT,
    ENGAGEMENT_RATE,
    ENGAGEMENTS,
    ENGAGEMENTS_SOURCE,
    ID,
    IMPRESSIONS,
    LABEL,
    MEDIA_KEY,
    METRIC,
    POST_ID,
    QUARTILE,
    RETENTION,
    RISES,
    STEP_DROPOFF,
    SUM_MATCHES,
    VALUE,
    VIEWERS,
)

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with common colour-vision
#: deficiencies, legible on light and dark backgrounds (black is left out for dark themes).
OKABE_ITO: Final[Mapping[str, str]] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
CONTEXT_COLOURS: Final[Mapping[str, str]] = {
    Context.TOTAL.value: OKABE_ITO["sky_blue"],
    Context.ORGANIC.value: OKABE_ITO["bluish_green"],
    Context.PROMOTED.value: OKABE_ITO["orange"],
}
CONTEXT_NAMES: Final[Mapping[str, str]] = {
    Context.TOTAL.value: "Total (all contexts)",
    Context.ORGANIC.value: "Organic",
    Context.PROMOTED.value: "Promoted",
}
HIGHLIGHT_COLOUR: Final = OKABE_ITO["vermillion"]
RATE_COLOUR: Final = OKABE_ITO["blue"]
#: Mid grey: visible as an outline on both light and dark backgrounds.
OUTLINE_COLOUR: Final = "rgba(128,128,128,0.9)"
NO_DATA: Final = "No data"

# Columns of the *_data frames that the frames module does not define.
RETENTION_PCT: Final = "retention_pct"
STEP_DROPOFF_PCT: Final = "step_dropoff_pct"
ENGAGEMENT_RATE_PCT: Final = "engagement_rate_pct"

_TRANSPARENT: Final = "rgba(0,0,0,0)"


def _base_layout(fig: go.Figure, *, title: str) -> go.Figure:
    """Transparent backgrounds, no template: the page's theme decides the rest."""
    return fig.update_layout(
        title={"text": title},
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        hovermode="closest",
        legend={"title": {"text": ""}},
        margin={"t": 60, "r": 20, "b": 40, "l": 60},
    )


def no_data_figure(title: str) -> go.Figure:
    """An empty figure with a centred "No data" note (what every builder returns on no rows)."""
    fig = go.Figure()
    fig.add_annotation(
        text=NO_DATA,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 16},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, title=title)


def _ints(values: pd.Series) -> list[int | None]:
    """Exact counts for plotly: Python ints, None where missing."""
    return [None if pd.isna(v) else int(v) for v in values]


def _floats(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]


def _strings(values: pd.Series) -> list[str]:
    return [str(v) for v in values]


def _rows(*columns: Sequence[object]) -> list[list[object]]:
    """Column lists → per-point ``customdata`` rows (keeps ints as ints, unlike numpy)."""
    return [list(row) for row in zip(*columns, strict=True)]


# -- organic vs promoted ----------------------------------------------------------------------

_SPLIT_TITLE: Final = "Organic vs promoted (bars) against the total X reports (diamonds)"


def organic_vs_promoted_data(split_long: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`organic_vs_promoted_figure` plots, in trace order.

    Input: :func:`xmetrics_core.frames.split_long_frame`. Output columns: ``post_id,
    metric, label, context, value, sum_matches``, ordered by context (organic, promoted,
    total), then as given. Missing values stay (plotted as gaps, exported as empty cells).
    """
    order = {c: i for i, c in enumerate((Context.ORGANIC, Context.PROMOTED, Context.TOTAL))}
    columns = [POST_ID, METRIC, LABEL, CONTEXT, VALUE, SUM_MATCHES]
    return (
        split_long.reindex(columns=columns)
        .assign(_order=lambda d: d[CONTEXT].astype(str).map({k.value: v for k, v in order.items()}))
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _mismatch_note(data: pd.DataFrame) -> str | None:
    failed = data.loc[data[SUM_MATCHES].eq(False).fillna(False)]
    if failed.empty:
        return None
    pairs = (failed[LABEL].astype(str) + " (" + failed[POST_ID].astype(str) + ")").unique()
    shown = ", ".join(pairs[:4]) + (" …" if len(pairs) > 4 else "")
    return f"organic + promoted ≠ total for {shown}"


def organic_vs_promoted_figure(split_long: pd.DataFrame, *, per_post: bool) -> go.Figure:
    """Organic and promoted stacked per metric, with X's total as a diamond beside them.

    Where the bars' top and the diamond disagree, organic + promoted ≠ total; the
    figure then names the metrics in an annotation. ``per_post=True`` draws one row of
    bars per metric (x = Post ID), ``False`` one bar per metric (x = metric).
    Hover shows the exact count and whether the sum check holds.
    """
    data = organic_vs_promoted_data(split_long)
    if data.empty:
        return no_data_figure(_SPLIT_TITLE)
    labels = list(dict.fromkeys(_strings(data[LABEL])))
    rows = len(labels) if per_post else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        subplot_titles=labels if per_post else None,
        vertical_spacing=min(0.08, 0.5 / rows),
    )
    for context in (Context.ORGANIC, Context.PROMOTED, Context.TOTAL):
        for row, label in enumerate(labels if per_post else [None], start=1):
            part = data.loc[data[CONTEXT].astype(str).eq(context.value)]
            if label is not None:
                part = part.loc[part[LABEL].astype(str).eq(label)]
            x = _strings(part[POST_ID] if per_post else part[LABEL])
            check = [
                "sum check: unknown" if pd.isna(v) else f"sum check: {'ok' if v else 'FAILS'}"
                for v in part[SUM_MATCHES]
            ]
            hover = (
                "%{customdata[0]}<br>%{customdata[1]}: %{y:,} ("
                + CONTEXT_NAMES[context.value]
                + ")<br>%{customdata[2]}<extra></extra>"
            )
            custom = _rows(_strings(part[POST_ID]), _strings(part[LABEL]), check)
            common = {
                "x": x,
                "y": _ints(part[VALUE]),
                "name": CONTEXT_NAMES[context.value],
                "legendgroup": context.value,
                "showlegend": row == 1,
                "customdata": custom,
                "hovertemplate": hover,
                "meta": {"context": context.value, "label": label},
            }
            if context is Context.TOTAL:
                trace: go.Bar | go.Scatter = go.Scatter(
                    mode="markers",
                    marker={
                        "symbol": "diamond",
                        "size": 11,
                        "color": CONTEXT_COLOURS[context.value],
                        "line": {"width": 1, "color": OUTLINE_COLOUR},
                    },
                    **common,
                )
            else:
                trace = go.Bar(marker={"color": CONTEXT_COLOURS[context.value]}, **common)
            fig.add_trace(trace, row=row, col=1)
    fig.update_layout(barmode="relative", height=max(360, 220 * rows))
    fig.update_yaxes(title_text="Count", rangemode="tozero")
    fig.update_xaxes(title_text="Post ID" if per_post else "Metric", type="category", row=rows)
    note = _mismatch_note(data)
    if note:
        fig.add_annotation(
            text=note,
            xref="paper",
            yref="paper",
            x=0,
            y=1.08,
            showarrow=False,
            font={"color": HIGHLIGHT_COLOUR},
            xanchor="left",
        )
    return _base_layout(fig, title=_SPLIT_TITLE)


# -- video quartiles --------------------------------------------------------------------------

_RETENTION_TITLE: Final = "Video retention by quartile"
_COUNTS_TITLE: Final = "Viewers reaching each quartile"


def _quartile_traces(data: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(media_key, context, rows) per trace: media in frame order, contexts in catalogue order."""
    media_keys = list(dict.fromkeys(_strings(data[MEDIA_KEY])))
    traces = []
    for media_key in media_keys:
        for context in Context:
            part = data.loc[
                data[MEDIA_KEY].astype(str).eq(media_key)
                & data[CONTEXT].astype(str).eq(context.value)
            ]
            if not part.empty:
                traces.append((media_key, context.value, part))
    return traces


def _trace_name(context: str, media_key: str, *, several_media: bool) -> str:
    name = CONTEXT_NAMES[context]
    return f"{name} · {media_key}" if several_media else name


def quartile_retention_data(quartiles: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`quartile_retention_figure` plots: one per media × context × quartile.

    Input: :func:`xmetrics_core.frames.quartiles_frame`. Output columns: ``media_key,
    context, quartile, viewers, retention_pct`` (= 100 · q / q_0), ``step_dropoff_pct``
    (= 100 · (1 − q_i / q_(i−1))), ``rises``. Ordered by media, context, quartile.
    """
    return (
        quartiles.assign(
            **{
                RETENTION_PCT: lambda d: d[RETENTION] * 100.0,
                STEP_DROPOFF_PCT: lambda d: d[STEP_DROPOFF] * 100.0,
                MEDIA_KEY: lambda d: d[MEDIA_KEY].astype(str),
                CONTEXT: lambda d: d[CONTEXT].astype(str),
            }
        )
        .reindex(
            columns=[MEDIA_KEY, CONTEXT, QUARTILE, VIEWERS, RETENTION_PCT, STEP_DROPOFF_PCT, RISES]
        )
        .pipe(lambda d: pd.concat([part for _, _, part in _quartile_traces(d)] or [d.iloc[:0]]))
        .reset_index(drop=True)
    )


def largest_drop(data: pd.DataFrame) -> pd.Series | None:
    """The row of :func:`quartile_retention_data` with the largest step drop-off (first on
    ties), or None when no step is known."""
    drops = data[STEP_DROPOFF_PCT].to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(drops).all():
        return None
    return data.iloc[int(np.nanargmax(drops))]


def quartile_retention_figure(quartiles: pd.DataFrame) -> go.Figure:
    """Retention (% of starters) at each quartile, one line per context (and per video when
    there are several), with the largest step drop-off annotated.

    Hover shows the exact number of viewers; rises between quartiles (skips) are marked
    with an open circle and stay visible.
    """
    data = quartile_retention_data(quartiles)
    if data.empty:
        return no_data_figure(_RETENTION_TITLE)
    traces = _quartile_traces(data)
    several = len({media_key for media_key, _, _ in traces}) > 1
    fig = go.Figure()
    for media_key, context, part in traces:
        rises = part[RISES].fillna(False).astype(bool)
        fig.add_trace(
            go.Scatter(
                x=part[QUARTILE].tolist(),
                y=_floats(part[RETENTION_PCT]),
                mode="lines+markers",
                name=_trace_name(context, media_key, several_media=several),
                line={"color": CONTEXT_COLOURS[context]},
                marker={
                    "color": CONTEXT_COLOURS[context],
                    "size": 9,
                    "symbol": ["circle-open" if r else "circle" for r in rises],
                },
                customdata=_rows(
                    _ints(part[VIEWERS]), ["yes (skips counted)" if r else "no" for r in rises]
                ),
                hovertemplate=(
                    "Played to %{x}%: %{customdata[0]:,} viewers<br>"
                    "%{y:.1f}% of starters<br>rise from previous: %{customdata[1]}"
                    "<extra>" + media_key + "</extra>"
                ),
                meta={"media_key": media_key, "context": context},
            )
        )
    worst = largest_drop(data)
    if worst is not None:
        text = (
            f"Largest drop: {float(worst[STEP_DROPOFF_PCT]):.1f}% of viewers lost "
            f"before {int(worst[QUARTILE])}% ({CONTEXT_NAMES[str(worst[CONTEXT])]})"
        )
        if pd.notna(worst[RETENTION_PCT]):
            fig.add_annotation(
                x=int(worst[QUARTILE]),
                y=float(worst[RETENTION_PCT]),
                text=text,
                showarrow=True,
                arrowcolor=HIGHLIGHT_COLOUR,
                font={"color": HIGHLIGHT_COLOUR},
                ax=40,
                ay=-40,
            )
        else:  # no starters count to place it on the retention curve
            fig.add_annotation(
                text=text,
                xref="paper",
                yref="paper",
                x=1,
                y=1.05,
                showarrow=False,
                xanchor="right",
                font={"color": HIGHLIGHT_COLOUR},
            )
    fig.update_xaxes(
        title_text="Quartile of the video played (%)", tickvals=list(range(0, 101, 25))
    )
    fig.update_yaxes(title_text="% of starters", rangemode="tozero")
    return _base_layout(fig, title=_RETENTION_TITLE)


def quartile_counts_data(quartiles: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`quartile_counts_figure` plots: ``media_key, context, quartile,
    viewers, rises``, ordered by media, context, quartile."""
    return (
        quartiles.assign(
            **{
                MEDIA_KEY: lambda d: d[MEDIA_KEY].astype(str),
                CONTEXT: lambda d: d[CONTEXT].astype(str),
            }
        )
        .reindex(columns=[MEDIA_KEY, CONTEXT, QUARTILE, VIEWERS, RISES])
        .pipe(lambda d: pd.concat([part for _, _, part in _quartile_traces(d)] or [d.iloc[:0]]))
        .reset_index(drop=True)
    )


def quartile_counts_figure(quartiles: pd.DataFrame) -> go.Figure:
    """Absolute viewers at each quartile, bars grouped by context (and video)."""
    data = quartile_counts_data(quartiles)
    if data.empty:
        return no_data_figure(_COUNTS_TITLE)
    traces = _quartile_traces(data)
    several = len({media_key for media_key, _, _ in traces}) > 1
    fig = go.Figure()
    for media_key, context, part in traces:
        fig.add_trace(
            go.Bar(
                x=[f"{q}%" for q in part[QUARTILE]],
                y=_ints(part[VIEWERS]),
                name=_trace_name(context, media_key, several_media=several),
                marker={"color": CONTEXT_COLOURS[context]},
                hovertemplate="Played to %{x}: %{y:,} viewers<extra>" + media_key + "</extra>",
                meta={"media_key": media_key, "context": context},
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Quartile of the video played", type="category")
    fig.update_yaxes(title_text="Viewers", rangemode="tozero")
    return _base_layout(fig, title=_COUNTS_TITLE)


# -- engagement rate --------------------------------------------------------------------------

_RATE_TITLE: Final = "Engagement rate by Post"


def engagement_rate_data(posts: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`engagement_rate_figure` plots, highest rate first.

    Input: :func:`xmetrics_core.frames.posts_frame`. Output columns: ``id, engagements,
    impressions, engagements_source, engagement_rate_pct`` (= 100 · engagements /
    impressions). Posts whose rate is missing (no or zero impressions) are left out;
    ties keep the Posts' order.
    """
    return (
        posts.loc[posts[ENGAGEMENT_RATE].notna()]
        .assign(**{ENGAGEMENT_RATE_PCT: lambda d: d[ENGAGEMENT_RATE] * 100.0})
        .reindex(columns=[ID, ENGAGEMENTS, IMPRESSIONS, ENGAGEMENTS_SOURCE, ENGAGEMENT_RATE_PCT])
        .sort_values(ENGAGEMENT_RATE_PCT, ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def engagement_rate_figure(posts: pd.DataFrame) -> go.Figure:
    """Posts ranked by engagement rate, horizontal bars, highest at the top.

    Hover shows the exact engagements and impressions behind each rate and whether the
    engagements are X's own count or our stated sum. Posts without a rate are counted
    in a note, not drawn as 0.
    """
    data = engagement_rate_data(posts)
    if data.empty:
        return no_data_figure(_RATE_TITLE)
    source_names = {"x": "X's engagements", "sum": "sum of interactions"}
    fig = go.Figure(
        go.Bar(
            x=_floats(data[ENGAGEMENT_RATE_PCT]),
            y=_strings(data[ID]),
            orientation="h",
            marker={"color": RATE_COLOUR},
            customdata=_rows(
                _ints(data[ENGAGEMENTS]),
                _ints(data[IMPRESSIONS]),
                [source_names.get(str(s), str(s)) for s in data[ENGAGEMENTS_SOURCE]],
            ),
            hovertemplate=(
                "Post %{y}<br>%{x:.2f}% = %{customdata[0]:,} engagements / "
                "%{customdata[1]:,} impressions<br>(%{customdata[2]})<extra></extra>"
            ),
            name="Engagement rate",
        )
    )
    fig.update_yaxes(title_text="Post ID", type="category", autorange="reversed")
    fig.update_xaxes(title_text="Engagement rate (%)", rangemode="tozero")
    missing = int(posts[ENGAGEMENT_RATE].isna().sum())
    if missing:
        fig.add_annotation(
            text=f"{missing} Post(s) without impressions are not shown",
            xref="paper",
            yref="paper",
            x=1,
            y=-0.12,
            xanchor="right",
            showarrow=False,
        )
    fig.update_layout(height=max(320, 28 * len(data) + 140))
    return _base_layout(fig, title=_RATE_TITLE)
