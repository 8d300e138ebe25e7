"""What a user does in a real browser: Demo account, paste, fetch, charts, video, CSV.

The server's embedded sandbox is built around a fixed time (``XMETRICS_DEMO_NOW``), so the
test rebuilds the same world in-process to know the Post IDs and their numbers. Screenshots
go to test-artifacts/; ``XMETRICS_UPDATE_SCREENSHOTS=1`` also refreshes the README's.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_helpers import SCREENSHOTS, AppServer, RecordedPage, click_until_visible
from playwright.sync_api import Page, expect

from tests.hostile.hygiene import PLUGIN_NAME
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS_ENV = "XMETRICS_UPDATE_SCREENSHOTS"
"""Set to 1 to rewrite docs/screenshots/*.png (the README's) from this run."""


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> World:
    """The Demo account's world, exactly as the server's sandbox built it."""
    return build_world(seed=7, now=app_server.demo_now, settings=SandboxSettings())


def _mixed_paste(world: World, now: datetime) -> tuple[str, list[str]]:
    """IDs and URLs of the demo's Posts (recent, promoted, with video, too old)."""
    demo = world.demo_posts
    recent = [p for p in demo if p.within_private_window(now)]
    promoted = next(p for p in recent if p.promoted)
    with_video = [
        p
        for p in recent
        if any((m := world.media_item(k)) is not None and m.type == "video" for k in p.media_keys)
    ]
    old = next(p for p in demo if not p.within_private_window(now))
    handle = world.user(world.demo_user_id).username  # type: ignore[union-attr]
    chosen = list(dict.fromkeys([promoted.id, *[p.id for p in with_video[:3]], old.id]))
    deleted = world.deleted_ids[0]
    lines = [
        chosen[0],
        *[f"https://x.com/{handle}/status/{post_id}" for post_id in chosen[1:-1]],
        f"https://twitter.com/{handle}/status/{chosen[-1]}?s=20, {deleted}",
        "not-a-post",
    ]
    return "\n".join(lines), [*chosen, deleted, "not-a-post"]


def _videos_of(world: World, ids: list[str]) -> set[str]:
    """The media keys of the videos the pasted Posts that X serves carry."""
    return {
        key
        for post_id in ids
        if (post := world.post(post_id)) is not None
        for key in post.media_keys
        if (media := world.media_item(key)) is not None and media.type == "video"
    }


def _shot(page: Page, artifacts: Path, name: str, *, readme_height: int = 0) -> None:
    """A full screenshot into test-artifacts/; README ones too when asked to refresh them."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    if readme_height and os.environ.get(UPDATE_SCREENSHOTS_ENV) == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / f"{name}.png"),
            clip={"x": 0, "y": 0, "width": 1400, "height": readme_height},
            animations="disabled",
        )


def _connect_demo(page: Page, server: AppServer) -> None:
    page.goto(server.base_url)
    expect(page.get_by_role("heading", name="Connect", exact=True)).to_be_visible()
    page.get_by_role("button", name="Connect the Demo account").click()
    page.wait_for_url("**/i/oauth2/authorize?**")
    expect(page.get_by_role("button", name="Authorize app")).to_be_visible()
    page.get_by_role("button", name="Authorize app").click()
    expect(page.get_by_text("Connected as @", exact=False).first).to_be_visible()


def _tick_texts(page: Page, chart_title: str) -> list[str]:
    """The x and y tick labels of the chart whose title starts with ``chart_title``."""
    texts: list[str] = page.evaluate(
        """(title) => {
            const charts = [...document.querySelectorAll('.js-plotly-plot')].filter(
                c => (c.querySelector('.gtitle') || {}).textContent?.startsWith(title));
            return charts.flatMap(c => [...c.querySelectorAll('.xtick text, .ytick text')]
                                       .map(t => t.textContent));
        }""",
        chart_title,
    )
    return texts


