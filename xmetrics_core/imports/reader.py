"""Read one X analytics export, whole or not at all: :func:`import_export`.

The file is decoded (:mod:`.decoding`), its header recognised (:mod:`.formats`), its rows
read by ``pandas.read_csv`` (the C parser; counts straight to numbers when they are in X's
own style) and every column checked and converted at once (:mod:`.values`). Any problem
raises :class:`ImportRefused` naming the file and, where it sits on one line, the line; no
partial result is ever returned.

What an imported file holds (:class:`ImportedExport`): its format, the account (from the
Posts' links, else the file name), the date range it covers (from the file name, else the
data), ``snapshot_at`` (the end of that range: when these counts were true), one row per
Post or per day in ``table`` under the columns :func:`formats.destination` names, and notes
(what was unusual but read: another encoding, a spreadsheet's date format, duplicates …).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from xmetrics_core.catalogue import Context, Level, total_metric
from xmetrics_core.imports.decoding import (
    DecodedFile,
    Dialect,
    check_size,
    decode,
    decode_path,
    not_utf8,
    record_lines,
    sniff_dialect,
)
from xmetrics_core.imports.errors import ImportRefused
from xmetrics_core.imports.formats import (
    CREATED_AT,
    DATE,
    FIELDS_BY_KEY,
    ID,
    TEXT,
    Column,
    ExportFormat,
    HeaderMatch,
    HeaderProblem,
    Kind,
    destination,
    output_columns,
    sniff_header,
)
from xmetrics_core.imports.values import (
    DATE_FORMATS,
    TIME_FORMATS,
    CellProblem,
    FloatArray,
    Numbers,
    NumberStyle,
    StyleEvidence,
    arrow_strings,
    check_whole,
    parse_moments,
    parse_numbers,
    style_evidence,
    whole_counts,
)
from xmetrics_core.references import snowflake_time

_TIME_DTYPE = "datetime64[us, UTC]"
_DAY_DTYPE = "datetime64[us]"
_NUMERIC_KINDS = (Kind.COUNT, Kind.RATE)
_MAX_POST_ID = str(2**63 - 1)
_PERMALINK = (
    r"^https?://(?:www\.|mobile\.|m\.)?(?:twitter|x)\.com/"
    r"(?P<handle>[A-Za-z0-9_]{1,15})/status(?:es)?/(?P<id>[0-9]{1,19})"
)
_LEGACY_NAME = re.compile(
    r"^(?:daily_)?tweet_activity_metrics_(?P<handle>[A-Za-z0-9_]{1,15})_"
    r"(?P<start>\d{8})_(?P<end>\d{8})",
    re.IGNORECASE,
)
_CONTENT_NAME = re.compile(
    r"^account_analytics_content_(?P<start>\d{4}-\d{2}-\d{2})_(?P<end>\d{4}-\d{2}-\d{2})",
    re.IGNORECASE,
)
_ROUNDED_ID = re.compile(r"^[0-9](?:[.,][0-9]+)?e\+?[0-9]+$", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STATUS = pa.scalar("/status/", pa.large_string())
_NOTHING = pa.scalar("", pa.large_string())
#: How many links the account handle is read from (the most common one wins).
_HANDLE_SAMPLE = 1000
#: How many line numbers a note lists.
_LINES_SHOWN = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class DateRange:
    """The days an export covers, both inclusive."""

    first: date
    last: date
    source: str
    """``"file name"`` or ``"data"`` (the file name did not carry the range)."""

    @property
    def label(self) -> str:
        """``1–31 Dec 2021``, ``28 Nov – 4 Dec 2021``, ``28 Dec 2021 – 3 Jan 2022``."""
        a, b = self.first, self.last
        if a == b:
            return f"{a.day} {_MONTHS[a.month - 1]} {a.year}"
        if (a.year, a.month) == (b.year, b.month):
            return f"{a.day}–{b.day} {_MONTHS[b.month - 1]} {b.year}"
        if a.year == b.year:
            return f"{a.day} {_MONTHS[a.month - 1]} – {b.day} {_MONTHS[b.month - 1]} {b.year}"
        return f"{a.day} {_MONTHS[a.month - 1]} {a.year} – {b.day} {_MONTHS[b.month - 1]} {b.year}"

    @property
    def end(self) -> datetime:
        """The instant the range ends: midnight UTC after its last day."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class RateCheck:
    """The file's engagement rates against engagements ÷ impressions recomputed."""

    checked: int
    """Rates compared (cells with a rate and impressions above 0)."""
    mismatched: int
    lines: tuple[int, ...] = ()
    """The first few lines that differ."""

    @property
    def ok(self) -> bool:
        return self.mismatched == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedExport:
    """One export file, imported whole. ``table`` is one row per Post or per day."""

    file: str
    format: ExportFormat
    account: str | None
    """The handle (without @) from the Posts' links, else from the file name."""
    account_source: str | None
    date_range: DateRange
    snapshot_at: datetime
    """When these counts were true: the end of ``date_range`` (UTC)."""
    columns: tuple[Column, ...]
    """Every header cell and the ``table`` column it became."""
    table: pd.DataFrame
    """Per-Post: ``id, created_at, text``, then metric columns; per-day: ``date`` then
    metric columns. Metric columns are catalogue paths or ``export.<name>`` (Int64 counts,
    float rates; missing = <NA>/NaN, never 0)."""
    encoding: str
    delimiter: str
    number_style: NumberStyle
    rate_check: RateCheck | None
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.table)

    @property
    def per_post(self) -> bool:
        return self.format.per_post

    @property
    def summary(self) -> str:
        """``rOpenSci, 17 Posts, 1–31 Dec 2021, legacy per-Post export``."""
        noun = self.format.row_noun + ("" if self.rows == 1 else "s")
        parts = [f"{self.rows:,} {noun}", self.date_range.label, self.format.label]
        if self.account:
            parts.insert(0, self.account)
        return ", ".join(parts)

    @property
    def metric_columns(self) -> tuple[str, ...]:
        keys = (ID, CREATED_AT, TEXT, DATE)
        return tuple(c for c in self.table.columns if c not in keys)


