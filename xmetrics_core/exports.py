"""CSV and zip exports of frames, safe to open in a spreadsheet.

Post text is written by strangers, so every exported text cell that a spreadsheet
would read as a formula is neutralised (OWASP "CSV Injection"): a string starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, which
spreadsheets treat as "this cell is text" (and hide). Only string cells are touched: a
negative number in a numeric column is data and stays a number. Column names are
neutralised the same way.

Encoding: :func:`safe_csv_bytes` writes UTF-8 **with** a byte-order mark by default,
because Excel otherwise guesses a legacy code page and garbles emoji and non-Latin
text; pandas, Python's ``csv`` (``encoding="utf-8-sig"``) and LibreOffice all read
the BOM transparently. :func:`safe_csv_text` (no BOM) is for text streams such as the
CLI's standard output. Rows end with CRLF (RFC 4180); missing values are empty cells.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from typing import Final, TypeVar

import pandas as pd

#: A cell starting with one of these is evaluated as a formula by common spreadsheets.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
#: What :func:`neutralise_formula` puts in front of a risky string.
NEUTRALISER: Final = "'"
BOM: Final = "\ufeff"
LINE_TERMINATOR: Final = "\r\n"
#: Zip entries get this fixed timestamp (the zip epoch) so the bytes are reproducible.
ZIP_TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

T = TypeVar("T")


def neutralise_formula(value: T) -> T | str:
    """``"=1+1"`` → ``"'=1+1"``; any other value (numbers, None, safe strings) unchanged.

    Strings starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a
    leading apostrophe so a spreadsheet shows them as text instead of evaluating them.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return NEUTRALISER + value
    return value


def _risky(column: pd.Series) -> pd.Series:
    """True for string cells that a spreadsheet would evaluate."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.str.startswith(FORMULA_TRIGGERS).fillna(False).astype(bool)
    return column.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_TRIGGERS)).astype(bool)


def _neutralised_column(column: pd.Series) -> pd.Series:
    """Neutralise the string cells of one column (vectorised); non-text columns pass through."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = pd.Series(column.cat.categories)
        if not _risky(categories).any():  # check each distinct value once
            return column
        column = column.astype(object)
    elif not (isinstance(column.dtype, pd.StringDtype) or column.dtype == object):
        return column
    risky = _risky(column)
    if not risky.any():
        return column
    return column.mask(risky, column.map(neutralise_formula))


def neutralised_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every risky string cell and column name neutralised."""
    columns = {i: _neutralised_column(frame.iloc[:, i]) for i in range(frame.shape[1])}
    return pd.DataFrame(columns, index=frame.index).set_axis(
        [neutralise_formula(str(c)) for c in frame.columns], axis=1
    )


def safe_csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text (no BOM): header row, no index, CRLF line ends, formula-safe.

    Missing values are empty cells; floats are written in full (``repr``) precision.
    """
    if frame.columns.empty:
        return ""
    return neutralised_frame(frame).to_csv(index=False, lineterminator=LINE_TERMINATOR)


def safe_csv_bytes(frame: pd.DataFrame, *, bom: bool = True) -> bytes:
    """The frame as formula-safe UTF-8 CSV bytes (with a BOM unless ``bom=False``)."""
    text = safe_csv_text(frame)
    return ((BOM if bom else "") + text).encode("utf-8")


def zip_bytes(frames: Mapping[str, pd.DataFrame], *, bom: bool = True) -> bytes:
    """One zip with ``<name>.csv`` per frame, in the mapping's order, reproducible bytes.

    Names must be simple file stems (letters, digits, ``_ . -``; no paths). Every entry
    has the same fixed timestamp and permissions, so the same frames give the same bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in frames.items():
            if not _SAFE_NAME.fullmatch(name):
                raise ValueError(f"unsafe export name {name!r}: use letters, digits, _ . -")
            info = zipfile.ZipInfo(f"{name}.csv", date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, safe_csv_bytes(frame, bom=bom))
    return buffer.getvalue()


__all__ = [
    "FORMULA_TRIGGERS",
    "neutralise_formula",
    "neutralised_frame",
    "safe_csv_bytes",
    "safe_csv_text",
    "zip_bytes",
]
