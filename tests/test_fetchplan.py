"""The fetch plan, pure: which batches run when, what each answer means, every ID's status,
and the exact call count, without HTTP."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.errors import PaymentRequired, RateLimited, ServerError
from xmetrics_core.fetchplan import (
    NO_ANSWER,
    PUBLIC_ONLY,
    Batch,
    BatchOutcome,
    FetchPlan,
    Stage,
    asked_groups,
    failed_batch,
    lookup_call_count,
    lookup_params,
    read_lookup,
    status_of,
)
from xmetrics_core.models import PostRef, PostStatus
from xmetrics_core.parsing import decode_lookup, lookup_answer
from xmetrics_core.references import TWITTER_EPOCH_MS

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ME = "42"


def snowflake(created: datetime, sequence: int) -> str:
    millis = int(created.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((millis << 22) + sequence)


def refs(count: int, *, days_ago: float = 1.0, start: int = 0) -> list[PostRef]:
    created = NOW - timedelta(days=days_ago)
    ids = [snowflake(created, start + n) for n in range(count)]
    return [
        PostRef(id=i, source=i, position=start + n, created_at=created) for n, i in enumerate(ids)
    ]


def answer(batch: Batch, *, refused: set[str] = frozenset(), empty: set[str] = frozenset()):
    """What X says to a batch: data for the caller's Posts, Field Authorization Errors for the
    ``refused`` ones (when private groups were asked), nothing for ``empty``."""
    private = any(g is not Group.PUBLIC for g in batch.groups)
    data = []
    errors = []
    for post_id in batch.ids:
        if post_id in empty and Group.PROMOTED in batch.groups:
            continue
        if post_id in refused and private:
            errors.append(
                {
                    "resource_id": post_id,
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
                    "detail": "Sorry, you are not authorized to access 'non_public_metrics'.",
                }
            )
            continue
        groups = {g.value: {"like_count": 1} for g in batch.groups}
        data.append({"id": post_id, "author_id": ME, **groups})
    return read_lookup(batch, lookup_answer({"data": data, "errors": errors}))


def run(plan: FetchPlan, answer_of, sent_after: list[int] | None = None) -> list[list[Batch]]:
    """Drive the plan like the client does with one worker: the waves of batches it sends
    (``sent_after``: how many answers had come in when each wave was sent)."""
    waves = [plan.start()]
    queue = list(waves[0])
    answered = 0
    while queue:
        batch = queue.pop(0)
        new = plan.absorb(answer_of(batch))
        answered += 1
        if new:
            waves.append(new)
            queue.extend(new)
            if sent_after is not None:
                sent_after.append(answered)
    return waves


def test_lookup_asks_for_base_fields_groups_and_media() -> None:
    params = lookup_params(["1", "2"], ALL_GROUPS)
    assert params["ids"] == "1,2"
    assert params["tweet.fields"] == (
        "created_at,author_id,attachments,public_metrics,non_public_metrics,organic_metrics,"
        "promoted_metrics"
    )
    assert params["expansions"] == "attachments.media_keys"
    assert params["media.fields"].startswith("media_key,type,duration_ms,preview_image_url,url,")
    assert lookup_params(["1"], (Group.PUBLIC,))["media.fields"].endswith(",url,public_metrics")


def test_asked_groups_are_cut_to_the_credential_and_always_include_public() -> None:
    assert asked_groups((Group.PUBLIC,), None) == (Group.PUBLIC,)
    assert asked_groups(ALL_GROUPS, [Group.ORGANIC]) == (Group.PUBLIC, Group.ORGANIC)
    assert asked_groups(ALL_GROUPS, None) == ALL_GROUPS


def test_public_only_posts_go_in_full_batches_and_one_partial() -> None:
    plan = FetchPlan(refs(250), asked=PUBLIC_ONLY, now=NOW)
    (first,) = run(plan, answer)
    assert [len(b.ids) for b in first] == [100, 100, 50]
    assert {b.groups for b in first} == {PUBLIC_ONLY}
    assert not plan.needs_owner
    assert plan.total_batches == 3 == lookup_call_count(private=0, other=250, refused=0)


def test_refused_posts_get_their_public_batch_as_soon_as_a_hundred_are_waiting() -> None:
    posts = refs(1000)
    others = {r.id for n, r in enumerate(posts) if n % 4 == 3}  # a quarter not the caller's
    plan = FetchPlan(posts, asked=ALL_GROUPS, now=NOW)
    sent_after: list[int] = []
    waves = run(plan, lambda b: answer(b, refused=others), sent_after)
    first = waves[0]
    assert [(len(b.ids), b.stage) for b in first] == [(100, Stage.PRIVATE)] * 10
    public = [b for wave in waves[1:] for b in wave]
    assert [len(b.ids) for b in public] == [100, 100, 50]
    assert all(b.groups == PUBLIC_ONLY for b in public)
    assert sorted(i for b in public for i in b.ids) == sorted(others)
    # the first fallback batch leaves after the fourth private answer, not after all ten,
    # and the last partial one as soon as the last private answer is in
    assert sent_after == [4, 8, 10]
    assert plan.done_batches == 13 == plan.total_batches
    assert plan.total_batches == lookup_call_count(private=1000, other=0, refused=250)
    assert plan.total_batches <= math.ceil(1000 / 100) + 3


def test_the_last_partial_fallback_waits_only_for_batches_that_could_add_to_it() -> None:
    older = refs(150, days_ago=60)
    recent = refs(100, start=150)
    plan = FetchPlan([*older, *recent], asked=ALL_GROUPS, now=NOW)
    first = plan.start()
    assert [(len(b.ids), b.stage) for b in first] == [
        (100, Stage.PRIVATE),
        (100, Stage.PUBLIC),
    ]
    public_full = first[1]
    assert plan.absorb(answer(public_full)) == []  # a public answer feeds no pool
    (fallback,) = plan.absorb(answer(first[0], refused={recent[0].id}))
    assert fallback.ids == (*(r.id for r in older[100:]), recent[0].id)
    assert plan.absorb(answer(fallback)) == []
    assert plan.total_batches == 3 == lookup_call_count(private=100, other=150, refused=1)


def test_never_promoted_posts_answered_empty_are_asked_again_without_promoted() -> None:
    posts = refs(5)
    silent = {posts[1].id, posts[3].id}
    plan = FetchPlan(posts, asked=ALL_GROUPS, now=NOW)
    waves = run(plan, lambda b: answer(b, empty=silent))
    (retry,) = waves[1]
    assert retry.stage is Stage.WITHOUT_PROMOTED
    assert set(retry.ids) == silent and Group.PROMOTED not in retry.groups
    assert set(plan.rows) == {r.id for r in posts}
    assert plan.total_batches == 2 == lookup_call_count(private=5, other=0, refused=0, empty=2)


def test_an_empty_public_answer_marks_the_post_failed() -> None:
    posts = refs(3, days_ago=90)
    plan = FetchPlan(posts, asked=ALL_GROUPS, now=NOW)
    (batch,) = plan.start()
    plan.absorb(read_lookup(batch, lookup_answer({"data": [{"id": posts[0].id}]})))
    result = plan.result(
        invalid=(), user_context=True, me_id=ME, rate_limit=None, api_calls=1, retries=0
    )  # type: ignore[arg-type]
    assert [(s.status, s.detail) for s in result.statuses[1:]] == [
        (PostStatus.FAILED, NO_ANSWER)
    ] * 2


def test_read_lookup_reconciles_every_id_with_xs_errors() -> None:
    batch = Batch(ids=("1", "2", "3", "4", "5"), groups=ALL_GROUPS, stage=Stage.PRIVATE)
    problems = "https://api.x.com/2/problems"
    raw = orjson.dumps(
        {
            "data": [{"id": "1"}, {"id": "99"}, "junk"],
            "errors": [
                {"resource_id": "2", "type": f"{problems}/resource-not-found", "detail": "gone"},
                {"resource_id": "3", "type": f"{problems}/not-authorized-for-resource"},
                {"resource_id": "4", "type": f"{problems}/not-authorized-for-field"},
                {"resource_id": "1", "type": f"{problems}/not-authorized-for-field"},
                {
                    "resource_id": "5",
                    "type": f"{problems}/not-authorized-for-field",
                    "section": "includes",
                },
            ],
        }
    )
    answer = decode_lookup(raw)  # "junk" in data: the general parse, not the typed one
    assert answer is not None
    outcome = read_lookup(batch, answer)
    assert [p.id for p in outcome.posts] == ["1"]
    assert outcome.final["2"].status is PostStatus.NOT_FOUND and outcome.final["2"].detail == "gone"
    assert outcome.final["3"].status is PostStatus.NOT_AUTHORIZED
    assert set(outcome.field_refused) == {"4"}
    assert outcome.empty == ["5"]


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (RateLimited("x", reset_at=NOW), "rate limited by X; try again after 12:00 UTC"),
        (PaymentRequired("X answered 402 CreditsDepleted."), "add credits"),
        (ServerError("X answered 503"), "X answered 503"),
    ],
)
def test_a_failed_batch_says_why_for_every_id(error: Exception, words: str) -> None:
    batch = Batch(ids=("1", "2"), groups=PUBLIC_ONLY, stage=Stage.PUBLIC)
    outcome: BatchOutcome = failed_batch(batch, error)  # type: ignore[arg-type]
    assert [s.status for s in outcome.final.values()] == [PostStatus.FAILED] * 2
    assert all(words in s.detail for s in outcome.final.values())


def came_back(*groups: Group, author: str = ME) -> dict[str, object]:
    """What X returned for a Post, as :func:`status_of` reads it: groups, author, no time."""
    return {"returned": {g.value for g in groups}, "author_id": author, "created_at": None}


@pytest.mark.parametrize(
    ("post", "user_context", "created_days_ago", "expected"),
    [
        (came_back(*ALL_GROUPS), True, 1, PostStatus.OK),
        (
            came_back(Group.PUBLIC, Group.NON_PUBLIC, Group.ORGANIC),
            True,
            1,
            PostStatus.NOT_PROMOTED,
        ),
        (came_back(Group.PUBLIC, author="7"), True, 1, PostStatus.PUBLIC_ONLY_NOT_OWNER),
        (came_back(Group.PUBLIC), True, 40, PostStatus.PUBLIC_ONLY_TOO_OLD),
        (came_back(Group.PUBLIC), True, 1, PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED),
        (came_back(Group.PUBLIC), False, 1, PostStatus.PUBLIC_ONLY_APP_ONLY),
    ],
)
def test_each_fetched_post_gets_the_status_that_explains_it(
    post: dict[str, Any], user_context: bool, created_days_ago: int, expected: PostStatus
) -> None:
    created = NOW - timedelta(days=created_days_ago)
    ref = PostRef(id="1", source="1", position=0, created_at=created)
    status, detail = status_of(
        ref,
        **post,
        asked=ALL_GROUPS,
        user_context=user_context,
        me_id=ME,
        now=NOW,
        refusal="X said no",
    )
    assert status is expected
    if expected is PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED:
        assert detail == "X said no"
