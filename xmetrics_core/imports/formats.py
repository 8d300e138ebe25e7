"""X's analytics export formats, recognised by their header (never by column position).

Four formats (see ``/work/shared/x-exports/README.md`` and the project README):

* :attr:`ExportFormat.LEGACY_POSTS`: analytics.twitter.com's "Tweet activity" export, one row
  per Tweet: ``Tweet id, Tweet permalink, Tweet text, time, impressions, …`` and the same
  counts again prefixed ``promoted …``;
* :attr:`ExportFormat.LEGACY_DAYS`: the same site's per-day export: ``Date, Tweets
  published, impressions, …`` (and the ``promoted …`` columns);
* :attr:`ExportFormat.CONTENT`: x.com's per-Post "content" export: ``Post id, Date, Post
  text, Post Link, Impressions, Likes, …`` (and its early-2025 spellings: ``Link``,
  ``Share``, ``Detail expands`` …);
* :attr:`ExportFormat.OVERVIEW`: x.com's per-day "overview" export: ``Date, Impressions,
  Likes, …, New follows, Unfollows, …``.

Header cells are matched case-insensitively (Unicode casefold, whitespace collapsed, BOM and
zero-width characters dropped) against each field's aliases; ``promoted <alias>`` is the
promoted side of that field. A file is per-Post when it has a Post ID column (legacy when
it also has ``time``, current when it has ``Date``), per-day when it has ``Date`` and no
Post ID (legacy when it carries a legacy-only column: ``Tweets published``, ``engagement
rate`` or any ``promoted …``). Columns the importer does not know are kept, never dropped.

Where each column goes (:func:`destination`): a count with an API counterpart goes to the
catalogue's dotted path (``organic_metrics.like_count`` …), anything else to
``export.<name>`` (``export.detail expands``). Legacy exports hold two sides of one Post:
the unprefixed columns are **organic**, the ``promoted …`` ones **promoted**, total = both
(X's legacy dashboard showed them separately; no file says so, so our column names do).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from xmetrics_core.catalogue import POST_METRICS, Context, Group, Level, metric, total_metric

#: Column names of an imported table that are not metrics.
ID = "id"
CREATED_AT = "created_at"
TEXT = "text"
DATE = "date"
EXPORT_PREFIX = "export."


class ExportFormat(StrEnum):
    LEGACY_POSTS = "legacy_posts"
    LEGACY_DAYS = "legacy_days"
    CONTENT = "content"
    OVERVIEW = "overview"

    @property
    def label(self) -> str:
        return _FORMAT_LABELS[self]

    @property
    def per_post(self) -> bool:
        """One row per Post (else one row per day)."""
        return self in (ExportFormat.LEGACY_POSTS, ExportFormat.CONTENT)

    @property
    def has_sides(self) -> bool:
        """Organic and promoted columns side by side (the legacy exports)."""
        return self in (ExportFormat.LEGACY_POSTS, ExportFormat.LEGACY_DAYS)

    @property
    def row_noun(self) -> str:
        return "Post" if self.per_post else "day"


_FORMAT_LABELS = {
    ExportFormat.LEGACY_POSTS: "legacy per-Post export",
    ExportFormat.LEGACY_DAYS: "legacy per-day export",
    ExportFormat.CONTENT: "per-Post content export",
    ExportFormat.OVERVIEW: "per-day overview export",
}


class Kind(StrEnum):
    """What a column holds, which decides how its cells are parsed."""

    ID = "id"
    TEXT = "text"
    URL = "url"
    TIME = "time"
    DATE = "date"
    COUNT = "count"
    RATE = "rate"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportField:
    """One quantity X's exports carry, under any of its spellings."""

    key: str
    """Our key for it (snake_case): ``impressions``, ``detail_expands`` …"""
    name: str
    """Its name under ``export.`` when it has no API counterpart: ``detail expands``."""
    label: str
    kind: Kind
    aliases: tuple[str, ...]
    """Header spellings, already normalised (:func:`normalise_header`)."""
    api_field: str | None = None
    """The catalogue's Post field with the same count (``impression_count``), if any."""
    splittable: bool = True
    """Legacy exports carry it organic and ``promoted …`` (counts and rates do)."""


