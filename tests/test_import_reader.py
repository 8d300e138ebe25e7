"""Importing whole files: X's real exports with every row, column and column sum kept, and
every bad input of issue 13 either read correctly or refused with the file and the line."""

from __future__ import annotations

import csv
import html
import io
import math
import random
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_samples import (
    CONTENT_2025_HEADER,
    CONTENT_FILE,
    CONTENT_HEADER,
    COUNTS,
    LEGACY_DAYS_FILE,
    LEGACY_NAME,
    LEGACY_POSTS_FILE,
    LEGACY_POSTS_HEADER,
    OVERVIEW_FILE,
    OVERVIEW_HEADER,
    YOUTUBE_STUDIO,
    LegacyPost,
    content_rows,
    csv_bytes,
    legacy_posts,
    legacy_posts_file,
    overview_rows,
    shared_export,
)

from xmetrics_core.imports import (
    ExportFormat,
    ImportedExport,
    ImportRefused,
    NumberStyle,
    import_export,
    import_path,
    import_stream,
)
from xmetrics_core.imports.formats import Kind
from xmetrics_core.references import snowflake_time

# -- X's real exports --------------------------------------------------------------------------

REAL = [
    (
        LEGACY_POSTS_FILE,
        ExportFormat.LEGACY_POSTS,
        "rOpenSci, 17 Posts, 1–31 Dec 2021, legacy per-Post export",
    ),
    (
        LEGACY_DAYS_FILE,
        ExportFormat.LEGACY_DAYS,
        "LisaDeBruine, 31 days, 1–31 Dec 2021, legacy per-day export",
    ),
    (
        CONTENT_FILE,
        ExportFormat.CONTENT,
        "HestysInvest, 40 Posts, 10–16 Aug 2026, per-Post content export",
    ),
    (
        OVERVIEW_FILE,
        ExportFormat.OVERVIEW,
        "50 days, 31 Dec 2024 – 18 Feb 2025, per-day overview export",
    ),
]


def file_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def file_sum(cells: list[str]) -> float:
    return math.fsum(float(c) for c in cells if c != "-")


@pytest.mark.parametrize(("name", "export_format", "summary"), REAL)
def test_a_real_export_imports_with_its_format_account_and_range(
    name: str, export_format: ExportFormat, summary: str
) -> None:
    imported = import_path(shared_export(name))
    assert imported.format is export_format
    assert imported.summary == summary
    assert imported.notes == ()
    assert imported.snapshot_at == datetime.combine(
        imported.date_range.last, datetime.min.time(), UTC
    ) + pd.Timedelta(days=1)


@pytest.mark.parametrize(("name", "export_format", "summary"), REAL)
def test_a_real_export_keeps_every_row_every_column_and_every_column_sum(
    name: str, export_format: ExportFormat, summary: str
) -> None:
    path = shared_export(name)
    imported = import_path(path)
    header, rows = file_rows(path)
    table = imported.table
    assert len(table) == len(rows)
    assert [c.header for c in imported.columns] == header
    for column in imported.columns:
        assert column.destination in table.columns, f"{column.header} was dropped"
        cells = [row[column.position] for row in rows]
        kept = table[column.destination]
        if column.kind in (Kind.COUNT, Kind.RATE):
            assert math.isclose(kept.sum(), file_sum(cells), rel_tol=1e-12), column.header
            assert kept.isna().sum() == cells.count("-"), column.header
        elif column.kind is Kind.ID:
            assert kept.tolist() == cells
        elif column.kind is Kind.TEXT:
            assert kept.tolist() == [html.unescape(c) for c in cells]
        elif column.kind is Kind.URL:
            assert kept.tolist() == cells
    if imported.rate_check is not None:
        assert imported.rate_check.ok and imported.rate_check.checked > 0


