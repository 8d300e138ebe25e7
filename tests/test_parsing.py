"""Parsing X's JSON into records: missing stays missing, garbled values become None, media
merged by key, raw pages as a result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from shared_paths import shared_folder

from xmetrics_core.catalogue import ALL_GROUPS, Group, Level, fields_of
from xmetrics_core.columns import MediaRecords, PostRecords
from xmetrics_core.models import PostStatus
from xmetrics_core.parsing import (
    decode_lookup,
    lookup_answer,
    media_of_answers,
    parse_created_at,
    post_from_json,
    posts_from_json,
    result_from_pages,
    typed_lookup,
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


# -- raw answers: the typed decoder for X's usual answer, the general parse for the rest -----

_RECORDINGS = shared_folder("x-api") / "recordings"


def _usual_answer() -> dict[str, Any]:
    """An answer as X sends a lookup with every group: two Posts with every group (one with
    a video; the other without a link, so X leaves ``url_link_clicks`` out), one public-only,
    an error for a fourth ID."""
    post_groups = {g.value: dict.fromkeys(fields_of(Level.POST, g), 5) for g in ALL_GROUPS}
    media_groups = {g.value: dict.fromkeys(fields_of(Level.MEDIA, g), 9) for g in ALL_GROUPS}
    return {
        "data": [
            {
                "id": "10",
                "text": "a video 🍿",
                "author_id": "42",
                "created_at": "2026-11-30T10:00:00.000Z",
                "edit_history_tweet_ids": ["10"],
                "attachments": {"media_keys": ["13_1"]},
                **post_groups,
            },
            {
                "id": "11",
                "text": "own",
                "author_id": "42",
                **{
                    key: {k: v for k, v in group.items() if k != "url_link_clicks"}
                    for key, group in post_groups.items()
                },
            },
            {
                "id": "12",
                "text": "not ours",
                "author_id": "7",
                "public_metrics": post_groups["public_metrics"],
            },
        ],
        "includes": {
            "media": [
                {"media_key": "13_1", "type": "video", "duration_ms": 8000, **media_groups},
                {"media_key": "3_9", "type": "photo", "url": "https://pbs.twimg.com/x.jpg"},
            ],
            "users": [{"id": "42", "username": "demo"}],
        },
        "errors": [
            {"resource_id": "13", "type": "https://api.twitter.com/2/problems/resource-not-found"}
        ],
    }


def _assert_same_columns(raw: bytes) -> None:
    """``decode_lookup`` of the bytes reads like the general parse of the decoded JSON."""
    decoded = decode_lookup(raw)
    general = lookup_answer(orjson.loads(raw))
    assert decoded is not None
    for answer in (decoded, general):
        assert isinstance(answer.columns.posts.groups[0].values, np.ndarray)
    assert list(PostRecords(decoded.columns.posts)) == list(PostRecords(general.columns.posts))
    merged = [
        list(MediaRecords(media_of_answers([a.columns.media], a.columns.posts)))
        for a in (decoded, general)
    ]
    assert merged[0] == merged[1]
    assert decoded.errors == general.errors


def test_the_usual_answer_takes_the_typed_decoder_and_reads_like_the_general_parse() -> None:
    raw = orjson.dumps(_usual_answer())
    typed = typed_lookup(raw, shared={})
    assert typed is not None
    posts = list(PostRecords(typed.columns.posts))
    assert [p.id for p in posts] == ["10", "11", "12"]
    assert posts[0].media_keys == ("13_1",) and posts[0].created_at is not None
    assert posts[1].value(Group.NON_PUBLIC, "impression_count") == 5
    assert "url_link_clicks" not in posts[1].metrics["non_public_metrics"]
    assert posts[2].metrics.get("non_public_metrics") is None
    _assert_same_columns(raw)


def _with(change: Any) -> bytes:
    answer = _usual_answer()
    change(answer)
    return orjson.dumps(answer)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda a: a["data"][0]["public_metrics"].update(new_count=1), id="new-key"),
        pytest.param(lambda a: a["data"][1]["organic_metrics"].update(like_count="3"), id="text"),
        pytest.param(lambda a: a["data"][1]["organic_metrics"].update(like_count=4.5), id="float"),
        pytest.param(lambda a: a["data"][1]["organic_metrics"].update(like_count=True), id="bool"),
        pytest.param(lambda a: a["data"][1]["organic_metrics"].update(like_count=2**63), id="huge"),
        pytest.param(lambda a: a["data"][0].update(id=10), id="int-id"),
        pytest.param(lambda a: a["data"][0].update(text=None), id="null-text"),
        pytest.param(lambda a: a["data"][0].update(author_id=42), id="int-author"),
        pytest.param(lambda a: a["data"].append("junk"), id="junk-post"),
        pytest.param(lambda a: a["data"][0].pop("id"), id="no-id"),
        pytest.param(lambda a: a["includes"]["media"][0].pop("media_key"), id="no-media-key"),
        pytest.param(lambda a: a["includes"]["media"][0].update(duration_ms="8s"), id="duration"),
        pytest.param(lambda a: a["includes"]["media"][1].update(url=3), id="media-url"),
        pytest.param(lambda a: a["data"][0]["attachments"].update(media_keys=[3]), id="int-key"),
        pytest.param(lambda a: a.update(data={"id": "10"}), id="data-object"),
    ],
)
def test_answers_outside_the_usual_shape_take_the_general_parse(change: Any) -> None:
    raw = _with(change)
    assert typed_lookup(raw, shared={}) is None
    _assert_same_columns(raw)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda a: a["data"][0]["public_metrics"].update(like_count=None), id="null"),
        pytest.param(lambda a: a["data"][0]["public_metrics"].pop("like_count"), id="left-out"),
        pytest.param(lambda a: a["data"][0].update(created_at="yesterday"), id="garbled-time"),
        pytest.param(
            lambda a: a["data"][0].update(created_at="2026-11-30T12:00:00+02:00"), id="offset"
        ),
        pytest.param(lambda a: a["data"][0].pop("attachments"), id="no-attachments"),
        pytest.param(lambda a: a["includes"]["media"][0].pop("type"), id="no-media-type"),
        pytest.param(lambda a: a.pop("includes"), id="no-includes"),
        pytest.param(lambda a: a.update(data=None, errors=[1, {"title": "x"}]), id="no-data"),
    ],
)
def test_usual_variations_stay_on_the_typed_decoder_and_read_alike(change: Any) -> None:
    raw = _with(change)
    assert typed_lookup(raw, shared={}) is not None
    _assert_same_columns(raw)


@pytest.mark.parametrize("raw", [b"", b"[]", b"<html>", b'{"data": [', b"null"])
def test_a_body_that_is_not_a_json_object_decodes_to_none(raw: bytes) -> None:
    assert decode_lookup(raw) is None


def _recorded_answers() -> list[bytes]:
    """Every recorded answer with Posts (tweepy's cassettes, twarc-csv's lines)."""
    answers: list[Any] = []
    for path in sorted(_RECORDINGS.glob("tweepy/*.decoded.json")):
        interactions = orjson.loads(path.read_bytes())["interactions"]
        answers.extend(i["body"] for i in interactions if isinstance(i.get("body"), dict))
    for path in sorted(_RECORDINGS.glob("twarc-csv/*.json*")):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            answers.extend(orjson.loads(line) for line in text.splitlines() if line.strip())
        else:
            answers.append(orjson.loads(text))
    return [orjson.dumps(a) for a in answers if isinstance(a, dict) and "data" in a]


def test_recorded_answers_read_alike_through_either_path() -> None:
    if not _RECORDINGS.is_dir():
        pytest.skip(f"the recordings are not beside the repository ({_RECORDINGS})")
    answers = _recorded_answers()
    assert len(answers) >= 10
    for raw in answers:
        _assert_same_columns(raw)
