"""``python -m xmetrics_core fetch``: Post and media metrics for scripts and cron.

The other commands: ``analytics`` and ``usage`` (:mod:`xmetrics_core.analytics_command`: X's
Enterprise analytics and the project's spending), ``import`` (:mod:`xmetrics_core.imports`) and
``watch``, ``collect``, ``history`` (:mod:`xmetrics_core.history_command`: the watchlist, the
scheduled collector and the snapshots kept).

``fetch`` also saves its result to the history store (``XMETRICS_DATABASE_URL`` or the embedded
SQLite file; ``--no-save`` skips it): a store that cannot be used is a warning on stderr after
the table is written, and the exit status does not change.

Credentials come from environment variables only (never from arguments, which other users
can read in ``ps``): ``X_BEARER_TOKEN``; ``X_CONSUMER_KEY``, ``X_CONSUMER_SECRET``,
``X_ACCESS_TOKEN``, ``X_ACCESS_TOKEN_SECRET``; ``X_OAUTH2_ACCESS_TOKEN`` with optional
``X_OAUTH2_REFRESH_TOKEN``, ``X_CLIENT_ID``, ``X_CLIENT_SECRET``. ``X_API_BASE_URL`` (or
``--api-base``) points at a sandbox.

Output (stdout) is one row per unique pasted ID, then one per invalid token, as CSV or JSON.
Columns are ``id, created_at, author_id, text, status, status_detail`` and then X's own dotted
metric paths from the catalogue (``public_metrics.like_count`` …) for the groups asked; with
``--media`` the media table instead (``media_key, type, duration_ms, preview_image_url, url,
post_ids`` and the media metric paths). A metric X did not return is an empty cell (JSON
``null``), never 0. Both tables are the dashboard's own frames (``frames.posts_frame`` /
``frames.media_frame``) cut to these columns, and the CSV is written by the same
formula-safe export as the dashboard's downloads (``exports.safe_csv_text``, no BOM on
stdout): text cells a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``,
``@``, tab or CR) are prefixed with ``'``.

Messages go to stderr; no secret is ever printed. Exit status: 0 when at least one Post's
metrics were fetched, 1 when nothing could be fetched, 2 for usage or credential problems.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from xmetrics_core.catalogue import ALL_GROUPS, Group, Level, metrics_for
from xmetrics_core.credentials import (
    Credential,
    OAuth2Credential,
    credential_from_env,
    credential_to_json,
)
from xmetrics_core.defaults import X_API_BASE_URL
from xmetrics_core.errors import InputError, RateLimited, XApiError, format_reset
from xmetrics_core.files import write_private_file
from xmetrics_core.models import FetchResult, IdStatus
from xmetrics_core.references import parse_references

if TYPE_CHECKING:  # pandas (and the frames) load only when a table is written
    import pandas as pd

    from xmetrics_core.client import XClient, XUser

EXIT_OK = 0
EXIT_NOTHING_FETCHED = 1
EXIT_USAGE = 2

POST_COLUMNS = ("id", "created_at", "author_id", "text", "status", "status_detail")
MEDIA_COLUMNS = ("media_key", "type", "duration_ms", "preview_image_url", "url", "post_ids")
#: ``created_at`` as the CLI writes it: X's own UTC form, to the second.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

JsonRecord = dict[str, object]


def post_table(result: FetchResult, groups: Sequence[Group]) -> pd.DataFrame:
    """The Posts table the CLI writes: :func:`frames.posts_frame` (one row per pasted ID,
    then per invalid token) cut to ``id, created_at, author_id, text, status,
    status_detail`` and the catalogue's Post metric paths of ``groups``; ``created_at`` as
    ``2022-08-13T20:36:51Z``."""
    from xmetrics_core.frames import CREATED_AT, posts_frame

    columns = [*POST_COLUMNS, *(m.path for m in metrics_for(Level.POST, groups))]
    posts = posts_frame(result)
    created = posts[CREATED_AT].dt.strftime(TIME_FORMAT).astype("str")
    return posts.assign(**{CREATED_AT: created})[columns]


def media_table(result: FetchResult, groups: Sequence[Group]) -> pd.DataFrame:
    """The media table the CLI writes: :func:`frames.media_frame` (one row per
    ``media_key``) cut to ``media_key, type, duration_ms, preview_image_url, url, post_ids``
    and the catalogue's media metric paths of ``groups``."""
    from xmetrics_core.frames import media_frame

    columns = [*MEDIA_COLUMNS, *(m.path for m in metrics_for(Level.MEDIA, groups))]
    return media_frame(result)[columns]


def json_records(table: pd.DataFrame) -> list[JsonRecord]:
    """One JSON object per row, the table's columns in order; missing values are None."""
    plain = table.astype(object).where(table.notna(), None)
    return [{str(name): value for name, value in row.items()} for row in plain.to_dict("records")]


