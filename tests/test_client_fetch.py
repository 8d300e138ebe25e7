"""The client against the sandbox over real HTTP: the fetch plan, statuses, ground truth.

Every value is compared with the sandbox's world (its ground truth), and every call count
with its request log.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from xmetrics_core.catalogue import Group
from xmetrics_core.client import XClient
from xmetrics_core.credentials import BearerCredential, Credential, OAuth1Credential
from xmetrics_core.models import PostStatus
from xmetrics_core.references import parse_references, snowflake_time, within_private_window
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.transport import RequestsTransport

WITH_PRIVATE = {PostStatus.OK, PostStatus.NOT_PROMOTED}


@pytest.fixture
def clean(sandbox: Any) -> Iterator[Any]:
    """The session sandbox with no faults and an empty request log, before and after."""
    sandbox.faults.clear()
    sandbox.request_log.clear()
    yield sandbox
    sandbox.faults.clear()
    sandbox.request_log.clear()


def demo_oauth1(sandbox: Any) -> OAuth1Credential:
    demo = sandbox.demo
    return OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )


def client_for(sandbox: Any, credential: Credential, **overrides: Any) -> XClient:
    settings: dict[str, Any] = {
        "credential": credential,
        "base_url": sandbox.base_url,
        "clock": sandbox.clock.now,
        "retry": RetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
    }
    return XClient(**(settings | overrides))


def url_forms(post_id: str, username: str, rng: random.Random) -> str:
    forms: list[Callable[[], str]] = [
        lambda: post_id,
        lambda: f"https://x.com/{username}/status/{post_id}",
        lambda: f"https://twitter.com/{username}/status/{post_id}?s=20",
        lambda: f"mobile.twitter.com/{username}/status/{post_id}/photo/1",
        lambda: f"https://x.com/i/web/status/{post_id}#top",
        lambda: f"https://twitter.com/statuses/{post_id}",
    ]
    return rng.choice(forms)()


def mixed_paste(sandbox: Any, *, tokens: int = 250) -> tuple[str, list[str], int, int]:
    """Every world Post and deleted ID once (as IDs or URL forms), then duplicates and invalid
    tokens up to ``tokens``; returns (text, unique valid IDs in order, invalid count)."""
    world = sandbox.world
    rng = random.Random(20261126)
    users = {u.id: u.username for u in world.users}
    unique = [p.id for p in world.posts] + list(world.deleted_ids)
    rng.shuffle(unique)
    items = [
        url_forms(i, users.get(getattr(world.post(i), "author_id", ""), "gone"), rng)
        for i in unique
    ]
    invalid = [
        "hello",
        "0123",
        "https://example.com/a/status/1",
        "١٢٣",
        "x.com/jack",
        "99999999999999999999",
    ]
    room = tokens - len(items)
    assert room > len(invalid), "the sandbox world is larger than the paste"
    extra = [*invalid * 2][: room // 3]
    duplicates = [url_forms(i, "dup", rng) for i in rng.sample(unique, room - len(extra))]
    for token in extra + duplicates:
        items.insert(rng.randrange(len(items) // 2, len(items) + 1), token)
    separators = ["\n", ", ", " ", "\t", ";", "\r\n"]
    text = "".join(token + rng.choice(separators) for token in items)
    return text, unique, len(extra), len(items)


def expected_owner_groups(post: Any) -> dict[str, dict[str, int]]:
    return {name: dict(values) for name, values in post.metrics.items()}


def as_plain(groups: Any) -> dict[str, dict[str, int | None]]:
    return {name: dict(values) for name, values in groups.items()}


def test_mixed_paste_of_250_yields_one_status_per_id_matching_ground_truth(clean: Any) -> None:
    sandbox = clean
    world = sandbox.world
    text, unique, invalid_count, token_count = mixed_paste(sandbox)
    assert token_count == 250
    parsed = parse_references(text)
    assert len(parsed.refs) == len(unique) < 250 - invalid_count
    assert set(parsed.ids) == set(unique)
    assert len(parsed.invalid) == invalid_count

    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        me = client.get_me()
        assert me.id == world.demo_user_id
        sandbox.request_log.clear()
        seen_progress: list[tuple[int, int]] = []
        result = client.fetch_posts(
            parsed, me=me, progress=lambda d, t: seen_progress.append((d, t))
        )

    # exactly one status per unique valid ID, in paste order, then the invalid tokens
    assert [s.id for s in result.statuses[: len(parsed.refs)]] == list(parsed.ids)
    assert [s.status for s in result.statuses[len(parsed.refs) :]] == [PostStatus.INVALID] * len(
        parsed.invalid
    )
    assert [s.id for s in result.statuses[len(parsed.refs) :]] == [t.text for t in parsed.invalid]

    now = sandbox.clock.now()
    hidden_users = {world.protected_user_id, world.suspended_user_id}
    for status in result.statuses[: len(parsed.refs)]:
        post = world.post(status.id)
        if post is None:
            assert status.status is PostStatus.NOT_FOUND, status
            continue
        if post.author_id in hidden_users:
            assert status.status is PostStatus.NOT_AUTHORIZED, status
            continue
        owned = post.author_id == world.demo_user_id
        recent = post.within_private_window(now)
        if owned and recent:
            expected = PostStatus.OK if post.promoted else PostStatus.NOT_PROMOTED
        elif not owned:
            expected = PostStatus.PUBLIC_ONLY_NOT_OWNER
        else:
            expected = PostStatus.PUBLIC_ONLY_TOO_OLD
        assert status.status is expected, (status, post.created_at)

    records = {p.id: p for p in result.posts}
    assert set(records) == {s.id for s in result.statuses if s.status.has_metrics}
    for status in result.statuses:
        if not status.status.has_metrics:
            continue
        post = world.post(status.id)
        record = records[status.id]
        assert record.author_id == post.author_id and record.text == post.text
        assert record.created_at == post.created_at.replace(microsecond=0)
        assert record.media_keys == post.media_keys
        if status.status in WITH_PRIVATE:
            assert as_plain(record.metrics) == expected_owner_groups(post)
        else:
            assert as_plain(record.metrics) == {"public_metrics": dict(post.public_metrics)}

    # media: deduplicated by key; owner-served videos carry every group, others public only
    private_posts = {s.id for s in result.statuses if s.status in WITH_PRIVATE}
    keys = [m.media_key for m in result.media]
    assert len(keys) == len(set(keys))
    assert set(keys) == {k for p in result.posts for k in p.media_keys}
    assert any(m.type == "video" for m in result.media)
    for media in result.media:
        truth = world.media_item(media.media_key)
        assert media.type == truth.type and media.duration_ms == truth.duration_ms
        assert set(media.post_ids) == {
            p.id for p in result.posts if media.media_key in p.media_keys
        }
        if private_posts & set(media.post_ids):
            assert as_plain(media.metrics) == {k: dict(v) for k, v in truth.metrics.items()}
        else:
            public = truth.metrics.get("public_metrics")
            assert as_plain(media.metrics) == ({"public_metrics": dict(public)} if public else {})
    shared = [m for m in result.media if len(m.post_ids) > 1]
    assert shared, "the sandbox's shared video should come back once, with both Posts"

    # the plan: R private-eligible IDs, O the rest, F refused only by field authorization
    recent_ids = [r.id for r in parsed.refs if within_private_window(r.created_at, now)]
    older_count = len(parsed.refs) - len(recent_ids)
    refused = [
        i
        for i in recent_ids
        if (post := world.post(i)) is not None
        and post.author_id not in hidden_users
        and post.author_id != world.demo_user_id
    ]
    expected_calls = math.ceil(len(recent_ids) / 100) + math.ceil(
        (older_count + len(refused)) / 100
    )
    lookups = sandbox.request_log.entries(path="/2/tweets")
    assert len(lookups) == expected_calls == result.api_calls
    assert expected_calls <= math.ceil(len(parsed.refs) / 100) + 1
    assert all(len(e.params["ids"].split(",")) <= 100 for e in lookups)
    private_calls = [e for e in lookups if "organic_metrics" in e.params["tweet.fields"]]
    assert len(private_calls) == math.ceil(len(recent_ids) / 100)
    assert all(e.params["expansions"] == "attachments.media_keys" for e in lookups)
    assert seen_progress[-1] == (expected_calls, expected_calls)
    assert result.retries == 0
    assert result.rate_limit.limit is not None and result.rate_limit.remaining is not None


def test_bearer_token_fetches_public_metrics_only(clean: Any) -> None:
    sandbox = clean
    world = sandbox.world
    posts = [
        p
        for p in world.posts
        if p.author_id not in {world.protected_user_id, world.suspended_user_id}
    ][:120]
    with client_for(sandbox, BearerCredential(token=sandbox.demo.bearer_token)) as client:
        result = client.fetch_posts([p.id for p in posts])
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    for record, post in zip(result.posts, posts, strict=True):
        assert as_plain(record.metrics) == {"public_metrics": dict(post.public_metrics)}
    assert result.groups == (Group.PUBLIC,)
    lookups = sandbox.request_log.entries(path="/2/tweets")
    assert len(lookups) == 2 == result.api_calls
    assert all(e.auth == "bearer" for e in lookups)
    assert sandbox.request_log.count(path="/2/users/me") == 0


def test_another_account_sees_its_own_private_metrics(clean: Any) -> None:
    sandbox = clean
    world = sandbox.world
    account = sandbox.accounts[1]
    credential = OAuth1Credential(
        consumer_key=sandbox.demo.consumer_key,
        consumer_secret=sandbox.demo.consumer_secret,
        access_token=account.access_token,
        access_token_secret=account.access_token_secret,
    )
    mine = world.posts_by(account.user_id)
    demo_recent = [p for p in world.demo_posts if p.within_private_window(sandbox.clock.now())][:3]
    with client_for(sandbox, credential) as client:
        result = client.fetch_posts([p.id for p in (*mine, *demo_recent)])
    now = sandbox.clock.now()
    for post in mine:
        status = result.status_of(post.id)
        assert status is not None
        if post.within_private_window(now):
            assert status.status in WITH_PRIVATE
        else:
            assert status.status is PostStatus.PUBLIC_ONLY_TOO_OLD
    for post in demo_recent:
        assert result.status_of(post.id).status is PostStatus.PUBLIC_ONLY_NOT_OWNER  # type: ignore[union-attr]
    assert sandbox.request_log.count(path="/2/users/me") == 1


def test_only_public_requested_means_one_public_pass(clean: Any) -> None:
    sandbox = clean
    ids = [p.id for p in sandbox.world.demo_posts[:30]]
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = client.fetch_posts(ids, groups=[Group.PUBLIC])
    assert {s.status for s in result.statuses} == {PostStatus.OK}
    assert all(set(p.metrics) == {"public_metrics"} for p in result.posts)
    assert sandbox.request_log.count(path="/2/tweets") == 1
    assert sandbox.request_log.count(path="/2/users/me") == 0  # ownership is moot


def test_never_promoted_posts_answered_empty_are_refetched_without_promoted(
    sandbox_factory: Any,
) -> None:
    from xmetrics_core.sandbox import SandboxSettings

    sandbox = sandbox_factory(settings=SandboxSettings(unpromoted_promoted_metrics="empty"))
    now = sandbox.clock.now()
    recent = [p for p in sandbox.world.demo_posts if p.within_private_window(now)]
    unpromoted = [p for p in recent if not p.promoted]
    assert unpromoted and len(unpromoted) < len(recent)
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        result = client.fetch_posts([p.id for p in recent])
    for post in recent:
        status = result.status_of(post.id)
        assert status is not None
        assert status.status is (PostStatus.OK if post.promoted else PostStatus.NOT_PROMOTED)
    by_id = {p.id: p for p in result.posts}
    for post in unpromoted:
        assert as_plain(by_id[post.id].metrics) == expected_owner_groups(post)
    lookups = sandbox.request_log.entries(path="/2/tweets")
    assert len(lookups) == 2
    assert "promoted_metrics" not in lookups[1].params["tweet.fields"]


def test_recent_posts_walks_every_timeline_page(clean: Any) -> None:
    sandbox = clean
    world = sandbox.world
    with client_for(sandbox, demo_oauth1(sandbox)) as client:
        posts = client.recent_posts(world.demo_user_id, page_size=10)
    now = sandbox.clock.now()
    expected = [p for p in world.demo_posts if now - p.created_at <= _days(30)]
    assert [p.id for p in posts] == [p.id for p in expected]
    assert all(set(p.metrics) == {"public_metrics"} for p in posts)
    assert [p.text for p in posts] == [p.text for p in expected]
    pages = sandbox.request_log.entries(path=f"/2/users/{world.demo_user_id}/tweets")
    assert len(pages) == math.ceil(len(expected) / 10) >= 3
    assert "pagination_token" not in pages[0].params
    assert all("pagination_token" in p.params for p in pages[1:])


def test_snowflake_time_agrees_with_the_sandbox(sandbox: Any) -> None:
    for post in sandbox.world.posts[:50]:
        created = snowflake_time(post.id)
        assert created is not None
        assert abs((created - post.created_at).total_seconds()) < 0.001


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


def test_sessions_of_ended_calling_threads_are_released(clean: Any) -> None:
    import threading

    sandbox = clean
    user_id = sandbox.world.demo_user_id
    with client_for(sandbox, BearerCredential(token=sandbox.demo.bearer_token)) as client:
        for _ in range(5):  # a new calling thread per call, like Streamlit's reruns
            caller = threading.Thread(target=client.recent_posts, args=(user_id,))
            caller.start()
            caller.join(timeout=10)
        client.recent_posts(user_id)
        transport = client.api.transport
        assert isinstance(transport, RequestsTransport)
        assert transport.session_threads() == [threading.current_thread()]
    assert sandbox.request_log.count(path=f"/2/users/{user_id}/tweets") == 6
