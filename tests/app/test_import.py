"""The Import page in AppTest: files dropped on the uploader (AppTest's ``file_uploader``
sends them as a browser would), no X connection, what each file is, the sections, the CSVs,
refused files, the Demo's exports and the history store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apptest_helpers import (
    api_calls,
    download_bytes,
    element_texts,
    new_app,
    offered_downloads,
    plotly_specs,
)
from streamlit.testing.v1 import AppTest

from tests.import_samples import (
    CONTENT_FILE,
    LEGACY_DAYS_FILE,
    LEGACY_NAME,
    LEGACY_POSTS_FILE,
    LEGACY_POSTS_HEADER,
    OVERVIEW_FILE,
    csv_bytes,
    legacy_posts,
    legacy_posts_file,
    shared_export,
)
from xmetrics_core import exports
from xmetrics_core import frames as fr
from xmetrics_core import import_figures as ifig
from xmetrics_core.imports import (
    ImportRefused,
    daily_frame,
    daily_trend_frame,
    import_export,
    import_path,
    posts_result,
)
from xmetrics_core.store import open_store
from xmetrics_ui.store import dashboard_store, demo_history
from xmetrics_ui.views import CHART_DATA_LABEL

PREFILL_TIMEOUT = 120

PAGE = "pages/import.py"
UPLOADER = "xm_import_files"
REAL_FILES = (LEGACY_POSTS_FILE, LEGACY_DAYS_FILE, CONTENT_FILE, OVERVIEW_FILE)


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The user's and the Demo's history stores, private to the test."""
    urls = {
        "user": f"sqlite:///{tmp_path / 'history.db'}",
        "demo": f"sqlite:///{tmp_path / 'demo-history.db'}",
    }
    monkeypatch.setenv("XMETRICS_DATABASE_URL", urls["user"])
    monkeypatch.setenv("XMETRICS_DEMO_DATABASE_URL", urls["demo"])
    return urls


def import_page() -> AppTest:
    at = new_app()
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def drop(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key=UPLOADER).set_value([(n, d, "text/csv") for n, d in files]).run()
    assert not at.exception, at.exception
    return at


def real_files() -> list[tuple[str, bytes]]:
    return [(name, shared_export(name).read_bytes()) for name in REAL_FILES]


def test_dropping_every_real_export_shows_each_file_and_every_section(
    sandbox: Any, stores: dict[str, str]
) -> None:
    at = drop(import_page(), real_files())
    found = element_texts(at, "success")
    assert found == [
        f"{LEGACY_POSTS_FILE}: rOpenSci, 17 Posts, 1–31 Dec 2021, legacy per-Post export",
        f"{LEGACY_DAYS_FILE}: LisaDeBruine, 31 days, 1–31 Dec 2021, legacy per-day export",
        f"{CONTENT_FILE}: HestysInvest, 40 Posts, 10–16 Aug 2026, per-Post content export",
        f"{OVERVIEW_FILE}: 50 days, 31 Dec 2024 – 18 Feb 2025, per-day overview export",
    ]
    assert not element_texts(at, "error")
    charts = plotly_specs(at)
    assert set(charts) == {
        "xm_import_chart_split",
        "xm_import_chart_rate",
        "xm_import_chart_best_time",
        "xm_import_chart_daily_split",
        "xm_import_chart_trend",
    }
    # the Posts and days tables; each chart's data table sits in its "Chart data as a table"
    charts = {id(d) for e in at.expander if e.label == CHART_DATA_LABEL for d in e.dataframe}
    tables = [d.value for d in at.dataframe if id(d) not in charts]
    assert [len(t) for t in tables] == [17 + 40, 31 + 50]
    cards = {m.label: m.value for m in at.metric}
    assert cards["Posts"] == "57"
    assert at.download_button(key="xm_import_dl_zip").label == "Download everything (zip)"
    assert api_calls(sandbox) == []  # no X connection, no request


