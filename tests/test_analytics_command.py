"""``python -m xmetrics_core analytics`` and ``usage`` against the sandbox: both tiers, the
explanations on stderr, exit codes, formats, and no secret on stdout or stderr."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.analytics_helpers import (
    START,
    SandboxFactory,
    demo_videos,
    growing_demo_post,
    oauth2_token,
    start,
)
from xmetrics_core.access import NOT_ENROLLED_EXPLANATION, USAGE_NEEDS_APP_BEARER
from xmetrics_core.analytics_command import parse_cli_time
from xmetrics_core.cli import main
from xmetrics_core.credentials import ENV_VARIABLES
from xmetrics_core.errors import InputError
from xmetrics_core.sandbox import Sandbox

SINCE = (START - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
UNTIL = START.strftime("%Y-%m-%dT%H:%M:%SZ")
WINDOW = ["--since", SINCE, "--until", UNTIL]


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV_VARIABLES, "X_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def use_oauth1(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    demo = sandbox.demo
    for name, value in {
        "X_CONSUMER_KEY": demo.consumer_key,
        "X_CONSUMER_SECRET": demo.consumer_secret,
        "X_ACCESS_TOKEN": demo.access_token,
        "X_ACCESS_TOKEN_SECRET": demo.access_token_secret,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    for secret in sandbox.issued_secrets():
        assert secret not in out and secret not in err, "a secret reached the output"
    return code, out, err


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_enterprise_hourly_rows_add_up_to_the_posts_growth(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    use_oauth1(monkeypatch, sandbox)
    post = growing_demo_post(sandbox)
    url = f"https://x.com/xmetrics_demo/status/{post.id}"
    code, out, err = run(
        ["analytics", url, "bogus", *WINDOW, "--metrics", "impressions,likes"], capsys, sandbox
    )
    assert code == 0
    table = rows(out)
    assert list(table[0]) == [
        "timestamp",
        "post_id",
        "metric",
        "value",
        "cumulative",
        "cumulative_complete",
        "created_at",
        "hours_since_posting",
        "granularity",
    ]
    impressions = [r for r in table if r["metric"] == "impressions"]
    stamps = [r["timestamp"] for r in impressions]
    assert stamps == sorted(stamps) and stamps[0] >= SINCE
    assert all(stamp.endswith(":00:00Z") for stamp in stamps)  # whole UTC hours, X's form
    world = sandbox.world
    earlier = world.metrics_at(post.id, START - timedelta(hours=6))  # None: not posted yet
    grown = world.metrics_at(post.id, START)["public_metrics"]["impression_count"] - (
        earlier["public_metrics"]["impression_count"] if earlier else 0
    )
    assert sum(int(r["value"]) for r in impressions) == grown
    assert impressions[-1]["cumulative"] == str(grown)
    assert "ignoring 'bogus'" in err
    assert "1 of 1 Posts with hourly analytics" in err and "1 API call" in err


def test_json_rows_and_total_granularity(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    use_oauth1(monkeypatch, sandbox)
    post = growing_demo_post(sandbox)
    code, out, _ = run(
        ["analytics", post.id, *WINDOW, "--granularity", "total", "--format", "json"],
        capsys,
        sandbox,
    )
    assert code == 0
    records = json.loads(out)
    assert {r["timestamp"] for r in records} == {SINCE}
    assert {r["granularity"] for r in records} == {"total"}
    assert all(isinstance(r["value"], int) for r in records)


def test_a_pay_per_use_app_gets_the_explanation_and_a_non_zero_exit(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    use_oauth1(monkeypatch, sandbox)
    code, out, err = run(["analytics", growing_demo_post(sandbox).id, *WINDOW], capsys, sandbox)
    assert code == 1
    assert NOT_ENROLLED_EXPLANATION in err
    assert rows(out) == [] and out.startswith("timestamp,post_id,metric")


def test_an_app_only_token_is_told_to_use_a_user_sign_in(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    monkeypatch.setenv("X_BEARER_TOKEN", sandbox.demo.bearer_token)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    code, out, err = run(["analytics", growing_demo_post(sandbox).id], capsys, sandbox)
    assert code == 2 and out == ""
    assert "user sign-in" in err and "X_BEARER_TOKEN" in err
    assert not [e for e in sandbox.request_log.entries() if e.path.startswith("/2/")]


def test_no_credits_say_add_credits(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory, credits=0)
    use_oauth1(monkeypatch, sandbox)
    code, _, err = run(["analytics", growing_demo_post(sandbox).id, *WINDOW], capsys, sandbox)
    assert code == 1
    assert "402" in err and "add credits" in err


def test_a_token_without_tweet_read_is_told_to_reconnect(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    credential = oauth2_token(sandbox, ("users.read",))
    monkeypatch.setenv("X_OAUTH2_ACCESS_TOKEN", credential.access_token)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    code, _, err = run(["analytics", growing_demo_post(sandbox).id, *WINDOW], capsys, sandbox)
    assert code == 1
    assert "reconnect and allow reading Posts" in err


def test_media_analytics_for_the_videos_of_given_posts(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    use_oauth1(monkeypatch, sandbox)
    video = next(v for v in demo_videos(sandbox) if v.appears_at < START - timedelta(hours=6))
    carrier = video.post_ids[0]
    plain = next(p for p in sandbox.world.demo_posts if not p.media_keys and p.created_at < START)
    since = (START - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, err = run(
        [
            "analytics",
            "--media",
            carrier,
            plain.id,
            "--granularity",
            "daily",
            "--since",
            since,
            "--until",
            UNTIL,
        ],
        capsys,
        sandbox,
    )
    assert code == 0, err
    table = rows(out)
    assert list(table[0])[:3] == ["timestamp", "media_key", "metric"]
    assert {r["media_key"] for r in table} == {video.media_key}
    assert {"watch_time_ms", "video_views", "playback_complete"} <= {r["metric"] for r in table}
    assert f"{plain.id}: this Post carries no video" in err
    code, _, err = run(
        ["analytics", "--media", video.media_key, "--granularity", "weekly"], capsys, sandbox
    )
    assert code == 2 and "no weekly" in err


def test_bad_times_and_empty_input_are_usage_errors(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    use_oauth1(monkeypatch, sandbox)
    post = growing_demo_post(sandbox).id
    for args, words in (
        (["analytics", post, "--since", "yesterday"], "--since must be an ISO date"),
        (["analytics", post, "--since", UNTIL, "--until", SINCE], "must be before"),
        (["analytics"], "give Post IDs"),
    ):
        code, out, err = run(args, capsys, sandbox)
        assert code == 2 and words in err and out == ""
    assert parse_cli_time("2026-12-01", option="--since").isoformat() == "2026-12-01T00:00:00+00:00"
    assert parse_cli_time("2026-12-01T10:00+01:00", option="--until").hour == 9
    with pytest.raises(InputError):
        parse_cli_time("12/01/2026", option="--since")


def test_usage_reports_the_days_and_the_cap(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory, tier="pay-per-use")
    use_oauth1(monkeypatch, sandbox)
    posts = [p.id for p in sandbox.world.demo_posts if p.created_at < START][-3:]
    assert main(["fetch", *posts]) == 0
    capsys.readouterr()
    code, out, err = run(["usage", "--days", "2"], capsys, sandbox)
    assert code == 0
    assert rows(out) == [{"date": "2026-11-30", "posts": "0"}, {"date": "2026-12-01", "posts": "3"}]
    assert "asking X for the app's Bearer token" in err
    assert "3 of 3,000,000 Post reads this month" in err and "resets in 31 days" in err
    monkeypatch.setenv("X_BEARER_TOKEN", sandbox.demo.bearer_token)
    code, out, err = run(["usage", "--format", "json"], capsys, sandbox)
    assert code == 0 and "asking X" not in err
    body: dict[str, Any] = json.loads(out)
    assert body["project_usage"] == 3 and body["project_cap"] == 3_000_000
    # the reset day counts from the sandbox's world day; the CLI dates it by its own (real) clock
    assert body["cap_reset_day"] == 31 and body["cap_resets_on"] >= "2027-01-01"
    assert len(body["daily"]) == 7


def test_usage_with_only_an_oauth2_token_says_what_to_add(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = start(sandbox_factory)
    credential = oauth2_token(sandbox, ("tweet.read", "users.read"))
    monkeypatch.setenv("X_OAUTH2_ACCESS_TOKEN", credential.access_token)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    code, out, err = run(["usage"], capsys, sandbox)
    assert code == 2 and out == ""
    assert USAGE_NEEDS_APP_BEARER in err
    code, _, err = run(["usage", "--days", "0"], capsys, sandbox)
    assert code == 2


@pytest.mark.parametrize("command", ["analytics", "usage"])
def test_command_help_loads_neither_pandas_nor_the_http_stack(command: str) -> None:
    probe = (
        "import sys\n"
        "from xmetrics_core.cli import main\n"
        f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'numpy', 'plotly', 'requests', 'oauthlib')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=60,
        check=True,
    )
    assert answer.stdout.strip().splitlines()[-1] == "[]"
    assert "--days" in answer.stdout if command == "usage" else "--granularity" in answer.stdout
