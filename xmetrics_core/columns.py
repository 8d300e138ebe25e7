"""Posts and media as columns: what a parsed answer is reduced to, and what frames read.

The parser reduces each answer to columns as soon as it is decoded (``parsing``), so only one
answer's JSON objects are alive at a time: per-field lists of ids, texts, times and media keys,
and per metric group a block of int64 counts with a state per cell (a value, X's null, or a
sub-key X left out), so missing stays missing and each record can be rebuilt exactly as the
record parser would have built it. :class:`PostRecords` / :class:`MediaRecords` are the read-only
sequences a :class:`~xmetrics_core.models.FetchResult` then holds: each record is built on access
and nothing is cached. Results built from records get their columns from the records
(:func:`post_columns`, :func:`media_columns`), so frames have one path: columns → frames.

NumPy and Arrow (texts), no pandas; not imported by ``models`` (the CLI's ``--help`` loads no
NumPy).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import attrgetter, itemgetter, methodcaller
from typing import Any, Final, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from xmetrics_core.catalogue import ALL_GROUPS, Level, fields_of
from xmetrics_core.models import (
    FrozenGroups,
    IdStatus,
    MediaRecord,
    PostRecord,
    PostStatus,
    checked_media,
    checked_post,
    checked_status,
    group_column,
)

#: Cell states of a :class:`GroupColumns` block.
VALUE: Final = 0
"""X sent a count."""
NULL: Final = 1
"""X sent the sub-key with null (or a value that is not a count)."""
ABSENT: Final = 2
"""X left the sub-key out (or the whole group)."""

R = TypeVar("R", PostRecord, MediaRecord, IdStatus)
Int64Matrix = npt.NDArray[np.int64]
StateMatrix = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]

GROUP_KEYS: Final[tuple[str, ...]] = tuple(g.value for g in ALL_GROUPS)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GroupColumns:
    """One metric group of n records: ``fields`` (the catalogue's, then any other sub-key X
    sent), ``present`` (n,: the record has the group), ``values`` and ``state`` (fields × n:
    the count, 0 unless ``state`` is VALUE). Frames share ``values`` rows: never write to
    them once built."""

    fields: tuple[str, ...]
    present: BoolArray
    values: Int64Matrix
    state: StateMatrix

    def __len__(self) -> int:
        return len(self.present)

    def counts(self, row: int) -> dict[str, int | None] | None:
        """The record's group as the record parser keeps it (None: X sent no group)."""
        if not self.present[row]:
            return None
        values = self.values[:, row].tolist()
        states = self.state[:, row].tolist()
        return {
            name: (value if state == VALUE else None)
            for name, value, state in zip(self.fields, values, states, strict=True)
            if state != ABSENT
        }

    def column(self, name: str) -> tuple[Int64Matrix, BoolArray]:
        """One sub-field's counts and where they are missing (null or left out)."""
        if name not in self.fields:
            return np.zeros(len(self), dtype=np.int64), np.ones(len(self), dtype=bool)
        row = self.fields.index(name)
        return self.values[row], self.state[row] != VALUE

    def take(self, rows: npt.NDArray[np.intp]) -> GroupColumns:
        return GroupColumns(
            fields=self.fields,
            present=self.present[rows],
            values=self.values[:, rows],
            state=self.state[:, rows],
        )

    @classmethod
    def empty(cls, fields: tuple[str, ...], n: int = 0) -> GroupColumns:
        return cls(
            fields=fields,
            present=np.zeros(n, dtype=bool),
            values=np.zeros((len(fields), n), dtype=np.int64),
            state=np.full((len(fields), n), ABSENT, dtype=np.uint8),
        )

    @classmethod
    def concat(cls, parts: Sequence[GroupColumns], fields: tuple[str, ...]) -> GroupColumns:
        """Parts one after the other; ``fields`` first, then any other sub-key a part has."""
        names = tuple(dict.fromkeys(chain(fields, *(p.fields for p in parts))))
        if not parts:
            return cls.empty(names)
        if all(p.fields == names for p in parts):
            values = np.concatenate([p.values for p in parts], axis=1)
            state = np.concatenate([p.state for p in parts], axis=1)
        else:
            widened = [p.widened(names) for p in parts]
            values = np.concatenate([p.values for p in widened], axis=1)
            state = np.concatenate([p.state for p in widened], axis=1)
        return cls(
            fields=names,
            present=np.concatenate([p.present for p in parts]),
            values=values,
            state=state,
        )

    def widened(self, names: tuple[str, ...]) -> GroupColumns:
        """The same cells under ``names`` (a superset of ``fields``): new sub-keys ABSENT."""
        wide = GroupColumns.empty(names, len(self))
        rows = [names.index(name) for name in self.fields]
        wide.values[rows] = self.values
        wide.state[rows] = self.state
        wide.present[:] = self.present
        return wide


