"""Shared fixtures: the X API v2 sandbox over real HTTP on 127.0.0.1.

* ``sandbox`` (session): one sandbox for the whole test session (seed 7, real "now"; its world
  holds still, the in-process default, so ground truth never moves under a test). It is
  shared, so tests must not leave state behind: clear ``faults`` and ``request_log`` around a
  test that uses them, and never move its clock (use ``fresh_sandbox``). Its rate limits
  are 100x the default ones so that many tests sharing one app never hit a 429 by accident.
* ``fresh_sandbox`` (function): a new sandbox with the captured default settings, stopped after
  the test: use it for clock jumps, rate limits, credits or anything stateful.
* ``sandbox_factory`` (function): ``sandbox_factory(settings=..., seed=..., now=...)`` starts
  sandboxes with custom settings; all are stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Playwright

from xmetrics_core.sandbox import Sandbox, SandboxSettings, start_sandbox
from xmetrics_core.sandbox.settings import DEFAULT_RATE_LIMITS

SandboxFactory = Callable[..., Sandbox]

_SHARED_SETTINGS = SandboxSettings(
    rate_limits={
        endpoint: (None if app is None else app * 100, None if user is None else user * 100)
        for endpoint, (app, user) in DEFAULT_RATE_LIMITS.items()
    }
)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the whole session (shared: leave no faults, log or clock changes)."""
    with start_sandbox(settings=_SHARED_SETTINGS) as running:
        yield running


@pytest.fixture
def fresh_sandbox() -> Iterator[Sandbox]:
    """A new sandbox with the captured default settings, for one test."""
    with start_sandbox() as running:
        yield running


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes with custom settings; every one is stopped after the test."""
    started: list[Sandbox] = []

    def start(
        *, settings: SandboxSettings | None = None, seed: int = 7, now: datetime | None = None
    ) -> Sandbox:
        running = start_sandbox(settings=settings or SandboxSettings(), seed=seed, now=now)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """The run's one Playwright: its sync API allows a single instance on a thread at a time,
    so every browser test on the main thread (tests/e2e, tests/teams) launches from this one
    (tests/hostile drives its own on a thread of its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver
