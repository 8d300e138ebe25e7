"""What the project has spent: parsing X's shapes (pure), then ``GET /2/usage/tweets`` against
the sandbox over real HTTP, with its per-UTC-day billing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.analytics_helpers import START, SandboxFactory, client_for, demo_oauth1, start
from xmetrics_core.credentials import BearerCredential, OAuth2Credential
from xmetrics_core.errors import AppBearerRequired, InputError, InvalidResponse
from xmetrics_core.usage import (
    ProjectUsage,
    app_bearer_for,
    fetch_project_usage,
    parse_usage,
    usage_summary,
)

AT = datetime(2026, 12, 10, 12, tzinfo=UTC)


def test_counts_as_strings_and_both_day_shapes_are_read() -> None:
    usage = parse_usage(
        {
            "data": {
                "project_id": "1400",
                "project_usage": "1234",
                "project_cap": "3000000",
                "cap_reset_day": 22,
                "daily_project_usage": {
                    "project_id": "1400",
                    "usage": [
                        {"date": "2026-12-09T00:00:00.000Z", "usage": "10"},
                        {"date": "2026-12-10", "tweets_consumed": 7},
                        {"date": "2026-12-08T00:00:00.000Z", "usage": None},
                        {"date": "garbage", "usage": 3},
                    ],
                },
                "daily_client_app_usage": [
                    {"client_app_id": "77", "usage": [{"date": "2026-12-10", "usage": "7"}]}
                ],
            }
        },
        fetched_at=AT,
    )
    assert (usage.project_usage, usage.project_cap, usage.cap_reset_day) == (1234, 3_000_000, 22)
    assert [(d.day.day, d.posts) for d in usage.daily] == [(8, None), (9, 10), (10, 7)]
    assert usage.posts_in_days == 17
    assert usage.apps[0].client_app_id == "77" and usage.apps[0].daily[0].posts == 7
    assert usage.cap_remaining == 3_000_000 - 1234
    assert usage.resets_on == date(2027, 1, 1)
    assert usage_summary(usage) == (
        "1,234 of 3,000,000 Post reads this month (0.04 %); the cap resets in 22 days (2027-01-01)"
    )


def test_what_x_left_out_stays_unknown() -> None:
    usage = parse_usage({"data": {"project_usage": "n/a"}}, fetched_at=AT)
    assert usage.project_usage is None and usage.cap_remaining is None
    assert usage.cap_used_share is None and usage.resets_on is None and usage.daily == ()
    assert usage_summary(usage) == "X did not report this month's Post reads"
    with pytest.raises(InvalidResponse):
        parse_usage({"errors": []}, fetched_at=AT)


def test_usage_counts_each_post_once_per_utc_day(sandbox_factory: SandboxFactory) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    world = sandbox.world
    first_day = [p.id for p in world.demo_posts if p.created_at < START][-5:]
    second_day = first_day[:2]
    with client_for(sandbox, demo_oauth1(sandbox)) as reader:
        reader.fetch_posts(first_day)
        reader.fetch_posts(first_day)  # the same Posts again the same day: not billed again
        sandbox.clock.set(START + timedelta(days=1))
        reader.fetch_posts(second_day)
    with client_for(sandbox, BearerCredential(token=sandbox.demo.bearer_token)) as app:
        usage = fetch_project_usage(app.api, days=3)
    assert [(d.day, d.posts) for d in usage.daily] == [
        (date(2026, 11, 30), 0),
        (date(2026, 12, 1), 5),
        (date(2026, 12, 2), 2),
    ]
    assert usage.project_usage == 7 and usage.project_cap == 3_000_000
    assert usage.cap_reset_day == 30 and usage.resets_on == date(2027, 1, 1)
    assert usage.fetched_at == START + timedelta(days=1)
    (entry,) = [e for e in sandbox.request_log.entries() if e.path == "/2/usage/tweets"]
    assert entry.auth == "bearer" and entry.params["days"] == "3"


def test_only_the_apps_bearer_token_reads_usage(sandbox_factory: SandboxFactory) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    with client_for(sandbox, demo_oauth1(sandbox)) as user:
        with pytest.raises(AppBearerRequired, match="Bearer token"):
            fetch_project_usage(user.api)
        with pytest.raises(InputError, match="between 1 and 90"):
            fetch_project_usage(user.api, days=91)
    assert not [e for e in sandbox.request_log.entries() if e.path == "/2/usage/tweets"]


def test_oauth1_keys_obtain_the_apps_bearer_token_and_oauth2_cannot(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    bearer = app_bearer_for(demo_oauth1(sandbox), base_url=sandbox.base_url)
    assert bearer is not None and bearer.token == sandbox.demo.bearer_token
    same = BearerCredential(token="x")
    assert app_bearer_for(same) is same
    assert app_bearer_for(OAuth2Credential(access_token="t")) is None
    with client_for(sandbox, bearer) as app:
        assert isinstance(fetch_project_usage(app.api), ProjectUsage)
