"""``python -m xmetrics_core watch|collect|history`` and ``fetch`` saving its result, through
``main()`` against the sandbox over real HTTP (its clock held at the real time, as the CLI's
own clock is)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.collector.helpers import client, oauth1_env
from xmetrics_core.cli import main
from xmetrics_core.collector import collect
from xmetrics_core.credentials import (
    ENV_VARIABLES,
    OAuth2Credential,
    credential_to_json,
)
from xmetrics_core.sandbox import Sandbox, start_sandbox
from xmetrics_core.store import Account, open_store

SCOPES = ("tweet.read", "users.read", "offline.access")


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV_VARIABLES, "X_API_BASE_URL", "XMETRICS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture
def clean(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.faults.clear()
    sandbox.request_log.clear()
    yield sandbox
    sandbox.request_log.clear()


def run(
    args: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str], *secrets: str
) -> tuple[int, str, str]:
    code = main(args, environ=env)
    out, err = capsys.readouterr()
    for secret in secrets:
        assert secret not in out and secret not in err, "a secret reached the output"
    assert "Traceback" not in err
    return code, out, err


def env_of(sandbox: Sandbox, url: str, **extra: str) -> dict[str, str]:
    return {**oauth1_env(sandbox), "XMETRICS_DATABASE_URL": url, **extra}


def looked_up(sandbox: Sandbox) -> list[str]:
    return [
        post_id
        for entry in sandbox.request_log.entries("/2/tweets")
        for post_id in entry.params.get("ids", "").split(",")
        if post_id
    ]


# -- watch -----------------------------------------------------------------------------------


def test_watch_adds_lists_and_removes_posts_by_id_or_url(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = (p.id for p in clean.world.demo_posts[:2])
    env = {"XMETRICS_DATABASE_URL": sqlite_url}
    code, _, err = run(
        ["watch", "add", first, f"https://x.com/xmetrics_demo/status/{second}", "oops"],
        env,
        capsys,
    )
    assert code == 0 and "watching 2 new Posts (0 already)" in err and "'oops'" in err
    code, out, _ = run(["watch", "list", "--format", "json"], env, capsys)
    listed = json.loads(out)
    assert code == 0 and {row["id"] for row in listed} == {first, second}
    assert {row["origin"] for row in listed} == {"manual"}
    assert all(row["last_read_at"] is None and row["created_at"].endswith("Z") for row in listed)
    code, _, err = run(["watch", "add", first], env, capsys)
    assert "watching 0 new Posts (1 already)" in err
    code, _, err = run(["watch", "remove", first], env, capsys)
    assert code == 0 and "stopped watching 1 Post" in err
    code, out, _ = run(["watch", "list"], env, capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == [second]
    assert list(rows[0]) == [
        "id",
        "origin",
        "added_at",
        "created_at",
        "last_read_at",
        "claimed_until",
    ]
    assert clean.request_log.count() == 0, "the watchlist needs no API call"


def test_watch_add_without_posts_is_a_usage_error(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["watch", "add"], {"XMETRICS_DATABASE_URL": sqlite_url}, capsys)
    assert code == 2 and "no Post IDs" in err


def test_watch_mine_follows_the_connected_account_and_needs_a_user(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_of(clean, sqlite_url)
    code, _, err = run(["watch", "add", "--mine"], env, capsys, clean.demo.access_token_secret)
    assert code == 0 and "now following @xmetrics_demo's new Posts" in err
    code, _, err = run(["watch", "list"], env, capsys)
    assert "following @xmetrics_demo's new Posts since" in err
    with open_store(sqlite_url) as store:
        assert [a.user_id for a in store.followed_accounts()] == [clean.world.demo_user_id]
    app_only = {
        "X_BEARER_TOKEN": clean.demo.bearer_token,
        "X_API_BASE_URL": clean.base_url,
        "XMETRICS_DATABASE_URL": sqlite_url,
    }
    code, _, err = run(["watch", "add", "--mine"], app_only, capsys, clean.demo.bearer_token)
    assert code == 2 and "needs a user sign-in" in err
    code, _, err = run(["watch", "remove", "--mine"], env, capsys)
    assert code == 0 and "stopped following @xmetrics_demo" in err


# -- collect ---------------------------------------------------------------------------------


def test_collect_reads_what_is_due_and_prints_one_summary_line(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [p.id for p in clean.world.demo_posts[:3]]
    env = env_of(clean, sqlite_url)
    run(["watch", "add", *ids], env, capsys)
    code, out, err = run(["collect"], env, capsys, clean.demo.access_token_secret)
    assert code == 0, err
    (line,) = out.splitlines()
    assert line.startswith("collect: 3 due; read 3 Posts, saved 3 snapshots, skipped 0, 0 failed;")
    assert "3 billable reads (0 free: read earlier this UTC day), estimated $0.003" in line
    assert line.endswith("; 2 API calls"), "/2/users/me and one lookup of 3 Posts"
    assert "today 3 billable" in line
    assert sorted(looked_up(clean)) == sorted(ids)
    code, out, _ = run(["collect"], env, capsys)
    assert code == 0 and out.startswith("collect: 0 due; read 0 Posts")
    code, out, _ = run(["collect", "--dry-run"], env, capsys)
    assert out.startswith("collect --dry-run: 0 due; would read 0 Posts")
    assert sorted(looked_up(clean)) == sorted(ids), "nothing read twice in the same hour"
    with open_store(sqlite_url) as store:
        assert store.summary().snapshots == 3
        assert all(w.last_read_at is not None for w in store.watchlist())


def test_collect_max_reads_skips_what_would_overspend(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [p.id for p in clean.world.demo_posts[:3]]
    env = env_of(clean, sqlite_url)
    run(["watch", "add", *ids], env, capsys)
    code, out, _ = run(["collect", "--dry-run", "--max-reads", "1"], env, capsys)
    assert code == 0
    assert "would read 1 Post, skipped 2 (2 over --max-reads)" in out
    assert "estimated $0.005" in out and looked_up(clean) == []
    code, out, _ = run(["collect", "--max-reads", "1"], env, capsys)
    assert code == 0 and "read 1 Post, saved 1 snapshot, skipped 2 (2 over --max-reads)" in out
    assert len(looked_up(clean)) == 1


def test_collect_refuses_a_bad_schedule_and_a_negative_budget(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_of(clean, sqlite_url)
    code, _, err = run(["collect", "--schedule", "48h:1h,10h:1d"], env, capsys)
    assert code == 2 and "increasing age" in err
    code, _, err = run(["collect", "--max-reads", "-1"], env, capsys)
    assert code == 2 and "negative" in err
    code, _, err = run(["collect"], {"XMETRICS_DATABASE_URL": sqlite_url}, capsys)
    assert code == 2 and "no credentials" in err
    assert clean.request_log.count() == 0


def test_collect_follows_the_schedule_from_the_environment(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old = clean.world.demo_posts[-1]  # weeks old: no longer read under "30d:1d"
    assert clean.clock.now() - old.created_at > timedelta(days=31)
    env = env_of(clean, sqlite_url, XMETRICS_SCHEDULE="30d:1d")
    run(["watch", "add", old.id], env, capsys)
    code, out, _ = run(["collect"], env, capsys)
    assert code == 0 and out.startswith("collect: 0 due")
    code, out, _ = run(["collect", "--schedule", "*:7d"], env, capsys)
    assert out.startswith("collect: 1 due; read 1 Post")


def write_credentials(path: Path, credential: OAuth2Credential, mode: int = 0o600) -> None:
    path.write_text(json.dumps(credential_to_json(credential)))
    path.chmod(mode)


def test_collect_rewrites_a_rotated_oauth2_credentials_file_atomically_for_the_next_run(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with start_sandbox() as sandbox:
        token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES, lifetime=1)
        sandbox.clock.advance(5)  # the access token has expired: the run must refresh it
        credential = OAuth2Credential(
            access_token=str(token["access_token"]),
            refresh_token=str(token["refresh_token"]),
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
            client_id=sandbox.demo.client_id,
            client_secret=sandbox.demo.client_secret,
            scope=SCOPES,
        )
        path = tmp_path / "x-credentials.json"
        write_credentials(path, credential)
        env = {"X_API_BASE_URL": sandbox.base_url, "XMETRICS_DATABASE_URL": sqlite_url}
        post_id = sandbox.world.demo_posts[0].id
        run(["watch", "add", post_id], env, capsys)
        secrets = [
            credential.access_token,
            str(credential.refresh_token),
            sandbox.demo.client_secret,
        ]
        code, out, err = run(["collect", "--credentials", str(path)], env, capsys, *secrets)
        assert code == 0, err
        assert "read 1 Post" in out
        rotated = json.loads(path.read_text())
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert rotated["refresh_token"] not in (None, credential.refresh_token)
        assert rotated["access_token"] not in out + err and rotated["refresh_token"] not in err
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

        # the next cron run: the old refresh token is dead, the rewritten file works
        sandbox.clock.advance(3 * 3600)  # past the new token's lifetime too
        rotated_once = rotated["refresh_token"]
        stale = json.loads(path.read_text())
        stale["expires_at"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        path.write_text(json.dumps(stale))
        code, out, err = run(["collect", "--credentials", str(path)], env, capsys, rotated_once)
        assert code == 0, err
        assert json.loads(path.read_text())["refresh_token"] != rotated_once


def test_a_credentials_file_others_may_read_is_refused(
    clean: Sandbox, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "creds.json"
    write_credentials(
        path,
        OAuth2Credential(access_token="access-secret-123", refresh_token="refresh-secret-456"),
        mode=0o644,
    )
    env = {"X_API_BASE_URL": clean.base_url, "XMETRICS_DATABASE_URL": sqlite_url}
    code, _, err = run(
        ["collect", "--credentials", str(path)],
        env,
        capsys,
        "access-secret-123",
        "refresh-secret-456",
    )
    assert code == 2 and "chmod 600" in err and "0644" in err
    path.chmod(0o600)
    path.write_text("{not json")
    code, _, err = run(["collect", "--credentials", str(path)], env, capsys)
    assert code == 2 and "is not JSON" in err
    code, _, err = run(["collect", "--credentials", str(tmp_path / "missing.json")], env, capsys)
    assert code == 2 and "cannot read the credentials file" in err
    assert clean.request_log.count() == 0


# -- fetch saves -----------------------------------------------------------------------------


def test_fetch_saves_its_result_to_history_unless_told_not_to(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    post = clean.world.demo_posts[0]
    env = env_of(clean, sqlite_url)
    code, out, err = run(["fetch", post.id], env, capsys, clean.demo.access_token_secret)
    assert code == 0 and "saved 1 snapshot to history" in err
    fetched = list(csv.DictReader(io.StringIO(out)))
    assert clean.request_log.count("/2/users/me") == 1, "asked once, for the saved account"
    code, _, err = run(["fetch", "--no-save", post.id], env, capsys)
    assert code == 0 and "history" not in err
    with open_store(sqlite_url) as store:
        rows = store.history_rows([post.id])
        assert len(rows) == 1
        assert str(rows["public_metrics.like_count"][0]) == fetched[0]["public_metrics.like_count"]
        me = Account(user_id=clean.world.demo_user_id)
        assert store.spend(account=me).today.billable_reads == 1


def test_fetch_with_an_app_only_token_saves_as_the_app(
    clean: Sandbox, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    post = clean.world.demo_posts[0]
    env = {
        "X_BEARER_TOKEN": clean.demo.bearer_token,
        "X_API_BASE_URL": clean.base_url,
        "XMETRICS_DATABASE_URL": sqlite_url,
    }
    code, _, err = run(["fetch", post.id], env, capsys, clean.demo.bearer_token)
    assert code == 0 and "saved 1 snapshot" in err
    with open_store(sqlite_url) as store:
        assert store.spend(account=Account.app_only()).today.billable_reads == 1


def test_fetch_still_writes_its_result_when_the_store_is_damaged(
    clean: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "history.db"
    damaged.write_bytes(b"this is not an SQLite database at all" * 200)
    post = clean.world.demo_posts[0]
    env = env_of(clean, f"sqlite:///{damaged}")
    code, out, err = run(["fetch", post.id], env, capsys)
    assert code == 0
    assert list(csv.DictReader(io.StringIO(out)))[0]["id"] == post.id
    assert "warning: not saved to the history store" in err and "damaged" in err


# -- history ---------------------------------------------------------------------------------


@pytest.fixture
def three_hours(sqlite_url: str) -> Iterator[tuple[Any, list[str]]]:
    """Three hourly collector reads of two demo Posts, at the sandbox's clock."""
    start = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    with start_sandbox(now=start) as sandbox, open_store(sqlite_url) as store:
        ids = [p.id for p in sandbox.world.demo_posts[:2]]
        store.watch(ids, now=start)
        with client(sandbox) as reader:
            me = reader.get_me()
            for _ in range(3):
                collect(store=store, client=reader, me=me, clock=sandbox.clock.now)
                sandbox.clock.set(sandbox.clock.now() + timedelta(hours=1))
        yield sandbox, ids


