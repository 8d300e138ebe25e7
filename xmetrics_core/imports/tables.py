"""Imported exports → the frames the dashboard draws and the rows the CLI writes.

* Per-Post exports become a :class:`~xmetrics_core.models.FetchResult` (:func:`posts_result`),
  so the Posts page's own frames (``frames.posts_frame``, ``split_frame``,
  ``metrics_long_frame`` …) read them unchanged: catalogue columns become X's metric
  groups, a legacy Post whose promoted side is all ``-`` has no ``promoted_metrics`` and
  the status "never promoted". :func:`posts_table` adds the columns the API has no
  counterpart for (``export.*``) and where each row came from.
* Overlapping exports: the same Post (or day) in several files is one Post with one
  snapshot per file, dated by each file's ``snapshot_at`` (:func:`post_snapshots`); the
  tables show the latest snapshot.
* Per-day exports become :func:`daily_frame` (one row per day, totals, recomputed
  engagement rate) and :func:`daily_trend_frame` (long, with a 7-day rolling mean).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from xmetrics_core import frames
from xmetrics_core.catalogue import ALL_GROUPS, Context, Group
from xmetrics_core.imports.errors import ImportRefused
from xmetrics_core.imports.formats import (
    CREATED_AT,
    DATE,
    EXPORT_PREFIX,
    FIELDS,
    ID,
    TEXT,
    ExportField,
    Kind,
    destination,
    output_columns,
)
from xmetrics_core.imports.reader import ImportedExport, import_path
from xmetrics_core.models import FetchResult, FrozenGroups, IdStatus, PostRecord, PostStatus

SNAPSHOT_AT: Final = "snapshot_at"
SOURCE_FILE: Final = "source_file"
SNAPSHOTS: Final = "snapshots"
FORMAT: Final = "format"
ROLLING_MEAN_7D: Final = "rolling_mean_7d"
#: ``created_at`` and ``date`` as the CLI writes them.
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
DAY_FORMAT: Final = "%Y-%m-%d"
#: What :func:`daily_trend_frame` shows by default.
TREND_METRICS: Final = ("impressions", "engagements", "new_follows", "unfollows")

_GROUP_NAMES = {g.value for g in ALL_GROUPS}


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """Several files: each imported whole or refused whole, in the order given."""

    imported: tuple[ImportedExport, ...]
    refused: tuple[ImportRefused, ...]

    @property
    def ok(self) -> bool:
        return not self.refused


def import_paths(paths: Iterable[str | Path]) -> ImportBatch:
    """Import every file; one refusal never stops the others."""
    imported: list[ImportedExport] = []
    refused: list[ImportRefused] = []
    for path in paths:
        try:
            imported.append(import_path(path))
        except ImportRefused as problem:
            refused.append(problem)
    return ImportBatch(imported=tuple(imported), refused=tuple(refused))


# -- Posts --------------------------------------------------------------------------------------


def _origin(imported: ImportedExport, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the export's ``snapshot_at`` and ``source_file`` on every row."""
    origin: dict[str, Any] = {
        SNAPSHOT_AT: pd.Timestamp(imported.snapshot_at),
        SOURCE_FILE: imported.file,
    }
    return frame.assign(**origin)


def _with_origin(imported: ImportedExport) -> pd.DataFrame:
    return _origin(imported, imported.table)


def post_snapshots(imports: Sequence[ImportedExport]) -> pd.DataFrame:
    """Every per-Post row of every export: one row per Post per export (its snapshot),
    with ``snapshot_at`` and ``source_file``; ordered by Post, then snapshot."""
    tables = [_with_origin(i) for i in imports if i.per_post]
    if not tables:
        return pd.DataFrame(columns=[ID, CREATED_AT, TEXT, SNAPSHOT_AT, SOURCE_FILE])
    return (
        pd.concat(tables, ignore_index=True)
        .sort_values([ID, SNAPSHOT_AT], kind="stable")
        .reset_index(drop=True)
    )


