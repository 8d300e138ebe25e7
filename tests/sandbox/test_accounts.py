"""Credentials: deterministic per seed, one access token per account, secrets kept out of repr."""

from __future__ import annotations

from datetime import UTC, datetime

from xmetrics_core.sandbox import Sandbox, SandboxSettings
from xmetrics_core.sandbox.accounts import DEFAULT_REDIRECT_URIS, app_credentials, sandbox_accounts
from xmetrics_core.sandbox.world import build_world

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_credentials_are_stable_per_seed_and_differ_across_seeds() -> None:
    assert app_credentials(7) == app_credentials(7)
    assert app_credentials(7).consumer_secret != app_credentials(8).consumer_secret
    assert app_credentials(7).bearer_token.startswith("AAAAAAAAAAAAAAAAAAAAA")


def test_every_account_has_its_own_x_style_access_token() -> None:
    world = build_world(seed=7, now=NOW, settings=SandboxSettings())
    accounts = sandbox_accounts(7, world)
    assert [a.user_id for a in accounts] == [u.id for u in world.users]
    assert len({a.access_token for a in accounts}) == len(accounts)
    for account in accounts:
        assert account.access_token.startswith(f"{account.user_id}-")


def test_repr_never_shows_a_secret(sandbox: Sandbox) -> None:
    demo = sandbox.demo
    shown = repr(demo) + repr(sandbox.accounts) + repr(sandbox)
    for secret in (
        demo.bearer_token,
        demo.consumer_secret,
        demo.access_token,
        demo.access_token_secret,
        demo.client_secret,
        sandbox.accounts[1].access_token_secret,
    ):
        assert secret not in shown
    assert demo.consumer_key in repr(demo)


def test_demo_json_has_every_documented_key(sandbox: Sandbox) -> None:
    data = sandbox.demo.as_json()
    assert data["base_url"] == sandbox.base_url
    assert data["redirect_uris"] == list(DEFAULT_REDIRECT_URIS)
    assert data["demo_user_id"] == sandbox.world.demo_user_id
    assert data["access_token"] == sandbox.accounts[0].access_token