def _field(
    key: str,
    label: str,
    kind: Kind,
    *aliases: str,
    api: str | None = None,
    name: str = "",
    one_side: bool = False,
) -> ExportField:
    return ExportField(
        key=key,
        name=name or aliases[0],
        label=label,
        kind=kind,
        aliases=aliases,
        api_field=api,
        splittable=kind in (Kind.COUNT, Kind.RATE) and not one_side,
    )


#: Every field, in the order output columns follow.
FIELDS: tuple[ExportField, ...] = (
    _field("post_id", "Post ID", Kind.ID, "tweet id", "post id"),
    _field("time", "Time", Kind.TIME, "time"),
    _field("date", "Date", Kind.DATE, "date"),
    _field("text", "Text", Kind.TEXT, "tweet text", "post text"),
    _field("permalink", "Link", Kind.URL, "tweet permalink", "post link", "link", name="permalink"),
    _field("impressions", "Impressions", Kind.COUNT, "impressions", api="impression_count"),
    _field("engagements", "Engagements", Kind.COUNT, "engagements", api="engagements"),
    _field("engagement_rate", "Engagement rate", Kind.RATE, "engagement rate"),
    _field("likes", "Likes", Kind.COUNT, "likes", api="like_count"),
    _field("reposts", "Reposts", Kind.COUNT, "retweets", "reposts", api="retweet_count"),
    _field("replies", "Replies", Kind.COUNT, "replies", api="reply_count"),
    _field("bookmarks", "Bookmarks", Kind.COUNT, "bookmarks", api="bookmark_count"),
    _field(
        "profile_visits",
        "Profile visits",
        Kind.COUNT,
        "user profile clicks",
        "profile visits",
        api="user_profile_clicks",
    ),
    _field("url_clicks", "URL clicks", Kind.COUNT, "url clicks", api="url_link_clicks"),
    _field("shares", "Shares", Kind.COUNT, "shares", "share"),
    _field("new_follows", "New follows", Kind.COUNT, "new follows", "follows"),
    _field("unfollows", "Unfollows", Kind.COUNT, "unfollows"),
    _field("detail_expands", "Detail expands", Kind.COUNT, "detail expands"),
    _field("hashtag_clicks", "Hashtag clicks", Kind.COUNT, "hashtag clicks"),
    _field("permalink_clicks", "Permalink clicks", Kind.COUNT, "permalink clicks"),
    _field("app_opens", "App opens", Kind.COUNT, "app opens"),
    _field("app_installs", "App installs", Kind.COUNT, "app installs"),
    _field("email_tweet", "Email Tweet", Kind.COUNT, "email tweet"),
    _field("dial_phone", "Dial phone", Kind.COUNT, "dial phone"),
    _field("media_views", "Media views", Kind.COUNT, "media views"),
    _field("media_engagements", "Media engagements", Kind.COUNT, "media engagements"),
    _field("video_views", "Video views", Kind.COUNT, "video views"),
    _field("posts_published", "Tweets published", Kind.COUNT, "tweets published", one_side=True),
    _field("create_post", "Create Post", Kind.COUNT, "create post", one_side=True),
)
FIELDS_BY_KEY: dict[str, ExportField] = {f.key: f for f in FIELDS}
_BY_ALIAS: dict[str, ExportField] = {alias: f for f in FIELDS for alias in f.aliases}
PROMOTED_PREFIX = "promoted "

#: Columns only the legacy per-day export has (besides the ``promoted …`` ones).
_LEGACY_DAY_MARKERS = frozenset({"posts_published", "engagement_rate"})
#: Early-2025 spellings of the content export (the issue's variant).
VARIANT_2025_SPELLINGS = frozenset({"link", "share"})

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))
_SPACES = re.compile(r"\s+")


