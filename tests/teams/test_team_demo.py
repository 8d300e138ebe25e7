"""In team mode the Demo follows the team's shared sandbox, not each replica's own: the cost
ledger's clock for Demo reads, the Import page's Demo exports, and the History prefill of
the shared store (the replicas' own Demo worlds are nine days behind on purpose:
``cluster.REPLICA_DEMO_LAG``)."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.teams.cluster import Cluster, Replica, demo_connection
from tests.teams.streamlit_client import StreamlitSession
from xmetrics_core.browser_session import BROWSER_COOKIE, BrowserSessions
from xmetrics_core.catalogue import Group
from xmetrics_core.connection import AuthMethod, Connection, endpoints_for
from xmetrics_core.credentials import OAuth1Credential
from xmetrics_core.demo_history import DEMO_DAYS, floor_hour, prefill_demo_history
from xmetrics_core.sandbox import Sandbox
from xmetrics_core.sandbox.remote import (
    DEMO_SANDBOX_FILE_ENV,
    RemoteSandbox,
    SharedSandboxUnavailable,
)
from xmetrics_core.shared_state import team_state
from xmetrics_core.store import Account, Store, open_store

FILLING = b"is being filled in"
NOT_FILLED = b"could not be filled in"


def _point_replica_at(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a replica configured with ``sandbox`` as the team's shared one."""
    line = tmp_path / "demo-sandbox.json"
    line.write_text(json.dumps({**sandbox.demo.as_json(), "tier": sandbox.tier}) + "\n")
    monkeypatch.setenv(DEMO_SANDBOX_FILE_ENV, str(line))


def _demo_reader(sandbox: Sandbox) -> Connection:
    demo = sandbox.demo
    return Connection(
        credential=OAuth1Credential(
            consumer_key=demo.consumer_key,
            consumer_secret=demo.consumer_secret,
            access_token=demo.access_token,
            access_token_secret=demo.access_token_secret,
        ),
        method=AuthMethod.OAUTH1_KEYS,
        endpoints=endpoints_for(sandbox.base_url),
    )


def test_demo_reads_are_billed_on_the_shared_sandboxs_clock(
    fresh_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from xmetrics_ui.store import world_now

    _point_replica_at(fresh_sandbox, tmp_path, monkeypatch)
    shared_day = fresh_sandbox.clock.now() - timedelta(days=40, hours=5)
    fresh_sandbox.clock.set(shared_day)  # the shared world's day is not this replica's
    assert world_now(_demo_reader(fresh_sandbox)) == shared_day
    fresh_sandbox.clock.advance(2 * 3600)
    assert world_now(_demo_reader(fresh_sandbox)) == shared_day + timedelta(hours=2)


def test_with_the_shared_sandbox_gone_demo_reads_are_not_billed_on_another_clock(
    fresh_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from xmetrics_ui.store import world_now

    _point_replica_at(fresh_sandbox, tmp_path, monkeypatch)
    reader = _demo_reader(fresh_sandbox)
    fresh_sandbox.stop()
    with pytest.raises(SharedSandboxUnavailable, match="did not answer"):
        world_now(reader)  # save_result and the cost meter say so instead of guessing


def test_the_import_pages_demo_exports_are_the_shared_sandboxs(
    fresh_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from xmetrics_ui.import_views import demo_account, demo_files

    _point_replica_at(fresh_sandbox, tmp_path, monkeypatch)
    fresh_sandbox.clock.set(fresh_sandbox.clock.now() - timedelta(days=17))
    assert demo_files() == fresh_sandbox.demo_exports()
    user = fresh_sandbox.world.user(fresh_sandbox.demo.demo_user_id)
    assert user is not None
    assert demo_account() == Account(user_id=user.id, username=user.username)


async def _open_history(replica: Replica, browser: str) -> bytes:
    """The History page of ``browser`` on ``replica``, rerun until the Demo's prefill is done."""
    deadline = time.monotonic() + 150
    async with StreamlitSession(
        base_url=replica.base_url, cookies={BROWSER_COOKIE: browser}, timeout_seconds=120
    ) as session:
        while True:
            run = await session.rerun("history")
            if FILLING not in run.payload:
                return run.payload
            if time.monotonic() > deadline:
                raise AssertionError(f"the prefill did not end on {replica.name}")
            await asyncio.sleep(1)


def _prefilled_pairs(
    store: Store, account: Account, *, since: datetime, until: datetime
) -> set[tuple[datetime, str]]:
    """(read time, Post ID) of the account's snapshots from ``since`` to ``until``."""
    rows = store.history_rows(since=since, until=until, groups=(Group.PUBLIC,), account=account)
    return {
        (moment.to_pydatetime(), str(post_id))
        for moment, post_id in zip(rows["fetched_at"], rows["id"], strict=True)
    }


def test_both_replicas_prefill_the_shared_store_from_the_shared_sandboxs_world(
    cluster: Cluster, tmp_path: Path
):
    connection, client = demo_connection(cluster)
    client.close()
    assert connection.account is not None
    team = team_state(cluster.env)
    assert team is not None
    sessions = BrowserSessions(store=team.store)
    browsers: list[tuple[Replica, str]] = []
    for replica in cluster.replicas:  # a Demo browser on each replica, both opening History
        http = requests.Session()
        http.get(replica.base_url, timeout=20)
        browser = http.cookies[BROWSER_COOKIE]
        sessions.save_connection(browser, connection, remember=False)
        browsers.append((replica, browser))

    async def both() -> list[bytes]:
        return await asyncio.gather(*(_open_history(r, b) for r, b in browsers))

    # on a thread of its own: the run's Playwright (sync API) holds this thread's event loop
    with ThreadPoolExecutor(max_workers=1) as runner:
        pages = runner.submit(asyncio.run, both()).result(timeout=300)
    for page in pages:
        assert NOT_FILLED not in page

    # what a prefill of the shared world gives, made here on a store of its own
    world = RemoteSandbox.from_json(cluster.sandbox_line).world()
    assert world.now == cluster.demo_now
    with open_store(f"sqlite:///{tmp_path / 'reference.db'}") as reference:
        prefill_demo_history(reference, now=world.now, seed=world.seed, settings=world.settings)
        account = Account(user_id=world.demo_user_id, username=world.demo_username)
        end = floor_hour(world.now)
        since = end - timedelta(days=DEMO_DAYS)
        expected = _prefilled_pairs(reference, account, since=since, until=end)
    with open_store(cluster.env["XMETRICS_DEMO_DATABASE_URL"]) as shared:
        held = _prefilled_pairs(shared, account, since=since, until=end)
    assert len(expected) > 100
    # the shared store holds exactly the shared world's history: no read time of a
    # replica's own (nine days older) world, none missing
    assert held == expected
