"""Header recognition: the four formats and the 2025 variant by name (case, aliases, any
order), where every column goes, and what a header that is not X's is said to be."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from import_samples import (
    CONTENT_2025_HEADER,
    CONTENT_HEADER,
    LEGACY_DAYS_HEADER,
    LEGACY_POSTS_HEADER,
    OVERVIEW_HEADER,
)

from xmetrics_core.catalogue import POST_METRICS, Context
from xmetrics_core.imports.formats import (
    FIELDS,
    ExportFormat,
    HeaderProblem,
    Kind,
    normalise_header,
    output_columns,
    sniff_header,
)

CATALOGUE_PATHS = {m.path for m in POST_METRICS}
HEADERS = {
    ExportFormat.LEGACY_POSTS: LEGACY_POSTS_HEADER,
    ExportFormat.LEGACY_DAYS: LEGACY_DAYS_HEADER,
    ExportFormat.CONTENT: CONTENT_HEADER,
    ExportFormat.OVERVIEW: OVERVIEW_HEADER,
}


@pytest.mark.parametrize("export_format", list(HEADERS))
def test_each_real_header_is_recognised_and_every_cell_gets_a_known_column(
    export_format: ExportFormat,
) -> None:
    match = sniff_header(HEADERS[export_format])
    assert match.format is export_format
    assert [c.header for c in match.columns] == HEADERS[export_format]
    assert not match.unknown, "every column of X's own exports is known"
    destinations = [c.destination for c in match.columns]
    assert len(set(destinations)) == len(destinations)


def test_the_early_2025_content_spellings_mean_the_same_columns() -> None:
    current = sniff_header(CONTENT_HEADER)
    variant = sniff_header(CONTENT_2025_HEADER)
    assert variant.format is ExportFormat.CONTENT
    assert variant.variant_2025 and not current.variant_2025
    assert [c.destination for c in variant.columns] == [c.destination for c in current.columns]


def test_legacy_unprefixed_columns_are_organic_and_promoted_ones_promoted() -> None:
    match = sniff_header(LEGACY_POSTS_HEADER)
    by_header = {c.header: c for c in match.columns}
    assert by_header["impressions"].destination == "organic_metrics.impression_count"
    assert by_header["promoted impressions"].destination == "promoted_metrics.impression_count"
    assert by_header["likes"].context is Context.ORGANIC
    assert by_header["promoted likes"].context is Context.PROMOTED
    # no organic/promoted counterpart in the catalogue: kept under export., side named
    assert by_header["engagements"].destination == "export.organic engagements"
    assert by_header["promoted detail expands"].destination == "export.promoted detail expands"
    assert by_header["time"].destination == "created_at"
    assert by_header["Tweet permalink"].destination == "export.permalink"


def test_current_exports_map_onto_total_metrics_and_keep_the_rest_under_export() -> None:
    match = sniff_header(CONTENT_HEADER)
    by_header = {c.header: c.destination for c in match.columns}
    assert by_header == {
        "Post id": "id",
        "Date": "export.date",
        "Post text": "text",
        "Post Link": "export.permalink",
        "Impressions": "non_public_metrics.impression_count",
        "Likes": "public_metrics.like_count",
        "Engagements": "non_public_metrics.engagements",
        "Bookmarks": "public_metrics.bookmark_count",
        "Shares": "export.shares",
        "New follows": "export.new follows",
        "Replies": "public_metrics.reply_count",
        "Reposts": "public_metrics.retweet_count",
        "Profile visits": "non_public_metrics.user_profile_clicks",
        "Detail Expands": "export.detail expands",
        "URL Clicks": "non_public_metrics.url_link_clicks",
        "Hashtag Clicks": "export.hashtag clicks",
        "Permalink Clicks": "export.permalink clicks",
    }
    overview = {c.header: c.destination for c in sniff_header(OVERVIEW_HEADER).columns}
    assert overview["Date"] == "date"
    assert overview["Unfollows"] == "export.unfollows"
    assert overview["Video views"] == "export.video views"


def test_every_catalogue_destination_exists_in_the_catalogue() -> None:
    for header in HEADERS.values():
        for column in sniff_header(header).columns:
            name = column.destination
            assert (
                name in CATALOGUE_PATHS
                or name.startswith("export.")
                or name
                in (
                    "id",
                    "text",
                    "created_at",
                    "date",
                )
            )


def test_headers_match_case_insensitively_with_odd_spacing_and_a_bom() -> None:
    odd = ["\ufeffPOST  ID", " date ", "post\u00a0text", "IMPRESSIONS", "Likes"]
    match = sniff_header(odd)
    assert match.format is ExportFormat.CONTENT
    assert [c.destination for c in match.columns] == [
        "id",
        "export.date",
        "text",
        "non_public_metrics.impression_count",
        "public_metrics.like_count",
    ]


def test_unknown_columns_are_kept_under_their_own_name() -> None:
    match = sniff_header([*OVERVIEW_HEADER, "Spaces listened", ""])
    assert [c.destination for c in match.unknown] == ["export.Spaces listened", "export.column 16"]


def test_two_columns_meaning_the_same_count_are_refused() -> None:
    with pytest.raises(HeaderProblem, match="both mean impressions"):
        sniff_header(["Date", "Impressions", "impressions"])


def test_a_header_without_impressions_is_named_as_the_format_it_resembles() -> None:
    with pytest.raises(HeaderProblem, match="content export but has no Impressions"):
        sniff_header(["Post id", "Date", "Likes"])


def test_a_youtube_studio_export_is_said_to_be_one() -> None:
    youtube = "Content,Video title,Video publish time,Duration,Views,Watch time (hours)"
    with pytest.raises(HeaderProblem, match="YouTube Studio export"):
        sniff_header(youtube.split(","))


def test_a_foreign_header_is_described_by_its_first_cells() -> None:
    with pytest.raises(HeaderProblem, match=r"3 columns \('name', 'email', 'city'\)"):
        sniff_header(["name", "email", "city"])


def test_output_columns_follow_the_catalogue_then_export_fields() -> None:
    ordered = output_columns(
        [
            "export.shares",
            "public_metrics.like_count",
            "export.zzz",
            "non_public_metrics.impression_count",
        ]
    )
    assert ordered == [
        "public_metrics.like_count",
        "non_public_metrics.impression_count",
        "export.shares",
        "export.zzz",
    ]


# -- fuzzing the sniffer -------------------------------------------------------------------


def _respell(cell: str, data: st.DataObject) -> str:
    """The same header cell in another case with extra spaces around it."""
    case = data.draw(st.sampled_from([str.lower, str.upper, str.title, lambda s: s]))
    pad = data.draw(st.sampled_from(["", " ", "  ", "\u00a0"]))
    return pad + case(cell) + pad


@settings(max_examples=150, deadline=None)
@given(export_format=st.sampled_from(list(HEADERS)), data=st.data())
def test_any_order_case_and_extra_columns_still_find_the_format_and_columns(
    export_format: ExportFormat, data: st.DataObject
) -> None:
    header = list(HEADERS[export_format])
    expected = {c.header: c.destination for c in sniff_header(header).columns}
    shuffled = data.draw(st.permutations(header))
    extra = data.draw(st.lists(st.sampled_from(["Notes", "Campaign", "Spend (USD)"]), unique=True))
    cells = [_respell(c, data) for c in shuffled] + extra
    match = sniff_header(cells)
    assert match.format is export_format
    found = {c.header: c.destination for c in match.columns}
    for written, original in zip(cells, shuffled, strict=False):
        assert found[written] == expected[original]
    assert {c.destination for c in match.unknown} == {f"export.{e}" for e in extra}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=20))
def test_any_header_is_either_recognised_or_explained(cells: list[str]) -> None:
    try:
        match = sniff_header(cells)
    except HeaderProblem as problem:
        assert str(problem)
    else:
        assert len(match.columns) == len(cells)
        assert sorted(c.position for c in match.columns) == list(range(len(cells)))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([a for f in FIELDS for a in f.aliases]), st.data())
def test_every_alias_normalises_to_itself_in_any_case(alias: str, data: st.DataObject) -> None:
    assert normalise_header(_respell(alias, data)) == alias


def test_count_fields_are_the_only_ones_with_two_sides() -> None:
    for field in FIELDS:
        if field.splittable:
            assert field.kind in (Kind.COUNT, Kind.RATE)
