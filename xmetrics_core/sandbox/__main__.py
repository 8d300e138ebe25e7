"""Standalone sandbox: ``python -m xmetrics_core.sandbox --port 8787 [--host 127.0.0.1] [--seed 7]``.

Prints, as its first stdout line (flushed), one JSON object with ``base_url`` and the demo
credentials (``DemoCredentials.as_json()``), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from xmetrics_core.sandbox.server import start_sandbox
from xmetrics_core.sandbox.settings import SandboxSettings


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: port, host and seed."""
    parser = argparse.ArgumentParser(
        prog="python -m xmetrics_core.sandbox",
        description="Serve the X API v2 sandbox on loopback until interrupted.",
    )
    parser.add_argument("--port", type=int, default=8787, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated world")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandbox, print its credentials line, wait for SIGINT/SIGTERM, stop."""
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sandbox = start_sandbox(
        settings=SandboxSettings(host=args.host, port=args.port), seed=args.seed
    )
    try:
        sys.stdout.write(json.dumps(sandbox.demo.as_json()) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
