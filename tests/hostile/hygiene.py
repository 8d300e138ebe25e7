"""Token hygiene for the whole test run: every secret the sandboxes issued, searched for in
everything the run wrote or showed.

:class:`TokenHygiene` is a pytest plugin, registered for the whole session by the repository's
root ``conftest.py``. For the run it

* raises the root logger to DEBUG with a handler writing to a temporary file (also on the
  loggers that do not propagate, such as Streamlit's, without changing what they print);
* records every sandbox started in this process (``Sandbox.start``), and at the end asks each
  for every secret it issued (``Sandbox.issued_secrets()``: app keys, account tokens, OAuth 2.0
  codes, access and refresh tokens, OAuth 1.0a request-token secrets and verifiers …);
* keeps every file the pages offered for download (CSV, zip: the UI notes them in its session
  state, read after each ``AppTest.run``), the text every AppTest page rendered, the URLs the
  browser tests requested and the logs of the app servers they drove;

then searches all of it for every secret, prints the counts, and fails the run on any hit.
Browser URLs are also checked for OAuth callback parameters anywhere but a callback landing
(the app's root), which catches codes and verifiers of sandboxes in other processes.

Secrets are searched for as whole runs of URL-safe characters (``[A-Za-z0-9_-]{16,}``), the
alphabet every sandbox secret is drawn from, so a multi-megabyte log is scanned once; values
shorter than 16 characters (7-digit PINs) are skipped, as they match ordinary numbers.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

MIN_SECRET_LENGTH = 16
SECRET_RUN = re.compile(rb"[A-Za-z0-9_-]{16,}")
CALLBACK_PARAMS = frozenset(
    {"code", "oauth_verifier", "access_token", "refresh_token", "oauth_token_secret"}
)
TEXT_ELEMENTS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "text",
    "caption",
    "code",
    "success",
    "info",
    "warning",
    "error",
    "exception",
    "metric",
    "json",
)
PLUGIN_NAME = "xmetrics-token-hygiene"


def sandbox_secrets(sandbox: Any) -> frozenset[str]:
    """Every secret ``sandbox`` issued, long enough to search for."""
    issued = getattr(sandbox, "issued_secrets", None)
    if callable(issued):
        values = set(issued())
    else:  # a sandbox without the accessor: its fixed credentials at least
        demo = sandbox.demo
        values = {demo.bearer_token, demo.consumer_secret, demo.client_secret}
        for account in sandbox.accounts:
            values |= {account.access_token, account.access_token_secret}
    return frozenset(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH)


def secret_hits(data: bytes, secrets: frozenset[str]) -> set[str]:
    """The secrets that occur in ``data`` as a whole run of URL-safe characters."""
    if not secrets:
        return set()
    wanted = {s.encode() for s in secrets}
    return {run.decode() for run in SECRET_RUN.findall(data) if run in wanted}


def export_texts(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """A download's bytes, or each member of a zip."""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield f"{name}:{member}", archive.read(member)
    else:
        yield name, data


def page_text(at: Any, *, max_rows: int = 500) -> str:
    """What an AppTest run rendered for people to read (widget values are not included)."""
    parts: list[str] = []
    for kind in TEXT_ELEMENTS:
        for element in at.get(kind):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(getattr(element, "label", "")))
    for element in at.get("dataframe"):
        try:
            parts.append(element.value.head(max_rows).to_csv())
        except Exception:  # an unparseable table is not evidence
            continue
    for element in at.get("link_button"):
        parts.append(str(element.proto.url))
    return "\n".join(parts)


def urls_after_callbacks(urls: Iterable[str]) -> list[str]:
    """Requests after the first OAuth callback landing, in order."""
    seen: list[str] = []
    landed = False
    for url in urls:
        if landed:
            seen.append(url)
        elif set(parse_qs(urlsplit(url).query)) & {"code", "oauth_verifier"}:
            landed = True
    return seen


