"""History queries: tidy pandas frames from the snapshots, ready for plotly express.

Every frame has a fixed schema (the same columns and dtypes when empty), metric columns and
names from the catalogue and :mod:`xmetrics_core.frames`, times as ``datetime64[us, UTC]``
(the user's time zone is a display choice), and a missing count as ``<NA>``, never 0.

Ages are ``fetched_at - created_at``: "hours since posting", so Posts published at different
times line up. Only snapshots whose status carries metrics feed the curves; a snapshot where
X left a metric out simply has no point for it.

Reading one metric "in a context" (``total``, ``organic``, ``promoted``) follows the
catalogue: ``organic``/``promoted`` read ``<context>_metrics.<field>``, ``total`` reads
:func:`~xmetrics_core.catalogue.total_metric` (non-public impressions and clicks, public
likes, Retweets, replies …).

**Value at an age.** The value at age *A* is read off the snapshots on either side of *A*
(the creation time counts as a snapshot with every count 0), linearly in time, and marked
``interpolated`` unless a snapshot sits exactly at *A*. ``gap_hours`` is the distance between
the two; a value whose gap is wider than ``max(A, 1 h) × max_gap_factor`` is left missing, and
nothing is extrapolated past the newest snapshot.

**Same-age baseline.** Each Post against the median (or CrowdTangle's trimmed mean) of the
same author's *other* Posts at the same age (leave-one-out), as ``times_normal`` = value ÷
baseline ("× normal"); missing when fewer than ``min_others`` other Posts have a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

from xmetrics_core.catalogue import (
    ALL_GROUPS,
    MEDIA_METRICS,
    POST_METRICS,
    QUARTILES,
    Context,
    Group,
    Level,
    Metric,
    metric,
    metrics_for,
    total_metric,
)
from xmetrics_core.frames import (
    AUTHOR_ID,
    CONTEXT,
    CREATED_AT,
    ENGAGEMENT_RATE,
    GROUP,
    ID,
    LABEL,
    MEDIA_KEY,
    METRIC,
    POST_ID,
    POST_IDS,
    QUARTILE,
    RETENTION,
    STATUS,
    STATUS_DETAIL,
    STATUS_LABEL,
    TEXT,
    VALUE,
    VIEWERS,
    with_derived_post_metrics,
)
from xmetrics_core.store.keys import chunks, epoch
from xmetrics_core.store.schema import (
    METRIC_STATUS_CODES,
    STATUS_OF_CODE,
    fetches,
    media,
    media_days,
    media_posts,
    media_snapshots,
    metric_column,
    post_days,
    post_snapshots,
    posts,
    status_details,
)

FETCHED_AT: Final = "fetched_at"
HOURS: Final = "hours_since_posting"
AGE: Final = "age"
AGE_HOURS: Final = "age_hours"
INTERPOLATED: Final = "interpolated"
GAP_HOURS: Final = "gap_hours"
BASELINE: Final = "baseline"
TIMES_NORMAL: Final = "times_normal"
OTHERS: Final = "others"
WEEKDAY: Final = "weekday"
HOUR: Final = "hour"
MEDIAN_ENGAGEMENT_RATE: Final = "median_engagement_rate"
POSTS: Final = "posts"

WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: The ages the History page reports by default.
DEFAULT_AGES: Final = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(hours=48),
    timedelta(days=7),
)
BaselineMethod = Literal["median", "trimmed_mean"]

_TIME: Final = "datetime64[us, UTC]"
_INT: Final = "Int64"
_STR: Final = "str"
_FLOAT: Final = "float64"
_CONTEXT_DTYPE: Final = pd.CategoricalDtype([c.value for c in Context], ordered=True)
_WEEKDAY_DTYPE: Final = pd.CategoricalDtype(list(WEEKDAYS), ordered=True)
_METRIC_STATUSES: Final = METRIC_STATUS_CODES

POST_METRIC_PATHS: Final = tuple(m.path for m in POST_METRICS)


def age_label(age: timedelta) -> str:
    """``1 h``, ``48 h``, ``7 d``, ``90 min``: how the tables name an age."""
    seconds = int(age.total_seconds())
    if seconds % 86400 == 0 and seconds >= 7 * 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def context_metric(field: str, context: Context) -> Metric | None:
    """The Post metric holding ``field`` in ``context`` (None when X has none)."""
    try:
        if context is Context.TOTAL:
            return total_metric(Level.POST, field)
        group = Group.ORGANIC if context is Context.ORGANIC else Group.PROMOTED
        return metric(Level.POST, f"{group.value}.{field}")
    except KeyError:
        return None


def _seconds(values: Any) -> npt.NDArray[np.float64]:
    """Numbers (ints, floats with NaN, or None) as float64 with NaN where missing (numpy turns
    None into NaN for a float array)."""
    plain = values.tolist() if isinstance(values, pd.Series) else values
    return np.array(plain, dtype=np.float64)


def _times(seconds: Any) -> pd.DatetimeIndex:
    """Epoch seconds → UTC datetimes (``datetime64[us, UTC]``; NaT where missing)."""
    values = _seconds(seconds)
    micros = np.where(np.isnan(values), np.iinfo(np.int64).min, values * 1_000_000).astype(np.int64)
    return pd.DatetimeIndex(micros.view("datetime64[us]")).tz_localize("UTC")


def _with_schema(frame: pd.DataFrame, schema: Mapping[str, object]) -> pd.DataFrame:
    return frame.reindex(columns=list(schema)).astype(dict(schema))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which snapshots a query reads: the Posts (IDs, or all of one author, or all), and
    optionally only those read by one account (its key)."""

    post_ids: tuple[str, ...] | None = None
    author_id: str | None = None
    account_pk: int | None = None
    everything_empty: bool = False
    """True when the scope names an account the store has never seen: every frame is empty."""

    def post_conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.post_ids is not None:
            conditions.append(posts.c.id.in_(self.post_ids))
        if self.author_id is not None:
            conditions.append(posts.c.author_id == self.author_id)
        return conditions

    def snapshot_conditions(self, table: sa.Table | sa.FromClause) -> list[sa.ColumnElement[bool]]:
        if self.account_pk is None:
            return []
        return [table.c.account_pk == self.account_pk]


