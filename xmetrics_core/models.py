"""Plain immutable values that travel from the request path to the frames.

``FetchResult`` is what one "fetch these Posts" call returns: a record or a
status for every unique ID that was asked for, media keyed by ``media_key``,
the rate-limit state and the number of API calls made. Nothing here talks to
the network or to pandas.

Records are built up to 100,000 at a time, so they are lean: slots, and metric groups
frozen in one :class:`FrozenGroups` per record rather than a dict and a
``MappingProxyType`` per group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType
from typing import final

from xmetrics_core.catalogue import Group

#: ``{"public_metrics": {"like_count": 3, ...}, "organic_metrics": {...}}`` as X sends it.
MetricGroups = Mapping[str, Mapping[str, int | None]]


class PostStatus(StrEnum):
    """Why a pasted ID ended the way it did. Every unique ID gets exactly one."""

    OK = "ok"
    """Every requested group that this Post can have was returned."""
    NOT_PROMOTED = "not_promoted"
    """Owned and recent, organic and non-public returned; it never ran as an ad."""
    PUBLIC_ONLY_NOT_OWNER = "public_only_not_owner"
    """Someone else's Post: X serves its public metrics only."""
    PUBLIC_ONLY_TOO_OLD = "public_only_too_old"
    """Created more than 30 days ago: private groups are no longer served."""
    PUBLIC_ONLY_APP_ONLY = "public_only_app_only"
    """The credential is an app-only Bearer token: public metrics only."""
    PUBLIC_ONLY_NOT_AUTHORIZED = "public_only_not_authorized"
    """X refused the private groups for another reason (detail says which)."""
    NOT_FOUND = "not_found"
    """Deleted, or never existed."""
    NOT_AUTHORIZED = "not_authorized"
    """The Post exists but the caller may not see it (protected or suspended author)."""
    FAILED = "failed"
    """The request carrying it failed after bounded retries (rate limit, 5xx, timeout)."""
    INVALID = "invalid"
    """The pasted text is not a Post ID or a Post URL."""
    DUPLICATE = "duplicate"
    """The same Post was pasted earlier: fetched once, its metrics are on the first row."""

    @property
    def has_metrics(self) -> bool:
        return self in _WITH_METRICS

    @property
    def label(self) -> str:
        return _STATUS_LABEL[self]


_WITH_METRICS = frozenset(
    {
        PostStatus.OK,
        PostStatus.NOT_PROMOTED,
        PostStatus.PUBLIC_ONLY_NOT_OWNER,
        PostStatus.PUBLIC_ONLY_TOO_OLD,
        PostStatus.PUBLIC_ONLY_APP_ONLY,
        PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED,
    }
)
_STATUS_LABEL = {
    PostStatus.OK: "All metrics",
    PostStatus.NOT_PROMOTED: "All metrics (never promoted)",
    PostStatus.PUBLIC_ONLY_NOT_OWNER: "Public only: not your Post",
    PostStatus.PUBLIC_ONLY_TOO_OLD: "Public only: older than 30 days",
    PostStatus.PUBLIC_ONLY_APP_ONLY: "Public only: app-only token",
    PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED: "Public only: private metrics refused",
    PostStatus.NOT_FOUND: "Not found (deleted or never existed)",
    PostStatus.NOT_AUTHORIZED: "Not authorized (protected or suspended account)",
    PostStatus.FAILED: "Failed (see detail)",
    PostStatus.INVALID: "Invalid input",
    PostStatus.DUPLICATE: "Duplicate (fetched once)",
}


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """The slot's own ``__set__`` (bypasses the frozen class's ``__setattr__``)."""
    setter: Callable[[object, object], None] = vars(cls)[name].__set__
    return setter


Counts = Mapping[str, int | None]


_GROUP_SLOTS: dict[str, str] = {
    Group.PUBLIC.value: "_public",
    Group.NON_PUBLIC.value: "_non_public",
    Group.ORGANIC.value: "_organic",
    Group.PROMOTED.value: "_promoted",
}
_KNOWN_GROUPS: tuple[str, ...] = tuple(_GROUP_SLOTS)
_StoredCounts = dict[str, int | None]


