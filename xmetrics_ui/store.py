"""The dashboard's history stores: one per store URL and server, their problems, saving,
the Demo's prefill and the cost meter's numbers.

Two stores: the user's (``XMETRICS_DATABASE_URL``, else ``history.db``) and the Demo's
(``XMETRICS_DEMO_DATABASE_URL``, else ``demo-history.db``), never mixed: anything read from
a sandbox (the Demo account, or any connection whose API is not X's) goes to the Demo's.
Each is opened once per server (``st.cache_resource`` per URL). A store that cannot be
opened (locked, read-only, corrupt, written by a newer xmetrics, unreachable) is remembered
for :data:`RETRY_SECONDS`, so a page does not wait on it again at every rerun; pages then
say so (:func:`show_store_problem`) and work on without history.

The Demo's store is filled once per server on a background thread
(``xmetrics_core.demo_history``) from a twin of the Demo's sandbox (in team mode, of the
team's shared sandbox, under a team-wide lock, so the shared store is filled once), starting
the first time it is opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import streamlit as st

from xmetrics_core.catalogue import Group
from xmetrics_core.connection import Connection
from xmetrics_core.demo_history import PrefillOutcome, prefill_demo_history
from xmetrics_core.errors import InputError, XApiError
from xmetrics_core.models import FetchResult, IdStatus, PostRecord, PostStatus
from xmetrics_core.sandbox import Sandbox
from xmetrics_core.sandbox.remote import RemoteSandbox, SharedSandboxUnavailable
from xmetrics_core.shared_state import TeamState
from xmetrics_core.store import (
    DATABASE_URL_ENV,
    DEMO_DATABASE_URL_ENV,
    Account,
    ReadPrices,
    SaveOutcome,
    Store,
    StoreError,
    database_url_from_env,
    open_store,
)
from xmetrics_ui.session import demo_app, demo_world_now
from xmetrics_ui.team import shared_state
from xmetrics_ui.ui import alert

log = logging.getLogger("xmetrics.app")

#: How long a store that failed to open is left alone before the next try.
RETRY_SECONDS: Final = 30.0
#: The dashboard waits at most this long for a locked SQLite store (the CLI waits longer).
BUSY_TIMEOUT: Final = 3.0
STORE_PROBLEM_KEY = "xm_store_problem"
"""Session state: the last store error a page met (saving or reading), to show once."""


def _settings() -> Mapping[str, str]:
    """The environment, with ``XMETRICS_DATABASE_URL``/``XMETRICS_DEMO_DATABASE_URL`` from
    ``.streamlit/secrets.toml`` (top level) when the environment does not set them."""
    env = dict(os.environ)
    for name in (DATABASE_URL_ENV, DEMO_DATABASE_URL_ENV):
        if env.get(name, "").strip():
            continue
        try:
            value = st.secrets.get(name)
        except (FileNotFoundError, KeyError, ValueError):
            value = None
        if isinstance(value, str) and value.strip():
            env[name] = value
    return env


def store_url(*, demo: bool) -> str:
    """Where the user's (or the Demo's) history lives."""
    return database_url_from_env(_settings(), demo=demo)


@st.cache_resource(show_spinner=False)
def _opened(url: str) -> Store:
    """The store at ``url``, opened (and migrated) once per server. A StoreError is raised,
    not cached: the next call tries again."""
    return open_store(url, busy_timeout=BUSY_TIMEOUT)


_FAILURES: dict[str, tuple[float, StoreError]] = {}
_FAILURES_LOCK = threading.Lock()


def _open(url: str) -> Store | StoreError:
    with _FAILURES_LOCK:
        failed = _FAILURES.get(url)
        if failed is not None and time.monotonic() - failed[0] < RETRY_SECONDS:
            return failed[1]
    try:
        store = _opened(url)
    except StoreError as exc:
        log.warning("history store unavailable: %s", exc.message)
        with _FAILURES_LOCK:
            _FAILURES[url] = (time.monotonic(), exc)
        return exc
    with _FAILURES_LOCK:
        _FAILURES.pop(url, None)
    return store


def forget_store_failures() -> None:
    """Try every failed store again at the next call (tests, and after fixing a store)."""
    with _FAILURES_LOCK:
        _FAILURES.clear()


def dashboard_store(*, demo: bool) -> Store | None:
    """The user's history store (``demo=False``) or the Demo's; None when it cannot be
    opened (then :func:`store_problem` says why). Opening the Demo's starts its prefill."""
    opened = _open(store_url(demo=demo))
    if isinstance(opened, StoreError):
        return None
    if demo:
        demo_history(opened)
    return opened


def store_problem(*, demo: bool) -> StoreError | None:
    """Why :func:`dashboard_store` gives None (None when it opens)."""
    opened = _open(store_url(demo=demo))
    return opened if isinstance(opened, StoreError) else None


def problem_text(error: StoreError) -> str:
    """The store's message and that the dashboard goes on without it."""
    message = error.message.rstrip()
    ending = "" if message.endswith((".", "!", "?")) else "."
    return (
        f"History is unavailable: {message}{ending} The dashboard works without it: fetches "
        "are shown but not kept, and the History page and the cost meter wait for the store."
    )


def show_store_problem(*, demo: bool) -> bool:
    """Say (once per run) why the store is unavailable; True when there was a problem."""
    error = store_problem(demo=demo)
    if error is None:
        return False
    alert("warning", problem_text(error))
    return True


def is_demo(connection: Connection) -> bool:
    """Reads through this connection belong in the Demo's store (any sandbox, never X)."""
    return not connection.endpoints.is_x