def group_columns(groups: Sequence[object], fields: tuple[str, ...]) -> GroupColumns:
    """Each item's group (a JSON object, or anything else for "no group") as columns.

    A value that is not an int (or null) counts as null, like the record parser's; so does a
    count beyond int64 (the record parser keeps it; X's counts are far below). The usual
    page (every group has exactly ``fields``, all counts) is read with C-level passes; any
    other page is read value by value.
    """
    n = len(groups)
    chosen: list[dict[str, Any]] = [g for g in groups if type(g) is dict]
    k = len(fields)
    exact = (
        k > 0
        and sum(map(len, chosen)) == len(chosen) * k
        and set(map(type, chain.from_iterable(map(dict.values, chosen)))) <= {int}
    )
    if exact:
        getter = itemgetter(*fields)
        rows: Iterable[Any] = map(getter, chosen) if k > 1 else ((getter(g),) for g in chosen)
        try:
            flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(chosen) * k)
        except (KeyError, OverflowError):  # another sub-key instead of one of ours; a huge count
            pass
        else:
            block = flat.reshape(len(chosen), k).T
            if len(chosen) == n:
                return GroupColumns(
                    fields=fields,
                    present=np.ones(n, dtype=bool),
                    values=np.ascontiguousarray(block),
                    state=np.zeros((k, n), dtype=np.uint8),
                )
            out = GroupColumns.empty(fields, n)
            present = np.fromiter((type(g) is dict for g in groups), dtype=bool, count=n)
            out.present[:] = present
            out.values[:, present] = block
            out.state[:, present] = VALUE
            return out
    return _group_columns_one_by_one(groups, chosen, fields)


def _group_columns_one_by_one(
    groups: Sequence[object], chosen: list[dict[str, Any]], fields: tuple[str, ...]
) -> GroupColumns:
    names = tuple(dict.fromkeys(chain(fields, map(str, chain.from_iterable(chosen)))))
    index = {name: i for i, name in enumerate(names)}
    out = GroupColumns.empty(names, len(groups))
    for row, group in enumerate(groups):
        if type(group) is not dict:
            continue
        out.present[row] = True
        for name, value in group.items():
            i = index[str(name)]
            if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
                out.values[i, row] = value
                out.state[i, row] = VALUE
            else:
                out.state[i, row] = NULL
    return out


def group_parts(items: Sequence[Mapping[str, Any]], level: Level) -> tuple[GroupColumns, ...]:
    """The catalogue's four groups of JSON objects (``ALL_GROUPS`` order) as columns.

    The usual answer (every item has every group with exactly the catalogue's sub-keys, all
    counts) is read in one C-level pass over all its values, checked by ``array("q")`` (which
    takes ints only); any other answer group by group (:func:`group_columns`).
    """
    fields = [fields_of(level, group) for group in ALL_GROUPS]
    columns = [list(map(methodcaller("get", key), items)) for key in GROUP_KEYS]
    n = len(items)
    exact = n > 0 and all(
        set(map(type, column)) == {dict} and sum(map(len, column)) == n * len(names)
        for column, names in zip(columns, fields, strict=True)
    )
    if exact:
        values = chain.from_iterable(
            map(itemgetter(*names), column)
            if len(names) == 1
            else chain.from_iterable(map(itemgetter(*names), column))
            for column, names in zip(columns, fields, strict=True)
        )
        try:  # array("q") takes ints only: a null, float or string raises TypeError
            flat: Int64Matrix | None = np.frombuffer(array("q", list(values)), dtype=np.int64)
        except (KeyError, TypeError, OverflowError):  # another sub-key; not a count; huge
            flat = None
        if flat is not None:
            blocks: list[GroupColumns] = []
            start = 0
            for names in fields:
                stop = start + n * len(names)
                blocks.append(
                    GroupColumns(
                        fields=names,
                        present=np.ones(n, dtype=bool),
                        values=flat[start:stop].reshape(n, len(names)).T,
                        state=np.zeros((len(names), n), dtype=np.uint8),
                    )
                )
                start = stop
            return tuple(blocks)
    return tuple(
        group_columns(column, names) for column, names in zip(columns, fields, strict=True)
    )


