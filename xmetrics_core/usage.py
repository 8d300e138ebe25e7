"""What the project has spent: ``GET /2/usage/tweets`` (app-only Bearer; ANALYTICS.md).

X answers with the Posts the project read per UTC day (``daily_project_usage``; per app in
``daily_client_app_usage``), the Posts read in this billing cycle (``project_usage``), the
monthly cap (``project_cap``) and the days until it resets (``cap_reset_day``). The sources
disagree on the shape, so :func:`parse_usage` accepts both: a day's count under ``usage`` (the
spec) or ``tweets_consumed`` (the prose example), counts as numbers or strings, dates with or
without a time. A count X did not send stays None, never 0.

:func:`fetch_project_usage` goes through the one request path with the app's Bearer token;
:func:`app_bearer_for` finds that token for a connection: the Bearer token itself, or for
OAuth 1.0a keys the app's token obtained with its API key and secret (one ``POST
/oauth2/token``). An OAuth 2.0 sign-in does not know the app's keys: then
:data:`~xmetrics_core.access.USAGE_NEEDS_APP_BEARER` says what to add.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from xmetrics_core.access import USAGE_NEEDS_APP_BEARER, USAGE_TWEETS_PATH
from xmetrics_core.analytics import coerce_count
from xmetrics_core.credentials import BearerCredential, Credential, OAuth1Credential
from xmetrics_core.defaults import DEFAULT_TIMEOUTS, X_API_BASE_URL, Timeouts
from xmetrics_core.errors import AppBearerRequired, InputError, InvalidResponse
from xmetrics_core.oauth import fetch_app_bearer_token
from xmetrics_core.transport import XApi

USAGE_FIELDS: Final = (
    "cap_reset_day",
    "daily_client_app_usage",
    "daily_project_usage",
    "project_cap",
    "project_id",
    "project_usage",
)
MIN_DAYS: Final = 1
MAX_DAYS: Final = 90


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyUsage:
    """Posts read on one UTC day (None: X sent no readable count)."""

    day: date
    posts: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppUsage:
    """One client app's daily reads (``daily_client_app_usage``)."""

    client_app_id: str
    daily: tuple[DailyUsage, ...]


@dataclass(frozen=True, kw_only=True)
class ProjectUsage:
    """What the project has spent, as X reports it at ``fetched_at``."""

    project_id: str | None
    project_usage: int | None
    """Posts read in the current billing cycle."""
    project_cap: int | None
    """The cycle's cap on Post reads."""
    cap_reset_day: int | None
    """Days until the cap resets (X's ``cap_reset_day``)."""
    daily: tuple[DailyUsage, ...]
    """The project's reads per UTC day, oldest first."""
    apps: tuple[AppUsage, ...]
    fetched_at: datetime

    @property
    def cap_remaining(self) -> int | None:
        """Post reads left this cycle (never below 0), or None when either count is unknown."""
        if self.project_cap is None or self.project_usage is None:
            return None
        return max(0, self.project_cap - self.project_usage)

    @property
    def cap_used_share(self) -> float | None:
        """``project_usage / project_cap`` (0.25 = a quarter used); None when unknown or the
        cap is 0."""
        if not self.project_cap or self.project_usage is None:
            return None
        return self.project_usage / self.project_cap

    @property
    def resets_on(self) -> date | None:
        """The UTC day the cap resets: ``fetched_at``'s day + ``cap_reset_day``."""
        if self.cap_reset_day is None:
            return None
        return (self.fetched_at.astimezone(UTC) + timedelta(days=self.cap_reset_day)).date()

    @property
    def posts_in_days(self) -> int | None:
        """Posts read over the days reported (None when no day has a count)."""
        known = [d.posts for d in self.daily if d.posts is not None]
        return sum(known) if known else None


def _day(value: object) -> date | None:
    if not isinstance(value, str) or len(value.strip()) < 10:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _daily(entries: object) -> tuple[DailyUsage, ...]:
    out: dict[date, DailyUsage] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        day = _day(entry.get("date"))
        if day is None:
            continue
        raw = entry.get("usage", entry.get("tweets_consumed"))
        out[day] = DailyUsage(day=day, posts=coerce_count(raw))
    return tuple(out[d] for d in sorted(out))


