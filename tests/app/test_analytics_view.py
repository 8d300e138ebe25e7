"""The Posts page's hourly analytics (X's Enterprise endpoint) and the sidebar's usage line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import (
    api_calls,
    connect_bearer,
    connect_demo,
    download_bytes,
    element_texts,
    plotly_specs,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core.access import NOT_ENROLLED_EXPLANATION
from xmetrics_core.state import MemoryStateStore
from xmetrics_ui.session import server_state

ANALYTICS_PATH = "/2/tweets/analytics"


@pytest.fixture
def tier(sandbox: Any) -> Iterator[Any]:
    """Set the sandbox app's tier for one test; the remembered access is forgotten around it."""
    before = sandbox.tier

    def set_tier(value: str) -> None:
        sandbox.set_tier(value)
        state = server_state().store
        assert isinstance(state, MemoryStateStore)
        state.clear()  # what X said about each credential's access is asked again

    yield set_tier
    set_tier(before)


def _own_recent(sandbox: Any, count: int) -> list[str]:
    now = sandbox.clock.now()
    return [p.id for p in sandbox.world.demo_posts if p.within_private_window(now)][:count]


def _fetch(at: AppTest, ids: list[str]) -> AppTest:
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value("\n".join(ids))
    return at.button(key="xm_fetch").click().run()


def _texts(at: AppTest) -> str:
    return "\n".join(
        element_texts(at, "info") + element_texts(at, "caption") + element_texts(at, "markdown")
    )


def test_an_enterprise_demo_shows_hourly_curves_of_its_own_posts(sandbox: Any, tier: Any) -> None:
    tier("enterprise")
    ids = _own_recent(sandbox, 3)
    at = _fetch(connect_demo(sandbox), ids)
    assert not at.exception

    spec = plotly_specs(at)["xm_hourly_chart"]
    assert {trace["name"] for trace in spec["data"]} == set(ids)
    data = pd.read_csv(
        io.BytesIO(download_bytes(at, "xm_hourly_chart_csv")), dtype={"post_id": str}
    )
    assert set(data["post_id"]) == set(ids)
    # The last cumulative count of each Post is what X's lookup says now (the sandbox's
    # buckets sum to its lookup), so the curve ends where the metrics table stands.
    for post_id in ids:
        last = data.loc[data["post_id"] == post_id, "cumulative"].dropna().iloc[-1]
        post = sandbox.world.post(post_id)
        now = sandbox.clock.now()
        assert last == post.metrics_at(now)["public_metrics"]["impression_count"]
    assert NOT_ENROLLED_EXPLANATION in _texts(at)  # what a pay-per-use app would see
    assert "enterprise" in _texts(at)


def test_a_pay_per_use_app_is_told_why_and_asked_once(sandbox: Any, tier: Any) -> None:
    tier("pay-per-use")
    at = _fetch(connect_demo(sandbox), _own_recent(sandbox, 2))
    assert not at.exception
    assert "xm_hourly_chart" not in plotly_specs(at)
    assert NOT_ENROLLED_EXPLANATION in element_texts(at, "info")
    refused = [e for e in api_calls(sandbox) if e.path == ANALYTICS_PATH]
    assert len(refused) == 1

    at.button(key="xm_refresh").click().run()  # a new result: access is not asked again
    assert len([e for e in api_calls(sandbox) if e.path == ANALYTICS_PATH]) == 1


def test_an_app_only_token_never_asks_for_analytics(sandbox: Any, tier: Any) -> None:
    tier("enterprise")
    at = _fetch(connect_bearer(sandbox), _own_recent(sandbox, 2))
    assert not at.exception
    assert any("user sign-in" in text for text in element_texts(at, "info"))
    assert not [e for e in api_calls(sandbox) if e.path == ANALYTICS_PATH]


def test_the_sidebar_shows_the_projects_usage_for_a_bearer_token(sandbox: Any) -> None:
    at = connect_bearer(sandbox)  # no fetch: nothing lands in the Demo's history store
    usage = [t for t in element_texts(at, "caption") if t.startswith("X API usage:")]
    assert usage and "Post reads this month" in usage[0]
    asked = len([e for e in api_calls(sandbox) if e.path == "/2/usage/tweets"])
    at.run()  # kept for a few minutes: no second request on a rerun
    assert len([e for e in api_calls(sandbox) if e.path == "/2/usage/tweets"]) == asked == 1


def test_an_enterprise_demo_shows_watch_time_of_its_own_videos(sandbox: Any, tier: Any) -> None:
    tier("enterprise")
    now = sandbox.clock.now()
    recent = {p.id for p in sandbox.world.demo_posts if p.within_private_window(now)}
    with_video = [
        post_id
        for media in sandbox.world.media_at(now)
        if media.type == "video"
        for post_id in media.post_ids
        if post_id in recent
    ][:2]
    assert with_video, "the Demo world has recent videos"
    at = _fetch(connect_demo(sandbox), with_video)
    at.switch_page("pages/video.py").run()
    assert not at.exception
    specs = plotly_specs(at)
    assert {"xm_watch_time_chart", "xm_playback_chart"} <= set(specs)
    watched = pd.read_csv(io.BytesIO(download_bytes(at, "xm_watch_time_chart_csv")))
    assert watched["watch_hours"].sum() > 0
    stages = pd.read_csv(io.BytesIO(download_bytes(at, "xm_playback_chart_csv")))
    assert not stages.empty
    assert [e for e in api_calls(sandbox) if e.path == "/2/media/analytics"]