def test_demo_account_paste_fetch_chart_video_and_csv(
    app_server: AppServer,
    app_page: RecordedPage,
    artifacts: Path,
    world: World,
    request: pytest.FixtureRequest,
):
    page = app_page.page
    page.goto(app_server.base_url)
    expect(page.get_by_role("button", name="Connect the Demo account")).to_be_visible()
    _shot(page, artifacts, "connect", readme_height=760)

    _connect_demo(page, app_server)
    assert "code=" not in page.url and "state=" not in page.url, page.url
    _shot(page, artifacts, "connected")

    page.get_by_role("link", name="Posts", exact=True).click()
    expect(page.get_by_role("heading", name="Posts", exact=True)).to_be_visible()
    text, ids = _mixed_paste(world, app_server.demo_now)
    box = page.get_by_role("textbox", name="Post IDs or URLs")
    box.fill(text)
    box.press("Control+Enter")
    click_until_visible(
        page.get_by_role("button", name="Fetch", exact=True),
        page.get_by_text("Organic vs promoted").first,
    )
    # the split, the rate ranking and the Demo's hourly curves (its sandbox runs Enterprise)
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    # statuses and metrics, and each chart's data table (in its "Chart data as a table")
    expect(page.get_by_test_id("stDataFrame")).to_have_count(5)
    page.set_viewport_size({"width": 1400, "height": 2900})
    page.get_by_role("heading", name="Posts", exact=True).scroll_into_view_if_needed()
    page.locator(".js-plotly-plot .ytick text").first.wait_for()
    _shot(page, artifacts, "posts", readme_height=2900)

    # Posts are named by their date and text in the charts, never by their 19-digit ID
    page.get_by_text("One bar per Post").click()
    expect(page.get_by_text("Organic vs promoted, per Post")).to_be_visible()
    page.locator(".js-plotly-plot .xtick text").first.wait_for()
    for title in ("Organic vs promoted", "Engagement rate"):
        ticks = [t for t in _tick_texts(page, title) if "·" in t or t.isdigit()]
        assert ticks, title
        assert not [t for t in ticks if t.isdigit() and len(t) > 15], (title, ticks)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download metrics (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert [row["id"] for row in rows] == ids
    for row in rows:
        truth = world.post(row["id"])
        if truth is None:  # the deleted ID and the invalid token: a status, no numbers
            assert row["public_metrics.like_count"] == ""
            continue
        assert int(row["public_metrics.like_count"]) == truth.public_metrics["like_count"]
        assert row["post_url"] == f"https://x.com/i/web/status/{row['id']}"
        if truth.promoted_metrics is not None and truth.within_private_window(app_server.demo_now):
            assert (
                int(row["promoted_metrics.impression_count"])
                == truth.promoted_metrics["impression_count"]
            )

    with page.expect_download() as download:
        page.get_by_role("button", name="Download everything (zip)").click()
    archive_bytes = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        names = set(archive.namelist())
    videos = _videos_of(world, ids)
    assert {
        "posts.csv",
        "statuses.csv",
        "organic_vs_promoted.csv",
        "organic_vs_promoted_per_post.csv",
        "engagement_rate.csv",
        "videos.csv",
        *(f"retention_{key}.csv" for key in videos),
        *(f"dropoff_{key}.csv" for key in videos),
    } <= names, names
    hygiene = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    if hygiene is not None:  # the whole-run token-hygiene check searches the zip too
        hygiene.note_export(archive_bytes)

    page.get_by_role("link", name="Video", exact=True).click()
    expect(page.get_by_role("heading", name="Video", exact=True)).to_be_visible()
    expect(page.get_by_text("Quartile retention and drop-off")).to_be_visible()
    # retention and viewers, then (the Demo runs Enterprise) watch time and plays per stage
    expect(page.locator(".js-plotly-plot")).to_have_count(4)
    # the Demo's preview images come from its own sandbox on loopback, one per video card
    previews = page.get_by_test_id("stImage").locator("img")
    expect(previews).to_have_count(len(videos))
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    for source in previews.evaluate_all("imgs => imgs.map(img => img.src)"):
        parts = urlsplit(source)
        assert parts.hostname == "127.0.0.1" and parts.path.startswith("/media/preview/"), source
    expect(page.get_by_text("Video 0:", exact=False).first).to_be_visible()  # named by its Post
    _shot(page, artifacts, "video", readme_height=1800)

    page.emulate_media(color_scheme="dark")  # the system setting Streamlit follows
    page.get_by_role("link", name="Posts", exact=True).click()
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    expect(page.get_by_test_id("stApp")).to_have_css("color-scheme", "dark")
    _shot(page, artifacts, "posts_dark")

    assert app_page.foreign_requests() == []


def test_an_oauth_callback_with_a_wrong_state_is_refused(
    app_server: AppServer, app_page: RecordedPage, artifacts: Path
):
    page = app_page.page
    page.goto(f"{app_server.base_url}?code=stolen&state=forged")
    expect(page.get_by_text("Sign-in failed", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Connect the Demo account")).to_be_visible()
    assert "state=" not in page.url
    _shot(page, artifacts, "wrong_state")
    assert app_page.foreign_requests() == []
