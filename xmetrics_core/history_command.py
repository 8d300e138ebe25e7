"""``python -m xmetrics_core watch|collect|history`` and the saving half of ``fetch``.

* ``watch add|remove|list [IDS_OR_URLS...] [--file F] [--mine]``: the collector's watchlist
  in the history store. ``--mine`` follows (``remove --mine``: stops following) the connected
  account's new Posts, which needs a user sign-in (``--credentials FILE`` or the environment).
  ``list`` writes ``id, origin, added_at, created_at, last_read_at, claimed_until`` (CSV or
  JSON) and names the followed accounts on stderr.
* ``collect [--credentials FILE] [--max-reads N] [--schedule S] [--batch-size N] [--dry-run]``: reads what is
  due (:func:`xmetrics_core.collector.collect`) and prints ONE summary line on stdout (read,
  saved, skipped, estimated cost; today's and this month's spend). The schedule is
  ``--schedule``, else ``XMETRICS_SCHEDULE``, else ``48h:1h,30d:1d,*:7d``; prices are
  ``XMETRICS_PRICE_POST_READ`` / ``XMETRICS_PRICE_OWNED_POST_READ`` (X's published ones by
  default). ``--credentials FILE`` is a 0600 JSON credential (``credential_to_json``'s form;
  a file others may read is refused); when an OAuth 2.0 refresh rotates the tokens the file is
  rewritten atomically (:func:`xmetrics_core.files.write_private_file`) so the next cron run
  works. Without it, the ``X_*`` environment variables as ``fetch`` reads them.
* ``history [IDS_OR_URLS...] [--file F] [--since ISO] [--until ISO] [--format csv|json]``: one
  row per (Post, snapshot), oldest first: ``id, fetched_at, status, status_detail`` and
  ``fetch``'s dotted metric columns, through the formula-safe export; every Post when no ID.

The store is ``XMETRICS_DATABASE_URL`` or the embedded SQLite file
(:func:`xmetrics_core.store.database_url_from_env`). A store problem (locked, read-only,
corrupt, too new, unreachable) is one clear line on stderr, never a traceback.

Exit status: 0 done; 1 ``collect`` stopped early by X (credential refused, rate limit,
every read failed) or ``history`` found no snapshot; 2 usage or credential problems;
3 the history store cannot be used.
"""

from __future__ import annotations

import argparse
import io
import json
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from xmetrics_core.cli import (
    EXIT_NOTHING_FETCHED,
    EXIT_OK,
    EXIT_USAGE,
    TIME_FORMAT,
    input_text,
    refreshed_handler,
    write_table,
)
from xmetrics_core.client import XClient, XUser
from xmetrics_core.credentials import (
    Credential,
    OAuth2Credential,
    credential_from_env,
    credential_from_json,
)
from xmetrics_core.defaults import X_API_BASE_URL
from xmetrics_core.errors import InputError, RateLimited, XApiError, format_reset
from xmetrics_core.models import FetchResult
from xmetrics_core.references import parse_references
from xmetrics_core.store import (
    DEFAULT_SCHEDULE,
    ReadPrices,
    Schedule,
    Store,
    StoreError,
    database_url_from_env,
    open_store,
)
from xmetrics_core.store.engine import DEFAULT_BUSY_TIMEOUT

EXIT_STORE = 3
SCHEDULE_ENV = "XMETRICS_SCHEDULE"
BUSY_TIMEOUT_ENV = "XMETRICS_STORE_BUSY_TIMEOUT"
NO_CREDENTIALS = (
    "no credentials: pass --credentials FILE, or set X_BEARER_TOKEN, the four "
    "X_CONSUMER_*/X_ACCESS_* variables, or X_OAUTH2_ACCESS_TOKEN"
)
WATCH_COLUMNS = ("id", "origin", "added_at", "created_at", "last_read_at", "claimed_until")

Say = Callable[[str], None]


def _sayer(err: TextIO) -> Say:
    def say(message: str) -> None:
        print(f"xmetrics: {message}", file=err)

    return say


