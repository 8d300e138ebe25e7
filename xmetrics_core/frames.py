"""Tidy pandas frames built from a :class:`~xmetrics_core.models.FetchResult`.

Every frame is built in one chain and every metric column name comes from the
catalogue (``Metric.path``, e.g. ``public_metrics.like_count``). Records are
flattened into column arrays in one pass; everything after that is vectorised
pandas (no per-row Python over DataFrames, no ``inplace``; Copy-on-Write safe).

Missing stays missing: a count X did not return is ``<NA>`` (nullable ``Int64``),
a rate whose denominator is missing or zero is ``NaN``; nothing is ever filled
with 0. Empty results give frames with the full schema and the same dtypes.

Contexts
    The catalogue names them ``total``, ``organic`` and ``promoted``
    (:class:`~xmetrics_core.catalogue.Context`). X's ``public_metrics`` and
    ``non_public_metrics`` are totals over every context, so the issue's
    "public" context is our ``total``. The total of a split field comes from
    :func:`~xmetrics_core.catalogue.total_metric` (non-public impressions, clicks
    and playback quartiles; public likes, Retweets, replies and video views).

Derived Post metrics (columns of :func:`posts_frame`)
    ``engagements``
        X's ``non_public_metrics.engagements`` where the API returned it;
        otherwise the stated sum ``public retweet_count + quote_count +
        like_count + reply_count + non_public url_link_clicks +
        user_profile_clicks``, skipping missing parts (all parts missing →
        ``<NA>``). ``engagements_source`` says which: ``"x"`` or ``"sum"``.
    ``impressions``
        The denominator used for the rate: ``non_public_metrics.impression_count``,
        falling back to ``public_metrics.impression_count``.
    ``engagement_rate``
        ``engagements / impressions`` as a fraction (0.05 = 5 %); ``NaN`` when
        impressions are 0 or missing (no division by zero).
    ``reposts_and_quotes``
        ``public retweet_count + quote_count``: what X's apps call reposts and quotes
        (the API still says ``retweet_count``); ``<NA>`` when either part is missing.
    ``post_url``
        The Post on x.com (``https://x.com/i/web/status/<id>``) for every fetched Post;
        ``<NA>`` for IDs without a Post (not found, failed, invalid).

Video quartiles (columns of :func:`quartiles_frame`, per media item and context)
    With ``q_0 … q_100`` the users who played through to 0 (started), 25, 50,
    75 and 100 % of the video:

    * ``retention`` = ``q / q_0`` (fraction of starters still watching);
    * ``step_dropoff`` = ``1 − q_i / q_(i−1)`` (share lost since the previous
      quartile; negative when the count rises);
    * ``absolute_drop`` = ``q_(i−1) − q_i`` (viewers lost; negative on a rise);
    * ``completion_rate`` = ``q_100 / q_0``;
    * ``rises`` is True where ``q_i > q_(i−1)``: viewers who skip ahead are counted
      at a later quartile without the earlier one. Such rows are flagged, never
      hidden or clipped.

    Ratios are ``NaN`` when their denominator is missing or 0. The ``total``
    context reads ``non_public_metrics.playback_*_count``.

Why a video's numbers aggregate across Posts
    X counts a video's views and quartiles on the media item (``media_key``),
    summed over every Post that carries the same video (reposts, quotes, the
    same upload attached twice). A video shared by two pasted Posts therefore
    has one row per context here, listing both Posts in ``post_ids``; adding
    its numbers per Post would double-count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import attrgetter
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from xmetrics_core.bulk import collector_paused
from xmetrics_core.catalogue import (
    ALL_GROUPS,
    MEDIA_METRICS,
    POST_METRICS,
    QUARTILES,
    Context,
    Group,
    Level,
    Metric,
    label_of,
    metric,
    split_fields,
    total_metric,
)
from xmetrics_core.columns import (
    GroupColumns,
    MediaColumns,
    PostColumns,
    media_columns,
    post_columns,
    status_columns,
)
from xmetrics_core.models import FetchResult, IdStatus, PostStatus
from xmetrics_core.references import ParsedReferences

# -- column names that are ours (metric columns are Metric.path) ------------------------------

ID: Final = "id"
POST_ID: Final = "post_id"
POST_IDS: Final = "post_ids"
MEDIA_KEY: Final = "media_key"
MEDIA_KEYS: Final = "media_keys"
CREATED_AT: Final = "created_at"
AUTHOR_ID: Final = "author_id"
TEXT: Final = "text"
STATUS: Final = "status"
STATUS_LABEL: Final = "status_label"
STATUS_DETAIL: Final = "status_detail"
SOURCE: Final = "source"
POSITION: Final = "position"
DETAIL: Final = "detail"
CONTEXT: Final = "context"
GROUP: Final = "group"
METRIC: Final = "metric"
LABEL: Final = "label"
VALUE: Final = "value"
ENGAGEMENTS: Final = "engagements"
ENGAGEMENTS_SOURCE: Final = "engagements_source"
IMPRESSIONS: Final = "impressions"
ENGAGEMENT_RATE: Final = "engagement_rate"
REPOSTS_AND_QUOTES: Final = "reposts_and_quotes"
POST_URL: Final = "post_url"
MEDIA_TYPE: Final = "type"
DURATION_MS: Final = "duration_ms"
PREVIEW_IMAGE_URL: Final = "preview_image_url"
URL: Final = "url"
HAS_SKIPS: Final = "has_skips"
QUARTILE: Final = "quartile"
VIEWERS: Final = "viewers"
RETENTION: Final = "retention"
STEP_DROPOFF: Final = "step_dropoff"
ABSOLUTE_DROP: Final = "absolute_drop"
COMPLETION_RATE: Final = "completion_rate"
RISES: Final = "rises"
ORGANIC: Final = Context.ORGANIC.value
PROMOTED: Final = Context.PROMOTED.value
TOTAL: Final = Context.TOTAL.value
SUM_MATCHES: Final = "sum_matches"

#: ``post_url`` is this followed by the Post ID (see :func:`xmetrics_core.labels.post_url`).
X_POST_URL_PREFIX: Final = "https://x.com/i/web/status/"

#: ``engagements_source`` values.
SOURCE_X: Final = "x"
SOURCE_SUM: Final = "sum"

#: ``post_id`` of the one row per metric that :func:`split_frame` gives with ``per_post=False``.
ALL_POSTS: Final = "All Posts"


def completion_rate_column(context: Context) -> str:
    """Media-frame column holding ``q_100 / q_0`` for one context, e.g. ``completion_rate.organic``."""
    return f"{COMPLETION_RATE}.{context.value}"


# -- metrics the derived columns read (looked up in the catalogue: a typo fails at import) ---


def _post_metric(group: Group, field: str) -> Metric:
    return metric(Level.POST, f"{group.value}.{field}")


_X_ENGAGEMENTS = _post_metric(Group.NON_PUBLIC, "engagements")
_ENGAGEMENT_PARTS: tuple[Metric, ...] = (
    _post_metric(Group.PUBLIC, "retweet_count"),
    _post_metric(Group.PUBLIC, "quote_count"),
    _post_metric(Group.PUBLIC, "like_count"),
    _post_metric(Group.PUBLIC, "reply_count"),
    _post_metric(Group.NON_PUBLIC, "url_link_clicks"),
    _post_metric(Group.NON_PUBLIC, "user_profile_clicks"),
)
_IMPRESSIONS_PRIMARY = total_metric(Level.POST, "impression_count")
_IMPRESSIONS_FALLBACK = _post_metric(Group.PUBLIC, "impression_count")
_REPOSTS_AND_QUOTES_PARTS: tuple[Metric, Metric] = (
    _post_metric(Group.PUBLIC, "retweet_count"),
    _post_metric(Group.PUBLIC, "quote_count"),
)

_CONTEXTS: tuple[Context, ...] = tuple(Context)


def _quartile_metrics(context: Context) -> tuple[Metric, ...]:
    """The five playback metrics of one context, in quartile order."""
    found = sorted(
        (m for m in MEDIA_METRICS if m.quartile is not None and m.context is context),
        key=lambda m: m.quartile or 0,
    )
    if [m.quartile for m in found] != list(QUARTILES):
        raise RuntimeError(f"catalogue lacks playback quartiles for context {context.value}")
    return tuple(found)


_QUARTILE_METRICS: dict[Context, tuple[Metric, ...]] = {c: _quartile_metrics(c) for c in _CONTEXTS}

# -- schemas ----------------------------------------------------------------------------------

_STR: Final = "str"
_INT: Final = "Int64"
_FLOAT: Final = "float64"
_BOOL: Final = "boolean"
_TIME: Final = "datetime64[us, UTC]"
#: Long frames repeat keys on many rows: categorical (codes + one copy of each string).
_KEY: Final = "category"


def _category(values: Iterable[str]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(categories=list(values), ordered=True)


_CONTEXT_DTYPE = _category(c.value for c in _CONTEXTS)
_GROUP_DTYPE = _category(g.value for g in ALL_GROUPS)
_POST_FIELD_DTYPE = _category(dict.fromkeys(m.field for m in POST_METRICS))
_POST_LABEL_DTYPE = _category(dict.fromkeys(m.label for m in POST_METRICS))

POST_METRIC_COLUMNS: tuple[str, ...] = tuple(m.path for m in POST_METRICS)
MEDIA_METRIC_COLUMNS: tuple[str, ...] = tuple(m.path for m in MEDIA_METRICS)

POSTS_SCHEMA: Mapping[str, str] = {
    ID: _STR,
    CREATED_AT: _TIME,
    AUTHOR_ID: _STR,
    TEXT: _STR,
    STATUS: _STR,
    STATUS_LABEL: _STR,
    STATUS_DETAIL: _STR,
    **dict.fromkeys(POST_METRIC_COLUMNS, _INT),
    ENGAGEMENTS: _INT,
    ENGAGEMENTS_SOURCE: _STR,
    IMPRESSIONS: _INT,
    ENGAGEMENT_RATE: _FLOAT,
    REPOSTS_AND_QUOTES: _INT,
    MEDIA_KEYS: _STR,
    POST_URL: _STR,
}
STATUSES_SCHEMA: Mapping[str, str] = {
    ID: _STR,
    SOURCE: _STR,
    POSITION: _INT,
    STATUS: _STR,
    STATUS_LABEL: _STR,
    DETAIL: _STR,
}
METRICS_LONG_SCHEMA: Mapping[str, object] = {
    POST_ID: _KEY,
    CONTEXT: _CONTEXT_DTYPE,
    GROUP: _GROUP_DTYPE,
    METRIC: _POST_FIELD_DTYPE,
    LABEL: _POST_LABEL_DTYPE,
    VALUE: _INT,
}
MEDIA_SCHEMA: Mapping[str, str] = {
    MEDIA_KEY: _STR,
    MEDIA_TYPE: _STR,
    DURATION_MS: _INT,
    PREVIEW_IMAGE_URL: _STR,
    URL: _STR,
    POST_IDS: _STR,
    **dict.fromkeys(MEDIA_METRIC_COLUMNS, _INT),
    **{completion_rate_column(c): _FLOAT for c in _CONTEXTS},
    HAS_SKIPS: "bool",
}
QUARTILES_SCHEMA: Mapping[str, object] = {
    MEDIA_KEY: _KEY,
    POST_IDS: _KEY,
    CONTEXT: _CONTEXT_DTYPE,
    QUARTILE: "int64",
    VIEWERS: _INT,
    RETENTION: _FLOAT,
    STEP_DROPOFF: _FLOAT,
    ABSOLUTE_DROP: _INT,
    COMPLETION_RATE: _FLOAT,
    RISES: _BOOL,
}
_SPLIT_FIELD_DTYPE = _category(split_fields(Level.POST))
_SPLIT_LABEL_DTYPE = _category(dict.fromkeys(label_of(f) for f in split_fields(Level.POST)))
SPLIT_SCHEMA: Mapping[str, object] = {
    POST_ID: _KEY,
    METRIC: _SPLIT_FIELD_DTYPE,
    LABEL: _SPLIT_LABEL_DTYPE,
    ORGANIC: _INT,
    PROMOTED: _INT,
    TOTAL: _INT,
    SUM_MATCHES: _BOOL,
}
SPLIT_LONG_SCHEMA: Mapping[str, object] = {
    POST_ID: _KEY,
    METRIC: _SPLIT_FIELD_DTYPE,
    LABEL: _SPLIT_LABEL_DTYPE,
    CONTEXT: _CONTEXT_DTYPE,
    VALUE: _INT,
    SUM_MATCHES: _BOOL,
}

# -- flattening records into column arrays (the one pass over Python objects) ----------------

_NO_GROUP: Mapping[str, int | None] = {}

FloatMatrix = npt.NDArray[np.float64]

_STATUS_VALUE: Mapping[PostStatus, str] = {s: s.value for s in PostStatus}
_STATUS_LABEL_OF: Mapping[PostStatus, str] = {s: s.label for s in PostStatus}


def _attr(values: Sequence[Any], name: str) -> list[Any]:
    """One attribute of every value, in order (a C-level pass)."""
    return list(map(attrgetter(name), values))


def _str_array(values: Sequence[Any]) -> Any:
    """Strings (None: missing) as the ``str`` dtype's Arrow array, converted by Arrow in one
    pass; anything else than strings and None as pandas converts it."""
    try:
        arrow = pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.array(values, dtype=_STR)
    return pd.array(arrow, dtype=_STR)


def _int_array(values: Sequence[int | None]) -> pd.arrays.IntegerArray:
    """Nullable Int64 array from Python ints and Nones (None → <NA>, never 0)."""
    return _int_from_float(np.array(values, dtype=np.float64))


def _int_from_float(values: FloatMatrix) -> pd.arrays.IntegerArray:
    """Nullable Int64 array from floats where NaN means missing (one int64 copy)."""
    missing = np.isnan(values)
    data = np.zeros(values.shape, dtype=np.int64)
    np.copyto(data, values, casting="unsafe", where=~missing)
    return pd.arrays.IntegerArray(data, missing)


def _metric_columns(groups: Sequence[GroupColumns], metrics: Sequence[Metric]) -> dict[str, object]:
    """Each metric's column (Int64, <NA> where X sent null or left the value out), read from
    the groups' columns (``ALL_GROUPS`` order): the counts are the columns' own (no copy)."""
    by_group = dict(zip((g.value for g in ALL_GROUPS), groups, strict=True))
    columns: dict[str, object] = {}
    for m in metrics:
        values, missing = by_group[m.group.value].column(m.field)
        columns[m.path] = pd.arrays.IntegerArray(values, missing)
    return columns


def _post_table(posts: PostColumns) -> pd.DataFrame:
    """Post columns as a frame: id, created_at, author_id, text, media_keys, metric paths."""
    return pd.DataFrame(
        {
            ID: _str_array(posts.ids),
            CREATED_AT: pd.DatetimeIndex(posts.created_at, dtype=_TIME),
            AUTHOR_ID: _str_array(posts.author_ids),
            TEXT: _str_array(posts.texts),
            MEDIA_KEYS: _str_array(list(map(" ".join, posts.media_keys))),
            **_metric_columns(posts.groups, POST_METRICS),
        },
        copy=False,
    )


def _known_positions(positions: Sequence[int]) -> pd.arrays.IntegerArray:
    """Each status's paste position; <NA> where unknown (negative)."""
    known = np.fromiter(positions, np.int64, len(positions))
    return pd.arrays.IntegerArray(known, known < 0)


