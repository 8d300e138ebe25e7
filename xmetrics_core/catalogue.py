"""The metric catalogue: one declarative table of every metric xmetrics knows.

Every later stage reads this table: the client (which ``tweet.fields`` and
``media.fields`` to ask for), the frames (column names), the figures and the
UI (labels), and the CSV exports (headers). A metric name spelled anywhere
else is a bug waiting to happen.

Column names are X's own dotted paths, ``<group>.<field>``, for example
``public_metrics.like_count`` or ``non_public_metrics.playback_25_count``.

Groups and contexts:

* ``public_metrics`` (any credential) and ``non_public_metrics`` (user
  context, owned Post, at most 30 days old) are *totals* over every context;
* ``organic_metrics`` and ``promoted_metrics`` (user context, owned, at most
  30 days old; promoted also needs the Post to have run as an ad) split those
  totals, so for every metric both carry: total = organic + promoted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from xmetrics_core.errors import InputError


class Level(StrEnum):
    """What a metric describes: the Post itself or a media item attached to it."""

    POST = "post"
    MEDIA = "media"


class Group(StrEnum):
    """X's metric groups, named exactly as the ``*.fields`` parameters name them."""

    PUBLIC = "public_metrics"
    NON_PUBLIC = "non_public_metrics"
    ORGANIC = "organic_metrics"
    PROMOTED = "promoted_metrics"

    @property
    def key(self) -> str:
        """Short name used by the CLI and the UI (``public``, ``non_public`` …)."""
        return self.value.removesuffix("_metrics")

    @property
    def requires_user_context(self) -> bool:
        """Only OAuth 1.0a or OAuth 2.0 user tokens of the owner unlock it."""
        return self is not Group.PUBLIC

    @property
    def context(self) -> Context:
        return _GROUP_CONTEXT[self]

    @property
    def label(self) -> str:
        return _GROUP_LABEL[self]

    @classmethod
    def from_key(cls, key: str) -> Group:
        """``"public"`` or ``"public_metrics"`` → ``Group.PUBLIC``."""
        wanted = key.strip().lower()
        for group in cls:
            if wanted in (group.key, group.value):
                return group
        choices = ", ".join(g.key for g in cls)
        raise InputError(f"unknown metric group {key!r}; choose from {choices}")


class Context(StrEnum):
    """Where the engagement happened. ``total`` covers both other contexts."""

    TOTAL = "total"
    ORGANIC = "organic"
    PROMOTED = "promoted"


_GROUP_CONTEXT = {
    Group.PUBLIC: Context.TOTAL,
    Group.NON_PUBLIC: Context.TOTAL,
    Group.ORGANIC: Context.ORGANIC,
    Group.PROMOTED: Context.PROMOTED,
}
_GROUP_LABEL = {
    Group.PUBLIC: "Public",
    Group.NON_PUBLIC: "Non-public",
    Group.ORGANIC: "Organic",
    Group.PROMOTED: "Promoted",
}

PRIVATE_GROUPS: tuple[Group, ...] = (Group.NON_PUBLIC, Group.ORGANIC, Group.PROMOTED)
ALL_GROUPS: tuple[Group, ...] = (Group.PUBLIC, *PRIVATE_GROUPS)

#: Private groups are only served for Posts created within this many days.
PRIVATE_METRICS_WINDOW_DAYS = 30

#: The playback quartiles, in order, as percentages of the video.
QUARTILES: tuple[int, ...] = (0, 25, 50, 75, 100)


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric as X returns it: ``<group>.<field>`` on a Post or a media item."""

    level: Level
    group: Group
    field: str
    label: str
    description: str
    unit: str = "count"

    @property
    def path(self) -> str:
        """X's dotted path and our column name, e.g. ``organic_metrics.like_count``."""
        return f"{self.group.value}.{self.field}"

    @property
    def context(self) -> Context:
        return self.group.context

    @property
    def private(self) -> bool:
        return self.group.requires_user_context

    @property
    def quartile(self) -> int | None:
        """0/25/50/75/100 for the ``playback_*_count`` fields, else None."""
        if self.field.startswith("playback_") and self.field.endswith("_count"):
            return int(self.field.removeprefix("playback_").removesuffix("_count"))
        return None


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    label: str
    description: str


# -- the seed's table ------------------------------------------------------------------------

_IMPRESSIONS = _Field(
    "impression_count",
    "Impressions",
    "Times the Post was viewed (not unique by user); a view counts when any part is on screen.",
)
_RETWEETS = _Field(
    "retweet_count", "Retweets", "Times the Post was Retweeted; Quote Tweets are not included."
)
_QUOTES = _Field(
    "quote_count",
    "Quote Tweets",
    "Times the Post was Retweeted with a comment; all Quote Tweets are organic.",
)
_LIKES = _Field("like_count", "Likes", "Times the Post was liked.")
_REPLIES = _Field("reply_count", "Replies", "Times the Post was replied to.")
_BOOKMARKS = _Field("bookmark_count", "Bookmarks", "Times the Post was bookmarked.")
_URL_CLICKS = _Field(
    "url_link_clicks",
    "URL link clicks",
    "Clicks on a URL or URL preview card in the Post.",
)
_PROFILE_CLICKS = _Field(
    "user_profile_clicks",
    "Profile clicks",
    "Clicks on the author's display name, user name or profile picture in the Post.",
)
_ENGAGEMENTS = _Field(
    "engagements",
    "Engagements",
    "X's own count of all interactions with the Post (non-public; not always returned).",
)
_VIEWS = _Field(
    "view_count",
    "Video views",
    "Views of the video, aggregated across every Post that carries the same video.",
)
_PLAYBACKS = tuple(
    _Field(
        f"playback_{q}_count",
        f"Played to {q}%",
        f"Users who played the video through to {q}% (across every Post that carries it)."
        if q
        else "Users who started the video (across every Post that carries it).",
    )
    for q in QUARTILES
)

