"""Settings validation and the sandbox clock."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from xmetrics_core.sandbox import SandboxClock, SandboxSettings
from xmetrics_core.sandbox.settings import (
    MEDIA_ANALYTICS,
    TWEET_BY_ID,
    TWEETS_ANALYTICS,
    TWEETS_LOOKUP,
    USAGE_TWEETS,
    USER_TWEETS,
    USERS_ME,
    settings_from_json,
    settings_to_json,
)


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
    assert settings.tier == "pay-per-use"
    assert settings.project_cap == 3_000_000


def test_default_rate_limits_are_the_2026_figures() -> None:
    settings = SandboxSettings()
    expected = {
        TWEETS_LOOKUP: (3500, 5000),
        TWEET_BY_ID: (450, 900),
        USER_TWEETS: (10000, 900),
        USERS_ME: (None, 75),
        TWEETS_ANALYTICS: (None, 300),
        MEDIA_ANALYTICS: (None, 300),
        USAGE_TWEETS: (50, None),
    }
    for endpoint, (app, user) in expected.items():
        assert settings.rate_limit_for(endpoint, user_context=False) == app, endpoint
        assert settings.rate_limit_for(endpoint, user_context=True) == user, endpoint


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


def test_too_small_worlds_and_wrong_values_are_refused() -> None:
    with pytest.raises(ValueError, match="accounts"):
        SandboxSettings(accounts=3)
    with pytest.raises(ValueError, match="30 Posts"):
        SandboxSettings(demo_posts=10)
    with pytest.raises(ValueError, match="tier"):
        SandboxSettings(tier="free")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="credits"):
        SandboxSettings(credits=-1)
    with pytest.raises(ValueError, match="project_cap"):
        SandboxSettings(project_cap=-1)


START = datetime(2026, 1, 1, tzinfo=UTC)


def test_clock_holds_still_by_default_and_advances_on_demand() -> None:
    clock = SandboxClock(start=START)
    assert clock.now() == START and clock.frozen and clock.speed == 0
    clock.advance(3600)
    assert clock.now() == START + timedelta(hours=1)
    assert clock.timestamp() == clock.now().timestamp()
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_clock_runs_at_its_speed() -> None:
    clock = SandboxClock(start=START, speed=3600)
    before_real = time.monotonic()
    first = clock.timestamp()
    time.sleep(0.05)
    second = clock.timestamp()
    after_real = time.monotonic()
    # world seconds elapsed = speed × real seconds between the two reads (no idle-machine bound)
    assert 3600 * 0.05 <= second - first <= 3600 * (after_real - before_real)
    clock.freeze()
    frozen_at = clock.now()
    time.sleep(0.01)
    assert clock.now() == frozen_at and clock.frozen
    clock.run(speed=2)
    assert clock.speed == 2 and clock.now() >= frozen_at
    with pytest.raises(ValueError):
        clock.run(speed=-1)


def test_clock_can_be_set_either_way() -> None:
    clock = SandboxClock(start=START)
    clock.set(START + timedelta(days=3))
    assert clock.now() == START + timedelta(days=3)
    clock.set(START - timedelta(days=3))
    assert clock.now() == START - timedelta(days=3)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1))  # naive: refused


def test_protocol_time_is_real_time_plus_advances_whatever_the_world_time() -> None:
    clock = SandboxClock(start=datetime(2030, 1, 1, tzinfo=UTC), speed=86400)
    assert abs(clock.protocol_timestamp() - time.time()) < 5
    clock.set(datetime(2020, 1, 1, tzinfo=UTC))
    assert abs(clock.protocol_timestamp() - time.time()) < 5
    clock.advance(600)
    assert 595 < clock.protocol_timestamp() - time.time() < 605
    assert abs(clock.protocol_now().timestamp() - clock.protocol_timestamp()) < 1


def test_clock_defaults_to_the_real_time() -> None:
    assert abs(SandboxClock().now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_settings_survive_their_json_form_for_a_twin_in_another_process():
    settings = SandboxSettings(
        tier="enterprise",
        credits=12,
        demo_posts=45,
        rate_limits={TWEETS_LOOKUP: (None, 7)},
        unpromoted_promoted_metrics="empty",
    )
    data = json.loads(json.dumps(settings_to_json(settings)))
    assert settings_from_json(data) == settings
    assert settings_from_json({**data, "a_later_setting": 1}) == settings  # ignored
    with pytest.raises(ValueError, match="tier"):
        settings_from_json({**data, "tier": "gold"})
