"""``GET /2/tweets/analytics`` and ``GET /2/media/analytics`` (``ANALYTICS.md``).

Pure functions of (world, settings, caller, query, now) → :class:`~xmetrics_core.sandbox.api.
ApiAnswer`; the server checks auth, scopes and the tier (pay-per-use apps are refused before
this runs).

* Parameters as the spec gives them: ``ids`` (1–100 Post IDs) or ``media_keys`` (1–100),
  ``start_time`` and ``end_time`` (required, RFC 3339), ``granularity`` (Posts: ``hourly``,
  ``daily``, ``weekly``, ``total``; media: ``hourly``, ``daily``, ``total``), and
  ``analytics.fields`` / ``media_analytics.fields`` from the spec's enums. SPEC 2.166 marks
  ``granularity`` required and SPEC 2.167 optional: when absent it takes the spec's default
  (``total`` for Posts, ``daily`` for media). A span longer than
  ``settings.analytics_max_days`` (28) or an end before the start is a 400.
* Buckets are aligned to UTC hours, days and ISO weeks (Monday); each bucket's ``timestamp``
  is its start (SPEC 2.167), ``total`` has one bucket stamped ``start_time``. The first and
  last buckets are clipped to the requested window, buckets after the sandbox clock's ``now``
  and before the Post existed are left out, so the buckets' values sum exactly to the change
  of the cumulative counters between ``start_time`` and ``min(end_time, now)``:
  ``impressions`` to the growth of ``impression_count`` a lookup shows, ``likes - unlikes``
  to that of ``like_count``.
* ``metrics`` holds the requested fields only. As with every X field parameter, the defaults
  are the identifiers (``id``/``media_key`` and ``timestamp``): without ``analytics.fields``
  each bucket's ``metrics`` is ``{}``. ``data`` is a list (ANALYTICS.md: clients should also
  accept an object).
* Only the author may read a Post's analytics: a Post or media item of someone else is a
  ``not-authorized-for-resource`` "Authorization Error", an unknown or deleted one a "Not Found
  Error", both as partial errors next to ``data`` (HTTP 200). Photos and GIFs have no video
  analytics: their buckets carry ``metrics: {}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from xmetrics_core.sandbox import problems
from xmetrics_core.sandbox.api import (
    ID_PATTERN,
    ApiAnswer,
    Caller,
    JsonDict,
    Query,
    csv_values,
    enum_errors,
    parse_time,
    unknown_parameter_errors,
)
from xmetrics_core.sandbox.settings import SandboxSettings, start_of_utc_day
from xmetrics_core.sandbox.world import (
    MEDIA_ANALYTICS_METRICS,
    POST_ANALYTICS_METRICS,
    World,
)

MEDIA_KEY_PATTERN = re.compile(r"^([0-9]+)_([0-9]+)$")
POST_GRANULARITIES = ("hourly", "daily", "weekly", "total")
MEDIA_GRANULARITIES = ("hourly", "daily", "total")
POST_ANALYTICS_FIELDS = tuple(sorted((*POST_ANALYTICS_METRICS, "id", "timestamp")))
MEDIA_ANALYTICS_FIELDS = tuple(sorted((*MEDIA_ANALYTICS_METRICS, "media_key", "timestamp")))
_STEPS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


def format_bucket_time(moment: datetime) -> str:
    """A bucket's ``timestamp``: ``2025-03-17T06:00:00Z`` (ANALYTICS.md, SPEC 2.167)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_start(moment: datetime, granularity: str) -> datetime:
    """The start of the aligned bucket holding ``moment`` (UTC hours, days, ISO weeks)."""
    if granularity == "hourly":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = start_of_utc_day(moment)
    if granularity == "weekly":
        return day - timedelta(days=day.weekday())
    return day