_POST_FIELDS: dict[Group, tuple[_Field, ...]] = {
    Group.PUBLIC: (_IMPRESSIONS, _RETWEETS, _QUOTES, _LIKES, _REPLIES, _BOOKMARKS),
    Group.NON_PUBLIC: (_IMPRESSIONS, _URL_CLICKS, _PROFILE_CLICKS, _ENGAGEMENTS),
    Group.ORGANIC: (_IMPRESSIONS, _RETWEETS, _LIKES, _REPLIES, _URL_CLICKS, _PROFILE_CLICKS),
    Group.PROMOTED: (_IMPRESSIONS, _RETWEETS, _LIKES, _REPLIES, _URL_CLICKS, _PROFILE_CLICKS),
}
_MEDIA_FIELDS: dict[Group, tuple[_Field, ...]] = {
    Group.PUBLIC: (_VIEWS,),
    Group.NON_PUBLIC: _PLAYBACKS,
    Group.ORGANIC: (*_PLAYBACKS, _VIEWS),
    Group.PROMOTED: (*_PLAYBACKS, _VIEWS),
}


def _build() -> tuple[Metric, ...]:
    metrics: list[Metric] = []
    for level, table in ((Level.POST, _POST_FIELDS), (Level.MEDIA, _MEDIA_FIELDS)):
        for group, fields in table.items():
            metrics.extend(
                Metric(
                    level=level,
                    group=group,
                    field=f.name,
                    label=f.label,
                    description=f.description,
                )
                for f in fields
            )
    return tuple(metrics)


#: Every metric, Post metrics first, in the order columns and charts show them.
METRICS: tuple[Metric, ...] = _build()

POST_METRICS: tuple[Metric, ...] = tuple(m for m in METRICS if m.level is Level.POST)
MEDIA_METRICS: tuple[Metric, ...] = tuple(m for m in METRICS if m.level is Level.MEDIA)

_BY_PATH: dict[tuple[Level, str], Metric] = {(m.level, m.path): m for m in METRICS}
_BY_ANY_PATH: dict[str, Metric] = {m.path: m for m in reversed(METRICS)}  # Post metrics win


def metric(level: Level, path: str) -> Metric:
    """Look a metric up by level and dotted path; KeyError if X has no such metric."""
    return _BY_PATH[(level, path)]


def metrics_for(level: Level, groups: Iterable[Group] | None = None) -> tuple[Metric, ...]:
    """The metrics of one level, restricted to ``groups`` (all groups when None)."""
    wanted = set(ALL_GROUPS if groups is None else groups)
    return tuple(m for m in METRICS if m.level is level and m.group in wanted)


def fields_of(level: Level, group: Group) -> tuple[str, ...]:
    """The sub-field names X returns inside one group, e.g. the 3+1 non-public ones."""
    return tuple(m.field for m in METRICS if m.level is level and m.group is group)


def total_metric(level: Level, field: str) -> Metric:
    """The total-context metric that organic + promoted ``field`` should add up to.

    Fields that only the non-public group carries as a total (impressions, link and
    profile clicks, playback quartiles) come from ``non_public_metrics``; the public
    engagement counts (likes, Retweets, replies, video views) from ``public_metrics``.
    """
    for group in (Group.NON_PUBLIC, Group.PUBLIC):
        key = (level, f"{group.value}.{field}")
        if key in _BY_PATH:
            return _BY_PATH[key]
    raise KeyError(f"no total-context metric for {level.value} field {field!r}")


def split_fields(level: Level) -> tuple[str, ...]:
    """Fields carried by both organic and promoted groups: what the split charts show."""
    organic = fields_of(level, Group.ORGANIC)
    promoted = set(fields_of(level, Group.PROMOTED))
    return tuple(f for f in organic if f in promoted)


def column_label(path: str) -> str:
    """A table header for a column: ``"Likes (public)"`` for a metric path (Post or media),
    else the column name in words (``"engagement rate"`` → ``"Engagement rate"``)."""
    found = _BY_ANY_PATH.get(path)
    if found is not None:
        return f"{found.label} ({found.group.label.lower()})"
    return path.replace("_", " ").replace(".", " ").capitalize()


def label_of(field: str) -> str:
    """Human label of a sub-field name ("like_count" → "Likes")."""
    for m in METRICS:
        if m.field == field:
            return m.label
    raise KeyError(field)
