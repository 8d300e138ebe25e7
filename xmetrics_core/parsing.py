"""X's JSON as columns: ``data[]`` Tweet objects and ``includes.media``, one parse for all.

No HTTP here: the request path hands over the decoded JSON object of each answer, and
:func:`answer_columns` reduces it to columns (:mod:`xmetrics_core.columns`) right away; the
fetch plan (``fetchplan.read_lookup``), :func:`result_from_pages` / :func:`result_from_json`
(answers fetched before: recordings, dumps, benchmarks) and :func:`posts_from_json` (user
timelines) all read X's JSON through it, and :func:`media_of_answers` merges every answer's
media. Records (:class:`~xmetrics_core.models.PostRecord`,
:class:`~xmetrics_core.models.MediaRecord`) are built from the columns. Metric groups are X's
verbatim: a sub-key X left out stays absent; a value that is not an int (or null) becomes None.

**Raw answers.** :func:`decode_lookup` reads an answer's bytes: X's usual lookup answer is
decoded straight into typed structs (msgspec; no dict per Post, media object or metric group)
and read into the same columns; any other answer (a count that is null or not an int, a
sub-key X left out or added, an ID that is not a string, …) raises msgspec's validation
error and goes through orjson and :func:`answer_columns`, whose checks keep such values as the
record parser does. Both give the same columns (``tests/test_parsing.py``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import attrgetter, itemgetter, methodcaller
from typing import Any, Final

import msgspec
import numpy as np
import orjson

from xmetrics_core.bulk import collector_paused
from xmetrics_core.catalogue import ALL_GROUPS, Group, Level, fields_of
from xmetrics_core.columns import (
    ABSENT,
    GROUP_KEYS,
    NULL,
    VALUE,
    GroupColumns,
    Int64Matrix,
    MediaColumns,
    MediaRecords,
    PostColumns,
    PostRecords,
    StateMatrix,
    concat_groups,
    group_parts,
    ok_statuses,
    text_array,
)
from xmetrics_core.models import (
    FetchResult,
    PostRecord,
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
    page: Mapping[str, Any],
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """One answer's Post objects (objects with an ``id``) and ``includes.media`` objects."""
    items: list[Mapping[str, Any]] = [
        i for i in page.get("data") or () if isinstance(i, dict) and "id" in i
    ]
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
    shared: dict[Any, Any] | None = None,
) -> AnswerColumns:
    """One decoded answer (``data[]`` + ``includes.media``) as columns, its values checked as
    the records are: Post objects with an ``id`` and media objects with a string
    ``media_key`` (a lookup keeps only the IDs it asked for: ``fetchplan.read_lookup``).
    ``shared`` keeps each repeated string (author IDs, media keys and types) once across
    answers."""
    strings: dict[Any, Any] = {} if shared is None else shared
    items, media = _page_items(page)
    with collector_paused():
        return AnswerColumns(posts=_post_part(items, strings), media=_media_part(media, strings))


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupAnswer:
    """One ``GET /2/tweets`` answer as the fetch plan reconciles it: its Posts and media as
    columns, and X's ``errors[]`` objects (anything else in the list is dropped)."""

    columns: AnswerColumns
    errors: tuple[Mapping[str, Any], ...] = ()


def lookup_answer(
    page: Mapping[str, Any],
    *,
    shared: dict[Any, Any] | None = None,
) -> LookupAnswer:
    """A decoded answer as a :class:`LookupAnswer` (:func:`answer_columns` and its errors)."""
    errors = page.get("errors")
    return LookupAnswer(
        columns=answer_columns(page, shared=shared),
        errors=tuple(e for e in errors if isinstance(e, dict)) if isinstance(errors, list) else (),
    )