def busy_timeout_from(env: Mapping[str, str]) -> float:
    """``XMETRICS_STORE_BUSY_TIMEOUT`` seconds (how long a write waits for another writer's
    lock before giving up), else the store's default."""
    raw = env.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        raise InputError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 < seconds <= 3600:
        raise InputError(f"{BUSY_TIMEOUT_ENV} must be between 0 and 3600 seconds")
    return seconds


def open_history(env: Mapping[str, str]) -> Store:
    """The history store the environment names (raises StoreError; InputError for a bad
    busy timeout)."""
    return open_store(database_url_from_env(env), busy_timeout=busy_timeout_from(env))


# -- credentials ---------------------------------------------------------------------------------


def read_credentials_file(path: Path) -> Credential:
    """A credential saved by ``credential_to_json`` (``--save-refreshed``, ``--credentials``).

    InputError when the file is missing, readable by others (it holds secrets: mode 0600),
    not JSON or not a credential; the message never contains a secret."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"cannot read the credentials file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"the credentials file {path} may be read by other users (mode "
            f"{stat.S_IMODE(mode):04o}); it holds secrets: run chmod 600 {path}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the credentials file {path}: {exc}") from None
    except json.JSONDecodeError:
        raise InputError(f"the credentials file {path} is not JSON") from None
    if not isinstance(data, dict):
        raise InputError(f"the credentials file {path} does not hold a credential")
    return credential_from_json(data)


def _credential(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[Credential, str | None]:
    """The credential (``--credentials FILE`` or the environment) and the file that rotated
    OAuth 2.0 tokens are written back to. InputError when there is none."""
    path = getattr(args, "credentials", None)
    if path:
        return read_credentials_file(Path(path)), path
    credential = credential_from_env(env)
    if credential is None:
        raise InputError(NO_CREDENTIALS)
    return credential, getattr(args, "save_refreshed", None)


def _client(
    credential: Credential,
    *,
    args: argparse.Namespace,
    env: Mapping[str, str],
    write_back: str | None,
    say: Say,
) -> XClient:
    base_url = args.api_base or env.get("X_API_BASE_URL") or X_API_BASE_URL
    return XClient(
        credential=credential,
        base_url=base_url,
        on_credential_refreshed=_on_refreshed(write_back, say),
    )


def _on_refreshed(path: str | None, say: Say) -> Callable[[OAuth2Credential], None]:
    """Rewrite the credentials file (0600, atomically) with rotated OAuth 2.0 tokens; without
    one, say that the environment's refresh token is spent and how to keep the new one."""
    if path is not None:
        return refreshed_handler(path, say)

    def spent(_credential: OAuth2Credential) -> None:
        say(
            "the OAuth 2.0 token was refreshed and X rotated the refresh token: the one in "
            "X_OAUTH2_REFRESH_TOKEN no longer works. Keep the credential in a file "
            "(fetch --save-refreshed FILE writes one) and pass --credentials FILE so each run "
            "keeps the new tokens"
        )

    return spent


def _me(client: XClient) -> XUser | None:
    """The signed-in account (None for an app-only Bearer token)."""
    return client.get_me() if client.credential.is_user_context else None


# -- fetch saves its result --------------------------------------------------------------------


def save_fetched(
    result: FetchResult, *, me: XUser | None, env: Mapping[str, str], say: Say
) -> bool:
    """Keep ``fetch``'s result in the history store; a store problem is a warning (the result
    was already written). Returns whether it was saved."""
    from xmetrics_core.collector import account_of

    try:
        with open_history(env) as store:
            outcome = store.save(result, source="cli", account=account_of(me))
    except StoreError as exc:
        say(f"warning: not saved to the history store: {exc.message}")
        return False
    except InputError as exc:
        say(f"warning: not saved to the history store: {exc}")
        return False
    if outcome.stored:
        say(f"saved {outcome.snapshots} snapshot{'' if outcome.snapshots == 1 else 's'} to history")
    return True


# -- watch ---------------------------------------------------------------------------------------


