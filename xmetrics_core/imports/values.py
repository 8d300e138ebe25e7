"""Cells → values, a whole column at a time (vectorised with Arrow compute).

Decided here (and documented in the README):

* **Counts** are whole, non-negative numbers. X writes ``3423.0`` or ``3423``; both are
  3423. ``-`` means "no value" (in the legacy ``promoted …`` columns: never promoted) and
  becomes missing, never 0. An empty cell is refused: X always writes a number or ``-``,
  so an empty count means a row shorter than the header (a truncated or edited file).
* **Number style**, decided once per file from every number in it:
  ``DOT`` (X's own: ``3423.0``, ``0.0052``; a spreadsheet's ``3,423`` thousands are read
  too) or ``COMMA`` (a European spreadsheet's re-save: ``3423,0``, ``0,0052``, thousands
  ``3.423``). Evidence for a comma decimal mark is a comma followed by other than exactly
  three digits (``3423,0``) or a dot between groups of three in a count (``3.423``);
  evidence for a dot is the mirror image. With no evidence either way (every number a
  plain integer) the style does not matter; a semicolon-separated file then counts as
  COMMA. A file with evidence for both is refused. Spaces, no-break spaces and ``'`` are
  thousands separators in either style. Rates may end in ``%`` (a spreadsheet's percent
  format): ``0.53%`` is 0.0053.
* **Times and dates**: each column is read with the first of a list of formats that reads
  every cell (X's own first). When both a month-first (``12/28/2021``) and a day-first
  reading fit every cell, the one whose dates fall within the export's date range (from
  its file name) wins, else day-first for COMMA files and month-first otherwise. A time
  without an offset (a spreadsheet drops X's ``+0000``) is UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]

NOT_PROMOTED: Final = "-"
_SPACES: Final = " \u00a0\u202f\u2009'"


class CellProblem(ValueError):
    """A cell that cannot be read: ``row`` is its 0-based position among the data rows."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason


class NumberStyle(StrEnum):
    DOT = "dot"
    COMMA = "comma"

    @property
    def example(self) -> str:
        return "3423.0" if self is NumberStyle.DOT else "3423,0"


def arrow_strings(cells: pd.Series) -> pa.Array:
    """A string column as an Arrow array (zero-copy for pandas' Arrow-backed strings)."""
    array = pa.array(cells, type=pa.large_string(), from_pandas=True)
    return array


_EXPONENT = r"(?:[eE][-+]?[0-9]+)?"
_COMMA_DECIMAL = r"^(?:[0-9]+,(?:[0-9]{1,2}|[0-9]{4,})|0,[0-9]+|[0-9]+,[0-9]+[eE][-+]?[0-9]+)%?$"
_DOT_DECIMAL = r"^(?:[0-9]+\.(?:[0-9]{1,2}|[0-9]{4,})|0\.[0-9]+|[0-9]+\.[0-9]+[eE][-+]?[0-9]+)%?$"
_COMMA_GROUPS = r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$"
_DOT_GROUPS = r"^[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$"
_PATTERN: dict[NumberStyle, str] = {
    NumberStyle.DOT: (
        rf"^(?:[0-9]+|[0-9]{{1,3}}(?:[,{_SPACES}][0-9]{{3}})+)(?:\.[0-9]+)?{_EXPONENT}%?$"
    ),
    NumberStyle.COMMA: (
        rf"^(?:[0-9]+|[0-9]{{1,3}}(?:[.{_SPACES}][0-9]{{3}})+)(?:,[0-9]+)?{_EXPONENT}%?$"
    ),
}
_GROUP_CHARS: dict[NumberStyle, str] = {
    NumberStyle.DOT: f"[,{_SPACES}]",
    NumberStyle.COMMA: f"[.{_SPACES}]",
}


@dataclass(frozen=True, slots=True)
class StyleEvidence:
    """One cell that shows a file's number style, for messages."""

    style: NumberStyle
    row: int
    text: str


def _first_match(cells: pa.Array, pattern: str) -> int | None:
    hits = pc.fill_null(pc.match_substring_regex(cells, pattern), False)
    if not pc.any(hits).as_py():
        return None
    return int(pc.index(hits, True).as_py())


def style_evidence(
    counts: Sequence[pa.Array], rates: Sequence[pa.Array]
) -> dict[NumberStyle, StyleEvidence]:
    """The first cell showing each style (see the module docstring), per style found."""
    found: dict[NumberStyle, StyleEvidence] = {}
    checks = [(c, _COMMA_DECIMAL, NumberStyle.COMMA) for c in (*counts, *rates)]
    checks += [(c, _DOT_DECIMAL, NumberStyle.DOT) for c in (*counts, *rates)]
    checks += [(c, _DOT_GROUPS, NumberStyle.COMMA) for c in counts]
    checks += [(c, _COMMA_GROUPS, NumberStyle.DOT) for c in counts]
    for cells, pattern, style in checks:
        if style in found:
            continue
        row = _first_match(cells, pattern)
        if row is not None:
            found[style] = StyleEvidence(style, row, str(cells[row].as_py()))
    return found


