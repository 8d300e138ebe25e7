"""Exports: formula-injection-safe CSV and reproducible zips.

The spreadsheet proof parses the exported bytes back with Python's ``csv`` module and
checks that no cell starts with a formula trigger unless it is a plain number.
LibreOffice is not installed here (and is not installed for the test).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pandas as pd
import pytest

from xmetrics_core.exports import (
    FORMULA_TRIGGERS,
    neutralise_formula,
    safe_csv_bytes,
    safe_csv_text,
    zip_bytes,
)

HOSTILE_TEXTS = [
    '=HYPERLINK("https://example.com","click me")',
    "=cmd|' /C calc'!A0",
    "+1 for the new dashboard ✅",
    "-2 bugs left before the release 🐛",
    "-1+1",
    "@everyone =SUM(A1:A9) is a formula, not a Post",
    "\t=1+1",
    "\r=1+1",
    "Multi-line\n=1+1\twith a tab",
    "plain text is left alone",
    "Ünïcødé ✨ 日本語のテキスト 🇺🇦 👩‍💻",
]
# A cell a spreadsheet would treat as a plain number, not a formula.
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _cells(payload: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(payload.decode("utf-8-sig"), newline="")))


def _spreadsheet_would_evaluate(cell: str) -> bool:
    return cell.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(cell)


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_every_formula_trigger_gets_a_leading_apostrophe(trigger: str) -> None:
    assert neutralise_formula(f"{trigger}1+1") == f"'{trigger}1+1"


@pytest.mark.parametrize("value", ["hello", "", " =1+1", "1+1", "'=already"])
def test_safe_strings_are_unchanged(value: str) -> None:
    assert neutralise_formula(value) == value


@pytest.mark.parametrize("value", [-5, -2.5, 0, None, True])
def test_non_strings_are_unchanged(value: object) -> None:
    assert neutralise_formula(value) is value


def test_exported_csv_opened_in_a_spreadsheet_cannot_run_a_formula() -> None:
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(len(HOSTILE_TEXTS))],
            "text": pd.array(HOSTILE_TEXTS, dtype="str"),
            "as_category": pd.Categorical(HOSTILE_TEXTS),
            "as_object": pd.Series(HOSTILE_TEXTS, dtype=object),
            "delta": pd.array([-5, 3, None, -1, 0, 2, 1, 1, 1, 1, 1], dtype="Int64"),
            "rate": [-0.5, 0.25, float("nan"), 1e-9, 0, 2, 1, 1, 1, 1, 1],
            '=HYPERLINK("x")': ["a"] * len(HOSTILE_TEXTS),
        }
    )
    rows = _cells(safe_csv_bytes(frame))
    assert len(rows) == len(HOSTILE_TEXTS) + 1
    for row in rows:
        for cell in row:
            assert not _spreadsheet_would_evaluate(cell), repr(cell)
    header, first = rows[0], rows[1]
    assert header[-1] == '\'=HYPERLINK("x")'
    # Numbers stay numbers: a negative count is data, not a formula.
    assert [r[4] for r in rows[1:4]] == ["-5", "3", ""]
    assert first[5] == "-0.5"
    # Text survives: removing the apostrophe gives back exactly what was written.
    for column in (1, 2, 3):
        texts = [r[column] for r in rows[1:]]
        assert [t[1:] if t.startswith("'") else t for t in texts] == HOSTILE_TEXTS


def test_csv_bytes_are_utf8_with_a_bom_and_crlf_rows() -> None:
    frame = pd.DataFrame({"text": ["🍿 ok", None], "n": pd.array([1, None], dtype="Int64")})
    payload = safe_csv_bytes(frame)
    assert payload.startswith("\ufeff".encode())
    assert payload.decode("utf-8-sig") == "text,n\r\n🍿 ok,1\r\n,\r\n"
    assert not safe_csv_bytes(frame, bom=False).startswith("\ufeff".encode())
    assert safe_csv_text(frame) == "text,n\r\n🍿 ok,1\r\n,\r\n"


def test_csv_round_trips_through_pandas() -> None:
    frame = pd.DataFrame({"id": ["1", "2"], "rate": [0.1 + 0.2, 1 / 3], "n": [5, -7]})
    back = pd.read_csv(io.BytesIO(safe_csv_bytes(frame)), dtype={"id": str})
    assert back["id"].tolist() == ["1", "2"]
    assert back["rate"].tolist() == [0.1 + 0.2, 1 / 3]  # full precision
    assert back["n"].tolist() == [5, -7]


def test_a_frame_without_columns_exports_as_empty_text() -> None:
    assert safe_csv_text(pd.DataFrame()) == ""


def test_the_input_frame_is_not_modified() -> None:
    frame = pd.DataFrame({"text": ["=1+1"]})
    safe_csv_bytes(frame)
    assert frame["text"].tolist() == ["=1+1"]


def test_zip_holds_one_csv_per_frame_in_order_with_reproducible_bytes() -> None:
    frames = {
        "posts": pd.DataFrame({"text": ["=evil()", "fine"]}),
        "quartiles": pd.DataFrame({"quartile": [0, 25], "viewers": [10, 8]}),
    }
    first = zip_bytes(frames)
    assert first == zip_bytes(frames)
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["posts.csv", "quartiles.csv"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("posts.csv") == safe_csv_bytes(frames["posts"])
        assert _cells(archive.read("posts.csv"))[1] == ["'=evil()"]


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 101])
def test_zip_rejects_names_that_are_not_plain_file_stems(name: str) -> None:
    with pytest.raises(ValueError, match="unsafe export name"):
        zip_bytes({name: pd.DataFrame({"a": [1]})})
