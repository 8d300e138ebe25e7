"""Enterprise analytics: hourly curves for owned Posts and watch time for their videos.

``GET /2/tweets/analytics`` (``ids``) and ``GET /2/media/analytics`` (``media_keys``) return
counts per time bucket (``hourly``, ``daily``, ``weekly`` for Posts, ``total``), for the
caller's own Posts, to Enterprise apps only (``/work/shared/x-api/ANALYTICS.md``). Everything
goes through the one request path (:meth:`xmetrics_core.transport.XApi.get_json`).

What :func:`post_analytics` and :func:`media_analytics` do:

* **Access.** An app-only Bearer token is never sent (X serves analytics to user context
  only). Otherwise the credential's access is looked up in an
  :class:`~xmetrics_core.access.AccessMemory` (by fingerprint, never the token): a credential
  X already refused with ``client-forbidden`` (a pay-per-use app) is not asked again; the
  first refusal or answer is remembered. The result then carries
  :func:`~xmetrics_core.access.analytics_explanation` and every ID the status ``unavailable``.
* **Requests.** IDs (or media keys) in batches of :attr:`AnalyticsSettings.batch_size` (X's
  limit, 100), and the span ``since``..``until`` cut into windows of at most
  :attr:`AnalyticsSettings.max_span` (28 days: the sandbox's limit and the predecessor
  Engagement API's; X does not document one for v2) — one request per batch and window.
  ``until`` defaults to now (the client's clock), ``since`` to the Posts' creation hour, at
  most :attr:`AnalyticsSettings.default_lookback` (30 days) back.
* **Parsing** (:func:`parse_analytics`) tolerates what the sources disagree on: ``data`` as a
  list or an object (or nested once more in ``data``), a bucket's counts under ``metrics`` or
  beside ``timestamp``, numeric strings (coerced), missing or null counts (they stay missing,
  never 0: a null is kept as a missing value, an absent count is no value at all), and metric
  names nobody documented (kept as they are).
* **Windows join** into one series: a bucket cut in two by a window boundary (same post,
  metric and timestamp) is summed; with ``total`` every window's bucket is summed into one
  stamped ``since``.
* **Nothing lost.** Every ID ends with one :class:`AnalyticsStatus`: ``ok``, ``partial`` (some
  windows failed: the detail says which), ``not_found``, ``not_authorized`` (not the caller's:
  X serves analytics to the author only), ``invalid``, ``failed`` or ``unavailable``. A scope
  403 and a 401 are raised (nothing else can work with that token); 402, 429 (after the
  retries) and 400 (an unknown metric name) stop further requests and mark what is left
  ``failed`` saying why; other failures (5xx, timeouts after the retries) mark their batch and
  window and the rest goes on.

Tidy frames are :mod:`xmetrics_core.analytics_frames`, figures
:mod:`xmetrics_core.analytics_figures` (both load pandas; this module does not).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal

from xmetrics_core.access import (
    MEDIA_ANALYTICS_PATH,
    TWEETS_ANALYTICS_PATH,
    AccessMemory,
    AnalyticsAccess,
    access_without_asking,
    analytics_explanation,
    explain_forbidden,
)
from xmetrics_core.errors import (
    Forbidden,
    ForbiddenReason,
    InputError,
    InvalidRequest,
    PaymentRequired,
    RateLimited,
    Unauthorized,
    XApiError,
    format_reset,
    problem_type,
)
from xmetrics_core.models import PostRecord, PostRef
from xmetrics_core.references import ParsedReferences, references_from
from xmetrics_core.transport import CallTally, XApi

Level = Literal["post", "media"]
Granularity = Literal["hourly", "daily", "weekly", "total"]
POST_GRANULARITIES: Final[tuple[Granularity, ...]] = ("hourly", "daily", "weekly", "total")
MEDIA_GRANULARITIES: Final[tuple[Granularity, ...]] = ("hourly", "daily", "total")

#: ``analytics.fields`` (ANALYTICS.md's enum without the identifiers ``id`` and ``timestamp``).
POST_ANALYTICS_METRICS: Final = (
    "impressions",
    "engagements",
    "likes",
    "unlikes",
    "retweets",
    "replies",
    "quote_tweets",
    "bookmarks",
    "shares",
    "url_clicks",
    "user_profile_clicks",
    "detail_expands",
    "permalink_clicks",
    "hashtag_clicks",
    "media_views",
    "follows",
    "unfollows",
    "email_tweet",
    "app_opens",
    "app_install_attempts",
)
#: ``media_analytics.fields`` without ``media_key`` and ``timestamp``.
MEDIA_ANALYTICS_METRICS: Final = (
    "video_views",
    "playback_start",
    "playback25",
    "playback50",
    "playback75",
    "playback_complete",
    "watch_time_ms",
    "play_from_tap",
    "cta_url_clicks",
    "cta_watch_clicks",
)
#: Where an analytics count meets a lookup's (``GET /2/tweets``): the change of the lookup
#: count between two moments is the sum of the buckets between them. ``likes`` counts every
#: like and ``unlikes`` every unlike, so the change of ``like_count`` is ``likes - unlikes``.
LOOKUP_EQUIVALENTS: Final[Mapping[str, str]] = {
    "impressions": "public_metrics.impression_count",
    "retweets": "public_metrics.retweet_count",
    "replies": "public_metrics.reply_count",
    "quote_tweets": "public_metrics.quote_count",
    "bookmarks": "public_metrics.bookmark_count",
    "url_clicks": "non_public_metrics.url_link_clicks",
    "user_profile_clicks": "non_public_metrics.user_profile_clicks",
    "engagements": "non_public_metrics.engagements",
}

#: The same for videos (media lookups through ``expansions=attachments.media_keys``).
MEDIA_LOOKUP_EQUIVALENTS: Final[Mapping[str, str]] = {
    "video_views": "public_metrics.view_count",
    "playback_start": "non_public_metrics.playback_0_count",
    "playback25": "non_public_metrics.playback_25_count",
    "playback50": "non_public_metrics.playback_50_count",
    "playback75": "non_public_metrics.playback_75_count",
    "playback_complete": "non_public_metrics.playback_100_count",
}

MEDIA_KEY_PATTERN: Final = re.compile(r"^[0-9]{1,19}_[0-9]{1,19}$")
_IDENTIFIERS: Final = frozenset({"id", "media_key", "timestamp"})
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, kw_only=True)
class AnalyticsSettings:
    """How requests are cut. Defaults: X's 100 IDs per request, 28-day windows."""

    max_span: timedelta = timedelta(days=28)
    """The longest ``start_time``..``end_time`` of one request (the sandbox refuses longer;
    v2 documents no limit, the Engagement API allowed four weeks)."""
    batch_size: int = 100
    default_lookback: timedelta = timedelta(days=30)
    """How far back ``since`` goes when not given (never before the Posts' creation hour)."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 100:
            raise ValueError("batch_size must be between 1 and 100 (X's limit)")
        if self.max_span < timedelta(hours=1):
            raise ValueError("max_span must be at least an hour")


DEFAULT_SETTINGS: Final = AnalyticsSettings()


class AnalyticsStatusKind(StrEnum):
    """What happened to one requested Post ID or media key."""

    OK = "ok"
    PARTIAL = "partial"
    NOT_FOUND = "not_found"
    NOT_AUTHORIZED = "not_authorized"
    INVALID = "invalid"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"

    @property
    def has_data(self) -> bool:
        return self in (AnalyticsStatusKind.OK, AnalyticsStatusKind.PARTIAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsStatus:
    """One status per requested key (Post ID or media key), saying why when there is no data."""

    key: str
    status: AnalyticsStatusKind
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsPoint:
    """One count of one bucket: ``value`` None when X sent null or a value that is no count."""

    key: str
    timestamp: datetime
    metric: str
    value: int | None


@dataclass(frozen=True, kw_only=True)
class AnalyticsResult:
    """What one :func:`post_analytics` / :func:`media_analytics` call produced."""

    level: Level
    granularity: Granularity
    since: datetime
    until: datetime
    points: tuple[AnalyticsPoint, ...] = ()
    """Bucket counts, by key (request order), metric (as X named them), timestamp."""
    statuses: tuple[AnalyticsStatus, ...] = ()
    """One per unique valid key in request order, then one per invalid token."""
    access: AnalyticsAccess = AnalyticsAccess.UNKNOWN
    explanation: str = ""
    """Why there are no analytics (not Enterprise, app-only token); '' when there are."""
    created_at: Mapping[str, datetime] = field(default_factory=dict)
    """Post ID → creation time (from the snowflake), for "hours since posting"."""
    api_calls: int = 0
    retries: int = 0
    notes: tuple[str, ...] = ()
    """What the parser tolerated (null counts, strings that were no numbers …)."""
    stopped: str = ""
    """Why requests stopped early (402, 429, 400), '' when every planned request was sent."""

    @property
    def available(self) -> bool:
        """True when X served analytics to this credential."""
        return self.access.available

    @property
    def keys(self) -> tuple[str, ...]:
        """The valid requested keys, in order."""
        return tuple(s.key for s in self.statuses if s.status is not AnalyticsStatusKind.INVALID)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names present in the points (X's names, unknown ones included)."""
        return tuple(dict.fromkeys(p.metric for p in self.points))


