"""``python -m xmetrics_core analytics …`` and ``python -m xmetrics_core usage …``.

``analytics IDS_OR_URLS... [--file F] [--granularity hourly|daily|weekly|total] [--since ISO]
[--until ISO] [--metrics a,b] [--media] [--format csv|json]`` writes X's Enterprise analytics
of the user's own Posts as the tidy frame :func:`~xmetrics_core.analytics_frames.
post_analytics_frame` (one row per bucket × Post × metric: ``timestamp, post_id, metric, value,
cumulative, cumulative_complete, created_at, hours_since_posting, granularity``; times as
``2026-12-01T09:00:00Z``). With ``--media`` it writes the videos' analytics instead
(:func:`~xmetrics_core.analytics_frames.media_analytics_frame`): media keys (``13_1866…``) are
used as given and the videos of the given Posts are found with one ``GET /2/tweets``. stderr
gets one line per ID without analytics saying why, and a summary. Exit status: 0 when some ID
got analytics, 1 when none did (a pay-per-use app: X's Enterprise-only explanation; 402:
add credits), 2 for usage or credential problems (an app-only Bearer token cannot read
analytics).

``usage [--days N] [--format csv|json]`` writes what the project has spent
(``GET /2/usage/tweets``): CSV one row per UTC day (``date, posts``), JSON one object
(``project_id, project_usage, project_cap, cap_reset_day, cap_resets_on, daily``); stderr a
summary. It needs the app's Bearer token: ``X_BEARER_TOKEN``, or the app's API key and
secret of an OAuth 1.0a set (``X_CONSUMER_KEY``, ``X_CONSUMER_SECRET``), exchanged for it.
An OAuth 2.0 token alone cannot: stderr says what to add, exit 2.

Credentials come from the same environment variables as ``fetch``; tables go through the
formula-safe export. This module loads pandas; ``cli`` imports it only to run a command.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO, cast

import pandas as pd

from xmetrics_core.access import USAGE_NEEDS_APP_BEARER, AccessMemory, AnalyticsAccess
from xmetrics_core.analytics import (
    MEDIA_KEY_PATTERN,
    AnalyticsResult,
    AnalyticsStatusKind,
    Granularity,
    format_time,
    media_analytics,
    post_analytics,
)
from xmetrics_core.analytics_frames import (
    CREATED_AT,
    TIMESTAMP,
    analytics_frame,
    usage_daily_frame,
)
from xmetrics_core.catalogue import Group
from xmetrics_core.cli import (
    EXIT_NOTHING_FETCHED,
    EXIT_OK,
    EXIT_USAGE,
    TIME_FORMAT,
    refreshed_handler,
    write_table,
)
from xmetrics_core.client import XClient
from xmetrics_core.credentials import (
    BearerCredential,
    Credential,
    OAuth1Credential,
    OAuth2Credential,
    credential_from_env,
)
from xmetrics_core.defaults import X_API_BASE_URL
from xmetrics_core.errors import InputError, RateLimited, XApiError, format_reset
from xmetrics_core.references import parse_references
from xmetrics_core.usage import (
    ProjectUsage,
    app_bearer_for,
    fetch_project_usage,
    usage_summary,
)

Say = Callable[[str], None]
_TOKEN_SEPARATORS = re.compile(r"[\s,;]+")
NO_CREDENTIALS = (
    "no credentials: set X_BEARER_TOKEN, the four X_CONSUMER_*/X_ACCESS_* variables, "
    "or X_OAUTH2_ACCESS_TOKEN"
)


def parse_cli_time(text: str, *, option: str) -> datetime:
    """``2026-12-01``, ``2026-12-01T09:00``, ``…Z`` or ``…+01:00`` as an aware UTC datetime
    (no offset means UTC). InputError naming the option otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} must be an ISO date or time such as 2026-12-01 or 2026-12-01T09:00:00Z, "
            f"not {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Times as X writes them (``2026-12-01T09:00:00Z``), as text."""
    changes = {
        column: table[column].dt.strftime(TIME_FORMAT).astype("str")
        for column in (TIMESTAMP, CREATED_AT)
        if column in table
    }
    return table.assign(**changes)


def _emit(table: pd.DataFrame, *, output_format: str, out: TextIO) -> None:
    buffer = io.StringIO()
    write_table(table, output_format=output_format, out=buffer)
    out.write(buffer.getvalue())
    out.flush()