def _latest(snapshots: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per ``key``: the one with the latest ``snapshot_at`` (the last file given
    wins a tie), plus how many snapshots there were."""
    counts = snapshots.groupby(key, sort=False)[SNAPSHOT_AT].transform("size")
    return (
        snapshots.assign(**{SNAPSHOTS: counts})
        .sort_values(SNAPSHOT_AT, kind="stable")
        .drop_duplicates(key, keep="last")
    )


def merged_posts(imports: Sequence[ImportedExport]) -> pd.DataFrame:
    """One row per Post across all per-Post exports (latest snapshot), newest Post first."""
    snapshots = post_snapshots(imports)
    if snapshots.empty:
        return snapshots.assign(**{SNAPSHOTS: pd.Series(dtype="int64")})
    return (
        _latest(snapshots, ID)
        .sort_values([CREATED_AT, ID], ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def _catalogue_columns(table: pd.DataFrame) -> dict[str, list[str]]:
    """Catalogue columns of ``table`` by group: ``{"public_metrics": ["like_count", …]}``."""
    groups: dict[str, list[str]] = {}
    for name in table.columns:
        group, _, field = str(name).partition(".")
        if group in _GROUP_NAMES and field:
            groups.setdefault(group, []).append(field)
    return groups


def _group_rows(table: pd.DataFrame, group: str, fields: list[str]) -> list[dict[str, int] | None]:
    """Each row's values of one group (missing values left out); None when all missing."""
    columns = [table[f"{group}.{f}"].astype("Int64") for f in fields]
    values = (
        np.column_stack([c.to_numpy(dtype=np.float64, na_value=np.nan) for c in columns])
        if columns
        else np.empty((len(table), 0))
    )
    rows: list[dict[str, int] | None] = []
    for row in values.tolist():
        present = {f: int(v) for f, v in zip(fields, row, strict=True) if v == v}
        rows.append(present or None)
    return rows


def _status(row: int, has_promoted: bool, split: bool, source: str, snapshot: str) -> IdStatus:
    status = PostStatus.NOT_PROMOTED if split and not has_promoted else PostStatus.OK
    return IdStatus(
        id="",
        status=status,
        detail=f"imported from {source} (counts as of {snapshot})",
        source=source,
        position=row,
    )


def _result_from(table: pd.DataFrame, split_flags: Sequence[bool]) -> FetchResult:
    if table.empty:  # no per-Post export (only per-day ones, or none)
        return FetchResult()
    by_group = _catalogue_columns(table)
    group_rows = {g: _group_rows(table, g, fields) for g, fields in by_group.items()}
    posts: list[PostRecord] = []
    statuses: list[IdStatus] = []
    ids = table[ID].tolist()
    texts = table[TEXT].tolist()
    created = table[CREATED_AT].dt.to_pydatetime().tolist()
    sources = table[SOURCE_FILE].tolist() if SOURCE_FILE in table else [""] * len(table)
    snapshots = (
        table[SNAPSHOT_AT].dt.strftime("%Y-%m-%d %H:%M UTC").tolist()
        if SNAPSHOT_AT in table
        else [""] * len(table)
    )
    for row, post_id in enumerate(ids):
        metrics: dict[str, dict[str, int]] = {}
        for group, rows in group_rows.items():
            values = rows[row]
            if values is not None:
                metrics[group] = values
        posts.append(
            PostRecord(
                id=str(post_id),
                text=str(texts[row]),
                created_at=created[row],
                metrics=FrozenGroups(metrics),
            )
        )
        template = _status(
            row,
            Group.PROMOTED.value in metrics,
            split_flags[row],
            str(sources[row]),
            str(snapshots[row]),
        )
        statuses.append(
            IdStatus(
                id=str(post_id),
                status=template.status,
                detail=template.detail,
                source=template.source,
                position=row,
            )
        )
    groups = tuple(g for g in ALL_GROUPS if g.value in by_group)
    fetched_at = table[SNAPSHOT_AT].max().to_pydatetime() if len(table) else None
    return FetchResult(
        posts=tuple(posts), statuses=tuple(statuses), groups=groups, fetched_at=fetched_at
    )


def _split_flags(table: pd.DataFrame, imports: Sequence[ImportedExport]) -> list[bool]:
    split_files = {i.file for i in imports if i.format.has_sides}
    return [source in split_files for source in table[SOURCE_FILE].tolist()]


def fetch_result_of(imported: ImportedExport) -> FetchResult:
    """One per-Post export as a fetch result dated ``snapshot_at`` (``fetched_at``): the
    snapshot the history store keeps for an import. Per-day exports have no Posts."""
    if not imported.per_post:
        raise ValueError(f"{imported.file} is a per-day export: it has no Posts")
    table = _with_origin(imported)
    return _result_from(table, [imported.format.has_sides] * len(table))


def posts_result(imports: Sequence[ImportedExport]) -> FetchResult:
    """Every Post of the per-Post exports (latest snapshot each), newest first, as the
    Posts page's input: ``frames.posts_frame(posts_result(imports))`` and the rest."""
    table = merged_posts(imports)
    return _result_from(table, _split_flags(table, imports))


def _export_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if str(c).startswith(EXPORT_PREFIX)]


def posts_table(imports: Sequence[ImportedExport]) -> pd.DataFrame:
    """The Posts page's table for imported Posts: ``frames.posts_frame`` of
    :func:`posts_result` (catalogue columns, derived engagements, impressions, engagement
    rate …), then the ``export.*`` columns, ``snapshot_at``, ``source_file`` and
    ``snapshots`` (how many of the files carry the Post)."""
    merged = merged_posts(imports)
    posts = frames.posts_frame(_result_from(merged, _split_flags(merged, imports)))
    extra = merged[[*output_columns(_export_columns(merged)), SNAPSHOT_AT, SOURCE_FILE, SNAPSHOTS]]
    return pd.concat([posts, extra.reset_index(drop=True)], axis=1)


# -- days ---------------------------------------------------------------------------------------

#: The per-day fields the daily frame carries (totals), in column order.
DAILY_FIELDS: tuple[ExportField, ...] = tuple(f for f in FIELDS if f.kind is Kind.COUNT)
_RATE: Final = "engagement_rate"