# -- reading the table ------------------------------------------------------------------------


def _position_names(header: HeaderMatch) -> list[str]:
    return [f"c{c.position}" for c in header.columns]


def _read_options(header: HeaderMatch, *, numbers_as_text: bool) -> dict[str, Any]:
    """read_csv's column options. No column gets an explicit ``str`` dtype unless needed
    (inferred strings are much cheaper to build); :func:`_as_text` fixes any text column
    that came back as numbers. ``-`` is missing in number columns only (a Post's text may
    be ``-``). A missing trailing cell reads as ``''`` (not NA), so a short row turns its
    number column into text and is refused there."""
    names = _position_names(header)
    dtype: dict[str, str] = {}
    na_values: dict[str, list[str]] = {}
    for column, name in zip(header.columns, names, strict=True):
        if column.kind in _NUMERIC_KINDS:
            if numbers_as_text:
                dtype[name] = "str"
            else:
                na_values[name] = ["-"]
    return {"names": names, "dtype": dtype, "na_values": na_values}


def _read_frame(
    decoded: DecodedFile, dialect: Dialect, header: HeaderMatch, *, numbers_as_text: bool
) -> pd.DataFrame:
    options = _read_options(header, numbers_as_text=numbers_as_text)
    frame: pd.DataFrame = pd.read_csv(
        decoded.source(),
        sep=dialect.delimiter,
        skiprows=dialect.skip_lines,
        header=0,
        index_col=False,
        keep_default_na=False,
        skip_blank_lines=True,
        quotechar='"',
        doublequote=True,
        encoding="utf-8",
        engine="c",
        **options,
    )
    return frame


def _locate_parse_problem(
    decoded: DecodedFile, dialect: Dialect, width: int, *, file: str, fallback: str
) -> ImportRefused:
    """Re-read the records with Python's csv module to name the line pandas failed on."""
    import csv

    text = io.StringIO(decoded.data.decode("utf-8", errors="replace"), newline="")
    for _ in range(dialect.skip_lines):
        text.readline()
    reader = csv.reader(text, delimiter=dialect.delimiter, strict=True)
    start = dialect.skip_lines + 1
    end = dialect.skip_lines
    try:
        for row in reader:
            start, end = end + 1, reader.line_num + dialect.skip_lines
            if len(row) > width:
                return ImportRefused(
                    f"this row has {len(row)} cells but the header has {width}",
                    file=file,
                    line=start,
                )
    except csv.Error as exc:
        if "end" in str(exc).lower() or "eof" in str(exc).lower():
            return ImportRefused(
                "the file ends inside a quoted cell that starts on this line: it was cut "
                "short (download it again)",
                file=file,
                line=end + 1,
            )
        return ImportRefused(f"the row cannot be read as CSV ({exc})", file=file, line=end + 1)
    return ImportRefused(f"the file cannot be read as CSV ({fallback})", file=file)


_TEXT_KINDS = (Kind.TEXT, Kind.URL, Kind.TIME, Kind.DATE, Kind.UNKNOWN)


def _as_text(
    frame: pd.DataFrame, decoded: DecodedFile, dialect: Dialect, header: HeaderMatch
) -> pd.DataFrame:
    """Text columns that read_csv inferred as numbers (every Post text a number, say) are
    read again as text, so ``007`` stays ``007``. A Post ID column may stay integers; one
    that became floats (a spreadsheet's ``1.47587E+18``) is read again too."""
    names = _position_names(header)
    again = [
        name
        for column, name in zip(header.columns, names, strict=True)
        if (column.kind in _TEXT_KINDS and not pd.api.types.is_string_dtype(frame[name]))
        or (column.kind is Kind.ID and frame[name].dtype.kind not in "iuOT")
        and not pd.api.types.is_string_dtype(frame[name])
    ]
    if not again:
        return frame
    text = pd.read_csv(
        decoded.source(),
        sep=dialect.delimiter,
        skiprows=dialect.skip_lines,
        header=0,
        index_col=False,
        keep_default_na=False,
        names=names,
        usecols=again,
        dtype=dict.fromkeys(again, "str"),
        encoding="utf-8",
        engine="c",
    )
    return frame.assign(**{name: text[name] for name in again})


