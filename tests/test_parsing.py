"""Parsing X's JSON into records: missing stays missing, garbled values become None, media
merged by key, raw pages as a result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from xmetrics_core.catalogue import Group
from xmetrics_core.models import PostStatus
from xmetrics_core.parsing import (
    parse_created_at,
    post_from_json,
    posts_from_json,
    result_from_pages,
)


def test_post_parsing_keeps_missing_sub_keys_missing() -> None:
    record = post_from_json(
        {
            "id": "1558553189766631429",
            "text": "hi",
            "author_id": "42",
            "created_at": "2022-08-13T20:36:51.000Z",
            "attachments": {"media_keys": ["7_1"]},
            "public_metrics": {"like_count": 3},
            "non_public_metrics": {"impression_count": 7, "user_profile_clicks": 0},
        }
    )
    assert record.created_at == datetime(2022, 8, 13, 20, 36, 51, tzinfo=UTC)
    assert record.media_keys == ("7_1",)
    assert record.value(Group.NON_PUBLIC, "url_link_clicks") is None
    assert record.value(Group.NON_PUBLIC, "user_profile_clicks") == 0
    assert parse_created_at("garbage") is None


def test_created_at_in_another_offset_is_told_in_utc() -> None:
    assert parse_created_at("2022-08-13T22:36:51+02:00") == datetime(
        2022, 8, 13, 20, 36, 51, tzinfo=UTC
    )
    assert parse_created_at(None) is None
    parsed = parse_created_at("2022-08-13T20:36:51.000Z")
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo in (UTC, UTC)


def test_garbled_metric_values_become_missing_and_the_rest_of_the_page_stays_intact() -> None:
    good = {"id": "1", "public_metrics": {"like_count": 3, "reply_count": None}}
    garbled = {"id": "2", "public_metrics": {"like_count": "3", "reply_count": 4.5}}
    not_a_group = {"id": "3", "public_metrics": [1, 2], "organic_metrics": None}
    first, second, third = posts_from_json([good, garbled, not_a_group])
    assert dict(first.metrics["public_metrics"]) == {"like_count": 3, "reply_count": None}
    assert dict(second.metrics["public_metrics"]) == {"like_count": None, "reply_count": None}
    assert dict(third.metrics) == {}


def test_parsed_records_do_not_change_when_the_raw_json_does() -> None:
    likes = {"like_count": 3}
    keys = ["7_1"]
    item = {"id": "1", "public_metrics": likes, "attachments": {"media_keys": keys}}
    record = post_from_json(item)
    likes["like_count"] = 99
    keys.append("7_2")
    assert record.value(Group.PUBLIC, "like_count") == 3
    assert record.media_keys == ("7_1",)
    with pytest.raises(TypeError):
        record.metrics["public_metrics"]["like_count"] = 5  # type: ignore[index]


def test_media_sent_twice_is_merged_and_lists_every_carrying_post_in_post_order() -> None:
    result = result_from_pages(
        [
            {
                "data": [
                    {"id": "1", "attachments": {"media_keys": ["7_b"]}},
                    {"id": "2", "attachments": {"media_keys": ["7_a", "7_b"]}},
                ],
                "includes": {
                    "media": [
                        {"media_key": "7_a", "type": "photo"},
                        {"media_key": "7_b", "type": "video", "public_metrics": {"view_count": 5}},
                        {"media_key": "7_z", "type": "video", "duration_ms": 1000},
                    ]
                },
            },
            {  # the same key again in a later answer (one copy per batch)
                "includes": {
                    "media": [
                        {
                            "media_key": "7_b",
                            "type": None,
                            "duration_ms": 2000,
                            "organic_metrics": {"view_count": 4},
                            "public_metrics": {"view_count": 6},
                        },
                        {"type": "video"},
                    ]
                }
            },
        ]
    )
    media = result.media
    assert [m.media_key for m in media] == ["7_b", "7_a", "7_z"]
    shared = media[0]
    assert shared.type == "video" and shared.duration_ms == 2000
    assert shared.post_ids == ("1", "2")
    assert {g: dict(v) for g, v in shared.metrics.items()} == {
        "public_metrics": {"view_count": 6},
        "organic_metrics": {"view_count": 4},
    }
    assert media[2].post_ids == ()


def test_raw_pages_become_a_result_with_every_post_ok_in_page_order() -> None:
    pages: list[dict[str, Any]] = [
        {
            "data": [{"id": "10", "attachments": {"media_keys": ["3_1"]}}, "junk", {"no": "id"}],
            "includes": {"media": [{"media_key": "3_1", "type": "video"}]},
        },
        {"data": [{"id": "11", "public_metrics": {"like_count": 1}}]},
        {"errors": [{"title": "Not Found Error"}]},
    ]
    result = result_from_pages(pages, groups=(Group.PUBLIC,))
    assert [p.id for p in result.posts] == ["10", "11"]
    assert [(s.id, s.status, s.position) for s in result.statuses] == [
        ("10", PostStatus.OK, 0),
        ("11", PostStatus.OK, 1),
    ]
    assert [(m.media_key, m.post_ids) for m in result.media] == [("3_1", ("10",))]
    assert result.groups == (Group.PUBLIC,)


def test_raw_answers_parse_like_their_decoded_pages() -> None:
    import json

    from xmetrics_core.parsing import result_from_json

    pages: list[dict[str, Any]] = [
        {
            "data": [
                {
                    "id": "10",
                    "attachments": {"media_keys": ["3_1"]},
                    "public_metrics": {"like_count": 2},
                }
            ],
            "includes": {"media": [{"media_key": "3_1", "type": "video"}]},
        },
        {"data": [{"id": "11", "public_metrics": {"like_count": "1"}}]},
    ]
    raw = [json.dumps(page).encode() for page in pages] + [b"[]"]
    assert result_from_json(raw, groups=(Group.PUBLIC,)) == result_from_pages(
        pages, groups=(Group.PUBLIC,)
    )