def _client(
    credential: Credential, args: argparse.Namespace, env: Mapping[str, str], say: Say
) -> XClient:
    base_url = args.api_base or env.get("X_API_BASE_URL") or X_API_BASE_URL
    return XClient(
        credential=credential,
        base_url=base_url,
        on_credential_refreshed=refreshed_handler(getattr(args, "save_refreshed", None), say),
    )


# -- analytics ----------------------------------------------------------------------------------


def run_analytics(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str],
    input_text: str,
    out: TextIO,
    err: TextIO,
) -> int:
    """The ``analytics`` command (see the module doc); returns the exit status."""

    def say(message: str) -> None:
        print(f"xmetrics: {message}", file=err)

    try:
        credential = credential_from_env(env)
        if credential is None:
            say(NO_CREDENTIALS)
            return EXIT_USAGE
        since = parse_cli_time(args.since, option="--since") if args.since else None
        until = parse_cli_time(args.until, option="--until") if args.until else None
        metrics = [m.strip() for m in (args.metrics or "").split(",") if m.strip()] or None
        if args.media and args.granularity == "weekly":
            raise InputError("media analytics come hourly, daily or total (no weekly)")
        tokens = [t for t in _TOKEN_SEPARATORS.split(input_text) if t]
        if not tokens:
            raise InputError("give Post IDs or Post URLs (or media keys with --media)")
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    if not credential.is_user_context:
        say(
            "X serves Post and media analytics to a user sign-in of the Posts' author only; "
            "set the OAuth 1.0a (X_CONSUMER_*/X_ACCESS_*) or OAuth 2.0 (X_OAUTH2_ACCESS_TOKEN) "
            "variables instead of X_BEARER_TOKEN"
        )
        return EXIT_USAGE
    granularity = cast(Granularity, args.granularity)
    memory = AccessMemory()  # one run is one process: detected once, by the first request
    try:
        client = _client(credential, args, env, say)
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    try:
        with client:
            if args.media:
                keys = _media_keys(client, tokens, say)
                if not keys:
                    say("none of the given Posts carries a video, and no media key was given")
                    return EXIT_NOTHING_FETCHED
                result = media_analytics(
                    client.api,
                    keys,
                    memory=memory,
                    since=since,
                    until=until,
                    granularity=granularity,
                    metrics=metrics,
                )
            else:
                parsed = parse_references(" ".join(tokens))
                result = post_analytics(
                    client.api,
                    parsed,
                    memory=memory,
                    since=since,
                    until=until,
                    granularity=granularity,
                    metrics=metrics,
                )
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    except RateLimited as exc:
        say(f"rate limited by X; {format_reset(exc.reset_at)}")
        return EXIT_NOTHING_FETCHED
    except XApiError as exc:
        say(exc.message)
        return EXIT_NOTHING_FETCHED
    return _report_analytics(result, args.format, out=out, say=say)


def _media_keys(client: XClient, tokens: Sequence[str], say: Say) -> list[str]:
    """Media keys given as such, then the videos of the given Posts (one lookup), in order."""
    keys = [t for t in tokens if MEDIA_KEY_PATTERN.fullmatch(t)]
    others = [t for t in tokens if not MEDIA_KEY_PATTERN.fullmatch(t)]
    if not others:
        return list(dict.fromkeys(keys))
    parsed = parse_references(" ".join(others))
    for bad in parsed.invalid:
        say(f"ignoring {bad.text[:80]!r}: {bad.reason}")
    if parsed.refs:
        found = client.fetch_posts(parsed, groups=(Group.PUBLIC,))
        for status in found.statuses:
            if not status.status.has_metrics and status.status.value != "invalid":
                say(f"{status.id}: {status.status.value} ({status.detail})")
        by_post: dict[str, list[str]] = {}
        for media in found.media:
            if media.type == "video":
                for post_id in media.post_ids:
                    by_post.setdefault(post_id, []).append(media.media_key)
        for ref in parsed.refs:
            videos = by_post.get(ref.id, [])
            if not videos and any(s.id == ref.id and s.status.has_metrics for s in found.statuses):
                say(f"{ref.id}: this Post carries no video")
            keys.extend(videos)
    return list(dict.fromkeys(keys))


