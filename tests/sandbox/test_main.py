"""The standalone command: a subprocess on a free port that prints its credentials first."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.sandbox.helpers import TIMEOUT

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_standalone_prints_credentials_then_serves_until_terminated() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "xmetrics_core.sandbox", "--port", str(port), "--seed", "11"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert set(first) == {
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
        }
        assert first["base_url"] == f"http://127.0.0.1:{port}"
        me = requests.get(
            first["base_url"] + "/2/users/me",
            headers={"Authorization": f"Bearer {first['bearer_token']}"},
            timeout=TIMEOUT,
        )
        assert me.status_code == 403  # app-only on a user-only endpoint: the server is real
        timeline = requests.get(
            f"{first['base_url']}/2/users/{first['demo_user_id']}/tweets",
            headers={"Authorization": f"Bearer {first['bearer_token']}"},
            timeout=TIMEOUT,
        )
        assert timeline.json()["meta"]["result_count"] == 10
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()
