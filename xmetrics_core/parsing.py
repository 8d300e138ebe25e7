"""X's JSON as records: ``data[]`` Tweet objects and ``includes.media`` as immutable values.

No HTTP here: the request path hands over the decoded JSON object of each answer, and these
functions turn it into :class:`~xmetrics_core.models.PostRecord` and
:class:`~xmetrics_core.models.MediaRecord` values (also for answers fetched before:
recordings, dumps, benchmarks). Metric groups are X's verbatim: a sub-key X left out stays
absent; a value that is not an int (or null) becomes None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import attrgetter, itemgetter, methodcaller
from typing import Any

import numpy as np
import orjson

from xmetrics_core.bulk import collector_paused
from xmetrics_core.catalogue import ALL_GROUPS, Group, Level
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
    FrozenGroups,
    MediaRecord,
    PostRecord,
    checked_media,
    checked_post,
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


_GROUP_KEYS: tuple[str, ...] = tuple(g.value for g in ALL_GROUPS)
_COUNT_TYPES = frozenset({int, type(None)})

GroupColumn = list[dict[str, Any] | None]


def _group_column(items: Sequence[Mapping[str, Any]], key: str, *, owned: bool) -> GroupColumn:
    """Each item's ``key`` group (a JSON object; copied unless ``owned``), None where it has
    none."""
    groups = map(methodcaller("get", key), items)
    if owned:
        return [v if type(v) is dict else None for v in groups]
    return [dict(v) if isinstance(v, dict) else None for v in groups]


def _counts_only(columns: Iterable[GroupColumn]) -> bool:
    """True when every value in every group is an int or null: one C-level pass over all of
    them (``map``/``set``), no Python per value."""
    groups: Iterable[dict[str, Any]] = filter(None, chain.from_iterable(columns))
    values: Iterable[Any] = chain.from_iterable(map(dict.values, groups))
    return set(map(type, values)) <= _COUNT_TYPES


def _as_counts(values: dict[str, Any] | None) -> dict[str, int | None] | None:
    """Each value kept if it is an int, else None (X sends counts; anything else is garbled)."""
    if values is None:
        return None
    return {str(k): (v if isinstance(v, int) else None) for k, v in values.items()}


def _checked_groups(items: Sequence[Mapping[str, Any]], *, owned: bool) -> list[FrozenGroups]:
    """Every item's metric groups, group by group, frozen: copied once, or kept as they are
    when the caller hands the JSON over (``owned``: decoded for us, held by no one else). The
    values are checked in bulk, with per-value repair only for a page carrying something
    else than counts and nulls."""
    columns = [_group_column(items, key, owned=owned) for key in _GROUP_KEYS]
    if not _counts_only(columns):
        columns = [list(map(_as_counts, column)) for column in columns]
    public, non_public, organic, promoted = columns  # the catalogue's group order
    rows = zip(public, non_public, organic, promoted, strict=True)
    return list(map(FrozenGroups.of_catalogue_groups, rows))  # nothing else holds the copies


def _post_record(item: Mapping[str, Any], metrics: FrozenGroups) -> PostRecord:
    post_id = item["id"]
    text = item.get("text", "")
    author_id = item.get("author_id")
    attachments = item.get("attachments")
    keys = attachments.get("media_keys") if type(attachments) is dict else None
    return checked_post(
        post_id if type(post_id) is str else str(post_id),
        text if type(text) is str else str(text),
        None if author_id is None else str(author_id),
        parse_created_at(item.get("created_at")),
        tuple(map(str, keys)) if type(keys) is list else (),
        metrics,
    )


def posts_from_json(items: Sequence[Mapping[str, Any]], *, owned: bool = False) -> list[PostRecord]:
    """``data[]`` Tweet objects as :class:`PostRecord` values, in order.

    Each object needs an ``id``. Metric groups are X's verbatim: a sub-key X left out stays
    absent; a value that is not an int (or null) becomes None. The records never change
    when ``items`` do, unless ``owned`` says the caller hands the decoded JSON over and will
    not touch it again (the request path's own answers): then its group objects are kept
    rather than copied.
    """
    with collector_paused():
        return list(map(_post_record, items, _checked_groups(items, owned=owned)))


def post_from_json(item: Mapping[str, Any]) -> PostRecord:
    """One ``data[]`` Tweet object as a :class:`PostRecord` (see :func:`posts_from_json`)."""
    return posts_from_json([item])[0]


_MEDIA_FIELDS = ("type", "duration_ms", "preview_image_url", "url")


def _merged_media_json(media_json: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """media_key → one media object: the first one seen, or, for a key X sent more than once
    (one copy per batch), the union: later non-null fields win and metric groups merge."""
    merged: dict[str, Mapping[str, Any]] = {}
    for raw in media_json:
        key = raw.get("media_key")
        if not isinstance(key, str):
            continue
        seen = merged.get(key)
        if seen is None:
            merged[key] = raw
            continue
        union: dict[str, Any] = {**seen}
        union.update({name: raw[name] for name in _MEDIA_FIELDS if raw.get(name) is not None})
        for group in _GROUP_KEYS:
            values = raw.get(group)
            if isinstance(values, dict):
                earlier = seen.get(group)
                union[group] = {**(earlier if isinstance(earlier, dict) else {}), **values}
        merged[key] = union
    return merged


def _media_record(
    key: str, raw: Mapping[str, Any], post_ids: tuple[str, ...], metrics: FrozenGroups
) -> MediaRecord:
    kind = raw.get("type")
    duration = raw.get("duration_ms")
    return checked_media(
        key,
        "" if kind is None else str(kind),
        duration if type(duration) is int else None,
        raw.get("preview_image_url"),
        raw.get("url"),
        post_ids,
        metrics,
    )


def merge_media(
    media_json: Iterable[Mapping[str, Any]], posts: Sequence[PostRecord], *, owned: bool = False
) -> tuple[MediaRecord, ...]:
    """``includes.media`` objects (of every page) as one :class:`MediaRecord` per ``media_key``.

    A key sent more than once is merged (later non-null fields win, metric groups are
    united). ``post_ids`` lists every given Post that carries the key, in ``posts`` order.
    Order: keys as the Posts name them, then keys no Post names, as first seen.
    """
    with collector_paused():
        return _media_records(_merged_media_json(media_json), posts, owned=owned)


def _media_records(
    merged: Mapping[str, Mapping[str, Any]], posts: Sequence[PostRecord], *, owned: bool
) -> tuple[MediaRecord, ...]:
    carriers: dict[str, list[str]] = {}
    for post in posts:
        for key in post.media_keys:
            carriers.setdefault(key, []).append(post.id)
    ordered = [key for key in dict.fromkeys([*carriers, *merged]) if key in merged]
    raws = [merged[key] for key in ordered]
    post_ids = [tuple(carriers.get(key, ())) for key in ordered]
    return tuple(map(_media_record, ordered, raws, post_ids, _checked_groups(raws, owned=owned)))


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
    """One answer's Post objects as columns, values checked as :func:`_post_record` does.
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
class _MediaPart:
    """One answer's media objects (those with a string ``media_key``): their fields as X sent
    them (checked once merged, like :func:`_media_record`) and their groups as columns."""

    keys: list[str]
    fields: dict[str, list[Any]]
    """``_MEDIA_FIELDS`` name → raw values."""
    groups: tuple[GroupColumns, ...]


def _media_part(media_json: Sequence[Mapping[str, Any]], shared: dict[Any, Any]) -> _MediaPart:
    media = [m for m in media_json if isinstance(m.get("media_key"), str)]
    keys = list(map(itemgetter("media_key"), media))
    fields = {name: list(map(methodcaller("get", name), media)) for name in _MEDIA_FIELDS}
    if set(map(type, fields["type"])) <= {str}:  # shared like the keys (else checked later)
        fields["type"] = list(map(shared.setdefault, fields["type"], fields["type"]))
    return _MediaPart(
        keys=list(map(shared.setdefault, keys, keys)),
        fields=fields,
        groups=group_parts(media, Level.MEDIA),
    )


def _merged_in_place(
    keys: list[str], fields: dict[str, list[Any]], groups: tuple[GroupColumns, ...]
) -> dict[str, int]:
    """media_key → its first row, each later copy of a key merged into it as
    :func:`_merged_media_json` merges objects (later non-null fields win, groups united)."""
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


def _media_columns(parts: Sequence[_MediaPart], posts: PostColumns) -> MediaColumns:
    """Every answer's media as one row per ``media_key`` (see :func:`merge_media`)."""
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


class _Answers:
    """Answers reduced to columns one at a time: each answer's objects can go as soon as it
    has been added."""

    def __init__(self) -> None:
        self.posts: list[PostColumns] = []
        self.media: list[_MediaPart] = []
        self.shared: dict[Any, Any] = {}
        """Repeated strings (author IDs, media keys, media types), each kept once."""

    def add(self, page: Mapping[str, Any]) -> None:
        items, media = _page_items(page)
        self.posts.append(_post_part(items, self.shared))
        self.media.append(_media_part(media, self.shared))

    def result(self, groups: Sequence[Group]) -> FetchResult:
        posts = PostColumns.concat(self.posts)
        self.posts.clear()
        media = _media_columns(self.media, posts)
        self.media.clear()
        self.shared.clear()
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
    index), media merged across pages as :func:`merge_media` merges them, ``groups`` as given.

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