def normalise_header(cell: str) -> str:
    """``"  Detail\u00a0Expands "`` → ``"detail expands"``: NFKC, casefold, one space."""
    text = unicodedata.normalize("NFKC", cell.translate(_INVISIBLE))
    return _SPACES.sub(" ", text).strip().strip('"').strip().casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One header cell and what it becomes."""

    position: int
    """0-based column index in the file."""
    header: str
    """The header cell as written."""
    field: ExportField | None
    """None for a column the importer does not know (kept as text or numbers)."""
    context: Context
    destination: str
    """The imported table's column: a catalogue path, ``export.<name>``, ``id`` …"""

    @property
    def kind(self) -> Kind:
        return Kind.UNKNOWN if self.field is None else self.field.kind


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderMatch:
    """A recognised header: the format and one :class:`Column` per header cell."""

    format: ExportFormat
    columns: tuple[Column, ...]
    variant_2025: bool = False
    """The content export with its early-2025 spellings (``Link``, ``Share`` …)."""

    def column(self, key: str, context: Context = Context.TOTAL) -> Column | None:
        for column in self.columns:
            field = column.field
            if field is not None and field.key == key and column.context is context:
                return column
        return None

    @property
    def unknown(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.field is None)


class HeaderProblem(ValueError):
    """The header is not one of X's exports (the message says what it looks like)."""


def field_of(cell: str) -> tuple[ExportField, bool] | None:
    """The field a header cell names and whether it is the ``promoted …`` side."""
    name = normalise_header(cell)
    found = _BY_ALIAS.get(name)
    if found is not None:
        return found, False
    if name.startswith(PROMOTED_PREFIX):
        found = _BY_ALIAS.get(name.removeprefix(PROMOTED_PREFIX).strip())
        if found is not None and found.splittable:
            return found, True
    return None


def recognised_count(cells: Sequence[str]) -> int:
    """How many cells name a known field: how the delimiter sniffer scores a split."""
    return sum(1 for cell in cells if field_of(cell) is not None)


def _metric_path(group: Group, api_field: str) -> str | None:
    try:
        return metric(Level.POST, f"{group.value}.{api_field}").path
    except KeyError:
        return None


def destination(field: ExportField, context: Context, export_format: ExportFormat) -> str:
    """The imported table's column for ``field`` on side ``context`` of ``export_format``.

    Counts with an API counterpart: totals go to the catalogue's total metric
    (``non_public_metrics.impression_count``, ``public_metrics.like_count`` …), the legacy
    organic and promoted sides to ``organic_metrics.*`` / ``promoted_metrics.*`` when the
    catalogue carries the field there. Everything else: ``export.<name>``, with
    ``organic `` / ``promoted `` before the name for the legacy sides.
    """
    if field.kind is Kind.ID:
        return ID
    if field.kind is Kind.TEXT:
        return TEXT
    if field.kind is Kind.TIME:
        return CREATED_AT
    if field.kind is Kind.DATE and not export_format.per_post:
        return DATE
    if field.api_field is not None:
        if context is Context.TOTAL:
            return total_metric(Level.POST, field.api_field).path
        group = Group.ORGANIC if context is Context.ORGANIC else Group.PROMOTED
        path = _metric_path(group, field.api_field)
        if path is not None:
            return path
    side = "" if context is Context.TOTAL else f"{context.value} "
    return f"{EXPORT_PREFIX}{side}{field.name}"


def unknown_destination(header: str, position: int, taken: set[str]) -> str:
    """``export.<header as written>``; ``… (column N)`` when that name is taken or empty."""
    name = _SPACES.sub(" ", header.translate(_INVISIBLE)).strip()
    candidate = f"{EXPORT_PREFIX}{name}" if name else f"{EXPORT_PREFIX}column {position + 1}"
    if candidate in taken:
        candidate = f"{candidate} (column {position + 1})"
    return candidate


def _format_of(keys: set[str], promoted: bool) -> ExportFormat | None:
    if "post_id" in keys:
        if "time" in keys:
            return ExportFormat.LEGACY_POSTS
        if "date" in keys:
            return ExportFormat.CONTENT
        return None
    if "date" in keys:
        if promoted or keys & _LEGACY_DAY_MARKERS:
            return ExportFormat.LEGACY_DAYS
        return ExportFormat.OVERVIEW
    return None