def parse_usage(body: Mapping[str, Any], *, fetched_at: datetime) -> ProjectUsage:
    """X's ``/2/usage/tweets`` answer → :class:`ProjectUsage` (see the module doc).

    Raises :class:`~xmetrics_core.errors.InvalidResponse` when there is no ``data`` object.
    """
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise InvalidResponse("X's /2/usage/tweets answer has no data object", status_code=200)
    project = data.get("daily_project_usage")
    if isinstance(project, list):  # tolerate the list of days itself
        project = {"usage": project}
    daily = _daily(project.get("usage")) if isinstance(project, Mapping) else ()
    apps_raw = data.get("daily_client_app_usage")
    apps = tuple(
        AppUsage(client_app_id=str(app.get("client_app_id", "")), daily=_daily(app.get("usage")))
        for app in (apps_raw if isinstance(apps_raw, list) else [])
        if isinstance(app, Mapping)
    )
    project_id = data.get("project_id")
    if project_id is None and isinstance(project, Mapping):
        project_id = project.get("project_id")
    return ProjectUsage(
        project_id=str(project_id) if project_id is not None else None,
        project_usage=coerce_count(data.get("project_usage")),
        project_cap=coerce_count(data.get("project_cap")),
        cap_reset_day=coerce_count(data.get("cap_reset_day")),
        daily=daily,
        apps=apps,
        fetched_at=fetched_at,
    )


def fetch_project_usage(api: XApi, *, days: int = 7) -> ProjectUsage:
    """``GET /2/usage/tweets`` for the last ``days`` UTC days (1–90) with every usage field.

    ``api`` must hold the app's Bearer token: otherwise
    :class:`~xmetrics_core.errors.AppBearerRequired` (no request is sent). X's errors are the
    request path's (a 402 is not expected here: X answers usage even without credits).
    """
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise InputError(f"days must be between {MIN_DAYS} and {MAX_DAYS}, not {days}")
    if api.credential.kind != "bearer":
        raise AppBearerRequired(USAGE_NEEDS_APP_BEARER)
    body = api.get_json(
        USAGE_TWEETS_PATH, {"days": str(days), "usage.fields": ",".join(USAGE_FIELDS)}
    )
    return parse_usage(body, fetched_at=api.clock())


def app_bearer_for(
    credential: Credential,
    *,
    base_url: str = X_API_BASE_URL,
    timeout: Timeouts | None = None,
) -> BearerCredential | None:
    """The app's Bearer token for a connection, or None when it cannot be known.

    A Bearer credential is it. OAuth 1.0a keys include the app's API key and secret, which
    X exchanges for the app's Bearer token (``POST /oauth2/token``; X keeps one per app, so
    asking again returns the same token): cache the result. An OAuth 2.0 sign-in has its
    client ID, not the app's API key and secret: None (show
    :data:`~xmetrics_core.access.USAGE_NEEDS_APP_BEARER`).
    """
    if isinstance(credential, BearerCredential):
        return credential
    if isinstance(credential, OAuth1Credential):
        return fetch_app_bearer_token(
            credential.consumer_key,
            credential.consumer_secret,
            base_url=base_url,
            timeout=timeout or DEFAULT_TIMEOUTS,
        )
    return None


def usage_summary(usage: ProjectUsage) -> str:
    """One line for the sidebar and the CLI: ``1,234 of 3,000,000 Post reads this month
    (0.04 %); the cap resets in 5 days (2027-01-01)``, with what is unknown left out."""
    if usage.project_usage is None:
        parts = ["X did not report this month's Post reads"]
    elif usage.project_cap is None:
        parts = [f"{usage.project_usage:,} Post reads this month"]
    else:
        share = usage.cap_used_share
        percent = f" ({share * 100:.2f} %)" if share is not None else ""
        parts = [f"{usage.project_usage:,} of {usage.project_cap:,} Post reads this month{percent}"]
    if usage.cap_reset_day is not None and usage.resets_on is not None:
        days = usage.cap_reset_day
        parts.append(
            f"the cap resets in {days} day{'' if days == 1 else 's'} ({usage.resets_on.isoformat()})"
        )
    return "; ".join(parts)
