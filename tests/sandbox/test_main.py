"""The standalone command: a subprocess on a free port that prints its credentials first."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from tests.sandbox.helpers import TIMEOUT

REPO = Path(__file__).resolve().parents[2]
CREDENTIAL_KEYS = {
    "base_url",
    "bearer_token",
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
    "client_id",
    "client_secret",
    "redirect_uris",
    "demo_user_id",
    "tier",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def standalone(*options: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``python -m xmetrics_core.sandbox --port P *options``: the process and its first line."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "xmetrics_core.sandbox", "--port", str(port), *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["base_url"] == f"http://127.0.0.1:{port}"
        yield process, first
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()


def app_only(first: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {first['bearer_token']}"}


def demo_oauth1(first: dict[str, Any]) -> OAuth1:
    return OAuth1(
        first["consumer_key"],
        first["consumer_secret"],
        first["access_token"],
        first["access_token_secret"],
    )


def test_standalone_prints_credentials_then_serves_until_terminated() -> None:
    with standalone("--seed", "11") as (process, first):
        assert set(first) == CREDENTIAL_KEYS
        assert first["tier"] == "pay-per-use"
        me = requests.get(
            first["base_url"] + "/2/users/me", headers=app_only(first), timeout=TIMEOUT
        )
        assert me.status_code == 403  # app-only on a user-only endpoint: the server is real
        timeline = requests.get(
            f"{first['base_url']}/2/users/{first['demo_user_id']}/tweets",
            headers=app_only(first),
            timeout=TIMEOUT,
        )
        assert timeline.json()["meta"]["result_count"] == 10
        refused = requests.get(
            first["base_url"] + "/2/tweets/analytics",
            params={"ids": first["demo_user_id"]},
            auth=demo_oauth1(first),
            timeout=TIMEOUT,
        )
        assert refused.status_code == 403
        assert refused.json()["reason"] == "client-not-enrolled"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_standalone_clock_tier_and_redirect_uris() -> None:
    callbacks = ["http://127.0.0.1:9999/callback", "http://localhost:9999/"]
    with standalone(
        "--now",
        "2026-12-01T00:00:00Z",
        "--speed",
        "3600",
        "--tier",
        "enterprise",
        "--redirect-uri",
        callbacks[0],
        "--redirect-uri",
        callbacks[1],
    ) as (_process, first):
        assert set(first) == CREDENTIAL_KEYS
        assert first["tier"] == "enterprise"
        assert set(callbacks) <= set(first["redirect_uris"])
        base, auth = first["base_url"], demo_oauth1(first)

        def newest() -> dict[str, Any]:
            page = requests.get(
                f"{base}/2/users/{first['demo_user_id']}/tweets",
                params={"tweet.fields": "created_at,public_metrics"},
                auth=demo_oauth1(first),
                timeout=TIMEOUT,
            ).json()
            post: dict[str, Any] = page["data"][0]
            return post

        first_seen = newest()
        assert first_seen["created_at"] >= "2026-11-30T23:00:00.000Z"
        # an hour of sandbox time passes every real second: the world moves on its own
        deadline = time.monotonic() + 30
        while (
            newest()["public_metrics"] == first_seen["public_metrics"]
            and newest()["id"] == first_seen["id"]
        ):
            assert time.monotonic() < deadline, "the world did not move at --speed 3600"
            time.sleep(0.2)
        analytics = requests.get(
            f"{base}/2/tweets/analytics",
            params={
                "ids": first_seen["id"],
                "start_time": "2026-12-01T00:00:00Z",
                "end_time": "2026-12-20T00:00:00Z",
                "granularity": "hourly",
                "analytics.fields": "impressions",
            },
            auth=auth,
            timeout=TIMEOUT,
        )
        assert analytics.status_code == 200
        assert analytics.json()["data"][0]["timestamped_metrics"]

        def authorize(redirect_uri: str) -> int:
            return requests.get(
                f"{base}/i/oauth2/authorize",
                params={
                    "response_type": "code",
                    "client_id": first["client_id"],
                    "redirect_uri": redirect_uri,
                    "scope": "tweet.read users.read",
                    "state": "s",
                    "code_challenge": "c" * 43,
                    "code_challenge_method": "plain",
                },
                timeout=TIMEOUT,
            ).status_code

        assert [authorize(uri) for uri in callbacks] == [200, 200]
        assert authorize("http://127.0.0.1:9999/callback/") == 400  # exact match, as X


@pytest.mark.parametrize(
    ("option", "status", "title"),
    [("--credits", 402, "CreditsDepleted"), ("--cap", 429, "UsageCapExceeded")],
)
def test_standalone_credits_and_cap(option: str, status: int, title: str) -> None:
    with standalone(option, "0") as (_process, first):
        lookup = requests.get(
            f"{first['base_url']}/2/tweets",
            params={"ids": "20"},
            headers=app_only(first),
            timeout=TIMEOUT,
        )
        assert lookup.status_code == status
        assert lookup.json()["title"] == title
        usage = requests.get(
            f"{first['base_url']}/2/usage/tweets", headers=app_only(first), timeout=TIMEOUT
        )
        assert usage.status_code == 200  # what was spent stays readable


@pytest.mark.parametrize(
    "options",
    [
        ["--tier", "free"],
        ["--now", "yesterday"],
        ["--speed", "-1"],
        ["--credits", "-3"],
        ["--redirect-uri", "not a url"],
    ],
)
def test_standalone_refuses_bad_options_with_a_message(options: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xmetrics_core.sandbox", "--port", "0", *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error:" in done.stderr and "Traceback" not in done.stderr