@final
class FrozenGroups(Mapping[str, Counts]):
    """X's metric groups, read-only: ``{"public_metrics": {"like_count": 3, …}, …}``.

    Holds its own copies of the groups, one slot per catalogue group (plus a dict for any
    other group name); reading a group gives a read-only view (``MappingProxyType``), so
    nothing reachable from a record can change what it says. Equal to any mapping with the
    same groups and values; iterates the catalogue's groups first. One object per record
    instead of a dict and a proxy per group: when 100,000 records are built at once they
    are built faster, take less memory and leave the garbage collector far fewer objects
    to rescan (a dict of plain counts is not tracked by it).
    """

    __slots__ = ("_public", "_non_public", "_organic", "_promoted", "_other")
    _public: _StoredCounts | None
    _non_public: _StoredCounts | None
    _organic: _StoredCounts | None
    _promoted: _StoredCounts | None
    _other: dict[str, _StoredCounts] | None

    def __init__(self, groups: Mapping[str, Counts] | None = None) -> None:
        copies = {group: dict(values) for group, values in groups.items()} if groups else {}
        _SET_PUBLIC(self, copies.pop(Group.PUBLIC.value, None))
        _SET_NON_PUBLIC(self, copies.pop(Group.NON_PUBLIC.value, None))
        _SET_ORGANIC(self, copies.pop(Group.ORGANIC.value, None))
        _SET_PROMOTED(self, copies.pop(Group.PROMOTED.value, None))
        _SET_OTHER(self, copies or None)

    @classmethod
    def of_catalogue_groups(
        cls,
        groups: tuple[
            _StoredCounts | None, _StoredCounts | None, _StoredCounts | None, _StoredCounts | None
        ],
    ) -> FrozenGroups:
        """The public, non-public, organic and promoted groups (None where absent), kept
        themselves, not copied: for a parser that has just built these dicts and keeps no
        other reference to them (``FrozenGroups(mapping)`` copies)."""
        public, non_public, organic, promoted = groups
        frozen = object.__new__(cls)
        _SET_PUBLIC(frozen, public)
        _SET_NON_PUBLIC(frozen, non_public)
        _SET_ORGANIC(frozen, organic)
        _SET_PROMOTED(frozen, promoted)
        _SET_OTHER(frozen, None)
        return frozen

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def _group(self, group: str) -> _StoredCounts | None:
        read = _READ_SLOT.get(group)
        if read is not None:
            return read(self)
        return None if self._other is None else self._other.get(group)

    def _stored(self) -> dict[str, _StoredCounts]:
        known = (self._public, self._non_public, self._organic, self._promoted)
        stored = {g: v for g, v in zip(_KNOWN_GROUPS, known, strict=True) if v is not None}
        return stored | self._other if self._other else stored

    def __getitem__(self, group: str) -> Counts:
        stored = self._group(group)
        if stored is None:
            raise KeyError(group)
        return MappingProxyType(stored)

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored())

    def __len__(self) -> int:
        return len(self._stored())

    def __contains__(self, group: object) -> bool:
        return isinstance(group, str) and self._group(group) is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenGroups):
            return self._stored() == other._stored()
        if isinstance(other, Mapping):
            return self._stored() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like the dicts it stands for

    def __repr__(self) -> str:
        return f"FrozenGroups({self._stored()!r})"

    def __reduce__(self) -> tuple[type[FrozenGroups], tuple[dict[str, _StoredCounts]]]:
        return (FrozenGroups, (self._stored(),))

    def count(self, group: str, name: str) -> int | None:
        """One value (``count("public_metrics", "like_count")``); None when X left it out."""
        stored = self._group(group)
        return None if stored is None else stored.get(name)

    def other_groups(self) -> tuple[str, ...]:
        """Names of the groups outside the catalogue's four (kept as given), cheaply: the
        history store keeps them as extra fields."""
        return tuple(self._other) if self._other else ()


