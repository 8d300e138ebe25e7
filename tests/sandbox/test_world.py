"""The seeded world: consistency of every metric, snowflake times, determinism, content, and
how it lives in time (growth curves, stable IDs, new Posts, metrics as a pure function)."""

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
ANCHOR = datetime(2026, 11, 26, tzinfo=UTC)
SPLIT = (
    "impression_count",
    "like_count",
    "reply_count",
    "retweet_count",
    "url_link_clicks",
    "user_profile_clicks",
)
FROM_PUBLIC = ("like_count", "reply_count", "retweet_count")
DAY = timedelta(days=1)
#: Moments at which every invariant is checked: the world's own time, its first hour, weeks on.
MOMENTS = (NOW, ANCHOR + timedelta(minutes=30), NOW + timedelta(days=3), NOW + timedelta(days=40))


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, now=NOW, settings=SandboxSettings())


def total_of(post: Post, field: str) -> int:
    group = post.public_metrics if field in FROM_PUBLIC else post.non_public_metrics
    return group.get(field, 0)


def base_demo_posts(world: World) -> list[Post]:
    return [p for p in world.base_posts if p.author_id == world.demo_user_id]


def test_account_and_post_counts(world: World) -> None:
    assert len(world.users) == 24
    assert len(base_demo_posts(world)) == 60
    # two new Posts since midnight (one about every four hours), newest first on the timeline
    assert len(world.demo_posts) == 62
    assert [p.created_at >= ANCHOR for p in world.demo_posts[:3]] == [True, True, False]
    assert world.users[0].id == world.demo_user_id
    for user in world.users[1:]:
        assert 5 <= len(world.posts_by(user.id)) <= 8
    flags = {u.id: (u.protected, u.suspended) for u in world.users}
    assert flags[world.protected_user_id] == (True, False)
    assert flags[world.suspended_user_id] == (False, True)
    assert sum(p or s for p, s in flags.values()) == 2


def test_demo_posts_span_45_days_across_the_private_window(world: World) -> None:
    ages = [ANCHOR - p.created_at for p in base_demo_posts(world)]
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


@pytest.mark.parametrize("moment", MOMENTS)
def test_total_equals_organic_plus_promoted_everywhere_at_every_moment(
    world: World, moment: datetime
) -> None:
    for post in world.posts_at(moment):
        groups = post.metrics_at(moment)
        public, non_public = groups["public_metrics"], groups["non_public_metrics"]
        assert public["impression_count"] == non_public["impression_count"]
        organic, promoted = groups["organic_metrics"], groups.get("promoted_metrics", {})
        for field in SPLIT:
            total = (public if field in FROM_PUBLIC else non_public).get(field, 0)
            assert total == organic.get(field, 0) + promoted.get(field, 0), (post.id, field)
        assert "quote_count" not in organic
        assert set(organic) <= set(SPLIT)
        assert ("promoted_metrics" in groups) is post.promoted


def test_some_posts_promoted_and_unpromoted_have_no_promoted_group(world: World) -> None:
    promoted = [p for p in world.demo_posts if p.promoted]
    assert 15 <= len(promoted) <= 25
    for post in world.demo_posts:
        assert ("promoted_metrics" in post.metrics) is post.promoted


@pytest.mark.parametrize("moment", MOMENTS)
def test_video_metrics_aggregate_and_add_up_at_every_moment(world: World, moment: datetime) -> None:
    videos = [m for m in world.media_at(moment) if m.type == "video"]
    assert videos
    for video in videos:
        groups = video.metrics_at(moment)
        public, organic = groups["public_metrics"], groups["organic_metrics"]
        non_public, promoted = groups["non_public_metrics"], groups.get("promoted_metrics", {})
        assert public["view_count"] == organic["view_count"] + promoted.get("view_count", 0)
        for q in QUARTILES:
            key = f"playback_{q}_count"
            assert non_public[key] == organic[key] + promoted.get(key, 0)
        carriers = [world.post(i, at=moment) for i in video.post_ids]
        assert all(c is not None and video.media_key in c.media_keys for c in carriers)
        assert ("promoted_metrics" in groups) == any(c.promoted for c in carriers if c)


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


