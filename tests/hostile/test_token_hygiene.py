"""Token hygiene in one test: a full connect → fetch → export → CLI → disconnect cycle with
every logger at DEBUG, then every secret searched for in the logs, the exports, the rendered
pages, the CLI's output and the URLs. (The whole run is checked the same way by the plugin in
``hygiene.py``; this test fails inside pytest's normal reporting.)

Also: the remember-me file is 0600 in a 0700 folder, and ``.streamlit/secrets.toml`` is
git-ignored.
"""

from __future__ import annotations

import logging
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest_helpers import (
    REPO,
    consent_redirect,
    land_callback,
    link_button_urls,
    new_app,
    offered_downloads,
)
from hygiene import export_texts, page_text, sandbox_secrets, secret_hits
from streamlit.testing.v1 import AppTest

from xmetrics_core.cli import main
from xmetrics_core.connection import Connection
from xmetrics_core.credentials import OAuth2Credential
from xmetrics_ui.session import CONNECTION_KEY


class Records(logging.Handler):
    """Every record, formatted, from the root and from loggers that do not propagate."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_records() -> Iterator[Records]:
    records = Records()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    levels = [logger.level for logger in loggers]
    consoles = [  # Streamlit's own console handlers keep printing what they printed before
        (h, h.level, logger.getEffectiveLevel())
        for logger in loggers[1:]
        for h in logger.handlers
        if type(h) is logging.StreamHandler
    ]
    for handler, level, before in consoles:
        handler.setLevel(max(level, before))
    for logger in loggers:
        logger.addHandler(records)
        logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(records)
            logger.setLevel(level)
        for handler, level, _ in consoles:
            handler.setLevel(level)


def connection_of(at: AppTest) -> Connection:
    value = at.session_state[CONNECTION_KEY]
    assert isinstance(value, Connection)
    return value


def test_a_full_cycle_at_debug_leaves_no_secret_in_logs_exports_pages_or_urls(
    demo: Any,
    dashboard: Path,
    debug_records: Records,
    capsys: pytest.CaptureFixture[str],
):
    pages: list[str] = []
    urls: list[str] = []
    exported: list[bytes] = []

    at = new_app().run()
    at.checkbox(key="xm_remember").check().run()
    at.button(key="xm_demo").click().run()
    (consent_url,) = link_button_urls(at)
    urls.append(consent_url)
    callback = consent_redirect(consent_url)
    at = land_callback(callback)
    assert not at.exception
    assert len(at.query_params) == 0, "the callback's code and state leave the URL"
    connection = connection_of(at)
    credential = connection.credential
    assert isinstance(credential, OAuth2Credential) and credential.refresh_token
    pages.append(page_text(at))

    remembered = dashboard / "credentials.json"
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600
    assert stat.S_IMODE(remembered.parent.stat().st_mode) == 0o700

    ids = [p.id for p in demo.world.demo_posts[:12]]
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value("\n".join(ids))
    at = at.button(key="xm_fetch").click().run()
    assert not at.exception
    exported.extend(offered_downloads(at))
    at = at.button(key="xm_load_recent").click().run()
    pages.append(page_text(at))
    at = at.switch_page("pages/video.py").run()
    pages.append(page_text(at))
    exported.extend(offered_downloads(at))
    assert exported, "the pages offered CSV and zip downloads"

    capsys.readouterr()
    code = main(
        ["fetch", "-v", *ids[:3]],
        environ={"X_OAUTH2_ACCESS_TOKEN": credential.access_token, "X_API_BASE_URL": demo.base_url},
    )
    cli = capsys.readouterr()
    assert code == 0

    at.sidebar.button(key="xm_disconnect").click().run()
    pages.append(page_text(at))
    with pytest.raises(KeyError):
        at.session_state[CONNECTION_KEY]

    secrets = sandbox_secrets(demo) | {
        callback["code"],
        credential.access_token,
        credential.refresh_token,
    }
    evidence = {
        "logs": "\n".join(debug_records.lines).encode(),
        "pages": "\n".join(pages).encode(),
        "urls": "\n".join(urls).encode(),
        "cli": (cli.out + cli.err).encode(),
    }
    for n, data in enumerate(exported):
        for name, body in export_texts(f"download {n}", data):
            evidence[name] = body
    hits = {where: secret_hits(data, secrets) for where, data in evidence.items()}
    print(
        f"\nHYGIENE secrets={len(secrets)} log_records={len(debug_records.lines)} "
        f"exports={len(evidence) - 4} pages={len(pages)} "
        f"hits={sum(len(v) for v in hits.values())}"
    )
    debug_from = {line.split(" ", 2)[1].rstrip(":") for line in debug_records.lines}
    assert {"xmetrics_core.transport", "urllib3.connectionpool"} <= debug_from, debug_from
    assert {where: found for where, found in hits.items() if found} == {}


def test_secrets_toml_is_git_ignored_and_only_its_example_is_tracked():
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("git or the repository's .git folder is not available")
    ignored = subprocess.run(
        [git, "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=REPO, timeout=30, check=False
    )
    assert ignored.returncode == 0, ".streamlit/secrets.toml must be git-ignored"
    tracked = subprocess.run(
        [git, "ls-files", ".streamlit"],
        cwd=REPO,
        timeout=30,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ".streamlit/secrets.toml" not in tracked
    assert ".streamlit/secrets.toml.example" in tracked


# -- the search itself can find what it looks for -------------------------------------------------


def test_the_search_finds_a_secret_in_headers_json_urls_and_zips():
    token = "Zx9-q_" + "k" * 40
    secrets = frozenset({token, "short"})
    assert secret_hits(f"Authorization: Bearer {token}\n".encode(), secrets) == {token}
    assert secret_hits(f'{{"access_token": "{token}"}}'.encode(), secrets) == {token}
    assert secret_hits(f"http://127.0.0.1/?a=1&token={token}&b=2".encode(), secrets) == {token}
    assert secret_hits(b"nothing to see " + token[:-1].encode(), secrets) == set()
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("posts.csv", f"id,text\n1,{token}\n")
    (member,) = export_texts("everything.zip", buffer.getvalue())
    assert member[0] == "everything.zip:posts.csv" and secret_hits(member[1], secrets) == {token}


def test_urls_with_callback_secrets_off_the_landing_are_flagged():
    from hygiene import callback_params_off_landing, urls_after_callbacks

    urls = [
        "http://127.0.0.1:8501/",
        "http://127.0.0.1:8501/?code=abc&state=xyz",
        "http://127.0.0.1:8501/static/app.js",
        "http://127.0.0.1:8501/_stcore/stream?code=abc",
        "http://127.0.0.1:8501/?access_token=leaked",
    ]
    assert urls_after_callbacks(urls) == urls[2:]
    assert callback_params_off_landing(urls) == urls[3:]


def test_the_sandbox_lists_every_secret_it_issued_and_no_public_value(fresh_sandbox: Any):
    """``Sandbox.issued_secrets()`` is what the whole-run check searches for: it must grow with
    every code, token, refresh token, request-token secret and verifier the sandbox hands out,
    and leave out what is public by design (keys, client id, request tokens in URLs)."""
    from urllib.parse import parse_qsl, urlsplit

    from apptest_helpers import LOCAL_APP_URL, submit_consent

    from xmetrics_core.oauth import OAuth1Flow, OAuth2PkceFlow

    sandbox, demo = fresh_sandbox, fresh_sandbox.demo
    before = sandbox.issued_secrets()
    assert {demo.bearer_token, demo.consumer_secret, demo.client_secret} <= before
    assert {a.access_token_secret for a in sandbox.accounts} <= before
    assert not {demo.consumer_key, demo.client_id} & before

    flow = OAuth2PkceFlow(
        client_id=demo.client_id,
        client_secret=demo.client_secret,
        redirect_uri=LOCAL_APP_URL,
        authorize_url=f"{sandbox.base_url}/i/oauth2/authorize",
        token_url=f"{sandbox.base_url}/2/oauth2/token",
    )
    pending = flow.start()
    answer = submit_consent(pending.url)
    code = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["code"]
    assert code in sandbox.issued_secrets()
    credential = flow.finish(code=code, code_verifier=pending.code_verifier)
    assert {credential.access_token, credential.refresh_token} <= sandbox.issued_secrets()
    minted = sandbox.issue_oauth2_token(sandbox.world.demo_user_id)
    assert minted["access_token"] in sandbox.issued_secrets()

    oauth1 = OAuth1Flow(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        callback=LOCAL_APP_URL,
        base_url=sandbox.base_url,
    )
    started = oauth1.start()
    assert started.request_token_secret in sandbox.issued_secrets()
    assert started.request_token not in sandbox.issued_secrets(), "it travels in URLs by design"
    back = dict(parse_qsl(urlsplit(submit_consent(started.url).headers["Location"]).query))
    assert back["oauth_verifier"] in sandbox.issued_secrets()
    signed_in = oauth1.finish(started, back["oauth_verifier"])
    assert {signed_in.access_token, signed_in.access_token_secret} <= sandbox.issued_secrets()
    sandbox.stop()
    assert code in sandbox.issued_secrets(), "still answerable after the sandbox stopped"