def _daily_rows(imported: ImportedExport) -> pd.DataFrame:
    table = imported.table
    columns: dict[str, Any] = {DATE: table[DATE]}
    for field in DAILY_FIELDS:
        source = destination(field, Context.TOTAL, imported.format)
        if source in table:
            columns[field.key] = table[source].astype("Int64")
    return _origin(imported, pd.DataFrame(columns))


def daily_frame(imports: Sequence[ImportedExport]) -> pd.DataFrame:
    """One row per day across the per-day exports (a day in several files: the latest
    snapshot), oldest first. Columns: ``date``, every count field's key
    (``impressions``, ``engagements``, ``likes``, ``new_follows``, ``unfollows`` … totals:
    organic + promoted for legacy files; <NA> where a file lacks the column),
    ``engagement_rate`` (engagements ÷ impressions, NaN when impressions are 0),
    ``snapshot_at``, ``source_file``, ``snapshots``."""
    keys = [f.key for f in DAILY_FIELDS]
    tables = [_daily_rows(i) for i in imports if not i.per_post]
    schema = [DATE, *keys, _RATE, SNAPSHOT_AT, SOURCE_FILE, SNAPSHOTS]
    if not tables:
        return pd.DataFrame(columns=schema)
    days = _latest(pd.concat(tables, ignore_index=True), DATE)
    days = days.reindex(columns=[DATE, *keys, SNAPSHOT_AT, SOURCE_FILE, SNAPSHOTS])
    days = days.astype(dict.fromkeys(keys, "Int64"))
    impressions = days["impressions"].astype("float64")
    rate = days["engagements"].astype("float64") / impressions.where(impressions > 0)
    return (
        days.assign(**{_RATE: rate}).sort_values(DATE, kind="stable").reset_index(drop=True)[schema]
    )


def daily_trend_frame(daily: pd.DataFrame, metrics: Sequence[str] = TREND_METRICS) -> pd.DataFrame:
    """:func:`daily_frame` in long form for the trend chart: ``date, metric, label,
    value, rolling_mean_7d``. The rolling mean is over the 7 calendar days ending that day
    and only where all 7 have a value (a missing day or value leaves it empty)."""
    labels = {f.key: f.label for f in DAILY_FIELDS}
    parts = []
    if daily.empty:
        return pd.DataFrame(columns=[DATE, "metric", "label", "value", ROLLING_MEAN_7D])
    full = pd.date_range(daily[DATE].min(), daily[DATE].max(), freq="D")
    by_day = daily.set_index(DATE)
    for key in metrics:
        series = by_day[key].astype("float64").reindex(full)
        rolling = series.rolling(7, min_periods=7).mean()
        present = by_day[key].reindex(full).notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    DATE: full[present],
                    "metric": key,
                    "label": labels[key],
                    "value": by_day[key].reindex(full).astype("Int64")[present].to_numpy(),
                    ROLLING_MEAN_7D: rolling[present].to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# -- the CLI's rows -----------------------------------------------------------------------------


def output_table(imports: Sequence[ImportedExport]) -> pd.DataFrame:
    """What ``python -m xmetrics_core import`` writes: one row per Post (latest snapshot),
    then one per day. Columns: ``id`` (per-Post files), ``date`` (per-day files),
    ``created_at`` and ``text`` (per-Post files), then the catalogue's dotted metric
    columns (catalogue order) and ``export.*`` (see :mod:`.formats`). ``created_at`` is
    ``2021-12-28T16:45:00Z``; dates ``2021-12-28``. Columns no file has are left out."""
    posts = merged_posts(imports)
    days = (
        pd.concat([i.table for i in imports if not i.per_post], ignore_index=True)
        if any(not i.per_post for i in imports)
        else pd.DataFrame()
    )
    if not days.empty:
        latest = pd.concat([_with_origin(i) for i in imports if not i.per_post], ignore_index=True)
        days = _latest(latest, DATE).sort_values(DATE, kind="stable")
    keys: list[str] = []
    if not posts.empty or any(i.per_post for i in imports):
        keys += [ID]
    if not days.empty:
        keys += [DATE]
    if ID in keys:
        keys += [CREATED_AT, TEXT]
    metric_names: list[str] = []
    for table in (posts, days):
        for name in table.columns:
            keys_or_origin = (ID, DATE, CREATED_AT, TEXT, SNAPSHOT_AT, SOURCE_FILE, SNAPSHOTS)
            if name not in keys_or_origin and name not in metric_names:
                metric_names.append(str(name))
    columns = [*keys, *output_columns(metric_names)]
    rows = pd.concat([posts, days], ignore_index=True).reindex(columns=columns)
    if CREATED_AT in rows:
        rows[CREATED_AT] = _formatted(rows[CREATED_AT], TIME_FORMAT)
    for name in rows.columns:
        if name == DATE or str(name) == f"{EXPORT_PREFIX}date":
            rows[name] = _formatted(rows[name], DAY_FORMAT)
    return rows


def _formatted(column: pd.Series, fmt: str) -> pd.Series:
    moments = pd.to_datetime(column, utc=fmt == TIME_FORMAT)
    return moments.dt.strftime(fmt).astype("str")
