"""X's JSON as columns: ``data[]`` Tweet objects and ``includes.media``, one parse for all.

No HTTP here: the request path hands over the decoded JSON object of each answer, and
:func:`answer_columns` reduces it to columns (:mod:`xmetrics_core.columns`) right away; the
fetch plan (``fetchplan.read_lookup``), :func:`result_from_pages` / :func:`result_from_json`
(answers fetched before: recordings, dumps, benchmarks) and :func:`posts_from_json` (user
timelines) all read X's JSON through it, and :func:`media_of_answers` merges every answer's
media. Records (:class:`~xmetrics_core.models.PostRecord`,
:class:`~xmetrics_core.models.MediaRecord`) are built from the columns. Metric groups are X's
verbatim: a sub-key X left out stays absent; a value that is not an int (or null) becomes None.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import attrgetter, itemgetter, methodcaller
from typing import Any

import numpy as np
import orjson

from xmetrics_core.bulk import collector_paused
from xmetrics_core.catalogue import Group, Level
from xmetrics_core.columns import (
    ABSENT,
    GroupColumns,
    MediaColumns,
    MediaRecords,
    PostColumns,
    PostRecords,
    concat_groups,
    group_parts,
    text_array,
)
from xmetrics_core.models import (
    FetchResult,
    PostRecord,
    ok_statuses,
)


def parse_created_at(value: object) -> datetime | None:
    """X's ``2022-08-13T20:36:51.000Z`` as an aware datetime in UTC (None when absent/garbled)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def posts_from_json(items: Sequence[Mapping[str, Any]]) -> list[PostRecord]:
    """``data[]`` Tweet objects as :class:`PostRecord` values, in order (user timelines).

    The same parse as every lookup answer's (:func:`answer_columns`): each object needs an
    ``id``; metric groups are X's verbatim: a sub-key X left out stays absent; a value that
    is not an int (or null) becomes None. The records share nothing with ``items``.
    """
    with collector_paused():
        return list(PostRecords(_post_part(items, {})))


def post_from_json(item: Mapping[str, Any]) -> PostRecord:
    """One ``data[]`` Tweet object as a :class:`PostRecord` (see :func:`posts_from_json`)."""
    return posts_from_json([item])[0]


_MEDIA_FIELDS = ("type", "duration_ms", "preview_image_url", "url")


