"""The Demo's history prefill: the Demo's Posts read over HTTP from a twin sandbox at past
world times, saved with their times, on SQLite and PostgreSQL; idempotent and bounded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.store.conftest import BACKENDS, Backend
from xmetrics_core.demo_history import (
    DEMO_SCHEDULE,
    floor_hour,
    prefill_demo_history,
    read_times,
)
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.sandbox.world import build_world
from xmetrics_core.store import Store, open_store

NOW = datetime(2026, 6, 10, 14, 20, 31, tzinfo=UTC)
SETTINGS = SandboxSettings()
DAYS = 4


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = Backend(str(request.param), tmp_path)
    with open_store(backend.new_url()) as opened:
        yield opened
    backend.cleanup()


def _world() -> Any:
    return build_world(seed=7, now=NOW, settings=SETTINGS)


def test_read_times_are_hourly_while_young_then_sparser_and_the_last_hour_reads_all():
    born = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
    old = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    end = datetime(2026, 6, 9, 12, 45, tzinfo=UTC)
    plan = read_times({"young": born, "old": old}, start=born - timedelta(hours=5), end=end)
    young = sorted(at for at, ids in plan.items() if "young" in ids)
    ages = [(at - born).total_seconds() / 3600 for at in young]
    assert young[0] == datetime(2026, 6, 1, 11, tzinfo=UTC)  # the first whole hour after posting
    rise = [a for a in ages if a < 12]
    assert len(rise) == 12 and all(b - a == 1 for a, b in zip(rise, rise[1:], strict=False))
    days_one_to_three = [at for at, a in zip(young, ages, strict=True) if 12 <= a < 72]
    assert days_one_to_three and all(at.hour % 3 == 0 for at in days_one_to_three)
    week = [at for at, a in zip(young, ages, strict=True) if 72 <= a < 7 * 24]
    assert week and all(at.hour % 12 == 0 for at in week)
    later = [at for at, a in zip(young, ages, strict=True) if a >= 7 * 24][:-1]
    assert later and all(at.hour == 0 for at in later)
    assert young[-1] == floor_hour(end)
    # an old Post is read once a day at 00:00 UTC, and at the end
    old_reads = sorted(at for at, ids in plan.items() if "old" in ids)
    assert all(at.hour == 0 for at in old_reads[:-1]) and old_reads[-1] == floor_hour(end)
    assert DEMO_SCHEDULE[0].every == timedelta(hours=1)


def test_a_post_is_never_read_before_it_exists():
    born = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    plan = read_times({"p": born}, start=born - timedelta(days=1), end=born + timedelta(hours=3))
    assert min(at for at, ids in plan.items() if "p" in ids) == born + timedelta(hours=1)


def test_the_prefill_keeps_the_demos_posts_at_past_times_with_the_worlds_numbers(store: Store):
    outcome = prefill_demo_history(store, now=NOW, seed=7, settings=SETTINGS, days=DAYS)
    assert outcome.end == floor_hour(NOW) and outcome.start == outcome.end - timedelta(days=DAYS)
    assert outcome.fetches == outcome.planned == outcome.stored > DAYS * 12
    world = _world()
    demo = world.demo_user_id
    rows = store.history_rows()
    assert not rows.empty
    assert set(rows["id"]) <= {p.id for p in world.demo_posts}
    assert rows["fetched_at"].min() >= outcome.start
    assert rows["fetched_at"].max() == outcome.end
    # each snapshot holds what the sandbox served at its read time
    for _, row in rows.sample(n=25, random_state=1).iterrows():
        at = row["fetched_at"].to_pydatetime()
        truth = world.metrics_at(row["id"], at)
        assert row["public_metrics.like_count"] == truth["public_metrics"]["like_count"]
        assert (
            row["non_public_metrics.impression_count"]
            == truth["non_public_metrics"]["impression_count"]
        )
    # the history's frames are alive: curves, ages, a normal and a heatmap
    growth = store.growth(list(rows["id"].unique()), field="impression_count")
    assert growth["hours_since_posting"].min() < 1.0
    assert store.best_time(author_id=demo)["posts"].sum() > 5


def test_a_second_prefill_reads_and_stores_nothing(store: Store):
    first = prefill_demo_history(store, now=NOW, seed=7, settings=SETTINGS, days=DAYS)
    before = store.summary()
    again = prefill_demo_history(store, now=NOW, seed=7, settings=SETTINGS, days=DAYS)
    assert (again.fetches, again.stored, again.skipped) == (0, 0, first.planned)
    assert store.summary().snapshots == before.snapshots
    assert store.summary().fetches == before.fetches


def test_a_later_prefill_reads_only_the_hours_since(store: Store):
    prefill_demo_history(store, now=NOW, seed=7, settings=SETTINGS, days=DAYS)
    later = prefill_demo_history(
        store, now=NOW + timedelta(hours=3), seed=7, settings=SETTINGS, days=DAYS
    )
    assert 1 <= later.fetches <= 3 + 1
    assert store.summary().last_fetched_at == floor_hour(NOW + timedelta(hours=3))


def test_the_prefill_is_bounded_and_reports_progress(store: Store):
    seen: list[tuple[int, int]] = []
    outcome = prefill_demo_history(
        store,
        now=NOW,
        seed=7,
        settings=SETTINGS,
        days=DAYS,
        max_fetches=10,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert outcome.fetches == 10
    assert seen == [(n, 10) for n in range(1, 11)]


def test_the_prefill_never_moves_the_demo_sandboxs_own_clock(fresh_sandbox: Any, tmp_path: Path):
    fresh_sandbox.request_log.clear()
    before = fresh_sandbox.clock.now()
    with open_store(f"sqlite:///{tmp_path / 'demo.db'}") as store:
        outcome = prefill_demo_history(
            store, now=before, seed=fresh_sandbox.seed, settings=fresh_sandbox.settings, days=1
        )
        ids = set(store.history_rows()["id"])
    assert outcome.stored > 0
    assert fresh_sandbox.clock.now() == before
    assert not fresh_sandbox.request_log.entries()
    # the twin served the Demo sandbox's own world: the same Post IDs
    assert ids <= {p.id for p in fresh_sandbox.world.demo_posts}