# -- values -----------------------------------------------------------------------------------


def coerce_count(value: object) -> int | None:
    """A count as an int: ints, integral floats and numeric strings (``"123"``, ``" 7 "``,
    ``"12.0"``); None for null, booleans and anything that is not a whole number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def parse_timestamp(value: object) -> datetime | None:
    """A bucket's ``timestamp`` (``2025-03-17T06:00:00Z``, with or without fractions or an
    offset; no offset means UTC) as an aware UTC datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """X's request form: ``2026-12-01T09:00:00Z`` (whole seconds, UTC)."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


# -- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParsedAnalytics:
    """One analytics answer, read tolerantly (:func:`parse_analytics`)."""

    points: tuple[AnalyticsPoint, ...]
    answered: tuple[str, ...]
    """Keys that appear in ``data`` (with or without buckets)."""
    errors: Mapping[str, Mapping[str, Any]]
    """Key → X's partial error about it (``resource-not-found``, ``not-authorized-…``)."""
    notes: tuple[str, ...]


def _items(data: object, key_name: str) -> list[Mapping[str, Any]]:
    """``data`` as a list of objects: a list, one object, or an object nesting ``data``."""
    if isinstance(data, list):
        return [item for item in data if isinstance(item, Mapping)]
    if isinstance(data, Mapping):
        if key_name not in data and "id" not in data and "data" in data:
            return _items(data["data"], key_name)
        return [data]
    return []