def _rows(connection: sa.Connection, query: sa.Select[Any]) -> pd.DataFrame:
    """The query's rows as a frame. SQLAlchemy compiles the query; the driver's own cursor
    runs it and hands back plain tuples (SQLAlchemy's per-row result processing was half the
    time of a 14,400-row growth query, and these columns need none). Integer columns with
    NULLs come out as float64 with NaN (counts are far below 2**53)."""
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    bound = compiled.construct_params()
    arguments: Any = (
        [bound[name] for name in compiled.positiontup or ()] if compiled.positional else bound
    )
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), arguments)
        names = [str(column[0]) for column in cursor.description or ()]
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    return pd.DataFrame(dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)))


def _scoped_chunks(scope: Scope) -> Iterable[Scope]:
    """Long ID lists in chunks (SQLite's limit on bound values)."""
    if scope.post_ids is None or len(scope.post_ids) <= 500:
        yield scope
        return
    for part in chunks(scope.post_ids):
        yield Scope(post_ids=tuple(part), author_id=scope.author_id, account_pk=scope.account_pk)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _post_snapshot_rows(
    scope: Scope,
    columns: Sequence[sa.ColumnElement[Any]],
    *,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    first_day: int | None = None,
    last_day: int | None = None,
    post_fields: bool = False,
) -> sa.Select[Any]:
    """The snapshots of the Posts in scope, found the way the layout wants: the Post's days
    (``post_days``), the fetches of each day, one key lookup in ``post_snapshots`` per fetch.
    Selects ``id``, ``created_at`` (and ``author_id``, ``text`` with ``post_fields``) and
    ``columns`` (of ``post_snapshots``)."""
    day_conditions: list[sa.ColumnElement[bool]] = []
    if first_day is not None:
        day_conditions.append(post_days.c.day >= first_day)
    if last_day is not None:
        day_conditions.append(post_days.c.day <= last_day)
    labels = [posts.c.author_id, posts.c.text] if post_fields else []
    pairs = (
        sa.select(
            posts.c.id,
            posts.c.created_at,
            *labels,
            post_days.c.post_pk,
            fetches.c.pk.label("fetch_pk"),
        )
        .select_from(posts)
        .join(post_days, post_days.c.post_pk == posts.c.pk)
        .join(fetches, fetches.c.day == post_days.c.day)
        .where(*scope.post_conditions(), *day_conditions)
        .cte("pairs")
        .prefix_with("MATERIALIZED")  # (Post, fetch) pairs first, then one key lookup each
    )
    chosen = [pairs.c.id, pairs.c.created_at]
    if post_fields:
        chosen += [pairs.c.author_id, pairs.c.text]
    return (
        sa.select(*chosen, *columns)
        .select_from(pairs)
        .join(
            post_snapshots,
            sa.and_(
                post_snapshots.c.fetch_pk == pairs.c.fetch_pk,
                post_snapshots.c.post_pk == pairs.c.post_pk,
            ),
        )
        .where(*scope.snapshot_conditions(post_snapshots), *conditions)
    )


# -- latest snapshot per Post ------------------------------------------------------------------

LATEST_SCHEMA: Final[Mapping[str, object]] = {
    ID: _STR,
    FETCHED_AT: _TIME,
    CREATED_AT: _TIME,
    AUTHOR_ID: _STR,
    TEXT: _STR,
    STATUS: _STR,
    STATUS_LABEL: _STR,
    STATUS_DETAIL: _STR,
    **dict.fromkeys(POST_METRIC_PATHS, _INT),
    "engagements": _INT,
    "engagements_source": _STR,
    "impressions": _INT,
    ENGAGEMENT_RATE: _FLOAT,
    "retweets_and_comments": _INT,
}

_POST_COLUMN_PATHS: Final = {metric_column(m): m.path for m in POST_METRICS}


def _status_columns(frame: pd.DataFrame) -> dict[str, Any]:
    kinds = [STATUS_OF_CODE[int(c)] for c in frame["status_code"]]
    return {
        STATUS: [k.value for k in kinds],
        STATUS_LABEL: [k.label for k in kinds],
        STATUS_DETAIL: frame["detail"].fillna(""),
    }


