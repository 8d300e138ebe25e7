"""``GET /2/tweets/analytics`` and ``GET /2/media/analytics`` over real HTTP: both tiers,
buckets that add up to what the lookups show, auth, scopes and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sandbox.helpers import SandboxFactory, bearer, get, oauth1, user_bearer
from xmetrics_core.sandbox import Media, Post, Sandbox, SandboxSettings

START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CLIENT_FORBIDDEN = "https://api.twitter.com/2/problems/client-forbidden"
POST_FIELDS = "impressions,likes,unlikes,retweets,replies,quote_tweets,bookmarks,engagements"
MEDIA_FIELDS = "video_views,playback_start,playback25,playback50,playback75,playback_complete"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def enterprise(sandbox_factory: SandboxFactory, **settings: Any) -> Sandbox:
    return sandbox_factory(settings=SandboxSettings(tier="enterprise", **settings), now=START)


def analytics(
    sandbox: Sandbox, post: Post, start: datetime, end: datetime, granularity: str
) -> Any:
    response = get(
        sandbox,
        "/2/tweets/analytics",
        params={
            "ids": post.id,
            "start_time": iso(start),
            "end_time": iso(end),
            "granularity": granularity,
            "analytics.fields": POST_FIELDS,
        },
        auth=oauth1(sandbox),
    )
    assert response.status_code == 200, response.text
    return response.json()


def lookup(sandbox: Sandbox, post: Post) -> dict[str, int]:
    body = get(
        sandbox,
        "/2/tweets",
        params={"ids": post.id, "tweet.fields": "public_metrics"},
        headers=bearer(sandbox),
    ).json()
    metrics: dict[str, int] = body["data"][0]["public_metrics"]
    return metrics


def sums(series: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for bucket in series:
        for name, value in bucket["metrics"].items():
            total[name] = total.get(name, 0) + value
    return total


def demo_video(sandbox: Sandbox) -> Media:
    """The demo's newest video that has been up for a while (its views are still growing)."""
    now = sandbox.clock.now()
    return max(
        (
            m
            for m in sandbox.world.media
            if m.type == "video"
            and m.owner_id == sandbox.world.demo_user_id
            and m.appears_at < now - timedelta(hours=2)
        ),
        key=lambda m: m.appears_at,
    )


def growing_post(sandbox: Sandbox) -> Post:
    """The demo's newest Post that has been up for an hour (every curve is moving)."""
    now = sandbox.clock.now()
    return next(
        p
        for p in sandbox.world.demo_posts
        if now - p.created_at > timedelta(hours=1) and not p.growth.zero
    )


# -- tiers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key"), [("/2/tweets/analytics", "ids"), ("/2/media/analytics", "media_keys")]
)
def test_pay_per_use_apps_are_refused_as_not_enrolled(
    sandbox: Sandbox, path: str, key: str
) -> None:
    response = get(sandbox, path, params={key: "1"}, auth=oauth1(sandbox))
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == CLIENT_FORBIDDEN
    assert body["reason"] == "client-not-enrolled"
    assert body["title"] == "Client Forbidden"
    assert "Enterprise" in body["detail"] and body["registration_url"].startswith("https://")


def test_the_tier_switches_while_the_sandbox_runs(sandbox_factory: SandboxFactory) -> None:
    running = sandbox_factory(now=START)
    post = running.world.demo_posts[1]
    params = {
        "ids": post.id,
        "start_time": iso(START - timedelta(days=1)),
        "end_time": iso(START),
    }
    assert (
        get(running, "/2/tweets/analytics", params=params, auth=oauth1(running)).status_code == 403
    )
    running.set_tier("enterprise")
    assert running.tier == "enterprise"
    assert (
        get(running, "/2/tweets/analytics", params=params, auth=oauth1(running)).status_code == 200
    )
    running.set_tier("pay-per-use")
    assert (
        get(running, "/2/tweets/analytics", params=params, auth=oauth1(running)).status_code == 403
    )
    with pytest.raises(ValueError):
        running.set_tier("free")  # type: ignore[arg-type]


