"""Strangers' text in a real browser: Posts whose text holds ``<script>``, ``<img onerror>``,
a markdown link and spreadsheet formulas are fetched and shown by the dashboard (Chromium
against ``streamlit run``). Nothing executes, no request leaves 127.0.0.1, the markup is never
turned into elements, and the exported CSVs neutralise the formulas.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_helpers import LOCAL_HOSTS, click_until_visible
from browser_runner import run_in_browser
from hygiene import PLUGIN_NAME
from playwright.sync_api import Browser, Dialog, Page, expect

from xmetrics_core.sandbox.accounts import app_credentials
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000
MARKUP = ("<script>", "onerror=", "](https://example.com)")
FORMULA_STARTS = ("=", "+", "-", "@")
CALLBACK_SECRETS = ("code", "state", "oauth_token", "oauth_verifier")


@dataclass(kw_only=True)
class Visit:
    """What the browser saw and did."""

    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    callback_params: dict[str, str] = field(default_factory=dict)
    callback_landing: list[str] = field(default_factory=list)
    url_after_callback: str = ""
    requests_after_callback: list[str] = field(default_factory=list)
    injected_elements: int = -1
    scripts_with_payload: bool = True
    page_text: str = ""
    picker_options: list[str] = field(default_factory=list)
    metrics_csv: str = ""
    zip_members: dict[str, str] = field(default_factory=dict)


def strangers_posts(world: World) -> list[Any]:
    """The demo's Posts whose text is markup, a markdown link or a formula."""
    found = [
        p
        for p in world.demo_posts
        if any(m in p.text for m in MARKUP) or p.text.startswith(FORMULA_STARTS)
    ]
    assert len(found) >= 6, [p.text for p in found]
    return found


def connect_demo(page: Page, base_url: str, visit: Visit) -> None:
    page.goto(base_url)
    page.get_by_role("button", name="Connect the Demo account").click()
    page.wait_for_url("**/i/oauth2/authorize?**")
    with page.expect_request(lambda r: "code=" in r.url and r.url.startswith(base_url)) as back:
        page.get_by_role("button", name="Authorize app").click()
    visit.callback_landing = [back.value.url]
    visit.callback_params = {k: v[0] for k, v in parse_qs(urlsplit(back.value.url).query).items()}
    expect(page.get_by_text("Connected as @", exact=False).first).to_be_visible()
    visit.url_after_callback = page.url
    visit.requests.clear()  # from here on: everything after the callback


def fetch_and_export(page: Page, ids: list[str], visit: Visit, downloads: Path) -> None:
    page.get_by_role("link", name="Posts").click()
    box = page.get_by_role("textbox", name="Post IDs or URLs")
    box.fill("\n".join(ids))
    box.press("Control+Enter")
    click_until_visible(
        page.get_by_role("button", name="Fetch", exact=True),
        page.get_by_text("Status of every ID"),
        wait_ms=TIMEOUT_MS,
    )
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Load my recent Posts (last 30 days)").click()
    picker = page.get_by_text("My recent Posts (", exact=False).first
    expect(picker).to_be_visible(timeout=TIMEOUT_MS)
    search = page.get_by_test_id("stMultiSelect").locator("input")
    for needle in ("<script>", "onerror", "[click]"):  # the picker lists the Posts' texts
        search.fill(needle)
        option = page.get_by_role("option").first
        expect(option).to_be_visible()
        visit.picker_options.append(option.inner_text())
    search.fill("")
    page.keyboard.press("Escape")
    visit.page_text = page.inner_text("body")
    with page.expect_download() as metrics:
        page.get_by_role("button", name="Download metrics (CSV)").click()
    visit.metrics_csv = Path(metrics.value.path()).read_text("utf-8-sig")
    with page.expect_download() as everything:
        page.get_by_role("button", name="Download everything (zip)").click()
    with zipfile.ZipFile(metrics_path := Path(everything.value.path())) as archive:
        visit.zip_members = {
            name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()
        }
    metrics_path.unlink(missing_ok=True)
    visit.injected_elements = page.evaluate(
        "document.querySelectorAll(\"img[src='x'], a[href='https://example.com'], [onerror]\")"
        ".length"
    )
    visit.scripts_with_payload = page.evaluate(
        "[...document.scripts].some(s => s.textContent.includes('alert(1)'))"
    )