def test_real_legacy_totals_are_organic_plus_promoted_and_never_promoted_stays_missing() -> None:
    imported = import_path(shared_export(LEGACY_POSTS_FILE))
    table = imported.table
    assert table["promoted_metrics.impression_count"].isna().all()
    assert table["non_public_metrics.impression_count"].equals(
        table["organic_metrics.impression_count"]
    )
    first = table.iloc[0]
    assert first["id"] == "1475870580540952577"
    assert first["created_at"] == pd.Timestamp("2021-12-28 16:45", tz="UTC")
    assert first["organic_metrics.impression_count"] == 3423
    assert "&amp;" not in "".join(table["text"]) and "&" in "".join(table["text"])


def test_real_content_export_takes_creation_times_from_the_post_ids() -> None:
    imported = import_path(shared_export(CONTENT_FILE))
    for post_id, created in zip(imported.table["id"], imported.table["created_at"], strict=True):
        assert created.to_pydatetime() == snowflake_time(post_id)
    assert (imported.table["created_at"].dt.date == imported.table["export.date"].dt.date).all()


# -- encodings and dialects --------------------------------------------------------------------

POSTS = legacy_posts(4, promoted_every=2)
PLAIN = legacy_posts_file(POSTS)


def reference() -> pd.DataFrame:
    return import_export(PLAIN, name=LEGACY_NAME).table


def same_table(data: bytes, name: str = LEGACY_NAME) -> ImportedExport:
    imported = import_export(data, name=name)
    pd.testing.assert_frame_equal(imported.table, reference())
    return imported


def test_a_plain_legacy_file_gives_the_posts_it_holds() -> None:
    table = reference()
    assert table["id"].tolist() == [str(p.post_id) for p in POSTS]
    assert table["text"].tolist() == [p.text for p in POSTS]
    assert table["organic_metrics.impression_count"].tolist() == [1000, 2000, 3000, 4000]
    assert table["promoted_metrics.impression_count"].tolist() == [500, pd.NA, 502, pd.NA]
    assert table["non_public_metrics.impression_count"].tolist() == [1500, 2000, 3502, 4000]
    assert table["non_public_metrics.engagements"].tolist() == [27, 21, 31, 23]


@pytest.mark.parametrize(
    "dialect",
    [
        {"bom": True},
        {"encoding": "utf-16-le", "bom": True, "delimiter": "\t", "quote_all": False},
        {"encoding": "utf-16-be", "bom": True},
        {"encoding": "utf-16-le", "delimiter": "\t"},
        {"delimiter": "\t"},
        {"delimiter": "|"},
        {"line_end": "\r\n"},
        {"line_end": "\r"},
        {"quote_all": False},
    ],
)
def test_encodings_delimiters_and_line_ends_give_the_same_posts(dialect: dict[str, object]) -> None:
    imported = same_table(legacy_posts_file(POSTS, **dialect))
    if dialect.get("delimiter", ",") != ",":
        assert any("separated" in note for note in imported.notes)


def test_windows_line_ends_inside_a_quoted_text_are_kept() -> None:
    post = LegacyPost(post_id=1475870580540952577, text="one\r\ntwo")
    imported = import_export(legacy_posts_file([post], line_end="\r\n"), name=LEGACY_NAME)
    assert imported.table["text"].tolist() == ["one\r\ntwo"]


def test_columns_in_another_order_give_the_same_posts() -> None:
    order = list(range(len(LEGACY_POSTS_HEADER)))
    random.Random(3).shuffle(order)
    header = [LEGACY_POSTS_HEADER[i] for i in order]
    rows = [[p.cells()[i] for i in order] for p in POSTS]
    imported = import_export(csv_bytes(header, rows), name=LEGACY_NAME)
    expected = reference()
    pd.testing.assert_frame_equal(imported.table[expected.columns], expected)


def european(value: str) -> str:
    """A number as a German spreadsheet writes it: ``3423,0``, thousands with dots."""
    if value == "-" or not value[:1].isdigit():
        return value
    number = float(value)
    if number.is_integer() and "." not in value:
        return f"{int(number):,}".replace(",", ".")
    return value.replace(".", ",")