def _status_table(statuses: Sequence[IdStatus]) -> pd.DataFrame:
    columns = status_columns(statuses)
    kinds = columns.statuses
    return pd.DataFrame(
        {
            ID: _str_array(columns.ids),
            SOURCE: _str_array(columns.sources),
            POSITION: _known_positions(columns.positions),
            STATUS: _str_array(list(map(_STATUS_VALUE.__getitem__, kinds))),
            STATUS_LABEL: _str_array(list(map(_STATUS_LABEL_OF.__getitem__, kinds))),
            DETAIL: _str_array(columns.details),
        },
        copy=False,
    )


def _carriers(posts: PostColumns, media: MediaColumns) -> list[str]:
    """For each media row, the Posts carrying it, space-joined: pasted Posts first (result
    order), then any others the media record names."""
    if media.post_ids_from_posts:  # the parser's: post_ids are the pasted Posts already
        return list(map(" ".join, map(dict.fromkeys, media.post_ids)))
    pasted: dict[str, list[str]] = {}
    for post_id, keys in zip(posts.ids, posts.media_keys, strict=True):
        for key in keys:
            pasted.setdefault(key, []).append(post_id)
    joined: dict[str, str] = {}
    for key, named in zip(media.keys, media.post_ids, strict=True):
        from_posts = pasted.get(key, [])
        if len(named) == 1 and from_posts == [named[0]] and key not in joined:
            joined[key] = named[0]  # the usual case: one Post carries it, both sides agree
        else:
            earlier = joined.get(key, "").split()
            joined[key] = " ".join(dict.fromkeys([*from_posts, *earlier, *named]))
    return list(map(joined.__getitem__, media.keys))