def decode_lookup(
    raw: bytes,
    *,
    shared: dict[Any, Any] | None = None,
) -> LookupAnswer | None:
    """An answer's raw bytes as a :class:`LookupAnswer` (None when they are not a JSON
    object): the usual answer through the typed decoder, any other through orjson and
    :func:`lookup_answer`; the same columns either way."""
    strings: dict[Any, Any] = {} if shared is None else shared
    typed = typed_lookup(raw, shared=strings)
    if typed is not None:
        return typed
    try:
        page = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return lookup_answer(page, shared=strings) if isinstance(page, dict) else None


# -- the typed decoder: X's usual answer, straight from bytes to columns ------------------------


def _group_struct(level: Level, group: Group) -> type[msgspec.Struct]:
    """A metric group with the catalogue's sub-keys, each a count, null or left out (X leaves
    ``url_link_clicks`` out for a Post without a link): any other sub-key or value fails
    validation (and the answer takes the general parse)."""
    return msgspec.defstruct(
        f"{level.value.title()}{group.name.title().replace('_', '')}",
        [(name, int | None | msgspec.UnsetType, msgspec.UNSET) for name in fields_of(level, group)],
        forbid_unknown_fields=True,
        gc=False,
    )


def _group_fields(level: Level) -> list[tuple[str, Any, None]]:
    return [
        (key, _group_struct(level, g) | None, None)
        for key, g in zip(GROUP_KEYS, ALL_GROUPS, strict=True)
    ]


class _Attachments(msgspec.Struct, gc=False):
    media_keys: list[str] | None = None


_TypedPost = msgspec.defstruct(
    "TypedPost",
    [
        ("id", str),
        ("text", str, ""),
        ("author_id", str | None, None),
        ("created_at", str | None, None),
        ("attachments", _Attachments | None, None),
        *_group_fields(Level.POST),
    ],
    gc=False,
)
_TypedMedia = msgspec.defstruct(
    "TypedMedia",
    [
        ("media_key", str),
        ("type", str | None, None),
        ("duration_ms", int | None, None),
        ("preview_image_url", str | None, None),
        ("url", str | None, None),
        *_group_fields(Level.MEDIA),
    ],
    gc=False,
)


class _TypedIncludes(msgspec.Struct, gc=False):
    media: list[_TypedMedia] | None = None  # type: ignore[valid-type]


class _TypedAnswer(msgspec.Struct, gc=False):
    data: list[_TypedPost] | None = None  # type: ignore[valid-type]
    includes: _TypedIncludes | None = None
    errors: list[Any] | None = None


_LOOKUP_DECODER: Final = msgspec.json.Decoder(_TypedAnswer)
_NO_KEYS: Final[tuple[str, ...]] = ()


_GROUP_READERS: Final = {
    level: [
        (key, fields_of(level, group), attrgetter(*fields_of(level, group)))
        for key, group in zip(GROUP_KEYS, ALL_GROUPS, strict=True)
    ]
    for level in Level
}
"""Per level, each group's JSON key, the catalogue's sub-keys and a getter of their values."""


def _counts_and_states(values: list[Any]) -> tuple[Int64Matrix, StateMatrix | None] | None:
    """Counts as int64 and, when any is null or left out, each cell's state (VALUE, NULL,
    ABSENT); None when a count does not fit int64."""
    try:
        try:  # array("q") takes ints only: a null or an unset sub-key raises TypeError
            return np.frombuffer(array("q", values), dtype=np.int64), None
        except TypeError:
            states = [VALUE if type(v) is int else NULL if v is None else ABSENT for v in values]
            counts = [v if type(v) is int else 0 for v in values]
            return (
                np.frombuffer(array("q", counts), dtype=np.int64),
                np.array(states, dtype=np.uint8),
            )
    except OverflowError:
        return None


