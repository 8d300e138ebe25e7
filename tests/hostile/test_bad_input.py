"""The bad-input corpus (``corpus.py``, 230+ cases) through the parser, the CLI and the Posts
page's paste box, plus hypothesis fuzzing of the parser and the CLI.

Every case ends in a clear message and no traceback: the parser raises only
:class:`InputTooLarge` (stating the limit) or accounts for every token; the CLI exits 0/1/2 with
``xmetrics:`` messages on stderr and parseable CSV on stdout; the page shows an error, a warning
or every token's status, never an exception, and garbage never reaches the API.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import api_calls, connect_bearer, element_texts
from corpus import Case, Expect, bad_input_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from xmetrics_core.cli import EXIT_NOTHING_FETCHED, EXIT_OK, EXIT_USAGE, main
from xmetrics_core.models import PostStatus
from xmetrics_core.references import (
    MAX_INPUT_CHARS,
    MAX_POST_ID,
    InputTooLarge,
    ParsedReferences,
    parse_references,
)

CORPUS = bad_input_corpus()
LIGHT = [case for case in CORPUS if not case.heavy]
HEAVY = [case for case in CORPUS if case.heavy]
APPTEST_CHUNK = 40
# the CLI echoes each invalid token into the CSV, up to one token of MAX_INPUT_CHARS
csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_INPUT_CHARS))


def test_the_corpus_is_big_and_covers_every_kind_the_issue_names():
    assert len(CORPUS) >= 200
    names = " ".join(case.name for case in CORPUS)
    for kind in ("garbage", "20 digits", "negative", "digits", "U+200B", "url of", "100,000 lines",
                 "empty", "html/script", "sql-like", "long line", "past the limit"):  # fmt: skip
        assert kind in names, kind
    assert {case.expect for case in CORPUS} == set(Expect)


# -- the parser ---------------------------------------------------------------------------------


def check_parsed(case: Case, parsed: ParsedReferences) -> None:
    """What the parser found agrees with what the case was built to be."""
    if case.expect is Expect.NOTHING:
        assert parsed.refs == () and parsed.invalid == ()
    elif case.expect is Expect.INVALID_ONLY:
        assert parsed.refs == () and parsed.invalid, parsed
    else:
        assert parsed.ids == case.valid, parsed.ids
    for bad in parsed.invalid:
        assert bad.reason, bad
        assert case.reason is None or case.reason in bad.reason, (bad.reason, case.reason)
        assert case.text[bad.offset : bad.offset + len(bad.text)] == bad.text


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_the_parser_accounts_for_every_token_or_states_the_limit(case: Case):
    if case.expect is Expect.TOO_LARGE:
        with pytest.raises(InputTooLarge) as refused:
            parse_references(case.text)
        assert case.reason and case.reason in str(refused.value)
        assert "limit" in str(refused.value)
        return
    check_parsed(case, parse_references(case.text))


# -- the CLI ------------------------------------------------------------------------------------


def bearer_env(sandbox: Any) -> dict[str, str]:
    return {"X_BEARER_TOKEN": sandbox.demo.bearer_token, "X_API_BASE_URL": sandbox.base_url}


def run_cli(
    case_text: str, tmp_path: Path, sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    paste = tmp_path / "paste.txt"
    paste.write_text(case_text, encoding="utf-8")
    capsys.readouterr()
    code = main(["fetch", "--file", str(paste)], environ=bearer_env(sandbox))
    out, err = capsys.readouterr()
    return code, out, err


def check_cli(case: Case, code: int, out: str, err: str, sandbox: Any) -> None:
    assert "Traceback" not in err and "Traceback" not in out
    assert sandbox.demo.bearer_token not in err + out
    assert err.strip(), "every outcome is explained on stderr"
    assert all(line.startswith("xmetrics: ") for line in err.splitlines()), err[:500]
    if case.expect is Expect.TOO_LARGE:
        assert code == EXIT_USAGE
        assert case.reason and case.reason in err and "limit" in err
        assert out == ""
        return
    rows = list(csv.DictReader(io.StringIO(out)))
    if case.expect in (Expect.NOTHING, Expect.INVALID_ONLY):
        assert code == EXIT_NOTHING_FETCHED
        assert "no Post IDs or Post URLs in the input" in err
        assert all(row["status"] == PostStatus.INVALID.value for row in rows)
        assert (len(rows) == 0) == (case.expect is Expect.NOTHING)
    else:
        assert code in (EXIT_OK, EXIT_NOTHING_FETCHED)
        assert [row["id"] for row in rows[: len(case.valid)]] == list(case.valid)
        assert re.search(r"\d+ of \d+ Posts fetched", err), err[-500:]
    for row in rows:
        assert row["status_detail"], row
        for cell in row.values():
            assert not (cell or "").startswith(("=", "+", "-", "@")), row


@pytest.mark.parametrize("case", LIGHT, ids=lambda case: case.name)
def test_the_cli_explains_every_bad_paste_without_a_traceback(
    case: Case, sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, out, err = run_cli(case.text, tmp_path, sandbox, capsys)
    check_cli(case, code, out, err, sandbox)


@pytest.mark.parametrize("case", HEAVY, ids=lambda case: case.name)
def test_the_cli_handles_huge_pastes(
    case: Case, sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, out, err = run_cli(case.text, tmp_path, sandbox, capsys)
    check_cli(case, code, out, err, sandbox)


def test_cli_arguments_that_look_like_options_are_tokens_after_dashes_or_a_usage_error(
    sandbox: Any, capsys: pytest.CaptureFixture[str]
):
    hostile = ["-1861234567890123456", "--drop-table", "<script>alert(1)</script>"]
    code = main(["fetch", "--", *hostile], environ=bearer_env(sandbox))
    err = capsys.readouterr().err
    assert code == EXIT_NOTHING_FETCHED
    assert err.count("ignoring token") == len(hostile) and "Traceback" not in err

    with pytest.raises(SystemExit) as exited:
        main(["fetch", *hostile], environ=bearer_env(sandbox))
    err = capsys.readouterr().err
    assert exited.value.code == EXIT_USAGE
    assert "unrecognized arguments: --drop-table" in err and "Traceback" not in err


# -- the paste box ------------------------------------------------------------------------------
#
# A fetch that shows a new result costs the page ~0.2 s (frames, charts, CSVs), so cases that
# are invalid through and through are pasted a few at a time, one per line; every other case
# gets a run of its own. Every case still goes through the paste box.


@dataclass(frozen=True, kw_only=True)
class PasteRun:
    """One Fetch on the Posts page: one case, or several invalid-only cases one per line."""

    cases: tuple[Case, ...]

    @property
    def text(self) -> str:
        return "\n".join(case.text for case in self.cases)

    @property
    def expect(self) -> Expect:
        return self.cases[0].expect

    @property
    def name(self) -> str:
        return self.cases[0].name if len(self.cases) == 1 else f"{len(self.cases)} invalid pastes"


def paste_runs(cases: list[Case], *, per_run: int = 6) -> list[PasteRun]:
    invalid = [case for case in cases if case.expect is Expect.INVALID_ONLY]
    runs = [PasteRun(cases=(case,)) for case in cases if case.expect is not Expect.INVALID_ONLY]
    runs += [
        PasteRun(cases=tuple(invalid[i : i + per_run])) for i in range(0, len(invalid), per_run)
    ]
    return runs


def page_messages(at: AppTest) -> dict[str, list[str]]:
    kinds = ("error", "warning", "info", "text", "caption")
    return {kind: element_texts(at, kind) for kind in kinds}


def statuses_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.dataframe if "detail" in t.value.columns)


def check_page(run: PasteRun, at: AppTest, sandbox: Any) -> None:
    assert not at.exception, (run.name, [str(e.value)[:300] for e in at.exception])
    messages = page_messages(at)
    shown = " ".join(" ".join(v) for v in messages.values())
    assert "Traceback" not in shown
    if run.expect is Expect.TOO_LARGE:
        (error,) = messages["error"]
        reason = run.cases[0].reason
        assert reason and reason in error and "limit" in error
    elif run.expect is Expect.NOTHING:
        assert any("Paste at least one Post ID" in w for w in messages["warning"]), messages
    elif run.expect is Expect.INVALID_ONLY:
        statuses = statuses_table(at)
        tokens = sum(len(parse_references(case.text).invalid) for case in run.cases)
        assert len(statuses) == tokens
        assert any(f"Invalid input: {tokens}" in t for t in messages["caption"]), messages
        assert set(statuses["status"]) == {PostStatus.INVALID.value}
        assert statuses["detail"].astype(str).str.len().gt(0).all()
        assert api_calls(sandbox) == [], "garbage must never reach the API"
    else:
        statuses = statuses_table(at)
        valid = run.cases[0].valid
        found = statuses.loc[statuses["status"].ne(PostStatus.INVALID.value), "id"]
        assert list(found[: len(valid)]) == list(valid)


def paste_and_fetch(at: AppTest, text: str) -> AppTest:
    at.text_area(key="xm_posts_text").set_value(text)
    return at.button(key="xm_fetch").click().run()


def connected_posts_page(demo: Any) -> AppTest:
    at: AppTest = connect_bearer(demo)
    assert not at.exception
    return at.switch_page("pages/posts.py").run()


LIGHT_RUNS = paste_runs(LIGHT)
RUN_GROUPS = [LIGHT_RUNS[i : i + 20] for i in range(0, len(LIGHT_RUNS), 20)]


def test_every_light_case_is_pasted():
    pasted = [case for run in LIGHT_RUNS for case in run.cases]
    assert sorted(c.name for c in pasted) == sorted(c.name for c in LIGHT)


@pytest.mark.parametrize("runs", RUN_GROUPS, ids=lambda runs: f"{runs[0].name}..{runs[-1].name}")
def test_the_paste_box_answers_every_bad_paste_with_a_clear_message(
    runs: list[PasteRun], demo: Any, dashboard: Path
):
    at = connected_posts_page(demo)
    for run in runs:
        demo.request_log.clear()
        at = paste_and_fetch(at, run.text)
        check_page(run, at, demo)


@pytest.mark.parametrize("case", HEAVY, ids=lambda case: case.name)
def test_the_paste_box_handles_huge_pastes(case: Case, demo: Any, dashboard: Path):
    at = connected_posts_page(demo)
    demo.request_log.clear()
    started = time.perf_counter()
    at = paste_and_fetch(at, case.text)
    check_page(PasteRun(cases=(case,)), at, demo)
    print(f"\nPASTE {case.name}: {time.perf_counter() - started:.2f}s")


# -- fuzzing ------------------------------------------------------------------------------------

TOKENISH = st.lists(
    st.sampled_from(
        [
            *"0123456789abcxyz/:.?#=&-_@+ \n\t,;",
            "\u200b",
            "\ufeff",
            "\u0660",
            "\uff11",
            "x.com/",
            "twitter.com/",
            "/status/",
            "https://",
            "<script>",
            "é",
            "🙂",
            "\u202e",
            "\x00",
        ]  # fmt: skip
    ),
    max_size=80,
).map("".join)
"""Text built from pieces of IDs and URLs, separators and hostile characters."""


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=300), TOKENISH))
def test_fuzzed_text_never_breaks_the_parser(text: str):
    parsed = parse_references(text)
    ids = parsed.ids
    assert len(ids) == len(set(ids))
    for ref in parsed.refs:
        assert ref.id.isascii() and ref.id.isdigit() and ref.id[0] != "0"
        assert 1 <= len(ref.id) <= 19 and int(ref.id) <= MAX_POST_ID
        assert ref.id in ref.source and ref.source in text
    positions = [r.position for r in parsed.refs] + [b.position for b in parsed.invalid]
    assert len(positions) == len(set(positions))
    for bad in parsed.invalid:
        assert bad.reason and text[bad.offset : bad.offset + len(bad.text)] == bad.text


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=1, max_value=MAX_POST_ID), min_size=1, max_size=30),
    separators=st.lists(
        st.sampled_from([" ", "\n", ",", ";", "\t", ", ", "\u3000", "\r\n"]), min_size=1
    ),  # fmt: skip
    as_url=st.lists(st.booleans(), min_size=1),
)
def test_fuzzed_lists_of_ids_and_urls_round_trip_in_order(
    ids: list[int], separators: list[str], as_url: list[bool]
):
    tokens = []
    for n, post_id in enumerate(ids):
        url = as_url[n % len(as_url)]
        tokens.append(f"https://x.com/someone/status/{post_id}?s=20" if url else str(post_id))
    text = "".join(f"{token}{separators[n % len(separators)]}" for n, token in enumerate(tokens))
    parsed = parse_references(text)
    assert parsed.invalid == ()
    assert parsed.ids == tuple(dict.fromkeys(str(i) for i in ids))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(st.text(max_size=200), TOKENISH))
def test_fuzzed_text_never_breaks_the_cli(
    text: str, sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, out, err = run_cli(text, tmp_path, sandbox, capsys)
    assert code in (EXIT_OK, EXIT_NOTHING_FETCHED)
    assert "Traceback" not in err and err.startswith("xmetrics: ")
    rows = list(csv.DictReader(io.StringIO(out)))
    parsed = parse_references(text)
    assert len(rows) == len(parsed.refs) + len(parsed.invalid)
