"""Quota exhaustion through the dashboard: the sandbox's 15-minute rate-limit window and its
402 ``CreditsDepleted`` answer. The page must say when (or how) it can try again, and keep
what it already had: Posts fetched before the quota ran out stay on show, and an earlier
paste comes back from the cache without a single API call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import requests
from apptest_helpers import (
    HTTP_TIMEOUT,
    api_calls,
    connect_bearer,
    connect_oauth1_keys,
    element_texts,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core.models import PostStatus
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.sandbox.settings import TWEETS_LOOKUP, USERS_ME
from xmetrics_ui.session import CONNECTION_KEY

LIKES = "public_metrics.like_count"


def fetch(at: AppTest, text: str, *, refresh: bool = False) -> AppTest:
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(text)
    return at.button(key="xm_refresh" if refresh else "xm_fetch").click().run()


def posts_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.dataframe if LIKES in t.value.columns)


def visible_posts(sandbox: Any) -> list[str]:
    world = sandbox.world
    hidden = {world.protected_user_id, world.suspended_user_id}
    return [p.id for p in world.posts if p.author_id not in hidden]


def assert_truth(sandbox: Any, table: pd.DataFrame, ids: list[str]) -> None:
    shown = table.set_index("id")
    for post_id in ids:
        truth = sandbox.world.post(post_id)
        assert truth is not None
        assert shown.loc[post_id, LIKES] == truth.public_metrics["like_count"], post_id


def window_reset(sandbox: Any) -> datetime:
    """When the app's ``GET /2/tweets`` window resets, as the sandbox itself says (a 429)."""
    answer = requests.get(
        f"{sandbox.base_url}/2/tweets",
        params={"ids": visible_posts(sandbox)[0]},
        headers={"Authorization": f"Bearer {sandbox.demo.bearer_token}"},
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 429
    return datetime.fromtimestamp(int(answer.headers["x-rate-limit-reset"]), tz=UTC)


def test_a_spent_rate_limit_window_says_when_to_retry_and_keeps_what_was_fetched(
    sandbox_factory: Any, dashboard: Any
):
    limited = sandbox_factory(settings=SandboxSettings(rate_limits={TWEETS_LOOKUP: (2, 900)}))
    ids = visible_posts(limited)
    first, second = ids[:3], ids[3:153]
    at = connect_bearer(limited)
    at = fetch(at, "\n".join(first))  # 1 call: 1 of 2 left
    assert_truth(limited, posts_table(at), first)

    at = fetch(at, "\n".join(second))  # one batch served (100 or 50, both leave at once), then 429
    assert not at.exception
    reset = window_reset(limited)
    when = f"{reset:%H:%M} UTC"
    warnings = " ".join(element_texts(at, "warning"))
    assert "rate limited" in warnings and when in warnings, warnings
    assert "Results so far are kept" in warnings
    table = posts_table(at)
    fetched = table.loc[table["status"].ne(PostStatus.FAILED.value), "id"].tolist()
    assert len(fetched) in (100, 50) and len(table) == len(second), "the served batch stays on show"
    assert_truth(limited, table, fetched)
    sidebar = " ".join(str(t.value) for t in at.sidebar.text)
    assert "0 of 2 requests left" in sidebar and f"resets {when}" in sidebar, sidebar

    limited.request_log.clear()
    at = fetch(at, "\n".join(first))  # the earlier paste: from the cache, no API call
    assert api_calls(limited) == []
    assert_truth(limited, posts_table(at), first)

    limited.clock.advance(901)  # the window resets
    at = fetch(at, "\n".join(second), refresh=True)
    assert not element_texts(at, "warning"), element_texts(at, "warning")
    assert_truth(limited, posts_table(at), second)


def test_a_rate_limited_sign_in_says_when_and_connects_nothing(
    sandbox_factory: Any, dashboard: Any
):
    limited = sandbox_factory(settings=SandboxSettings(rate_limits={USERS_ME: (None, 1)}))
    assert connect_oauth1_keys(limited).session_state[CONNECTION_KEY] is not None
    refused = connect_oauth1_keys(limited)  # /2/users/me: the window is spent
    assert not refused.exception
    errors = " ".join(element_texts(refused, "error"))
    assert re.search(r"Rate limited until \d\d:\d\d UTC", errors), errors
    assert CONNECTION_KEY not in refused.session_state


def test_depleted_credits_say_what_to_do_and_keep_what_was_fetched(
    sandbox_factory: Any, dashboard: Any
):
    metered = sandbox_factory(settings=SandboxSettings(credits=5))
    ids = visible_posts(metered)
    first, second, third = ids[:3], ids[3:153], ids[153:163]
    at = connect_bearer(metered)
    at = fetch(at, "\n".join(first))  # 3 credits
    assert_truth(metered, posts_table(at), first)

    at = fetch(at, "\n".join(second))  # one batch (100 or 50, both leave at once), then 402
    assert not at.exception
    warnings = " ".join(element_texts(at, "warning"))
    assert "credits" in warnings, warnings
    assert re.search(r"add credits", warnings, re.IGNORECASE), "say how to go on: " + warnings
    table = posts_table(at)
    fetched = table.loc[table["status"].ne(PostStatus.FAILED.value), "id"].tolist()
    assert len(fetched) in (100, 50)
    assert_truth(metered, table, fetched)

    at = fetch(at, "\n".join(third))  # nothing left at all
    assert not at.exception
    assert set(posts_table(at)["status"]) == {PostStatus.FAILED.value}

    metered.request_log.clear()
    at = fetch(at, "\n".join(first))
    assert api_calls(metered) == [], "what was fetched comes back from the cache"
    assert_truth(metered, posts_table(at), first)