def test_each_chart_offers_exactly_the_data_it_draws(stores: dict[str, str]) -> None:
    at = drop(import_page(), real_files())
    imports = [import_path(shared_export(name)) for name in REAL_FILES]
    posts = fr.posts_frame(posts_result(imports))
    best = ifig.best_time_data(ifig.best_time_frame(posts))
    assert download_bytes(at, "xm_import_chart_best_time_csv") == exports.safe_csv_bytes(best)
    trend = ifig.daily_trend_data(daily_trend_frame(daily_frame(imports)))
    assert download_bytes(at, "xm_import_chart_trend_csv") == exports.safe_csv_bytes(trend)
    split = ifig.daily_split_data(imports)
    assert not split.empty
    assert download_bytes(at, "xm_import_chart_daily_split_csv") == exports.safe_csv_bytes(split)
    rate = download_bytes(at, "xm_import_chart_rate_csv").decode("utf-8-sig")
    assert rate.splitlines()[0].startswith("id,post_label,engagements,impressions")


def test_a_refused_file_names_its_line_and_the_other_files_still_import(
    stores: dict[str, str],
) -> None:
    rows = [p.cells() for p in legacy_posts(3)]
    rows[1] = rows[1][:12]  # a row cut short
    broken = csv_bytes(LEGACY_POSTS_HEADER, rows)
    with pytest.raises(ImportRefused) as refused:
        import_export(broken, name=LEGACY_NAME)
    assert refused.value.line is not None
    overview = shared_export(OVERVIEW_FILE).read_bytes()
    at = drop(import_page(), [(LEGACY_NAME, broken), (OVERVIEW_FILE, overview)])
    errors = element_texts(at, "error")
    assert errors == [f"Not imported: {refused.value}. The other files are imported."]
    assert LEGACY_NAME in errors[0] and f"line {refused.value.line}" in errors[0]
    assert [s.split(":")[0] for s in element_texts(at, "success")] == [OVERVIEW_FILE]
    assert set(plotly_specs(at)) == {"xm_import_chart_trend"}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("workbook.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4),
        ("studio.csv", b"Content,Video title,Video publish time,Watch time (hours)\r\nx,y,z,1\r\n"),
    ],
)
def test_a_file_that_is_no_export_is_refused_with_a_message_never_a_traceback(
    name: str, data: bytes, stores: dict[str, str]
) -> None:
    at = drop(import_page(), [(name, data)])
    errors = element_texts(at, "error")
    assert len(errors) == 1 and errors[0].startswith(f"Not imported: {name}: ")
    assert not element_texts(at, "success")
    assert not plotly_specs(at)


def test_uploads_go_to_the_history_store_once(stores: dict[str, str]) -> None:
    at = drop(import_page(), real_files())
    captions = element_texts(at, "caption")
    assert (
        "History store: 57 Post snapshots from 2 files saved (2 per-day files have no Posts "
        "to keep)." in captions
    )
    at.run()  # a rerun reads nothing again and saves nothing again
    with open_store(stores["user"]) as store:
        assert store.summary().snapshots == 57
        assert store.summary().fetches == 2