# -- buckets add up -------------------------------------------------------------------------------


@pytest.mark.parametrize("granularity", ["hourly", "daily", "weekly", "total"])
def test_post_buckets_sum_to_the_growth_the_lookups_show(
    sandbox_factory: SandboxFactory, granularity: str
) -> None:
    running = enterprise(sandbox_factory)
    post = growing_post(running)
    t0 = START - timedelta(minutes=17)
    running.clock.set(t0)
    before = lookup(running, post)
    running.clock.set(START + timedelta(days=2, minutes=41))
    after = lookup(running, post)
    assert after["impression_count"] > before["impression_count"]
    body = analytics(running, post, t0, running.clock.now(), granularity)
    (item,) = body["data"]
    assert item["id"] == post.id
    total = sums(item["timestamped_metrics"])
    assert total["impressions"] == after["impression_count"] - before["impression_count"]
    assert total["likes"] - total["unlikes"] == after["like_count"] - before["like_count"]
    assert total["retweets"] == after["retweet_count"] - before["retweet_count"]
    assert total["replies"] == after["reply_count"] - before["reply_count"]
    assert total["quote_tweets"] == after["quote_count"] - before["quote_count"]
    assert total["bookmarks"] == after["bookmark_count"] - before["bookmark_count"]
    assert total["engagements"] >= total["likes"] + total["retweets"] + total["replies"]


def test_hourly_buckets_are_aligned_clipped_and_stop_at_now(
    sandbox_factory: SandboxFactory,
) -> None:
    running = enterprise(sandbox_factory)
    start = START - timedelta(hours=5, minutes=20)
    post = next(p for p in running.world.demo_posts if p.created_at < start and not p.growth.zero)
    body = analytics(running, post, start, START + timedelta(days=3), "hourly")
    series = body["data"][0]["timestamped_metrics"]
    stamps = [bucket["timestamp"] for bucket in series]
    assert stamps[0] == iso(start.replace(minute=0))  # a bucket's timestamp is its start
    assert stamps[-1] == iso(START.replace(minute=0))  # nothing after the clock's now
    assert len(stamps) == 6  # 04:00 (from 04:10) to 09:00 (until 09:30)
    assert all(set(b["metrics"]) == set(POST_FIELDS.split(",")) for b in series)
    hourly = [b["metrics"]["impressions"] for b in series]
    assert all(value >= 0 for value in hourly)
    daily = analytics(running, post, start, START, "daily")["data"][0]["timestamped_metrics"]
    assert [b["timestamp"] for b in daily] == [iso(START.replace(hour=0, minute=0))]
    weekly = analytics(running, post, START - timedelta(days=10), START, "weekly")
    weeks = [b["timestamp"] for b in weekly["data"][0]["timestamped_metrics"]]
    assert all(datetime.fromisoformat(w.replace("Z", "+00:00")).weekday() == 0 for w in weeks)
    total = analytics(running, post, start, START, "total")["data"][0]["timestamped_metrics"]
    assert [b["timestamp"] for b in total] == [iso(start)]
    assert total[0]["metrics"]["impressions"] == sum(hourly)


def test_a_new_posts_hourly_curve_rises_then_falls(sandbox_factory: SandboxFactory) -> None:
    running = enterprise(sandbox_factory)
    running.clock.set(START + timedelta(days=1))
    post = next(p for p in running.world.demo_posts if p.created_at > START)
    running.clock.set(post.created_at + timedelta(days=2))
    hourly = analytics(
        running, post, post.created_at, post.created_at + timedelta(days=2), "hourly"
    )
    impressions = [b["metrics"]["impressions"] for b in hourly["data"][0]["timestamped_metrics"]]
    peak = impressions.index(max(impressions))
    assert 0 < peak < 12, "the peak comes in the first hours"
    assert impressions[-1] < max(impressions) / 3, "then it decays"


