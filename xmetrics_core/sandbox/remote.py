"""A sandbox in another process: the Demo account of several dashboard replicas.

An in-process sandbox per replica cannot finish a sign-in another replica started (each has
its own codes and tokens), so in team mode every replica talks to one shared sandbox started
with ``python -m xmetrics_core.sandbox --port P --redirect-uri URL``. That command prints its
credentials as one JSON line; saved to a file, ``XMETRICS_DEMO_SANDBOX_FILE`` names it.
:class:`RemoteSandbox` is what a replica knows of it: the base URL, the demo credentials and
the app's tier, and the redirect URIs it was started with (it cannot register new ones from
afar, so a dashboard URL it was not started with is refused in words).

What replicas must agree on besides the sign-in is read from the shared sandbox over HTTP
(its own ``/sandbox/…`` endpoints, with the app's Bearer token): :meth:`RemoteSandbox.world`
(its clock's world time, for the cost ledger of Demo reads, and the seed and settings a
twin of its world is built from, for the Demo's history prefill) and
:meth:`RemoteSandbox.demo_exports` (the Import page's Demo exports).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast, get_args

import requests

from xmetrics_core.errors import ConfigurationError, InputError
from xmetrics_core.sandbox.accounts import DemoCredentials
from xmetrics_core.sandbox.settings import SandboxSettings, Tier, settings_from_json

DEMO_SANDBOX_FILE_ENV: Final = "XMETRICS_DEMO_SANDBOX_FILE"
#: (connect, read) seconds for the shared sandbox's own endpoints (loopback or a LAN).
TIMEOUT: Final = (3.05, 15.0)


class SharedSandboxUnavailable(InputError):
    """The shared Demo sandbox did not answer (or answered nonsense): said in words."""


@dataclass(frozen=True, kw_only=True)
class SandboxWorld:
    """The shared sandbox's world as ``/sandbox/world`` describes it."""

    now: datetime
    """Its clock's world time (aware, UTC)."""
    seed: int
    settings: SandboxSettings
    demo_user_id: str
    demo_username: str


@dataclass(frozen=True, kw_only=True)
class RemoteSandbox:
    """The shared Demo sandbox as a replica sees it (see the module doc)."""

    demo: DemoCredentials
    tier: Tier

    @property
    def base_url(self) -> str:
        return self.demo.base_url.rstrip("/")

    def register_redirect_uri(self, uri: str) -> None:
        """Check ``uri`` is one the shared sandbox was started with (X matches exactly)."""
        if uri not in self.demo.redirect_uris:
            raise ConfigurationError(
                f"the shared Demo sandbox does not accept {uri} as a sign-in callback: start it "
                f"with --redirect-uri {uri} (the address people open the dashboard at)"
            )

    def _get(self, path: str) -> dict[str, Any]:
        try:
            answer = requests.get(
                f"{self.base_url}{path}",
                headers={"Authorization": f"Bearer {self.demo.bearer_token}"},
                timeout=TIMEOUT,
            )
            answer.raise_for_status()
            data = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise SharedSandboxUnavailable(
                f"the shared Demo sandbox at {self.base_url} did not answer ({type(exc).__name__})"
            ) from None
        if not isinstance(data, dict):
            raise SharedSandboxUnavailable(f"the shared Demo sandbox sent no object for {path}")
        return data

    def world(self) -> SandboxWorld:
        """The shared sandbox's clock, seed and settings (one request)."""
        data = self._get("/sandbox/world")
        try:
            return SandboxWorld(
                now=datetime.fromisoformat(str(data["now"])),
                seed=int(data["seed"]),
                settings=settings_from_json(data["settings"]),
                demo_user_id=str(data["demo_user_id"]),
                demo_username=str(data["demo_username"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SharedSandboxUnavailable(
                f"the shared Demo sandbox described its world wrongly ({exc!s:.60})"
            ) from None

    def now(self) -> datetime:
        """The shared sandbox's world time: "now" for the Demo's reads (one request)."""
        return self.world().now

    def demo_exports(self) -> dict[str, bytes]:
        """The Demo account's four CSV exports at the shared sandbox's clock: name → bytes."""
        data = self._get("/sandbox/exports")
        try:
            return {
                str(name): base64.b64decode(str(text), validate=True) for name, text in data.items()
            }
        except (binascii.Error, ValueError):
            raise SharedSandboxUnavailable("the shared Demo sandbox sent broken exports") from None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RemoteSandbox:
        """From the sandbox's credentials line; ConfigurationError when malformed."""
        try:
            tier = str(data.get("tier", "pay-per-use"))
            if tier not in get_args(Tier):
                raise ValueError(tier)
            demo = DemoCredentials(
                base_url=str(data["base_url"]),
                bearer_token=str(data["bearer_token"]),
                consumer_key=str(data["consumer_key"]),
                consumer_secret=str(data["consumer_secret"]),
                access_token=str(data["access_token"]),
                access_token_secret=str(data["access_token_secret"]),
                client_id=str(data["client_id"]),
                client_secret=str(data["client_secret"]),
                redirect_uris=tuple(str(u) for u in data.get("redirect_uris", ())),
                demo_user_id=str(data["demo_user_id"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"the shared Demo sandbox's credentials are missing or wrong ({exc!s:.40})"
            ) from None
        return cls(demo=demo, tier=cast(Tier, tier))

    @classmethod
    def from_file(cls, path: Path) -> RemoteSandbox:
        """From the file holding the sandbox's first stdout line."""
        try:
            line = path.read_text(encoding="utf-8").strip().splitlines()[0]
            data = json.loads(line)
        except (OSError, IndexError, ValueError):
            raise ConfigurationError(
                f"{DEMO_SANDBOX_FILE_ENV} names {path}, which does not hold the shared sandbox's "
                "credentials line (the first line `python -m xmetrics_core.sandbox` prints)"
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{path} does not hold a JSON object")
        return cls.from_json(data)