def latest(connection: sa.Connection, scope: Scope, *, with_metrics: bool = True) -> pd.DataFrame:
    """The newest snapshot of each Post in scope: one row per Post, newest Post first.

    Columns: ``id, fetched_at, created_at, author_id, text, status, status_label,
    status_detail``, every Post metric path (Int64), then the derived ``engagements``,
    ``engagements_source``, ``impressions``, ``engagement_rate`` and ``retweets_and_comments``
    (:func:`xmetrics_core.frames.with_derived_post_metrics`). ``with_metrics`` (default) skips
    snapshots without metrics (a Post found deleted later keeps its last numbers); False
    gives the newest snapshot whatever its status.
    """
    if scope.everything_empty:
        return _with_schema(pd.DataFrame(), LATEST_SCHEMA)
    frames = [
        _latest_rows(connection, part, with_metrics=with_metrics) for part in _scoped_chunks(scope)
    ]
    raw = _concat(frames)
    if raw.empty:
        return _with_schema(pd.DataFrame(), LATEST_SCHEMA)
    raw = raw.sort_values(["id", "fetch_pk"]).drop_duplicates("id", keep="last")
    frame = (
        raw.rename(columns=_POST_COLUMN_PATHS)
        .assign(
            **{
                FETCHED_AT: _times(raw["fetched_at"]),
                CREATED_AT: _times(raw["created_at"]),
                **_status_columns(raw),
            }
        )
        .astype(dict.fromkeys(POST_METRIC_PATHS, _INT))
        .pipe(with_derived_post_metrics)
        .sort_values([CREATED_AT, ID], ascending=[False, True], na_position="last")
    )
    return _with_schema(frame, LATEST_SCHEMA).reset_index(drop=True)


def _latest_rows(connection: sa.Connection, scope: Scope, *, with_metrics: bool) -> pd.DataFrame:
    """Each Post's newest snapshot: on the Post's last day, the newest fetch holding it; for
    the few Posts whose last day has no snapshot that qualifies (a Post found deleted, with
    ``with_metrics``), the newest of all their snapshots."""
    probe = post_snapshots.alias("probe")
    qualifies: list[sa.ColumnElement[bool]] = [*scope.snapshot_conditions(probe)]
    if with_metrics:
        qualifies.append(probe.c.status.in_(_METRIC_STATUSES))
    last_day = (
        sa.select(sa.func.max(post_days.c.day))
        .where(post_days.c.post_pk == posts.c.pk)
        .correlate(posts)
        .scalar_subquery()
    )
    newest_fetch = (
        sa.select(fetches.c.pk)
        .select_from(fetches)
        .join(probe, sa.and_(probe.c.fetch_pk == fetches.c.pk, probe.c.post_pk == posts.c.pk))
        .where(fetches.c.day == last_day, *qualifies)
        .order_by(fetches.c.fetched_at.desc(), fetches.c.pk.desc())
        .limit(1)
        .correlate(posts)
        .scalar_subquery()
    )
    picked = (
        sa.select(posts.c.pk.label("post_pk"), newest_fetch.label("fetch_pk"))
        .where(*scope.post_conditions())
        .cte("picked")
        .prefix_with("MATERIALIZED")  # pick first, then look the rows up by key
    )
    columns = [
        post_snapshots.c.fetched_at,
        post_snapshots.c.fetch_pk,
        post_snapshots.c.status.label("status_code"),
        status_details.c.text.label("detail"),
        *(post_snapshots.c[name] for name in _POST_COLUMN_PATHS),
    ]
    query = (
        sa.select(posts.c.id, posts.c.created_at, posts.c.author_id, posts.c.text, *columns)
        .select_from(picked)
        .join(posts, posts.c.pk == picked.c.post_pk)
        .join(
            post_snapshots,
            sa.and_(
                post_snapshots.c.fetch_pk == picked.c.fetch_pk,
                post_snapshots.c.post_pk == picked.c.post_pk,
            ),
        )
        .outerjoin(status_details, status_details.c.pk == post_snapshots.c.detail_pk)
    )
    found = _rows(connection, query)
    # Posts with snapshots, none of which qualified on their last day
    with_days = sa.select(posts.c.id).where(
        *scope.post_conditions(), sa.exists().where(post_days.c.post_pk == posts.c.pk)
    )
    missing = sorted(
        set(connection.execute(with_days).scalars()) - set(found["id"] if not found.empty else ())
    )
    if not missing:
        return found
    conditions = [post_snapshots.c.status.in_(_METRIC_STATUSES)] if with_metrics else []
    rest = []
    for part in chunks(missing):
        narrowed = Scope(post_ids=tuple(part), account_pk=scope.account_pk)
        rest.append(
            _rows(
                connection,
                _post_snapshot_rows(
                    narrowed, columns, conditions=conditions, post_fields=True
                ).outerjoin(status_details, status_details.c.pk == post_snapshots.c.detail_pk),
            )
        )
    older = _concat(rest)
    if older.empty:
        return found
    older = older.sort_values(["id", "fetched_at", "fetch_pk"]).drop_duplicates("id", keep="last")
    return older if found.empty else pd.concat([found, older], ignore_index=True)


# -- growth on hours since posting -------------------------------------------------------------

GROWTH_SCHEMA: Final[Mapping[str, object]] = {
    POST_ID: _STR,
    FETCHED_AT: _TIME,
    HOURS: _FLOAT,
    CONTEXT: _CONTEXT_DTYPE,
    GROUP: _STR,
    METRIC: _STR,
    LABEL: _STR,
    VALUE: _INT,
}


def _context_metrics(field: str, contexts: Iterable[Context]) -> list[tuple[Context, Metric]]:
    found = [(c, m) for c in contexts if (m := context_metric(field, c)) is not None]
    if not found:
        known = sorted({m.field for m in POST_METRICS})
        raise ValueError(
            f"no Post metric {field!r} in these contexts; known fields: {', '.join(known)}"
        )
    return found