def _report_analytics(result: AnalyticsResult, output_format: str, *, out: TextIO, say: Say) -> int:
    if result.access in (AnalyticsAccess.NOT_ENROLLED, AnalyticsAccess.USER_CONTEXT_REQUIRED):
        say(result.explanation)
        for status in result.statuses:
            if status.status is AnalyticsStatusKind.INVALID:
                say(f"ignoring {status.key[:80]!r}: {status.detail}")
        _emit(_formatted(analytics_frame(result)), output_format=output_format, out=out)
        return EXIT_NOTHING_FETCHED
    noun = "Posts" if result.level == "post" else "videos"
    for status in result.statuses:
        if status.status is AnalyticsStatusKind.INVALID:
            say(f"ignoring {status.key[:80]!r}: {status.detail}")
        elif status.status is not AnalyticsStatusKind.OK or status.detail:
            say(
                f"{status.key}: {status.status.value}"
                + (f" ({status.detail})" if status.detail else "")
            )
    for note in result.notes:
        say(f"note: {note}")
    if result.stopped:
        say(f"stopped early: {result.stopped}")
    _emit(_formatted(analytics_frame(result)), output_format=output_format, out=out)
    valid = [s for s in result.statuses if s.status is not AnalyticsStatusKind.INVALID]
    served = sum(1 for s in valid if s.status.has_data)
    counts: dict[str, int] = {}
    for status in valid:
        counts[status.status.value] = counts.get(status.status.value, 0) + 1
    summary = ", ".join(f"{name} {count}" for name, count in counts.items())
    say(
        f"{served} of {len(valid)} {noun} with {result.granularity} analytics from "
        f"{format_time(result.since)} to {format_time(result.until)} ({summary}); "
        f"{result.api_calls} API call{'' if result.api_calls == 1 else 's'}"
    )
    return EXIT_OK if served else EXIT_NOTHING_FETCHED


# -- usage ----------------------------------------------------------------------------------------


def usage_credential(env: Mapping[str, str], *, base_url: str, say: Say) -> BearerCredential | None:
    """The app's Bearer token for ``usage``: ``X_BEARER_TOKEN`` (even beside user
    credentials), else the one X issues for the OAuth 1.0a set's API key and secret; None
    (after saying why) when there is none."""
    bearer = env.get("X_BEARER_TOKEN", "").strip()
    if bearer:
        return BearerCredential(token=bearer)
    credential = credential_from_env(env)
    if credential is None:
        say(NO_CREDENTIALS)
        return None
    if isinstance(credential, OAuth1Credential):
        say("asking X for the app's Bearer token with X_CONSUMER_KEY and X_CONSUMER_SECRET")
        return app_bearer_for(credential, base_url=base_url)
    if isinstance(credential, OAuth2Credential):
        say(USAGE_NEEDS_APP_BEARER)
    return None


def usage_json(usage: ProjectUsage) -> dict[str, object]:
    """The ``usage --format json`` object."""
    return {
        "project_id": usage.project_id,
        "project_usage": usage.project_usage,
        "project_cap": usage.project_cap,
        "cap_reset_day": usage.cap_reset_day,
        "cap_resets_on": usage.resets_on.isoformat() if usage.resets_on else None,
        "daily": [{"date": d.day.isoformat(), "posts": d.posts} for d in usage.daily],
    }


def run_usage(args: argparse.Namespace, *, env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """The ``usage`` command (see the module doc); returns the exit status."""

    def say(message: str) -> None:
        print(f"xmetrics: {message}", file=err)

    base_url = args.api_base or env.get("X_API_BASE_URL") or X_API_BASE_URL
    try:
        bearer = usage_credential(env, base_url=base_url, say=say)
        if bearer is None:
            return EXIT_USAGE
        client = XClient(credential=bearer, base_url=base_url)
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    except XApiError as exc:
        say(exc.message)
        return EXIT_USAGE
    try:
        with client:
            usage = fetch_project_usage(client.api, days=args.days)
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    except RateLimited as exc:
        say(f"rate limited by X; {format_reset(exc.reset_at)}")
        return EXIT_NOTHING_FETCHED
    except XApiError as exc:
        say(exc.message)
        return EXIT_NOTHING_FETCHED
    if args.format == "json":
        out.write(json.dumps(usage_json(usage), ensure_ascii=False, indent=1) + "\n")
        out.flush()
    else:
        daily = usage_daily_frame(usage)
        table = daily.assign(date=daily["date"].dt.strftime("%Y-%m-%d").astype("str"))
        _emit(table, output_format="csv", out=out)
    say(usage_summary(usage))
    return EXIT_OK