def test_a_file_resaved_by_a_european_spreadsheet_is_read_with_decimal_commas() -> None:
    rows = []
    for post in POSTS:
        cells = post.cells()
        when = datetime.strptime(cells[3], "%Y-%m-%d %H:%M %z")
        rows.append([*cells[:3], when.strftime("%d.%m.%Y %H:%M"), *map(european, cells[4:])])
    data = csv_bytes(LEGACY_POSTS_HEADER, rows, delimiter=";", quote_all=False)
    imported = same_table(data)
    assert imported.number_style is NumberStyle.COMMA
    assert any("decimal comma" in note for note in imported.notes)
    assert any("day-first" in note for note in imported.notes)


def test_a_file_resaved_by_a_us_spreadsheet_reads_its_dates_numbers_and_rounded_ids() -> None:
    rows = []
    for post in POSTS:
        cells = post.cells()
        when = datetime.strptime(cells[3], "%Y-%m-%d %H:%M %z")
        impressions = int(float(cells[4]))
        rounded_id = f"{int(cells[0]):.5E}".replace("E+", "E+")
        rows.append(
            [
                rounded_id,
                cells[1],
                cells[2],
                when.strftime("%-m/%-d/%Y %H:%M"),
                f"{impressions:,}",
                *cells[5:],
            ]
        )
    imported = same_table(csv_bytes(LEGACY_POSTS_HEADER, rows, quote_all=False))
    assert any("rounded by a spreadsheet" in note for note in imported.notes)
    assert any("month-first" in note for note in imported.notes)


def test_a_rounded_id_without_a_link_to_recover_it_is_refused() -> None:
    header = [h for h in LEGACY_POSTS_HEADER if h != "Tweet permalink"]
    cells = POSTS[0].cells()
    row = ["1.47587E+18", *cells[2:]]
    with pytest.raises(
        ImportRefused, match="rounded by a spreadsheet and cannot be recovered"
    ) as refused:
        import_export(csv_bytes(header, [row]), name=LEGACY_NAME)
    assert refused.value.line == 2


def test_an_id_that_disagrees_with_its_link_is_refused() -> None:
    cells = POSTS[0].cells()
    cells[1] = "https://twitter.com/rOpenSci/status/1234567890123456789"
    with pytest.raises(ImportRefused, match="does not match its link"):
        import_export(csv_bytes(LEGACY_POSTS_HEADER, [cells]), name=LEGACY_NAME)


def test_the_2025_content_spellings_import_like_the_current_ones() -> None:
    rows = content_rows(3)
    current = import_export(csv_bytes(CONTENT_HEADER, rows), name="a.csv").table
    variant_rows = [[r[0], r[1].replace(",", ""), *r[2:]] for r in rows]  # "Sat Aug 15 2026"
    variant = import_export(csv_bytes(CONTENT_2025_HEADER, variant_rows), name="a.csv").table
    pd.testing.assert_frame_equal(variant, current)


def test_excels_sep_line_and_trailing_empty_rows_are_skipped() -> None:
    data = b"sep=,\n" + PLAIN + b",,,,\n" + b"," * 39 + b"\n"
    same_table(data)
    bad = b"sep=,\n" + PLAIN.replace(b'"1000.0"', b'"lots"', 1)
    assert refused(bad).line == 3  # lines still count from the top of the file


def test_an_unknown_column_is_kept_as_numbers_or_text() -> None:
    header = [*OVERVIEW_HEADER, "Spend (USD)", "Campaign"]
    rows = [[*r, "12", "spring"] for r in overview_rows([("Tue, Feb 18, 2025", 62)])]
    imported = import_export(csv_bytes(header, rows), name="account_overview_analytics.csv")
    assert imported.table["export.Spend (USD)"].tolist() == [12]
    assert imported.table["export.Campaign"].tolist() == ["spring"]