_READ_SLOT: dict[str, Callable[[FrozenGroups], _StoredCounts | None]] = {
    group: attrgetter(slot) for group, slot in _GROUP_SLOTS.items()
}
_SET_PUBLIC = _slot_setter(FrozenGroups, "_public")
_SET_NON_PUBLIC = _slot_setter(FrozenGroups, "_non_public")
_SET_ORGANIC = _slot_setter(FrozenGroups, "_organic")
_SET_PROMOTED = _slot_setter(FrozenGroups, "_promoted")
_SET_OTHER = _slot_setter(FrozenGroups, "_other")


_NO_GROUPS = FrozenGroups()


def _frozen(mapping: MetricGroups | None) -> FrozenGroups:
    """``mapping`` as FrozenGroups: a FrozenGroups is already read-only and is shared."""
    if isinstance(mapping, FrozenGroups):
        return mapping
    return FrozenGroups(mapping) if mapping else _NO_GROUPS


def group_column(
    records: Sequence[PostRecord] | Sequence[MediaRecord], group: str
) -> list[Counts | None]:
    """Every record's ``group`` values (None where X did not return the group), in order.

    For bulk readers such as the frames: one C-level pass over the records' own read-only
    storage, without a view object per record. Do not change what it returns.
    """
    slot = _GROUP_SLOTS.get(group)
    if slot is not None:
        return list(map(attrgetter(f"metrics.{slot}"), records))
    return [record.metrics._group(group) for record in records]


@dataclass(frozen=True, slots=True, kw_only=True)
class PostRef:
    """One valid pasted reference: the Post ID and where it came from."""

    id: str
    source: str
    """The token as pasted (an ID or a URL)."""
    position: int
    """0-based index of the token in the pasted text's token sequence."""
    created_at: datetime | None
    """From the snowflake timestamp (UTC); None for pre-snowflake IDs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidToken:
    """A pasted token that is neither a Post ID nor a Post URL."""

    text: str
    position: int
    """0-based index of the token in the pasted text's token sequence."""
    offset: int
    """Character offset of the token in the pasted text."""
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateRef:
    """A pasted reference to a Post already pasted earlier in the same text."""

    id: str
    source: str
    """The token as pasted (an ID or a URL)."""
    position: int
    """0-based index of this token in the pasted text's token sequence."""
    first_position: int
    """The position of the first token naming the same Post."""


