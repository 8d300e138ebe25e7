"""Standalone sandbox: ``python -m xmetrics_core.sandbox --port 8787 [options]``.

Prints, as its first stdout line (flushed), one JSON object with ``base_url``, the demo
credentials (``DemoCredentials.as_json()``) and the app's ``tier``, then serves until SIGINT or
SIGTERM. Options: ``--host``, ``--seed``; the clock (``--now`` ISO start time, default the real
time; ``--speed`` sandbox seconds per real second, default 1, 0 holds the world still); the
app's access level (``--tier pay-per-use|enterprise``); billing (``--credits N`` for a
pay-per-use balance that ends in 402 CreditsDepleted, ``--cap N`` for the monthly Post-read
cap that ends in 429 usage-capped); and ``--redirect-uri URI`` (repeatable) to register more
OAuth callbacks, matched exactly as X does.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from urllib.parse import urlsplit

from xmetrics_core.sandbox.server import start_sandbox
from xmetrics_core.sandbox.settings import PAY_PER_USE_MONTHLY_CAP, TIERS, SandboxSettings


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-01T00:00:00Z"
        ) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from error
    if value < 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError("the speed must be a finite number ≥ 0")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return int(text)


def _redirect_uri(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an absolute http(s) URL without a fragment"
        )
    return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m xmetrics_core.sandbox",
        description="Serve the X API v2 sandbox on loopback until interrupted.",
    )
    parser.add_argument("--port", type=int, default=8787, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated world")
    parser.add_argument(
        "--now",
        type=_moment,
        default=None,
        help="the sandbox's start time, ISO 8601 (default: now); the world is anchored to its UTC day",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="sandbox seconds per real second (default 1; 3600: an hour a second; 0: hold still)",
    )
    parser.add_argument(
        "--tier",
        choices=TIERS,
        default="pay-per-use",
        help="the app's access level: only enterprise gets /2/tweets/analytics and /2/media/analytics",
    )
    parser.add_argument(
        "--credits",
        type=_count,
        default=None,
        help="pay-per-use credits (one per Post billed); at 0 the API answers 402 (default: unlimited)",
    )
    parser.add_argument(
        "--cap",
        type=_count,
        default=PAY_PER_USE_MONTHLY_CAP,
        help=f"monthly Post-read cap, then 429 usage-capped (default {PAY_PER_USE_MONTHLY_CAP:,})",
    )
    parser.add_argument(
        "--redirect-uri",
        dest="redirect_uris",
        type=_redirect_uri,
        action="append",
        default=[],
        metavar="URI",
        help="register one more OAuth callback, matched exactly (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandbox, print its credentials line, wait for SIGINT/SIGTERM, stop."""
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    settings = SandboxSettings(
        host=args.host,
        port=args.port,
        tier=args.tier,
        credits=args.credits,
        project_cap=args.cap,
    )
    sandbox = start_sandbox(settings=settings, seed=args.seed, now=args.now, speed=args.speed)
    try:
        for uri in args.redirect_uris:
            sandbox.register_redirect_uri(uri)
        line = {**sandbox.demo.as_json(), "tier": sandbox.tier}
        line["redirect_uris"] = list(
            dict.fromkeys([*sandbox.demo.redirect_uris, *args.redirect_uris])
        )
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