def callback_params_off_landing(urls: Iterable[str]) -> list[str]:
    """URLs that carry OAuth callback secrets anywhere but the app's root (a callback landing),
    or a token anywhere at all."""
    bad: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        keys = set(parse_qs(parts.query))
        carries_token = bool(keys & {"access_token", "refresh_token", "oauth_token_secret"})
        off_landing = bool(keys & {"code", "oauth_verifier"}) and parts.path not in ("", "/")
        if carries_token or off_landing:
            bad.append(url)
    return bad


@dataclass(kw_only=True)
class HygieneReport:
    """What was searched and what was found."""

    sandboxes: int = 0
    secrets: int = 0
    log_bytes: int = 0
    exports: int = 0
    pages: int = 0
    urls: int = 0
    server_logs: int = 0
    hits: dict[str, set[str]] = field(default_factory=dict)

    def line(self) -> str:
        found = sum(len(v) for v in self.hits.values())
        return (
            f"TOKEN HYGIENE sandboxes={self.sandboxes} secrets={self.secrets} "
            f"log_bytes={self.log_bytes} exports={self.exports} pages={self.pages} "
            f"urls={self.urls} server_logs={self.server_logs} hits={found}"
        )


class TokenHygiene:
    """The whole-run plugin (see the module docstring)."""

    def __init__(self) -> None:
        self.evidence = Path(tempfile.mkdtemp(prefix="xmetrics-hygiene-"))
        self.log_path = self.evidence / "debug.log"
        self.exports_dir = self.evidence / "exports"
        self.exports_dir.mkdir()
        self.pages_path = self.evidence / "pages.txt"
        self.sandboxes: list[Any] = []
        self.urls: list[list[str]] = []
        self.server_logs: list[Path] = []
        self.extra_secrets: set[str] = set()
        self.report: HygieneReport | None = None
        self._handler = logging.FileHandler(self.log_path, encoding="utf-8")
        self._handler.setLevel(logging.DEBUG)
        self._handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        self._undo: list[Callable[[], None]] = []
        self._quiet: dict[str, tuple[logging.Logger, int, int]] = {}
        self._raised: dict[int, tuple[logging.Handler, int]] = {}
        self._pages = 0
        self._exports = 0
        self._seen_exports: dict[int, bytes] = {}  # kept alive, so an id is never reused

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Raise logging to DEBUG and start recording (called from the root conftest)."""
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self._handler)

        def restore_root() -> None:
            root.removeHandler(self._handler)
            root.setLevel(level)

        self._undo.append(restore_root)
        self._attach_to_quiet_loggers()
        self._undo.append(self._detach_from_quiet_loggers)
        self._record_sandboxes()
        self._record_pages()

    def stop(self) -> None:
        """Undo every patch and handler (evidence is kept only when something was found)."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self._handler.close()
        if self.report is None or not self.report.hits:
            shutil.rmtree(self.evidence, ignore_errors=True)

    def _attach_to_quiet_loggers(self) -> None:
        """Loggers that do not propagate (Streamlit's) log to our file at DEBUG too; their own
        handlers, including ones added since, keep printing only what they printed before."""
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger) or logger.propagate:
                continue
            if name not in self._quiet:
                self._quiet[name] = (logger, logger.level, logger.getEffectiveLevel())
                logger.addHandler(self._handler)
                logger.setLevel(logging.DEBUG)
            before = self._quiet[name][2]
            for handler in logger.handlers:  # their console handler, not pytest's or ours
                if type(handler) is logging.StreamHandler and handler.level < before:
                    self._raised.setdefault(id(handler), (handler, handler.level))
                    handler.setLevel(before)

    def _detach_from_quiet_loggers(self) -> None:
        for logger, level, _ in self._quiet.values():
            logger.removeHandler(self._handler)
            logger.setLevel(level)
        for handler, level in self._raised.values():
            handler.setLevel(level)
        self._quiet.clear()
        self._raised.clear()

    def _record_sandboxes(self) -> None:
        from xmetrics_core.sandbox.server import Sandbox

        original = Sandbox.start
        recorded = self.sandboxes

        def start(sandbox: Sandbox) -> Sandbox:
            recorded.append(sandbox)
            return original(sandbox)

        Sandbox.start = start  # type: ignore[method-assign,assignment]
        self._undo.append(lambda: setattr(Sandbox, "start", original))

    def _record_pages(self) -> None:
        from streamlit.testing.v1 import AppTest

        original = AppTest.run
        plugin = self

        def run(self: AppTest, *args: Any, **kwargs: Any) -> AppTest:
            result = original(self, *args, **kwargs)
            try:
                text = page_text(result)
                plugin._note_offered(result)
            except Exception:  # recording must never break a test
                return result
            plugin._pages += 1
            with plugin.pages_path.open("a", encoding="utf-8") as pages:
                pages.write(text + "\n")
            return result

        AppTest.run = run  # type: ignore[method-assign]
        self._undo.append(lambda: setattr(AppTest, "run", original))

    def _note_offered(self, at: Any) -> None:
        """The downloads the session's pages offer (the UI notes them in its session state)."""
        from xmetrics_ui.ui import OFFERED_DOWNLOADS_KEY

        if OFFERED_DOWNLOADS_KEY not in at.session_state:
            return
        for data in at.session_state[OFFERED_DOWNLOADS_KEY].values():
            if isinstance(data, bytes) and id(data) not in self._seen_exports:
                self._seen_exports[id(data)] = data
                self.note_export(data)

    # -- what tests hand over -------------------------------------------------------------------
    def note_urls(self, urls: Iterable[str]) -> None:
        """URLs a browser requested, in order."""
        self.urls.append(list(urls))

    def note_export(self, data: bytes) -> None:
        """A file a browser test downloaded."""
        self._exports += 1
        (self.exports_dir / f"{self._exports:06d}.bin").write_bytes(data)

    def note_server_log(self, path: Path) -> None:
        """The log of an app server a browser test drove."""
        self.server_logs.append(path)

    def note_secrets(self, secrets: Iterable[str]) -> None:
        """Secrets known to a test but not issued by an in-process sandbox."""
        self.extra_secrets |= {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}

    # -- pytest hooks ---------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._attach_to_quiet_loggers()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self._attach_to_quiet_loggers()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self._attach_to_quiet_loggers()

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Iterator[Any]:
        value = yield
        requested = getattr(value, "requested", None)
        if isinstance(requested, list):  # tests/e2e's RecordedPage: kept as it grows
            self.urls.append(requested)
        log_path = getattr(value, "log_path", None)
        if isinstance(log_path, Path):  # an AppServer
            self.server_logs.append(log_path)
        return value

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._handler.flush()
        self.report = self.search()
        if self.report.hits:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None:
            return
        terminalreporter.write_line(self.report.line())
        for where, found in sorted(self.report.hits.items()):
            terminalreporter.write_line(
                f"TOKEN HYGIENE: {len(found)} secret(s) in {where} (evidence in {self.evidence})",
                red=True,
            )

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.stop()

    # -- the search -----------------------------------------------------------------------------
    def search(self) -> HygieneReport:
        """Search every piece of evidence for every secret."""
        secrets: set[str] = set(self.extra_secrets)
        for sandbox in self.sandboxes:
            secrets |= sandbox_secrets(sandbox)
        wanted = frozenset(secrets)
        report = HygieneReport(sandboxes=len(self.sandboxes), secrets=len(wanted))

        def check(where: str, data: bytes) -> None:
            found = secret_hits(data, wanted)
            if found:
                report.hits.setdefault(where, set()).update(found)

        log = self.log_path.read_bytes() if self.log_path.exists() else b""
        report.log_bytes = len(log)
        check("the DEBUG log", log)
        for export in sorted(self.exports_dir.iterdir()):
            for name, data in export_texts(export.name, export.read_bytes()):
                report.exports += 1
                check(f"export {name}", data)
        report.pages = self._pages
        if self.pages_path.exists():
            check("rendered page text", self.pages_path.read_bytes())
        for urls in self.urls:
            report.urls += len(urls)
            after = urls_after_callbacks(urls)
            check("browser URLs after a callback", "\n".join(after).encode())
            bad = callback_params_off_landing(urls)
            if bad:
                report.hits.setdefault("browser URLs carrying callback secrets", set()).update(bad)
        for path in self.server_logs:
            if path.exists():
                report.server_logs += 1
                check(f"app server log {path.name}", path.read_bytes())
        return report
