"""Bytes → UTF-8 and a dialect: encodings, BOMs, binary files, the size limit, delimiters."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from import_samples import CONTENT_HEADER, OVERVIEW_HEADER, csv_bytes, overview_rows

from xmetrics_core.imports.decoding import (
    MAX_IMPORT_BYTES,
    DecodedFile,
    check_size,
    decode,
    decode_path,
    not_utf8,
    record_lines,
    sniff_dialect,
)
from xmetrics_core.imports.errors import ImportRefused

TEXT = 'Date,Impressions\n"Tue, Feb 18, 2025",62\n'
F = "export.csv"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8 with BOM"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32-le"),
    ],
)
def test_every_unicode_encoding_becomes_the_same_utf8(raw: bytes, encoding: str) -> None:
    decoded = decode(raw, file=F)
    assert decoded.data == TEXT.encode("utf-8")
    assert decoded.encoding == encoding


def test_a_windows_1252_file_is_read_as_such_and_said_so() -> None:
    raw = "Date,Impressions\nCafé crème,1\n".encode("cp1252")
    decoded = decode(raw, file=F)
    assert decoded.data.decode("utf-8") == "Date,Impressions\nCafé crème,1\n"
    assert decoded.encoding == "windows-1252"
    assert "Windows-1252" in decoded.notes[0]


def test_utf8_damaged_after_valid_text_is_refused_at_its_line() -> None:
    raw = "Date,Text\n1,naïve\n2,ok\n".encode() + b"3,bad \xff byte\n"
    with pytest.raises(ImportRefused, match="not valid UTF-8") as refused:
        not_utf8(DecodedFile(content=raw, encoding="utf-8"), file=F)
    assert refused.value.line == 4
    assert str(refused.value).startswith("export.csv: line 4: ")


def test_invalid_utf8_late_in_a_big_file_is_found_by_the_full_check() -> None:
    raw = b"Date,Impressions\n" + b"x,1\n" * 30_000 + b"\xe9\xe9,1\n"
    decoded = decode(raw, file=F)  # only the start is checked here …
    assert decoded.encoding == "utf-8"
    assert not_utf8(decoded, file=F).encoding == "windows-1252"  # … the rest when read


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b"", "empty"),
        (b"  \r\n\t\n", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (b"\x00" * 64, "nothing but NUL"),
        (b"PK\x03\x04rest-of-a-workbook", "Excel workbook"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n....", "PNG image"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"window.YTD.tweets.part0 = [", "data archive"),
        (b"Date,Impressions\n\x00\x01\x02\x03binary", "binary file"),
        (bytes(range(1, 32)) * 50, "control characters"),
    ],
)
def test_files_that_are_not_text_are_refused_saying_what_they_are(raw: bytes, what: str) -> None:
    with pytest.raises(ImportRefused, match=what):
        decode(raw, file=F)


def test_the_size_limit_is_stated_in_the_refusal() -> None:
    check_size(MAX_IMPORT_BYTES, file=F)  # the limit itself is fine
    with pytest.raises(ImportRefused, match=r"104\.9 MB; the importer reads files up to 64 MiB"):
        check_size(100 * 1024 * 1024, file=F)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_the_one_that_splits_the_header_into_x_columns(delimiter: str) -> None:
    raw = csv_bytes(
        OVERVIEW_HEADER, overview_rows([("Tue, Feb 18, 2025", 62)]), delimiter=delimiter
    )
    dialect = sniff_dialect(decode(raw, file=F), file=F)
    assert dialect.delimiter == delimiter
    assert list(dialect.header) == OVERVIEW_HEADER
    assert dialect.header_line == 1


def test_excels_sep_line_and_leading_blank_lines_are_skipped() -> None:
    raw = b"\r\n\r\nsep=;\r\n" + csv_bytes(CONTENT_HEADER, [], delimiter=";", line_end="\r\n")
    dialect = sniff_dialect(decode(raw, file=F), file=F)
    assert dialect.delimiter == ";"
    assert dialect.skip_lines == 3
    assert dialect.header_line == 4
    assert dialect.delimiter_name == "semicolon"


def test_record_lines_count_multi_line_cells_and_skip_blank_lines() -> None:
    raw = b'Date,Text\n1,"two\nlines"\n\n2,x\n3,"a\r\nb\r\nc"\n4,y\n'
    decoded = decode(raw, file=F)
    assert record_lines(decoded, sniff_dialect(decoded, file=F)) == [2, 5, 6, 9]


def test_a_plain_utf8_file_on_disk_is_left_there_for_the_reader(tmp_path: Path) -> None:
    rows = overview_rows([("Tue, Feb 18, 2025", 62)] * 2000)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(csv_bytes(OVERVIEW_HEADER, rows))
    on_disk = decode_path(plain, file="plain.csv")
    assert on_disk.content is None and on_disk.path == plain
    assert on_disk.start[1] is False  # more than the sniffed start
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes(csv_bytes(OVERVIEW_HEADER, rows, bom=True))
    in_memory = decode_path(with_bom, file="bom.csv")
    assert in_memory.content is not None and in_memory.encoding == "utf-8 with BOM"