def trimmed(cells: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(cells)


@dataclass(frozen=True, slots=True)
class Numbers:
    floats: FloatArray
    """NaN where the cell was ``-``."""
    resolution: FloatArray | None
    """Half a unit of each cell's last written digit (0.5 for ``3``, 0.00005 for
    ``0.0053``): the tolerance a rounded rate is checked with. None when the cells were
    read straight to numbers (X's own full-precision writing)."""


def _bad(row: int, text: str | None, what: str) -> CellProblem:
    if text is None or text == "":
        return CellProblem(
            row,
            f"no value in the {what} column (X writes a number or '-' there): the row is "
            "shorter than the header, or the cell was emptied",
        )
    return CellProblem(row, f"{text[:40]!r} in the {what} column is not a number")


def parse_numbers(cells: pd.Series, *, style: NumberStyle, whole: bool, what: str) -> Numbers:
    """Read a column of numbers written in ``style``; ``-`` → NaN.

    ``whole``: counts (refused unless whole and non-negative). Raises :class:`CellProblem`
    naming the first bad cell's row.
    """
    text = trimmed(arrow_strings(cells))
    # a null is a "-" that read_csv already turned into NA ('' is never null here)
    dash = pc.fill_null(pc.equal(text, NOT_PROMOTED), True)
    ok = pc.fill_null(pc.match_substring_regex(text, _PATTERN[style]), False)
    good = pc.or_(ok, dash)
    if not pc.all(good).as_py():
        row = int(pc.index(good, False).as_py())
        raise _bad(row, text[row].as_py(), what)
    percent = pc.fill_null(pc.ends_with(text, "%"), False)
    plain = pc.replace_substring_regex(text, _GROUP_CHARS[style], "")
    plain = pc.replace_substring(plain, "%", "")
    if style is NumberStyle.COMMA:
        plain = pc.replace_substring(plain, ",", ".")
    plain = pc.if_else(dash, pa.scalar(None, pa.large_string()), plain)
    values = pc.cast(plain, pa.float64()).to_numpy(zero_copy_only=False)
    values = values.astype(np.float64, copy=True)
    fraction_digits = pc.subtract(pc.utf8_length(plain), pc.add(pc.find_substring(plain, "."), 1))
    has_point = pc.greater_equal(pc.find_substring(plain, "."), 0)
    digits = pc.if_else(has_point, fraction_digits, 0)
    exponent = pc.fill_null(pc.match_substring_regex(plain, "[eE]"), False)
    digits = pc.if_else(exponent, 300, digits)  # 1.2e-05: as precise as a float gets
    decimals = pc.fill_null(digits, 0).to_numpy(zero_copy_only=False).astype(np.float64)
    percent_mask = percent.to_numpy(zero_copy_only=False).astype(bool)
    if percent_mask.any():
        if whole:
            row = int(np.flatnonzero(percent_mask)[0])
            raise CellProblem(row, f"{text[row].as_py()!r} in the {what} column is a percentage")
        values[percent_mask] /= 100.0
        decimals[percent_mask] += 2
    resolution = 0.5 * np.power(10.0, -decimals)
    if whole:
        check_whole(values, what=what)
    return Numbers(floats=values, resolution=resolution)


def check_whole(values: FloatArray, *, what: str) -> None:
    """Refuse a count that is negative, infinite or has a fraction (NaN is fine: ``-``)."""
    with np.errstate(invalid="ignore"):
        bad = values != np.floor(values)  # a fraction (or NaN: cleared below)
        bad |= values < 0
        bad |= values >= 2.0**63
    if bad.any():
        bad &= ~np.isnan(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CellProblem(
            row, f"{values[row]!r} in the {what} column is not a whole number of events"
        )


def whole_counts(values: FloatArray) -> pd.arrays.IntegerArray:
    """Checked whole counts as nullable Int64 (NaN → <NA>, never 0)."""
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        data = values.astype(np.int64)  # NaN cells hold garbage, masked as missing
    if missing.any():
        data[missing] = 0
    return pd.arrays.IntegerArray(data, missing)


# -- times and dates --------------------------------------------------------------------------

#: (format, reading) in the order tried; the reading names the family for ambiguity checks.
_ISO, _MDY, _DMY, _X = "iso", "month-first", "day-first", "x"
TIME_FORMATS: tuple[tuple[str, str], ...] = (
    ("%Y-%m-%d %H:%M %z", _X),
    ("%Y-%m-%d %H:%M:%S %z", _ISO),
    ("%Y-%m-%dT%H:%M:%S%z", _ISO),
    ("%Y-%m-%d %H:%M", _ISO),
    ("%Y-%m-%d %H:%M:%S", _ISO),
    ("%Y-%m-%dT%H:%M:%S", _ISO),
    ("%Y/%m/%d %H:%M", _ISO),
    ("%Y/%m/%d %H:%M:%S", _ISO),
    ("%m/%d/%Y %H:%M", _MDY),
    ("%m/%d/%Y %H:%M:%S", _MDY),
    ("%m/%d/%Y %I:%M %p", _MDY),
    ("%m/%d/%Y %I:%M:%S %p", _MDY),
    ("%m/%d/%y %H:%M", _MDY),
    ("%d/%m/%Y %H:%M", _DMY),
    ("%d/%m/%Y %H:%M:%S", _DMY),
    ("%d/%m/%y %H:%M", _DMY),
    ("%d.%m.%Y %H:%M", _DMY),
    ("%d.%m.%Y %H:%M:%S", _DMY),
    ("%d.%m.%y %H:%M", _DMY),
    ("%d-%m-%Y %H:%M", _DMY),
)
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    ("%Y-%m-%d", _X),
    ("%a, %b %d, %Y", _X),
    ("%a %b %d %Y", _X),
    ("%b %d, %Y", _ISO),
    ("%a, %d %b %Y", _ISO),
    ("%d %b %Y", _ISO),
    ("%Y/%m/%d", _ISO),
    ("%Y-%m-%d %H:%M:%S", _ISO),
    ("%Y-%m-%d %H:%M", _ISO),
    ("%m/%d/%Y", _MDY),
    ("%m/%d/%y", _MDY),
    ("%m/%d/%Y %H:%M", _MDY),
    ("%m/%d/%Y %H:%M:%S", _MDY),
    ("%d/%m/%Y", _DMY),
    ("%d/%m/%y", _DMY),
    ("%d/%m/%Y %H:%M", _DMY),
    ("%d.%m.%Y", _DMY),
    ("%d.%m.%y", _DMY),
    ("%d-%m-%Y", _DMY),
)


@dataclass(frozen=True, slots=True)
class Moments:
    """A parsed time or date column: UTC instants (``datetime64[s]``, naive = UTC)."""

    instants: npt.NDArray[np.datetime64]
    format: str
    note: str | None
    """Said when the column was not in X's own format (a spreadsheet re-saved it)."""


def _strptime(cells: pa.Array, fmt: str) -> pa.Array:
    parsed = pc.strptime(cells, format=fmt, unit="s", error_is_null=True)
    if pa.types.is_timestamp(parsed.type) and parsed.type.tz is not None:
        parsed = parsed.cast(pa.timestamp("s"))  # stored as UTC instants already
    return parsed


def _in_window(parsed: pa.Array, window: tuple[date, date] | None) -> bool:
    if window is None or len(parsed) == 0:
        return False
    values = parsed.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    first, last = (np.datetime64(d, "D") for d in window)
    return bool(((values >= first) & (values <= last)).all())


def parse_moments(
    cells: pd.Series,
    *,
    formats: Sequence[tuple[str, str]],
    what: str,
    day_first: bool,
    window: tuple[date, date] | None = None,
) -> Moments:
    """Read a time or date column with the first format that reads every cell.

    A month-first/day-first tie is broken by ``window`` (the export's range) and then by
    ``day_first``. Raises :class:`CellProblem` at the first cell no format can read (under
    the format that read most cells).
    """
    text = trimmed(arrow_strings(cells))
    fitting: list[tuple[str, str, pa.Array]] = []
    best: tuple[int, str, pa.Array] | None = None
    for fmt, reading in formats:
        parsed = _strptime(text, fmt)
        nulls = parsed.null_count
        if nulls == 0:
            fitting.append((fmt, reading, parsed))
            if reading in (_X, _ISO):
                break
            continue
        if best is None or nulls < best[0]:
            best = (nulls, fmt, parsed)
    if not fitting:
        assert best is not None
        _, fmt, parsed = best
        row = int(pc.index(pc.is_null(parsed), True).as_py())
        shown = text[row].as_py()
        raise CellProblem(
            row,
            f"{shown[:40]!r} in the {what} column is not a date"
            if shown
            else f"no value in the {what} column",
        )
    chosen = fitting[0]
    readings = {reading for _, reading, _ in fitting}
    if {_MDY, _DMY} <= readings:
        by_reading = {reading: (fmt, reading, parsed) for fmt, reading, parsed in fitting}
        inside = [r for r in (_MDY, _DMY) if _in_window(by_reading[r][2], window)]
        preferred = inside[0] if len(inside) == 1 else (_DMY if day_first else _MDY)
        chosen = by_reading[preferred]
    fmt, reading, parsed = chosen
    note = None
    if reading != _X:
        example = pd.Timestamp(parsed[0].as_py()).strftime(fmt.replace("%z", "+0000"))
        note = (
            f"{what} read as {fmt!r} (like {example!r}, "
            + (f"{reading}; " if reading in (_MDY, _DMY) else "")
            + "not X's own format: a spreadsheet re-saved the file"
            + ("; times without an offset are UTC)" if "%H" in fmt and "%z" not in fmt else ")")
        )
    values = parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    return Moments(instants=values, format=fmt, note=note)
