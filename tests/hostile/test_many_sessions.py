"""Twenty dashboard sessions side by side, each signed in as a different sandbox account, all
fetching the same overlapping Posts: nobody sees another account's private metrics or identity,
the shared result cache is keyed by credential, and the slowest page render is reported.

The sessions are AppTest instances driven from 20 threads against the app's own sandbox, their
steps interleaved in whatever order the threads reach them (one script run at a time: see
``SCRIPT_RUNS``); the sandbox's ground truth says which private numbers each account may see.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from apptest_helpers import new_app
from streamlit.testing.v1 import AppTest

from xmetrics_core.connection import Connection
from xmetrics_core.models import PostStatus
from xmetrics_ui.session import CONNECTION_KEY, result_cache
from xmetrics_ui.views import RESULT_KEY

SESSIONS = 20


SCRIPT_RUNS = threading.Lock()
"""AppTest drives one Streamlit runtime per script run and resets it afterwards, so two runs
must not overlap in one process. The twenty sessions run on twenty threads and interleave
freely, but each script run holds this lock (no Streamlit internals are patched). Truly
parallel runs on one real server are the browser variant's (test_many_sessions_browser)."""


PRIVATE_COLUMN = "non_public_metrics.impression_count"
ORGANIC_COLUMN = "organic_metrics.like_count"


@dataclass(kw_only=True)
class Session:
    """One browser session's run: the AppTest and how long each script run took."""

    account: Any
    at: AppTest | None = None
    renders: list[float] = field(default_factory=list)
    error: BaseException | None = None

    def timed(self, step: Callable[[], AppTest]) -> AppTest:
        with SCRIPT_RUNS:
            started = time.perf_counter()
            at = step()
            self.renders.append(time.perf_counter() - started)
        return at


def shared_paste(demo: Any, accounts: list[Any]) -> list[str]:
    """The two newest Posts of every account and a few of the demo's: everyone pastes all."""
    world = demo.world
    ids = [p.id for account in accounts for p in world.posts_by(account.user_id)[:2]]
    ids += [p.id for p in world.demo_posts[:5]]
    return list(dict.fromkeys(ids))


def drive(session: Session, demo: Any, paste: str, start: threading.Barrier) -> None:
    """Sign in with the account's OAuth 1.0a tokens, open Posts, paste, fetch."""
    try:
        account = session.account
        at = new_app()
        start.wait(timeout=60)
        at = session.timed(at.run)
        at.text_input(key="xm_oauth1_base").set_value(demo.base_url)
        at.text_input(key="xm_o1_ck").set_value(demo.demo.consumer_key)
        at.text_input(key="xm_o1_cs").set_value(demo.demo.consumer_secret)
        at.text_input(key="xm_o1_at").set_value(account.access_token)
        at.text_input(key="xm_o1_as").set_value(account.access_token_secret)
        at = session.timed(at.button(key="xm_o1_connect").click().run)
        at = session.timed(at.switch_page("pages/posts.py").run)
        at.text_area(key="xm_posts_text").set_value(paste)
        at = session.timed(at.button(key="xm_fetch").click().run)
        session.at = session.timed(at.run)  # a plain rerun reads the cache
    except BaseException as exc:  # reported on the main thread
        session.error = exc


def posts_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.dataframe if PRIVATE_COLUMN in t.value.columns)


def check_session(session: Session, demo: Any) -> str:
    """Everything this session shows belongs to its account; returns its fingerprint."""
    assert session.error is None, repr(session.error)
    at, account = session.at, session.account
    assert at is not None
    assert not at.exception, [str(e.value) for e in at.exception]
    connection = at.session_state[CONNECTION_KEY]
    assert isinstance(connection, Connection)
    assert connection.account is not None and connection.account.id == account.user_id
    sidebar = [str(t.value) for t in at.sidebar.text]
    page = [f"{type(e).__name__}: {getattr(e, 'value', '')}"[:200] for e in at.main]
    assert f"Account: @{account.username}" in " ".join(sidebar), (sidebar, page, session.renders)
    others = [a.username for a in demo.accounts if a.user_id != account.user_id]
    shown = " ".join([*sidebar, *(str(s.value) for s in at.success)])
    assert not any(f"@{name}" in shown for name in others)

    world, now = demo.world, demo.clock.now()
    table = posts_table(at)
    mine = 0
    for _, row in table.iterrows():
        truth = world.post(str(row["id"]))
        assert truth is not None
        own_and_recent = truth.author_id == account.user_id and truth.within_private_window(now)
        if own_and_recent:
            mine += 1
            assert row[PRIVATE_COLUMN] == truth.non_public_metrics["impression_count"]
            assert row[ORGANIC_COLUMN] == truth.organic_metrics["like_count"]
        else:
            assert pd.isna(row[PRIVATE_COLUMN]), (account.username, row["id"], row["status"])
            assert pd.isna(row[ORGANIC_COLUMN])
            assert row["status"] in (
                PostStatus.PUBLIC_ONLY_NOT_OWNER.value,
                PostStatus.PUBLIC_ONLY_TOO_OLD.value,
                PostStatus.NOT_AUTHORIZED.value,
            ), row["status"]
    assert mine >= 1, "each account pasted at least one of its own recent Posts"
    key = at.session_state[RESULT_KEY]
    assert key[0] == connection.fingerprint, "the cache key starts with the credential"
    return connection.fingerprint


def test_twenty_interleaved_sessions_each_see_only_their_own_account(demo: Any, dashboard: Any):
    accounts = [
        a
        for a in demo.accounts[1:]
        if a.user_id not in (demo.world.protected_user_id, demo.world.suspended_user_id)
    ][:SESSIONS]
    assert len(accounts) == SESSIONS
    paste = "\n".join(shared_paste(demo, accounts))
    sessions = [Session(account=account) for account in accounts]
    start = threading.Barrier(SESSIONS)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SESSIONS, thread_name_prefix="session") as pool:
        for future in [pool.submit(drive, s, demo, paste, start) for s in sessions]:
            future.result(timeout=120)
    wall = time.perf_counter() - started

    fingerprints = [check_session(session, demo) for session in sessions]
    assert len(set(fingerprints)) == SESSIONS
    cache = result_cache()
    for session in sessions:
        assert session.at is not None
        assert cache.get(session.at.session_state[RESULT_KEY]) is not None

    renders = [seconds for session in sessions for seconds in session.renders]
    slowest = max(renders)
    print(
        f"\nSESSIONS n={SESSIONS} wall_s={wall:.2f} renders={len(renders)} "
        f"slowest_render_s={slowest:.2f} median_render_s={statistics.median(renders):.2f}"
    )
    assert slowest < 60, "a page render took longer than AppTest's timeout allows"