def reading_account(connection: Connection) -> Account:
    """The account the store files this connection's reads under (app-only: no user)."""
    if connection.account is None:
        return Account.app_only()
    return Account(user_id=connection.account.id, username=connection.account.username)


def world_now(connection: Connection) -> datetime:
    """The cost ledger's "now": the Demo's sandbox clock for its reads (the team's shared
    sandbox in team mode: every replica bills the Demo's reads on the same day), else the
    real time (a day of the Demo is a day of its world)."""
    if is_demo(connection):
        app = demo_app()
        if connection.endpoints.api_base_url.rstrip("/") == app.base_url.rstrip("/"):
            return demo_world_now(app)
    return datetime.now(UTC)


def prices() -> ReadPrices:
    """The read prices (``XMETRICS_PRICE_POST_READ`` …; X's published prices by default)."""
    try:
        return ReadPrices.from_env(_settings())
    except ValueError as exc:
        log.warning("read prices ignored: %s", exc)
        return ReadPrices()


def timeline_result(posts: Sequence[PostRecord]) -> FetchResult:
    """The result of reading "My recent Posts": each Post the timeline returned, with status
    OK for the one group it carries (public metrics), so the read is kept and counted like
    any other (X bills timeline Posts as Post reads)."""
    return FetchResult(
        posts=tuple(posts),
        statuses=tuple(
            IdStatus(id=post.id, status=PostStatus.OK, source=post.id, position=n)
            for n, post in enumerate(posts)
        ),
        groups=(Group.PUBLIC,),
    )


def save_result(connection: Connection, result: FetchResult) -> SaveOutcome | None:
    """Keep a dashboard read in the connection's store (source ``dashboard``), at the time
    of the read: the Demo's sandbox clock for the Demo (its world holds still), else
    ``result.fetched_at`` (or now).

    Returns None, with a warning on the page, when the store is unavailable or refuses the
    write: the fetch is shown all the same.
    """
    demo = is_demo(connection)
    store = dashboard_store(demo=demo)
    if store is None:
        return None
    try:
        when = world_now(connection) if demo else (result.fetched_at or datetime.now(UTC))
        return store.save(
            result, source="dashboard", account=reading_account(connection), fetched_at=when
        )
    except StoreError as exc:
        log.warning("a fetch was not saved: %s", exc.message)
        alert("warning", f"This fetch was not kept in the history: {exc.message}")
        return None
    except SharedSandboxUnavailable as exc:
        log.warning("a Demo fetch was not saved: %s", exc)
        alert("warning", f"This fetch was not kept in the history: {exc}")
        return None


# -- the Demo's prefill --------------------------------------------------------------------------


@dataclass
class DemoPrefill:
    """The Demo store's prefill, running (or done) on a background thread."""

    thread: threading.Thread | None = None
    done: int = 0
    total: int = 0
    outcome: PrefillOutcome | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True when the prefill has finished."""
        return self.finished.wait(timeout)


#: How long one replica may hold the team's prefill lock (a dead holder's ends then), and
#: how long another waits for it.
PREFILL_LOCK_SECONDS: Final = 600.0


def prefill_lock_name(store_url: str) -> str:
    """The team-wide lock of the Demo prefill of the store at ``store_url`` (hashed: a URL
    may hold a password)."""
    return f"demo-prefill:{hashlib.sha256(store_url.encode()).hexdigest()[:16]}"


def _run_prefill(
    state: DemoPrefill, store: Store, app: Sandbox | RemoteSandbox, team: TeamState | None
) -> None:
    try:
        if isinstance(app, RemoteSandbox):
            # the team's shared world, prefilled by one replica at a time (the later ones find
            # every read time held and read nothing)
            world = app.world()
            now, seed, settings = world.now, world.seed, world.settings
        else:
            now, seed, settings = app.clock.now(), app.seed, app.settings
        exclusive = (
            None
            if team is None
            else team.redis.exclusive(
                prefill_lock_name(store.url),
                hold_seconds=PREFILL_LOCK_SECONDS,
                wait_seconds=PREFILL_LOCK_SECONDS,
            )
        )
        state.outcome = prefill_demo_history(
            store,
            now=now,
            seed=seed,
            settings=settings,
            progress=state.progress,
            exclusive=exclusive,
        )
    except (StoreError, XApiError, InputError) as exc:
        state.error = str(exc)
        log.warning("the Demo's history was not filled: %s", exc)
    except Exception as exc:  # a background thread has no page to report to: log it all
        state.error = "an unexpected problem (see the server's log)"
        log.error("the Demo's history prefill failed", exc_info=exc)
    finally:
        state.finished.set()


@st.cache_resource(show_spinner=False)
def _demo_prefill(url: str, _store: Store) -> DemoPrefill:
    state = DemoPrefill()
    state.thread = threading.Thread(
        target=_run_prefill,
        args=(state, _store, demo_app(), shared_state()),
        name="xmetrics-demo-history",
        daemon=True,
    )
    state.thread.start()
    return state


def demo_history(store: Store) -> DemoPrefill:
    """The Demo store's prefill: started on the first call per server, then the same."""
    return _demo_prefill(store.url, store)


__all__ = [
    "BUSY_TIMEOUT",
    "RETRY_SECONDS",
    "DemoPrefill",
    "dashboard_store",
    "demo_history",
    "forget_store_failures",
    "is_demo",
    "prices",
    "problem_text",
    "reading_account",
    "save_result",
    "show_store_problem",
    "store_problem",
    "store_url",
    "timeline_result",
    "world_now",
]
