"""Rate limits: lowercase headers on every v2 response, windows per app and per user, 429."""

from __future__ import annotations

from tests.sandbox.helpers import SandboxFactory, bearer, get, oauth1, user_bearer
from xmetrics_core.sandbox import Sandbox, SandboxSettings
from xmetrics_core.sandbox.settings import CAPTURED_2022_RATE_LIMITS, TWEETS_LOOKUP, USERS_ME

TOO_MANY = {
    "title": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
    "detail": "Too Many Requests",
}


def test_2026_limits_and_headers_on_every_v2_response(fresh_sandbox: Sandbox) -> None:
    post = fresh_sandbox.world.demo_posts[1]
    response = get(
        fresh_sandbox, "/2/tweets", params={"ids": post.id}, headers=bearer(fresh_sandbox)
    )
    now = int(fresh_sandbox.clock.protocol_timestamp())
    assert response.headers["x-rate-limit-limit"] == "3500"
    assert response.headers["x-rate-limit-remaining"] == "3499"
    assert now + 895 <= int(response.headers["x-rate-limit-reset"]) <= now + 901
    assert response.headers["api-version"] == "2.166"
    assert response.headers["x-access-level"] == "read"
    raw_names = [name for name, _ in response.raw.headers.items()]
    assert "x-rate-limit-limit" in raw_names, "header names must be lowercase on the wire"
    user = get(fresh_sandbox, "/2/tweets", params={"ids": post.id}, auth=oauth1(fresh_sandbox))
    assert user.headers["x-rate-limit-limit"] == "5000"
    single = get(fresh_sandbox, f"/2/tweets/{post.id}", auth=oauth1(fresh_sandbox))
    assert single.headers["x-rate-limit-limit"] == "900"
    me = get(fresh_sandbox, "/2/users/me", auth=oauth1(fresh_sandbox))
    assert me.headers["x-rate-limit-limit"] == "75"
    timeline = get(
        fresh_sandbox,
        f"/2/users/{fresh_sandbox.world.demo_user_id}/tweets",
        headers=bearer(fresh_sandbox),
    )
    assert timeline.headers["x-rate-limit-limit"] == "10000"
    usage = get(fresh_sandbox, "/2/usage/tweets", headers=bearer(fresh_sandbox))
    assert usage.headers["x-rate-limit-limit"] == "50"
    invalid = get(fresh_sandbox, "/2/tweets", params={"ids": "x"}, headers=bearer(fresh_sandbox))
    assert invalid.status_code == 400 and invalid.headers["x-rate-limit-remaining"] == "3498"


def test_the_2022_figures_are_one_setting_away(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(settings=SandboxSettings(rate_limits=CAPTURED_2022_RATE_LIMITS))
    post = running.world.demo_posts[1]
    response = get(running, "/2/tweets", params={"ids": post.id}, headers=bearer(running))
    assert response.headers["x-rate-limit-limit"] == "300"  # as the tweepy cassettes carry


def test_429_once_the_window_is_used_and_reset_after_it(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(settings=SandboxSettings(rate_limits={TWEETS_LOOKUP: (3, 2)}))
    post = running.world.demo_posts[1]
    statuses = [
        get(running, "/2/tweets", params={"ids": post.id}, headers=bearer(running)).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    limited = get(running, "/2/tweets", params={"ids": post.id}, headers=bearer(running))
    assert limited.json() == TOO_MANY
    assert limited.headers["x-rate-limit-remaining"] == "0"
    reset = int(limited.headers["x-rate-limit-reset"])
    running.clock.advance(reset - running.clock.timestamp() + 1)
    assert (
        get(running, "/2/tweets", params={"ids": post.id}, headers=bearer(running)).status_code
        == 200
    )


def test_user_windows_are_separate_from_the_app_and_from_each_other(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(settings=SandboxSettings(rate_limits={TWEETS_LOOKUP: (1, 2)}))
    post = running.world.demo_posts[1]
    params = {"ids": post.id}
    assert get(running, "/2/tweets", params=params, headers=bearer(running)).status_code == 200
    assert get(running, "/2/tweets", params=params, headers=bearer(running)).status_code == 429
    demo = [
        get(running, "/2/tweets", params=params, auth=oauth1(running)).status_code for _ in range(3)
    ]
    assert demo == [200, 200, 429]
    other = running.accounts[2].user_id
    assert (
        get(running, "/2/tweets", params=params, headers=user_bearer(running, other)).status_code
        == 200
    )
    # OAuth 2.0 and OAuth 1.0a tokens of the same user share that user's window
    assert get(running, "/2/tweets", params=params, headers=user_bearer(running)).status_code == 429


def test_users_me_window_is_per_user(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(settings=SandboxSettings(rate_limits={USERS_ME: (None, 1)}))
    assert get(running, "/2/users/me", auth=oauth1(running)).status_code == 200
    assert get(running, "/2/users/me", auth=oauth1(running)).status_code == 429


def test_credits_run_out_with_402(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(settings=SandboxSettings(credits=5))
    posts = running.world.demo_posts
    ids = ",".join(p.id for p in posts[1:4])
    assert (
        get(running, "/2/tweets", params={"ids": ids}, headers=bearer(running)).status_code == 200
    )
    assert running.credits_remaining == 2
    more = ",".join(p.id for p in posts[4:7])
    assert (
        get(running, "/2/tweets", params={"ids": more}, headers=bearer(running)).status_code == 200
    )
    assert running.credits_remaining == 0
    depleted = get(running, "/2/users/me", auth=oauth1(running))
    assert depleted.status_code == 402
    body = depleted.json()
    assert body["title"] == "CreditsDepleted"
    assert body["type"] == "https://api.twitter.com/2/problems/credits"
    assert body["detail"].startswith("Your enrolled account [")
