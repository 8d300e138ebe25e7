"""Cells → values: counts in X's and spreadsheets' number styles, ``-``, rates, times, dates."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xmetrics_core.imports.values import (
    DATE_FORMATS,
    TIME_FORMATS,
    CellProblem,
    NumberStyle,
    arrow_strings,
    parse_moments,
    parse_numbers,
    style_evidence,
    whole_counts,
)


def cells(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def counts(*values: str, style: NumberStyle = NumberStyle.DOT) -> list[float]:
    parsed = parse_numbers(cells(*values), style=style, whole=True, what="impressions")
    return parsed.floats.tolist()


def test_x_writes_counts_as_floats_and_they_are_whole_numbers() -> None:
    assert counts("3423.0", "0", "18.0", "12") == [3423, 0, 18, 12]


def test_a_dash_is_not_promoted_missing_never_zero() -> None:
    values = parse_numbers(cells("-", "5"), style=NumberStyle.DOT, whole=True, what="x").floats
    assert np.isnan(values[0]) and values[1] == 5
    assert whole_counts(values).tolist() == [pd.NA, 5]


def test_spreadsheet_thousands_and_decimal_commas_are_read_in_their_style() -> None:
    assert counts("3,423", "1,234,567", "3 423", "12") == [3423, 1234567, 3423, 12]
    assert counts("3423,0", "3.423", "1.234.567,00", "3\u00a0423", style=NumberStyle.COMMA) == [
        3423,
        3423,
        1234567,
        3423,
    ]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("", "no value in the impressions column"),
        ("abc", "'abc' in the impressions column is not a number"),
        ("3.5", "not a whole number"),
        ("-3", "not a number"),
        ("3423,0", "not a number"),  # a decimal comma in a DOT file
        ("12%", "is a percentage"),
        ("=1+1", "not a number"),
    ],
)
def test_a_bad_count_names_its_row_and_why(cell: str, reason: str) -> None:
    with pytest.raises(CellProblem, match=reason) as problem:
        counts("1", "2", cell)
    assert problem.value.row == 2


def test_rates_may_be_percentages_and_carry_the_precision_they_were_written_with() -> None:
    parsed = parse_numbers(
        cells("0.0052585451358457495", "0.53%"), style=NumberStyle.DOT, whole=False, what="rate"
    )
    assert parsed.floats.tolist() == pytest.approx([0.0052585451358457495, 0.0053])
    assert parsed.resolution is not None
    assert parsed.resolution.tolist() == pytest.approx([0.5e-19, 0.5e-4])


def test_style_evidence_tells_a_decimal_comma_from_thousands() -> None:
    dot = style_evidence([arrow_strings(cells("3423.0", "12"))], [])
    assert set(dot) == {NumberStyle.DOT}
    comma = style_evidence([arrow_strings(cells("12", "3423,0"))], [])
    assert comma[NumberStyle.COMMA].row == 1
    grouped = style_evidence([arrow_strings(cells("3.423"))], [])
    assert set(grouped) == {NumberStyle.COMMA}
    rate = style_evidence([], [arrow_strings(cells("0,0052"))])
    assert set(rate) == {NumberStyle.COMMA}
    assert style_evidence([arrow_strings(cells("3,423", "7"))], []).keys() == {NumberStyle.DOT}
    assert style_evidence([arrow_strings(cells("12", "7"))], []) == {}


def _moments(
    values: list[str],
    *,
    time: bool,
    day_first: bool,
    window: tuple[date, date] | None = None,
) -> list[datetime]:
    parsed = parse_moments(
        cells(*values),
        formats=TIME_FORMATS if time else DATE_FORMATS,
        what="time",
        day_first=day_first,
        window=window,
    )
    return [pd.Timestamp(v).to_pydatetime() for v in parsed.instants]


def test_x_times_and_dates_in_every_known_spelling() -> None:
    assert _moments(["2021-12-28 16:45 +0000"], time=True, day_first=False) == [
        datetime(2021, 12, 28, 16, 45)
    ]
    assert _moments(["2021-12-01"], time=False, day_first=False) == [datetime(2021, 12, 1)]
    assert _moments(["Sat, Aug 15, 2026", "Sun, Feb 9, 2025"], time=False, day_first=False) == [
        datetime(2026, 8, 15),
        datetime(2025, 2, 9),
    ]
    assert _moments(["Mon Feb 17 2025"], time=False, day_first=False) == [datetime(2025, 2, 17)]


def test_an_offset_is_applied_and_a_missing_one_means_utc() -> None:
    parsed = parse_moments(
        cells("2021-12-28 16:45 +0100"), formats=TIME_FORMATS, what="time", day_first=False
    )
    assert pd.Timestamp(parsed.instants[0]) == pd.Timestamp("2021-12-28 15:45")
    assert parsed.note is None
    resaved = parse_moments(
        cells("12/28/2021 16:45"), formats=TIME_FORMATS, what="time", day_first=False
    )
    assert pd.Timestamp(resaved.instants[0]) == pd.Timestamp("2021-12-28 16:45")
    assert resaved.note is not None and "month-first" in resaved.note and "UTC" in resaved.note


def test_an_ambiguous_day_month_order_follows_the_exports_date_range() -> None:
    values = ["01/12/2021 10:00", "03/12/2021 11:00"]  # 1 and 3 Dec, or 12 Jan and 12 Mar
    december = (date(2021, 12, 1), date(2021, 12, 31))
    assert _moments(values, time=True, day_first=False, window=december)[0].month == 12
    assert _moments(values, time=True, day_first=False)[0].month == 1
    assert _moments(values, time=True, day_first=True)[0].month == 12


def test_a_cell_no_format_reads_is_named() -> None:
    with pytest.raises(CellProblem, match="'yesterday' in the time column is not a date") as bad:
        _moments(["2021-12-28 16:45 +0000", "yesterday"], time=True, day_first=False)
    assert bad.value.row == 1


# -- fuzzing the cell parser -----------------------------------------------------------------


def _written(value: int, style: NumberStyle, grouped: bool, decimal: bool) -> str:
    text = f"{value:,}" if grouped else str(value)
    if style is NumberStyle.COMMA:
        text = text.replace(",", ".")
    if decimal:
        text += ".0" if style is NumberStyle.DOT else ",0"
    return text


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 10**12)), min_size=1, max_size=30),
    style=st.sampled_from(list(NumberStyle)),
    grouped=st.booleans(),
    decimal=st.booleans(),
)
def test_counts_written_in_any_style_read_back_exactly(
    values: list[int | None], style: NumberStyle, grouped: bool, decimal: bool
) -> None:
    written = ["-" if v is None else _written(v, style, grouped, decimal) for v in values]
    parsed = parse_numbers(cells(*written), style=style, whole=True, what="x")
    assert whole_counts(parsed.floats).tolist() == [pd.NA if v is None else v for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=10), st.sampled_from(list(NumberStyle)))
def test_any_cell_is_a_count_or_a_named_problem(values: list[str], style: NumberStyle) -> None:
    try:
        parsed = parse_numbers(cells(*values), style=style, whole=True, what="x")
    except CellProblem as problem:
        assert 0 <= problem.row < len(values)
    else:
        finite = parsed.floats[~np.isnan(parsed.floats)]
        assert (finite >= 0).all() and (finite == np.floor(finite)).all()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31)),
        min_size=1,
        max_size=10,
    ),
    st.sampled_from(["%Y-%m-%d %H:%M +0000", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M"]),
)
def test_times_written_in_a_known_format_read_back(moments: list[datetime], fmt: str) -> None:
    minutes = [m.replace(second=0, microsecond=0) for m in moments]
    window = (min(minutes).date(), max(minutes).date())
    parsed = parse_moments(
        cells(*(m.strftime(fmt) for m in minutes)),
        formats=TIME_FORMATS,
        what="time",
        day_first=fmt.startswith("%d"),
        window=window,
    )
    assert [pd.Timestamp(v).to_pydatetime() for v in parsed.instants] == minutes