@pytest.fixture(scope="module")
def visit(
    hostile_app_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Visit:
    server = hostile_app_server
    world = build_world(seed=7, now=server.demo_now, settings=SandboxSettings())
    ids = [p.id for p in strangers_posts(world)]
    downloads = tmp_path_factory.mktemp("downloads")
    seen = Visit()

    def scenario(browser: Browser) -> Visit:
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1400, "height": 2200}
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()

        def on_dialog(dialog: Dialog) -> None:
            seen.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("request", lambda r: seen.requests.append(r.url))
        page.on("console", lambda m: seen.console.append(m.text))
        try:
            connect_demo(page, server.base_url, seen)
            fetch_and_export(page, ids, seen, downloads)
        finally:
            page.screenshot(path=str(downloads / "strangers.png"), full_page=True)
            context.close()
        return seen

    visited: Visit = run_in_browser(scenario, home=server.home)
    hygiene = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    if hygiene is not None:  # the whole-run token-hygiene check searches these too
        hygiene.note_urls([*visited.callback_landing, *visited.requests])
        hygiene.note_server_log(server.log_path)
        hygiene.note_secrets([visited.callback_params.get("code", "")])
        for body in [visited.metrics_csv, *visited.zip_members.values()]:
            hygiene.note_export(body.encode())
    return visited


def test_nothing_in_a_strangers_post_executes(visit: Visit):
    assert visit.dialogs == [], visit.dialogs
    assert visit.injected_elements == 0
    assert visit.scripts_with_payload is False


def test_no_request_leaves_loopback(visit: Visit):
    foreign = [
        url
        for url in visit.requests
        if urlsplit(url).scheme not in ("data", "blob")
        and urlsplit(url).hostname not in LOCAL_HOSTS
    ]
    assert foreign == []
    assert not any("example.com" in url for url in visit.requests)


def test_strangers_markup_is_shown_as_text(visit: Visit):
    shown = " ".join(visit.picker_options)
    assert "<script>alert(1)</script> is not how you say hello" in shown, shown
    assert "<img src=x onerror=alert(1)> sneaky markup" in shown, shown
    assert "[click](https://example.com)" in shown, shown


def test_exports_neutralise_formulas_and_keep_the_text(visit: Visit):
    rows = list(csv.DictReader(io.StringIO(visit.metrics_csv)))
    texts = [row["text"] for row in rows if row["text"]]
    assert any(t.startswith("'=HYPERLINK(") for t in texts), texts
    assert any(t.startswith("'@everyone =SUM") for t in texts), texts
    assert any(t.startswith("'+1 for") for t in texts) and any(
        t.startswith("'-2 bugs") for t in texts
    )
    assert "<script>alert(1)</script> is not how you say hello" in texts
    for name, body in {"metrics.csv": visit.metrics_csv, **visit.zip_members}.items():
        for row in csv.reader(io.StringIO(body)):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), (name, cell)


def test_after_the_callback_no_url_carries_a_code_state_or_secret(visit: Visit):
    assert {"code", "state"} <= set(visit.callback_params)
    app = app_credentials(7)
    secrets = [
        visit.callback_params["code"],
        app.bearer_token,
        app.consumer_secret,
        app.client_secret,
    ]
    for url in [visit.url_after_callback, *visit.requests]:
        query = parse_qs(urlsplit(url).query)
        assert not set(query) & set(CALLBACK_SECRETS), url
        assert not any(secret in url for secret in secrets), url
    assert not any(secret in visit.page_text for secret in secrets)


def test_the_servers_debug_log_holds_no_code_or_app_secret(visit: Visit, hostile_app_server: Any):
    log = hostile_app_server.log()
    assert "Runtime state:" in log, "the server runs with --logger.level=debug"
    app = app_credentials(7)
    for secret in (visit.callback_params["code"], app.bearer_token, app.client_secret):
        assert secret not in log
