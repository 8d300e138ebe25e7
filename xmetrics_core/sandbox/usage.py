"""What the project has read: per-UTC-day billing, the monthly cap and ``GET /2/usage/tweets``.

X bills pay-per-use reads per resource, each Post **once per UTC day** however often it is read
that day (FACTS §3, "deduplicated per 24h UTC day"). :class:`UsageMeter` records every Post
the sandbox served (lookups and timelines, ``data`` and ``includes.tweets``) under the UTC day
of the sandbox clock's world time and says how many of them were new (billed). The project cap
counts the Posts billed in the current calendar month.

``GET /2/usage/tweets`` (app-only Bearer; ``days`` 1–90, default 7; ``usage.fields``) answers
as X's own example does: by default ``cap_reset_day``, ``project_cap``, ``project_id`` and
``project_usage``, with the two counts as strings (``usage_counts_as_strings``; the spec says
integers, ANALYTICS.md: "numbers may come as strings"). ``daily_project_usage`` and
``daily_client_app_usage`` follow the spec's ``{date, usage}`` shape, one entry per day of the
window, oldest first. ``cap_reset_day`` is the number of days until the cap resets (the
spec's description), i.e. until the first day of next month.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from xmetrics_core.sandbox import problems
from xmetrics_core.sandbox.api import (
    ApiAnswer,
    JsonDict,
    Query,
    csv_values,
    enum_errors,
    unknown_parameter_errors,
)
from xmetrics_core.sandbox.settings import SandboxSettings

USAGE_FIELDS = (
    "cap_reset_day",
    "daily_client_app_usage",
    "daily_project_usage",
    "project_cap",
    "project_id",
    "project_usage",
)
DEFAULT_USAGE_FIELDS = frozenset({"cap_reset_day", "project_cap", "project_id", "project_usage"})


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def next_cycle_start(moment: datetime) -> date:
    """The first day of the calendar month after ``moment``'s (when the cap resets)."""
    day = _utc_day(moment)
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


class UsageMeter:
    """Posts billed per UTC day (each Post once a day). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[date, set[str]] = {}

    def bill(self, post_ids: Iterable[str], *, at: datetime) -> int:
        """Record Posts served at ``at``; return how many were not yet billed that UTC day."""
        day = _utc_day(at)
        with self._lock:
            seen = self._days.setdefault(day, set())
            before = len(seen)
            seen.update(post_ids)
            return len(seen) - before

    def billed_on(self, day: date) -> int:
        """Posts billed on one UTC day."""
        with self._lock:
            return len(self._days.get(day, ()))

    def daily(self, *, days: int, until: datetime) -> list[tuple[date, int]]:
        """``(day, posts billed)`` for the ``days`` UTC days ending with ``until``'s, oldest
        first."""
        last = _utc_day(until)
        with self._lock:
            return [
                (day, len(self._days.get(day, ())))
                for day in (last - timedelta(days=n) for n in reversed(range(days)))
            ]

    def cycle_usage(self, at: datetime) -> int:
        """Posts billed in ``at``'s calendar month up to its day (what the cap counts)."""
        today = _utc_day(at)
        with self._lock:
            return sum(
                len(ids)
                for day, ids in self._days.items()
                if (day.year, day.month) == (today.year, today.month) and day <= today
            )

    def clear(self) -> None:
        """Forget everything billed."""
        with self._lock:
            self._days.clear()


def usage_tweets(
    meter: UsageMeter,
    settings: SandboxSettings,
    query: Query,
    *,
    now: datetime,
    project_id: str,
    client_app_id: str,
) -> ApiAnswer:
    """``GET /2/usage/tweets``."""
    errors = unknown_parameter_errors(query, ["days", "usage.fields"])
    days = 7
    if "days" in query:
        raw = query["days"][0]
        if not raw.isdigit() or not 1 <= int(raw) <= 90:
            errors.append(
                problems.parameter_error(
                    "days",
                    [raw],
                    f"The `days` query parameter value [{raw}] is not between 1 and 90",
                )
            )
        else:
            days = int(raw)
    errors.extend(enum_errors(query, "usage.fields", USAGE_FIELDS))
    if errors:
        return ApiAnswer(status=400, body=problems.invalid_request(settings.problem_host, errors))
    fields = DEFAULT_USAGE_FIELDS | set(csv_values(query.get("usage.fields", [])))

    def count(value: int) -> int | str:
        return str(value) if settings.usage_counts_as_strings else value

    daily = [
        {"date": f"{day.isoformat()}T00:00:00.000Z", "usage": count(used)}
        for day, used in meter.daily(days=days, until=now)
    ]
    values: JsonDict = {
        "cap_reset_day": (next_cycle_start(now) - _utc_day(now)).days,
        "daily_client_app_usage": [
            {"client_app_id": client_app_id, "usage": daily, "usage_result_count": len(daily)}
        ],
        "daily_project_usage": {"project_id": project_id, "usage": daily},
        "project_cap": count(settings.project_cap),
        "project_id": project_id,
        "project_usage": count(meter.cycle_usage(now)),
    }
    return ApiAnswer(
        status=200, body={"data": {name: values[name] for name in USAGE_FIELDS if name in fields}}
    )