def test_history_prints_one_row_per_post_and_snapshot_oldest_first(
    three_hours: tuple[Any, list[str]], sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, ids = three_hours
    env = {"XMETRICS_DATABASE_URL": sqlite_url}
    code, out, err = run(["history", *ids], env, capsys)
    assert code == 0 and "6 snapshots of 2 Posts" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:4] == ["id", "fetched_at", "status", "status_detail"]
    assert (
        "public_metrics.like_count" in rows[0] and "non_public_metrics.impression_count" in rows[0]
    )
    times = [r["fetched_at"] for r in rows]
    assert times == sorted(times) and len(set(times)) == 3
    assert times[0] == "2026-11-18T09:30:00Z"
    for post_id in ids:
        likes = [int(r["public_metrics.impression_count"]) for r in rows if r["id"] == post_id]
        assert len(likes) == 3 and likes == sorted(likes)
    code, out, _ = run(
        ["history", ids[0], "--since", "2026-11-18T10:00Z", "--format", "json"], env, capsys
    )
    records = json.loads(out)
    assert [r["fetched_at"] for r in records] == ["2026-11-18T10:30:00Z", "2026-11-18T11:30:00Z"]
    assert all(isinstance(v, int | None) for k, v in records[0].items() if "metrics." in k)
    code, out, _ = run(["history", "--until", "2026-11-18T09:45:00+00:00"], env, capsys)
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2, "every Post when no ID"