def write_table(table: pd.DataFrame, *, output_format: str, out: TextIO) -> None:
    """CSV through the exports' formula-safe writer (no BOM: a text stream), or a JSON
    array of objects (missing metrics are null; JSON needs no formula guard)."""
    from xmetrics_core.exports import safe_csv_text

    if output_format == "json":
        json.dump(json_records(table), out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        out.write(safe_csv_text(table))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xmetrics_core",
        description="Fetch X (Twitter) Post and video metrics. Credentials come from X_* "
        "environment variables (see the module docs); output goes to stdout.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="fetch metrics for Post IDs or URLs")
    fetch.add_argument("refs", nargs="*", metavar="IDS_OR_URLS", help="Post IDs or Post URLs")
    fetch.add_argument(
        "--file", metavar="F", help="read IDs/URLs from a file, or '-' for stdin (any separators)"
    )
    fetch.add_argument(
        "--api-base",
        metavar="URL",
        help=f"API base URL (default: $X_API_BASE_URL or {X_API_BASE_URL})",
    )
    fetch.add_argument(
        "--metrics",
        metavar="GROUPS",
        help="comma-separated groups: public,non_public,organic,promoted "
        "(default: all the credential allows)",
    )
    fetch.add_argument("--format", choices=("csv", "json"), default="csv")
    fetch.add_argument("--media", action="store_true", help="write the media table instead")
    fetch.add_argument(
        "--save-refreshed",
        metavar="PATH",
        help="OAuth 2.0: write rotated tokens here (JSON, mode 0600, written atomically) when a "
        "refresh happens",
    )
    fetch.add_argument(
        "--no-save",
        action="store_true",
        help="do not keep the result in the history store (XMETRICS_DATABASE_URL)",
    )
    fetch.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    _history_commands(commands)
    analytics = commands.add_parser(
        "analytics",
        help="hourly (daily, weekly, total) X analytics of your own Posts or videos "
        "(Enterprise apps only)",
        description="X's Enterprise analytics (GET /2/tweets/analytics, /2/media/analytics) of "
        "the signed-in user's own Posts, as a tidy table: timestamp, post_id, metric, value, "
        "cumulative. Needs a user sign-in (OAuth 1.0a or OAuth 2.0 variables) of an app with "
        "Enterprise access; a pay-per-use app is told so.",
    )
    analytics.add_argument(
        "refs",
        nargs="*",
        metavar="IDS_OR_URLS",
        help="Post IDs or Post URLs (media keys with --media)",
    )
    analytics.add_argument(
        "--file", metavar="F", help="read IDs/URLs from a file, or '-' for stdin"
    )
    analytics.add_argument(
        "--granularity",
        choices=("hourly", "daily", "weekly", "total"),
        default="hourly",
        help="bucket size (default: hourly; videos: no weekly)",
    )
    analytics.add_argument(
        "--since",
        metavar="ISO",
        help="start (UTC unless an offset is given; default: the Posts' creation hour, at most "
        "30 days back)",
    )
    analytics.add_argument("--until", metavar="ISO", help="end (default: now)")
    analytics.add_argument(
        "--metrics",
        metavar="NAMES",
        help="comma-separated analytics names, e.g. impressions,likes,engagements (default: all)",
    )
    analytics.add_argument(
        "--media",
        action="store_true",
        help="the videos' analytics (watch time, playback): media keys, or the given Posts' "
        "videos (found with one lookup)",
    )
    analytics.add_argument("--format", choices=("csv", "json"), default="csv")
    analytics.add_argument(
        "--api-base", metavar="URL", help="API base URL (default: $X_API_BASE_URL)"
    )
    analytics.add_argument(
        "--save-refreshed", metavar="PATH", help="OAuth 2.0: write rotated tokens here (0600)"
    )
    analytics.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    usage = commands.add_parser(
        "usage",
        help="what the project has spent: Post reads per day, this month's total and cap",
        description="GET /2/usage/tweets with the app's Bearer token (X_BEARER_TOKEN, or "
        "obtained with X_CONSUMER_KEY and X_CONSUMER_SECRET).",
    )
    usage.add_argument(
        "--days", type=int, default=7, metavar="N", help="UTC days to report, 1-90 (default 7)"
    )
    usage.add_argument("--format", choices=("csv", "json"), default="csv")
    usage.add_argument("--api-base", metavar="URL", help="API base URL (default: $X_API_BASE_URL)")
    usage.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    imports = commands.add_parser(
        "import", help="read X's own analytics exports (CSV) without an API call"
    )
    imports.add_argument("files", nargs="+", metavar="FILES", help="exports downloaded from X")
    imports.add_argument("--format", choices=("csv", "json"), default="csv")
    imports.add_argument(
        "--no-save",
        action="store_true",
        help="do not save the imported Posts to the history store (source = import)",
    )
    return parser


def _history_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``watch``, ``collect`` and ``history`` (:mod:`xmetrics_core.history_command`)."""

    def connection_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--credentials",
            metavar="FILE",
            help="a 0600 JSON credential (as --save-refreshed writes it), rewritten atomically "
            "when X rotates OAuth 2.0 tokens (default: the X_* environment variables)",
        )
        command.add_argument(
            "--api-base", metavar="URL", help="API base URL (default: $X_API_BASE_URL)"
        )
        command.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")

    watch = commands.add_parser(
        "watch",
        help="the collector's watchlist: add, remove or list Posts to read on a schedule",
        description="Keep the Posts `collect` reads in the history store (XMETRICS_DATABASE_URL "
        "or the embedded SQLite file). --mine follows the connected account's new Posts.",
    )
    watch.add_argument("action", choices=("add", "remove", "list"))
    watch.add_argument("refs", nargs="*", metavar="IDS_OR_URLS", help="Post IDs or Post URLs")
    watch.add_argument("--file", metavar="F", help="read IDs/URLs from a file, or '-' for stdin")
    watch.add_argument(
        "--mine",
        action="store_true",
        help="follow (remove: stop following) the connected account's new Posts",
    )
    watch.add_argument("--format", choices=("csv", "json"), default="csv", help="for list")
    connection_options(watch)
    collect = commands.add_parser(
        "collect",
        help="read the watched Posts that are due, save them, print one summary line (cron)",
        description="Reads what is due by age (default hourly to 48 h, daily to 30 days, weekly "
        "after), at most once per interval, saves it to the history store and prints one line: "
        "read, saved, skipped, estimated cost. Two collectors at once never read a Post twice.",
    )
    collect.add_argument(
        "--max-reads",
        type=int,
        metavar="N",
        help="at most N billable Post reads this run (reads again the same UTC day are free)",
    )
    collect.add_argument(
        "--schedule",
        metavar="S",
        help="AGE:EVERY tiers, e.g. 48h:1h,30d:1d,*:7d (default: $XMETRICS_SCHEDULE or that)",
    )
    collect.add_argument(
        "--batch-size",
        type=int,
        default=400,
        metavar="N",
        help="Posts claimed, read and saved per step, each step committed on its own (default 400)",
    )
    collect.add_argument(
        "--dry-run",
        action="store_true",
        help="say what is due and what it would cost; read nothing",
    )
    connection_options(collect)
    history = commands.add_parser(
        "history",
        help="every saved snapshot: one row per (Post, snapshot), oldest first",
        description="The history store's snapshots with fetch's metric columns "
        "(id, fetched_at, status, status_detail, public_metrics.like_count …); all Posts when "
        "no ID is given.",
    )
    history.add_argument("refs", nargs="*", metavar="IDS_OR_URLS", help="Post IDs or Post URLs")
    history.add_argument("--file", metavar="F", help="read IDs/URLs from a file, or '-' for stdin")
    history.add_argument("--since", metavar="ISO", help="snapshots at or after (UTC unless offset)")
    history.add_argument("--until", metavar="ISO", help="snapshots at or before")
    history.add_argument("--format", choices=("csv", "json"), default="csv")
    history.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    env = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "import":  # no credentials needed; pandas is loaded only here
        from xmetrics_core.imports.command import run_import

        return run_import(
            args.files,
            output_format=args.format,
            save=not args.no_save,
            out=sys.stdout,
            err=sys.stderr,
        )
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
    err = sys.stderr
    if args.command in ("watch", "collect", "history"):  # the store loads only here
        from xmetrics_core import history_command

        run = {
            "watch": history_command.run_watch,
            "collect": history_command.run_collect,
            "history": history_command.run_history,
        }[args.command]
        return run(args, env=env, out=sys.stdout, err=err)
    if args.command in ("analytics", "usage"):  # pandas and the HTTP stack load only here
        from xmetrics_core.analytics_command import run_analytics, run_usage

        if args.command == "usage":
            return run_usage(args, env=env, out=sys.stdout, err=err)
        try:
            text = input_text(args.refs, args.file)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"xmetrics: {exc}", file=err)
            return EXIT_USAGE
        return run_analytics(args, env=env, input_text=text, out=sys.stdout, err=err)

    def say(message: str) -> None:
        print(f"xmetrics: {message}", file=err)

    try:
        credential = credential_from_env(env)
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    if credential is None:
        say(
            "no credentials: set X_BEARER_TOKEN, the four X_CONSUMER_*/X_ACCESS_* variables, "
            "or X_OAUTH2_ACCESS_TOKEN"
        )
        return EXIT_USAGE
    try:
        groups = _groups(args.metrics, credential)
        text = input_text(args.refs, args.file)
        parsed = parse_references(text)
    except (InputError, OSError, UnicodeDecodeError) as exc:
        say(str(exc))
        return EXIT_USAGE
    for bad in parsed.invalid:
        say(f"ignoring token {bad.position + 1} {bad.text[:80]!r}: {bad.reason}")
    if not parsed.refs:
        say("no Post IDs or Post URLs in the input")
        _emit(FetchResult(statuses=tuple(map(IdStatus.invalid, parsed.invalid))), groups, args)
        return EXIT_NOTHING_FETCHED

    from xmetrics_core.client import XClient  # requests and oauthlib load only to fetch

    base_url = args.api_base or env.get("X_API_BASE_URL") or X_API_BASE_URL
    try:
        client = XClient(
            credential=credential,
            base_url=base_url,
            on_credential_refreshed=refreshed_handler(args.save_refreshed, say),
        )
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    me: XUser | None = None
    try:
        with client:
            if not args.no_save and credential.is_user_context:
                me = _account_for_saving(client, say)
            result = client.fetch_posts(parsed, groups=groups, me=me)
    except RateLimited as exc:
        say(f"rate limited by X; {format_reset(exc.reset_at)}")
        return EXIT_NOTHING_FETCHED
    except XApiError as exc:
        say(exc.message)
        return EXIT_NOTHING_FETCHED
    _emit(result, groups, args)
    if not args.no_save:
        if credential.is_user_context and me is None:
            say("warning: not saved to the history store: the connected account is unknown")
        else:
            from xmetrics_core.history_command import save_fetched

            save_fetched(result, me=me, env=env, say=say)
    fetched = sum(1 for s in result.statuses if s.status.has_metrics)
    counts: dict[str, int] = {}
    for status in result.statuses:
        counts[status.status.value] = counts.get(status.status.value, 0) + 1
    summary = ", ".join(f"{name} {count}" for name, count in counts.items())
    remaining = result.rate_limit.remaining
    say(
        f"{fetched} of {len(parsed.refs)} Posts fetched ({summary}); {result.api_calls} API "
        f"call{'' if result.api_calls == 1 else 's'}"
        + (f"; {remaining} requests left in this window" if remaining is not None else "")
    )
    return EXIT_OK if fetched else EXIT_NOTHING_FETCHED


def _account_for_saving(client: XClient, say: Callable[[str], None]) -> XUser | None:
    """The signed-in account the saved result belongs to (``/2/users/me``, which ``fetch_posts``
    would call anyway for private metrics); None when X did not answer (nothing is saved)."""
    from xmetrics_core.errors import InvalidResponse, ServerError, TransportError

    try:
        return client.get_me()
    except (TransportError, ServerError, InvalidResponse) as exc:
        say(f"could not identify the connected account ({exc.message})")
        return None


def _groups(spec: str | None, credential: Credential) -> tuple[Group, ...]:
    allowed = credential.allowed_groups
    if not spec:
        return allowed
    wanted = {Group.from_key(part) for part in spec.split(",") if part.strip()}
    refused = [g.key for g in wanted if g not in allowed]
    if refused:
        raise InputError(
            f"this credential cannot read {', '.join(sorted(refused))} metrics "
            "(app-only Bearer tokens read public metrics only)"
        )
    return tuple(g for g in ALL_GROUPS if g in wanted)


def input_text(refs: Sequence[str], file: str | None) -> str:
    parts = list(refs)
    if file == "-":
        parts.append(sys.stdin.read())
    elif file:
        parts.append(Path(file).read_text(encoding="utf-8-sig"))
    return "\n".join(parts)


def _emit(result: FetchResult, groups: Sequence[Group], args: argparse.Namespace) -> None:
    asked = result.groups or tuple(groups)
    table = media_table(result, asked) if args.media else post_table(result, asked)
    buffer = io.StringIO()
    write_table(table, output_format=args.format, out=buffer)
    sys.stdout.write(buffer.getvalue())
    sys.stdout.flush()


def refreshed_handler(
    path: str | None, say: Callable[[str], None]
) -> Callable[[OAuth2Credential], None]:
    def on_refreshed(credential: OAuth2Credential) -> None:
        if path is None:
            say(
                "the OAuth 2.0 token was refreshed and X rotated the refresh token; the one in "
                "X_OAUTH2_REFRESH_TOKEN no longer works (use --save-refreshed PATH to keep it)"
            )
            return
        target = Path(path)
        write_private_file(target, json.dumps(credential_to_json(credential)).encode("utf-8"))
        say(f"the OAuth 2.0 token was refreshed; the new tokens were written to {target}")

    return on_refreshed