def test_a_text_column_of_numbers_stays_text() -> None:
    post = LegacyPost(post_id=1475870580540952577, text="007")
    imported = import_export(legacy_posts_file([post], quote_all=False), name=LEGACY_NAME)
    assert imported.table["text"].tolist() == ["007"]


def test_a_post_whose_text_is_a_dash_keeps_it() -> None:
    post = LegacyPost(post_id=1475870580540952577, text="-")
    assert import_export(legacy_posts_file([post]), name=LEGACY_NAME).table["text"].tolist() == [
        "-"
    ]


def test_formula_cells_and_script_in_post_text_are_kept_as_plain_text() -> None:
    texts = ['=HYPERLINK("http://evil.example","x")', "<script>alert(1)</script>", "+1", "@SUM(A1)"]
    posts = [LegacyPost(post_id=1475870580540952577 - i, text=t) for i, t in enumerate(texts)]
    imported = import_export(legacy_posts_file(posts), name=LEGACY_NAME)
    assert imported.table["text"].tolist() == texts


def test_identical_repeated_rows_are_kept_once_and_said_so() -> None:
    data = legacy_posts_file([POSTS[0], POSTS[1], POSTS[0], POSTS[0]])
    imported = import_export(data, name=LEGACY_NAME)
    assert imported.rows == 2
    assert "2 repeated rows kept once (lines 6, 8)" in imported.notes


def test_a_post_repeated_with_other_numbers_is_refused_naming_both_lines() -> None:
    other = LegacyPost(post_id=POSTS[0].post_id, organic={"impressions": 1})
    with pytest.raises(
        ImportRefused, match=r"appears twice with different numbers \(lines 2 and 6\)"
    ):
        import_export(legacy_posts_file([POSTS[0], POSTS[1], other]), name=LEGACY_NAME)


def test_an_engagement_rate_that_does_not_match_is_noted_with_its_line() -> None:
    rows = [p.cells() for p in POSTS]
    rows[2][6] = "0.5"
    imported = import_export(csv_bytes(LEGACY_POSTS_HEADER, rows), name=LEGACY_NAME)
    assert imported.rate_check is not None
    assert imported.rate_check.mismatched == 1
    assert imported.rate_check.lines == (6,)
    assert any("engagement rate in the file differs" in note for note in imported.notes)


def test_a_windows_1252_file_from_an_old_spreadsheet_is_imported_with_a_note() -> None:
    post = LegacyPost(post_id=1475870580540952577, text="Café crème")
    data = legacy_posts_file([post]).decode("utf-8").encode("cp1252")
    imported = import_export(data, name=LEGACY_NAME)
    assert imported.table["text"].tolist() == ["Café crème"]
    assert imported.encoding == "windows-1252"


def test_a_windows_1252_file_on_disk_whose_start_is_ascii_is_still_read(tmp_path: Path) -> None:
    posts = [LegacyPost(post_id=1475870580540952577 - i, text=f"plain {i}") for i in range(300)]
    posts.append(LegacyPost(post_id=1475870580540000000 + 7, text="Café crème"))
    data = legacy_posts_file(posts).decode("utf-8").encode("cp1252")
    assert len(data) > 64 * 1024 and data[: 64 * 1024].isascii()
    path = tmp_path / LEGACY_NAME
    path.write_bytes(data)
    imported = import_path(path)
    assert imported.encoding == "windows-1252"
    assert imported.table["text"].iloc[-1] == "Café crème"


def test_an_old_post_id_in_a_content_export_keeps_its_day() -> None:
    rows = content_rows(1)
    rows[0][0] = "20"  # a 2006 ID: no time inside
    rows[0][3] = "https://x.com/jack/status/20"
    imported = import_export(csv_bytes(CONTENT_HEADER, rows), name="a.csv")
    assert imported.table["created_at"].tolist() == [pd.Timestamp("2026-08-15", tz="UTC")]
    assert any("time of day is unknown" in note for note in imported.notes)


