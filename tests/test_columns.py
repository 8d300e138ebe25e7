"""Columns: a parsed answer kept as columns gives the same records, results and frames as the
record parser's result of the same answers (sandbox answers over real HTTP, and edge cases)."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import orjson
import pandas as pd
import pytest
from record_parser import merge_media, posts_from_json

from xmetrics_core.client import XClient
from xmetrics_core.columns import MediaRecords, PostRecords, StatusRecords
from xmetrics_core.credentials import BearerCredential, Credential, OAuth1Credential
from xmetrics_core.frames import all_frames, statuses_frame
from xmetrics_core.models import FetchResult, IdStatus, PostStatus
from xmetrics_core.parsing import result_from_json, result_from_pages
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.transport import HttpRequest, HttpResponse, RequestsTransport

Page = dict[str, Any]


def record_result(pages: Sequence[Page]) -> FetchResult:
    """The same answers through the record parser: every Post a PostRecord, media merged."""
    items = [
        item
        for page in pages
        for item in page.get("data") or ()
        if isinstance(item, dict) and "id" in item
    ]
    media = [
        m
        for page in pages
        if isinstance(page.get("includes"), dict)
        for m in page["includes"].get("media") or ()
        if isinstance(m, dict)
    ]
    posts = posts_from_json(items)
    return FetchResult(
        posts=tuple(posts),
        media=merge_media(media, posts),
        statuses=tuple(
            IdStatus(id=p.id, status=PostStatus.OK, source=p.id, position=n)
            for n, p in enumerate(posts)
        ),
    )


def assert_same_as_records(pages: Sequence[Page]) -> FetchResult:
    """The columnar result of ``pages`` equals the record parser's: records, result, pickle
    round trip and every frame (``assert_frame_equal``)."""
    columnar = result_from_pages(pages)
    assert isinstance(columnar.posts, PostRecords) and isinstance(columnar.media, MediaRecords)
    records = record_result(pages)
    assert tuple(columnar.posts) == records.posts
    assert tuple(columnar.media) == records.media
    assert columnar == records and records == columnar
    assert result_from_json([orjson.dumps(page) for page in pages]) == records
    restored = pickle.loads(pickle.dumps(columnar))
    assert isinstance(restored.posts, PostRecords) and restored == records
    expected = all_frames(records)
    for built in (all_frames(columnar), all_frames(restored)):
        assert list(built) == list(expected)
        for name, frame in expected.items():
            pd.testing.assert_frame_equal(built[name], frame, obj=name)
    return columnar


class RecordingTransport:
    """The real transport, keeping the body of every ``GET /2/tweets`` answer it passes on."""

    def __init__(self) -> None:
        self._inner = RequestsTransport()
        self._lock = threading.Lock()
        self.lookups: list[bytes] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        answer = self._inner.send(request)
        if request.where == "GET /2/tweets" and answer.status == 200:
            with self._lock:
                self.lookups.append(answer.body)
        return answer

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def clean(sandbox: Any) -> Iterator[Any]:
    sandbox.faults.clear()
    sandbox.request_log.clear()
    yield sandbox
    sandbox.faults.clear()
    sandbox.request_log.clear()


def sandbox_answers(sandbox: Any, credential: Credential) -> list[Page]:
    """The raw lookup answers the client gets for every world Post and deleted ID."""
    ids = [p.id for p in sandbox.world.posts] + list(sandbox.world.deleted_ids)
    recording = RecordingTransport()
    with XClient(
        credential=credential,
        base_url=sandbox.base_url,
        clock=sandbox.clock.now,
        retry=RetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
        transport=recording,
    ) as client:
        client.fetch_posts(ids)
    return [orjson.loads(body) for body in recording.lookups]


def test_sandbox_answers_with_every_group_give_the_record_parsers_frames(clean: Any) -> None:
    demo = clean.demo
    pages = sandbox_answers(
        clean,
        OAuth1Credential(
            consumer_key=demo.consumer_key,
            consumer_secret=demo.consumer_secret,
            access_token=demo.access_token,
            access_token_secret=demo.access_token_secret,
        ),
    )
    assert any("errors" in page for page in pages)  # deleted IDs: partial errors
    assert any("organic_metrics" in item for page in pages for item in page.get("data", ()))
    result = assert_same_as_records(pages)
    assert len(result.media) > 0


def test_sandbox_public_only_answers_give_the_record_parsers_frames(clean: Any) -> None:
    pages = sandbox_answers(clean, BearerCredential(token=clean.demo.bearer_token))
    assert not any("non_public_metrics" in i for page in pages for i in page.get("data", ()))
    assert_same_as_records(pages)


VIDEO_GROUPS: Page = {
    "public_metrics": {"view_count": 50},
    "non_public_metrics": {f"playback_{q}_count": 40 - q // 5 for q in (0, 25, 50, 75, 100)},
}


def test_missing_sub_keys_nulls_and_garbled_counts_stay_missing_alike() -> None:
    pages: list[Page] = [
        {
            "data": [
                {"id": "1", "public_metrics": {"like_count": 3}},  # sub-keys left out
                {"id": "2", "public_metrics": {"like_count": None, "reply_count": 4.5}},
                {"id": "3", "public_metrics": {"like_count": "7", "quote_count": 2}},
                {"id": "4", "public_metrics": [1, 2], "organic_metrics": None},
                {"id": 5, "text": 12, "author_id": 42, "created_at": "2026-11-30T10:00:00+02:00"},
                {"id": "6", "created_at": "garbled", "public_metrics": {"new_count": 9}},
            ]
        }
    ]
    result = assert_same_as_records(pages)
    second = result.posts[1]
    assert dict(second.metrics["public_metrics"]) == {"like_count": None, "reply_count": None}
    assert dict(result.posts[0].metrics["public_metrics"]) == {"like_count": 3}
    assert dict(result.posts[5].metrics["public_metrics"]) == {"new_count": 9}


def test_public_only_posts_without_media_beside_owned_ones() -> None:
    owned = {
        "public_metrics": {"like_count": 4, "retweet_count": 1, "quote_count": 0},
        "non_public_metrics": {"impression_count": 90, "engagements": 7},
        "organic_metrics": {"impression_count": 90, "like_count": 4, "retweet_count": 1},
    }
    pages: list[Page] = [
        {
            "data": [
                {"id": "10", "text": "mine", "author_id": "1", **owned},
                {"id": "11", "text": "theirs", "public_metrics": {"like_count": 8}},
                {"id": "12", "text": "no metrics at all"},
            ]
        },
        {"data": [], "errors": [{"value": "13", "title": "Not Found Error"}]},
        {"errors": [{"title": "Not Found Error"}]},
    ]
    result = assert_same_as_records(pages)
    assert [p.id for p in result.posts] == ["10", "11", "12"] and len(result.media) == 0


def test_media_shared_by_two_posts_and_sent_by_two_answers_is_one_merged_row() -> None:
    pages: list[Page] = [
        {
            "data": [
                {"id": "20", "attachments": {"media_keys": ["7_1", "3_9"]}},
                {"id": "21", "attachments": {"media_keys": ["7_1"]}},
            ],
            "includes": {
                "media": [
                    {"media_key": "3_9", "type": "photo", "url": "https://pbs.twimg.com/x.jpg"},
                    {"media_key": "7_1", "type": "video", "duration_ms": 1500, **VIDEO_GROUPS},
                    {"type": "video"},  # no key: skipped
                ]
            },
        },
        {
            "data": [
                {"id": "22", "attachments": {"media_keys": ["7_1"]}},
                {"id": "21", "attachments": {"media_keys": ["7_1", "7_1"]}},  # again, twice
            ],
            "includes": {
                "media": [
                    {
                        "media_key": "7_1",
                        "type": None,
                        "duration_ms": "long",
                        "public_metrics": {"view_count": 60},
                        "organic_metrics": {"playback_0_count": 30, "view_count": 20},
                    },
                    {"media_key": "16_4", "type": "animated_gif"},  # named by no Post
                ]
            },
        },
    ]
    result = assert_same_as_records(pages)
    video = result.media[0]
    assert (video.media_key, video.post_ids) == ("7_1", ("20", "21", "22", "21", "21"))
    assert all_frames(result)["media"]["post_ids"].iloc[0] == "20 21 22"
    assert video.duration_ms is None and video.type == "video"
    assert dict(video.metrics["public_metrics"]) == {"view_count": 60}
    assert [m.media_key for m in result.media] == ["7_1", "3_9", "16_4"]


def test_an_empty_answer_gives_empty_frames_with_their_schema() -> None:
    assert_same_as_records([])
    assert_same_as_records([{"data": []}])


def test_records_are_built_on_access_and_read_like_a_tuple() -> None:
    pages: list[Page] = [
        {"data": [{"id": str(i), "public_metrics": {"like_count": i}} for i in range(5)]}
    ]
    result = result_from_pages(pages)
    posts = result.posts
    assert len(posts) == 5 and posts[-1].id == "4" and [p.id for p in posts[1:3]] == ["1", "2"]
    assert posts[2] == posts[2] and posts[2] is not posts[2]  # built anew, nothing cached
    assert posts == tuple(posts) and posts != tuple(posts)[:4]
    with pytest.raises(AttributeError):
        posts.columns = None  # type: ignore[misc]
    with pytest.raises(IndexError):
        posts[5]


def test_statuses_are_columns_that_read_like_the_tuple_of_their_statuses() -> None:
    statuses = result_from_pages(
        [{"data": [{"id": str(i), "public_metrics": {"like_count": i}} for i in range(3)]}]
    ).statuses
    assert isinstance(statuses, StatusRecords)
    as_tuple = tuple(
        IdStatus(id=str(i), status=PostStatus.OK, source=str(i), position=i) for i in range(3)
    )
    assert statuses == as_tuple and as_tuple == statuses and statuses != as_tuple[:2]
    assert statuses[-1] == as_tuple[-1] and statuses[:2] == as_tuple[:2]
    restored = pickle.loads(pickle.dumps(statuses))
    assert isinstance(restored, StatusRecords) and restored == as_tuple
    pd.testing.assert_frame_equal(
        statuses_frame(FetchResult(statuses=statuses)),
        statuses_frame(FetchResult(statuses=as_tuple)),
    )


def test_a_fetch_through_the_client_keeps_the_answers_as_columns_with_the_record_frames(
    clean: Any,
) -> None:
    """The request path's own result (fetch plan, public-only fallbacks for others' Posts):
    its Posts and media are views over the answers' columns, equal to the records the record
    parser reads from the same answers, and every frame equals the one built from those
    records."""
    demo = clean.demo
    ids = [p.id for p in clean.world.posts] + list(clean.world.deleted_ids)
    recording = RecordingTransport()
    with XClient(
        credential=OAuth1Credential(
            consumer_key=demo.consumer_key,
            consumer_secret=demo.consumer_secret,
            access_token=demo.access_token,
            access_token_secret=demo.access_token_secret,
        ),
        base_url=clean.base_url,
        clock=clean.clock.now,
        retry=RetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
        transport=recording,
    ) as client:
        fetched = client.fetch_posts(ids)
    assert isinstance(fetched.posts, PostRecords) and isinstance(fetched.media, MediaRecords)
    statuses = {s.status for s in fetched.statuses}
    assert {PostStatus.OK, PostStatus.PUBLIC_ONLY_NOT_OWNER, PostStatus.NOT_FOUND} <= statuses
    assert len(fetched.media) > 0

    pages = [orjson.loads(body) for body in recording.lookups]
    parsed = {
        p.id: p
        for p in posts_from_json(
            [i for page in pages for i in page.get("data") or () if isinstance(i, dict)]
        )
    }
    posts = tuple(parsed[s.id] for s in fetched.statuses if s.id in parsed)
    media_json = [m for page in pages for m in (page.get("includes") or {}).get("media") or ()]
    media = merge_media(media_json, posts)
    assert tuple(fetched.posts) == posts
    assert tuple(fetched.media) == media
    records = replace(fetched, posts=posts, media=media)
    assert fetched == records
    expected = all_frames(records)
    built = all_frames(fetched)
    assert list(built) == list(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(built[name], frame, obj=name)