def _metrics_of(groups: tuple[GroupColumns, ...], row: int) -> FrozenGroups:
    public, non_public, organic, promoted = (g.counts(row) for g in groups)
    return FrozenGroups.of_catalogue_groups((public, non_public, organic, promoted))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PostColumns:
    """n Posts as columns (values already checked as the record parser checks them)."""

    ids: tuple[str, ...]
    texts: pa.LargeStringArray
    """UTF-8 in one Arrow buffer (a Python string of a text with an emoji takes 4 bytes a
    character); frames use it as it is."""
    author_ids: tuple[str | None, ...]
    created_at: tuple[datetime | None, ...]
    media_keys: tuple[tuple[str, ...], ...]
    groups: tuple[GroupColumns, ...]
    """One per catalogue group (``ALL_GROUPS`` order)."""

    def __len__(self) -> int:
        return len(self.ids)

    def record(self, row: int) -> PostRecord:
        return checked_post(
            self.ids[row],
            self.texts[row].as_py(),
            self.author_ids[row],
            self.created_at[row],
            self.media_keys[row],
            _metrics_of(self.groups, row),
        )

    @classmethod
    def of_records(cls, posts: Sequence[PostRecord]) -> PostColumns:
        """Records as columns (groups outside the catalogue's four are left out)."""
        return cls(
            ids=tuple(map(attrgetter("id"), posts)),
            texts=text_array(list(map(attrgetter("text"), posts))),
            author_ids=tuple(map(attrgetter("author_id"), posts)),
            created_at=tuple(map(attrgetter("created_at"), posts)),
            media_keys=tuple(map(attrgetter("media_keys"), posts)),
            groups=tuple(
                group_columns(group_column(posts, key), fields_of(Level.POST, group))
                for key, group in zip(GROUP_KEYS, ALL_GROUPS, strict=True)
            ),
        )

    def take(self, rows: Sequence[int]) -> PostColumns:
        """These rows, in this order (a row may repeat)."""
        index = np.fromiter(rows, dtype=np.intp, count=len(rows))
        return PostColumns(
            ids=tuple(map(self.ids.__getitem__, rows)),
            texts=self.texts.take(pa.array(index)),
            author_ids=tuple(map(self.author_ids.__getitem__, rows)),
            created_at=tuple(map(self.created_at.__getitem__, rows)),
            media_keys=tuple(map(self.media_keys.__getitem__, rows)),
            groups=tuple(group.take(index) for group in self.groups),
        )

    @classmethod
    def concat(cls, parts: Sequence[PostColumns]) -> PostColumns:
        return cls(
            ids=tuple(chain.from_iterable(p.ids for p in parts)),
            texts=pa.concat_arrays([p.texts for p in parts]) if parts else text_array([]),
            author_ids=tuple(chain.from_iterable(p.author_ids for p in parts)),
            created_at=tuple(chain.from_iterable(p.created_at for p in parts)),
            media_keys=tuple(chain.from_iterable(p.media_keys for p in parts)),
            groups=concat_groups([p.groups for p in parts], Level.POST),
        )


def text_array(texts: Sequence[Any]) -> pa.LargeStringArray:
    """Texts as one Arrow array (anything but a string as ``str()`` of it, as a frame's ``str``
    column shows it)."""
    try:
        return pa.array(texts, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if t is None else str(t) for t in texts], type=pa.large_string())


def concat_groups(
    parts: Sequence[tuple[GroupColumns, ...]], level: Level
) -> tuple[GroupColumns, ...]:
    """Each catalogue group's parts one after the other."""
    return tuple(
        GroupColumns.concat([p[i] for p in parts], fields_of(level, group))
        for i, group in enumerate(ALL_GROUPS)
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MediaColumns:
    """n media items as columns, one row per ``media_key``."""

    keys: tuple[str, ...]
    types: tuple[str, ...]
    durations: tuple[int | None, ...]
    preview_image_urls: tuple[Any, ...]
    urls: tuple[Any, ...]
    post_ids: tuple[tuple[str, ...], ...]
    groups: tuple[GroupColumns, ...]
    post_ids_from_posts: bool = False
    """True when ``post_ids`` are exactly the result's Posts that name each key, in order
    (the parser's), so a frame need not match them against the Posts again."""

    def __len__(self) -> int:
        return len(self.keys)

    def record(self, row: int) -> MediaRecord:
        return checked_media(
            self.keys[row],
            self.types[row],
            self.durations[row],
            self.preview_image_urls[row],
            self.urls[row],
            self.post_ids[row],
            _metrics_of(self.groups, row),
        )

    @classmethod
    def of_records(cls, media: Sequence[MediaRecord]) -> MediaColumns:
        return cls(
            keys=tuple(map(attrgetter("media_key"), media)),
            types=tuple(map(attrgetter("type"), media)),
            durations=tuple(map(attrgetter("duration_ms"), media)),
            preview_image_urls=tuple(map(attrgetter("preview_image_url"), media)),
            urls=tuple(map(attrgetter("url"), media)),
            post_ids=tuple(map(attrgetter("post_ids"), media)),
            groups=tuple(
                group_columns(group_column(media, key), fields_of(Level.MEDIA, group))
                for key, group in zip(GROUP_KEYS, ALL_GROUPS, strict=True)
            ),
        )


class _RecordsView(Generic[R]):
    """A read-only sequence of records built from columns on access (nothing cached)."""

    __slots__ = ("columns",)
    columns: PostColumns | MediaColumns | StatusColumns

    def __init__(self, columns: PostColumns | MediaColumns | StatusColumns) -> None:
        object.__setattr__(self, "columns", columns)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __len__(self) -> int:
        return len(self.columns)

    def _record(self, row: int) -> R:
        record: R = self.columns.record(row)  # type: ignore[assignment]
        return record

    @overload
    def __getitem__(self, index: int) -> R: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[R, ...]: ...
    def __getitem__(self, index: int | slice) -> R | tuple[R, ...]:
        if isinstance(index, slice):
            return tuple(map(self._record, range(len(self))[index]))
        return self._record(range(len(self))[index])

    def __iter__(self) -> Iterator[R]:
        return map(self._record, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, (Sequence, _RecordsView)) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like the tuple of records it stands for

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} records)"

    def __reduce__(self) -> tuple[type[Any], tuple[Any]]:
        return (type(self), (self.columns,))