class _Measured:
    """What Post and media records share: X's metric groups, frozen, read one value at a time."""

    __slots__ = ()
    metrics: FrozenGroups

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen(self.metrics))

    def value(self, group: Group, name: str) -> int | None:
        """One metric value, None when X did not return it."""
        return self.metrics.count(group.value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostRecord(_Measured):
    """One Post as fetched, with the metric groups X returned for it."""

    id: str
    text: str = ""
    author_id: str | None = None
    created_at: datetime | None = None
    media_keys: tuple[str, ...] = ()
    metrics: FrozenGroups = field(default_factory=lambda: _NO_GROUPS)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaRecord(_Measured):
    """A media item, keyed by ``media_key`` and shared by every Post that carries it.

    Video metrics are X's: aggregated across all Posts with the same video.
    """

    media_key: str
    type: str
    """``video``, ``photo`` or ``animated_gif``."""
    duration_ms: int | None = None
    preview_image_url: str | None = None
    url: str | None = None
    post_ids: tuple[str, ...] = ()
    metrics: FrozenGroups = field(default_factory=lambda: _NO_GROUPS)


_POST_SETTERS = tuple(_slot_setter(PostRecord, f.name) for f in fields(PostRecord))
_MEDIA_SETTERS = tuple(_slot_setter(MediaRecord, f.name) for f in fields(MediaRecord))
_SET_ID, _SET_TEXT, _SET_AUTHOR, _SET_CREATED, _SET_MEDIA_KEYS, _SET_POST_METRICS = _POST_SETTERS
_SET_KEY, _SET_TYPE, _SET_DURATION, _SET_PREVIEW, _SET_URL, _SET_POST_IDS, _SET_MEDIA_METRICS = (
    _MEDIA_SETTERS
)


def checked_post(
    post_id: str,
    text: str,
    author_id: str | None,
    created_at: datetime | None,
    media_keys: tuple[str, ...],
    metrics: FrozenGroups,
) -> PostRecord:
    """A :class:`PostRecord` from values a parser has already checked, its slots set
    directly: without the keyword ``__init__`` and ``__post_init__``, which cost 2-3x as
    much when 100,000 records are built at once. Equal to
    ``PostRecord(id=post_id, text=text, …)`` (tested, field by field)."""
    record = object.__new__(PostRecord)
    _SET_ID(record, post_id)
    _SET_TEXT(record, text)
    _SET_AUTHOR(record, author_id)
    _SET_CREATED(record, created_at)
    _SET_MEDIA_KEYS(record, media_keys)
    _SET_POST_METRICS(record, metrics)
    return record


def checked_media(
    media_key: str,
    kind: str,
    duration_ms: int | None,
    preview_image_url: str | None,
    url: str | None,
    post_ids: tuple[str, ...],
    metrics: FrozenGroups,
) -> MediaRecord:
    """A :class:`MediaRecord` from checked values (see :func:`checked_post`)."""
    record = object.__new__(MediaRecord)
    _SET_KEY(record, media_key)
    _SET_TYPE(record, kind)
    _SET_DURATION(record, duration_ms)
    _SET_PREVIEW(record, preview_image_url)
    _SET_URL(record, url)
    _SET_POST_IDS(record, post_ids)
    _SET_MEDIA_METRICS(record, metrics)
    return record


@dataclass(frozen=True, slots=True, kw_only=True)
class IdStatus:
    """The outcome for one unique pasted ID (or one invalid token)."""

    id: str
    status: PostStatus
    detail: str = ""
    source: str = ""
    position: int = -1

    @classmethod
    def invalid(cls, token: InvalidToken) -> IdStatus:
        """The INVALID status of a pasted token that is neither a Post ID nor a Post URL."""
        return cls(
            id=token.text,
            status=PostStatus.INVALID,
            detail=token.reason,
            source=token.text,
            position=token.position,
        )


_SET_STATUS_ID, _SET_STATUS, _SET_DETAIL, _SET_SOURCE, _SET_POSITION = (
    _slot_setter(IdStatus, f.name) for f in fields(IdStatus)
)


def checked_status(
    post_id: str, status: PostStatus, detail: str, source: str, position: int
) -> IdStatus:
    """``IdStatus(id=, status=, detail=, source=, position=)``, positional, the slots set
    directly (see :func:`checked_post`): one per Post of a fetch."""
    made = object.__new__(IdStatus)
    _SET_STATUS_ID(made, post_id)
    _SET_STATUS(made, status)
    _SET_DETAIL(made, detail)
    _SET_SOURCE(made, source)
    _SET_POSITION(made, position)
    return made


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitState:
    """X's ``x-rate-limit-*`` headers from the most recent response."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    """When the 15-minute window resets (UTC)."""
    endpoint: str = ""
    """The request these headers came with, as X's docs name endpoints (``GET /2/tweets``,
    ``GET /2/users/:id/tweets``): each endpoint has its own window."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """Everything one fetch produced; nothing pasted is lost."""

    posts: Sequence[PostRecord] = ()
    """Posts with metrics, in the order their IDs were pasted: a tuple of records, or (a
    parsed answer, ``parsing.result_from_json``) a read-only ``columns.PostRecords`` that
    builds each record from columns on access and equals the tuple of the same records."""
    media: Sequence[MediaRecord] = ()
    """Deduplicated by ``media_key`` (a tuple, or a ``columns.MediaRecords``)."""
    statuses: Sequence[IdStatus] = ()
    """One per unique valid ID, in paste order, then one per invalid token: a tuple, or (a
    fetch, a parsed answer) a read-only ``columns.StatusRecords`` that equals the tuple of the
    same statuses."""
    groups: tuple[Group, ...] = ()
    """The metric groups that were asked for."""
    rate_limit: RateLimitState = field(default_factory=RateLimitState)
    api_calls: int = 0
    retries: int = 0
    fetched_at: datetime | None = None

    def status_of(self, post_id: str) -> IdStatus | None:
        for s in self.statuses:
            if s.id == post_id:
                return s
        return None
