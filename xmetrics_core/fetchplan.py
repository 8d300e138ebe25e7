"""The fetch plan for ``GET /2/tweets`` and the reconciliation of X's answers: pure, no HTTP.

**Groups.** :func:`asked_groups`: what the caller wants, cut to what the credential allows;
``public_metrics`` is always asked for (it is every Post's fallback).

**Plan.** Let *R* be the IDs that may have private metrics (private groups asked, created
within 30 days by the snowflake), *O* the rest.

* :meth:`FetchPlan.start`: *R* in batches of ≤100 asking every group; *O* in full
  public-only batches of 100. The rest of *O* waits in the public pool.
* :meth:`FetchPlan.absorb` takes each answer as it comes (:func:`read_lookup`) and returns
  the batches that can run now. Posts that came back only as Field Authorization Errors
  (*F*) join the public pool, so each still gets its public metrics; Posts that came back
  with neither data nor an error (X's "never-promoted Post" known issue) are re-asked
  without ``promoted_metrics`` (*E*), and if that is refused too they join the public pool.
  A public-only answer with neither data nor an error marks the Post FAILED.
* A pool sends a batch as soon as it holds 100 IDs, and its last partial batch as soon as
  no running batch can add to it, so the public-only pass overlaps the private batches
  instead of waiting for all of them.

Without retries the ``GET /2/tweets`` calls number exactly
``ceil(R/100) + floor(O/100) + ceil((O mod 100 + F + E')/100) + ceil(E/100)`` where *E'* are
the IDs refused again without promoted: at most ``ceil(N/100) + 1`` for N unique IDs when
E = 0 (:func:`lookup_call_count`).

**Answers.** Each answer comes reduced to columns (``parsing.decode_lookup`` reads its bytes:
the typed decoder for X's usual answer, else ``parsing.answer_columns``, with the same
columns); :func:`read_lookup` reconciles its IDs with them and X's ``errors[]``;
:meth:`FetchPlan.result` takes the Posts in paste order from the answers' columns and merges
their media (``parsing.media_of_answers``), so the result's ``posts`` / ``media`` /
``statuses`` are ``columns.PostRecords`` / ``MediaRecords`` / ``StatusRecords`` views and
frames read the columns.

**Statuses.** :func:`status_of` decides each fetched Post's status from what came back (the
groups the columns hold for it, its author, its time), the credential's kind, the owner
(``author_id == me.id``) and the 30-day window; IDs without a Post keep the final status
their batch gave (not found, not authorized, failed).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Final, cast

import numpy as np

from xmetrics_core.bulk import collector_paused
from xmetrics_core.catalogue import ALL_GROUPS, PRIVATE_GROUPS, Group
from xmetrics_core.columns import (
    GROUP_KEYS,
    MediaRecords,
    PostColumns,
    PostRecords,
    StatusColumns,
    StatusRecords,
)
from xmetrics_core.errors import (
    PaymentRequired,
    RateLimited,
    XApiError,
    format_reset,
    problem_type,
)
from xmetrics_core.models import (
    FetchResult,
    IdStatus,
    InvalidToken,
    PostRecord,
    PostRef,
    PostStatus,
    RateLimitState,
)
from xmetrics_core.parsing import AnswerColumns, LookupAnswer, media_of_answers
from xmetrics_core.references import private_window_start, within_private_window

BATCH_SIZE: Final = 100
"""``GET /2/tweets`` takes 1–100 IDs (FACTS §3)."""
TIMELINE_POST_CAP: Final = 3200
"""X serves at most the 3,200 newest Posts of a timeline; paging stops past that."""

POST_BASE_FIELDS: Final = ("created_at", "author_id", "attachments")
MEDIA_BASE_FIELDS: Final = ("media_key", "type", "duration_ms", "preview_image_url", "url")

FIELD_UNAUTHORIZED: Final = "not-authorized-for-field"
RESOURCE_NOT_FOUND: Final = "resource-not-found"
RESOURCE_UNAUTHORIZED: Final = "not-authorized-for-resource"

PUBLIC_ONLY: Final[tuple[Group, ...]] = (Group.PUBLIC,)
NO_ANSWER: Final = "X returned neither the Post nor an error"
NO_ANSWER_AT_ALL: Final = "no answer from X for this Post"


def asked_groups(allowed: Iterable[Group], wanted: Iterable[Group] | None) -> tuple[Group, ...]:
    """``wanted`` (None: everything) cut to ``allowed``, plus public; in catalogue order."""
    chosen = (set(ALL_GROUPS if wanted is None else wanted) & set(allowed)) | {Group.PUBLIC}
    return tuple(g for g in ALL_GROUPS if g in chosen)


def _fields_param(base: Sequence[str], groups: Iterable[Group]) -> str:
    return ",".join([*base, *(g.value for g in groups)])


def lookup_params(ids: Sequence[str], groups: Sequence[Group]) -> dict[str, str]:
    """The query of one ``GET /2/tweets`` batch asking for ``groups``."""
    return {
        "ids": ",".join(ids),
        "tweet.fields": _fields_param(POST_BASE_FIELDS, groups),
        "expansions": "attachments.media_keys",
        "media.fields": _fields_param(MEDIA_BASE_FIELDS, groups),
    }


def timeline_params(*, start_time: str, page_size: int) -> dict[str, str]:
    """The query of one ``GET /2/users/:id/tweets`` page (public metrics, text, created_at)."""
    return {
        "max_results": str(page_size),
        "start_time": start_time,
        "tweet.fields": _fields_param(POST_BASE_FIELDS, PUBLIC_ONLY),
    }


class Stage(Enum):
    """Why a batch runs, which decides what its answer feeds."""

    PRIVATE = "private"
    """Every asked group, for Posts that may have private metrics."""
    PUBLIC = "public"
    """Public metrics only: older Posts and every fallback."""
    WITHOUT_PROMOTED = "without_promoted"
    """Re-asked without ``promoted_metrics`` after an empty answer (never-promoted known issue)."""


@dataclass(frozen=True, kw_only=True)
class Batch:
    """One ``GET /2/tweets`` call: up to 100 IDs and the groups asked for them."""

    ids: tuple[str, ...]
    groups: tuple[Group, ...]
    stage: Stage

    @property
    def params(self) -> dict[str, str]:
        return lookup_params(self.ids, self.groups)


@dataclass(kw_only=True)
class BatchOutcome:
    """What one batch's answer says about each of its IDs."""

    batch: Batch
    answer: AnswerColumns | None = None
    """The answer's Posts (the IDs asked only) and media as columns; None without one."""
    field_refused: dict[str, str] = field(default_factory=dict)
    """ID → X's detail, for IDs that came back only as Field Authorization Errors."""
    final: dict[str, IdStatus] = field(default_factory=dict)
    """ID → a final status without metrics (not found, not authorized, failed)."""
    empty: list[str] = field(default_factory=list)
    """IDs that came back with neither data nor an error."""

    @property
    def posts(self) -> Sequence[PostRecord]:
        """The Posts that came back, as records built from the columns on access."""
        return () if self.answer is None else PostRecords(self.answer.posts)