def test_media_buckets_sum_to_the_video_growth(sandbox_factory: SandboxFactory) -> None:
    running = enterprise(sandbox_factory)
    video = demo_video(running)
    t0 = START - timedelta(days=1)
    running.clock.set(t0)
    before = video.metrics
    running.clock.set(START)
    after = video.metrics
    for granularity in ("hourly", "daily", "total"):
        response = get(
            running,
            "/2/media/analytics",
            params={
                "media_keys": video.media_key,
                "start_time": iso(t0),
                "end_time": iso(START),
                "granularity": granularity,
                "media_analytics.fields": MEDIA_FIELDS,
            },
            auth=oauth1(running),
        )
        assert response.status_code == 200, response.text
        (item,) = response.json()["data"]
        assert item["media_key"] == video.media_key
        total = sums(item["timestamped_metrics"])
        views = after["public_metrics"]["view_count"] - before["public_metrics"]["view_count"]
        assert total["video_views"] == views > 0
        plays = after["non_public_metrics"], before["non_public_metrics"]
        assert (
            total["playback_start"] == plays[0]["playback_0_count"] - plays[1]["playback_0_count"]
        )
        assert total["playback_complete"] == (
            plays[0]["playback_100_count"] - plays[1]["playback_100_count"]
        )


def test_media_analytics_default_to_daily(sandbox_factory: SandboxFactory) -> None:
    running = enterprise(sandbox_factory)
    video = demo_video(running)
    response = get(
        running,
        "/2/media/analytics",
        params={
            "media_keys": video.media_key,
            "start_time": iso(START - timedelta(days=3)),
            "end_time": iso(START),
            "media_analytics.fields": "video_views",
        },
        auth=oauth1(running),
    )
    stamps = [b["timestamp"] for b in response.json()["data"][0]["timestamped_metrics"]]
    assert all(s.endswith("T00:00:00Z") for s in stamps) and 1 <= len(stamps) <= 4


def test_without_fields_the_buckets_carry_no_metrics(sandbox_factory: SandboxFactory) -> None:
    running = enterprise(sandbox_factory)
    post = running.world.demo_posts[2]
    response = get(
        running,
        "/2/tweets/analytics",
        params={
            "ids": post.id,
            "start_time": iso(START - timedelta(days=1)),
            "end_time": iso(START),
        },
        auth=oauth1(running),
    )
    (bucket,) = response.json()["data"][0]["timestamped_metrics"]  # granularity: total
    assert bucket == {"timestamp": iso(START - timedelta(days=1)), "metrics": {}}


# -- who may ask ----------------------------------------------------------------------------------


def test_others_posts_and_missing_ones_are_partial_errors(sandbox_factory: SandboxFactory) -> None:
    running = enterprise(sandbox_factory)
    world = running.world
    mine = growing_post(running)
    theirs = next(p for p in world.posts if p.author_id != world.demo_user_id)
    ids = [mine.id, theirs.id, world.deleted_ids[0]]
    body = get(
        running,
        "/2/tweets/analytics",
        params={
            "ids": ",".join(ids),
            "start_time": iso(START - timedelta(days=1)),
            "end_time": iso(START),
        },
        auth=oauth1(running),
    ).json()
    assert [item["id"] for item in body["data"]] == [mine.id]
    assert [(e["title"], e["value"], e["parameter"]) for e in body["errors"]] == [
        ("Authorization Error", theirs.id, "ids"),
        ("Not Found Error", world.deleted_ids[0], "ids"),
    ]