def _typed_groups(items: Sequence[Any], level: Level) -> tuple[GroupColumns, ...] | None:
    """The four groups of typed items as columns (a group may be absent on some items, a
    sub-key null or left out); None when a count does not fit int64."""
    n = len(items)
    blocks: list[GroupColumns] = []
    for key, names, get in _GROUP_READERS[level]:
        column = list(map(attrgetter(key), items))
        sent = [g for g in column if g is not None]
        read = _counts_and_states(
            list(map(get, sent) if len(names) == 1 else chain.from_iterable(map(get, sent)))
        )
        if read is None:
            return None
        flat, flat_states = read
        block = flat.reshape(len(sent), len(names)).T
        states = (
            np.zeros(block.shape, dtype=np.uint8)
            if flat_states is None
            else flat_states.reshape(len(sent), len(names)).T
        )
        if len(sent) == n:
            blocks.append(
                GroupColumns(
                    fields=names, present=np.ones(n, dtype=bool), values=block, state=states
                )
            )
            continue
        out = GroupColumns.empty(names, n)
        present = np.fromiter((g is not None for g in column), dtype=bool, count=n)
        out.present[:] = present
        out.values[:, present] = block
        out.state[:, present] = states
        blocks.append(out)
    return tuple(blocks)


def typed_lookup(raw: bytes, *, shared: dict[Any, Any]) -> LookupAnswer | None:
    """The usual answer decoded into typed structs and read into columns with the checks
    :func:`answer_columns` makes; None for any other answer."""
    try:
        answer = _LOOKUP_DECODER.decode(raw)
    except msgspec.DecodeError:  # not the usual answer (or not JSON): the general parse
        return None
    items: list[Any] = answer.data or []
    media = (answer.includes.media if answer.includes is not None else None) or []
    with collector_paused():
        post_groups = _typed_groups(items, Level.POST)
        media_groups = _typed_groups(media, Level.MEDIA)
        if post_groups is None or media_groups is None:
            return None
        authors = list(map(attrgetter("author_id"), items))
        keys = [
            _NO_KEYS if a is None or a.media_keys is None else tuple(a.media_keys)
            for a in map(attrgetter("attachments"), items)
        ]
        posts = PostColumns(
            ids=tuple(map(attrgetter("id"), items)),
            texts=text_array(list(map(attrgetter("text"), items))),
            author_ids=tuple(map(shared.setdefault, authors, authors)),
            created_at=_created_column(list(map(attrgetter("created_at"), items))),
            media_keys=tuple(map(tuple, map(map, repeat(shared.setdefault), keys, keys))),
            groups=post_groups,
        )
        media_keys = list(map(attrgetter("media_key"), media))
        fields = {name: list(map(attrgetter(name), media)) for name in _MEDIA_FIELDS}
        if None not in fields["type"]:
            fields["type"] = list(map(shared.setdefault, fields["type"], fields["type"]))
        parts = MediaPart(
            keys=list(map(shared.setdefault, media_keys, media_keys)),
            fields=fields,
            groups=media_groups,
        )
    errors = tuple(e for e in answer.errors or () if isinstance(e, dict))
    return LookupAnswer(columns=AnswerColumns(posts=posts, media=parts), errors=errors)


class _Answers:
    """Answers reduced to columns one at a time: each answer's objects can go as soon as it
    has been added."""

    def __init__(self) -> None:
        self.answers: list[AnswerColumns] = []
        self.shared: dict[Any, Any] = {}
        """Repeated strings (author IDs, media keys, media types), each kept once."""

    def add(self, page: Mapping[str, Any]) -> None:
        self.answers.append(answer_columns(page, shared=self.shared))

    def add_raw(self, raw: bytes) -> None:
        answer = decode_lookup(raw, shared=self.shared)
        if answer is not None:
            self.answers.append(answer.columns)

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
    read like the request path reads them (:func:`decode_lookup`); an item that is not a
    JSON object is skipped. Each answer is reduced to columns as soon as it is decoded, so
    only one answer's decoded objects are alive at a time."""
    answers = _Answers()
    with collector_paused():
        for raw in raw_pages:
            answers.add_raw(raw)
        return answers.result(groups)