def sniff_header(cells: Sequence[str]) -> HeaderMatch:
    """Recognise the format of a header row; :class:`HeaderProblem` when it is none of X's.

    Every cell gets a :class:`Column`: known fields their destination, unknown cells
    ``export.<cell>``. Two cells naming the same field and side are refused (which one
    would be the count?). Impressions are required in every format.
    """
    found: list[tuple[int, str, ExportField | None, bool]] = []
    for position, cell in enumerate(cells):
        match = field_of(cell)
        found.append((position, cell, *(match or (None, False))))
    keys = {f.key for _, _, f, _ in found if f is not None}
    promoted = any(p for _, _, f, p in found if f is not None)
    export_format = _format_of(keys, promoted)
    if export_format is None:
        raise HeaderProblem(describe_foreign_header(cells, keys))
    if "impressions" not in keys:
        raise HeaderProblem(
            f"it looks like X's {export_format.label} but has no Impressions column"
        )
    columns: list[Column] = []
    seen: dict[str, Column] = {}
    for position, cell, export_field, is_promoted in found:
        if export_field is None:
            continue
        if export_format.has_sides and export_field.splittable:
            context = Context.PROMOTED if is_promoted else Context.ORGANIC
        elif is_promoted:  # a "promoted …" column in a format without sides: keep as is
            continue
        else:
            context = Context.TOTAL
        target = destination(export_field, context, export_format)
        if target in seen:
            first = seen[target]
            raise HeaderProblem(
                f"columns {first.position + 1} ({first.header!r}) and {position + 1} "
                f"({cell!r}) both mean {export_field.label.lower()}"
            )
        column = Column(
            position=position,
            header=cell,
            field=export_field,
            context=context,
            destination=target,
        )
        seen[target] = column
        columns.append(column)
    taken = set(seen)
    for position, cell, export_field, is_promoted in found:
        if export_field is not None and not (is_promoted and not export_format.has_sides):
            continue
        target = unknown_destination(cell, position, taken)
        taken.add(target)
        columns.append(
            Column(
                position=position,
                header=cell,
                field=None,
                context=Context.TOTAL,
                destination=target,
            )
        )
    columns.sort(key=lambda c: c.position)
    spellings = {normalise_header(c) for c in cells}
    return HeaderMatch(
        format=export_format,
        columns=tuple(columns),
        variant_2025=export_format is ExportFormat.CONTENT
        and bool(spellings & VARIANT_2025_SPELLINGS),
    )


#: Headers of other services' exports that people mistake for X's (normalised cells).
_FOREIGN: tuple[tuple[str, frozenset[str]], ...] = (
    ("a YouTube Studio export", frozenset({"video title", "watch time (hours)"})),
    ("a YouTube Studio export", frozenset({"content", "video publish time"})),
)


def describe_foreign_header(cells: Sequence[str], keys: set[str] | None = None) -> str:
    """Why a header is not X's, naming what it looks like when we can tell."""
    names = {normalise_header(c) for c in cells}
    shown = ", ".join(repr(c.strip()[:40]) for c in cells[:6]) + (" …" if len(cells) > 6 else "")
    for what, signature in _FOREIGN:
        if signature <= names:
            return (
                f"this is not one of X's analytics exports: its header ({shown}) is that of {what}"
            )
    if keys:
        return (
            f"the header ({shown}) has some of X's column names but neither a Post ID "
            "column (Tweet id / Post id) nor a Date column, so it is none of X's four exports"
        )
    return (
        f"this is not one of X's analytics exports: the first line has {len(cells)} "
        f"column{'s' if len(cells) != 1 else ''} ({shown}); X's exports start with "
        "'Tweet id', 'Post id' or 'Date'"
    )


def output_columns(columns: Sequence[str]) -> list[str]:
    """Order metric and export columns: catalogue paths in the catalogue's order, then
    ``export.*`` in field order (total, organic, promoted), then unknown ones as found."""
    rank: dict[str, int] = {m.path: i for i, m in enumerate(POST_METRICS)}
    base = len(rank)
    for i, export_field in enumerate(FIELDS):
        for j, side in enumerate(("", "organic ", "promoted ")):
            rank.setdefault(f"{EXPORT_PREFIX}{side}{export_field.name}", base + 3 * i + j)
    unknown = base + 3 * len(FIELDS)
    return sorted(columns, key=lambda c: rank.get(c, unknown))