def test_the_date_range_comes_from_the_data_when_the_file_name_lacks_it() -> None:
    imported = import_export(PLAIN, name="export (1).csv")
    assert imported.date_range.source == "data"
    assert (imported.date_range.first, imported.date_range.last) == (
        date(2021, 12, 25),
        date(2021, 12, 28),
    )
    assert imported.account == "rOpenSci" and imported.account_source == "links"


def test_a_per_day_file_imports_one_row_per_day_newest_first_as_x_writes_it() -> None:
    days = [("Tue, Feb 18, 2025", 62), ("Mon, Feb 17, 2025", 426)]
    imported = import_export(
        csv_bytes(OVERVIEW_HEADER, overview_rows(days)), name="account_overview_analytics.csv"
    )
    assert imported.format is ExportFormat.OVERVIEW
    assert imported.table["date"].tolist() == [
        pd.Timestamp("2025-02-18"),
        pd.Timestamp("2025-02-17"),
    ]
    assert imported.account is None
    assert imported.snapshot_at == datetime(2025, 2, 19, tzinfo=UTC)


def test_a_stream_is_imported_after_its_size_is_checked() -> None:
    imported = import_stream(io.BytesIO(PLAIN), name=LEGACY_NAME)
    assert imported.rows == len(POSTS)


# -- refused files -------------------------------------------------------------------------------


def refused(data: bytes, name: str = LEGACY_NAME) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        import_export(data, name=name)
    assert caught.value.file == Path(name).name
    assert str(caught.value).startswith(Path(name).name + ": ")
    return caught.value


def test_a_truncated_file_cut_inside_a_row_is_refused_at_that_line() -> None:
    cut = PLAIN[: PLAIN.rindex(b',"-","-"')]  # the last row loses its last two cells
    problem = refused(cut)
    assert problem.line == 8
    assert "no value" in problem.reason and "shorter than the header" in problem.reason


def test_a_truncated_file_cut_inside_a_quoted_text_is_refused() -> None:
    cut = PLAIN[: PLAIN.rindex(b"second line")]
    problem = refused(cut)
    assert "ends inside a quoted cell" in problem.reason
    assert problem.line == 8


def test_a_row_with_more_cells_than_the_header_is_refused_at_its_line() -> None:
    data = PLAIN.replace(b'"-"\n', b'"-","extra"\n', 1)  # the second Post (lines 4-5)
    problem = refused(data)
    assert "41 cells but the header has 40" in problem.reason
    assert problem.line == 4


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (legacy_posts_file([]), "only a header and no rows"),
        (bytes(range(256)) * 4, "binary"),
        (b"PK\x03\x04" + bytes(100), "Excel workbook"),
        (YOUTUBE_STUDIO.encode(), "YouTube Studio export"),
        (b"name,email\nann,a@example.com\n", "not one of X's analytics exports"),
        (
            b"\xef\xbb\xbfTweet id,time,impressions\n1,2021-12-28 16:45 +0000,abc\n",
            "'abc' in the impressions column is not a number",
        ),
        (b"Tweet id,time,impressions\n1,2021-12-28 16:45 +0000,3.5\n", "not a whole number"),
        (
            b"Tweet id,time,impressions\n1,yesterday,3\n",
            "'yesterday' in the time column is not a date",
        ),
        (b"Tweet id,time,impressions\nabc,2021-12-28 16:45 +0000,3\n", "'abc' is not a Post ID"),
        (
            b"Date;Impressions;Likes\n2025-02-18;3.0;1\n2025-02-17;3,5;1\n",
            "numbers are written two ways",
        ),
    ],
)
def test_bad_files_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    assert reason in str(refused(data))


def test_a_100_mb_file_is_refused_before_it_is_read_stating_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "tweet_activity_metrics_big_20211201_20220101_en.csv"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: no disk used; all NUL if it were read
    with pytest.raises(ImportRefused, match="104.9 MB; the importer reads files up to 64 MiB"):
        import_path(big)
    with pytest.raises(ImportRefused, match="up to 64 MiB"):
        import_stream(big.open("rb"), name=big.name)