def buckets(
    start: datetime, end: datetime, granularity: str
) -> list[tuple[datetime, datetime, datetime]]:
    """``(timestamp, from, to)`` of every bucket covering ``[start, end)``, clipped to it."""
    if end <= start:
        return []
    if granularity == "total":
        return [(start, start, end)]
    step = _STEPS[granularity]
    out: list[tuple[datetime, datetime, datetime]] = []
    label = bucket_start(start, granularity)
    while label < end:
        out.append((label, max(label, start), min(label + step, end)))
        label += step
    return out


@dataclass(frozen=True, kw_only=True)
class _Window:
    ids: list[str]
    start: datetime
    end: datetime
    granularity: str
    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _Endpoint:
    ids_param: str
    id_pattern: re.Pattern[str]
    fields_param: str
    fields_enum: tuple[str, ...]
    metric_names: tuple[str, ...]
    granularities: tuple[str, ...]
    default_granularity: str
    resource_type: str
    key_name: str


_POSTS = _Endpoint(
    ids_param="ids",
    id_pattern=ID_PATTERN,
    fields_param="analytics.fields",
    fields_enum=POST_ANALYTICS_FIELDS,
    metric_names=POST_ANALYTICS_METRICS,
    granularities=POST_GRANULARITIES,
    default_granularity="total",
    resource_type="tweet",
    key_name="id",
)
_MEDIA = _Endpoint(
    ids_param="media_keys",
    id_pattern=MEDIA_KEY_PATTERN,
    fields_param="media_analytics.fields",
    fields_enum=MEDIA_ANALYTICS_FIELDS,
    metric_names=MEDIA_ANALYTICS_METRICS,
    granularities=MEDIA_GRANULARITIES,
    default_granularity="daily",
    resource_type="media",
    key_name="media_key",
)


