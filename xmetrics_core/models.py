"""Plain immutable values that travel from the request path to the frames.

``FetchResult`` is what one "fetch these Posts" call returns: a record or a
status for every unique ID that was asked for, media keyed by ``media_key``,
the rate-limit state and the number of API calls made. Nothing here talks to
the network or to pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

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
}


def _frozen(mapping: MetricGroups | None) -> MetricGroups:
    if not mapping:
        return MappingProxyType({})
    return MappingProxyType({g: MappingProxyType(dict(v)) for g, v in mapping.items()})


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
class PostRecord:
    """One Post as fetched, with the metric groups X returned for it."""

    id: str
    text: str = ""
    author_id: str | None = None
    created_at: datetime | None = None
    media_keys: tuple[str, ...] = ()
    metrics: MetricGroups = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen(self.metrics))

    def value(self, group: Group, name: str) -> int | None:
        """One metric value, None when X did not return it."""
        return self.metrics.get(group.value, {}).get(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaRecord:
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
    metrics: MetricGroups = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen(self.metrics))

    def value(self, group: Group, name: str) -> int | None:
        return self.metrics.get(group.value, {}).get(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdStatus:
    """The outcome for one unique pasted ID (or one invalid token)."""

    id: str
    status: PostStatus
    detail: str = ""
    source: str = ""
    position: int = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitState:
    """X's ``x-rate-limit-*`` headers from the most recent response."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    """When the 15-minute window resets (UTC)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """Everything one fetch produced; nothing pasted is lost."""

    posts: tuple[PostRecord, ...] = ()
    """Posts with metrics, in the order their IDs were pasted."""
    media: tuple[MediaRecord, ...] = ()
    """Deduplicated by ``media_key``."""
    statuses: tuple[IdStatus, ...] = ()
    """One per unique valid ID, in paste order, then one per invalid token."""
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