def growth(
    connection: sa.Connection,
    scope: Scope,
    *,
    field: str,
    contexts: Iterable[Context] = tuple(Context),
) -> pd.DataFrame:
    """One metric over time for the Posts in scope, by context, on hours since posting.

    Long: ``post_id, fetched_at, hours_since_posting, context, group, metric, label, value``;
    one row per snapshot with a value (oldest first within each Post and context), so
    ``px.line(frame, x="hours_since_posting", y="value", color="post_id",
    line_dash="context")`` draws it.
    """
    chosen = _context_metrics(field, contexts)
    if scope.everything_empty:
        return _with_schema(pd.DataFrame(), GROWTH_SCHEMA)
    columns = sorted({metric_column(m) for _, m in chosen})
    parts = []
    for part in _scoped_chunks(scope):
        query = _post_snapshot_rows(
            part,
            [
                post_snapshots.c.fetched_at,
                post_snapshots.c.fetch_pk,
                *(post_snapshots.c[n] for n in columns),
            ],
            conditions=[post_snapshots.c.status.in_(_METRIC_STATUSES)],
        )
        parts.append(_rows(connection, query))
    raw = _concat(parts)
    if raw.empty:
        return _with_schema(pd.DataFrame(), GROWTH_SCHEMA)
    # Posts in the order asked (others after, by ID), then time: sorted in numpy, not pandas
    ids = raw["id"].tolist()
    asked = {pid: n for n, pid in enumerate(scope.post_ids or ())}
    by_id = {pid: n for n, pid in enumerate(sorted(set(ids)))}
    post_rank = np.array([asked.get(pid, len(asked) + by_id[pid]) for pid in ids], dtype=np.int64)
    fetched = _seconds(raw["fetched_at"])
    hours = (fetched - _seconds(raw["created_at"])) / 3600.0
    values = np.stack([_seconds(raw[metric_column(m)]) for _, m in chosen])  # contexts × rows
    present = ~np.isnan(values)
    context_of, row_of = np.nonzero(present)
    order = np.lexsort(
        (_seconds(raw["fetch_pk"])[row_of], fetched[row_of], context_of, post_rank[row_of])
    )
    rows, picked = row_of[order], context_of[order]
    chosen_contexts = [c.value for c, _ in chosen]
    metrics_of = [m for _, m in chosen]
    frame = pd.DataFrame(
        {
            POST_ID: pd.array([ids[r] for r in rows], dtype=_STR),
            FETCHED_AT: _times(fetched[rows]),
            HOURS: hours[rows],
            CONTEXT: pd.Categorical.from_codes(
                np.array(
                    [
                        _CONTEXT_DTYPE.categories.get_loc(chosen_contexts[c])
                        for c in range(len(chosen))
                    ]
                )[picked],
                dtype=_CONTEXT_DTYPE,
            ),
            GROUP: np.array([m.group.value for m in metrics_of], dtype=object)[picked],
            METRIC: np.array([m.field for m in metrics_of], dtype=object)[picked],
            LABEL: np.array([m.label for m in metrics_of], dtype=object)[picked],
            VALUE: values[context_of[order], rows],
        }
    )
    return _with_schema(frame, GROWTH_SCHEMA).reset_index(drop=True)


# -- the value at given ages -------------------------------------------------------------------

AT_AGES_SCHEMA: Final[Mapping[str, object]] = {
    POST_ID: _STR,
    AGE: _STR,
    AGE_HOURS: _FLOAT,
    VALUE: _FLOAT,
    INTERPOLATED: "boolean",
    GAP_HOURS: _FLOAT,
}


def _allowed_gap(age_seconds: float, factor: float) -> float:
    """The widest gap between two snapshots a value at this age may be read across."""
    return max(age_seconds, 3600.0) * factor


def _ages_table(ages: Sequence[timedelta], factor: float) -> sa.Subquery:
    selects = [
        sa.select(
            sa.literal(int(a.total_seconds()), sa.BigInteger).label("age"),
            sa.literal(int(_allowed_gap(a.total_seconds(), factor)), sa.BigInteger).label(
                "allowed"
            ),
        )
        for a in ages
    ]
    union = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return union.subquery("ages")


