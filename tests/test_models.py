"""The shared values: records are immutable, keep X's groups verbatim, and compare by value."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from xmetrics_core.catalogue import Group
from xmetrics_core.models import (
    FrozenGroups,
    MediaRecord,
    PostRecord,
    checked_media,
    checked_post,
    group_column,
)

GROUPS: dict[str, dict[str, int | None]] = {
    "public_metrics": {"like_count": 3, "reply_count": None},
    "organic_metrics": {"like_count": 2},
    "future_metrics": {"sparkles": 9},  # a group the catalogue does not know yet
}


def test_a_record_keeps_x_groups_verbatim_and_missing_stays_missing() -> None:
    record = PostRecord(id="1", metrics=GROUPS)
    assert record.metrics == GROUPS
    assert set(record.metrics) == set(GROUPS) and len(record.metrics) == 3
    assert record.value(Group.PUBLIC, "like_count") == 3
    assert record.value(Group.PUBLIC, "reply_count") is None  # X sent null
    assert record.value(Group.PUBLIC, "quote_count") is None  # X left it out
    assert record.value(Group.PROMOTED, "like_count") is None  # no such group
    assert "promoted_metrics" not in record.metrics and "organic_metrics" in record.metrics
    assert dict(record.metrics["future_metrics"]) == {"sparkles": 9}
    with pytest.raises(KeyError):
        record.metrics["promoted_metrics"]


def test_an_empty_group_is_present_and_an_absent_one_is_not() -> None:
    groups = FrozenGroups({"non_public_metrics": {}})
    assert "non_public_metrics" in groups and dict(groups["non_public_metrics"]) == {}
    assert list(FrozenGroups()) == [] and FrozenGroups() == {}


def test_nothing_reachable_from_a_record_changes_it() -> None:
    source = copy.deepcopy(GROUPS)
    record = PostRecord(id="1", metrics=source)
    source["public_metrics"]["like_count"] = 99
    source["promoted_metrics"] = {"like_count": 1}
    assert record.value(Group.PUBLIC, "like_count") == 3
    assert "promoted_metrics" not in record.metrics
    group: Any = record.metrics["public_metrics"]
    with pytest.raises(TypeError):
        group["like_count"] = 5
    with pytest.raises(AttributeError):
        record.metrics._public = {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.text = "changed"  # type: ignore[misc]
    assert record.value(Group.PUBLIC, "like_count") == 3


def test_records_compare_by_value_and_survive_replace_copy_and_pickle() -> None:
    made = datetime(2026, 11, 1, tzinfo=UTC)
    record = PostRecord(id="1", text="hi", created_at=made, media_keys=("7_1",), metrics=GROUPS)
    assert record == PostRecord(
        id="1", text="hi", created_at=made, media_keys=("7_1",), metrics=copy.deepcopy(GROUPS)
    )
    assert record != PostRecord(id="1", text="hi", created_at=made, media_keys=("7_1",))
    edited = dataclasses.replace(record, text="edited")
    assert edited.text == "edited" and edited.metrics == record.metrics
    assert copy.deepcopy(record) == record
    assert pickle.loads(pickle.dumps(record)) == record
    assert "like_count" in repr(record)


def test_records_are_built_by_keyword_only() -> None:
    with pytest.raises(TypeError):
        PostRecord("1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MediaRecord("13_1", "video")  # type: ignore[call-arg]
    media = MediaRecord(
        media_key="13_1", type="video", metrics={"public_metrics": {"view_count": 4}}
    )
    assert media.value(Group.PUBLIC, "view_count") == 4 and media.post_ids == ()


def test_a_parser_hands_its_fresh_copies_over_without_another_copy() -> None:
    public: dict[str, int | None] = {"like_count": 1}
    groups = FrozenGroups.of_catalogue_groups((public, None, None, {"like_count": 0}))
    assert groups == {"public_metrics": {"like_count": 1}, "promoted_metrics": {"like_count": 0}}
    assert list(groups) == ["public_metrics", "promoted_metrics"]
    record = PostRecord(id="1", metrics=groups)
    assert record.metrics is groups  # already frozen: shared, not copied again


def test_group_column_reads_each_records_group_in_order() -> None:
    records = [
        PostRecord(id="1", metrics={"public_metrics": {"like_count": 1}}),
        PostRecord(id="2"),
        PostRecord(id="3", metrics=GROUPS),
    ]
    assert group_column(records, "public_metrics") == [
        {"like_count": 1},
        None,
        {"like_count": 3, "reply_count": None},
    ]
    assert group_column(records, "future_metrics") == [None, None, {"sparkles": 9}]


def test_checked_post_is_the_record_the_keyword_constructor_builds() -> None:
    metrics = FrozenGroups({"public_metrics": {"like_count": 3}})
    when = datetime(2026, 11, 1, tzinfo=UTC)
    fast = checked_post("1", "hi", "42", when, ("3_1",), metrics)
    slow = PostRecord(
        id="1", text="hi", author_id="42", created_at=when, media_keys=("3_1",), metrics=metrics
    )
    assert fast == slow
    assert [getattr(fast, f.name) for f in dataclasses.fields(PostRecord)] == [
        "1",
        "hi",
        "42",
        when,
        ("3_1",),
        metrics,
    ]
    with pytest.raises(AttributeError):
        fast.id = "2"  # type: ignore[misc]


def test_checked_media_is_the_record_the_keyword_constructor_builds() -> None:
    metrics = FrozenGroups({"public_metrics": {"view_count": 9}})
    fast = checked_media("3_1", "video", 5000, "https://p", None, ("1", "2"), metrics)
    slow = MediaRecord(
        media_key="3_1",
        type="video",
        duration_ms=5000,
        preview_image_url="https://p",
        url=None,
        post_ids=("1", "2"),
        metrics=metrics,
    )
    assert fast == slow
    assert [getattr(fast, f.name) for f in dataclasses.fields(MediaRecord)] == [
        "3_1",
        "video",
        5000,
        "https://p",
        None,
        ("1", "2"),
        metrics,
    ]
    assert fast.value(Group.PUBLIC, "view_count") == 9