def _page_items(
    page: Mapping[str, Any], ids: Container[str] | None
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """One answer's Post objects (objects with an ``id``; only those in ``ids`` when given)
    and ``includes.media`` objects."""
    data = [i for i in page.get("data") or () if isinstance(i, dict)]
    items: list[Mapping[str, Any]] = (
        [i for i in data if "id" in i]
        if ids is None
        else [i for i in data if str(i.get("id")) in ids]
    )
    includes = page.get("includes")
    media: list[Mapping[str, Any]] = (
        [m for m in includes.get("media") or () if isinstance(m, dict)]
        if isinstance(includes, dict)
        else []
    )
    return items, media


def _strings(values: list[Any], *, optional: bool = False) -> tuple[Any, ...]:
    """``values`` as strings (None kept when ``optional``), checked in one C-level pass."""
    kinds = set(map(type, values))
    if kinds <= ({str, type(None)} if optional else {str}):
        return tuple(values)
    if optional:
        return tuple(None if v is None else str(v) for v in values)
    return tuple(map(str, values))


def _created_column(values: list[Any]) -> tuple[datetime | None, ...]:
    """:func:`parse_created_at` of each value; X's own UTC times parsed in one C-level pass."""
    if set(map(type, values)) == {str}:
        try:
            parsed = tuple(map(datetime.fromisoformat, values))
        except ValueError:
            pass
        else:
            if set(map(attrgetter("tzinfo"), parsed)) == {UTC}:
                return parsed
    return tuple(map(parse_created_at, values))


def _media_keys(attachments: Any) -> tuple[str, ...]:
    listed = attachments.get("media_keys") if type(attachments) is dict else None
    return tuple(map(str, listed)) if type(listed) is list else ()


def _media_key_column(attachments: list[Any]) -> tuple[tuple[str, ...], ...]:
    """Each Post's media keys (``attachments.media_keys``); the usual answer (every Post
    with a list of string keys) in C-level passes."""
    if set(map(type, attachments)) == {dict}:
        listed = list(map(methodcaller("get", "media_keys"), attachments))
        if set(map(type, listed)) == {list} and set(map(type, chain.from_iterable(listed))) == {
            str
        }:
            return tuple(map(tuple, listed))
    return tuple(map(_media_keys, attachments))


def _post_part(items: Sequence[Mapping[str, Any]], shared: dict[Any, Any]) -> PostColumns:
    """One answer's Post objects as columns, each value checked: ids, texts and author IDs
    as strings (author None kept), ``created_at`` parsed (:func:`parse_created_at`), media
    keys from ``attachments.media_keys``, metric groups as :func:`group_parts` reads them.
    Author IDs and media keys repeat: each distinct one is kept once (``shared``)."""
    authors = _strings(list(map(methodcaller("get", "author_id"), items)), optional=True)
    keys = _media_key_column(list(map(methodcaller("get", "attachments"), items)))
    return PostColumns(
        ids=_strings(list(map(itemgetter("id"), items))),
        texts=text_array(_strings(list(map(methodcaller("get", "text", ""), items)))),
        author_ids=tuple(map(shared.setdefault, authors, authors)),
        created_at=_created_column(list(map(methodcaller("get", "created_at"), items))),
        media_keys=tuple(map(tuple, map(map, repeat(shared.setdefault), keys, keys))),
        groups=group_parts(items, Level.POST),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaPart:
    """One answer's media objects (those with a string ``media_key``): their fields as X sent
    them (checked once merged, by :func:`media_of_answers`) and their groups as columns."""

    keys: list[str]
    fields: dict[str, list[Any]]
    """``_MEDIA_FIELDS`` name → raw values."""
    groups: tuple[GroupColumns, ...]


def _media_part(media_json: Sequence[Mapping[str, Any]], shared: dict[Any, Any]) -> MediaPart:
    media = [m for m in media_json if isinstance(m.get("media_key"), str)]
    keys = list(map(itemgetter("media_key"), media))
    fields = {name: list(map(methodcaller("get", name), media)) for name in _MEDIA_FIELDS}
    if set(map(type, fields["type"])) <= {str}:  # shared like the keys (else checked later)
        fields["type"] = list(map(shared.setdefault, fields["type"], fields["type"]))
    return MediaPart(
        keys=list(map(shared.setdefault, keys, keys)),
        fields=fields,
        groups=group_parts(media, Level.MEDIA),
    )


def _merged_in_place(
    keys: list[str], fields: dict[str, list[Any]], groups: tuple[GroupColumns, ...]
) -> dict[str, int]:
    """media_key → its first row, each later copy of a key (one per answer that sent it)
    merged into it: later non-null fields win, metric groups are united."""
    if len(set(keys)) == len(keys):  # the usual case: each key sent once
        return dict(zip(keys, range(len(keys)), strict=True))
    first: dict[str, int] = {}
    for row, key in enumerate(keys):
        seen = first.setdefault(key, row)
        if seen == row:
            continue
        for values in fields.values():
            if values[row] is not None:
                values[seen] = values[row]
        for group in groups:
            if group.present[row]:
                group.present[seen] = True
                sent = group.state[:, row] != ABSENT
                group.values[sent, seen] = group.values[sent, row]
                group.state[sent, seen] = group.state[sent, row]
    return first


def _carriers(posts: PostColumns) -> dict[str, tuple[str, ...]]:
    """media_key → every Post naming it, in order."""
    named = list(chain.from_iterable(posts.media_keys))
    owners = chain.from_iterable(map(repeat, posts.ids, map(len, posts.media_keys)))
    if len(set(named)) == len(named):  # the usual case: each key named by one Post
        return dict(zip(named, zip(owners), strict=True))
    carriers: dict[str, list[str]] = {}
    for key, post_id in zip(named, owners, strict=True):
        carriers.setdefault(key, []).append(post_id)
    return {key: tuple(ids) for key, ids in carriers.items()}


def media_of_answers(parts: Sequence[MediaPart], posts: PostColumns) -> MediaColumns:
    """Every answer's media (in answer order) as one row per ``media_key``: a key sent more
    than once is merged (later non-null fields win, metric groups united); ``post_ids`` lists
    every one of ``posts`` naming the key, in ``posts`` order. Order: keys as the Posts name
    them, then keys no Post names, as first seen. ``type`` is a string ("" for none),
    ``duration_ms`` an int or None."""
    keys = list(chain.from_iterable(p.keys for p in parts))
    fields = {
        name: list(chain.from_iterable(p.fields[name] for p in parts)) for name in _MEDIA_FIELDS
    }
    groups = concat_groups([p.groups for p in parts], Level.MEDIA)
    first = _merged_in_place(keys, fields, groups)
    carriers = _carriers(posts)
    ordered = [key for key in dict.fromkeys([*carriers, *first]) if key in first]
    if ordered != keys:  # a key sent twice, or media in another order than the Posts name it
        rows = np.fromiter(map(first.__getitem__, ordered), dtype=np.intp, count=len(ordered))
        fields = {name: [values[row] for row in rows.tolist()] for name, values in fields.items()}
        groups = tuple(group.take(rows) for group in groups)
    kinds, durations = fields["type"], fields["duration_ms"]
    return MediaColumns(
        keys=tuple(ordered),
        types=tuple(kinds)
        if set(map(type, kinds)) <= {str}
        else tuple("" if kind is None else str(kind) for kind in kinds),
        durations=tuple(durations)
        if set(map(type, durations)) <= {int, type(None)}
        else tuple(d if type(d) is int else None for d in durations),
        preview_image_urls=tuple(fields["preview_image_url"]),
        urls=tuple(fields["url"]),
        post_ids=tuple(map(carriers.get, ordered, repeat(()))),
        groups=groups,
        post_ids_from_posts=True,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerColumns:
    """One answer reduced to columns: its Posts, and its media objects (merged with the other
    answers' by :func:`media_of_answers`)."""

    posts: PostColumns
    media: MediaPart


def answer_columns(
    page: Mapping[str, Any],
    *,
    ids: Container[str] | None = None,
    shared: dict[Any, Any] | None = None,
) -> AnswerColumns:
    """One decoded answer (``data[]`` + ``includes.media``) as columns, its values checked as
    the records are: Post objects with an ``id`` (only the ``ids`` given, when given: the IDs
    a lookup asked for) and media objects with a string ``media_key``. ``shared`` keeps each
    repeated string (author IDs, media keys and types) once across answers."""
    strings: dict[Any, Any] = {} if shared is None else shared
    items, media = _page_items(page, ids)
    with collector_paused():
        return AnswerColumns(posts=_post_part(items, strings), media=_media_part(media, strings))


class _Answers:
    """Answers reduced to columns one at a time: each answer's objects can go as soon as it
    has been added."""

    def __init__(self) -> None:
        self.answers: list[AnswerColumns] = []
        self.shared: dict[Any, Any] = {}
        """Repeated strings (author IDs, media keys, media types), each kept once."""

    def add(self, page: Mapping[str, Any]) -> None:
        self.answers.append(answer_columns(page, shared=self.shared))

    def result(self, groups: Sequence[Group]) -> FetchResult:
        posts = PostColumns.concat([a.posts for a in self.answers])
        media_parts = [a.media for a in self.answers]
        self.answers.clear()  # the answers' Post columns go before the media are merged
        self.shared.clear()
        media = media_of_answers(media_parts, posts)
        return FetchResult(
            posts=PostRecords(posts),
            media=MediaRecords(media),
            statuses=ok_statuses(posts.ids),
            groups=tuple(groups),
        )


def result_from_pages(
    pages: Iterable[Mapping[str, Any]], *, groups: Sequence[Group] = ()
) -> FetchResult:
    """Raw ``GET /2/tweets`` answers (``data[]`` + ``includes.media``) as a
    :class:`FetchResult`: every Post with status OK (``source`` its ID, ``position`` its
    index), media merged across pages (:func:`media_of_answers`), ``groups`` as given.

    For Posts already fetched (recordings, other tools' dumps, benchmarks): no HTTP, no
    plan, no ownership checks; items that are not objects with an ``id`` are skipped. Each
    answer is reduced to columns (:mod:`xmetrics_core.columns`) as it comes; the result's
    ``posts`` and ``media`` build their records from them on access.
    """
    answers = _Answers()
    with collector_paused():
        for page in pages:
            answers.add(page)
        return answers.result(groups)


def result_from_json(raw_pages: Iterable[bytes], *, groups: Sequence[Group] = ()) -> FetchResult:
    """:func:`result_from_pages` for raw JSON bytes, as X sends them (one answer per item),
    decoded with orjson like the request path does. Each answer is reduced to columns as
    soon as it is decoded, so only one answer's JSON objects are alive at a time."""
    answers = _Answers()
    with collector_paused():
        for page in map(orjson.loads, raw_pages):
            if isinstance(page, dict):
                answers.add(page)
        return answers.result(groups)