def read_lookup(batch: Batch, answer: LookupAnswer) -> BatchOutcome:
    """Reconcile one ``GET /2/tweets`` answer with the IDs asked: every ID ends as a Post,
    a field refusal, a final status (X's ``errors[]``) or "empty". The answer comes already
    reduced to columns (``parsing.decode_lookup`` from the raw bytes, ``parsing.lookup_answer``
    from decoded JSON), so its JSON is gone before this runs; Posts not asked for are left
    out."""
    asked = set(batch.ids)
    columns = answer.columns
    returned = columns.posts.ids
    if not asked.issuperset(returned):
        kept = [row for row, post_id in enumerate(returned) if post_id in asked]
        columns = replace(columns, posts=columns.posts.take(kept))
    outcome = BatchOutcome(batch=batch, answer=columns)
    answered = set(columns.posts.ids)
    for error in answer.errors:
        if error.get("section", "data") != "data":
            continue
        post_id = str(error.get("resource_id") or error.get("value") or "")
        if post_id not in asked or post_id in answered:
            continue
        kind = problem_type(error)
        if kind == FIELD_UNAUTHORIZED and post_id in outcome.field_refused:
            continue  # X sends one per refused sub-field: the first one says it
        detail = str(error.get("detail") or error.get("title") or kind)
        if kind == FIELD_UNAUTHORIZED:
            outcome.field_refused[post_id] = detail
        elif kind == RESOURCE_NOT_FOUND:
            outcome.final[post_id] = IdStatus(
                id=post_id, status=PostStatus.NOT_FOUND, detail=detail
            )
        elif kind == RESOURCE_UNAUTHORIZED:
            outcome.final[post_id] = IdStatus(
                id=post_id, status=PostStatus.NOT_AUTHORIZED, detail=detail
            )
        else:
            outcome.final.setdefault(
                post_id, IdStatus(id=post_id, status=PostStatus.FAILED, detail=detail)
            )
    for post_id in batch.ids:
        if post_id in answered:
            outcome.final.pop(post_id, None)
            outcome.field_refused.pop(post_id, None)
        elif post_id in outcome.final:
            outcome.field_refused.pop(post_id, None)
        elif post_id not in outcome.field_refused:
            outcome.empty.append(post_id)
    return outcome


