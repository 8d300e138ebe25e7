"""XClient over a scripted transport (no sockets): the fetch runs the plan's batches, sends
``/2/users/me`` alongside them, counts every call and loses no ID. The same paths over real
HTTP against the sandbox are in ``test_client_fetch.py`` and ``test_client_faults.py``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fake_x import FakePost, FakeX, json_answer

from xmetrics_core.catalogue import Group
from xmetrics_core.client import XClient, XUser
from xmetrics_core.credentials import BearerCredential, OAuth1Credential
from xmetrics_core.defaults import USER_AGENT
from xmetrics_core.errors import ConfigurationError, Unauthorized
from xmetrics_core.fetchplan import lookup_call_count
from xmetrics_core.models import PostStatus
from xmetrics_core.references import TWITTER_EPOCH_MS
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.transport import HttpRequest, HttpResponse

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ME = "42"
USER = OAuth1Credential(
    consumer_key="ck", consumer_secret="cs", access_token="at", access_token_secret="as"
)


def snowflake(created: datetime, sequence: int) -> str:
    return str(((int(created.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) + sequence)


def world(count: int, *, others_every: int = 4, days_ago: float = 1.0) -> dict[str, FakePost]:
    created = NOW - timedelta(days=days_ago)
    posts = {}
    for n in range(count):
        post_id = snowflake(created, n)
        author = "7" if n % others_every == others_every - 1 else ME
        posts[post_id] = FakePost(id=post_id, author_id=author, promoted=n % 2 == 0)
    return posts


def client_for(x: FakeX, credential: Any = USER, **overrides: Any) -> XClient:
    settings: dict[str, Any] = {
        "credential": credential,
        "transport": x,
        "clock": lambda: NOW,
        "retry": RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0),
    }
    return XClient(**(settings | overrides))


def test_a_mixed_paste_costs_exactly_the_planned_calls_and_every_id_gets_its_status() -> None:
    posts = world(1000)
    x = FakeX(posts=posts)
    progress: list[tuple[int, int]] = []
    with client_for(x) as client:
        result = client.fetch_posts(list(posts), progress=lambda d, t: progress.append((d, t)))
    lookups = lookup_call_count(private=1000, other=0, refused=250)
    assert lookups == 13
    assert x.paths().count("/2/tweets") == lookups
    assert x.paths().count("/2/users/me") == 1
    assert result.api_calls == lookups + 1 and result.retries == 0
    assert progress[-1] == (lookups, lookups)
    assert [s.id for s in result.statuses] == list(posts)
    for status in result.statuses:
        post = posts[status.id]
        if post.author_id != ME:
            assert status.status is PostStatus.PUBLIC_ONLY_NOT_OWNER
        else:
            expected = PostStatus.OK if post.promoted else PostStatus.NOT_PROMOTED
            assert status.status is expected
    refused = {i for i, p in posts.items() if p.author_id != ME}
    fallback_ids = [
        i
        for params in x.lookups()
        if params["tweet.fields"].endswith("attachments,public_metrics")
        for i in params["ids"].split(",")
    ]
    assert sorted(fallback_ids) == sorted(refused)


def test_users_me_is_sent_first_and_overlaps_the_batches() -> None:
    posts = world(300)
    x = FakeX(posts=posts)
    batch_arrived = threading.Event()
    overlapped: list[bool] = []

    def me_waits_for_a_batch(request: HttpRequest) -> HttpResponse | None:
        if request.url.endswith("/2/users/me"):
            overlapped.append(batch_arrived.wait(timeout=10))
        else:
            batch_arrived.set()
        return None  # then answer as X would

    x.answers.append(me_waits_for_a_batch)
    with client_for(x, max_workers=4) as client:
        result = client.fetch_posts(list(posts))
    assert x.paths()[0] == "/2/users/me"
    assert overlapped == [True], "a batch was sent while /2/users/me was still open"
    assert result.api_calls == 5  # me + 3 private + 1 fallback of 75


def test_a_given_account_skips_users_me() -> None:
    posts = world(10)
    x = FakeX(posts=posts)
    with client_for(x) as client:
        result = client.fetch_posts(list(posts), me=XUser(id=ME, username="me", name="Me"))
    assert "/2/users/me" not in x.paths()
    assert result.api_calls == 2


def test_app_only_tokens_ask_public_metrics_once_and_never_users_me() -> None:
    posts = world(150)
    x = FakeX(posts=posts)
    with client_for(x, BearerCredential(token="b")) as client:
        result = client.fetch_posts(list(posts))
    assert x.paths() == ["/2/tweets", "/2/tweets"]
    assert {s.status for s in result.statuses} == {PostStatus.PUBLIC_ONLY_APP_ONLY}
    assert result.groups == (Group.PUBLIC,)


def test_when_users_me_fails_the_fetch_goes_on_and_says_ownership_is_unknown() -> None:
    posts = world(4, others_every=2)
    x = FakeX(posts=posts, me_id="not-the-author")
    x.answers.extend(
        [lambda r: json_answer(503, {"title": "Busy"}) if r.url.endswith("/me") else None] * 4
    )
    with client_for(x) as client:
        result = client.fetch_posts(list(posts))
    refused = [s for s in result.statuses if s.status is PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED]
    assert refused and all("ownership unknown" in s.detail for s in refused)


def test_a_refused_credential_stops_the_fetch() -> None:
    posts = world(250)
    x = FakeX(posts=posts)
    x.answers.extend([lambda _r: json_answer(401, {"title": "Unauthorized"})] * 10)
    with client_for(x, BearerCredential(token="revoked")) as client, pytest.raises(Unauthorized):
        client.fetch_posts(list(posts))


def test_invalid_tokens_and_duplicates_end_as_statuses_without_a_request() -> None:
    x = FakeX()
    with client_for(x) as client:
        result = client.fetch_posts(["hello", "0123"])
    assert x.requests == []
    assert [(s.id, s.status) for s in result.statuses] == [
        ("hello", PostStatus.INVALID),
        ("0123", PostStatus.INVALID),
    ]


def test_get_json_is_the_public_request_path_for_other_endpoints() -> None:
    x = FakeX()
    x.answers.append(
        lambda r: (
            json_answer(200, {"data": {"project_usage": "7"}}, {"x-rate-limit-remaining": "9"})
            if urlsplit(r.url).path == "/2/usage/tweets"
            else None
        )
    )
    with client_for(x) as client:
        assert client.get_json("/2/usage/tweets", {"days": "1"}) == {"data": {"project_usage": "7"}}
        assert client.rate_limit.remaining == 9
    (request,) = x.requests
    assert request.params == {"days": "1"} and request.auth is not None


def test_client_refuses_plain_http_to_another_host() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        XClient(credential=BearerCredential(token="t"), base_url="http://api.x.com")


def test_client_repr_and_user_agent_hide_nothing_secret() -> None:
    client = XClient(credential=BearerCredential(token="sekrit"))
    assert "sekrit" not in repr(client)
    assert USER_AGENT.startswith("xmetrics/")
    client.close()


def test_the_progress_callback_runs_on_the_calling_thread() -> None:
    posts = world(300)
    x = FakeX(posts=posts)
    threads: set[threading.Thread] = set()
    with client_for(x) as client:
        client.fetch_posts(
            list(posts), progress=lambda _d, _t: threads.add(threading.current_thread())
        )
    assert threads == {threading.current_thread()}
