"""Plotly figures over the tidy frames; each returns a ``go.Figure`` and never calls streamlit.

Every figure has a companion ``*_data`` function returning exactly the rows it plots, in
trace order: that frame is the chart's CSV export, and the tests rebuild it from
``fig.data``. Colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies), one fixed colour per context. Backgrounds are transparent and no template
is set, so the page's ``st.plotly_chart(fig, theme="streamlit")`` applies the light or
dark theme. Hover labels show exact counts. An empty input gives a figure that says
"No data" instead of raising.

Layout: the title, a horizontal legend and any note get their own pixel rows above the
plot area (``_Header``), so neither the legend nor a note ever covers a trace. Metrics
of very different sizes get one facet each with its own y axis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xmetrics_core.catalogue import Context
from xmetrics_core.frames import (
    CONTEXT,
    CREATED_AT,
    DURATION_MS,
    ENGAGEMENT_RATE,
    ENGAGEMENTS,
    ENGAGEMENTS_SOURCE,
    ID,
    IMPRESSIONS,
    LABEL,
    MEDIA_KEY,
    MEDIA_TYPE,
    METRIC,
    POST_ID,
    POST_IDS,
    POST_URL,
    QUARTILE,
    RETENTION,
    RISES,
    SOURCE_X,
    STEP_DROPOFF,
    SUM_MATCHES,
    TEXT,
    VALUE,
    VIEWERS,
    split_long_frame,
)
from xmetrics_core.labels import plotly_text, post_label

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
#: The Okabe-Ito colours a chart draws marks in: each reaches 3:1 (WCAG 2.1 AA, 1.4.11)
#: against both the light and the dark theme's background (``tests/test_contrast.py``), so
#: bars, lines and points stay visible in either; the lighter ones (orange, sky blue,
#: yellow) fall below 3:1 on white and are left out, yellow darkened and a mid grey join
#: them so six series stay apart. Charts with more series cycle them.
MARK_COLOURS: Final[tuple[str, ...]] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    "#998800",  # Okabe-Ito yellow, darkened to 3.6:1 on white
    "#808080",
)
CONTEXT_COLOURS: Final[Mapping[str, str]] = {
    Context.TOTAL.value: OKABE_ITO["blue"],
    Context.ORGANIC.value: OKABE_ITO["bluish_green"],
    Context.PROMOTED.value: OKABE_ITO["vermillion"],
}
#: Text written on a bar (the summed organic-vs-promoted counts): black reaches 4.5:1 on
#: every bar colour above, white does not.
BAR_TEXT_COLOUR: Final = "#000000"
#: Short enough that the three fit on one legend row on a 390-px phone screen.
CONTEXT_NAMES: Final[Mapping[str, str]] = {
    Context.TOTAL.value: "X's total",
    Context.ORGANIC.value: "Organic",
    Context.PROMOTED.value: "Promoted",
}
HIGHLIGHT_COLOUR: Final = OKABE_ITO["reddish_purple"]
"""The ring around the largest drop (a mark, not text: notes take the theme's text colour)."""
RATE_COLOUR: Final = OKABE_ITO["blue"]
#: Mid grey: visible as an outline on both light and dark backgrounds.
OUTLINE_COLOUR: Final = "rgba(128,128,128,0.9)"
NO_DATA: Final = "No data"

# Columns of the *_data frames that the frames module does not define.
POST_LABEL: Final = "post_label"
"""How a chart names a Post: its date and the start of its text (:func:`post_labels`)."""
RETENTION_PCT: Final = "retention_pct"
STEP_DROPOFF_PCT: Final = "step_dropoff_pct"
ENGAGEMENT_RATE_PCT: Final = "engagement_rate_pct"

_TRANSPARENT: Final = "rgba(0,0,0,0)"


def _base_layout(fig: go.Figure, *, title: str, subtitle: str | None = None) -> go.Figure:
    """Transparent backgrounds, no template: the page's theme decides the rest."""
    title_spec: dict[str, Any] = {"text": title}
    if subtitle:
        title_spec["subtitle"] = {"text": subtitle}
    return fig.update_layout(
        title=title_spec,
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        hovermode="closest",
        legend={"title": {"text": ""}},
        margin={"t": 60, "r": 20, "b": 40, "l": 60},
    )


#: The height plotly.js gives one horizontal legend row, padding included (measured in
#: Chromium: 29 px with a 12-px font; tests/e2e/test_chart_layout.py checks it).
LEGEND_ROW_PX: Final = 30


@dataclass(frozen=True, kw_only=True)
class _Header:
    """Pixel rows above the plot area, top down: title (and subtitle), legend, a note, then
    room for the first facets' titles. Keeps the legend and notes off the traces."""

    subtitle: bool = False
    legend_rows: int = 1
    note_lines: int = 0
    facet_titles: bool = True

    @property
    def legend_top(self) -> int:
        return 44 + (20 if self.subtitle else 0)

    @property
    def note_top(self) -> int:
        return self.legend_top + LEGEND_ROW_PX * self.legend_rows + 4

    @property
    def top(self) -> int:
        last = self.note_top + 18 * self.note_lines if self.note_lines else self.note_top
        return last + (30 if self.facet_titles else 12)

    def note(self, text: str, *, plot_height: int) -> go.layout.Annotation:
        """An annotation on the note row (paper coordinates, above the plot area)."""
        return go.layout.Annotation(
            text=text,
            xref="paper",
            yref="paper",
            x=0,
            y=1 + (self.top - self.note_top) / plot_height,
            xanchor="left",
            yanchor="top",
            align="left",
            showarrow=False,
        )

    def place(self, fig: go.Figure, *, height: int, bottom: int) -> go.Figure:
        """Title at the top, a horizontal legend under it, margins that make the room."""
        return fig.update_layout(
            height=height,
            title={"y": 1 - 12 / height, "yref": "container", "yanchor": "top"},
            legend={
                "orientation": "h",
                "yref": "container",
                "y": 1 - self.legend_top / height,
                "yanchor": "top",
                "x": 0,
                "xanchor": "left",
            },
            margin={"t": self.top, "b": bottom, "l": 60, "r": 20},
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


# -- naming Posts and videos as people know them ----------------------------------------------

#: How much of a Post's text a chart label shows (the tables show all of it). Short enough
#: that the engagement-rate ranking keeps room for its bars on a phone.
CHART_LABEL_CHARS: Final = 18
#: Charts name a Post by day and month (the Metrics table has the full time).
CHART_DATE_FORMAT: Final = "%-d %b"


def post_labels(posts: pd.DataFrame, *, tz: tzinfo = UTC) -> dict[str, str]:
    """Post ID → a short label for charts: ``"3 Mar · Start of the text…"``, the date in
    ``tz``; unique (a repeated label gets the ID's last digits). Only fetched Posts get
    one (charts never draw the others). Input: :func:`xmetrics_core.frames.posts_frame`."""
    labels: dict[str, str] = {}
    used: set[str] = set()
    fetched = posts.loc[posts[POST_URL].notna(), [ID, TEXT, CREATED_AT]]
    for post_id, text, created in zip(fetched[ID], fetched[TEXT], fetched[CREATED_AT], strict=True):
        if str(post_id) in labels:
            continue
        label = post_label(
            None if pd.isna(text) else str(text),
            None if pd.isna(created) else created.to_pydatetime(),
            post_id=str(post_id),
            tz=tz,
            limit=CHART_LABEL_CHARS,
            date_format=CHART_DATE_FORMAT,
        )
        if label in used:
            label = f"{label} (…{str(post_id)[-4:]})"
        used.add(label)
        labels[str(post_id)] = label
    return labels


def duration_text(ms: object) -> str:
    """``"1:05"`` for 65,000 ms; ``"unknown length"`` when missing."""
    if ms is None or pd.isna(ms):  # type: ignore[call-overload]
        return "unknown length"
    seconds = int(ms) // 1000  # type: ignore[call-overload]
    return f"{seconds // 60}:{seconds % 60:02d}"


def video_labels(media: pd.DataFrame, posts: pd.DataFrame, *, tz: tzinfo = UTC) -> dict[str, str]:
    """media_key → ``"Video 0:42 · 3 Mar · Start of the Post's text…"``, named after
    the first pasted Post that carries it (a video without one keeps its media key)."""
    by_post = post_labels(posts, tz=tz)
    labels: dict[str, str] = {}
    for key, duration, carriers in zip(
        media[MEDIA_KEY], media[DURATION_MS], media[POST_IDS], strict=True
    ):
        first = next((p for p in str(carriers).split() if p in by_post), None)
        named = by_post[first] if first is not None else f"media {key}"
        labels[str(key)] = f"Video {duration_text(duration)} · {named}"
    return labels


#: How much of a Post's text a preview image's alternative text carries.
ALT_TEXT_CHARS: Final = 200


def video_alt_texts(media: pd.DataFrame, posts: pd.DataFrame) -> dict[str, str]:
    """media_key → the alternative text of the video's preview image: what it shows, the
    video's length and the text of the first pasted Post that carries it, e.g.
    ``"Preview of a 0:42 video in the Post: Our launch, in 40 seconds"``."""
    fetched = posts.loc[posts[POST_URL].notna() & posts[TEXT].notna(), [ID, TEXT]]
    texts = {
        str(i): " ".join(str(t).split()) for i, t in zip(fetched[ID], fetched[TEXT], strict=True)
    }
    alts: dict[str, str] = {}
    for key, duration, carriers in zip(
        media[MEDIA_KEY], media[DURATION_MS], media[POST_IDS], strict=True
    ):
        length = duration_text(duration)
        video = "a video of unknown length" if length == "unknown length" else f"a {length} video"
        text = next((texts[p] for p in str(carriers).split() if texts.get(p)), None)
        if text is None:
            alts[str(key)] = f"Preview of {video} (media {key})"
            continue
        short = text if len(text) <= ALT_TEXT_CHARS else f"{text[: ALT_TEXT_CHARS - 1]}…"
        alts[str(key)] = f"Preview of {video} in the Post: {short}"
    return alts


# -- organic vs promoted ----------------------------------------------------------------------

_SPLIT_TITLE: Final = "Organic vs promoted"
_SPLIT_PER_POST_TITLE: Final = "Organic vs promoted, per Post"
#: The per-Post chart draws at most this many Posts (the ones with the most impressions):
#: beyond that the bars and the Post IDs under them stop being readable.
MAX_POSTS_PER_SPLIT_CHART: Final = 15
#: Facets per row when the chart sums all Posts (one facet per metric).
_SPLIT_FACETS_PER_ROW: Final = 3
_RANKING_METRIC: Final = "impression_count"


def _posts_with_most_impressions(data: pd.DataFrame, limit: int) -> list[str]:
    """Up to ``limit`` Post IDs of ``data``, most total impressions first (missing last,
    ties in the given order)."""
    impressions = data.loc[
        data[CONTEXT].astype(str).eq(Context.TOTAL.value)
        & data[METRIC].astype(str).eq(_RANKING_METRIC),
        [POST_ID, VALUE],
    ].assign(**{POST_ID: lambda d: d[POST_ID].astype(str)})
    order = pd.DataFrame({POST_ID: list(dict.fromkeys(_strings(data[POST_ID])))}).merge(
        impressions.drop_duplicates(POST_ID), on=POST_ID, how="left"
    )
    ranked = order.sort_values(VALUE, ascending=False, kind="stable", na_position="last")
    return _strings(ranked[POST_ID].head(limit))


def organic_vs_promoted_data(
    split_long: pd.DataFrame,
    *,
    max_posts: int = MAX_POSTS_PER_SPLIT_CHART,
    post_labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The rows :func:`organic_vs_promoted_figure` plots, in trace order.

    Input: :func:`xmetrics_core.frames.split_long_frame`. Output columns: ``post_id,
    post_label`` (from ``post_labels``, else the ID; ``All Posts`` for the sum), ``metric,
    label, context, value, sum_matches``, ordered by context (organic, promoted, total),
    then as given. Missing values stay (plotted as gaps, exported as empty cells). With
    more than ``max_posts`` Posts only the ``max_posts`` with the most total impressions
    are kept (in their given order); the all-Posts sum is one "Post".
    """
    order = {c: i for i, c in enumerate((Context.ORGANIC, Context.PROMOTED, Context.TOTAL))}
    columns = [POST_ID, POST_LABEL, METRIC, LABEL, CONTEXT, VALUE, SUM_MATCHES]
    names = dict(post_labels or {})
    data = split_long.assign(
        **{POST_LABEL: lambda d: [names.get(p, p) for p in _strings(d[POST_ID])]}
    ).reindex(columns=columns)
    if data[POST_ID].nunique() > max_posts:
        kept = set(_posts_with_most_impressions(data, max_posts))
        data = data.loc[data[POST_ID].astype(str).isin(kept)]
    return (
        data.assign(
            _order=lambda d: d[CONTEXT].astype(str).map({k.value: v for k, v in order.items()})
        )
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


@dataclass(frozen=True, kw_only=True)
class SplitCoverage:
    """Which Posts the organic-vs-promoted chart covers: X serves organic and promoted
    metrics only for the caller's own Posts of the last 30 days, so the chart's sums can
    be smaller than the cards' (which cover every Post with metrics)."""

    split_posts: int
    """Posts with organic or promoted metrics (the chart's)."""
    posts_with_metrics: int
    """Posts with any metrics (the cards')."""

    @property
    def subtitle(self) -> str:
        return f"Covers {self.split_posts} of the {self.posts_with_metrics} Posts (yours, last 30 days)"


def split_coverage(posts: pd.DataFrame, split_per_post: pd.DataFrame) -> SplitCoverage:
    """:class:`SplitCoverage` from :func:`~xmetrics_core.frames.posts_frame` and the
    per-Post :func:`~xmetrics_core.frames.split_frame`."""
    return SplitCoverage(
        split_posts=int(split_per_post[POST_ID].nunique()),
        posts_with_metrics=int(posts[POST_URL].notna().sum()),
    )


def _split_subtitle(
    *, per_post: bool, shown: int, given: int, coverage: SplitCoverage | None
) -> str | None:
    if per_post and shown < given:
        return f"The {shown} of {given} Posts with the most impressions (all in the zip)"
    return coverage.subtitle if coverage is not None else None


def _split_trace(
    part: pd.DataFrame, *, context: Context, label: str, per_post: bool, first: bool
) -> go.Bar | go.Scatter:
    """One context's bars (or X's total as diamonds) in one metric's facet."""
    check = [
        "sum check: unknown" if pd.isna(v) else f"sum check: {'ok' if v else 'FAILS'}"
        for v in part[SUM_MATCHES]
    ]
    names = [plotly_text(n) for n in _strings(part[POST_LABEL])]
    ids = _strings(part[POST_ID])
    headings = [n if n == i else f"{n} ({i})" for n, i in zip(names, ids, strict=True)]
    common: dict[str, Any] = {
        "x": names if per_post else _strings(part[LABEL]),
        "y": _ints(part[VALUE]),
        "name": CONTEXT_NAMES[context.value],
        "legendgroup": context.value,
        "showlegend": first,
        "customdata": _rows(ids, _strings(part[LABEL]), check, headings),
        "hovertemplate": (
            "%{customdata[3]}<br>%{customdata[1]}: %{y:,} ("
            + CONTEXT_NAMES[context.value]
            + ")<br>%{customdata[2]}<extra></extra>"
        ),
        "meta": {"context": context.value, "label": label},
    }
    if context is Context.TOTAL:
        return go.Scatter(
            mode="markers",
            marker={
                "symbol": "diamond",
                "size": 9 if per_post else 13,
                "color": CONTEXT_COLOURS[context.value],
                "line": {"width": 1, "color": OUTLINE_COLOUR},
            },
            **common,
        )
    labels = (
        {}
        if per_post
        else {
            "texttemplate": "%{y:,}",
            "textposition": "inside",
            "insidetextanchor": "middle",
            "insidetextfont": {"color": BAR_TEXT_COLOUR},
        }
    )
    return go.Bar(marker={"color": CONTEXT_COLOURS[context.value]}, **labels, **common)


def organic_vs_promoted_figure(
    split_long: pd.DataFrame,
    *,
    per_post: bool,
    post_labels: Mapping[str, str] | None = None,
    coverage: SplitCoverage | None = None,
) -> go.Figure:
    """Organic and promoted stacked per metric, with X's total as a diamond on them.

    One facet per metric, each with its own y axis, so Likes stay readable beside
    impressions in the hundreds of thousands. ``per_post=False``: one bar per facet (the
    sum over all Posts, its counts written on the bars), facets three to a row.
    ``per_post=True``: one facet row per metric with a bar per Post (x = the Post's label
    from ``post_labels``, shared by every row), at most :data:`MAX_POSTS_PER_SPLIT_CHART`
    Posts, the subtitle saying when some are left out; otherwise the subtitle says which
    Posts the chart covers (``coverage``). Where the bars' top and the diamond disagree,
    organic + promoted ≠ total; the figure then names the metrics in an annotation. Hover
    shows the exact count and whether the sum check holds.
    """
    data = organic_vs_promoted_data(split_long, post_labels=post_labels)
    if data.empty:
        return no_data_figure(_SPLIT_PER_POST_TITLE if per_post else _SPLIT_TITLE)
    labels = list(dict.fromkeys(_strings(data[LABEL])))
    columns = 1 if per_post else min(_SPLIT_FACETS_PER_ROW, len(labels))
    rows = math.ceil(len(labels) / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=labels,
        shared_xaxes=per_post,
        vertical_spacing=(0.2 / rows) if per_post else min(0.18, 0.6 / rows),
        horizontal_spacing=0.09,
    )
    contexts = data[CONTEXT].astype(str)
    for context in (Context.ORGANIC, Context.PROMOTED, Context.TOTAL):
        in_context = data.loc[contexts.eq(context.value)]
        for index, label in enumerate(labels):
            part = in_context.loc[in_context[LABEL].astype(str).eq(label)]
            fig.add_trace(
                _split_trace(
                    part, context=context, label=label, per_post=per_post, first=index == 0
                ),
                row=index // columns + 1,
                col=index % columns + 1,
            )
    shown = data[POST_ID].nunique()
    subtitle = _split_subtitle(
        per_post=per_post,
        shown=shown,
        given=split_long[POST_ID].nunique(),
        coverage=coverage,
    )
    note = _mismatch_note(data)
    header = _Header(subtitle=subtitle is not None, note_lines=1 if note else 0)
    facet_height = 150 if per_post else 220
    bottom = 140 if per_post else 30
    height = header.top + bottom + facet_height * rows
    fig.update_layout(
        barmode="relative",
        bargap=0.25 if per_post else 0.45,
        height=height,
        uniformtext={"minsize": 9, "mode": "hide"},
    )
    fig.update_yaxes(rangemode="tozero", tickformat="~s")
    fig.update_xaxes(type="category", showticklabels=False)
    if per_post:
        fig.update_xaxes(showticklabels=True, tickangle=-40, title_text="Post", row=rows, col=1)
    if note:
        fig.add_annotation(header.note(note, plot_height=height - header.top - bottom))
    title = _SPLIT_PER_POST_TITLE if per_post else _SPLIT_TITLE
    _base_layout(fig, title=title, subtitle=subtitle)
    return header.place(fig, height=height, bottom=bottom)


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


_QUARTILE_PLOT_HEIGHT: Final = 330


def _quartile_header(traces: int, *, several_media: bool, notes: int) -> _Header:
    """The quartile charts' header: both get the same, so side by side they line up.

    A legend entry per trace: three to a row for one video, one per row for several
    (their names carry the media key)."""
    rows = traces if several_media else math.ceil(traces / 3)
    return _Header(legend_rows=rows, note_lines=notes, facet_titles=False)


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


_RING_PX: Final = 11
_LARGEST_DROP_RING: Final = "largest drop"


def _drop_text(worst: pd.Series, *, several_media: bool, ringed: bool) -> str:
    """ "Largest drop: 83.3% of viewers lost between 75% and 100% (Organic)", two lines."""
    context = CONTEXT_NAMES[str(worst[CONTEXT])]
    if several_media:
        context = f"{context} · {worst[MEDIA_KEY]}"
    reached = int(worst[QUARTILE])
    before = reached - 25
    return (
        f"Largest drop{' (ringed)' if ringed else ''}: "
        f"{float(worst[STEP_DROPOFF_PCT]):.1f}% of viewers lost<br>"
        f"between {before}% and {reached}% ({plotly_text(context)})"
    )


def _retention_axis_top(data: pd.DataFrame) -> float:
    """The retention axis' top: 100 % and a little headroom (more if skips rise past it)."""
    highest = data[RETENTION_PCT].max(skipna=True)
    return 1.06 * max(100.0, 0.0 if pd.isna(highest) else float(highest))


def _ring_largest_drop(fig: go.Figure, worst: pd.Series) -> None:
    """Ring the point reached after the largest drop (a layout shape, not a trace)."""
    fig.add_shape(
        type="circle",
        xref="x",
        yref="y",
        xsizemode="pixel",
        ysizemode="pixel",
        xanchor=int(worst[QUARTILE]),
        yanchor=float(worst[RETENTION_PCT]),
        x0=-_RING_PX,
        x1=_RING_PX,
        y0=-_RING_PX,
        y1=_RING_PX,
        line={"color": HIGHLIGHT_COLOUR, "width": 2},
        name=_LARGEST_DROP_RING,
    )


def quartile_retention_figure(quartiles: pd.DataFrame) -> go.Figure:
    """Retention (% of starters) at each quartile, one line per context (and per video when
    there are several), with the largest step drop-off named and its point ringed.

    The note sits on its own row above the plot area (under the legend), so it never
    covers a line; the ring is a layout shape. Hover shows the exact number of viewers;
    rises between quartiles (skips) are marked with an open circle and stay visible.
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
    header = _quartile_header(len(traces), several_media=several, notes=0 if worst is None else 2)
    bottom = 60
    height = header.top + bottom + _QUARTILE_PLOT_HEIGHT
    if worst is not None:
        ringed = bool(pd.notna(worst[RETENTION_PCT]))  # else no starters count to place it
        if ringed:
            _ring_largest_drop(fig, worst)
        note = _drop_text(worst, several_media=several, ringed=ringed)
        fig.add_annotation(header.note(note, plot_height=height - header.top - bottom))
    fig.update_xaxes(
        title_text="Quartile of the video played (%)",
        tickvals=list(range(0, 101, 25)),
        range=[-6, 106],
    )
    fig.update_yaxes(title_text="% of starters", range=[0, _retention_axis_top(data)])
    _base_layout(fig, title=_RETENTION_TITLE)
    return header.place(fig, height=height, bottom=bottom)


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
    """Absolute viewers at each quartile, bars grouped by context (and video), laid out
    like :func:`quartile_retention_figure` so the two line up side by side."""
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
    # the retention chart's header (legend, largest-drop note) so side by side they align
    has_drop = largest_drop(quartile_retention_data(quartiles)) is not None
    header = _quartile_header(len(traces), several_media=several, notes=2 if has_drop else 0)
    bottom = 60
    _base_layout(fig, title=_COUNTS_TITLE)
    return header.place(fig, height=header.top + bottom + _QUARTILE_PLOT_HEIGHT, bottom=bottom)


# -- engagement rate --------------------------------------------------------------------------

_RATE_TITLE: Final = "Engagement rate by Post"
#: The engagement-rate ranking shows at most this many Posts (the highest rates).
RATE_CHART_MAX_POSTS: Final = 50
#: The two kinds of engagements, told apart by colour: the caller's own recent Posts count
#: link and profile clicks (X's own engagements, or our sum with the non-public clicks), so
#: their rates run higher than rates built from public interactions only (other people's or
#: older Posts). Rates compare within a kind only.
ENGAGEMENTS_KIND: Final = "engagements_kind"
RATE_KINDS: Final[Mapping[str, tuple[str, str]]] = {
    "with_clicks": ("Your Posts (clicks included)", OKABE_ITO["blue"]),
    "public_only": ("Public interactions only", OKABE_ITO["vermillion"]),
}
_CLICKS: Final = ("non_public_metrics.url_link_clicks", "non_public_metrics.user_profile_clicks")


def engagement_rate_data(
    posts: pd.DataFrame, *, post_labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The rows :func:`engagement_rate_figure` plots, highest rate first.

    Input: :func:`xmetrics_core.frames.posts_frame`. Output columns: ``id, post_label``
    (from ``post_labels``, else the ID), ``engagements, impressions, engagements_source,
    engagements_kind`` (``with_clicks``: X's own count or our sum including the non-public
    link and profile clicks, i.e. the caller's recent Posts; ``public_only``: public
    interactions only), ``engagement_rate_pct`` (= 100 · engagements / impressions). Posts
    whose rate is missing (no or zero impressions) are left out; ties keep the Posts' order.
    """
    names = dict(post_labels or {})

    def kind(d: pd.DataFrame) -> pd.Series:
        clicks = d.reindex(columns=list(_CLICKS)).notna().any(axis=1)
        private = d[ENGAGEMENTS_SOURCE].eq(SOURCE_X).fillna(False).astype(bool) | clicks
        return private.map({True: "with_clicks", False: "public_only"})

    return (
        posts.loc[posts[ENGAGEMENT_RATE].notna()]
        .assign(
            **{
                ENGAGEMENT_RATE_PCT: lambda d: d[ENGAGEMENT_RATE] * 100.0,
                POST_LABEL: lambda d: [names.get(i, i) for i in _strings(d[ID])],
                ENGAGEMENTS_KIND: kind,
            }
        )
        .reindex(
            columns=[
                ID,
                POST_LABEL,
                ENGAGEMENTS,
                IMPRESSIONS,
                ENGAGEMENTS_SOURCE,
                ENGAGEMENTS_KIND,
                ENGAGEMENT_RATE_PCT,
            ]
        )
        .sort_values(ENGAGEMENT_RATE_PCT, ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def highest_rated_posts(posts: pd.DataFrame, limit: int = RATE_CHART_MAX_POSTS) -> pd.DataFrame:
    """The rows of a :func:`~xmetrics_core.frames.posts_frame` with the ``limit`` highest
    engagement rates (all of them when there are no more), in their given order: the Posts
    the engagement-rate ranking draws."""
    ranked = engagement_rate_data(posts)
    if len(ranked) <= limit:
        return posts
    return posts.loc[posts[ID].isin(set(ranked[ID].head(limit)))]


def _unrated_posts(posts: pd.DataFrame) -> int:
    """Fetched Posts without a rate (no or zero impressions); IDs without a Post aside."""
    return int((posts[ENGAGEMENT_RATE].isna() & posts[POST_URL].notna()).sum())


def engagement_rate_figure(
    posts: pd.DataFrame, *, post_labels: Mapping[str, str] | None = None
) -> go.Figure:
    """Posts ranked by engagement rate, horizontal bars, highest at the top, each Post
    named by its label (``post_labels``).

    The bars' colour says what the engagements are (``engagements_kind``): the caller's
    recent Posts, link and profile clicks included, or public interactions only (everyone
    else's Posts), so the two kinds are never mistaken for one another. Hover shows the
    exact engagements and impressions behind each rate. Posts without a rate are counted
    in the subtitle, not drawn as 0.
    """
    data = engagement_rate_data(posts, post_labels=post_labels)
    if data.empty:
        return no_data_figure(_RATE_TITLE)
    names = [plotly_text(n) for n in _strings(data[POST_LABEL])]
    order = list(dict.fromkeys(names))
    fig = go.Figure()
    kinds = data[ENGAGEMENTS_KIND].astype(str)
    for kind, (name, colour) in RATE_KINDS.items():
        part = data.loc[kinds.eq(kind)]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=_floats(part[ENGAGEMENT_RATE_PCT]),
                y=[names[i] for i in part.index],
                orientation="h",
                marker={"color": colour},
                customdata=_rows(
                    _ints(part[ENGAGEMENTS]), _ints(part[IMPRESSIONS]), _strings(part[ID])
                ),
                hovertemplate=(
                    "%{y} (%{customdata[2]})<br>%{x:.2f}% = %{customdata[0]:,} engagements / "
                    "%{customdata[1]:,} impressions<br>(" + name + ")<extra></extra>"
                ),
                name=name,
                meta={"kind": kind},
                showlegend=True,  # the colour always says which kind of engagements it is
            )
        )
    fig.update_yaxes(
        title_text="",
        type="category",
        categoryorder="array",
        categoryarray=order,
        autorange="reversed",
        automargin=True,
    )
    fig.update_xaxes(title_text="Engagement rate (%)", rangemode="tozero")
    missing = _unrated_posts(posts)
    subtitle = f"{missing} Post(s) without impressions are not shown" if missing else None
    header = _Header(subtitle=subtitle is not None, legend_rows=1, facet_titles=False)
    bottom = 50
    height = max(320, header.top + bottom + 28 * len(data))
    fig.update_layout(barmode="overlay", bargap=0.25)
    _base_layout(fig, title=_RATE_TITLE, subtitle=subtitle)
    placed = header.place(fig, height=height, bottom=bottom)
    return placed.update_layout(margin={"l": 10})


# -- every chart's data, for the zip -------------------------------------------------------------

_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_.-]")


def chart_exports(
    frames: Mapping[str, pd.DataFrame], *, post_labels: Mapping[str, str] | None = None
) -> dict[str, pd.DataFrame]:
    """The data of every chart the dashboard draws, by export name: what each chart's
    "Download … (CSV)" button gives, for the zip next to the frames.

    ``organic_vs_promoted`` (summed), ``organic_vs_promoted_per_post``,
    ``engagement_rate`` (the Posts the ranking draws), ``videos`` (the Video page's
    table) and, per video, ``retention_<media_key>`` and ``dropoff_<media_key>``.
    Input: :func:`xmetrics_core.frames.all_frames`.
    """
    exports: dict[str, pd.DataFrame] = {
        "organic_vs_promoted": organic_vs_promoted_data(
            split_long_frame(frames["split_all_posts"])
        ),
        "organic_vs_promoted_per_post": organic_vs_promoted_data(
            split_long_frame(frames["split_per_post"]), post_labels=post_labels
        ),
        "engagement_rate": engagement_rate_data(
            highest_rated_posts(frames["posts"]), post_labels=post_labels
        ),
    }
    media = frames["media"]
    videos = media.loc[media[MEDIA_TYPE].eq("video")].reset_index(drop=True)
    exports["videos"] = videos
    # one pass over every video, then split per video: the same rows as
    # quartile_*_data(one video's quartiles), which is what each chart's button gives
    retention = _by_media(quartile_retention_data(frames["quartiles"]))
    counts = _by_media(quartile_counts_data(frames["quartiles"]))
    empty_retention = quartile_retention_data(frames["quartiles"].iloc[:0])
    empty_counts = quartile_counts_data(frames["quartiles"].iloc[:0])
    for key in _strings(videos[MEDIA_KEY]):
        safe = _UNSAFE_NAME.sub("_", key)
        exports[f"retention_{safe}"] = retention.get(key, empty_retention)
        exports[f"dropoff_{safe}"] = counts.get(key, empty_counts)
    return exports


def _by_media(data: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``data`` split by ``media_key`` (each part re-indexed from 0, rows in order)."""
    return {
        str(key): part.reset_index(drop=True)
        for key, part in data.groupby(MEDIA_KEY, sort=False, observed=True)
    }
