"""Shared pieces of the analytics, usage and access tests (sandboxes built around one time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from xmetrics_core.client import XClient
from xmetrics_core.credentials import Credential, OAuth1Credential, OAuth2Credential
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.sandbox import Media, Post, Sandbox, SandboxSettings

#: The sandboxes of these tests start here (mid-month, mid-hour: windows and days are cut).
START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

SandboxFactory = Callable[..., Sandbox]


def start(factory: SandboxFactory, *, tier: str = "enterprise", **settings: Any) -> Sandbox:
    """A sandbox at :data:`START` with the given tier and settings (world held still)."""
    return factory(settings=SandboxSettings(tier=tier, **settings), now=START)  # type: ignore[arg-type]


def demo_oauth1(sandbox: Sandbox) -> OAuth1Credential:
    demo = sandbox.demo
    return OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )


def oauth2_token(sandbox: Sandbox, scopes: tuple[str, ...]) -> OAuth2Credential:
    """An OAuth 2.0 credential of the demo user with exactly ``scopes`` (no consent page)."""
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=scopes)
    return OAuth2Credential(access_token=str(token["access_token"]), scope=scopes)


def client_for(sandbox: Sandbox, credential: Credential) -> XClient:
    """A client on the sandbox's clock that never sleeps between retries."""
    return XClient(
        credential=credential,
        base_url=sandbox.base_url,
        clock=sandbox.clock.now,
        retry=RetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
    )


def growing_demo_post(sandbox: Sandbox, *, older_than: timedelta = timedelta(hours=3)) -> Post:
    """The demo account's newest Post created at least ``older_than`` before now."""
    now = sandbox.clock.now()
    return max(
        (p for p in sandbox.world.demo_posts if p.created_at <= now - older_than),
        key=lambda p: p.created_at,
    )


def demo_videos(sandbox: Sandbox) -> list[Media]:
    """The demo account's videos, newest first."""
    world = sandbox.world
    videos = [m for m in world.media if m.type == "video" and m.owner_id == world.demo_user_id]
    return sorted(videos, key=lambda m: m.appears_at, reverse=True)


def analytics_requests(sandbox: Sandbox, path: str = "/2/tweets/analytics") -> list[Any]:
    """The request log's entries for one endpoint."""
    return [e for e in sandbox.request_log.entries() if e.path == path]