class AnalyticsRenderer:
    """Builds analytics bodies for one world and settings at the sandbox clock's ``now``."""

    def __init__(self, *, world: World, settings: SandboxSettings) -> None:
        self.world = world
        self.settings = settings
        self.host = settings.problem_host

    def posts(self, query: Query, caller: Caller, *, now: datetime) -> ApiAnswer:
        """``GET /2/tweets/analytics``."""
        return self._render(_POSTS, query, caller, now=now)

    def media(self, query: Query, caller: Caller, *, now: datetime) -> ApiAnswer:
        """``GET /2/media/analytics``."""
        return self._render(_MEDIA, query, caller, now=now)

    # -- validation ---------------------------------------------------------------------------
    def _validate(self, spec: _Endpoint, query: Query) -> _Window | list[JsonDict]:
        allowed = [spec.ids_param, "end_time", "start_time", "granularity", spec.fields_param]
        errors = unknown_parameter_errors(query, allowed)
        raw_ids = query.get(spec.ids_param, [])
        ids = csv_values(raw_ids)
        if not ids:
            errors.append(
                problems.parameter_error(
                    spec.ids_param, [], f"The `{spec.ids_param}` query parameter can not be empty"
                )
            )
        elif len(ids) > 100:
            errors.append(
                problems.parameter_error(
                    spec.ids_param,
                    [",".join(raw_ids)],
                    f"The number of values in the `{spec.ids_param}` query parameter list "
                    f"[{len(ids)}] is not between 1 and 100",
                )
            )
        else:
            errors.extend(
                problems.parameter_error(
                    spec.ids_param,
                    [value],
                    f"The `{spec.ids_param}` query parameter value [{value}] is not valid",
                )
                for value in ids
                if not spec.id_pattern.match(value)
            )
        times: dict[str, datetime] = {}
        for name in ("start_time", "end_time"):
            values = query.get(name, [])
            if not values or not values[0]:
                errors.append(
                    problems.parameter_error(
                        name, [], f"The `{name}` query parameter can not be empty"
                    )
                )
                continue
            parsed = parse_time(values[0])
            if parsed is None:
                errors.append(
                    problems.parameter_error(
                        name,
                        [values[0]],
                        f"The `{name}` query parameter value [{values[0]}] is not a valid "
                        "RFC3339 date-time",
                    )
                )
            else:
                times[name] = parsed
        if len(times) == 2:
            start, end = times["start_time"], times["end_time"]
            longest = timedelta(days=self.settings.analytics_max_days)
            if end <= start:
                errors.append(
                    problems.parameter_error(
                        "end_time",
                        [query["end_time"][0]],
                        f"The `end_time` query parameter value [{query['end_time'][0]}] must "
                        f"be after the `start_time` query parameter value "
                        f"[{query['start_time'][0]}]",
                    )
                )
            elif end - start > longest:
                errors.append(
                    problems.parameter_error(
                        "end_time",
                        [query["end_time"][0]],
                        "The time between `start_time` and `end_time` must not be more than "
                        f"{self.settings.analytics_max_days} days",
                    )
                )
        errors.extend(enum_errors(query, "granularity", spec.granularities))
        errors.extend(enum_errors(query, spec.fields_param, spec.fields_enum))
        if errors:
            return errors
        granularity = csv_values(query.get("granularity", [])) or [spec.default_granularity]
        requested = set(csv_values(query.get(spec.fields_param, [])))
        return _Window(
            ids=list(dict.fromkeys(ids)),
            start=times["start_time"],
            end=times["end_time"],
            granularity=granularity[0],
            fields=tuple(name for name in spec.metric_names if name in requested),
        )

    # -- rendering ----------------------------------------------------------------------------
    def _render(self, spec: _Endpoint, query: Query, caller: Caller, *, now: datetime) -> ApiAnswer:
        window = self._validate(spec, query)
        if isinstance(window, list):
            return ApiAnswer(status=400, body=problems.invalid_request(self.host, window))
        data: list[JsonDict] = []
        errors: list[JsonDict] = []
        until = min(window.end, now)
        for key in window.ids:
            found = self._resource(spec, key, now)
            if found is None:
                errors.append(
                    problems.not_found(
                        self.host,
                        resource_type=spec.resource_type,
                        parameter=spec.ids_param,
                        value=key,
                    )
                )
                continue
            owner, appears_at, totals_at = found
            if not caller.user_context or caller.user_id != owner:
                errors.append(
                    problems.not_authorized_for_resource(
                        self.host,
                        resource_type=spec.resource_type,
                        parameter=spec.ids_param,
                        value=key,
                    )
                )
                continue
            data.append(
                {
                    spec.key_name: key,
                    "timestamped_metrics": _series(
                        window, max(window.start, appears_at), until, totals_at
                    ),
                }
            )
        body: JsonDict = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return ApiAnswer(status=200, body=body)

    def _resource(
        self, spec: _Endpoint, key: str, now: datetime
    ) -> tuple[str, datetime, Callable[[datetime], dict[str, int]]] | None:
        if spec is _POSTS:
            post = self.world.post(key, at=now)
            if post is None:
                return None
            return post.author_id, post.created_at, post.analytics_totals_at
        item = self.world.media_item(key, at=now)
        if item is None:
            return None
        return item.owner_id, item.appears_at, item.analytics_totals_at


def _series(
    window: _Window,
    begin: datetime,
    until: datetime,
    totals_at: Callable[[datetime], dict[str, int]],
) -> list[JsonDict]:
    """One ``{timestamp, metrics}`` per bucket from ``begin`` to ``until``: differences of the
    cumulative counters at the bucket's two ends (each end evaluated once)."""
    if window.granularity == "total":
        spans = [(window.start, begin, until)] if until > begin else []
    else:
        spans = buckets(begin, until, window.granularity)
    series: list[JsonDict] = []
    previous_end: datetime | None = None
    previous_totals: dict[str, int] = {}
    for label, start, end in spans:
        before = previous_totals if start == previous_end else totals_at(start)
        after = totals_at(end)
        series.append(
            {
                "timestamp": format_bucket_time(label),
                "metrics": _difference(after, before, window.fields),
            }
        )
        previous_end, previous_totals = end, after
    return series


def _difference(
    after: dict[str, int], before: dict[str, int], fields: Sequence[str]
) -> dict[str, int]:
    if not after:  # photos and GIFs: no video analytics
        return {}
    return {name: after[name] - before.get(name, 0) for name in fields}