def test_analytics_take_user_context_only_with_the_right_scopes(
    sandbox_factory: SandboxFactory,
) -> None:
    running = enterprise(sandbox_factory)
    post, video = growing_post(running), demo_video(running)
    window = {"start_time": iso(START - timedelta(days=1)), "end_time": iso(START)}
    tweets, media = {"ids": post.id, **window}, {"media_keys": video.media_key, **window}
    app = get(running, "/2/tweets/analytics", params=tweets, headers=bearer(running))
    assert app.status_code == 403 and app.json()["title"] == "Unsupported Authentication"
    read_only = user_bearer(running, scopes=("tweet.read",))
    assert get(running, "/2/tweets/analytics", params=tweets, headers=read_only).status_code == 403
    assert get(running, "/2/media/analytics", params=media, headers=read_only).status_code == 200
    both = user_bearer(running, scopes=("tweet.read", "users.read"))
    assert get(running, "/2/tweets/analytics", params=tweets, headers=both).status_code == 200
    limited = get(running, "/2/tweets/analytics", params=tweets, headers=both)
    assert limited.headers["x-rate-limit-limit"] == "300"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_time": "2026-11-30T00:00:00Z", "end_time": "2026-12-01T00:00:00Z"}, "`ids`"),
        (
            {"ids": "{post}", "end_time": "2026-12-01T00:00:00Z"},
            "`start_time` query parameter can not be empty",
        ),
        (
            {"ids": "{post}", "start_time": "yesterday", "end_time": "2026-12-01T00:00:00Z"},
            "RFC3339",
        ),
        (
            {
                "ids": "{post}",
                "start_time": "2026-12-01T00:00:00Z",
                "end_time": "2026-11-30T00:00:00Z",
            },
            "must be after",
        ),
        (
            {
                "ids": "{post}",
                "start_time": "2026-10-01T00:00:00Z",
                "end_time": "2026-12-01T00:00:00Z",
            },
            "28 days",
        ),
        (
            {
                "ids": "{post}",
                "start_time": "2026-11-30T00:00:00Z",
                "end_time": "2026-12-01T00:00:00Z",
                "granularity": "minutely",
            },
            "[hourly,daily,weekly,total]",
        ),
        (
            {
                "ids": "{post}",
                "start_time": "2026-11-30T00:00:00Z",
                "end_time": "2026-12-01T00:00:00Z",
                "analytics.fields": "views",
            },
            "`analytics.fields` query parameter value [views]",
        ),
        (
            {
                "ids": ",".join(str(10**15 + n) for n in range(101)),
                "start_time": "2026-11-30T00:00:00Z",
                "end_time": "2026-12-01T00:00:00Z",
            },
            "[101] is not between 1 and 100",
        ),
        (
            {
                "ids": "{post}",
                "start_time": "2026-11-30T00:00:00Z",
                "end_time": "2026-12-01T00:00:00Z",
                "tweet.fields": "public_metrics",
            },
            "The query parameter [tweet.fields] is not one of",
        ),
    ],
)
def test_invalid_requests_are_400_naming_the_parameter(
    sandbox_factory: SandboxFactory, params: dict[str, str], message: str
) -> None:
    running = enterprise(sandbox_factory)
    post = growing_post(running)
    query = {k: v.replace("{post}", post.id) for k, v in params.items()}
    response = get(running, "/2/tweets/analytics", params=query, auth=oauth1(running))
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid Request"
    assert any(message in e["message"] for e in body["errors"]), body["errors"]


def test_media_of_others_unknown_keys_and_photos(sandbox_factory: SandboxFactory) -> None:
    running = enterprise(sandbox_factory)
    world = running.world
    theirs = next(m for m in world.media if m.type == "video" and m.owner_id != world.demo_user_id)
    photo = next(m for m in world.media if m.type == "photo" and m.owner_id == world.demo_user_id)
    keys = [photo.media_key, theirs.media_key, "7_1"]
    body = get(
        running,
        "/2/media/analytics",
        params={
            "media_keys": ",".join(keys),
            "start_time": iso(START - timedelta(days=1)),
            "end_time": iso(START),
            "granularity": "total",
            "media_analytics.fields": "video_views",
        },
        auth=oauth1(running),
    ).json()
    (item,) = body["data"]
    assert item["media_key"] == photo.media_key
    assert all(b["metrics"] == {} for b in item["timestamped_metrics"])  # no video analytics
    assert [(e["title"], e["resource_type"], e["parameter"]) for e in body["errors"]] == [
        ("Authorization Error", "media", "media_keys"),
        ("Not Found Error", "media", "media_keys"),
    ]
