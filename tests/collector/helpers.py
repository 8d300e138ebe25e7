"""Credentials, clients and child processes for the collector's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from xmetrics_core.client import XClient
from xmetrics_core.credentials import ENV_VARIABLES, BearerCredential, OAuth1Credential
from xmetrics_core.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def oauth1(sandbox: Sandbox) -> OAuth1Credential:
    demo = sandbox.demo
    return OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )


def bearer(sandbox: Sandbox) -> BearerCredential:
    return BearerCredential(token=sandbox.demo.bearer_token)


def client(sandbox: Sandbox, credential: Any = None) -> XClient:
    """A client of the sandbox living on the sandbox's clock."""
    return XClient(
        credential=credential or oauth1(sandbox),
        base_url=sandbox.base_url,
        clock=sandbox.clock.now,
    )


def oauth1_env(sandbox: Sandbox) -> dict[str, str]:
    demo = sandbox.demo
    return {
        "X_CONSUMER_KEY": demo.consumer_key,
        "X_CONSUMER_SECRET": demo.consumer_secret,
        "X_ACCESS_TOKEN": demo.access_token,
        "X_ACCESS_TOKEN_SECRET": demo.access_token_secret,
        "X_API_BASE_URL": sandbox.base_url,
    }


def cli_env(store_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A child's environment: this checkout importable, the store, no ambient credentials."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    env.pop("X_API_BASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["XMETRICS_DATABASE_URL"] = store_url
    env.update(extra or {})
    return env


def spawn(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """``python -m xmetrics_core ARGS`` in a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "xmetrics_core", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(args: Sequence[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str, str]:
    child = spawn(args, env)
    out, err = child.communicate(timeout=timeout)
    return child.returncode, out, err


def frozen(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
