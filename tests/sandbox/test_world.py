"""The seeded world: consistency of every metric, snowflake times, determinism, content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xmetrics_core.catalogue import QUARTILES
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.sandbox.world import (
    Post,
    World,
    build_world,
    format_time,
    snowflake_datetime,
)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SPLIT = (
    "impression_count",
    "like_count",
    "reply_count",
    "retweet_count",
    "url_link_clicks",
    "user_profile_clicks",
)
FROM_PUBLIC = ("like_count", "reply_count", "retweet_count")


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, now=NOW, settings=SandboxSettings())


def total_of(post: Post, field: str) -> int:
    group = post.public_metrics if field in FROM_PUBLIC else post.non_public_metrics
    return group.get(field, 0)


def test_account_and_post_counts(world: World) -> None:
    assert len(world.users) == 24
    assert len(world.demo_posts) == 60
    assert world.users[0].id == world.demo_user_id
    for user in world.users[1:]:
        assert 5 <= len(world.posts_by(user.id)) <= 8
    flags = {u.id: (u.protected, u.suspended) for u in world.users}
    assert flags[world.protected_user_id] == (True, False)
    assert flags[world.suspended_user_id] == (False, True)
    assert sum(p or s for p, s in flags.values()) == 2


def test_demo_posts_span_45_days_across_the_private_window(world: World) -> None:
    ages = [NOW - p.created_at for p in world.demo_posts]
    assert max(ages) <= timedelta(days=45)
    assert max(ages) >= timedelta(days=44)
    old = [p for p in world.demo_posts if not p.within_private_window(NOW)]
    assert 8 <= len(old) <= 25
    assert any(p.promoted for p in old)
    assert any(p.media_keys for p in old)


def test_snowflake_time_equals_created_at(world: World) -> None:
    for post in world.posts:
        assert snowflake_datetime(post.id) == post.created_at
        assert post.created_at.microsecond == 0
        assert format_time(post.created_at).endswith(".000Z")
    for deleted in world.deleted_ids:
        assert world.post(deleted) is None
        assert NOW - timedelta(days=45) < snowflake_datetime(deleted) < NOW


def test_total_equals_organic_plus_promoted_everywhere(world: World) -> None:
    for post in world.posts:
        assert (
            post.public_metrics["impression_count"] == post.non_public_metrics["impression_count"]
        )
        for field in SPLIT:
            organic = post.organic_metrics.get(field, 0)
            promoted = post.promoted_metrics.get(field, 0) if post.promoted_metrics else 0
            assert total_of(post, field) == organic + promoted, (post.id, field)
        assert "quote_count" not in post.organic_metrics
        assert set(post.organic_metrics) <= set(SPLIT)


def test_some_posts_promoted_and_unpromoted_have_no_promoted_group(world: World) -> None:
    promoted = [p for p in world.demo_posts if p.promoted]
    assert 15 <= len(promoted) <= 25
    for post in world.demo_posts:
        assert ("promoted_metrics" in post.metrics) is post.promoted


def test_video_metrics_aggregate_and_add_up(world: World) -> None:
    videos = [m for m in world.media if m.type == "video"]
    assert videos
    for video in videos:
        assert video.public_metrics is not None and video.organic_metrics is not None
        assert video.non_public_metrics is not None
        promoted = video.promoted_metrics or {}
        assert video.public_metrics["view_count"] == video.organic_metrics[
            "view_count"
        ] + promoted.get("view_count", 0)
        for q in QUARTILES:
            key = f"playback_{q}_count"
            assert video.non_public_metrics[key] == video.organic_metrics[key] + promoted.get(
                key, 0
            )
        carriers = [world.post(i) for i in video.post_ids]
        assert all(c is not None and video.media_key in c.media_keys for c in carriers)
        assert (video.promoted_metrics is not None) == any(c.promoted for c in carriers if c)


def test_one_demo_video_is_shared_by_two_posts(world: World) -> None:
    shared = [m for m in world.media if len(m.post_ids) == 2]
    assert len(shared) == 1
    assert set(shared[0].post_ids) <= {p.id for p in world.demo_posts}


def test_quartiles_fall_off_except_one_skipping_demo_video(world: World) -> None:
    rising = []
    for video in (m for m in world.media if m.type == "video"):
        totals = video.non_public_metrics or {}
        counts = [totals[f"playback_{q}_count"] for q in QUARTILES]
        if any(later > earlier for earlier, later in zip(counts, counts[1:], strict=False)):
            rising.append(video)
    assert len(rising) == 1
    assert rising[0].owner_id == world.demo_user_id


def test_photos_and_gifs_have_no_metric_groups(world: World) -> None:
    stills = [m for m in world.media if m.type in ("photo", "animated_gif")]
    assert {m.type for m in stills} == {"photo", "animated_gif"}
    assert all(m.metrics == {} for m in stills)


def test_one_demo_post_has_zero_impressions(world: World) -> None:
    zero = [p for p in world.demo_posts if p.public_metrics["impression_count"] == 0]
    assert len(zero) == 1
    assert NOW - zero[0].created_at < timedelta(hours=1)


def test_texts_include_emoji_markup_and_formula_looking_content(world: World) -> None:
    texts = [p.text for p in world.demo_posts]
    assert any("\n" in t for t in texts)
    assert any("🚀" in t for t in texts)
    assert any("<script>alert(1)</script>" in t for t in texts)
    assert any("<img src=x onerror=alert(1)>" in t for t in texts)
    assert any("[click](https://example.com)" in t for t in texts)
    for lead in "=+-@":
        assert any(t.startswith(lead) for t in texts), lead


def test_zero_link_clicks_are_omitted_by_default_and_present_when_asked() -> None:
    omitting = build_world(seed=7, now=NOW, settings=SandboxSettings())
    keeping = build_world(seed=7, now=NOW, settings=SandboxSettings(omit_zero_private_keys=False))
    no_url = [p for p in omitting.demo_posts if p.url is None]
    assert no_url and all("url_link_clicks" not in p.non_public_metrics for p in no_url)
    assert all(
        p.non_public_metrics["url_link_clicks"] == 0 for p in keeping.demo_posts if p.url is None
    )
    with_url = [p for p in omitting.demo_posts if p.url is not None]
    assert with_url and all(p.non_public_metrics["url_link_clicks"] > 0 for p in with_url)


def test_same_seed_and_now_build_an_identical_world() -> None:
    first = build_world(seed=7, now=NOW, settings=SandboxSettings())
    second = build_world(seed=7, now=NOW, settings=SandboxSettings())
    other = build_world(seed=8, now=NOW, settings=SandboxSettings())
    assert first == second
    assert first.posts != other.posts


def test_settings_size_the_world() -> None:
    small = build_world(seed=1, now=NOW, settings=SandboxSettings(accounts=6, demo_posts=30))
    assert len(small.users) == 6
    assert len(small.demo_posts) == 30
    with pytest.raises(ValueError):
        SandboxSettings(accounts=2)
