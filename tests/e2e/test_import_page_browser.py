"""The Import page in a real browser: drop X's exports on the uploader (Playwright's
``set_input_files``), read what each file is, download a chart's CSV and the zip, and check
their bytes against the core's; a refused file is named with its line."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from browser_helpers import SCREENSHOTS, AppServer, RecordedPage
from playwright.sync_api import expect

from tests.import_samples import (
    CONTENT_FILE,
    LEGACY_NAME,
    LEGACY_POSTS_FILE,
    LEGACY_POSTS_HEADER,
    OVERVIEW_FILE,
    csv_bytes,
    legacy_posts,
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

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS_ENV = "XMETRICS_UPDATE_SCREENSHOTS"
"""Set to 1 to rewrite docs/screenshots/import.png (the README's) from this run."""


def test_dropped_exports_show_their_sections_and_a_chart_csv_downloads_exactly(
    app_page: RecordedPage, app_server: AppServer, tmp_path: Path, artifacts: Path
) -> None:
    page = app_page.page
    real = [shared_export(n) for n in (LEGACY_POSTS_FILE, CONTENT_FILE, OVERVIEW_FILE)]
    rows = [p.cells() for p in legacy_posts(3)]
    rows[2] = rows[2][:9]  # a row cut short: refused whole, the others still import
    broken = tmp_path / LEGACY_NAME.replace("rOpenSci", "broken")
    broken.write_bytes(csv_bytes(LEGACY_POSTS_HEADER, rows))
    with pytest.raises(ImportRefused) as refused:
        import_export(broken.read_bytes(), name=broken.name)

    page.goto(app_server.base_url)
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import")).to_be_visible()
    page.locator('input[type="file"]').set_input_files([*real, broken])

    expect(
        page.get_by_text(f"{LEGACY_POSTS_FILE}: rOpenSci, 17 Posts, 1–31 Dec 2021, legacy")
    ).to_be_visible()
    expect(page.get_by_text(f"{CONTENT_FILE}: HestysInvest, 40 Posts")).to_be_visible()
    expect(page.get_by_text(f"{OVERVIEW_FILE}: 50 days")).to_be_visible()
    expect(page.get_by_text(f"line {refused.value.line}")).to_be_visible()
    expect(page.get_by_text(broken.name, exact=False).first).to_be_visible()
    for title in ("Organic vs promoted", "Engagement rate", "Best time to post", "Per day"):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator(".st-key-xm_import_chart_split .js-plotly-plot")).to_be_visible()
    if os.environ.get(UPDATE_SCREENSHOTS_ENV) == "1":
        page.get_by_role("heading", name="Import").scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / "import.png"),
            clip={"x": 0, "y": 0, "width": 1400, "height": 1500},
            animations="disabled",
        )
    best_time = page.locator(".st-key-xm_import_chart_best_time_csv button")
    best_time.scroll_into_view_if_needed()
    expect(page.locator(".st-key-xm_import_chart_best_time .js-plotly-plot")).to_be_visible()
    page.screenshot(path=str(artifacts / "import-page.png"), full_page=True)

    imports = [import_path(p) for p in real]
    posts = fr.posts_frame(posts_result(imports))
    expected = exports.safe_csv_bytes(ifig.best_time_data(ifig.best_time_frame(posts)))
    with page.expect_download() as download:
        best_time.click()
    assert download.value.suggested_filename == "best_time.csv"
    assert Path(download.value.path()).read_bytes() == expected

    trend = ifig.daily_trend_data(daily_trend_frame(daily_frame(imports)))
    with page.expect_download() as download:
        page.locator(".st-key-xm_import_chart_trend_csv button").click()
    assert Path(download.value.path()).read_bytes() == exports.safe_csv_bytes(trend)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download everything (zip)").click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        names = set(archive.namelist())
        assert archive.read("best_time.csv") == expected
    assert {
        "imported_posts.csv",
        "imported_days.csv",
        "organic_vs_promoted.csv",
        "organic_vs_promoted_per_post.csv",
        "engagement_rate.csv",
        "best_time.csv",
        "daily_trend.csv",
    } <= names
    assert app_page.foreign_requests() == []