def _buckets(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    series = item.get("timestamped_metrics")
    if series is None and ("metrics" in item or "timestamp" in item):
        series = [item]  # one bucket written flat on the item
    if isinstance(series, Mapping):
        series = [series]
    return [b for b in series if isinstance(b, Mapping)] if isinstance(series, list) else []


def _bucket_metrics(bucket: Mapping[str, Any]) -> Mapping[str, Any] | None:
    metrics = bucket.get("metrics")
    if isinstance(metrics, Mapping):
        return metrics
    if metrics is None:
        rest = {k: v for k, v in bucket.items() if k not in _IDENTIFIERS and k != "metrics"}
        rest.pop("timestamped_metrics", None)
        return rest
    return None


def parse_analytics(
    body: Mapping[str, Any], *, key_name: str, window_start: datetime
) -> ParsedAnalytics:
    """One ``/2/tweets/analytics`` (``key_name="id"``) or ``/2/media/analytics``
    (``"media_key"``) answer → points, the keys answered, partial errors per key, notes.

    A bucket without a readable ``timestamp`` is stamped ``window_start`` when it is the
    item's only one (a ``total`` bucket) and skipped with a note otherwise.
    """
    points: list[AnalyticsPoint] = []
    answered: list[str] = []
    notes: dict[str, int] = {}

    def note(text: str) -> None:
        notes[text] = notes.get(text, 0) + 1

    for item in _items(body.get("data"), key_name):
        raw_key = item.get(key_name, item.get("id", item.get("media_key")))
        if raw_key is None or isinstance(raw_key, (Mapping, list)):
            note("an item without an ID was skipped")
            continue
        key = str(raw_key)
        answered.append(key)
        buckets = _buckets(item)
        for bucket in buckets:
            moment = parse_timestamp(bucket.get("timestamp"))
            if moment is None:
                if len(buckets) != 1:
                    note("a bucket without a readable timestamp was skipped")
                    continue
                moment = window_start
            metrics = _bucket_metrics(bucket)
            if metrics is None:
                note("a bucket whose metrics are not an object was skipped")
                continue
            for name, raw in metrics.items():
                if name in _IDENTIFIERS:
                    continue
                value = coerce_count(raw)
                if raw is None:
                    note("a null count was kept as missing")
                elif value is None:
                    note("a value that is not a whole number was kept as missing")
                points.append(
                    AnalyticsPoint(key=key, timestamp=moment, metric=str(name), value=value)
                )
    errors: dict[str, Mapping[str, Any]] = {}
    raw_errors = body.get("errors")
    for error in raw_errors if isinstance(raw_errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        value = error.get("value", error.get("resource_id"))
        if value is not None:
            errors.setdefault(str(value), error)
    return ParsedAnalytics(
        points=tuple(points),
        answered=tuple(dict.fromkeys(answered)),
        errors=errors,
        notes=tuple(text if count == 1 else f"{text} ({count}×)" for text, count in notes.items()),
    )


# -- planning ---------------------------------------------------------------------------------


def time_windows(
    since: datetime, until: datetime, max_span: timedelta
) -> list[tuple[datetime, datetime]]:
    """``[since, until)`` cut into consecutive windows of at most ``max_span``."""
    windows: list[tuple[datetime, datetime]] = []
    start = since
    while start < until:
        end = min(start + max_span, until)
        windows.append((start, end))
        start = end
    return windows


def chunks(keys: Sequence[str], size: int) -> Iterator[tuple[str, ...]]:
    """``keys`` in consecutive batches of at most ``size``."""
    for index in range(0, len(keys), size):
        yield tuple(keys[index : index + size])


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _whole_seconds(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InputError("times need a time zone (UTC is assumed only when parsing text)")
    return moment.astimezone(UTC).replace(microsecond=0)


def resolve_span(
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    created: Sequence[datetime | None] = (),
    lookback: timedelta = DEFAULT_SETTINGS.default_lookback,
) -> tuple[datetime, datetime]:
    """The span asked for: ``until`` (default now), ``since`` (default the Posts' earliest
    creation hour, at most ``lookback`` before ``until``). InputError when it is empty."""
    end = _whole_seconds(until or now)
    if since is None:
        begin = end - lookback
        known = [c for c in created if c is not None]
        if known and None not in created:
            begin = max(begin, floor_hour(min(known)))
        since = begin
    start = _whole_seconds(since)
    if start >= end:
        raise InputError(
            f"the span is empty: since ({format_time(start)}) must be before until "
            f"({format_time(end)})"
        )
    return start, end


# -- running ----------------------------------------------------------------------------------

#: The memory used when a caller passes none: one per process (the dashboard passes its own
#: server-wide memory; each CLI run its own).
PROCESS_ACCESS_MEMORY: Final = AccessMemory()


@dataclass(frozen=True, kw_only=True)
class _Endpoint:
    level: Level
    path: str
    ids_param: str
    fields_param: str
    key_name: str
    metrics: tuple[str, ...]
    granularities: tuple[Granularity, ...]


_POSTS: Final = _Endpoint(
    level="post",
    path=TWEETS_ANALYTICS_PATH,
    ids_param="ids",
    fields_param="analytics.fields",
    key_name="id",
    metrics=POST_ANALYTICS_METRICS,
    granularities=POST_GRANULARITIES,
)
_MEDIA: Final = _Endpoint(
    level="media",
    path=MEDIA_ANALYTICS_PATH,
    ids_param="media_keys",
    fields_param="media_analytics.fields",
    key_name="media_key",
    metrics=MEDIA_ANALYTICS_METRICS,
    granularities=MEDIA_GRANULARITIES,
)


def post_analytics(
    api: XApi,
    refs_or_ids: ParsedReferences | Iterable[PostRef | str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    granularity: Granularity = "hourly",
    metrics: Sequence[str] | None = None,
    memory: AccessMemory | None = None,
    fingerprint: str | None = None,
    settings: AnalyticsSettings = DEFAULT_SETTINGS,
) -> AnalyticsResult:
    """Hourly (daily, weekly, total) counts of owned Posts from ``GET /2/tweets/analytics``.

    ``refs_or_ids``: Post IDs or URLs (as :func:`~xmetrics_core.references.references_from`
    takes them); ``metrics``: ``analytics.fields`` (default :data:`POST_ANALYTICS_METRICS`);
    ``memory``/``fingerprint``: where access is remembered (default
    :data:`PROCESS_ACCESS_MEMORY` and the credential's fingerprint; the dashboard passes its
    server-wide memory and the connection's fingerprint). See the module doc.
    """
    parsed = references_from(refs_or_ids)
    created = {ref.id: ref.created_at for ref in parsed.refs if ref.created_at is not None}
    invalid = tuple(
        AnalyticsStatus(key=bad.text, status=AnalyticsStatusKind.INVALID, detail=bad.reason)
        for bad in parsed.invalid
    )
    keys = [ref.id for ref in parsed.refs]
    start, end = resolve_span(
        since=since,
        until=until,
        now=api.clock(),
        created=[ref.created_at for ref in parsed.refs],
        lookback=settings.default_lookback,
    )
    return _run(
        api,
        _POSTS,
        keys,
        invalid=invalid,
        since=start,
        until=end,
        granularity=granularity,
        metrics=metrics,
        memory=memory,
        fingerprint=fingerprint,
        settings=settings,
        created=created,
    )


DASHBOARD_CURVE_LIMIT: Final = 10
"""How many owned Posts the dashboard asks hourly curves for at once (those with the most
impressions): one request per 28-day window, and a chart that stays readable."""


def owned_posts(
    posts: Iterable[PostRecord],
    *,
    user_id: str | None,
    limit: int = DASHBOARD_CURVE_LIMIT,
) -> tuple[str, ...]:
    """The IDs of ``posts`` written by ``user_id`` (X serves analytics to the author only),
    the most impressions first (then the newest), at most ``limit``; none without a user."""
    if user_id is None:
        return ()
    own = [post for post in posts if post.author_id == user_id]

    def rank(post: PostRecord) -> tuple[int, float]:
        impressions = post.metrics.get("public_metrics", {}).get("impression_count")
        created = post.created_at.timestamp() if post.created_at else 0.0
        return (-int(impressions) if isinstance(impressions, int) else 0, -created)

    return tuple(post.id for post in sorted(own, key=rank)[: max(limit, 0)])


def split_media_keys(tokens: Iterable[str]) -> tuple[list[str], list[AnalyticsStatus]]:
    """Unique media keys (``13_1866…``) in order, and an ``invalid`` status per other token."""
    keys: dict[str, None] = {}
    invalid: list[AnalyticsStatus] = []
    for token in tokens:
        text = str(token).strip()
        if MEDIA_KEY_PATTERN.fullmatch(text):
            keys.setdefault(text)
        else:
            invalid.append(
                AnalyticsStatus(
                    key=text,
                    status=AnalyticsStatusKind.INVALID,
                    detail="not a media key (media keys look like 13_1866123456789012345)",
                )
            )
    return list(keys), invalid


def media_analytics(
    api: XApi,
    media_keys: Iterable[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    granularity: Granularity = "hourly",
    metrics: Sequence[str] | None = None,
    memory: AccessMemory | None = None,
    fingerprint: str | None = None,
    settings: AnalyticsSettings = DEFAULT_SETTINGS,
) -> AnalyticsResult:
    """Watch time and playback counts of owned videos from ``GET /2/media/analytics``
    (granularity ``hourly``, ``daily`` or ``total``; ``since`` defaults to
    ``default_lookback`` before ``until``). Otherwise as :func:`post_analytics`."""
    keys, invalid = split_media_keys(media_keys)
    start, end = resolve_span(
        since=since, until=until, now=api.clock(), lookback=settings.default_lookback
    )
    return _run(
        api,
        _MEDIA,
        keys,
        invalid=tuple(invalid),
        since=start,
        until=end,
        granularity=granularity,
        metrics=metrics,
        memory=memory,
        fingerprint=fingerprint,
        settings=settings,
        created={},
    )


def detect_analytics_access(
    api: XApi,
    *,
    memory: AccessMemory | None = None,
    fingerprint: str | None = None,
    probe_id: str = "20",
) -> AnalyticsAccess:
    """Whether this credential gets Enterprise analytics, asking X at most once per TTL.

    The remembered answer when there is one; ``USER_CONTEXT_REQUIRED`` for an app-only token
    (no request); else one ``GET /2/tweets/analytics`` for ``probe_id`` over the last hour
    (any valid ID will do: an Enterprise app answers 200, with a partial error when the Post
    is not the caller's). A scope 403 and a 401 are raised; other failures too (nothing is
    remembered then).
    """
    memory = PROCESS_ACCESS_MEMORY if memory is None else memory
    fingerprint = fingerprint or api.credential.fingerprint
    decided = access_without_asking(api.credential)
    if decided is not None:
        return decided
    known = memory.get(fingerprint)
    if known is not AnalyticsAccess.UNKNOWN:
        return known
    end = _whole_seconds(api.clock())
    params = {
        "ids": probe_id,
        "start_time": format_time(end - timedelta(hours=1)),
        "end_time": format_time(end),
        "granularity": "total",
    }
    try:
        api.get_json(TWEETS_ANALYTICS_PATH, params)
    except Forbidden as error:
        if error.reason is ForbiddenReason.ACCESS_LEVEL:
            memory.remember(fingerprint, AnalyticsAccess.NOT_ENROLLED)
            return AnalyticsAccess.NOT_ENROLLED
        raise _explained(error, api, TWEETS_ANALYTICS_PATH) from None
    memory.remember(fingerprint, AnalyticsAccess.AVAILABLE)
    return AnalyticsAccess.AVAILABLE


def _explained(error: Forbidden, api: XApi, path: str) -> Forbidden:
    return error.with_message(explain_forbidden(error, credential=api.credential, path=path))


class _Run:
    """The bookkeeping of one analytics call: points merged across windows, per-key state."""

    def __init__(self, keys: Sequence[str], *, total_at: datetime | None) -> None:
        self.keys = list(keys)
        self.total_at = total_at
        self.values: dict[tuple[str, datetime, str], int | None] = {}
        self.answered: set[str] = set()
        self.final: dict[str, AnalyticsStatus] = {}
        self.failed_windows: dict[str, list[str]] = {}
        self.notes: dict[str, None] = {}
        self.stopped = ""

    def absorb(self, parsed: ParsedAnalytics) -> None:
        for point in parsed.points:
            moment = self.total_at or point.timestamp
            slot = (point.key, moment, point.metric)
            if slot in self.values:
                before = self.values[slot]
                self.values[slot] = (
                    None if before is None or point.value is None else before + point.value
                )
            else:
                self.values[slot] = point.value
        self.answered.update(parsed.answered)
        for key, error in parsed.errors.items():
            if key in self.answered or key in self.final:
                continue
            self.final[key] = _status_of_error(key, error)
        self.notes.update(dict.fromkeys(parsed.notes))

    def fail(self, keys: Iterable[str], window: tuple[datetime, datetime], detail: str) -> None:
        span = f"{format_time(window[0])}..{format_time(window[1])}"
        for key in keys:
            self.failed_windows.setdefault(key, []).append(f"{span}: {detail}")

    def statuses(self, windows: int) -> list[AnalyticsStatus]:
        out: list[AnalyticsStatus] = []
        with_points = {key for key, _, _ in self.values}
        for key in self.keys:
            failed = self.failed_windows.get(key, [])
            if key in self.final and key not in self.answered:
                out.append(self.final[key])
            elif key in self.answered:
                if failed:
                    detail = f"{len(failed)} of {windows} windows failed: " + "; ".join(failed)
                    out.append(
                        AnalyticsStatus(key=key, status=AnalyticsStatusKind.PARTIAL, detail=detail)
                    )
                else:
                    detail = "" if key in with_points else "X returned no buckets for this span"
                    out.append(
                        AnalyticsStatus(key=key, status=AnalyticsStatusKind.OK, detail=detail)
                    )
            elif failed:
                out.append(
                    AnalyticsStatus(
                        key=key, status=AnalyticsStatusKind.FAILED, detail="; ".join(failed)
                    )
                )
            else:
                out.append(
                    AnalyticsStatus(
                        key=key,
                        status=AnalyticsStatusKind.FAILED,
                        detail="X returned neither analytics nor an error for it",
                    )
                )
        return out

    def points(self, metrics_order: Sequence[str]) -> tuple[AnalyticsPoint, ...]:
        key_rank = {key: index for index, key in enumerate(self.keys)}
        metric_rank = {name: index for index, name in enumerate(metrics_order)}
        ordered = sorted(
            self.values.items(),
            key=lambda item: (
                key_rank.get(item[0][0], len(key_rank)),
                item[0][0],
                metric_rank.get(item[0][2], len(metric_rank)),
                item[0][2],
                item[0][1],
            ),
        )
        return tuple(
            AnalyticsPoint(key=key, timestamp=moment, metric=metric, value=value)
            for (key, moment, metric), value in ordered
        )


def _status_of_error(key: str, error: Mapping[str, Any]) -> AnalyticsStatus:
    kind = problem_type(error)
    detail = str(error.get("detail") or error.get("title") or kind)
    if kind == "resource-not-found":
        return AnalyticsStatus(key=key, status=AnalyticsStatusKind.NOT_FOUND, detail=detail)
    if kind in ("not-authorized-for-resource", "not-authorized-for-field"):
        return AnalyticsStatus(
            key=key,
            status=AnalyticsStatusKind.NOT_AUTHORIZED,
            detail=f"{detail} (X serves analytics to the author's own sign-in only)",
        )
    return AnalyticsStatus(key=key, status=AnalyticsStatusKind.FAILED, detail=detail)


def _stop_detail(error: XApiError) -> str:
    if isinstance(error, RateLimited):
        return f"rate limited by X; {format_reset(error.reset_at)}"
    if isinstance(error, PaymentRequired):
        return (
            f"{error.message.rstrip('.')}; add credits to the X developer account "
            "(developer portal), then try again"
        )
    if isinstance(error, InvalidRequest):  # X names each refused parameter in errors[]
        said = [str(e.get("message")) for e in error.api_errors if e.get("message")]
        if said:
            return f"{error.message.rstrip('.')}: {'; '.join(said)}"
    return error.message


def _run(
    api: XApi,
    endpoint: _Endpoint,
    keys: Sequence[str],
    *,
    invalid: tuple[AnalyticsStatus, ...],
    since: datetime,
    until: datetime,
    granularity: Granularity,
    metrics: Sequence[str] | None,
    memory: AccessMemory | None,
    fingerprint: str | None,
    settings: AnalyticsSettings,
    created: Mapping[str, datetime],
) -> AnalyticsResult:
    if granularity not in endpoint.granularities:
        raise InputError(
            f"granularity must be one of {', '.join(endpoint.granularities)} for "
            f"{endpoint.level} analytics, not {granularity!r}"
        )
    fields = tuple(dict.fromkeys(metrics)) if metrics else endpoint.metrics
    if not fields:
        raise InputError("ask for at least one metric")
    memory = PROCESS_ACCESS_MEMORY if memory is None else memory
    fingerprint = fingerprint or api.credential.fingerprint
    base = AnalyticsResult(
        level=endpoint.level,
        granularity=granularity,
        since=since,
        until=until,
        created_at=dict(created),
    )

    def unavailable(access: AnalyticsAccess, calls: int = 0) -> AnalyticsResult:
        explanation = analytics_explanation(access)
        statuses = tuple(
            AnalyticsStatus(key=key, status=AnalyticsStatusKind.UNAVAILABLE, detail=explanation)
            for key in keys
        )
        return replace(
            base,
            access=access,
            explanation=explanation,
            statuses=statuses + invalid,
            api_calls=calls,
        )

    decided = access_without_asking(api.credential)
    if decided is not None:
        return unavailable(decided)
    known = memory.get(fingerprint)
    if known is AnalyticsAccess.NOT_ENROLLED:
        return unavailable(known)
    if not keys:
        return replace(base, access=known, statuses=invalid)

    windows = time_windows(since, until, settings.max_span)
    run = _Run(keys, total_at=since if granularity == "total" else None)
    tally = CallTally()
    access = known
    for window in windows:
        for batch in chunks(keys, settings.batch_size):
            if run.stopped:
                run.fail(batch, window, run.stopped)
                continue
            params = {
                endpoint.ids_param: ",".join(batch),
                "start_time": format_time(window[0]),
                "end_time": format_time(window[1]),
                "granularity": granularity,
                endpoint.fields_param: ",".join(fields),
            }
            try:
                body = api.get_json(endpoint.path, params, tally=tally)
            except Forbidden as error:
                if error.reason is ForbiddenReason.ACCESS_LEVEL:
                    memory.remember(fingerprint, AnalyticsAccess.NOT_ENROLLED)
                    return unavailable(AnalyticsAccess.NOT_ENROLLED, tally.calls)
                raise _explained(error, api, endpoint.path) from None
            except Unauthorized:
                raise
            except (PaymentRequired, RateLimited, InvalidRequest) as error:
                # every later request would be refused the same way (balance, window, params)
                run.stopped = _stop_detail(error)
                run.fail(batch, window, run.stopped)
                continue
            except XApiError as error:
                run.fail(batch, window, _stop_detail(error))
                continue
            if access is not AnalyticsAccess.AVAILABLE:
                access = AnalyticsAccess.AVAILABLE
                memory.remember(fingerprint, access)
            run.absorb(parse_analytics(body, key_name=endpoint.key_name, window_start=window[0]))
    return replace(
        base,
        access=access,
        points=run.points(fields),
        statuses=(*run.statuses(len(windows)), *invalid),
        api_calls=tally.calls,
        retries=tally.retries,
        notes=tuple(run.notes),
        stopped=run.stopped,
    )
