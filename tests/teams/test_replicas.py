"""Two ``streamlit run server.py`` replicas on loopback sharing Redis, PostgreSQL and one Demo
sandbox process: what one replica starts, the other finishes (HTTP only, no browser)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
import requests

from tests.sandbox.flows import submit
from tests.teams.cluster import REPO, Cluster
from tests.teams.conftest import REDIS_URL
from xmetrics_core.browser_session import BROWSER_COOKIE, BrowserSessions
from xmetrics_core.connection import AuthMethod, endpoints_for
from xmetrics_core.shared_state import team_state
from xmetrics_core.signin import PendingSignIns, start_oauth2_sign_in

TIMEOUT = 20


def _shared(cluster: Cluster) -> PendingSignIns:
    team = team_state(cluster.env)
    assert team is not None
    return PendingSignIns(store=team.store)


def _sessions(cluster: Cluster) -> BrowserSessions:
    team = team_state(cluster.env)
    assert team is not None
    return BrowserSessions(store=team.store)


def _start_demo_sign_in(cluster: Cluster, browser: str, redirect_uri: str) -> str:
    """Keep a Demo sign-in in the shared state exactly as a replica's script does (the button
    "Connect the Demo account" calls the same function); returns the consent URL."""
    line = cluster.sandbox_line
    return start_oauth2_sign_in(
        pending=_shared(cluster),
        browser_id=browser,
        method=AuthMethod.DEMO,
        endpoints=endpoints_for(str(line["base_url"])),
        client_id=str(line["client_id"]),
        client_secret=str(line["client_secret"]),
        redirect_uri=redirect_uri,
    )


def _consent(cluster: Cluster, url: str) -> dict[str, str]:
    page = requests.get(url, timeout=TIMEOUT)
    redirect = submit(str(cluster.sandbox_line["base_url"]), page.text, "Authorize app")
    assert redirect.status_code in (302, 303), redirect.text[:200]
    return dict(parse_qsl(urlsplit(redirect.headers["Location"]).query))


def test_a_sign_in_meant_for_replica_a_finishes_on_replica_b_once(cluster: Cluster):
    a, b = cluster.replicas
    browser_http = requests.Session()
    assert browser_http.get(a.base_url, timeout=TIMEOUT).status_code == 200
    browser = browser_http.cookies.get(BROWSER_COOKIE)
    assert browser, "replica A set no browser cookie"

    params = _consent(cluster, _start_demo_sign_in(cluster, browser, a.base_url))
    # the callback was meant for A; the load balancer sends it to B
    landed = browser_http.get(
        f"{b.base_url}?{urlencode(params)}", allow_redirects=False, timeout=TIMEOUT
    )
    assert landed.status_code == 303 and landed.headers["Location"] == "/"

    sessions = _sessions(cluster)
    stored = sessions.connection(browser)
    assert stored is not None, b.log()[-2000:]
    assert stored.connection.account is not None
    assert stored.connection.account.id == cluster.sandbox_line["demo_user_id"]
    assert [m.kind for m in sessions.take_messages(browser)] == ["success"]

    # the same callback again, now on A: the sign-in was single use on every replica
    replay = browser_http.get(
        f"{a.base_url}?{urlencode(params)}", allow_redirects=False, timeout=TIMEOUT
    )
    assert replay.status_code == 303
    (refused,) = sessions.take_messages(browser)
    assert refused.kind == "info" and "had already been used, so nothing changed" in refused.text
    assert sessions.connection(browser) is not None  # the replay did not end the session

    # nothing in Redis in clear: not the token A..B share, not the app's secrets, not the id
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    prefix = cluster.env["XMETRICS_STATE_PREFIX"]
    raw = b"\n".join(
        [k + b"=" + (client.get(k) or b"") for k in client.scan_iter(match=f"{prefix}:*")]
    )
    client.close()
    credential = stored.connection.credential
    secrets = [
        browser,
        str(cluster.sandbox_line["client_secret"]),
        str(cluster.sandbox_line["bearer_token"]),
        getattr(credential, "access_token", ""),
        getattr(credential, "refresh_token", "") or "",
    ]
    assert raw
    assert [s for s in secrets if s and s.encode() in raw] == []
    # nor in either replica's log (at DEBUG)
    logs = a.log() + b.log()
    assert logs
    assert [s for s in secrets if s and s in logs] == []
    assert params["code"] not in logs


def test_a_callback_carried_to_another_browser_connects_nothing_on_either_replica(
    cluster: Cluster,
):
    a, b = cluster.replicas
    victim, attacker = requests.Session(), requests.Session()
    victim.get(a.base_url, timeout=TIMEOUT)
    attacker.get(b.base_url, timeout=TIMEOUT)
    victim_id, attacker_id = victim.cookies[BROWSER_COOKIE], attacker.cookies[BROWSER_COOKIE]
    params = _consent(cluster, _start_demo_sign_in(cluster, victim_id, a.base_url))

    attacker.get(f"{b.base_url}?{urlencode(params)}", allow_redirects=False, timeout=TIMEOUT)
    sessions = _sessions(cluster)
    assert sessions.connection(attacker_id) is None
    (message,) = sessions.take_messages(attacker_id)
    assert "another browser" in message.text


def test_team_mode_without_a_key_refuses_to_start_and_says_why(tmp_path: Path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XMETRICS_STATE_URL": REDIS_URL,
    }
    finished = subprocess.run(
        [
            str(Path(sys.executable).with_name("streamlit")),
            "run",
            "server.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            "--server.port=1",
            "--browser.gatherUsageStats=false",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = (finished.stdout + finished.stderr).decode(errors="replace")
    assert finished.returncode != 0, output[-2000:]
    assert "XMETRICS_STATE_KEY is not" in output
    assert "Traceback" not in output
