"""The record parser the columnar parse replaced, kept as the tests' oracle: X's JSON straight
to :class:`PostRecord` / :class:`MediaRecord` values, object by object, with none of the
columns' code. ``tests/test_columns.py`` checks that answers reduced to columns give the same
records, results and frames as this independent reading of the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import methodcaller
from typing import Any

from xmetrics_core.catalogue import ALL_GROUPS
from xmetrics_core.models import (
    FrozenGroups,
    MediaRecord,
    PostRecord,
    checked_media,
    checked_post,
)
from xmetrics_core.parsing import parse_created_at

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
    return list(map(_post_record, items, _checked_groups(items, owned=owned)))


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
