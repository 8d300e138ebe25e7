"""``python -m xmetrics_core import``: rows on stdout, one line per file on stderr, exit
status 0 only when every file was imported, no credentials needed."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from import_samples import (
    CONTENT_FILE,
    LEGACY_DAYS_FILE,
    LEGACY_NAME,
    LEGACY_POSTS_FILE,
    OVERVIEW_FILE,
    OVERVIEW_HEADER,
    YOUTUBE_STUDIO,
    LegacyPost,
    csv_bytes,
    legacy_posts,
    legacy_posts_file,
    overview_rows,
    shared_export,
)

from xmetrics_core.cli import main
from xmetrics_core.credentials import ENV_VARIABLES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV_VARIABLES, "X_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["import", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_export_becomes_one_csv_row_per_post(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = legacy_posts(3, promoted_every=2)
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(posts))
    code, out, err = run([path], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == [str(p.post_id) for p in posts]
    assert rows[0]["created_at"] == "2021-12-28T16:45:00Z"
    assert rows[0]["organic_metrics.impression_count"] == "1000"
    assert rows[1]["promoted_metrics.impression_count"] == "", "not promoted: empty, not 0"
    assert rows[0]["export.organic detail expands"] == str(posts[0].organic["detail expands"])
    assert list(rows[0])[:3] == ["id", "created_at", "text"]
    assert (
        f"imported {LEGACY_NAME}: rOpenSci, 3 Posts, 1–31 Dec 2021, legacy per-Post export" in err
    )


def test_json_output_has_null_for_missing_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(legacy_posts(2, promoted_every=2)))
    code, out, _ = run([path, "--format", "json", "--no-save"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["promoted_metrics.like_count"] is not None
    assert rows[1]["promoted_metrics.like_count"] is None
    assert isinstance(rows[0]["organic_metrics.impression_count"], int)


def test_a_refused_file_is_named_with_its_line_and_the_others_still_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, LEGACY_NAME, legacy_posts_file(legacy_posts(2)))
    broken = legacy_posts_file(legacy_posts(2)).replace(b'"2000.0"', b'"many"')
    bad = write(tmp_path, "broken.csv", broken)
    youtube = write(tmp_path, "Table data.csv", YOUTUBE_STUDIO.encode())
    code, out, err = run([good, bad, youtube], capsys)
    assert code == 1
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2
    assert "refused broken.csv: line 4: 'many' in the impressions column is not a number" in err
    assert "refused Table data.csv: line 1: " in err and "YouTube Studio export" in err
    assert "Traceback" not in err


def test_only_refused_files_write_an_empty_result_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([str(tmp_path / "missing.csv"), "--format", "json"], capsys)
    assert (code, json.loads(out)) == (1, [])
    assert "missing.csv: no such file" in err


def test_formula_text_is_neutralised_in_the_csv_but_kept_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = [LegacyPost(post_id=1475870580540952577, text="=1+1 <script>alert(1)</script>")]
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(posts))
    _, out, _ = run([path], capsys)
    assert next(csv.DictReader(io.StringIO(out)))["text"] == "'=1+1 <script>alert(1)</script>"
    _, out, _ = run([path, "--format", "json"], capsys)
    assert json.loads(out)[0]["text"] == "=1+1 <script>alert(1)</script>"


def test_per_day_exports_write_one_row_per_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv_bytes(
        OVERVIEW_HEADER, overview_rows([("Tue, Feb 18, 2025", 62), ("Mon, Feb 17, 2025", 426)])
    )
    path = write(tmp_path, "account_overview_analytics.csv", data)
    code, out, _ = run([path], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert list(rows[0])[:2] == ["date", "public_metrics.retweet_count"]
    assert [r["date"] for r in rows] == ["2025-02-17", "2025-02-18"]
    assert [r["non_public_metrics.impression_count"] for r in rows] == ["426", "62"]
    assert rows[0]["export.unfollows"] == "1"


def test_every_real_export_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    names = [LEGACY_POSTS_FILE, LEGACY_DAYS_FILE, CONTENT_FILE, OVERVIEW_FILE]
    paths = [str(shared_export(n)) for n in names]
    code, out, err = run(paths, capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sum(1 for r in rows if r["id"]) == 17 + 40
    assert sum(1 for r in rows if r["date"]) == 31 + 50
    assert err.count("xmetrics: imported ") == 4


def test_import_needs_no_credentials_and_runs_as_a_module(tmp_path: Path) -> None:
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(legacy_posts(1)))
    done = subprocess.run(
        [sys.executable, "-m", "xmetrics_core", "import", path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("id,created_at,text,")
    help_text = subprocess.run(
        [sys.executable, "-m", "xmetrics_core", "import", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "--no-save" in help_text and "history store" in help_text


def test_imports_are_saved_to_the_history_store_with_source_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xmetrics_core.store import open_store

    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("XMETRICS_DATABASE_URL", url)
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(legacy_posts(3)))
    code, out, err = run([path], capsys)
    assert code == 0
    assert len(list(csv.DictReader(io.StringIO(out)))) == 3
    assert "xmetrics: history store: 3 Post snapshots from 1 file saved" in err
    with open_store(url) as store:
        assert store.summary().snapshots == 3
        rows = store.history_rows([str(p.post_id) for p in legacy_posts(3)])
    assert len(rows) == 3
    code, _, err = run([path], capsys)  # the same file again: nothing new
    assert code == 0
    assert "0 Post snapshots from 0 files saved (1 already saved before)" in err


def test_no_save_leaves_the_history_store_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "history.db"
    monkeypatch.setenv("XMETRICS_DATABASE_URL", f"sqlite:///{database}")
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(legacy_posts(2)))
    code, out, err = run([path, "--no-save"], capsys)
    assert code == 0
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2
    assert "history store" not in err
    assert not database.exists()


def test_a_store_problem_never_stops_the_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XMETRICS_DATABASE_URL", "mysql://nobody:secret@127.0.0.1/history")
    path = write(tmp_path, LEGACY_NAME, legacy_posts_file(legacy_posts(2)))
    code, out, err = run([path], capsys)
    assert code == 3
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2
    assert "xmetrics: history store: nothing saved:" in err
    assert "secret" not in err
