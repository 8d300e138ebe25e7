"""Billing over real HTTP: ``GET /2/usage/tweets``, once per Post per UTC day, the monthly cap
(429 usage-capped) and pay-per-use credits (402 CreditsDepleted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sandbox.helpers import SandboxFactory, bearer, get, oauth1, user_bearer
from xmetrics_core.sandbox import Sandbox, SandboxSettings

START = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)


def usage(sandbox: Sandbox, **params: str) -> Any:
    response = get(sandbox, "/2/usage/tweets", params=params, headers=bearer(sandbox))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def read(sandbox: Sandbox, ids: list[str], **params: str) -> Any:
    return get(
        sandbox, "/2/tweets", params={"ids": ",".join(ids), **params}, headers=bearer(sandbox)
    )


def test_usage_reports_what_the_project_read(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START)
    data = usage(running)
    assert data == {
        "cap_reset_day": 18,  # 2026-12-14 → 2027-01-01
        "project_cap": "3000000",
        "project_id": data["project_id"],
        "project_usage": "0",
    }
    assert data["project_id"].isdigit()


def test_each_post_is_billed_once_per_utc_day(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START)
    posts = [p.id for p in running.world.demo_posts[:5]]
    assert read(running, posts[:3]).status_code == 200
    assert read(running, posts[:3]).status_code == 200  # the same Posts again: free
    assert get(running, f"/2/tweets/{posts[3]}", headers=bearer(running)).status_code == 200
    timeline = get(
        running,
        f"/2/users/{running.world.demo_user_id}/tweets",
        params={"max_results": "5"},
        headers=bearer(running),
    ).json()
    billed_today = len(set(posts[:4]) | {item["id"] for item in timeline["data"]})
    assert usage(running)["project_usage"] == str(billed_today)
    assert running.usage.billed_on(START.date()) == billed_today
    running.clock.set(START + timedelta(days=1))  # the next UTC day bills them again
    read(running, posts[:3])
    data = usage(running, **{"usage.fields": "daily_project_usage", "days": "3"})
    assert data["project_usage"] == str(billed_today + 3)
    assert data["daily_project_usage"]["usage"] == [
        {"date": "2026-12-13T00:00:00.000Z", "usage": "0"},
        {"date": "2026-12-14T00:00:00.000Z", "usage": str(billed_today)},
        {"date": "2026-12-15T00:00:00.000Z", "usage": "3"},
    ]


def test_usage_counts_referenced_posts_but_not_errors_or_users(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(now=START)
    world = running.world
    quoting = next(p for p in world.demo_posts if p.quoted_id and world.post(p.quoted_id))
    body = read(
        running, [quoting.id, world.deleted_ids[0]], expansions="referenced_tweets.id"
    ).json()
    assert [t["id"] for t in body["includes"]["tweets"]] == [quoting.quoted_id]
    get(running, "/2/users/me", auth=oauth1(running))
    assert usage(running)["project_usage"] == "2"


def test_usage_takes_an_app_only_bearer_and_valid_parameters(sandbox: Sandbox) -> None:
    as_user = get(sandbox, "/2/usage/tweets", headers=user_bearer(sandbox))
    assert as_user.status_code == 403
    assert "[OAuth 2.0 Application-Only]" in as_user.json()["detail"]
    assert "OAuth 2.0 User Context" in as_user.json()["detail"]
    for params, message in (
        ({"days": "0"}, "not between 1 and 90"),
        ({"days": "91"}, "not between 1 and 90"),
        ({"usage.fields": "spend"}, "`usage.fields` query parameter value [spend]"),
        ({"month": "12"}, "The query parameter [month] is not one of [days,usage.fields]"),
    ):
        response = get(sandbox, "/2/usage/tweets", params=params, headers=bearer(sandbox))
        assert response.status_code == 400
        assert message in response.json()["errors"][0]["message"]


def test_numbers_can_come_as_integers(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START, settings=SandboxSettings(usage_counts_as_strings=False))
    read(running, [running.world.demo_posts[0].id])
    data = usage(running, **{"usage.fields": "daily_client_app_usage"})
    assert (data["project_cap"], data["project_usage"]) == (3_000_000, 1)
    (app,) = data["daily_client_app_usage"]
    assert app["usage_result_count"] == 7 and app["usage"][-1]["usage"] == 1


# -- the cap and the credits ----------------------------------------------------------------------


def test_the_monthly_cap_stops_post_reads_with_usage_capped(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(now=START, settings=SandboxSettings(project_cap=4))
    posts = [p.id for p in running.world.demo_posts[:6]]
    assert read(running, posts[:3]).status_code == 200
    assert read(running, posts[3:5]).status_code == 200  # 5 billed: the balance goes past the cap
    capped = read(running, posts[:1])
    assert capped.status_code == 429
    assert capped.json() == {
        "account_id": int(running.world.demo_user_id),
        "product_name": "standard-basic",
        "title": "UsageCapExceeded",
        "period": "Monthly",
        "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
    }
    assert "x-rate-limit-remaining" in capped.headers
    assert get(running, "/2/users/me", auth=oauth1(running)).status_code == 200
    assert usage(running)["project_usage"] == "5"
    running.clock.set(datetime(2027, 1, 1, 0, 1, tzinfo=UTC))  # a new month: the cap resets
    assert read(running, posts[:1]).status_code == 200


def test_credits_pay_for_billed_posts_only(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START, settings=SandboxSettings(credits=4))
    posts = [p.id for p in running.world.demo_posts[:6]]
    read(running, posts[:3])
    assert running.credits_remaining == 1
    read(running, posts[:3])  # already billed today: free
    assert running.credits_remaining == 1
    read(running, posts[3:5])  # two more with one credit left: served, balance at zero
    assert running.credits_remaining == 0
    depleted = read(running, posts[:1])
    assert depleted.status_code == 402 and depleted.json()["title"] == "CreditsDepleted"
    assert usage(running)["project_usage"] == "5"  # what was spent stays readable
    running.set_credits(10)
    assert read(running, posts[:1]).status_code == 200
    with pytest.raises(ValueError):
        running.set_credits(-1)
