"""Where X lives and how we reach it: the one home of the defaults every module shares.

* :data:`X_API_BASE_URL` (API calls and token exchange) and :data:`X_WEB_BASE_URL` (the OAuth
  2.0 consent page the browser opens); the sandbox serves both from one base URL.
* :data:`OAUTH2_SCOPES`: what reading Posts and their metrics needs, plus a refresh token.
* :class:`Timeouts`: the explicit connect and read timeouts of every HTTP call.
* :func:`require_secure_url`: plain ``http`` only to loopback (the sandbox), ``https``
  everywhere else. Nothing here sets process-wide state.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Final
from urllib.parse import urlsplit

from xmetrics_core.errors import ConfigurationError

X_API_BASE_URL: Final = "https://api.x.com"
X_WEB_BASE_URL: Final = "https://x.com"
OAUTH2_SCOPES: Final[tuple[str, ...]] = ("tweet.read", "users.read", "offline.access")
"""What reading Posts and their metrics needs, plus a refresh token (FACTS §4)."""

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})

try:
    _VERSION = metadata.version("xmetrics")
except metadata.PackageNotFoundError:
    _VERSION = "0.1.0"
USER_AGENT: Final = f"xmetrics/{_VERSION}"


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Explicit connect and read timeouts in seconds for every HTTP call."""

    connect: float = 3.05
    read: float = 20.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


DEFAULT_TIMEOUTS: Final = Timeouts()


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (127.0.0.1, localhost, ::1)."""
    return urlsplit(url).hostname in LOOPBACK_HOSTS


def require_secure_url(url: str) -> str:
    """``url`` itself when it is ``https``, or plain ``http`` to loopback (the sandbox).

    Raises :class:`~xmetrics_core.errors.ConfigurationError` for anything else: tokens never
    travel in the clear off this machine.
    """
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return url
    raise ConfigurationError(
        f"{parts.scheme or 'schemeless'} URL to {parts.hostname or '?'} refused: "
        "X API URLs must use https (plain http only to 127.0.0.1)"
    )