def _read(
    decoded: DecodedFile, dialect: Dialect, header: HeaderMatch, *, file: str, as_text: bool
) -> pd.DataFrame:
    try:
        frame = _read_frame(decoded, dialect, header, numbers_as_text=as_text)
        return _as_text(frame, decoded, dialect, header)
    except pd.errors.ParserError as exc:
        message = str(exc).split("C error: ")[-1].strip()
        raise _locate_parse_problem(
            decoded, dialect, len(header.columns), file=file, fallback=message
        ) from None
    except pd.errors.EmptyDataError:
        raise ImportRefused("the file has no header line", file=file) from None


# -- the import ----------------------------------------------------------------------------


class _Refuse(Exception):
    """A problem on one data row (position among the rows read) or with the whole file."""

    def __init__(self, reason: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row
        self.column = column


@dataclass(slots=True)
class _Context:
    file: str
    decoded: DecodedFile
    dialect: Dialect
    header: HeaderMatch
    frame: pd.DataFrame
    positions: np.ndarray[Any, np.dtype[np.int64]]
    """Each kept row's index among the records read (empty rows dropped)."""
    notes: list[str]
    _lines: list[int] | None = None

    def line_of(self, row: int) -> int | None:
        """The 1-based line on which kept row ``row`` starts."""
        if self._lines is None:
            self._lines = record_lines(self.decoded, self.dialect)
        record = int(self.positions[row])
        return self._lines[record] if record < len(self._lines) else None

    def lines_of(self, rows: Sequence[int]) -> list[int]:
        return [line for row in rows[:_LINES_SHOWN] if (line := self.line_of(row)) is not None]

    def cells(self, column: Column) -> pd.Series:
        return self.frame[f"c{column.position}"]

    def link_parts(self, rows: pa.Array | None = None) -> pa.StructArray | None:
        """``handle`` and ``id`` from each row's link (of ``rows`` only, when given);
        null where the link is not a Post URL. None when the file has no link column."""
        column = self.header.column("permalink")
        if column is None:
            return None
        links = arrow_strings(self.cells(column))
        if rows is not None:
            links = links.take(rows)
        parts: pa.StructArray = pc.extract_regex(pc.utf8_trim_whitespace(links), _PERMALINK)
        return parts


def _file_name_facts(name: str) -> tuple[str | None, DateRange | None]:
    stem = Path(name).name
    legacy = _LEGACY_NAME.match(stem)
    try:
        if legacy:
            first = datetime.strptime(legacy["start"], "%Y%m%d").date()
            end = datetime.strptime(legacy["end"], "%Y%m%d").date()
            last = end - timedelta(days=1) if end > first else end  # X's end is exclusive
            return legacy["handle"], DateRange(first=first, last=last, source="file name")
        content = _CONTENT_NAME.match(stem)
        if content:
            first = date.fromisoformat(content["start"])
            last = date.fromisoformat(content["end"])  # X names both days of the range
            if last >= first:
                return None, DateRange(first=first, last=last, source="file name")
    except ValueError:
        pass
    return None, None


def _drop_empty_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """Rows whose every cell is empty (a spreadsheet's trailing ``,,,,`` lines) go."""
    empty = np.ones(len(frame), dtype=bool)
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind in "fi":
            empty &= column.isna().to_numpy()
        else:
            empty &= column.fillna("").str.strip().eq("").to_numpy(dtype=bool)
        if not empty.any():
            break
    positions = np.flatnonzero(~empty).astype(np.int64)
    if empty.any():
        frame = frame.iloc[positions].reset_index(drop=True)
    return frame, positions


def _number_style(ctx: _Context, numeric: Sequence[Column]) -> tuple[NumberStyle, bool]:
    """The file's number style, and whether the rows must be re-read with numbers as text
    (the fast read assumed X's style; see :mod:`.values`).

    Columns read_csv left as text show the style in their cells. Columns it read as
    numbers with a dot did too: a fraction in a rate is a dot decimal (``0.0052``), a
    fraction in a count is a dot between thousands (``3.423``).
    """
    text_columns = [c for c in numeric if ctx.cells(c).dtype.kind not in "fiu"]
    counts = [arrow_strings(ctx.cells(c)) for c in text_columns if c.kind is Kind.COUNT]
    rates = [arrow_strings(ctx.cells(c)) for c in text_columns if c.kind is Kind.RATE]
    evidence = style_evidence(counts, rates)
    for column in numeric if ctx.dialect.delimiter != "," and not evidence else ():
        # X's own files are comma-separated; a European spreadsheet's ";" or tab file may
        # hold 3.423 (thousands) that read_csv took for a fraction
        cells = ctx.cells(column)
        if cells.dtype.kind != "f":
            continue
        floats = cells.to_numpy()
        if column.kind is Kind.RATE:
            shown = ~np.isnan(floats) & (floats != np.floor(floats))
        else:  # 3.423: exactly three digits after the dot
            thousandths, hundredths = np.round(floats * 1000, 6), np.round(floats * 100, 6)
            shown = (thousandths == np.floor(thousandths)) & (hundredths != np.floor(hundredths))
        fractions = np.flatnonzero(shown)
        if fractions.size:
            style = NumberStyle.DOT if column.kind is Kind.RATE else NumberStyle.COMMA
            row = int(fractions[0])
            evidence.setdefault(style, StyleEvidence(style, row, repr(float(floats[row]))))
    if len(evidence) == 2:
        dot, comma = evidence[NumberStyle.DOT], evidence[NumberStyle.COMMA]
        lines = ctx.lines_of([dot.row, comma.row])
        raise _Refuse(
            f"numbers are written two ways: {dot.text!r} and {comma.text!r}"
            + (f" (lines {lines[0]} and {lines[-1]})" if len(lines) == 2 else "")
            + ": the file was edited with two different number formats"
        )
    if evidence:
        style = next(iter(evidence))
    else:
        style = NumberStyle.COMMA if ctx.dialect.delimiter == ";" else NumberStyle.DOT
    inferred = len(text_columns) < len(numeric)
    return style, style is NumberStyle.COMMA and inferred


def _numbers(ctx: _Context, column: Column, style: NumberStyle) -> Numbers:
    cells = ctx.cells(column)
    whole = column.kind is Kind.COUNT
    if cells.dtype.kind in "iu":
        values = cells.to_numpy().astype(np.float64)
        if whole and (values < 0).any():
            check_whole(values, what=column.header)
        return Numbers(floats=values, resolution=None)
    if cells.dtype.kind == "f":
        values = cells.to_numpy()
        if whole:
            check_whole(values, what=column.header)
        return Numbers(floats=values, resolution=None)
    return parse_numbers(cells, style=style, whole=whole, what=column.header)


def _post_ids(ctx: _Context) -> pd.Series:
    """Validated Post IDs; a spreadsheet's rounded ID is recovered from the Post's link.

    Each ID is checked against its link (``…/status/<id>``, compared as a suffix: cheap);
    where they disagree the link is parsed: a rounded ID (``1.47587E+18``, or 19 digits
    ending in zeros) is replaced by the link's, any other disagreement is refused.
    """
    id_column = ctx.header.column("post_id")
    assert id_column is not None
    raw = ctx.cells(id_column)
    if raw.dtype.kind in "iu":  # X's own file: every ID a plain integer
        numbers = raw.to_numpy()
        ids = pc.cast(pa.array(numbers), pa.large_string())
        valid = pa.array(numbers > 0)
    else:
        ids = pc.utf8_trim_whitespace(arrow_strings(raw))
        valid = pc.fill_null(pc.match_substring_regex(ids, r"^[1-9][0-9]{0,18}$"), False)
        too_big = pc.and_(
            pc.equal(pc.utf8_length(ids), 19), pc.greater(ids, pa.scalar(_MAX_POST_ID))
        )
        valid = pc.and_(valid, pc.invert(pc.fill_null(too_big, False)))
    link_column = ctx.header.column("permalink")
    if link_column is not None:
        links = arrow_strings(ctx.cells(link_column))
        suspect = _link_disagrees(links, ids) | ~valid.to_numpy(zero_copy_only=False)
        rows = pa.array(np.flatnonzero(suspect))
        if len(rows):
            parts = pc.extract_regex(pc.utf8_trim_whitespace(links.take(rows)), _PERMALINK)
            link_ids = pc.struct_field(parts, "id")
            recover = pc.is_valid(link_ids)
            if pc.any(recover).as_py():
                recovered = _recovered_ids(ctx, raw, rows, ids.take(rows), link_ids, recover)
                ids, valid = _scatter(ids, valid, rows, recover, recovered)
    if not pc.all(valid).as_py():
        row = int(pc.index(valid, False).as_py())
        shown = str(ids[row].as_py() or "")
        if _ROUNDED_ID.match(shown):
            raise _Refuse(
                f"the Post ID {shown!r} was rounded by a spreadsheet and cannot be recovered "
                "(no link column): download the export from X again, or keep the ID column "
                "as text when you open it",
                row=row,
            )
        raise _Refuse(
            f"{shown[:40]!r} is not a Post ID" if shown else "the Post ID is empty", row=row
        )
    return pd.Series(pd.array(ids, dtype="str"), copy=False)


def _link_disagrees(links: pa.Array, ids: pa.Array) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True where a row's link does not end with ``/status/<its id>`` (vectorised: the
    rows are grouped by ID length, and each group's link tails compared at once)."""
    lengths = pc.fill_null(pc.utf8_length(ids), 0).to_numpy(zero_copy_only=False)
    disagrees = np.ones(len(ids), dtype=bool)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        every = len(rows) == len(ids)  # the usual case: all IDs 19 digits, no regrouping
        group_links = links if every else links.take(pa.array(rows))
        group_ids = ids if every else ids.take(pa.array(rows))
        tail = pc.utf8_slice_codeunits(group_links, start=-(int(length) + 8))
        expected = pc.binary_join_element_wise(_STATUS, group_ids, _NOTHING)
        same = pc.fill_null(pc.equal(tail, expected), False).to_numpy(zero_copy_only=False)
        disagrees[rows] = ~same
    return disagrees


def _scatter(
    ids: pa.Array, valid: pa.Array, rows: pa.Array, recover: pa.Array, recovered: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Put the IDs recovered for ``rows[recover]`` back into the full columns."""
    id_list = ids.to_pylist()
    valid_list = valid.to_pylist()
    for row, fixed, use in zip(
        rows.to_pylist(), recovered.to_pylist(), recover.to_pylist(), strict=True
    ):
        if use:
            id_list[row] = fixed
            valid_list[row] = True
    return pa.array(id_list, type=pa.large_string()), pa.array(valid_list, type=pa.bool_())


def _recovered_ids(
    ctx: _Context,
    raw: pd.Series,
    rows: pa.Array,
    ids: pa.Array,
    link_ids: pa.Array,
    recover: pa.Array,
) -> pa.Array:
    """IDs a spreadsheet rounded (``1.47587E+18``, ``1475870580540950000``) replaced by
    the ID in the row's link; any other disagreement with the link is refused. ``ids``,
    ``link_ids`` and ``recover`` are for ``rows`` only."""
    positions = rows.to_pylist()
    picked = [int(i) for i in np.flatnonzero(recover.to_numpy(zero_copy_only=False))]
    picked = [i for i in picked if ids[i].as_py() != link_ids[i].as_py()]
    if not picked:
        return ids
    for i in picked:
        if not _is_rounded(str(ids[i].as_py()), str(link_ids[i].as_py())):
            raise _Refuse(
                f"the Post ID {ids[i].as_py()!r} does not match its link "
                f"(…/status/{link_ids[i].as_py()})",
                row=positions[i],
            )
    lines = ctx.lines_of([positions[i] for i in picked])
    ctx.notes.append(
        f"{len(picked)} Post ID{'s' if len(picked) > 1 else ''} rounded by a spreadsheet (like "
        f"{str(raw.iloc[positions[picked[0]]]).strip()!r}) taken from the Posts' links (lines "
        f"{_joined(lines)})"
    )
    return pc.if_else(recover, link_ids, ids)


def _is_rounded(cell: str, link_id: str) -> bool:
    """``1.47587E+18`` or ``1475870580540950000`` for 1475870580540952577."""
    if _ROUNDED_ID.match(cell):
        mantissa = cell.lower().split("e")[0].replace(",", ".").replace(".", "")
        return link_id.startswith(mantissa.rstrip("0") or "0")
    significant = cell.rstrip("0")
    return (
        cell.isdigit()
        and len(cell) == len(link_id)
        and link_id.startswith(significant)
        and len(significant) <= 15
    )


def _joined(lines: Sequence[int]) -> str:
    return ", ".join(str(n) for n in lines) + (" …" if len(lines) >= _LINES_SHOWN else "")


_OTHER_ENTITY = r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);"


def _texts(ctx: _Context, column: Column) -> pd.Series:
    """Post text as data. X writes ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and
    ``&gt;``; they are unescaped once (``&amp;lt;`` → ``&lt;``). A cell with any other
    entity is unescaped by :func:`html.unescape`. Nothing else is touched."""
    text = pc.fill_null(arrow_strings(ctx.cells(column)), "")
    plain = pc.replace_substring(pc.replace_substring(text, "&lt;", "<"), "&gt;", ">")
    plain = pc.replace_substring(plain, "&amp;", "&")
    # Any entity left after that (a false alarm for "&amp;quot;", harmless: html.unescape
    # of the original gives the same) sends the row through html.unescape instead.
    others = pc.match_substring_regex(plain, _OTHER_ENTITY)
    result = pd.Series(pd.array(plain, dtype="str"), copy=False)
    if pc.any(others).as_py():
        rows = np.flatnonzero(others.to_numpy(zero_copy_only=False))
        originals = text.take(pa.array(rows)).to_pylist()
        fixed = result.astype(object)
        fixed.iloc[rows] = [html.unescape(t) for t in originals]
        result = pd.Series(pd.array(fixed.to_numpy(), dtype="str"), copy=False)
    return result


def _moments(
    ctx: _Context, column: Column, *, is_time: bool, style: NumberStyle, window: DateRange | None
) -> np.ndarray[Any, Any]:
    moments = parse_moments(
        ctx.cells(column),
        formats=TIME_FORMATS if is_time else DATE_FORMATS,
        what=column.header,
        day_first=style is NumberStyle.COMMA,
        window=None if window is None else (window.first, window.last),
    )
    if moments.note:
        ctx.notes.append(moments.note)
    return moments.instants


def _created_from_ids(
    ctx: _Context, ids: pd.Series, days: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Creation times from the IDs' snowflakes (exact to the millisecond); the row's day
    at midnight for an ID older than snowflakes (noted)."""
    created = days.astype("datetime64[ms]")
    older: list[int] = []
    for row, post_id in enumerate(ids):
        moment = snowflake_time(post_id)
        if moment is None:
            older.append(row)
        else:
            created[row] = np.datetime64(moment.replace(tzinfo=None), "ms")
    if older:
        ctx.notes.append(
            f"{len(older)} Post ID{'s' if len(older) > 1 else ''} predate X's time-stamped "
            f"IDs: their time of day is unknown (lines {_joined(ctx.lines_of(older))})"
        )
    return created


def _duplicates(ctx: _Context, keys: pd.Series, what: str) -> np.ndarray[Any, Any]:
    """Rows to keep: identical repeated rows once (noted); a key repeated with other
    values is refused, naming both lines."""
    keep = np.ones(len(keys), dtype=bool)
    ordered = np.sort(_comparable(keys))
    if not (ordered[1:] == ordered[:-1]).any():
        return keep
    repeated = keys.duplicated(keep=False).to_numpy(dtype=bool)
    first_seen: dict[object, int] = {}
    dropped: list[int] = []
    for row in np.flatnonzero(repeated):
        key = keys.iloc[row]
        if key not in first_seen:
            first_seen[key] = int(row)
            continue
        first = first_seen[key]
        if not _same_row(ctx.frame, first, int(row)):
            lines = ctx.lines_of([first, int(row)])
            raise _Refuse(
                f"{what} {key} appears twice with different numbers"
                + (f" (lines {lines[0]} and {lines[1]})" if len(lines) == 2 else "")
                + ": one export lists each once",
                row=int(row),
            )
        keep[row] = False
        dropped.append(int(row))
    ctx.notes.append(
        f"{len(dropped)} repeated row{'s' if len(dropped) > 1 else ''} kept once "
        f"(lines {_joined(ctx.lines_of(dropped))})"
    )
    return keep


def _comparable(keys: pd.Series) -> np.ndarray[Any, Any]:
    """Keys as an array numpy sorts quickly: Post IDs as integers, days as datetimes."""
    if keys.dtype.kind == "M":
        days: np.ndarray[Any, Any] = keys.to_numpy()
        return days
    ids: np.ndarray[Any, Any] = pc.cast(arrow_strings(keys), pa.uint64()).to_numpy(
        zero_copy_only=False
    )
    return ids


def _same_row(frame: pd.DataFrame, a: int, b: int) -> bool:
    pair = frame.iloc[[a, b]].astype(object)
    left, right = ([None if pd.isna(v) else v for v in pair.iloc[i].tolist()] for i in (0, 1))
    return left == right


def _account(ctx: _Context, file_handle: str | None) -> tuple[str | None, str | None]:
    sample = pa.array(np.arange(min(len(ctx.frame), _HANDLE_SAMPLE)))
    parts = ctx.link_parts(sample)
    if parts is not None:
        handles = pc.struct_field(parts, "handle").drop_null()
        handles = handles.filter(pc.not_equal(pc.utf8_lower(handles), "i"))
        if len(handles):
            counts = pc.value_counts(handles)
            best = int(np.argmax(counts.field("counts").to_numpy()))
            return str(counts.field("values")[best].as_py()), "links"
    if file_handle:
        return file_handle, "file name"
    return None, None


def _total(organic: FloatArray, promoted: FloatArray | None) -> pd.arrays.IntegerArray:
    """organic + promoted, where a missing promoted side ("-": never promoted) adds 0;
    missing when both are."""
    if promoted is None:
        return whole_counts(organic)
    total = organic + promoted
    np.copyto(total, organic, where=np.isnan(promoted))
    np.copyto(total, promoted, where=np.isnan(organic))
    return whole_counts(total)


def _rate_check(
    ctx: _Context, rates: dict[Context, tuple[Numbers, pd.Series, pd.Series]]
) -> RateCheck | None:
    """Each side's engagement rate against its engagements ÷ impressions."""
    if not rates:
        return None
    checked = 0
    bad_rows: set[int] = set()
    for numbers, engagements, impressions in rates.values():
        given = numbers.floats
        eng = engagements.to_numpy(dtype=np.float64, na_value=np.nan)
        imp = impressions.to_numpy(dtype=np.float64, na_value=np.nan)
        usable = ~np.isnan(given) & ~np.isnan(eng) & (imp > 0)
        ours = np.divide(eng, imp, out=np.full(len(imp), np.nan), where=usable)
        written = 0.0 if numbers.resolution is None else numbers.resolution
        tolerance = np.maximum(written, 1e-9 * np.abs(ours)) + 1e-12
        wrong = usable & (np.abs(ours - given) > tolerance)
        checked += int(usable.sum())
        bad_rows.update(int(r) for r in np.flatnonzero(wrong))
    ordered = sorted(bad_rows)
    check = RateCheck(checked=checked, mismatched=len(ordered), lines=tuple(ctx.lines_of(ordered)))
    if not check.ok:
        ctx.notes.append(
            f"the engagement rate in the file differs from engagements ÷ impressions on "
            f"{check.mismatched} row{'s' if check.mismatched > 1 else ''} (lines "
            f"{_joined(check.lines)}); the table uses the recomputed rate"
        )
    return check


def _build(ctx: _Context, file_handle: str | None, window: DateRange | None) -> ImportedExport:
    header = ctx.header
    export_format = header.format
    numeric = [c for c in header.columns if c.kind in _NUMERIC_KINDS]
    style, reread = _number_style(ctx, numeric)
    if reread:
        raise _Reread(style)
    if style is NumberStyle.COMMA:
        ctx.notes.append(
            "numbers read with a decimal comma (3423,0), as a European spreadsheet writes them"
        )
    table: dict[str, Any] = {}
    numbers: dict[str, Numbers] = {}
    for column in numeric:
        try:
            parsed = _numbers(ctx, column, style)
        except CellProblem as problem:
            raise _Refuse(problem.reason, row=problem.row, column=column.header) from None
        numbers[column.destination] = parsed
        if column.kind is Kind.COUNT:
            table[column.destination] = pd.Series(whole_counts(parsed.floats), copy=False)
        else:
            table[column.destination] = pd.Series(parsed.floats, copy=False)

    try:
        if export_format.per_post:
            ids = _post_ids(ctx)
            keys: pd.Series = ids
            time_column = header.column("time")
            date_column = header.column("date")
            if time_column is not None:
                created = _moments(ctx, time_column, is_time=True, style=style, window=window)
                created_at = pd.DatetimeIndex(created).tz_localize(UTC).astype(_TIME_DTYPE)
            else:
                assert date_column is not None
                days = _moments(ctx, date_column, is_time=False, style=style, window=window)
                table[date_column.destination] = pd.DatetimeIndex(days).astype(_DAY_DTYPE)
                created = _created_from_ids(ctx, ids, days)
                created_at = pd.DatetimeIndex(created).tz_localize(UTC).astype(_TIME_DTYPE)
            if time_column is not None and date_column is not None:
                days = _moments(ctx, date_column, is_time=False, style=style, window=window)
                table[date_column.destination] = pd.DatetimeIndex(days).astype(_DAY_DTYPE)
            text_column = header.column("text")
            texts = (
                _texts(ctx, text_column)
                if text_column is not None
                else pd.Series(pd.array([""] * len(ids), dtype="str"))
            )
            front: dict[str, Any] = {
                ID: ids,
                CREATED_AT: pd.Series(created_at, copy=False),
                TEXT: texts,
            }
        else:
            date_column = header.column("date")
            assert date_column is not None
            days = _moments(ctx, date_column, is_time=False, style=style, window=window)
            day_index = pd.DatetimeIndex(days).astype(_DAY_DTYPE)
            keys = pd.Series(day_index, copy=False)
            front = {DATE: keys}
    except CellProblem as problem:
        raise _Refuse(problem.reason, row=problem.row) from None

    for column in header.columns:
        if column.kind in (Kind.URL, Kind.UNKNOWN):
            table[column.destination] = _kept_column(ctx, column, style)

    if export_format.has_sides:
        _add_totals(table, numbers, header)
    rate_inputs: dict[Context, tuple[Numbers, pd.Series, pd.Series]] = {}
    for side in (Context.ORGANIC, Context.PROMOTED, Context.TOTAL):
        rate = header.column("engagement_rate", side)
        eng = header.column("engagements", side)
        imp = header.column("impressions", side)
        if rate is not None and eng is not None and imp is not None:
            rate_inputs[side] = (
                numbers[rate.destination],
                table[eng.destination],
                table[imp.destination],
            )
    rate_check = _rate_check(ctx, rate_inputs)

    frame = pd.DataFrame(
        {**front, **{c: table[c] for c in output_columns(list(table))}}, copy=False
    )
    keep = _duplicates(ctx, keys, "Post" if export_format.per_post else "day")
    if not keep.all():
        frame = frame.loc[keep].reset_index(drop=True)

    account, account_source = _account(ctx, file_handle)
    date_range = window or _range_from_data(frame, export_format)
    return ImportedExport(
        file=ctx.file,
        format=export_format,
        account=account,
        account_source=account_source,
        date_range=date_range,
        snapshot_at=date_range.end,
        columns=header.columns,
        table=frame,
        encoding=ctx.decoded.encoding,
        delimiter=ctx.dialect.delimiter,
        number_style=style,
        rate_check=rate_check,
        notes=tuple(ctx.notes),
    )


class _Reread(Exception):
    def __init__(self, style: NumberStyle) -> None:
        super().__init__(style.value)
        self.style = style


def _kept_column(ctx: _Context, column: Column, style: NumberStyle) -> pd.Series:
    """A link or an unknown column, kept: numbers when every cell is one, else text."""
    cells = ctx.cells(column)
    if column.kind is Kind.UNKNOWN:
        if cells.dtype.kind in "fi":
            return cells
        try:
            parsed = parse_numbers(cells, style=style, whole=False, what=column.header)
        except CellProblem:
            pass
        else:
            values = parsed.floats
            finite = values[~np.isnan(values)]
            if finite.size and (np.modf(finite)[0] == 0).all():
                return pd.Series(whole_counts(values), copy=False)
            return pd.Series(values, copy=False)
        ctx.notes.append(f"column {column.header!r} is not one X documents: kept as text")
    if pd.api.types.is_string_dtype(cells) and not cells.hasnans:
        return cells.reset_index(drop=True)
    return pd.Series(pd.array(cells.fillna("").astype(str).to_numpy(), dtype="str"), copy=False)


def _add_totals(table: dict[str, Any], numbers: dict[str, Numbers], header: HeaderMatch) -> None:
    """Legacy exports: total = organic + promoted for every count carried on both sides."""
    for column in header.columns:
        if column.context is not Context.ORGANIC or column.kind is not Kind.COUNT:
            continue
        field = column.field
        assert field is not None
        promoted = header.column(field.key, Context.PROMOTED)
        target = (
            total_metric(Level.POST, field.api_field).path
            if field.api_field is not None
            else destination(field, Context.TOTAL, header.format)
        )
        table[target] = pd.Series(
            _total(
                numbers[column.destination].floats,
                None if promoted is None else numbers[promoted.destination].floats,
            ),
            copy=False,
        )


def _range_from_data(frame: pd.DataFrame, export_format: ExportFormat) -> DateRange:
    moments = frame[CREATED_AT] if export_format.per_post else frame[DATE]
    first, last = moments.min(), moments.max()
    return DateRange(first=first.date(), last=last.date(), source="data")


def _context(
    file: str, decoded: DecodedFile, dialect: Dialect, header: HeaderMatch, *, as_text: bool
) -> _Context:
    frame = _read(decoded, dialect, header, file=file, as_text=as_text)
    frame, positions = _drop_empty_rows(frame)
    notes = list(decoded.notes)
    if dialect.delimiter != ",":
        notes.append(f"{dialect.delimiter_name}-separated")
    return _Context(
        file=file,
        decoded=decoded,
        dialect=dialect,
        header=header,
        frame=frame,
        positions=positions,
        notes=notes,
    )


def _refused(ctx: _Context, problem: _Refuse) -> ImportRefused:
    line = None if problem.row is None else ctx.line_of(problem.row)
    reason = problem.reason
    return ImportRefused(reason, file=ctx.file, line=line, column=problem.column)


def import_export(data: bytes, *, name: str) -> ImportedExport:
    """Import one export from its bytes; ``name`` is the file name (it may carry the
    account and the date range). Raises :class:`ImportRefused`; never returns a part."""
    file = Path(name).name or name
    return _import(decode(data, file=file), file=file)


def _import(decoded: DecodedFile, *, file: str) -> ImportedExport:
    try:
        try:
            return _import_decoded(decoded, file=file)
        except UnicodeDecodeError as exc:
            # decode() checked the start; the rest proved not to be UTF-8 while it was read
            redecoded = not_utf8(decoded, file=file)
            if redecoded is decoded:
                raise ImportRefused(
                    f"the file cannot be decoded ({exc.reason})", file=file
                ) from None
            return _import_decoded(redecoded, file=file)
    except ImportRefused:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, pa.ArrowException) as exc:
        # A file shaped in a way no test foresaw: refused whole with what went wrong, never
        # a traceback and never half a table.
        raise ImportRefused(
            f"the file could not be read ({type(exc).__name__}: {str(exc)[:200]})", file=file
        ) from exc


def _import_decoded(decoded: DecodedFile, *, file: str) -> ImportedExport:
    dialect = sniff_dialect(decoded, file=file)
    try:
        header = sniff_header(dialect.header)
    except HeaderProblem as problem:
        raise ImportRefused(str(problem), file=file, line=dialect.header_line) from None
    handle, window = _file_name_facts(file)
    ctx = _context(file, decoded, dialect, header, as_text=False)
    if ctx.frame.empty:
        raise ImportRefused(
            f"the file has only a header and no rows: no {header.format.row_noun}s to import "
            "(an export of a period without activity, or a file cut after its first line)",
            file=file,
        )
    try:
        try:
            return _build(ctx, handle, window)
        except _Reread:
            ctx = _context(file, decoded, dialect, header, as_text=True)
            return _build(ctx, handle, window)
    except _Refuse as problem:
        raise _refused(ctx, problem) from None


def import_path(path: str | Path) -> ImportedExport:
    """Import a file from disk; its size is checked before it is read."""
    target = Path(path)
    name = target.name
    try:
        decoded = decode_path(target, file=name)
    except FileNotFoundError:
        raise ImportRefused("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise ImportRefused("this is a folder, not a file", file=str(path)) from None
    except PermissionError:
        raise ImportRefused("the file cannot be read (permission denied)", file=str(path)) from None
    return _import(decoded, file=name)


def import_stream(stream: IO[bytes], *, name: str, size: int | None = None) -> ImportedExport:
    """Import an uploaded file (anything with ``read``; Streamlit's ``UploadedFile`` too).

    The size (``size``, else found by seeking) is checked before the bytes are read.
    """
    if size is None and stream.seekable():
        here = stream.tell()
        size = stream.seek(0, io.SEEK_END) - here
        stream.seek(here)
    if size is not None:
        check_size(size, file=Path(name).name or name)
    return import_export(stream.read(), name=name)


def field_label(key: str) -> str:
    return FIELDS_BY_KEY[key].label
