"""The sandbox lives in time, over real HTTP: the clock moves the world the API serves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.sandbox.helpers import SandboxFactory, bearer, get, oauth1
from xmetrics_core.sandbox import Sandbox

START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def public_metrics(sandbox: Sandbox, post_id: str) -> dict[str, int]:
    body = get(
        sandbox,
        "/2/tweets",
        params={"ids": post_id, "tweet.fields": "public_metrics"},
        headers=bearer(sandbox),
    ).json()
    metrics: dict[str, int] = body["data"][0]["public_metrics"]
    return metrics


def timeline_ids(sandbox: Sandbox) -> list[str]:
    body: dict[str, Any] = get(
        sandbox,
        f"/2/users/{sandbox.world.demo_user_id}/tweets",
        params={"max_results": "100"},
        headers=bearer(sandbox),
    ).json()
    return [item["id"] for item in body["data"]]


def test_a_posts_impressions_grow_as_the_clock_advances(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START)
    post = running.world.demo_posts[1]  # posted a few hours ago: still growing fast
    t0 = public_metrics(running, post.id)
    assert t0 == public_metrics(running, post.id), "held still: the same answer twice"
    running.clock.advance(2 * 3600)
    t1 = public_metrics(running, post.id)
    assert t1["impression_count"] > t0["impression_count"]
    assert t1 == running.world.metrics_at(post.id, START + timedelta(hours=2))["public_metrics"]
    running.clock.set(START)
    assert public_metrics(running, post.id) == t0, "a pure function of time"


def test_the_clock_can_run_and_freeze_while_serving(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START)
    post = running.world.demo_posts[1]
    before = public_metrics(running, post.id)["impression_count"]
    running.clock.run(speed=10**6)  # eleven sandbox days per real second
    later = running.world.metrics_at(post.id, running.clock.now())
    assert later is not None
    running.clock.freeze()
    now = running.clock.now()
    assert now > START
    served = public_metrics(running, post.id)
    assert served == running.world.metrics_at(post.id, now)["public_metrics"]  # type: ignore[index]
    assert served["impression_count"] >= before


def test_new_posts_appear_on_the_demo_timeline_every_few_hours(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(now=START)
    before = timeline_ids(running)
    running.clock.advance(12 * 3600)
    after = timeline_ids(running)
    new = after[: len(after) - len(before)]
    assert 2 <= len(new) <= 4
    assert after[len(new) :] == before, "older Posts keep their IDs and order"
    for post_id in new:
        assert get(running, f"/2/tweets/{post_id}", headers=bearer(running)).json()["data"]
    running.clock.set(START)
    gone = get(running, f"/2/tweets/{new[0]}", headers=bearer(running)).json()
    assert "data" not in gone and gone["errors"][0]["title"] == "Not Found Error"


def test_demo_ids_survive_a_restart_on_the_same_utc_day(sandbox_factory: SandboxFactory) -> None:
    morning = sandbox_factory(now=START)
    evening = sandbox_factory(now=START + timedelta(hours=12))
    pasted = [p.id for p in morning.world.demo_posts]
    served = get(
        evening, "/2/tweets", params={"ids": ",".join(pasted)}, headers=bearer(evening)
    ).json()
    assert [item["id"] for item in served["data"]] == pasted
    assert "errors" not in served


def test_private_metrics_stop_when_a_post_turns_30_days_old(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(now=START)
    now = running.clock.now()
    post = min(
        (p for p in running.world.demo_posts if p.within_private_window(now)),
        key=lambda p: p.created_at,
    )
    params = {"ids": post.id, "tweet.fields": "non_public_metrics"}
    assert "data" in get(running, "/2/tweets", params=params, auth=oauth1(running)).json()
    # set() moves the world only (advance() would also age the OAuth 1.0a timestamp window)
    running.clock.set(post.created_at + timedelta(days=30, seconds=1))
    refused = get(running, "/2/tweets", params=params, auth=oauth1(running)).json()
    assert "data" not in refused
    assert {e["title"] for e in refused["errors"]} == {"Field Authorization Error"}


def test_edit_controls_follow_the_clock(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START)
    running.clock.advance(8 * 3600)
    fresh = running.world.demo_posts[0]
    running.clock.set(fresh.created_at + timedelta(minutes=10))
    params = {"ids": fresh.id, "tweet.fields": "edit_controls"}
    controls = get(running, "/2/tweets", params=params, headers=bearer(running)).json()
    assert controls["data"][0]["edit_controls"]["is_edit_eligible"] is True
    running.clock.advance(30 * 60)
    controls = get(running, "/2/tweets", params=params, headers=bearer(running)).json()
    assert controls["data"][0]["edit_controls"]["is_edit_eligible"] is False