def test_a_missing_file_or_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="no such file"):
        import_path(tmp_path / "nope.csv")
    with pytest.raises(ImportRefused, match="folder"):
        import_path(tmp_path)


# -- fuzzing the row parser ------------------------------------------------------------------

TEXTS = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from(list("\n\r\t\"',;|=+-@&<>")),
    ),
    max_size=40,
)
SIDES = st.fixed_dictionaries({name: st.integers(0, 10**9) for name in COUNTS})


@st.composite
def posts(draw: st.DrawFn) -> list[LegacyPost]:
    count = draw(st.integers(1, 6))
    ids = draw(
        st.lists(st.integers(10**17, 2**63 - 1), min_size=count, max_size=count, unique=True)
    )
    drawn = []
    for post_id in ids:
        moment = draw(st.datetimes(min_value=datetime(2013, 10, 1), max_value=datetime(2030, 1, 1)))
        drawn.append(
            LegacyPost(
                post_id=post_id,
                text=draw(TEXTS),
                time=moment.strftime("%Y-%m-%d %H:%M +0000"),
                organic=draw(SIDES),
                promoted=draw(st.none() | SIDES),
            )
        )
    return drawn


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=posts(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    line_end=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-16-le"]),
    bom=st.booleans(),
    quote_all=st.booleans(),
    order_seed=st.integers(0, 1000),
)
def test_any_posts_written_in_any_dialect_read_back_exactly(
    drawn: list[LegacyPost],
    delimiter: str,
    line_end: str,
    encoding: str,
    bom: bool,
    quote_all: bool,
    order_seed: int,
) -> None:
    order = list(range(len(LEGACY_POSTS_HEADER)))
    random.Random(order_seed).shuffle(order)
    # Python's csv writer leaves a lone CR unquoted when rows end in LF: a broken file.
    quote_all = quote_all or any("\r" in p.text for p in drawn)
    data = csv_bytes(
        [LEGACY_POSTS_HEADER[i] for i in order],
        [[p.cells()[i] for i in order] for p in drawn],
        delimiter=delimiter,
        line_end=line_end,
        encoding=encoding,
        bom=bom or encoding != "utf-8",
        quote_all=quote_all,
    )
    table = import_export(data, name=LEGACY_NAME).table
    assert table["id"].tolist() == [str(p.post_id) for p in drawn]
    assert table["text"].tolist() == [p.text for p in drawn]
    assert table["created_at"].tolist() == [
        pd.Timestamp(datetime.strptime(p.time, "%Y-%m-%d %H:%M %z")) for p in drawn
    ]
    assert table["organic_metrics.like_count"].tolist() == [p.organic["likes"] for p in drawn]
    assert table["promoted_metrics.like_count"].tolist() == [
        pd.NA if p.promoted is None else p.promoted["likes"] for p in drawn
    ]
    assert table["export.organic detail expands"].tolist() == [
        p.organic["detail expands"] for p in drawn
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_imported_or_refused_never_a_crash(data: bytes) -> None:
    try:
        import_export(data, name="upload.csv")
    except ImportRefused as problem:
        assert problem.file == "upload.csv" and problem.reason


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(TEXTS, min_size=1, max_size=6), max_size=6),
    st.sampled_from([LEGACY_POSTS_HEADER, CONTENT_HEADER, OVERVIEW_HEADER]),
)
def test_any_rows_under_an_x_header_are_imported_or_refused_with_a_line(
    rows: list[list[str]], header: list[str]
) -> None:
    data = csv_bytes(header, rows)
    try:
        imported = import_export(data, name="x.csv")
    except ImportRefused as problem:
        assert problem.reason
        if problem.line is not None:
            assert 1 <= problem.line <= data.count(b"\n") + data.count(b"\r") + 1
    else:
        assert imported.rows <= len(rows)
        assert np.all(imported.table.columns.notna())