def _brackets(
    connection: sa.Connection,
    scope: Scope,
    column: str,
    ages: Sequence[timedelta],
    factor: float,
) -> pd.DataFrame:
    """For each (Post, age): the nearest snapshots with a value at or before and at or after
    the target time (no further than the allowed gap), their times and values.

    Each side walks the fetches from the target time outwards and stops at the first one
    holding the Post with a value (``ORDER BY fetched_at … LIMIT 1``): one key lookup when the
    Post is read every hour."""
    ages_table = _ages_table(ages, factor)
    targets = (
        sa.select(
            posts.c.pk.label("post_pk"),
            posts.c.id,
            posts.c.created_at,
            ages_table.c.age,
            ages_table.c.allowed,
            (posts.c.created_at + ages_table.c.age).label("target"),
        )
        .select_from(posts)
        .join(ages_table, sa.true())
        .where(*scope.post_conditions(), posts.c.created_at.is_not(None))
        .subquery("targets")
    )

    def nearest(before: bool) -> sa.ScalarSelect[Any]:
        probe = post_snapshots.alias()
        target, allowed, when = targets.c.target, targets.c.allowed, fetches.c.fetched_at
        window = (
            [when <= target, when >= target - allowed]
            if before
            else [when >= target, when <= target + allowed]
        )
        order = [when.desc(), fetches.c.pk.desc()] if before else [when.asc(), fetches.c.pk.asc()]
        return (
            sa.select(fetches.c.pk)
            .select_from(fetches)
            .join(
                probe,
                sa.and_(probe.c.fetch_pk == fetches.c.pk, probe.c.post_pk == targets.c.post_pk),
            )
            .where(
                *window,
                probe.c[column].is_not(None),
                probe.c.status.in_(_METRIC_STATUSES),
                *scope.snapshot_conditions(probe),
            )
            .order_by(*order)
            .limit(1)
            .correlate(targets)
            .scalar_subquery()
        )

    timed = (
        sa.select(
            targets,
            nearest(True).label("before_fetch"),
            nearest(False).label("after_fetch"),
        )
        .cte("timed")
        .prefix_with("MATERIALIZED")  # walk the fetches once per target, then look rows up by key
    )

    def looked_up(column_name: str, fetch: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
        row = post_snapshots.alias()
        return (
            sa.select(row.c[column_name])
            .where(row.c.fetch_pk == fetch, row.c.post_pk == timed.c.post_pk)
            .correlate(timed)
            .scalar_subquery()
        )

    # one key lookup each (a join let PostgreSQL hash the whole snapshot table)
    query = sa.select(
        timed.c.id,
        timed.c.created_at,
        timed.c.age,
        timed.c.target,
        looked_up("fetched_at", timed.c.before_fetch).label("before_at"),
        looked_up("fetched_at", timed.c.after_fetch).label("after_at"),
        looked_up(column, timed.c.before_fetch).label("before_value"),
        looked_up(column, timed.c.after_fetch).label("after_value"),
    )
    return _rows(connection, query)


def values_at_ages(
    connection: sa.Connection,
    scope: Scope,
    *,
    field: str,
    context: Context = Context.TOTAL,
    ages: Sequence[timedelta] = DEFAULT_AGES,
    max_gap_factor: float = 1.0,
) -> pd.DataFrame:
    """The value of one metric at each age for each Post in scope (module docstring).

    Columns: ``post_id, age`` (``"24 h"``), ``age_hours``, ``value`` (float: interpolated
    values are fractional; NaN when unknown), ``interpolated`` (boolean; <NA> when unknown),
    ``gap_hours`` (hours between the snapshots read). One row per Post × age, Posts in the
    order asked (else by ID), ages in the order given.
    """
    chosen = _context_metrics(field, [context])
    if not ages:
        raise ValueError("give at least one age")
    if scope.everything_empty:
        return _with_schema(pd.DataFrame(), AT_AGES_SCHEMA)
    column = metric_column(chosen[0][1])
    raw = _concat(
        [
            _brackets(connection, part, column, ages, max_gap_factor)
            for part in _scoped_chunks(scope)
        ]
    )
    return _interpolated(raw, ages=ages, max_gap_factor=max_gap_factor, order=scope.post_ids)


def _interpolated(
    raw: pd.DataFrame,
    *,
    ages: Sequence[timedelta],
    max_gap_factor: float,
    order: Sequence[str] | None,
) -> pd.DataFrame:
    if raw.empty:
        return _with_schema(pd.DataFrame(), AT_AGES_SCHEMA)

    def as_float(name: str) -> npt.NDArray[np.float64]:
        return _seconds(raw[name])

    target = as_float("target")
    created = as_float("created_at")
    before_at, after_at = as_float("before_at"), as_float("after_at")
    before_value, after_value = as_float("before_value"), as_float("after_value")
    # the creation time is a snapshot where every count is 0
    no_before = np.isnan(before_at)
    before_at = np.where(no_before, created, before_at)
    before_value = np.where(no_before, 0.0, before_value)
    exact_before = before_at == target
    exact_after = after_at == target
    span = after_at - before_at
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(span > 0, (target - before_at) / span, 0.0)
    value = np.where(
        exact_before,
        before_value,
        np.where(exact_after, after_value, before_value + share * (after_value - before_value)),
    )
    gap = np.where(exact_before | exact_after, 0.0, span)
    age = as_float("age")
    allowed = np.array([_allowed_gap(a, max_gap_factor) for a in age])
    known = (exact_before & ~np.isnan(before_value)) | (
        ~np.isnan(after_at) & ~np.isnan(value) & (gap <= allowed)
    )
    value = np.where(known, value, np.nan)
    labels = {int(a.total_seconds()): age_label(a) for a in ages}
    positions = {int(a.total_seconds()): n for n, a in enumerate(ages)}
    post_order = {pid: n for n, pid in enumerate(order or ())}
    frame = pd.DataFrame(
        {
            POST_ID: raw["id"].astype(_STR),
            AGE: raw["age"].map(labels),
            AGE_HOURS: age / 3600.0,
            VALUE: value,
            INTERPOLATED: pd.arrays.BooleanArray(~(exact_before | exact_after), ~known),
            GAP_HOURS: np.where(known, gap / 3600.0, np.nan),
            "_post": raw["id"].map(post_order).fillna(len(post_order)),
            "_age": raw["age"].map(positions),
        }
    ).sort_values(["_post", POST_ID, "_age"], kind="stable")
    return _with_schema(frame, AT_AGES_SCHEMA).reset_index(drop=True)


# -- the account's same-age baseline -----------------------------------------------------------

BASELINE_SCHEMA: Final[Mapping[str, object]] = {
    **AT_AGES_SCHEMA,
    BASELINE: _FLOAT,
    TIMES_NORMAL: _FLOAT,
    OTHERS: "int64",
}


def _others_at(
    ordered: npt.NDArray[np.float64], ranks: npt.NDArray[np.int64], index: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """``ordered`` without the element at ``ranks[i]``, read at ``index[i]`` (vectorised)."""
    shifted = np.where(index < ranks, index, index + 1)
    picked: npt.NDArray[np.float64] = ordered[np.clip(shifted, 0, len(ordered) - 1)]
    return picked


def leave_one_out(
    values: npt.NDArray[np.float64], *, method: BaselineMethod, trim: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """For each element, the median or trimmed mean of the *other* known values, and how many
    there were. NaN elements are not "others" of anyone; their baseline uses every known value."""
    n_total = len(values)
    known = ~np.isnan(values)
    ordered = np.sort(values[known])
    n = len(ordered)
    # rank of each known element in `ordered`; unknown elements remove nothing (rank n)
    ranks = np.full(n_total, n, dtype=np.int64)
    ranks[np.flatnonzero(known)[np.argsort(values[known], kind="stable")]] = np.arange(n)
    m = np.where(known, n - 1, n).astype(np.int64)  # how many others
    out = np.full(n_total, np.nan)
    ok = m > 0
    if method == "median":
        lower = np.where(ok, (m - 1) // 2, 0)
        upper = np.where(ok, m // 2, 0)
        if n:
            out = np.where(
                ok,
                (_others_at(ordered, ranks, lower) + _others_at(ordered, ranks, upper)) / 2,
                np.nan,
            )
    elif method == "trimmed_mean":
        if not 0 <= trim < 0.5:
            raise ValueError("trim must be in [0, 0.5)")
        cut = np.floor(m * trim).astype(np.int64)
        kept = m - 2 * cut
        prefix = np.concatenate([[0.0], np.cumsum(ordered)])

        def others_sum(
            start: npt.NDArray[np.int64], stop: npt.NDArray[np.int64]
        ) -> npt.NDArray[np.float64]:
            # sum of others[start:stop], others = ordered without ordered[rank]
            plain = prefix[np.clip(stop, 0, n)] - prefix[np.clip(start, 0, n)]
            shifted = prefix[np.clip(stop + 1, 0, n)] - prefix[np.clip(start + 1, 0, n)]
            spanning = (
                prefix[np.clip(stop + 1, 0, n)]
                - prefix[np.clip(start, 0, n)]
                - ordered[np.clip(ranks, 0, max(n - 1, 0))]
                if n
                else plain
            )
            summed: npt.NDArray[np.float64] = np.where(
                stop <= ranks, plain, np.where(start >= ranks, shifted, spanning)
            )
            return summed

        if n:
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(ok & (kept > 0), others_sum(cut, m - cut) / kept, np.nan)
    else:
        raise ValueError(f"unknown baseline method {method!r}: median or trimmed_mean")
    return out, m


def baseline(
    connection: sa.Connection,
    scope: Scope,
    *,
    author_id: str,
    field: str,
    context: Context = Context.TOTAL,
    ages: Sequence[timedelta] = DEFAULT_AGES,
    method: BaselineMethod = "median",
    trim: float = 0.25,
    min_others: int = 3,
    max_gap_factor: float = 1.0,
) -> pd.DataFrame:
    """Each Post of ``author_id`` (or only ``scope.post_ids`` of them) against the median or
    trimmed mean of the author's other Posts at the same age.

    Columns: those of :func:`values_at_ages`, then ``baseline`` (NaN when fewer than
    ``min_others`` other Posts have a value at that age), ``times_normal`` = value ÷ baseline
    (NaN when either is missing or the baseline is 0) and ``others`` (how many Posts the
    baseline was taken over).
    """
    whole = Scope(
        author_id=author_id, account_pk=scope.account_pk, everything_empty=scope.everything_empty
    )
    at_ages = values_at_ages(
        connection, whole, field=field, context=context, ages=ages, max_gap_factor=max_gap_factor
    )
    if at_ages.empty:
        return _with_schema(pd.DataFrame(), BASELINE_SCHEMA)
    baselines = np.full(len(at_ages), np.nan)
    others = np.zeros(len(at_ages), dtype=np.int64)
    values = at_ages[VALUE].to_numpy(dtype=np.float64, na_value=np.nan)
    for _, rows in at_ages.groupby(AGE, sort=False).indices.items():
        stat, count = leave_one_out(values[rows], method=method, trim=trim)
        baselines[rows] = np.where(count >= min_others, stat, np.nan)
        others[rows] = count
    with np.errstate(invalid="ignore", divide="ignore"):
        times = np.where(baselines > 0, values / baselines, np.nan)
    frame = at_ages.assign(**{BASELINE: baselines, TIMES_NORMAL: times, OTHERS: others})
    if scope.post_ids is not None:
        order = {pid: n for n, pid in enumerate(scope.post_ids)}
        frame = (
            frame.loc[frame[POST_ID].isin(list(order))]
            .assign(_post=lambda d: d[POST_ID].map(order))
            .sort_values("_post", kind="stable")
        )
    return _with_schema(frame, BASELINE_SCHEMA).reset_index(drop=True)


# -- best time to post -------------------------------------------------------------------------

BEST_TIME_SCHEMA: Final[Mapping[str, object]] = {
    WEEKDAY: _WEEKDAY_DTYPE,
    HOUR: "int64",
    MEDIAN_ENGAGEMENT_RATE: _FLOAT,
    POSTS: "int64",
}


def best_time(
    connection: sa.Connection,
    scope: Scope,
    *,
    author_id: str,
    time_zone: str = "UTC",
    min_age: timedelta = timedelta(hours=24),
) -> pd.DataFrame:
    """Weekday × hour (in ``time_zone``) of the author's Posts: the median engagement rate
    of their newest snapshot and how many Posts each cell holds.

    A Post counts once its newest snapshot is at least ``min_age`` old (a younger Post has
    not had its engagement yet); the rate is :func:`xmetrics_core.frames.posts_frame`'s
    (engagements ÷ impressions). Always 7 × 24 rows, Monday 0 h first; an empty cell has
    ``posts`` 0 and a NaN rate.
    """
    zone = ZoneInfo(time_zone)  # raises ZoneInfoNotFoundError (a KeyError) for unknown zones
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["_day", HOUR])
    newest = latest(
        connection,
        Scope(
            author_id=author_id,
            account_pk=scope.account_pk,
            everything_empty=scope.everything_empty,
        ),
    )
    if not newest.empty:
        age = newest[FETCHED_AT] - newest[CREATED_AT]
        newest = newest.loc[(age >= pd.Timedelta(min_age)).fillna(False).to_numpy(dtype=bool)]
    local = newest[CREATED_AT].dt.tz_convert(zone)
    cells = (
        pd.DataFrame(
            {
                "_day": local.dt.day_of_week.astype("int64"),
                HOUR: local.dt.hour.astype("int64"),
                ENGAGEMENT_RATE: newest[ENGAGEMENT_RATE].astype(_FLOAT),
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
    frame = cells.assign(
        **{
            WEEKDAY: pd.Series(
                pd.Categorical.from_codes(cells["_day"].to_numpy(), dtype=_WEEKDAY_DTYPE),
                index=cells.index,
            ),
            POSTS: cells[POSTS].fillna(0).astype("int64"),
        }
    )
    return _with_schema(frame, BEST_TIME_SCHEMA)


# -- video retention over time -----------------------------------------------------------------

RETENTION_SCHEMA: Final[Mapping[str, object]] = {
    MEDIA_KEY: _STR,
    POST_IDS: _STR,
    FETCHED_AT: _TIME,
    HOURS: _FLOAT,
    CONTEXT: _CONTEXT_DTYPE,
    QUARTILE: "int64",
    VIEWERS: _INT,
    RETENTION: _FLOAT,
}


def _quartile_columns(context: Context) -> list[str]:
    chosen = sorted(
        (m for m in MEDIA_METRICS if m.quartile is not None and m.context is context),
        key=lambda m: m.quartile or 0,
    )
    return [metric_column(m) for m in chosen]


def retention(
    connection: sa.Connection,
    scope: Scope,
    *,
    media_keys: Sequence[str] | None = None,
    contexts: Iterable[Context] = (Context.TOTAL,),
) -> pd.DataFrame:
    """Video quartile retention at every snapshot of the videos carried by the Posts in
    scope (or of ``media_keys``): ``media_key, post_ids`` (the carrying Posts, space-joined),
    ``fetched_at, hours_since_posting`` (since the first carrying Post), ``context,
    quartile, viewers`` and ``retention`` = viewers ÷ viewers at quartile 0, as in
    :func:`xmetrics_core.frames.quartiles_frame`. Only snapshots with a count at quartile
    0 of that context appear."""
    if scope.everything_empty:
        return _with_schema(pd.DataFrame(), RETENTION_SCHEMA)
    carriers = sa.select(media_posts.c.media_pk, posts.c.id, posts.c.created_at).join(
        posts, posts.c.pk == media_posts.c.post_pk
    )
    chosen_contexts = list(contexts)
    columns = sorted({c for ctx in chosen_contexts for c in _quartile_columns(ctx)})
    conditions: list[sa.ColumnElement[bool]] = [*scope.snapshot_conditions(media_snapshots)]
    if media_keys is not None:
        conditions.append(media.c.media_key.in_(list(media_keys)))
    if scope.post_ids is not None or scope.author_id is not None:
        wanted = (
            sa.select(media_posts.c.media_pk)
            .join(posts, posts.c.pk == media_posts.c.post_pk)
            .where(*scope.post_conditions())
        )
        conditions.append(media.c.pk.in_(wanted))
    query = (
        sa.select(
            media.c.pk,
            media.c.media_key,
            media_snapshots.c.fetched_at,
            *(media_snapshots.c[c] for c in columns),
        )
        .select_from(media)
        .join(media_days, media_days.c.media_pk == media.c.pk)
        .join(fetches, fetches.c.day == media_days.c.day)
        .join(
            media_snapshots,
            sa.and_(
                media_snapshots.c.fetch_pk == fetches.c.pk,
                media_snapshots.c.media_pk == media_days.c.media_pk,
            ),
        )
        .where(*conditions)
        .order_by(media.c.media_key, media_snapshots.c.fetched_at, media_snapshots.c.fetch_pk)
    )
    raw = _rows(connection, query)
    if raw.empty:
        return _with_schema(pd.DataFrame(), RETENTION_SCHEMA)
    links = _rows(connection, carriers.where(media_posts.c.media_pk.in_(sorted(set(raw["pk"])))))
    joined = (
        links.sort_values(["media_pk", "created_at", "id"])
        .groupby("media_pk")
        .agg(post_ids=("id", " ".join), first_created=("created_at", "min"))
    )
    raw = raw.join(joined, on="pk")
    pieces = []
    for context in chosen_contexts:
        names = _quartile_columns(context)
        counts = raw[names].astype(_FLOAT).to_numpy(dtype=np.float64, na_value=np.nan)
        keep = ~np.isnan(counts[:, 0])
        counts = counts[keep]
        kept = raw.loc[keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(counts[:, :1] > 0, counts / counts[:, :1], np.nan)
        n = len(kept)
        pieces.append(
            pd.DataFrame(
                {
                    MEDIA_KEY: np.repeat(kept["media_key"].to_numpy(), len(QUARTILES)),
                    POST_IDS: np.repeat(kept["post_ids"].fillna("").to_numpy(), len(QUARTILES)),
                    "_fetched": np.repeat(
                        kept["fetched_at"].to_numpy(dtype=np.float64), len(QUARTILES)
                    ),
                    "_created": np.repeat(
                        kept["first_created"].astype(_FLOAT).to_numpy(), len(QUARTILES)
                    ),
                    CONTEXT: context.value,
                    QUARTILE: np.tile(np.asarray(QUARTILES, dtype=np.int64), n),
                    VIEWERS: pd.array(counts.ravel(), dtype=_FLOAT).astype(_INT)
                    if n
                    else pd.array([], dtype=_INT),
                    RETENTION: ratio.ravel(),
                }
            )
        )
    long = pd.concat(pieces, ignore_index=True)
    frame = long.assign(
        **{
            FETCHED_AT: pd.Series(_times(long["_fetched"]), index=long.index),
            HOURS: (long["_fetched"] - long["_created"]) / 3600.0,
        }
    )
    return _with_schema(frame, RETENTION_SCHEMA).reset_index(drop=True)


# -- one row per Post × snapshot (the CLI's `history`) -----------------------------------------


def history_columns(groups: Iterable[Group] = ALL_GROUPS) -> list[str]:
    """``id, fetched_at, status, status_detail`` and the Post metric paths of ``groups``, in
    catalogue order: the columns of ``python -m xmetrics_core fetch`` with ``fetched_at`` in
    place of the Post's own fields."""
    return [
        ID,
        FETCHED_AT,
        STATUS,
        STATUS_DETAIL,
        *(m.path for m in metrics_for(Level.POST, groups)),
    ]


def history_rows(
    connection: sa.Connection,
    scope: Scope,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    groups: Iterable[Group] = ALL_GROUPS,
) -> pd.DataFrame:
    """Every snapshot in scope, oldest first (then by Post ID): the columns of
    :func:`history_columns` (``fetched_at`` UTC; metrics Int64, empty where X returned
    nothing); every status is included (a Post found deleted shows as ``not_found``)."""
    wanted = history_columns(groups)
    schema = {
        c: _TIME if c == FETCHED_AT else (_INT if c in POST_METRIC_PATHS else _STR) for c in wanted
    }
    if scope.everything_empty:
        return _with_schema(pd.DataFrame(), schema)
    by_path = {path: name for name, path in _POST_COLUMN_PATHS.items()}
    metric_names = [by_path[c] for c in wanted if c in by_path]
    time_conditions: list[sa.ColumnElement[bool]] = []
    if since is not None:
        time_conditions.append(post_snapshots.c.fetched_at >= epoch(since))
    if until is not None:
        time_conditions.append(post_snapshots.c.fetched_at <= epoch(until))
    parts = []
    for part in _scoped_chunks(scope):
        query = _post_snapshot_rows(
            part,
            [
                post_snapshots.c.fetched_at,
                post_snapshots.c.fetch_pk,
                post_snapshots.c.status.label("status_code"),
                status_details.c.text.label("detail"),
                *(post_snapshots.c[n] for n in metric_names),
            ],
            conditions=time_conditions,
            first_day=None if since is None else epoch(since) // 86400,
            last_day=None if until is None else epoch(until) // 86400,
        ).outerjoin(status_details, status_details.c.pk == post_snapshots.c.detail_pk)
        parts.append(_rows(connection, query))
    raw = _concat(parts)
    if raw.empty:
        return _with_schema(pd.DataFrame(), schema)
    raw = raw.sort_values(["fetched_at", "id", "fetch_pk"], kind="stable")
    frame = raw.rename(columns=_POST_COLUMN_PATHS).assign(
        **{FETCHED_AT: _times(raw["fetched_at"]), **_status_columns(raw)}
    )
    return _with_schema(frame, schema).reset_index(drop=True)


__all__ = [
    "AGE",
    "AGE_HOURS",
    "BASELINE",
    "DEFAULT_AGES",
    "FETCHED_AT",
    "GAP_HOURS",
    "HOURS",
    "INTERPOLATED",
    "MEDIAN_ENGAGEMENT_RATE",
    "OTHERS",
    "POSTS",
    "TIMES_NORMAL",
    "WEEKDAY",
    "WEEKDAYS",
    "Scope",
    "age_label",
    "baseline",
    "best_time",
    "context_metric",
    "growth",
    "history_columns",
    "history_rows",
    "latest",
    "leave_one_out",
    "retention",
    "values_at_ages",
]