def failure_detail(error: XApiError) -> str:
    """What a FAILED status says after a batch failed for good: the reason and what to do."""
    if isinstance(error, RateLimited):
        return f"rate limited by X; {format_reset(error.reset_at)}"
    if isinstance(error, PaymentRequired):
        return (
            f"{error.message.rstrip('.')}; add credits to the X developer account "
            "(developer portal), then fetch again"
        )
    return error.message


def failed_batch(batch: Batch, error: XApiError) -> BatchOutcome:
    """A batch that failed after retries: every ID FAILED, saying why."""
    detail = failure_detail(error)
    return BatchOutcome(
        batch=batch,
        final={i: IdStatus(id=i, status=PostStatus.FAILED, detail=detail) for i in batch.ids},
    )


def lookup_call_count(*, private: int, other: int, refused: int, empty: int = 0) -> int:
    """``GET /2/tweets`` calls of a fetch without retries: ``private`` IDs asked every group
    (*R*), ``other`` public-only (*O*), ``refused`` by field authorization (*F*), ``empty``
    answered with nothing that were asked again without promoted (*E*, all then answered)."""
    full, rest = divmod(other, BATCH_SIZE)
    return (
        math.ceil(private / BATCH_SIZE)
        + full
        + math.ceil((rest + refused) / BATCH_SIZE)
        + math.ceil(empty / BATCH_SIZE)
    )


def _batches(ids: Sequence[str], groups: tuple[Group, ...], stage: Stage) -> list[Batch]:
    return [
        Batch(ids=tuple(ids[i : i + BATCH_SIZE]), groups=groups, stage=stage)
        for i in range(0, len(ids), BATCH_SIZE)
    ]


