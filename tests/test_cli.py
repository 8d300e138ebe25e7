"""``python -m xmetrics_core fetch`` against the sandbox: env credentials, formats, exit codes,
and no secret on stderr."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from xmetrics_core.catalogue import Group, Level, metrics_for
from xmetrics_core.cli import main, media_table, post_table, write_table
from xmetrics_core.credentials import ENV_VARIABLES
from xmetrics_core.exports import neutralise_formula, safe_csv_text
from xmetrics_core.frames import media_frame, posts_frame
from xmetrics_core.models import FetchResult, IdStatus, PostStatus
from xmetrics_core.parsing import result_from_pages

SCOPES = ("tweet.read", "users.read", "offline.access")


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV_VARIABLES, "X_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clean(sandbox: Any) -> Iterator[Any]:
    sandbox.faults.clear()
    sandbox.request_log.clear()
    yield sandbox
    sandbox.request_log.clear()


def use_bearer(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> list[str]:
    monkeypatch.setenv("X_BEARER_TOKEN", sandbox.demo.bearer_token)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    return [sandbox.demo.bearer_token]


def use_oauth1(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> list[str]:
    demo = sandbox.demo
    values = {
        "X_CONSUMER_KEY": demo.consumer_key,
        "X_CONSUMER_SECRET": demo.consumer_secret,
        "X_ACCESS_TOKEN": demo.access_token,
        "X_ACCESS_TOKEN_SECRET": demo.access_token_secret,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    return [demo.consumer_secret, demo.access_token, demo.access_token_secret]


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], secrets: list[str]
) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    for secret in secrets:
        assert secret not in err, "a secret reached stderr"
        assert secret not in out, "a secret reached stdout"
    return code, out, err


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def visible_posts(sandbox: Any) -> list[Any]:
    world = sandbox.world
    hidden = {world.protected_user_id, world.suspended_user_id}
    return [p for p in world.posts if p.author_id not in hidden]


def test_bearer_csv_has_one_row_per_id_with_public_columns(
    clean: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = clean
    secrets = use_bearer(monkeypatch, sandbox)
    posts = visible_posts(sandbox)[:3]
    deleted = sandbox.world.deleted_ids[0]
    args = [
        "fetch",
        posts[0].id,
        f"https://x.com/someone/status/{posts[1].id}?s=20",
        f"{posts[2].id},{deleted}",
        "bogus",
    ]
    code, out, err = run(args, capsys, secrets)
    assert code == 0
    rows = csv_rows(out)
    assert [r["id"] for r in rows] == [posts[0].id, posts[1].id, posts[2].id, deleted, "bogus"]
    public_paths = [m.path for m in metrics_for(Level.POST, [Group.PUBLIC])]
    assert list(rows[0]) == [
        "id",
        "created_at",
        "author_id",
        "text",
        "status",
        "status_detail",
        *public_paths,
    ]
    for row, post in zip(rows, posts, strict=False):
        assert row["status"] == "public_only_app_only"
        assert row["public_metrics.like_count"] == str(post.public_metrics["like_count"])
        assert row["author_id"] == post.author_id
    assert rows[3]["status"] == "not_found" and rows[3]["public_metrics.like_count"] == ""
    assert rows[4]["status"] == "invalid" and rows[4]["status_detail"]
    assert "3 of 4 Posts fetched" in err and "'bogus'" in err


def test_oauth1_json_from_a_file_carries_private_metrics(
    clean: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    sandbox = clean
    secrets = use_oauth1(monkeypatch, sandbox)
    now = sandbox.clock.now()
    mine = [p for p in sandbox.world.demo_posts if p.within_private_window(now)][:4]
    paste = tmp_path / "ids.txt"
    paste.write_text("\n".join(f"https://twitter.com/u/status/{p.id}" for p in mine) + "\n\n")
    code, out, _ = run(["fetch", "--file", str(paste), "--format", "json"], capsys, secrets)
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [p.id for p in mine]
    for row, post in zip(rows, mine, strict=True):
        assert row["status"] in ("ok", "not_promoted")
        assert (
            row["non_public_metrics.impression_count"]
            == post.non_public_metrics["impression_count"]
        )
        assert row["organic_metrics.like_count"] == post.organic_metrics["like_count"]
        if post.promoted:
            assert row["promoted_metrics.url_link_clicks"] == post.promoted_metrics.get(
                "url_link_clicks"
            )
        else:
            assert row["promoted_metrics.impression_count"] is None


def test_stdin_input_and_media_table(
    clean: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = clean
    secrets = use_oauth1(monkeypatch, sandbox)
    now = sandbox.clock.now()
    with_video = [
        p
        for p in sandbox.world.demo_posts
        if p.within_private_window(now)
        and any(sandbox.world.media_item(k).type == "video" for k in p.media_keys)
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\t".join(p.id for p in with_video)))
    code, out, _ = run(["fetch", "--file", "-", "--media"], capsys, secrets)
    assert code == 0
    rows = csv_rows(out)
    keys = [r["media_key"] for r in rows]
    assert len(keys) == len(set(keys)) and keys
    for row in rows:
        truth = sandbox.world.media_item(row["media_key"])
        assert row["type"] == truth.type
        if truth.type == "video":
            assert row["public_metrics.view_count"] == str(truth.public_metrics["view_count"])
            assert row["non_public_metrics.playback_25_count"] == str(
                truth.non_public_metrics["playback_25_count"]
            )
    assert any(len(r["post_ids"].split()) > 1 for r in rows)


def test_metrics_option_limits_the_groups_and_columns(
    clean: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = clean
    secrets = use_oauth1(monkeypatch, sandbox)
    post = sandbox.world.demo_posts[1]
    code, out, _ = run(["fetch", post.id, "--metrics", "public"], capsys, secrets)
    assert code == 0
    header = csv_rows(out)[0].keys()
    assert not [c for c in header if c.startswith(("non_public", "organic", "promoted"))]
    assert (
        "organic_metrics"
        not in sandbox.request_log.entries(path="/2/tweets")[0].params["tweet.fields"]
    )


def test_bearer_cannot_ask_for_private_groups(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = use_bearer(monkeypatch, sandbox)
    code, out, err = run(["fetch", "20", "--metrics", "organic"], capsys, secrets)
    assert code == 2 and out == "" and "public metrics only" in err


def test_formula_looking_text_is_neutralised_in_csv(
    clean: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = clean
    secrets = use_bearer(monkeypatch, sandbox)
    risky = [p for p in sandbox.world.demo_posts if p.text.startswith(("=", "+", "-", "@"))]
    assert len(risky) >= 3
    code, out, _ = run(["fetch", *(p.id for p in risky)], capsys, secrets)
    assert code == 0
    for row, post in zip(csv_rows(out), risky, strict=True):
        assert row["text"] == "'" + post.text


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (12, 12),
        (None, None),
    ],
)
def test_neutralise_formula(cell: Any, expected: Any) -> None:
    assert neutralise_formula(cell) == expected


def test_no_credentials_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "20"]) == 2
    assert "no credentials" in capsys.readouterr().err


def test_partial_oauth1_env_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("X_CONSUMER_KEY", "ck-value-123")
    assert main(["fetch", "20"]) == 2
    err = capsys.readouterr().err
    assert "X_ACCESS_TOKEN_SECRET" in err and "ck-value-123" not in err


def test_nothing_fetchable_exits_1(
    clean: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = clean
    secrets = use_bearer(monkeypatch, sandbox)
    code, out, err = run(["fetch", "not-an-id", "https://example.com/x"], capsys, secrets)
    assert code == 1 and "no Post IDs" in err
    assert [r["status"] for r in csv_rows(out)] == ["invalid", "invalid"]
    code, out, _ = run(["fetch", *sandbox.world.deleted_ids[:2]], capsys, secrets)
    assert code == 1
    assert [r["status"] for r in csv_rows(out)] == ["not_found", "not_found"]


def test_bad_token_exits_1_telling_to_reconnect_without_echoing_it(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "AAAA-wrong-token-value")
    code, out, err = run(
        ["fetch", "--api-base", sandbox.base_url, "20"], capsys, ["AAAA-wrong-token-value"]
    )
    assert code == 1 and out == "" and "reconnect" in err


def test_oauth2_refresh_writes_rotated_tokens_with_0600(
    fresh_sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    sandbox = fresh_sandbox
    token = sandbox.issue_oauth2_token(sandbox.world.demo_user_id, scopes=SCOPES, lifetime=1)
    sandbox.clock.advance(5)
    env = {
        "X_OAUTH2_ACCESS_TOKEN": str(token["access_token"]),
        "X_OAUTH2_REFRESH_TOKEN": str(token["refresh_token"]),
        "X_CLIENT_ID": sandbox.demo.client_id,
        "X_CLIENT_SECRET": sandbox.demo.client_secret,
        "X_API_BASE_URL": sandbox.base_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    saved = tmp_path / "tokens.json"
    secrets = [env["X_OAUTH2_ACCESS_TOKEN"], env["X_OAUTH2_REFRESH_TOKEN"], env["X_CLIENT_SECRET"]]
    post = sandbox.world.demo_posts[1]
    code, out, err = run(["fetch", post.id, "--save-refreshed", str(saved)], capsys, secrets)
    assert code == 0
    assert csv_rows(out)[0]["status"] in ("ok", "not_promoted")
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    rotated = json.loads(saved.read_text())
    assert rotated["refresh_token"] not in (None, env["X_OAUTH2_REFRESH_TOKEN"])
    assert rotated["access_token"] not in err and rotated["refresh_token"] not in err
    assert "written to" in err


def offline_result() -> FetchResult:
    """Two fetched Posts (one formula-looking, one with a video) and an invalid token."""
    fetched = result_from_pages(
        [
            {
                "data": [
                    {
                        "id": "1850000000000000001",
                        "text": '=HYPERLINK("http://evil")',
                        "author_id": "42",
                        "created_at": "2026-11-01T10:20:30.000Z",
                        "public_metrics": {"like_count": 3, "retweet_count": 0},
                    },
                    {
                        "id": "1850000000000000002",
                        "text": "a video",
                        "author_id": "42",
                        "created_at": "2026-11-02T00:00:00.000Z",
                        "attachments": {"media_keys": ["13_9"]},
                        "public_metrics": {"like_count": 7},
                    },
                ],
                "includes": {
                    "media": [
                        {
                            "media_key": "13_9",
                            "type": "video",
                            "duration_ms": 1500,
                            "url": "@not-a-formula",
                            "public_metrics": {"view_count": 11},
                        }
                    ]
                },
            }
        ],
        groups=(Group.PUBLIC,),
    )
    invalid = IdStatus(id="-1+2", status=PostStatus.INVALID, detail="not a Post ID", source="-1+2")
    return FetchResult(
        posts=fetched.posts,
        media=fetched.media,
        statuses=(*fetched.statuses, invalid),
        groups=fetched.groups,
    )


def test_cli_tables_are_the_frames_cut_to_the_documented_columns() -> None:
    result = offline_result()
    public = [m.path for m in metrics_for(Level.POST, [Group.PUBLIC])]
    posts = post_table(result, [Group.PUBLIC])
    assert list(posts.columns) == [
        "id",
        "created_at",
        "author_id",
        "text",
        "status",
        "status_detail",
        *public,
    ]
    frame = posts_frame(result)
    assert posts["id"].tolist() == frame["id"].tolist()
    assert posts[public].equals(frame[public])
    assert posts["created_at"].iloc[:2].tolist() == ["2026-11-01T10:20:30Z", "2026-11-02T00:00:00Z"]
    assert posts["created_at"].isna().iloc[2]
    media = media_table(result, [Group.PUBLIC])
    assert list(media.columns) == [
        "media_key",
        "type",
        "duration_ms",
        "preview_image_url",
        "url",
        "post_ids",
        "public_metrics.view_count",
    ]
    assert media.equals(media_frame(result)[list(media.columns)])


def test_cli_csv_is_the_safe_export_without_a_bom() -> None:
    table = post_table(offline_result(), [Group.PUBLIC])
    out = io.StringIO()
    write_table(table, output_format="csv", out=out)
    text = out.getvalue()
    assert text == safe_csv_text(table)
    assert text.startswith("id,created_at,") and "\r\n" in text
    rows = csv_rows(text)
    assert rows[0]["text"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["public_metrics.like_count"] == "3"
    assert rows[0]["public_metrics.quote_count"] == ""  # X left it out: empty, never 0
    assert rows[2]["id"] == "'-1+2" and rows[2]["status"] == "invalid"
    media_out = io.StringIO()
    write_table(media_table(offline_result(), [Group.PUBLIC]), output_format="csv", out=media_out)
    (video,) = csv_rows(media_out.getvalue())
    assert video["url"] == "'@not-a-formula" and video["post_ids"] == "1850000000000000002"


def test_cli_json_has_the_same_rows_with_null_for_missing_and_raw_text() -> None:
    out = io.StringIO()
    write_table(post_table(offline_result(), [Group.PUBLIC]), output_format="json", out=out)
    rows = json.loads(out.getvalue())
    assert [r["id"] for r in rows] == ["1850000000000000001", "1850000000000000002", "-1+2"]
    assert rows[0]["text"] == '=HYPERLINK("http://evil")'  # JSON is data, not a sheet
    assert rows[0]["public_metrics.like_count"] == 3
    assert rows[0]["public_metrics.quote_count"] is None
    assert rows[2]["created_at"] is None and rows[2]["text"] is None
    media_out = io.StringIO()
    write_table(media_table(offline_result(), [Group.PUBLIC]), output_format="json", out=media_out)
    (video,) = json.loads(media_out.getvalue())
    assert video["duration_ms"] == 1500 and video["public_metrics.view_count"] == 11
    assert video["preview_image_url"] is None


def test_help_loads_neither_pandas_nor_the_http_stack() -> None:
    import subprocess
    from pathlib import Path

    probe = (
        "import sys\n"
        "from xmetrics_core.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'pyarrow', 'numpy', 'plotly', 'requests', 'oauthlib')\n"
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
    assert "fetch" in answer.stdout
    assert answer.stdout.strip().splitlines()[-1] == "[]"
