"""Enterprise analytics through the one request path: the parser's tolerance (pure), then the
client against the sandbox over real HTTP in both tiers, on its clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.analytics_helpers import (
    START,
    SandboxFactory,
    analytics_requests,
    client_for,
    demo_oauth1,
    demo_videos,
    growing_demo_post,
    oauth2_token,
    start,
)
from xmetrics_core.access import (
    NOT_ENROLLED_EXPLANATION,
    USER_CONTEXT_EXPLANATION,
    AccessMemory,
    AnalyticsAccess,
)
from xmetrics_core.analytics import (
    AnalyticsSettings,
    AnalyticsStatusKind,
    coerce_count,
    detect_analytics_access,
    media_analytics,
    owned_posts,
    parse_analytics,
    post_analytics,
    resolve_span,
    time_windows,
)
from xmetrics_core.analytics_frames import media_analytics_frame, post_analytics_frame
from xmetrics_core.credentials import BearerCredential
from xmetrics_core.errors import Forbidden, ForbiddenReason, InputError
from xmetrics_core.models import FrozenGroups, PostRecord

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


# -- parsing (pure) ---------------------------------------------------------------------------


def parse(body: dict[str, Any], key_name: str = "id") -> Any:
    return parse_analytics(body, key_name=key_name, window_start=T0)


def test_numeric_strings_are_coerced_and_null_stays_missing() -> None:
    parsed = parse(
        {
            "data": [
                {
                    "id": "1",
                    "timestamped_metrics": [
                        {
                            "timestamp": "2026-12-01T06:00:00Z",
                            "metrics": {"impressions": "123", "likes": None, "shares": 4},
                        }
                    ],
                }
            ]
        }
    )
    values = {p.metric: p.value for p in parsed.points}
    assert values == {"impressions": 123, "likes": None, "shares": 4}
    assert "a null count was kept as missing" in parsed.notes


def test_a_metric_x_left_out_has_no_row_at_all_never_zero() -> None:
    parsed = parse(
        {
            "data": [
                {
                    "id": "1",
                    "timestamped_metrics": [
                        {"timestamp": "2026-12-01T06:00:00Z", "metrics": {"impressions": 5}}
                    ],
                }
            ]
        }  # fmt: skip
    )
    assert [p.metric for p in parsed.points] == ["impressions"]


def test_data_as_an_object_or_nested_in_data_is_read_like_a_list() -> None:
    item = {
        "id": "7",
        "timestamped_metrics": [
            {"timestamp": "2026-12-01T06:00:00.000Z", "metrics": {"impressions": 9}}
        ],
    }
    for body in ({"data": item}, {"data": {"data": [item]}}, {"data": [item]}):
        parsed = parse(body)
        assert [(p.key, p.metric, p.value) for p in parsed.points] == [("7", "impressions", 9)]
        assert parsed.answered == ("7",)


def test_unknown_metric_names_are_kept_and_identifiers_are_not_metrics() -> None:
    parsed = parse(
        {
            "data": [
                {
                    "id": "1",
                    "timestamped_metrics": [
                        {
                            "timestamp": "2026-12-01T06:00:00Z",
                            "metrics": {
                                "id": "1",
                                "timestamp": "x",
                                "link_clicks": 3,
                                "profile_visits": "2",
                            },
                        }
                    ],
                }
            ]
        }
    )
    assert {p.metric: p.value for p in parsed.points} == {"link_clicks": 3, "profile_visits": 2}


def test_a_flat_bucket_and_a_total_without_timestamp_are_understood() -> None:
    flat = parse({"data": [{"id": "1", "timestamped_metrics": [{"timestamp": "2026-12-01T07:00:00+00:00", "impressions": 4}]}]})  # fmt: skip
    assert [(p.timestamp.hour, p.value) for p in flat.points] == [(7, 4)]
    total = parse({"data": [{"id": "1", "timestamped_metrics": [{"metrics": {"impressions": 8}}]}]})
    assert [(p.timestamp, p.value) for p in total.points] == [(T0, 8)]
    two = parse(
        {
            "data": [
                {"id": "1", "timestamped_metrics": [{"metrics": {"a": 1}}, {"metrics": {"a": 2}}]}
            ]
        }
    )
    assert two.points == () and any("timestamp" in n for n in two.notes)


def test_partial_errors_are_kept_per_id() -> None:
    error = {
        "value": "99",
        "type": "https://api.twitter.com/2/problems/resource-not-found",
        "detail": "Could not find tweet with ids: [99].",
    }
    parsed = parse({"errors": [error, "junk", {"title": "no value"}]})
    assert parsed.points == () and dict(parsed.errors) == {"99": error}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, 5),
        ("12", 12),
        (" 7 ", 7),
        ("12.0", 12),
        (3.0, 3),
        (3.5, None),
        ("1.5", None),
        ("n/a", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        ([1], None),
    ],
)
def test_coerce_count(raw: object, expected: int | None) -> None:
    assert coerce_count(raw) == expected


def test_time_windows_never_exceed_the_span_setting() -> None:
    since = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    until = since + timedelta(days=60, hours=3)
    windows = time_windows(since, until, timedelta(days=28))
    assert len(windows) == 3
    assert windows[0][0] == since and windows[-1][1] == until
    assert all(b - a <= timedelta(days=28) for a, b in windows)
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))


def test_the_default_span_starts_at_the_posts_creation_hour_and_at_most_30_days_back() -> None:
    now = datetime(2026, 12, 1, 9, 30, 15, 123, tzinfo=UTC)
    young = datetime(2026, 11, 30, 22, 40, tzinfo=UTC)
    since, until = resolve_span(since=None, until=None, now=now, created=[young])
    assert until == now.replace(microsecond=0)
    assert since == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    old = datetime(2026, 1, 1, tzinfo=UTC)
    since, _ = resolve_span(since=None, until=None, now=now, created=[young, old])
    assert since == now.replace(microsecond=0) - timedelta(days=30)
    with pytest.raises(InputError, match="must be before"):
        resolve_span(since=now, until=now - timedelta(hours=1), now=now)


# -- over real HTTP -----------------------------------------------------------------------------


def test_hourly_buckets_of_an_owned_post_sum_to_the_change_of_its_lookup_counts(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory)
    post = growing_demo_post(sandbox)
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        t0 = sandbox.clock.now()
        before = client.fetch_posts([post.id]).posts[0].metrics["public_metrics"]
        # world time only: advance() would also age the OAuth 1.0a timestamps X checks
        sandbox.clock.set(t0 + timedelta(hours=6, minutes=17))
        t1 = sandbox.clock.now()
        after = client.fetch_posts([post.id]).posts[0].metrics["public_metrics"]
        result = post_analytics(client.api, [post.id], since=t0, memory=AccessMemory())
    assert result.access is AnalyticsAccess.AVAILABLE and result.until == t1
    assert [s.status for s in result.statuses] == [AnalyticsStatusKind.OK]
    frame = post_analytics_frame(result)

    def total(metric: str) -> int:
        return int(frame.loc[frame["metric"] == metric, "value"].sum())

    impressions = after["impression_count"] - before["impression_count"]
    assert impressions > 0
    assert total("impressions") == impressions
    assert total("likes") - total("unlikes") == after["like_count"] - before["like_count"]
    assert total("retweets") == after["retweet_count"] - before["retweet_count"]
    curve = frame.loc[frame["metric"] == "impressions"]
    assert curve["timestamp"].tolist() == [
        datetime(2026, 12, 1, hour, tzinfo=UTC) for hour in range(9, 16)
    ]
    assert curve["cumulative"].iloc[-1] == impressions
    assert curve["cumulative"].is_monotonic_increasing
    assert (curve["hours_since_posting"] > 0).all()


def test_a_pay_per_use_app_is_told_why_and_asked_only_once(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    post = growing_demo_post(sandbox)
    memory = AccessMemory()
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        results = [post_analytics(client.api, [post.id], memory=memory) for _ in range(3)]
        video = media_analytics(client.api, [demo_videos(sandbox)[0].media_key], memory=memory)
    for result in (*results, video):
        assert result.access is AnalyticsAccess.NOT_ENROLLED and not result.available
        assert result.explanation == NOT_ENROLLED_EXPLANATION
        assert {s.status for s in result.statuses} == {AnalyticsStatusKind.UNAVAILABLE}
        assert result.points == ()
    refused = analytics_requests(sandbox)
    assert [e.status for e in refused] == [403]
    assert analytics_requests(sandbox, "/2/media/analytics") == []
    assert [r.api_calls for r in results] == [1, 0, 0]


def test_access_is_remembered_per_fingerprint_and_asked_again_when_forgotten(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    credential = demo_oauth1(sandbox)
    memory = AccessMemory()
    with client_for(sandbox, credential) as client:
        assert detect_analytics_access(client.api, memory=memory) is AnalyticsAccess.NOT_ENROLLED
        assert detect_analytics_access(client.api, memory=memory) is AnalyticsAccess.NOT_ENROLLED
        assert memory.get(credential.fingerprint) is AnalyticsAccess.NOT_ENROLLED
        sandbox.set_tier("enterprise")
        memory.forget(credential.fingerprint)
        assert detect_analytics_access(client.api, memory=memory) is AnalyticsAccess.AVAILABLE
        result = post_analytics(client.api, [growing_demo_post(sandbox).id], memory=memory)
    assert result.available
    assert [e.status for e in analytics_requests(sandbox)] == [403, 200, 200]


def test_an_app_only_token_is_never_sent_and_says_so(sandbox_factory: SandboxFactory) -> None:
    sandbox = start(sandbox_factory)
    with client_for(sandbox, BearerCredential(token=sandbox.demo.bearer_token)) as client:
        result = post_analytics(client.api, [growing_demo_post(sandbox).id], memory=AccessMemory())
        assert detect_analytics_access(client.api) is AnalyticsAccess.USER_CONTEXT_REQUIRED
    assert result.access is AnalyticsAccess.USER_CONTEXT_REQUIRED
    assert result.explanation == USER_CONTEXT_EXPLANATION
    assert analytics_requests(sandbox) == []


def test_a_token_without_tweet_read_gets_the_scope_explanation_not_a_tier_verdict(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    credential = oauth2_token(sandbox, ("users.read", "offline.access"))
    memory = AccessMemory()
    with client_for(sandbox, credential) as client, pytest.raises(Forbidden) as caught:
        post_analytics(client.api, [growing_demo_post(sandbox).id], memory=memory)
    assert caught.value.reason is ForbiddenReason.SCOPE
    assert "reconnect and allow reading Posts" in caught.value.message
    assert "tweet.read" in caught.value.message and credential.access_token not in str(caught.value)
    assert memory.get(credential.fingerprint) is AnalyticsAccess.UNKNOWN


def test_ids_are_batched_by_100_and_every_id_gets_a_status(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory)
    world = sandbox.world
    own = [p.id for p in world.demo_posts if p.created_at < START][-10:]
    others = [p.id for p in world.posts if p.author_id != world.demo_user_id][:95]
    missing = list(world.deleted_ids[:2])
    ids = [*own, *others, *missing]
    assert len(ids) > 100
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = post_analytics(
            client.api,
            [*ids, "not-an-id"],
            since=START - timedelta(hours=6),
            granularity="total",
            metrics=["impressions"],
            memory=AccessMemory(),
        )
    sent = analytics_requests(sandbox)
    assert [len(e.params["ids"].split(",")) for e in sent] == [100, len(ids) - 100]
    kinds = {s.key: s.status for s in result.statuses}
    assert list(kinds) == [*ids, "not-an-id"]
    assert {kinds[i] for i in own} == {AnalyticsStatusKind.OK}
    assert {kinds[i] for i in others} == {AnalyticsStatusKind.NOT_AUTHORIZED}
    assert {kinds[i] for i in missing} == {AnalyticsStatusKind.NOT_FOUND}
    assert kinds["not-an-id"] is AnalyticsStatusKind.INVALID
    assert {p.key for p in result.points} <= set(own)


def test_a_long_span_is_split_into_windows_the_api_accepts_and_joined_again(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory)
    world = sandbox.world
    old = min(world.demo_posts, key=lambda p: p.created_at)
    since = START - timedelta(days=40)
    assert old.created_at < since
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        daily = post_analytics(
            client.api, [old.id], since=since, granularity="daily", memory=AccessMemory()
        )
        total = post_analytics(
            client.api, [old.id], since=since, granularity="total", memory=AccessMemory()
        )
    sent = analytics_requests(sandbox)
    assert len(sent) == 4  # two windows each
    for entry in sent:
        begin = datetime.fromisoformat(entry.params["start_time"])
        end = datetime.fromisoformat(entry.params["end_time"])
        assert timedelta(0) < end - begin <= timedelta(days=28)
    truth = (
        world.metrics_at(old.id, START)["public_metrics"]["impression_count"]
        - world.metrics_at(old.id, since)["public_metrics"]["impression_count"]
    )
    frame = post_analytics_frame(daily)
    impressions = frame.loc[frame["metric"] == "impressions"]
    assert not impressions["timestamp"].duplicated().any()  # the day cut in two is one bucket
    assert int(impressions["value"].sum()) == truth
    assert [(p.timestamp, p.value) for p in total.points if p.metric == "impressions"] == [
        (since, truth)
    ]


def test_the_span_setting_decides_the_window_size(sandbox_factory: SandboxFactory) -> None:
    sandbox = start(sandbox_factory)
    post = growing_demo_post(sandbox, older_than=timedelta(days=3))
    settings = AnalyticsSettings(max_span=timedelta(days=1))
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = post_analytics(
            client.api,
            [post.id],
            since=START - timedelta(days=2, hours=12),
            metrics=["impressions"],
            memory=AccessMemory(),
            settings=settings,
        )
    assert len(analytics_requests(sandbox)) == 3
    assert result.statuses[0].status is AnalyticsStatusKind.OK
    hours = [p.timestamp for p in result.points]
    assert hours == sorted(set(hours)) and len(hours) == 61  # 2.5 days of hours, 09:00 cut twice


def test_credits_exhausted_stop_the_requests_and_say_add_credits(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory, credits=0)
    post = growing_demo_post(sandbox)
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = post_analytics(
            client.api, [post.id], since=START - timedelta(days=40), memory=AccessMemory()
        )
    assert [e.status for e in analytics_requests(sandbox)] == [402]
    assert "add credits" in result.stopped and "CreditsDepleted" in result.stopped
    assert result.statuses[0].status is AnalyticsStatusKind.FAILED
    assert "add credits" in result.statuses[0].detail


def test_video_buckets_sum_to_the_growth_of_the_views_and_carry_watch_time(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory)
    world = sandbox.world
    video = next(v for v in demo_videos(sandbox) if v.appears_at < START - timedelta(days=1))
    since = START - timedelta(days=1)
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = media_analytics(
            client.api, [video.media_key, "bogus"], since=since, memory=AccessMemory()
        )
    frame = media_analytics_frame(result)
    by_metric = frame.groupby("metric")["value"].sum()
    before, after = (
        world.media_metrics_at(video.media_key, since),
        world.media_metrics_at(video.media_key, START),
    )
    assert by_metric["video_views"] == (
        after["public_metrics"]["view_count"] - before["public_metrics"]["view_count"]
    )
    assert by_metric["playback_start"] == (
        after["non_public_metrics"]["playback_0_count"]
        - before["non_public_metrics"]["playback_0_count"]
    )
    assert by_metric["watch_time_ms"] > 0
    assert [s.status for s in result.statuses] == [
        AnalyticsStatusKind.OK,
        AnalyticsStatusKind.INVALID,
    ]
    with pytest.raises(InputError, match="granularity"):
        media_analytics(client.api, [video.media_key], granularity="weekly")


def test_buckets_follow_the_clock_as_time_passes_for_an_oauth2_sign_in(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory)
    post = growing_demo_post(sandbox, older_than=timedelta(hours=1))
    credential = oauth2_token(sandbox, ("tweet.read", "users.read", "offline.access"))
    with client_for(sandbox, credential) as client:
        t0 = sandbox.clock.now()
        first = post_analytics(client.api, [post.id], since=t0 - timedelta(hours=1))
        sandbox.clock.advance(95 * 60)  # world and protocol time: the token is still valid
        second = post_analytics(client.api, [post.id], since=t0 - timedelta(hours=1))
    world = sandbox.world

    def impressions(result: Any) -> int:
        return sum(p.value or 0 for p in result.points if p.metric == "impressions")

    def truth(at: datetime) -> int:
        return int(world.metrics_at(post.id, at)["public_metrics"]["impression_count"])

    base = truth(t0 - timedelta(hours=1))
    assert impressions(first) == truth(t0) - base
    assert impressions(second) == truth(t0 + timedelta(minutes=95)) - base > impressions(first)
    assert len(analytics_requests(sandbox)) == 2  # one request per call, no separate probe


def test_an_unknown_metric_name_is_refused_once_and_every_id_says_why(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory)
    posts = [p.id for p in sandbox.world.demo_posts if p.created_at < START][-2:]
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = post_analytics(
            client.api,
            posts,
            since=START - timedelta(days=40),
            metrics=["impressions", "vibes"],
            memory=AccessMemory(),
            settings=AnalyticsSettings(batch_size=1),
        )
    assert [e.status for e in analytics_requests(sandbox)] == [400]
    assert "vibes" in result.stopped
    assert [s.status for s in result.statuses] == [AnalyticsStatusKind.FAILED] * 2
    assert all("vibes" in s.detail for s in result.statuses)


def test_hourly_curves_are_asked_for_the_authors_own_posts_most_impressions_first() -> None:
    def post(post_id: str, author: str, impressions: int | None) -> PostRecord:
        groups = {"public_metrics": {"impression_count": impressions}} if impressions else {}
        return PostRecord(id=post_id, author_id=author, metrics=FrozenGroups(groups))

    posts = [
        post("1", "me", 10),
        post("2", "other", 999),
        post("3", "me", 500),
        post("4", "me", None),
    ]
    assert owned_posts(posts, user_id="me") == ("3", "1", "4")
    assert owned_posts(posts, user_id="me", limit=1) == ("3",)
    assert owned_posts(posts, user_id=None) == ()