class FetchPlan:
    """The batches of one fetch and what their answers said (see the module doc).

    Not thread-safe: the caller runs the batches anywhere but hands every outcome to
    :meth:`absorb` on one thread. ``done_batches`` / ``total_batches`` are the progress.
    """

    def __init__(self, refs: Sequence[PostRef], *, asked: tuple[Group, ...], now: datetime):
        self.refs = tuple(refs)
        self.asked = asked
        self.now = now
        self.private = any(g in PRIVATE_GROUPS for g in asked)
        oldest = private_window_start(now)
        self.recent = [
            r.id
            for r in refs
            if self.private and r.created_at is not None and r.created_at >= oldest
        ]
        recent = set(self.recent)
        self.older = [r.id for r in refs if r.id not in recent]
        self._order = {ref.id: n for n, ref in enumerate(refs)}
        self._without_promoted = tuple(g for g in asked if g is not Group.PROMOTED)
        self._public_pool: list[str] = []
        self._retry_pool: list[str] = []
        self._feeding = 0
        self.answers: list[AnswerColumns] = []
        """Every answer's columns, in the order they came."""
        self.rows: dict[str, int] = {}
        """ID → its Post's row in the answers' Posts one after the other (the last copy)."""
        self._answered = 0
        """Rows in ``answers`` so far."""
        self.statuses: dict[str, IdStatus] = {}
        self.refusals: dict[str, str] = {}
        self.done_batches = 0
        self.total_batches = 0

    @property
    def needs_owner(self) -> bool:
        """True when statuses depend on who owns the Posts (private groups asked)."""
        return self.private and bool(self.refs)

    def start(self) -> list[Batch]:
        """The first batches: every private-eligible ID, and the full public-only batches."""
        full = len(self.older) - len(self.older) % BATCH_SIZE
        self._public_pool.extend(self.older[full:])
        first = _batches(self.recent, self.asked, Stage.PRIVATE) + _batches(
            self.older[:full], PUBLIC_ONLY, Stage.PUBLIC
        )
        return self._emit(first) + self._ready()

    def absorb(self, outcome: BatchOutcome) -> list[Batch]:
        """Keep one batch's answer; returns the batches that can run now."""
        self.done_batches += 1
        batch = outcome.batch
        if batch.stage is not Stage.PUBLIC:
            self._feeding -= 1
        if outcome.answer is not None:
            ids = outcome.answer.posts.ids
            start, self._answered = self._answered, self._answered + len(ids)
            self.rows.update(zip(ids, range(start, self._answered), strict=True))
            for post_id in ids:
                self.statuses.pop(post_id, None)
            self.answers.append(outcome.answer)
        self.statuses.update(outcome.final)
        self.refusals.update(outcome.field_refused)
        if batch.stage is Stage.PUBLIC:
            self._unanswered(outcome.empty)
        elif batch.stage is Stage.WITHOUT_PROMOTED:
            self._public_pool.extend([*outcome.field_refused, *outcome.empty])
        else:
            self._public_pool.extend(outcome.field_refused)
            if Group.PROMOTED in batch.groups:
                self._retry_pool.extend(outcome.empty)
            else:
                self._unanswered(outcome.empty)
        return self._ready()

    def _unanswered(self, ids: Iterable[str]) -> None:
        """IDs X answered with neither data nor an error, even public-only: FAILED."""
        for post_id in ids:
            self.statuses[post_id] = IdStatus(
                id=post_id, status=PostStatus.FAILED, detail=NO_ANSWER
            )

    def _take(self, pool: list[str], *, partial: bool) -> list[str]:
        """IDs for the batches a pool can send now: every full 100, and the rest if
        ``partial``; in paste order."""
        pool.sort(key=self._order.__getitem__)
        count = len(pool) if partial else len(pool) - len(pool) % BATCH_SIZE
        taken = pool[:count]
        del pool[:count]
        return taken

    def _ready(self) -> list[Batch]:
        retry = self._take(self._retry_pool, partial=self._feeding == 0)
        ready = self._emit(_batches(retry, self._without_promoted, Stage.WITHOUT_PROMOTED))
        public = self._take(self._public_pool, partial=self._feeding == 0)
        return ready + self._emit(_batches(public, PUBLIC_ONLY, Stage.PUBLIC))

    def _emit(self, batches: list[Batch]) -> list[Batch]:
        self.total_batches += len(batches)
        self._feeding += sum(1 for b in batches if b.stage is not Stage.PUBLIC)
        return batches

    def result(
        self,
        *,
        invalid: Sequence[InvalidToken],
        user_context: bool,
        me_id: str | None,
        ownership_unknown: str = "",
        rate_limit: RateLimitState,
        api_calls: int,
        retries: int,
    ) -> FetchResult:
        """The :class:`FetchResult`: one status per unique ID (input order), then one INVALID
        per invalid token; Posts in input order and media merged by ``media_key``, both
        read-only views over the answers' columns (``columns.PostRecords`` /
        ``MediaRecords``)."""
        with collector_paused():  # statuses and columns of many Posts (see bulk)
            answered = PostColumns.concat([a.posts for a in self.answers])
            decided = [
                _groups_status(returned, self.asked, user_context)
                for returned in _returned_groups(answered, self.asked)
            ]
            ids = [ref.id for ref in self.refs]
            found = list(map(self.rows.get, ids))
            rows = [row for row in found if row is not None]
            # The usual fetch: every Post came back and its groups alone decide its status.
            usual = [decided[row] for row in rows] if len(rows) == len(found) else [None]
            outcomes = (
                cast(list[tuple[PostStatus, str]], usual)
                if None not in usual
                else self._outcomes(
                    found, decided, answered, me_id=me_id, ownership_unknown=ownership_unknown
                )
            )
            kinds, details = zip(*outcomes, strict=True) if outcomes else ((), ())
            statuses = StatusColumns(
                ids=(*ids, *(token.text for token in invalid)),
                statuses=(*kinds, *(PostStatus.INVALID for _ in invalid)),
                details=(*details, *(token.reason for token in invalid)),
                sources=(*(ref.source for ref in self.refs), *(t.text for t in invalid)),
                positions=(*(ref.position for ref in self.refs), *(t.position for t in invalid)),
            )
            posts = answered.take(rows)
            media = media_of_answers([a.media for a in self.answers], posts)
            return FetchResult(
                posts=PostRecords(posts),
                media=MediaRecords(media),
                statuses=StatusRecords(statuses),
                groups=self.asked,
                rate_limit=rate_limit,
                api_calls=api_calls,
                retries=retries,
                fetched_at=self.now,
            )

    def _outcomes(
        self,
        found: list[int | None],
        decided: list[tuple[PostStatus, str] | None],
        answered: PostColumns,
        *,
        me_id: str | None,
        ownership_unknown: str,
    ) -> list[tuple[PostStatus, str]]:
        """Each ref's status and detail: its Post's (:func:`status_of`), or the final status
        its batch gave (not found, not authorized, failed) when no Post came back."""
        authors, created = answered.author_ids, answered.created_at
        outcomes: list[tuple[PostStatus, str]] = []
        for ref, row in zip(self.refs, found, strict=True):
            if row is None:
                final = self.statuses.get(ref.id)
                outcomes.append(
                    (final.status, final.detail)
                    if final is not None
                    else (PostStatus.FAILED, NO_ANSWER_AT_ALL)
                )
                continue
            status, detail = decided[row] or _public_only_status(
                ref,
                author_id=authors[row],
                created_at=created[row],
                me_id=me_id,
                now=self.now,
                refusal=self.refusals.get(ref.id),
            )
            if ownership_unknown and status is PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED:
                detail = f"{detail}; {ownership_unknown}"
            outcomes.append((status, detail))
        return outcomes