def test_one_demo_post_has_zero_impressions_at_every_moment(world: World) -> None:
    zero = [p for p in world.demo_posts if p.public_metrics["impression_count"] == 0]
    assert len(zero) == 1
    assert zero[0].created_at == ANCHOR - timedelta(minutes=3)
    for days in (1, 10, 100):
        assert zero[0].metrics_at(NOW + timedelta(days=days))["public_metrics"] == {
            "retweet_count": 0,
            "reply_count": 0,
            "like_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 0,
        }


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
    with_url = [p for p in omitting.demo_posts if p.url is not None and NOW - p.created_at > DAY]
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
    assert len(base_demo_posts(small)) == 30
    with pytest.raises(ValueError):
        SandboxSettings(accounts=2)


# -- time -----------------------------------------------------------------------------------------


def test_same_utc_day_gives_the_same_world_whenever_it_is_built() -> None:
    """IDs a user pasted keep working after a restart the same day: the world is anchored to
    the start of the UTC day, and a later start only sees the Posts posted since."""
    early = build_world(seed=7, now=ANCHOR + timedelta(minutes=5), settings=SandboxSettings())
    late = build_world(seed=7, now=ANCHOR + timedelta(hours=23), settings=SandboxSettings())
    assert early == late
    late_ids = [p.id for p in late.demo_posts]
    assert len(late_ids) > len(early.demo_posts)
    assert late_ids[-len(early.demo_posts) :] == [p.id for p in early.demo_posts]
    assert [p.id for p in late.posts_by(late.demo_user_id, at=early.now)] == [
        p.id for p in early.demo_posts
    ]
    next_day = build_world(seed=7, now=ANCHOR + timedelta(days=1), settings=SandboxSettings())
    assert not {p.id for p in next_day.base_posts} & {p.id for p in early.base_posts}


def test_the_demo_account_posts_every_few_hours() -> None:
    world = build_world(seed=7, now=ANCHOR, settings=SandboxSettings())
    week = ANCHOR + timedelta(days=7)
    new = [p for p in world.posts_by(world.demo_user_id, at=week) if p.created_at >= ANCHOR]
    assert 40 <= len(new) <= 43  # one per four hours
    gaps = [a.created_at - b.created_at for a, b in zip(new, new[1:], strict=False)]
    assert all(timedelta(hours=1) < gap < timedelta(hours=7) for gap in gaps)
    assert any(p.promoted for p in new) and any(p.media_keys for p in new)
    video_key = next(k for p in new for k in p.media_keys if k.startswith("7_"))
    assert world.media_item(video_key, at=week) is not None
    assert world.media_item(video_key, at=ANCHOR) is None
    for post in new:
        assert snowflake_datetime(post.id) == post.created_at
        assert world.post(post.id, at=week) == post
        assert world.post(post.id, at=post.created_at - timedelta(seconds=1)) is None


def test_metrics_are_a_pure_function_of_post_and_time() -> None:
    moment = NOW + timedelta(days=2, hours=5, minutes=7)
    one = build_world(seed=7, now=NOW, settings=SandboxSettings())
    other = build_world(seed=7, now=NOW + timedelta(hours=9), settings=SandboxSettings())
    for post in one.posts_at(moment)[::7]:
        assert one.metrics_at(post.id, moment) == other.metrics_at(post.id, moment)
        assert one.analytics_totals_at(post.id, moment) == other.analytics_totals_at(
            post.id, moment
        )
    assert one.metrics_at(one.deleted_ids[0], moment) is None


def test_a_world_on_a_clock_reads_its_time_from_the_clock() -> None:
    moments = [NOW]
    world = build_world(seed=7, now=NOW, settings=SandboxSettings(), clock=lambda: moments[-1])
    post = world.demo_posts[5]
    before = post.public_metrics["impression_count"]
    moments.append(NOW + timedelta(days=1))
    assert world.now == moments[-1]
    assert post.public_metrics == post.metrics_at(moments[-1])["public_metrics"]
    assert post.public_metrics["impression_count"] > before


def impressions(post: Post, age: timedelta) -> int:
    return post.metrics_at(post.created_at + age)["public_metrics"]["impression_count"]


