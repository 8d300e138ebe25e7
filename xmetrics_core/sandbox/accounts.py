"""The sandbox's credentials: the demo app, and OAuth 1.0a access tokens for every account.

Credentials are derived from the seed (stable across runs, so a demo can be bookmarked); they
are loopback-only sandbox values, not secrets of any real account. ``repr()`` of these values
never shows a secret. The demo OAuth 2.0 client is confidential (Basic auth with
``client_id``/``client_secret``) and is *also* accepted as a public client (``client_id`` in the
body, no secret), so both token-endpoint paths are testable with one client.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from xmetrics_core.sandbox.world import World

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

DEFAULT_REDIRECT_URIS: tuple[str, ...] = (
    "http://127.0.0.1:8501/",
    "http://localhost:8501/",
)


def derive(seed: int, purpose: str, length: int) -> str:
    """A deterministic alphanumeric string for ``purpose`` under ``seed``."""
    out = ""
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"xmetrics-sandbox:{seed}:{purpose}:{counter}".encode()).digest()
        out += "".join(_ALNUM[b % len(_ALNUM)] for b in digest)
        counter += 1
    return out[:length]


@dataclass(frozen=True, kw_only=True)
class SandboxAccount:
    """One account with its OAuth 1.0a access token (signed with the demo consumer key)."""

    user_id: str
    username: str
    name: str
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class DemoCredentials:
    """Everything a client needs to talk to the sandbox as the demo app and demo user."""

    base_url: str
    bearer_token: str = field(repr=False)
    consumer_key: str
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    demo_user_id: str

    def as_json(self) -> dict[str, object]:
        """The object ``python -m xmetrics_core.sandbox`` prints as its first line."""
        return {
            "base_url": self.base_url,
            "bearer_token": self.bearer_token,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "demo_user_id": self.demo_user_id,
        }


@dataclass(frozen=True, kw_only=True)
class AppCredentials:
    """The demo app's own secrets (shared by every account)."""

    bearer_token: str = field(repr=False)
    consumer_key: str
    consumer_secret: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    project_id: str
    client_app_id: str


def derive_number(seed: int, purpose: str, digits: int) -> str:
    """A deterministic decimal ID of ``digits`` digits (no leading zero) for ``purpose``."""
    digest = hashlib.sha256(f"xmetrics-sandbox:{seed}:{purpose}".encode()).digest()
    low = 10 ** (digits - 1)
    return str(low + int.from_bytes(digest[:8], "big") % (9 * low))


def app_credentials(seed: int) -> AppCredentials:
    """The demo app's keys (and its public project and app IDs) for ``seed``."""
    return AppCredentials(
        bearer_token="AAAAAAAAAAAAAAAAAAAAA" + derive(seed, "bearer", 91),
        consumer_key=derive(seed, "consumer_key", 25),
        consumer_secret=derive(seed, "consumer_secret", 50),
        client_id=derive(seed, "client_id", 34),
        client_secret=derive(seed, "client_secret", 50),
        project_id=derive_number(seed, "project_id", 16),
        client_app_id=derive_number(seed, "client_app_id", 8),
    )


def sandbox_accounts(seed: int, world: World) -> tuple[SandboxAccount, ...]:
    """One :class:`SandboxAccount` per world user, demo first."""
    return tuple(
        SandboxAccount(
            user_id=user.id,
            username=user.username,
            name=user.name,
            access_token=f"{user.id}-{derive(seed, f'access_token:{user.id}', 30)}",
            access_token_secret=derive(seed, f"access_token_secret:{user.id}", 45),
        )
        for user in world.users
    )