def _returned_groups(posts: PostColumns, asked: tuple[Group, ...]) -> list[frozenset[str]]:
    """Each Post's private groups that came back (a few distinct sets, shared), read from
    the group columns' presence in C-level passes."""
    private = [g.value for g in asked if g in PRIVATE_GROUPS]
    present = [posts.groups[GROUP_KEYS.index(name)].present for name in private]
    codes = np.zeros(len(posts), dtype=np.intp)
    for bit, has in enumerate(present):
        codes |= has.astype(np.intp) << bit
    sets = [
        frozenset(name for bit, name in enumerate(private) if code >> bit & 1)
        for code in range(1 << len(private))
    ]
    return list(map(sets.__getitem__, codes.tolist()))


@functools.cache
def _private_groups(asked: tuple[Group, ...]) -> tuple[str, ...]:
    """The private groups among ``asked``, by name, in order (one tuple per distinct ask:
    :func:`status_of` runs once per Post)."""
    return tuple(g.value for g in asked if g in PRIVATE_GROUPS)


def status_of(
    ref: PostRef,
    *,
    returned: Collection[str],
    author_id: str | None,
    created_at: datetime | None,
    asked: tuple[Group, ...],
    user_context: bool,
    me_id: str | None,
    now: datetime,
    refusal: str | None,
) -> tuple[PostStatus, str]:
    """A fetched Post's status and detail from what X returned for it: the metric groups
    that came back (``returned``, by name), its author and its creation time."""
    decided = _groups_status(frozenset(returned), asked, user_context)
    if decided is not None:
        return decided
    return _public_only_status(
        ref, author_id=author_id, created_at=created_at, me_id=me_id, now=now, refusal=refusal
    )


@functools.cache
def _groups_status(
    returned: frozenset[str], asked: tuple[Group, ...], user_context: bool
) -> tuple[PostStatus, str] | None:
    """The status the credential and the groups that came back decide alone (the same for
    every Post with these groups: cached), or None when no private group came back."""
    private_asked = _private_groups(asked)
    if not user_context:
        return PostStatus.PUBLIC_ONLY_APP_ONLY, "app-only Bearer token: public metrics only"
    if not private_asked:
        return PostStatus.OK, ""
    missing = [name for name in private_asked if name not in returned]
    if len(missing) == len(private_asked):
        return None
    if missing == [Group.PROMOTED.value]:
        return PostStatus.NOT_PROMOTED, "never promoted: no promoted metrics"
    if missing:
        return PostStatus.OK, "X did not return " + ", ".join(missing)
    return PostStatus.OK, ""


def _public_only_status(
    ref: PostRef,
    *,
    author_id: str | None,
    created_at: datetime | None,
    me_id: str | None,
    now: datetime,
    refusal: str | None,
) -> tuple[PostStatus, str]:
    """Why a Post asked for private groups came back with public metrics only."""
    if me_id is not None and author_id is not None and author_id != me_id:
        return PostStatus.PUBLIC_ONLY_NOT_OWNER, "not your Post: X serves public metrics only"
    created = created_at or ref.created_at
    if created is None or not within_private_window(created, now):
        return PostStatus.PUBLIC_ONLY_TOO_OLD, "older than 30 days: X serves public metrics only"
    return PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED, refusal or "X refused the private metrics"