def test_history_of_an_unknown_post_or_a_bad_time_says_so(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"XMETRICS_DATABASE_URL": sqlite_url}
    code, out, err = run(["history", "1850000000000000001"], env, capsys)
    assert code == 1 and "0 snapshots" in err
    assert out.strip().split(",")[:4] == ["id", "fetched_at", "status", "status_detail"]
    code, _, err = run(["history", "--since", "yesterday"], env, capsys)
    assert code == 2 and "--since must be an ISO date" in err
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("not-an-id\n")
    code, _, err = run(["history", "--file", str(ids_file)], env, capsys)
    assert code == 2 and "no Post IDs" in err


def test_collect_with_environment_oauth2_tokens_says_how_to_keep_a_rotated_one(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with start_sandbox() as sandbox:
        token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES, lifetime=1)
        sandbox.clock.advance(5)
        env = {
            "X_OAUTH2_ACCESS_TOKEN": str(token["access_token"]),
            "X_OAUTH2_REFRESH_TOKEN": str(token["refresh_token"]),
            "X_CLIENT_ID": sandbox.demo.client_id,
            "X_CLIENT_SECRET": sandbox.demo.client_secret,
            "X_API_BASE_URL": sandbox.base_url,
            "XMETRICS_DATABASE_URL": sqlite_url,
        }
        run(["watch", "add", sandbox.world.demo_posts[0].id], env, capsys)
        code, out, err = run(
            ["collect"], env, capsys, env["X_OAUTH2_REFRESH_TOKEN"], env["X_CLIENT_SECRET"]
        )
    assert code == 0 and "read 1 Post" in out
    assert "X_OAUTH2_REFRESH_TOKEN no longer works" in err and "--credentials FILE" in err