def test_impressions_come_mostly_in_the_first_two_days_then_a_long_tail(world: World) -> None:
    shares = []
    for post in world.base_posts:
        final = impressions(post, timedelta(days=365))
        if final < 1000:
            continue
        shares.append((impressions(post, 2 * DAY) / final, impressions(post, 10 * DAY) / final))
        assert impressions(post, timedelta(0)) == 0
        hourly = [impressions(post, timedelta(hours=h)) for h in range(72)]
        assert hourly == sorted(hourly), "impressions never drop"
    two_days = sorted(s for s, _ in shares)[len(shares) // 2]
    ten_days = sorted(s for _, s in shares)[len(shares) // 2]
    assert 0.7 <= two_days <= 0.95  # most in the first day or two...
    assert two_days < ten_days < 1.0  # ...then a long tail


def test_promoted_counts_follow_their_own_campaign(world: World) -> None:
    promoted = [p for p in world.base_posts if p.promoted]
    for post in promoted:
        campaign = post.growth
        start = timedelta(hours=campaign.campaign_delay_hours)
        end = start + timedelta(days=campaign.campaign_days)
        paid = post.metrics_at(post.created_at + start - timedelta(minutes=1))["promoted_metrics"]
        assert paid["impression_count"] == 0
        organic = post.metrics_at(post.created_at + start)["organic_metrics"]
        assert organic["impression_count"] > 0 or campaign.organic.impression_count < 100
        after = post.metrics_at(post.created_at + end + DAY)["promoted_metrics"]
        later = post.metrics_at(post.created_at + end + 20 * DAY)["promoted_metrics"]
        assert after == later, "a finished campaign delivers nothing more"


def test_a_few_like_counts_drop_a_little_as_people_unlike(world: World) -> None:
    dipped = 0
    for post in world.base_posts:
        likes = [
            post.metrics_at(post.created_at + timedelta(hours=h))["public_metrics"]["like_count"]
            for h in range(0, 24 * 20, 6)
        ]
        peaks = [max(likes[: i + 1]) for i in range(len(likes))]
        drops = [peak - value for peak, value in zip(peaks, likes, strict=True) if value < peak]
        if drops:
            dipped += 1
            assert max(drops) <= 0.07 * max(likes) + 1, "only a little"
        quotes = [
            post.metrics_at(post.created_at + timedelta(hours=h))["public_metrics"]["quote_count"]
            for h in range(0, 24 * 20, 6)
        ]
        assert quotes == sorted(quotes)
    assert 10 <= dipped <= len(world.base_posts) // 2


def test_video_views_and_quartiles_grow_with_the_posts(world: World) -> None:
    for video in (m for m in world.base_media if m.type == "video"):
        series = [
            video.metrics_at(video.appears_at + timedelta(hours=h))["non_public_metrics"]
            for h in (0, 2, 12, 48, 400)
        ]
        views = [
            video.metrics_at(video.appears_at + timedelta(hours=h))["public_metrics"]["view_count"]
            for h in (0, 2, 12, 48, 400)
        ]
        assert views == sorted(views) and views[0] == 0 and views[-1] > 0
        for q in QUARTILES:
            key = f"playback_{q}_count"
            assert [s[key] for s in series] == sorted(s[key] for s in series)


def test_analytics_totals_agree_with_the_lookup_metrics(world: World) -> None:
    for moment in MOMENTS:
        for post in world.posts_at(moment)[::5]:
            totals = post.analytics_totals_at(moment)
            public = post.metrics_at(moment)["public_metrics"]
            assert totals["impressions"] == public["impression_count"]
            assert totals["likes"] - totals["unlikes"] == public["like_count"]
            assert totals["retweets"] == public["retweet_count"]
            assert totals["replies"] == public["reply_count"]
            assert totals["quote_tweets"] == public["quote_count"]
            assert totals["bookmarks"] == public["bookmark_count"]
            assert totals["engagements"] >= totals["likes"] + totals["retweets"]


def test_referenced_edited_and_long_posts_are_in_the_demo(world: World) -> None:
    demo = base_demo_posts(world)
    quoted = [p.quoted_id for p in demo if p.quoted_id is not None]
    assert len(quoted) == 4
    authors = [found.author_id for q in quoted if (found := world.post(q)) is not None]
    assert len(authors) == 3 and len(set(authors)) == 3
    assert {world.demo_user_id, world.protected_user_id} <= set(authors)
    assert any(q in world.deleted_ids for q in quoted)
    edited = [p for p in demo if len(p.edit_history_tweet_ids) == 2]
    assert len(edited) == 2
    for post in edited:
        earlier = post.edit_history_tweet_ids[0]
        assert post.edit_history_tweet_ids[-1] == post.id
        assert snowflake_datetime(earlier) < post.created_at
        assert world.post(earlier) is None  # earlier versions are not served
    long = [p for p in demo if p.note_text is not None]
    assert len(long) == 2
    for post in long:
        assert len(post.note_text or "") > 280 >= len(post.text)
        assert post.text.endswith("…")