def test_a_store_problem_is_shown_and_the_import_still_is(
    stores: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XMETRICS_DATABASE_URL", "mysql://nobody:hunter2@127.0.0.1/history")
    at = drop(import_page(), real_files())
    warnings = element_texts(at, "warning")
    assert any(w.startswith("History is unavailable") for w in warnings)
    assert not any("hunter2" in w for w in warnings)
    assert len(element_texts(at, "success")) == 4
    assert len(plotly_specs(at)) == 5


def test_the_demo_button_imports_the_demo_exports_into_the_demo_store(
    sandbox: Any, stores: dict[str, str]
) -> None:
    demo_store = dashboard_store(demo=True)  # opening it starts the Demo's history prefill
    assert demo_store is not None and demo_history(demo_store).wait(PREFILL_TIMEOUT)
    before = demo_store.summary().snapshots
    at = import_page()
    at.button(key="xm_import_demo").click().run()
    assert not at.exception
    found = element_texts(at, "success")
    assert len(found) == 4
    assert found[0].startswith("tweet_activity_metrics_")
    assert "legacy per-Post export" in found[0]
    assert "per-Post content export" in found[2]
    files = sandbox.demo_exports()
    assert set(files.values()) <= set(offered_downloads(at))  # each file offered to download
    assert set(plotly_specs(at)) == {
        "xm_import_chart_split",
        "xm_import_chart_rate",
        "xm_import_chart_best_time",
        "xm_import_chart_daily_split",
        "xm_import_chart_trend",
    }
    imported = [import_export(d, name=n) for n, d in files.items()]
    expected = sum(i.rows for i in imported if i.per_post)
    with open_store(stores["demo"]) as store:
        assert store.summary().snapshots - before == expected
        user = sandbox.world.user(sandbox.demo.demo_user_id)
        assert store.best_time(author_id=user.id)["posts"].sum() > 0
    with open_store(stores["user"]) as store:
        assert store.summary().fetches == 0
    assert api_calls(sandbox) == []


def test_removing_the_files_clears_the_page(stores: dict[str, str]) -> None:
    at = drop(import_page(), real_files()[:1])
    assert len(element_texts(at, "success")) == 1
    at.file_uploader(key=UPLOADER).set_value(None).run()
    assert not element_texts(at, "success")
    assert not plotly_specs(at)


def test_formulas_and_markup_in_post_text_stay_text_everywhere(stores: dict[str, str]) -> None:
    posts = legacy_posts(2)
    posts[0].text = '=HYPERLINK("https://evil.example","click")'
    posts[1].text = "<script>alert(1)</script> hello"
    at = drop(import_page(), [(LEGACY_NAME, legacy_posts_file(posts))])
    table = at.dataframe[0].value
    assert set(table["text"]) == {posts[0].text, posts[1].text}  # shown as written
    metrics_csv = download_bytes(at, "xm_import_dl_posts").decode("utf-8-sig")
    assert "'=HYPERLINK(" in metrics_csv  # neutralised for spreadsheets
    assert "\n=HYPERLINK" not in metrics_csv and ',"=HYPERLINK' not in metrics_csv
    rate_chart = plotly_specs(at)["xm_import_chart_rate"]
    labels = [str(y) for trace in rate_chart["data"] for y in trace["y"]]
    assert labels and not any("<script>" in label for label in labels)
    assert any("&lt;script&gt;" in label for label in labels)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    stores: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("xmetrics_core.imports.decoding.MAX_IMPORT_BYTES", 4096)
    big = shared_export(CONTENT_FILE).read_bytes()  # 13 KB
    small = shared_export(OVERVIEW_FILE).read_bytes()
    assert len(big) > 4096 > len(small)
    at = drop(import_page(), [(CONTENT_FILE, big), (OVERVIEW_FILE, small)])
    (error,) = element_texts(at, "error")
    assert error.startswith(f"Not imported: {CONTENT_FILE}: the file is ")
    assert "the importer reads files up to" in error  # the limit, stated
    assert [s.split(":")[0] for s in element_texts(at, "success")] == [OVERVIEW_FILE]


def test_the_demo_exports_stay_on_show_over_files_left_in_the_drop_zone(
    stores: dict[str, str],
) -> None:
    at = drop(import_page(), real_files()[:1])
    at.button(key="xm_import_demo").click().run()
    demo_files = [s.split(":")[0] for s in element_texts(at, "success")]
    assert len(demo_files) == 4 and LEGACY_POSTS_FILE not in demo_files
    at.toggle(key="xm_import_split_per_post").set_value(True).run()  # any rerun
    assert [s.split(":")[0] for s in element_texts(at, "success")] == demo_files
    at.file_uploader(key=UPLOADER).set_value(None).run()  # emptying the drop zone
    assert [s.split(":")[0] for s in element_texts(at, "success")] == demo_files
    drop(at, real_files()[2:3])  # new files: they replace the Demo's
    assert [s.split(":")[0] for s in element_texts(at, "success")] == [CONTENT_FILE]


def test_the_import_stays_on_show_after_visiting_another_page(stores: dict[str, str]) -> None:
    at = drop(import_page(), real_files()[:2])
    shown = element_texts(at, "success")
    at.switch_page("pages/posts.py").run()
    assert not at.exception
    at.switch_page(PAGE).run()
    assert not at.exception
    assert element_texts(at, "success") == shown
    assert "xm_import_chart_best_time" in plotly_specs(at)
    with open_store(stores["user"]) as store:
        assert store.summary().fetches == 1  # read and saved once, not again on the way back