class PostRecords(_RecordsView[PostRecord], Sequence[PostRecord]):
    """``FetchResult.posts`` of a parsed answer: :class:`PostRecord` values built on access."""

    __slots__ = ()
    columns: PostColumns

    def __init__(self, columns: PostColumns) -> None:
        super().__init__(columns)


class MediaRecords(_RecordsView[MediaRecord], Sequence[MediaRecord]):
    """``FetchResult.media`` of a parsed answer: :class:`MediaRecord` values built on access."""

    __slots__ = ()
    columns: MediaColumns

    def __init__(self, columns: MediaColumns) -> None:
        super().__init__(columns)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StatusColumns:
    """n statuses (one per unique pasted ID, then one per invalid token) as columns."""

    ids: tuple[str, ...]
    statuses: tuple[PostStatus, ...]
    details: tuple[str, ...]
    sources: tuple[str, ...]
    positions: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def record(self, row: int) -> IdStatus:
        return checked_status(
            self.ids[row],
            self.statuses[row],
            self.details[row],
            self.sources[row],
            self.positions[row],
        )

    @classmethod
    def of_records(cls, statuses: Sequence[IdStatus]) -> StatusColumns:
        return cls(
            ids=tuple(map(attrgetter("id"), statuses)),
            statuses=tuple(map(attrgetter("status"), statuses)),
            details=tuple(map(attrgetter("detail"), statuses)),
            sources=tuple(map(attrgetter("source"), statuses)),
            positions=tuple(map(attrgetter("position"), statuses)),
        )


class StatusRecords(_RecordsView[IdStatus], Sequence[IdStatus]):
    """``FetchResult.statuses`` of a fetch or a parsed answer: :class:`IdStatus` values built
    on access from columns (100,000 statuses are five tuples, not 100,000 objects for the
    cyclic collector to scan)."""

    __slots__ = ()
    columns: StatusColumns

    def __init__(self, columns: StatusColumns) -> None:
        super().__init__(columns)


def ok_statuses(post_ids: Sequence[str]) -> StatusRecords:
    """``IdStatus(id=i, status=OK, source=i, position=n)`` for each ID in order: a parsed
    answer's statuses."""
    ids = tuple(post_ids)
    return StatusRecords(
        StatusColumns(
            ids=ids,
            statuses=(PostStatus.OK,) * len(ids),
            details=("",) * len(ids),
            sources=ids,
            positions=tuple(range(len(ids))),
        )
    )


def status_columns(statuses: Sequence[IdStatus]) -> StatusColumns:
    """The columns of ``FetchResult.statuses``: its own, or read from its records."""
    if isinstance(statuses, StatusRecords):
        return statuses.columns
    return StatusColumns.of_records(statuses)


def post_columns(posts: Sequence[PostRecord]) -> PostColumns:
    """The columns of ``FetchResult.posts``: its own, or read from its records."""
    return posts.columns if isinstance(posts, PostRecords) else PostColumns.of_records(posts)


def media_columns(media: Sequence[MediaRecord]) -> MediaColumns:
    """The columns of ``FetchResult.media``: its own, or read from its records."""
    return media.columns if isinstance(media, MediaRecords) else MediaColumns.of_records(media)