def _media_table(result: FetchResult) -> pd.DataFrame:
    media = media_columns(result.media)
    carriers = _carriers(post_columns(result.posts), media)
    return pd.DataFrame(
        {
            MEDIA_KEY: _str_array(media.keys),
            MEDIA_TYPE: _str_array(media.types),
            DURATION_MS: _int_array(media.durations),
            PREVIEW_IMAGE_URL: _str_array(media.preview_image_urls),
            URL: _str_array(media.urls),
            POST_IDS: _str_array(carriers),
            **_metric_columns(media.groups, MEDIA_METRICS),
        },
        copy=False,
    )


# -- small pure helpers over columns ---------------------------------------------------------


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` as float64; NaN where either is missing or the
    denominator is 0 (zero denominators are masked before dividing, never divided by)."""
    num = numerator.astype(_FLOAT)
    den = denominator.astype(_FLOAT)
    return num / den.where(den > 0)


def _with_schema(frame: pd.DataFrame, schema: Mapping[str, object]) -> pd.DataFrame:
    """Exactly the schema's columns, in its order, with its dtypes."""
    return frame.reindex(columns=list(schema)).astype(dict(schema))  # type: ignore[arg-type]


def _categorical_take(
    values: pd.Series, positions: npt.NDArray[np.signedinteger[Any]]
) -> pd.Categorical:
    """``values[positions]`` as a categorical (int32 codes, one copy of each distinct string).

    Strings without missing values are encoded by Arrow (``dictionary_encode``: codes and
    distinct values in first-seen order, what ``pd.factorize`` gives, at half its cost)."""
    array = values.array
    uniques: pd.Index
    if isinstance(array, pd.arrays.ArrowStringArray) and len(array) and not values.hasnans:
        encoded = pc.dictionary_encode(pa.array(array))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = encoded.indices.to_numpy().astype(np.int32)
        uniques = pd.Index(pd.array(encoded.dictionary, dtype=values.dtype))
    else:
        factorized, uniques = pd.factorize(values)
        codes = factorized.astype(np.int32)
    categorical: pd.Categorical = pd.Categorical.from_codes(
        codes[positions],
        categories=uniques,
    )
    return categorical


def _with_derived_post_metrics(posts: pd.DataFrame) -> pd.DataFrame:
    """Add engagements (+ source), impressions, engagement_rate, reposts_and_quotes and the
    Post's URL."""
    from_x = posts[_X_ENGAGEMENTS.path]
    stated_sum = posts[[m.path for m in _ENGAGEMENT_PARTS]].sum(axis=1, min_count=1).astype(_INT)
    engagements = from_x.fillna(stated_sum)
    impressions = posts[_IMPRESSIONS_PRIMARY.path].fillna(posts[_IMPRESSIONS_FALLBACK.path])
    retweets, quotes = (posts[m.path] for m in _REPOSTS_AND_QUOTES_PARTS)
    source = (
        pd.Series(np.nan, index=posts.index, dtype=_STR)
        .mask(stated_sum.notna().to_numpy(dtype=bool), SOURCE_SUM)
        .mask(from_x.notna().to_numpy(dtype=bool), SOURCE_X)
    )
    derived: dict[str, Any] = {
        ENGAGEMENTS: engagements,
        ENGAGEMENTS_SOURCE: source,
        IMPRESSIONS: impressions,
        ENGAGEMENT_RATE: _ratio(engagements, impressions),
        REPOSTS_AND_QUOTES: retweets + quotes,
        POST_URL: (X_POST_URL_PREFIX + posts[ID].astype(_STR)).where(
            posts[AUTHOR_ID].notna() | posts[TEXT].notna()
        ),
    }
    return posts.assign(**derived)


# -- frames from the flattened tables (shared by the public functions and all_frames) --------


def _joined_with_statuses(records: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Status columns + record columns, one row per status (paste order), then any record
    without a status. When both list the same IDs in the same order (the usual case) the
    columns are put side by side without a merge."""
    by_status = statuses.rename(columns={DETAIL: STATUS_DETAIL})
    if len(by_status) == len(records) and by_status[ID].equals(records[ID]):
        return pd.concat([by_status, records.drop(columns=ID)], axis=1)
    # object dtype: Arrow-string isin converts value by value in Python.
    unmatched = records.loc[~records[ID].astype(object).isin(by_status[ID].astype(object))]
    return pd.concat(
        [
            by_status.merge(records, on=ID, how="left", sort=False, validate="many_to_one"),
            unmatched,
        ],
        ignore_index=True,
    )


def _posts_from(records: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    return (
        _joined_with_statuses(records, statuses)
        .astype(dict.fromkeys(POST_METRIC_COLUMNS, _INT))
        .pipe(_with_derived_post_metrics)
        .pipe(_with_schema, POSTS_SCHEMA)
    )


_POST_CONTEXT_CODES = np.array([_CONTEXTS.index(m.context) for m in POST_METRICS], dtype=np.int8)
_POST_GROUP_CODES = np.array([ALL_GROUPS.index(m.group) for m in POST_METRICS], dtype=np.int8)
_POST_FIELD_CODES = np.array(
    [list(_POST_FIELD_DTYPE.categories).index(m.field) for m in POST_METRICS], dtype=np.int8
)
_POST_LABEL_CODES = np.array(
    [list(_POST_LABEL_DTYPE.categories).index(m.label) for m in POST_METRICS], dtype=np.int8
)


def _present_values(records: pd.DataFrame) -> pd.DataFrame:
    """One row per value present, Post-major then catalogue order."""
    values = records[list(POST_METRIC_COLUMNS)].to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(values)
    rows = np.repeat(np.arange(len(values), dtype=np.int32), present.sum(axis=1))
    cols = np.broadcast_to(np.arange(values.shape[1], dtype=np.int8), values.shape)[present]
    return pd.DataFrame(
        {
            POST_ID: _categorical_take(records[ID], rows),
            CONTEXT: pd.Categorical.from_codes(_POST_CONTEXT_CODES[cols], dtype=_CONTEXT_DTYPE),
            GROUP: pd.Categorical.from_codes(_POST_GROUP_CODES[cols], dtype=_GROUP_DTYPE),
            METRIC: pd.Categorical.from_codes(_POST_FIELD_CODES[cols], dtype=_POST_FIELD_DTYPE),
            LABEL: pd.Categorical.from_codes(_POST_LABEL_CODES[cols], dtype=_POST_LABEL_DTYPE),
            VALUE: _int_from_float(values[present]),
        },
        copy=False,
    )


def _metrics_long_from(records: pd.DataFrame) -> pd.DataFrame:
    return records.pipe(_present_values).pipe(_with_schema, METRICS_LONG_SCHEMA)


def _completion_rates(media: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        completion_rate_column(c): _ratio(
            media[_QUARTILE_METRICS[c][-1].path], media[_QUARTILE_METRICS[c][0].path]
        )
        for c in _CONTEXTS
    }


def _has_skips(media: pd.DataFrame) -> pd.Series:
    """True where any context's count rises from one quartile to the next."""
    rises = [
        media[later.path].gt(media[earlier.path]).fillna(False)
        for metrics in _QUARTILE_METRICS.values()
        for earlier, later in pairwise(metrics)
    ]
    return pd.concat(rises, axis=1).any(axis=1)


def _media_from(media: pd.DataFrame) -> pd.DataFrame:
    return media.assign(**_completion_rates(media), **{HAS_SKIPS: _has_skips(media)}).pipe(
        _with_schema, MEDIA_SCHEMA
    )


_N_QUARTILES = len(QUARTILES)


def _ratio_array(numerator: FloatMatrix, denominator: FloatMatrix) -> FloatMatrix:
    """Element-wise ``numerator / denominator``; NaN where either is missing or the
    denominator is 0 (those cells are never divided)."""
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _quartile_rows(media: pd.DataFrame) -> pd.DataFrame:
    """media × context × quartile rows with every quartile measure, exactly
    len(QUARTILES) rows per (media, context), in quartile order, for every (media,
    context) with at least one playback count.

    Computed on (media × context) × quartile blocks: ``q`` the counts, ``previous`` the
    count one quartile earlier (NaN at quartile 0), ``q[:, 0]`` the starters.
    """
    n_contexts = len(_CONTEXTS)
    paths = [m.path for c in _CONTEXTS for m in _QUARTILE_METRICS[c]]
    counts = media[paths].to_numpy(dtype=np.float64, na_value=np.nan)
    counts = counts.reshape(len(media) * n_contexts, _N_QUARTILES)
    kept = np.flatnonzero(~np.isnan(counts).all(axis=1)).astype(np.int32)
    q = counts[kept]
    previous = np.concatenate([np.full((len(kept), 1), np.nan), q[:, :-1]], axis=1)
    starters = q[:, :1]
    first = np.zeros(q.shape, dtype=bool)
    first[:, 0] = True
    media_pos = np.repeat(kept // n_contexts, _N_QUARTILES)
    return pd.DataFrame(
        {
            MEDIA_KEY: _categorical_take(media[MEDIA_KEY], media_pos),
            POST_IDS: _categorical_take(media[POST_IDS], media_pos),
            CONTEXT: pd.Categorical.from_codes(
                np.repeat(kept % n_contexts, _N_QUARTILES), dtype=_CONTEXT_DTYPE
            ),
            QUARTILE: np.tile(np.asarray(QUARTILES, dtype=np.int64), len(kept)),
            VIEWERS: _int_from_float(q.ravel()),
            RETENTION: _ratio_array(q, starters).ravel(),
            STEP_DROPOFF: (1.0 - _ratio_array(q, previous)).ravel(),
            ABSOLUTE_DROP: _int_from_float((previous - q).ravel()),
            COMPLETION_RATE: np.repeat(_ratio_array(q[:, -1], q[:, 0]), _N_QUARTILES),
            RISES: pd.arrays.BooleanArray(
                ((q > previous) & ~first).ravel(),
                ((np.isnan(q) | np.isnan(previous)) & ~first).ravel(),
            ),
        },
        copy=False,
    )


def _quartiles_from(media: pd.DataFrame) -> pd.DataFrame:
    return media.pipe(_quartile_rows).pipe(_with_schema, QUARTILES_SCHEMA)


_SPLIT_FIELDS = split_fields(Level.POST)
_SPLIT_LABELS = {f: _post_metric(Group.ORGANIC, f).label for f in _SPLIT_FIELDS}
_SPLIT_PATHS: dict[Context, list[str]] = {
    Context.ORGANIC: [_post_metric(Group.ORGANIC, f).path for f in _SPLIT_FIELDS],
    Context.PROMOTED: [_post_metric(Group.PROMOTED, f).path for f in _SPLIT_FIELDS],
    Context.TOTAL: [total_metric(Level.POST, f).path for f in _SPLIT_FIELDS],
}


def _split_rows(records: pd.DataFrame) -> pd.DataFrame:
    """(Post, split field) rows with organic, promoted and total, Post-major order; only
    Posts with at least one organic or promoted value."""
    parts = _SPLIT_PATHS[Context.ORGANIC] + _SPLIT_PATHS[Context.PROMOTED]
    needed = [ID, *dict.fromkeys(parts + _SPLIT_PATHS[Context.TOTAL])]
    with_split = records[needed].loc[records[parts].notna().any(axis=1)]

    def stacked(context: Context) -> pd.arrays.IntegerArray:
        matrix = with_split[_SPLIT_PATHS[context]].to_numpy(dtype=np.float64, na_value=np.nan)
        return _int_from_float(matrix.ravel())

    return pd.DataFrame(
        {
            POST_ID: _categorical_take(
                with_split[ID], np.repeat(np.arange(len(with_split)), len(_SPLIT_FIELDS))
            ),
            METRIC: pd.Categorical.from_codes(
                np.tile(np.arange(len(_SPLIT_FIELDS)), len(with_split)), dtype=_SPLIT_FIELD_DTYPE
            ),
            ORGANIC: stacked(Context.ORGANIC),
            PROMOTED: stacked(Context.PROMOTED),
            TOTAL: stacked(Context.TOTAL),
        },
        copy=False,
    )


def _kleene_all(values: pd.Series) -> bool | None:
    """False if any False; else None (unknown) if any missing; else True."""
    if values.eq(False).fillna(False).any():
        return False
    if values.isna().any():
        return None
    return True


def _summed_over_posts(split: pd.DataFrame) -> pd.DataFrame:
    """One row per metric: organic, promoted and total summed over Posts (missing skipped;
    all missing → <NA>); ``sum_matches`` False if any Post's check fails, <NA> if any is
    unknown, else True."""
    grouped = split.groupby(METRIC, sort=False, observed=True)
    return (
        grouped[[ORGANIC, PROMOTED, TOTAL]]
        .sum(min_count=1)
        .assign(**{SUM_MATCHES: grouped[SUM_MATCHES].agg(_kleene_all).astype(_BOOL)})
        .reset_index()
        .assign(**{POST_ID: ALL_POSTS})
    )


def _split_per_post(records: pd.DataFrame) -> pd.DataFrame:
    return (
        records.pipe(_split_rows)
        .assign(**{SUM_MATCHES: lambda d: d[TOTAL].eq(d[ORGANIC] + d[PROMOTED])})
        .assign(**{LABEL: lambda d: d[METRIC].map(_SPLIT_LABELS).astype(_SPLIT_LABEL_DTYPE)})
        .pipe(_with_schema, SPLIT_SCHEMA)
    )


def _split_all_posts(per_post: pd.DataFrame) -> pd.DataFrame:
    return (
        per_post.pipe(_summed_over_posts)
        .assign(**{LABEL: lambda d: d[METRIC].map(_SPLIT_LABELS).astype(_SPLIT_LABEL_DTYPE)})
        .pipe(_with_schema, SPLIT_SCHEMA)
    )


# -- public frames ----------------------------------------------------------------------------


def statuses_frame(result: FetchResult) -> pd.DataFrame:
    """One row per :class:`IdStatus` in the result's order (unique IDs, then invalid tokens).

    Columns: ``id, source, position, status, status_label, detail``; ``position`` is
    ``<NA>`` when unknown.
    """
    return _status_table(result.statuses).pipe(_with_schema, STATUSES_SCHEMA)


def paste_statuses_frame(result: FetchResult, paste: ParsedReferences) -> pd.DataFrame:
    """One row per pasted token, in paste order: what the "Status of every ID" table shows.

    ``paste`` is the parse of the text that was fetched. A unique valid ID gets its status
    from ``result`` (``failed`` if the result has none: it cannot be, but nothing is lost);
    an invalid token says why; a repeat of an earlier ID is ``duplicate``, its detail naming
    the first token (``same Post as pasted token #3``, 1-based). Columns as
    :func:`statuses_frame`; ``source`` is the token as pasted.
    """
    by_id = {s.id: s for s in result.statuses if s.status is not PostStatus.INVALID}
    invalid_detail = {
        s.position: s.detail for s in result.statuses if s.status is PostStatus.INVALID
    }
    missing = IdStatus(id="", status=PostStatus.FAILED, detail="no result for this ID")
    found = [by_id.get(ref.id, missing) for ref in paste.refs]
    invalid, repeats = paste.invalid, paste.duplicates
    positions = np.fromiter(
        chain(
            map(attrgetter("position"), paste.refs),
            map(attrgetter("position"), invalid),
            map(attrgetter("position"), repeats),
        ),
        dtype=np.int64,
        count=len(paste.refs) + len(invalid) + len(repeats),
    )
    order = np.argsort(positions, kind="stable")

    def column(values: list[str]) -> Any:
        return pd.array(np.asarray(values, dtype=object)[order], dtype=_STR)

    kinds = [
        *map(attrgetter("status"), found),
        *[PostStatus.INVALID] * len(invalid),
        *[PostStatus.DUPLICATE] * len(repeats),
    ]
    table = pd.DataFrame(
        {
            ID: column(
                [
                    *map(attrgetter("id"), paste.refs),
                    *map(attrgetter("text"), invalid),
                    *map(attrgetter("id"), repeats),
                ]
            ),
            SOURCE: column(
                [
                    *map(attrgetter("source"), paste.refs),
                    *map(attrgetter("text"), invalid),
                    *map(attrgetter("source"), repeats),
                ]
            ),
            POSITION: pd.array(positions[order], dtype=_INT),
            STATUS: column(list(map(_STATUS_VALUE.__getitem__, kinds))),
            STATUS_LABEL: column(list(map(_STATUS_LABEL_OF.__getitem__, kinds))),
            DETAIL: column(
                [
                    *map(attrgetter("detail"), found),
                    *(invalid_detail.get(t.position, t.reason) for t in invalid),
                    *(
                        f"same Post as pasted token #{r.first_position + 1}; fetched once"
                        for r in repeats
                    ),
                ]
            ),
        },
        copy=False,
    )
    return table.pipe(_with_schema, STATUSES_SCHEMA)


def posts_frame(result: FetchResult) -> pd.DataFrame:
    """The wide Posts table: one row per pasted ID, so every ID shows its status.

    Rows follow ``result.statuses`` (unique IDs in paste order, then invalid tokens); a
    Post record without a status (should not happen) is appended with status missing.
    IDs without metrics (not found, failed, invalid …) keep every metric ``<NA>``.

    Columns: ``id, created_at, author_id, text, status, status_label, status_detail``,
    every Post ``Metric.path`` (Int64), then the derived ``engagements`` (Int64),
    ``engagements_source`` (``"x"`` | ``"sum"``), ``impressions`` (Int64),
    ``engagement_rate`` (float, a fraction), ``reposts_and_quotes`` (Int64),
    ``media_keys`` (space-joined) and ``post_url`` (the Post on x.com; missing for IDs
    without a Post). Formulas (see the module docstring):

    * engagements = ``non_public_metrics.engagements`` if X gave it, else
      retweet_count + quote_count + like_count + reply_count (public) +
      url_link_clicks + user_profile_clicks (non-public), missing parts skipped,
      all missing → <NA>;
    * impressions = non-public impression_count, else public impression_count;
    * engagement_rate = engagements / impressions; NaN when impressions are 0 or missing;
    * reposts_and_quotes = retweet_count + quote_count (public); <NA> if either is.
    """
    return _posts_from(_post_table(post_columns(result.posts)), _status_table(result.statuses))


def with_derived_post_metrics(posts: pd.DataFrame) -> pd.DataFrame:
    """Any frame with the Post metric columns (``Metric.path``, Int64) plus
    :func:`posts_frame`'s derived columns, by the same formulas: ``engagements``,
    ``engagements_source``, ``impressions``, ``engagement_rate`` and
    ``retweets_and_comments``. The history store uses it so a snapshot's numbers are
    derived exactly as a fetch's are."""
    return _with_derived_post_metrics(posts)


def metrics_long_frame(result: FetchResult) -> pd.DataFrame:
    """Post metrics in long form, what the charts read: one row per value X returned.

    Columns: ``post_id`` (categorical), ``context`` (``total`` for public and non-public
    metrics, which are totals over every context; else ``organic`` / ``promoted``),
    ``group`` (X's group), ``metric`` (X's sub-field name, e.g. ``like_count``), ``label``
    (the catalogue's label), ``value`` (Int64). Rows run Post by Post (result order),
    metrics in catalogue order. A value X did not return has no row (never a 0).
    """
    return _metrics_long_from(_post_table(post_columns(result.posts)))


def media_frame(result: FetchResult) -> pd.DataFrame:
    """One row per media item (by ``media_key``, result order).

    Columns: ``media_key, type, duration_ms, preview_image_url, url, post_ids`` (every
    Post carrying it, space-joined, pasted Posts first), every media ``Metric.path``
    (Int64; photos carry none, so all ``<NA>``), ``completion_rate.total`` /
    ``.organic`` / ``.promoted`` (= playback_100_count / playback_0_count of that
    context; NaN when q_0 is 0 or missing) and ``has_skips`` (True when any context's
    count rises between consecutive quartiles; see :func:`quartiles_frame`). A video's
    counts aggregate across every Post that carries it (see the module docstring).
    """
    return _media_from(_media_table(result))


def quartiles_frame(result: FetchResult) -> pd.DataFrame:
    """Video quartiles in long form: one row per media item × context × quartile.

    Columns: ``media_key``, ``post_ids`` (both categorical), ``context``, ``quartile``
    (0/25/50/75/100), ``viewers`` (Int64: users who played to that quartile),
    ``retention`` = q / q_0, ``step_dropoff`` = 1 − q_i / q_(i−1) (NaN at quartile 0),
    ``absolute_drop`` = q_(i−1) − q_i (``<NA>`` at quartile 0), ``completion_rate`` =
    q_100 / q_0 (repeated on each row of a media × context) and ``rises`` (True where
    q_i > q_(i−1): skips are flagged, never hidden; False at quartile 0; ``<NA>`` when
    either count is missing). Ratios are NaN when their denominator is missing or 0.

    A (media, context) appears only when X returned at least one playback count for it
    (photos and public-only videos give no rows). ``total`` reads
    ``non_public_metrics.playback_*_count``. Counts aggregate across every Post that
    carries the video.
    """
    return _quartiles_from(_media_table(result))


def split_frame(result: FetchResult, *, per_post: bool) -> pd.DataFrame:
    """Organic vs promoted per split field: what the "organic vs promoted" chart shows.

    Columns: ``post_id`` (``"All Posts"`` when ``per_post`` is False), ``metric`` (sub-field,
    e.g. ``like_count``), ``label`` (these three categorical), ``organic``, ``promoted``,
    ``total`` (Int64; the total from
    ``catalogue.total_metric``: non-public impressions and clicks; public likes,
    Retweets and replies) and ``sum_matches`` = (total == organic + promoted), ``<NA>``
    when any part is missing. X documents public = organic + promoted, so False flags
    a data problem.

    Only Posts with organic or promoted metrics appear. With ``per_post=False`` each
    metric is summed over those Posts (missing parts skipped, all missing → ``<NA>``)
    and ``sum_matches`` is False if any Post's check fails, else ``<NA>`` if any is
    unknown, else True.
    """
    per_post_rows = _split_per_post(_post_table(post_columns(result.posts)))
    return per_post_rows if per_post else _split_all_posts(per_post_rows)


def split_long_frame(split: pd.DataFrame) -> pd.DataFrame:
    """:func:`split_frame` melted for the chart: one row per Post × metric × context.

    Columns: ``post_id, metric, label, context`` (total, organic, promoted), ``value``
    (Int64, ``<NA>`` when missing), ``sum_matches``. Rows: Post, metric, then context in
    catalogue order (total, organic, promoted).
    """
    contexts = [c.value for c in _CONTEXTS]
    return (
        split.reset_index(names="_row")
        .melt(
            id_vars=["_row", POST_ID, METRIC, LABEL, SUM_MATCHES],
            value_vars=contexts,
            var_name=CONTEXT,
            value_name=VALUE,
        )
        .assign(_order=lambda d: pd.Categorical(d[CONTEXT], categories=contexts).codes)
        .sort_values(["_row", "_order"], kind="stable")
        .pipe(_with_schema, SPLIT_LONG_SCHEMA)
        .reset_index(drop=True)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryTotals:
    """The Posts page's cards, over every Post of a :func:`posts_frame` (None: no value)."""

    impressions: int | None
    """Sum of ``impressions`` (missing skipped; all missing → None)."""
    engagements: int | None
    """Sum of ``engagements`` (missing skipped; all missing → None)."""
    engagement_rate: float | None
    """Engagements ÷ impressions over the Posts that have both; None without impressions."""
    reposts_and_quotes: int | None
    """Sum of ``reposts_and_quotes`` (X's reposts + quotes)."""


def _total(values: pd.Series) -> int | None:
    total = values.sum(min_count=1)
    return None if pd.isna(total) else int(total)


def summary_totals(posts: pd.DataFrame) -> SummaryTotals:
    """Totals over a :func:`posts_frame`: what the summary cards show."""
    both = posts[IMPRESSIONS].notna() & posts[ENGAGEMENTS].notna()
    rated_impressions = _total(posts.loc[both, IMPRESSIONS])
    rated_engagements = _total(posts.loc[both, ENGAGEMENTS])
    rate = (
        rated_engagements / rated_impressions
        if rated_impressions and rated_engagements is not None
        else None
    )
    return SummaryTotals(
        impressions=_total(posts[IMPRESSIONS]),
        engagements=_total(posts[ENGAGEMENTS]),
        engagement_rate=rate,
        reposts_and_quotes=_total(posts[REPOSTS_AND_QUOTES]),
    )


def all_frames(
    result: FetchResult, *, paste: ParsedReferences | None = None
) -> dict[str, pd.DataFrame]:
    """Every frame by its export name, in a fixed order (the zip's order).

    With ``paste`` (the parse of the fetched text), ``statuses`` has one row per pasted
    token in paste order, duplicates included (:func:`paste_statuses_frame`); without it,
    one row per unique ID then per invalid token (:func:`statuses_frame`).

    Records are flattened once (Posts once, media once) and shared by every frame; the
    frames with the largest temporaries are built first and the media table is released
    early, which keeps the peak memory low.
    """
    with collector_paused():
        return _all_frames(result, paste=paste)


def _all_frames(result: FetchResult, *, paste: ParsedReferences | None) -> dict[str, pd.DataFrame]:
    media_table = _media_table(result)
    quartiles = _quartiles_from(media_table)
    media = _media_from(media_table)
    del media_table
    records = _post_table(post_columns(result.posts))
    metrics_long = _metrics_long_from(records)
    split_per_post = _split_per_post(records)
    split_all_posts = _split_all_posts(split_per_post)
    statuses = _status_table(result.statuses)
    posts = _posts_from(records, statuses)
    del records
    return {
        "posts": posts,
        "statuses": statuses.pipe(_with_schema, STATUSES_SCHEMA)
        if paste is None
        else paste_statuses_frame(result, paste),
        "metrics_long": metrics_long,
        "media": media,
        "quartiles": quartiles,
        "split_per_post": split_per_post,
        "split_all_posts": split_all_posts,
    }


__all__ = [
    "ALL_POSTS",
    "MEDIA_METRIC_COLUMNS",
    "POST_METRIC_COLUMNS",
    "all_frames",
    "completion_rate_column",
    "media_frame",
    "metrics_long_frame",
    "paste_statuses_frame",
    "posts_frame",
    "quartiles_frame",
    "split_frame",
    "split_long_frame",
    "statuses_frame",
    "summary_totals",
    "with_derived_post_metrics",
]
