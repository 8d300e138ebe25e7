"""Settings validation and the sandbox clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from xmetrics_core.sandbox import SandboxClock, SandboxSettings
from xmetrics_core.sandbox.settings import TWEETS_LOOKUP, USER_TWEETS, USERS_ME


def test_defaults_are_the_captured_behaviour() -> None:
    settings = SandboxSettings()
    assert settings.missing_single_post_status == 200
    assert settings.problem_host == "api.twitter.com"
    assert settings.omit_zero_private_keys is True
    assert settings.include_engagements is False
    assert settings.unpromoted_promoted_metrics == "omit"
    assert (settings.access_token_lifetime, settings.auth_code_lifetime) == (7200, 30)
    assert settings.window_seconds == 900
    assert settings.credits is None
    assert settings.rate_limit_for(TWEETS_LOOKUP, user_context=False) == 300
    assert settings.rate_limit_for(TWEETS_LOOKUP, user_context=True) == 900
    assert settings.rate_limit_for(USER_TWEETS, user_context=False) == 1500
    assert settings.rate_limit_for(USERS_ME, user_context=True) == 75
    assert settings.rate_limit_for(USERS_ME, user_context=False) is None


def test_partial_rate_limits_keep_the_other_defaults() -> None:
    settings = SandboxSettings(rate_limits={TWEETS_LOOKUP: (2, 3)})
    assert settings.rate_limit_for(TWEETS_LOOKUP, user_context=True) == 3
    assert settings.rate_limit_for(USERS_ME, user_context=True) == 75


def test_settings_are_frozen_and_keyword_only() -> None:
    settings = SandboxSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.credits = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        SandboxSettings("127.0.0.1")  # type: ignore[call-arg]


def test_too_small_worlds_are_refused() -> None:
    with pytest.raises(ValueError, match="accounts"):
        SandboxSettings(accounts=3)
    with pytest.raises(ValueError, match="30 Posts"):
        SandboxSettings(demo_posts=10)


def test_clock_starts_at_now_and_advances() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = SandboxClock(start=start)
    first = clock.now()
    assert start <= first < start + timedelta(seconds=5)
    clock.advance(3600)
    assert clock.now() - first >= timedelta(hours=1)
    assert clock.timestamp() == pytest.approx(clock.now().timestamp(), abs=1)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_clock_defaults_to_real_time() -> None:
    assert abs(SandboxClock().now() - datetime.now(UTC)) < timedelta(seconds=5)
