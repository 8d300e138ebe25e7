"""Chart layout in a real browser: the figures the dashboard draws, rendered by plotly.js in
Chromium at a phone's width (358 px: a 390-px screen less Streamlit's padding) and at a
desktop's, measured: no title runs out of the chart, no note lies on the legend, no footnote
on the axis labels.

The figures are built from the Demo world's Posts exactly as the pages build them, and drawn
with the plotly.js that ships with plotly (loaded from disk: nothing leaves the machine).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import pytest
from playwright.sync_api import Browser, Page

from xmetrics_core import figures, frames
from xmetrics_core.models import FetchResult, IdStatus, MediaRecord, PostRecord, PostStatus
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import World, build_world

pytestmark = pytest.mark.browser

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PHONE_WIDTH = 358
DESKTOP_WIDTH = 1300
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)

MEASURE = """
(div) => {
  const box = (el) => { const r = el.getBoundingClientRect();
                        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const svg = div.querySelector('.main-svg');
  const texts = (sel) => [...div.querySelectorAll(sel)].filter(e => e.textContent.trim());
  return {
    chart: box(svg),
    titles: texts('.gtitle, .gtitle-subtitle').map(box),
    legend: [...div.querySelectorAll('.legend')].map(box),
    notes: texts('.annotation').map(e => ({text: e.textContent, ...box(e)})),
    xtitles: texts('.xtitle, .g-xtitle text').map(box),
    xticks: texts('.xtick text').map(box),
  };
}
"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.fixture(scope="module")
def plotly_page(chromium_browser: Browser) -> Iterator[Page]:
    """A blank page with plotly.js, in the suite's Chromium (no app involved)."""
    context = chromium_browser.new_context(viewport={"width": DESKTOP_WIDTH + 40, "height": 1200})
    try:
        page = context.new_page()
        page.set_content("<html><body style='margin:0'><div id='chart'></div></body></html>")
        page.add_script_tag(path=str(PLOTLY_JS))
        yield page
    finally:
        context.close()


def _draw(page: Page, fig: go.Figure, width: int) -> dict[str, Any]:
    spec = json.loads(fig.to_json())
    spec["layout"]["width"] = width
    spec["layout"].setdefault("font", {})["family"] = "sans-serif"
    page.evaluate(
        "([data, layout]) => Plotly.newPlot('chart', data, layout, {staticPlot: true})",
        [spec["data"], spec["layout"]],
    )
    measured: dict[str, Any] = page.locator("#chart").evaluate(MEASURE)
    return measured


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, now=NOW, settings=SandboxSettings())


def _result(world: World) -> FetchResult:
    """The Demo's recent Posts with every group, as the dashboard would have fetched them."""
    posts = []
    for truth in [p for p in world.demo_posts if p.within_private_window(NOW)][:12]:
        groups = {name: dict(values) for name, values in truth.metrics.items()}
        posts.append(
            PostRecord(
                id=truth.id,
                text=truth.text,
                created_at=truth.created_at,
                media_keys=truth.media_keys,
                metrics=groups,
            )
        )
    unrated = PostRecord(id="1", text="no impressions", metrics={"public_metrics": {}})
    media = []
    for post in posts:
        for key in post.media_keys:
            item = world.media_item(key)
            if item is not None and item.type == "video" and item.non_public_metrics:
                media.append(
                    MediaRecord(
                        media_key=key,
                        type="video",
                        duration_ms=item.duration_ms,
                        post_ids=(post.id,),
                        metrics={name: dict(values) for name, values in item.metrics.items()},
                    )
                )
    every = (*posts, unrated)
    statuses = tuple(IdStatus(id=p.id, status=PostStatus.OK) for p in every)
    return FetchResult(posts=every, media=tuple(media), statuses=statuses)


@pytest.fixture(scope="module")
def built(world: World) -> dict[str, Any]:
    return frames.all_frames(_result(world))


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
def test_the_organic_vs_promoted_title_fits_the_chart(
    plotly_page: Page, built: dict[str, Any], width: int
):
    fig = figures.organic_vs_promoted_figure(
        frames.split_long_frame(built["split_all_posts"]), per_post=False
    )
    drawn = _draw(plotly_page, fig, width)
    chart = drawn["chart"]
    assert drawn["titles"]
    for title in drawn["titles"]:
        assert chart["left"] <= title["left"] and title["right"] <= chart["right"] + 0.5, (
            f"the title runs out of a {width}-px chart: {title} vs {chart}"
        )


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH // 2])
def test_the_largest_drop_note_never_lies_on_the_legend(
    plotly_page: Page, built: dict[str, Any], width: int
):
    quartiles = built["quartiles"]
    assert not quartiles.empty
    first = str(quartiles["media_key"].iloc[0])
    one = quartiles.loc[quartiles["media_key"].astype(str).eq(first)].reset_index(drop=True)
    drawn = _draw(plotly_page, figures.quartile_retention_figure(one), width)
    notes = [n for n in drawn["notes"] if n["text"].startswith("Largest drop")]
    assert notes, drawn["notes"]
    for note in notes:
        for legend in drawn["legend"]:
            assert not _overlap(note, legend), f"at {width} px the note covers the legend"
        assert note["right"] <= drawn["chart"]["right"] + 0.5, "the note runs out of the chart"


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
def test_no_engagement_rate_note_lies_on_the_axis_labels(
    plotly_page: Page, built: dict[str, Any], width: int
):
    drawn = _draw(plotly_page, figures.engagement_rate_figure(built["posts"]), width)
    labels = drawn["xtitles"] + drawn["xticks"]
    assert labels
    for note in drawn["notes"] + drawn["titles"]:
        for label in labels:
            assert not _overlap(note, label), f"at {width} px a note covers the axis labels"