def run_watch(args: argparse.Namespace, *, env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    say = _sayer(err)
    try:
        busy_timeout_from(env)
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE
    ids: list[str] = []
    if args.action in ("add", "remove"):
        try:
            parsed = parse_references(input_text(args.refs, args.file))
        except (OSError, UnicodeDecodeError) as exc:
            say(str(exc))
            return EXIT_USAGE
        for bad in parsed.invalid:
            say(f"ignoring token {bad.position + 1} {bad.text[:80]!r}: {bad.reason}")
        ids = list(dict.fromkeys(ref.id for ref in parsed.refs))
        if not ids and not args.mine:
            say(f"watch {args.action}: no Post IDs or Post URLs (or --mine)")
            return EXIT_USAGE
    me: XUser | None = None
    if args.mine:
        if args.action == "list":
            say("watch list takes no --mine (it lists followed accounts too)")
            return EXIT_USAGE
        try:
            credential, write_back = _credential(args, env)
            with _client(credential, args=args, env=env, write_back=write_back, say=say) as client:
                me = _me(client)
        except InputError as exc:
            say(str(exc))
            return EXIT_USAGE
        except XApiError as exc:
            say(f"cannot identify the connected account: {exc.message}")
            return EXIT_NOTHING_FETCHED
        if me is None:
            say("--mine needs a user sign-in (OAuth 1.0a or OAuth 2.0), not an app-only token")
            return EXIT_USAGE
    try:
        with open_history(env) as store:
            return _watch(store, args, ids=ids, me=me, out=out, say=say)
    except StoreError as exc:
        say(exc.message)
        return EXIT_STORE


def _watch(
    store: Store,
    args: argparse.Namespace,
    *,
    ids: list[str],
    me: XUser | None,
    out: TextIO,
    say: Say,
) -> int:
    from xmetrics_core.collector import account_of

    if args.action == "list":
        _write_watchlist(store, output_format=args.format, out=out)
        for followed in store.followed():
            who = followed.account.username or followed.account.user_id
            say(
                f"following @{who}'s new Posts since "
                f"{followed.followed_since.strftime(TIME_FORMAT)}"
            )
        return EXIT_OK
    if args.action == "add":
        added = store.watch(ids) if ids else 0
        if ids:
            say(
                f"watching {added} new Post{'' if added == 1 else 's'} ({len(ids) - added} already)"
            )
        if me is not None:
            new = store.watch_account(account_of(me))
            say(f"{'now following' if new else 'already following'} @{me.username}'s new Posts")
        return EXIT_OK
    removed = store.unwatch(ids) if ids else 0
    if ids:
        say(f"stopped watching {removed} Post{'' if removed == 1 else 's'} (history kept)")
    if me is not None:
        was = store.unwatch_account(account_of(me))
        say(f"{'stopped following' if was else 'was not following'} @{me.username}'s new Posts")
    return EXIT_OK


def _write_watchlist(store: Store, *, output_format: str, out: TextIO) -> None:
    import pandas as pd

    def when(moment: object) -> str | None:
        from datetime import datetime

        return moment.strftime(TIME_FORMAT) if isinstance(moment, datetime) else None

    rows = [
        {
            "id": w.post_id,
            "origin": w.origin,
            "added_at": when(w.added_at),
            "created_at": when(w.created_at),
            "last_read_at": when(w.last_read_at),
            "claimed_until": when(w.claimed_until),
        }
        for w in store.watchlist()
    ]
    table = pd.DataFrame(rows, columns=list(WATCH_COLUMNS), dtype=object)
    buffer = io.StringIO()
    write_table(table, output_format=output_format, out=buffer)
    out.write(buffer.getvalue())
    out.flush()


# -- collect -------------------------------------------------------------------------------------


def schedule_from(text: str | None, env: Mapping[str, str]) -> Schedule:
    """``--schedule``, else ``XMETRICS_SCHEDULE``, else the default; InputError if malformed."""
    spec = (text or env.get(SCHEDULE_ENV, "")).strip()
    if not spec:
        return DEFAULT_SCHEDULE
    try:
        return Schedule.parse(spec)
    except ValueError as exc:
        raise InputError(f"schedule {spec!r}: {exc}") from None


def run_collect(
    args: argparse.Namespace, *, env: Mapping[str, str], out: TextIO, err: TextIO
) -> int:
    from xmetrics_core.collector import collect

    say = _sayer(err)
    try:
        schedule = schedule_from(args.schedule, env)
        prices = ReadPrices.from_env(env)
        busy_timeout_from(env)
        if args.max_reads is not None and args.max_reads < 0:
            raise InputError("--max-reads cannot be negative")
        if args.batch_size < 1:
            raise InputError("--batch-size must be at least 1")
        credential, write_back = _credential(args, env)
        client = _client(credential, args=args, env=env, write_back=write_back, say=say)
    except ValueError as exc:  # InputError, ConfigurationError, a bad price
        say(str(exc))
        return EXIT_USAGE
    try:
        with client, open_history(env) as store:
            try:
                me = _me(client)
            except RateLimited as exc:
                say(f"rate limited by X; {format_reset(exc.reset_at)}")
                return EXIT_NOTHING_FETCHED
            except XApiError as exc:
                say(f"cannot identify the connected account: {exc.message}")
                return EXIT_NOTHING_FETCHED
            report = collect(
                store=store,
                client=client,
                me=me,
                schedule=schedule,
                max_reads=args.max_reads,
                dry_run=args.dry_run,
                prices=prices,
                chunk=args.batch_size,
            )
            report.api_calls += 1 if me is not None else 0  # /2/users/me
    except StoreError as exc:
        say(exc.message)
        return EXIT_STORE
    for note in report.notes:
        say(note)
    print(report.summary_line(), file=out, flush=True)
    return EXIT_NOTHING_FETCHED if report.stopped else EXIT_OK


# -- history -------------------------------------------------------------------------------------


def run_history(
    args: argparse.Namespace, *, env: Mapping[str, str], out: TextIO, err: TextIO
) -> int:
    from xmetrics_core.analytics_command import parse_cli_time
    from xmetrics_core.store.history import FETCHED_AT

    say = _sayer(err)
    try:
        since = None if args.since is None else parse_cli_time(args.since, option="--since")
        until = None if args.until is None else parse_cli_time(args.until, option="--until")
        text = input_text(args.refs, args.file)
        busy_timeout_from(env)
    except (InputError, OSError, UnicodeDecodeError) as exc:
        say(str(exc))
        return EXIT_USAGE
    if since is not None and until is not None and since > until:
        say("--since is after --until")
        return EXIT_USAGE
    ids: list[str] | None = None
    if text.strip():
        parsed = parse_references(text)
        for bad in parsed.invalid:
            say(f"ignoring token {bad.position + 1} {bad.text[:80]!r}: {bad.reason}")
        ids = list(dict.fromkeys(ref.id for ref in parsed.refs))
        if not ids:
            say("no Post IDs or Post URLs in the input")
            return EXIT_USAGE
    try:
        with open_history(env) as store:
            rows = store.history_rows(ids, since=since, until=until)
    except StoreError as exc:
        say(exc.message)
        return EXIT_STORE
    table = rows.assign(**{FETCHED_AT: rows[FETCHED_AT].dt.strftime(TIME_FORMAT).astype("str")})
    buffer = io.StringIO()
    write_table(table, output_format=args.format, out=buffer)
    out.write(buffer.getvalue())
    out.flush()
    posts = rows["id"].nunique()
    say(
        f"{len(rows)} snapshot{'' if len(rows) == 1 else 's'} of {posts} Post{'' if posts == 1 else 's'}"
    )
    return EXIT_OK if len(rows) else EXIT_NOTHING_FETCHED


__all__ = [
    "EXIT_STORE",
    "SCHEDULE_ENV",
    "open_history",
    "read_credentials_file",
    "run_collect",
    "run_history",
    "run_watch",
    "save_fetched",
    "schedule_from",
]
