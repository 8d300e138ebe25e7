"""The History page, the saving of every fetch and the Posts page's cost meter and budget,
driven through AppTest against the Demo's embedded sandbox and the Demo's history store."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import (
    api_calls,
    connect_bearer,
    connect_oauth1_keys,
    download_bytes,
    element_texts,
    plotly_specs,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core import history_figures as hf
from xmetrics_core.access import NOT_ENROLLED_EXPLANATION
from xmetrics_core.state import MemoryStateStore
from xmetrics_core.store import DEMO_DATABASE_URL_ENV, Account, Store, open_store
from xmetrics_ui.costs import BUDGET_KEY
from xmetrics_ui.history_views import CHARTS_KEY, POSTS_KEY, history_zip
from xmetrics_ui.session import server_state
from xmetrics_ui.store import dashboard_store, demo_history, forget_store_failures

PREFILL_TIMEOUT = 120


@pytest.fixture
def demo_store(sandbox: Any) -> Store:
    """The Demo's store, its prefill finished (it runs once per server, in the background)."""
    store = dashboard_store(demo=True)
    assert store is not None
    prefill = demo_history(store)
    assert prefill.wait(PREFILL_TIMEOUT), "the Demo's history prefill did not finish"
    assert prefill.error is None, prefill.error
    return store


def _demo_account(sandbox: Any) -> Account:
    user = sandbox.world.user(sandbox.world.demo_user_id)
    return Account(user_id=user.id, username=user.username)


def _others_posts(sandbox: Any, count: int, *, skip: int) -> list[str]:
    """Posts of other visible accounts: the Demo's prefill never reads them, so each test
    takes its own slice and finds them unread today."""
    world = sandbox.world
    others = [
        p.id
        for p in world.posts
        if p.author_id != world.demo_user_id
        and not world.user(p.author_id).protected
        and not world.user(p.author_id).suspended
    ]
    assert len(others) >= skip + count
    return others[skip : skip + count]


def _open_history(sandbox: Any) -> AppTest:
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/history.py").run()
    assert not at.exception
    return at


def _csv(at: AppTest, key: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(download_bytes(at, key)), dtype={"post_id": str})


def test_the_demos_history_page_is_alive_on_first_open(sandbox: Any, demo_store: Store):
    at = _open_history(sandbox)
    specs = plotly_specs(at)
    for name in ("growth", "value_at_ages", "times_normal", "best_time"):
        assert f"xm_hist_{name}" in specs, f"no {name} chart: {sorted(specs)}"
        assert specs[f"xm_hist_{name}"]["data"], f"the {name} chart draws nothing"
    chosen = at.session_state[POSTS_KEY]
    assert 1 <= len(chosen) <= 5
    demo_id = sandbox.world.demo_user_id
    assert all(sandbox.world.post(pid).author_id == demo_id for pid in chosen)


def test_the_growth_csv_is_the_stores_growth_of_the_chosen_posts(sandbox: Any, demo_store: Store):
    at = _open_history(sandbox)
    chosen = list(at.session_state[POSTS_KEY])
    shown = _csv(at, "xm_hist_growth_csv")
    expected = demo_store.growth(chosen, field="impression_count", account=_demo_account(sandbox))
    assert len(shown) == len(expected) > 20
    assert shown["post_id"].tolist() == expected["post_id"].tolist()
    assert shown["value"].tolist() == expected["value"].astype("int64").tolist()
    # the curves are the sandbox's ground truth at each read time
    first = shown.iloc[0]
    when = pd.Timestamp(first["fetched_at"]).to_pydatetime()
    truth = sandbox.world.metrics_at(first["post_id"], when)
    assert int(first["value"]) == truth["non_public_metrics"]["impression_count"]


def test_values_at_ages_are_marked_interpolated_in_their_csv(sandbox: Any, demo_store: Store):
    at = _open_history(sandbox)
    ages = _csv(at, "xm_hist_value_at_ages_csv")
    assert set(ages["age"]) == {"1 h", "6 h", "24 h", "48 h", "7 d"}
    assert set(ages[hf.VALUE_KIND]) <= {hf.SNAPSHOT, hf.INTERPOLATED_KIND, hf.MISSING}
    # Posts go out at odd minutes and are read on the hour: 1 h is read between two snapshots
    assert (ages.loc[ages["age"].eq("1 h"), hf.VALUE_KIND] == hf.INTERPOLATED_KIND).any()


def test_the_heatmap_counts_the_accounts_posts_in_the_chosen_time_zone(
    sandbox: Any, demo_store: Store
):
    at = _open_history(sandbox)
    utc = _csv(at, "xm_hist_best_time_csv")
    assert len(utc) == 7 * 24
    assert utc["posts"].sum() > 10
    at.selectbox(key="xm_timezone").set_value("Asia/Kolkata").run()
    kolkata = _csv(at, "xm_hist_best_time_csv")
    assert kolkata["posts"].sum() == utc["posts"].sum()
    assert kolkata["posts"].tolist() != utc["posts"].tolist()  # +5:30 moves Posts to other hours


def test_changing_the_metric_redraws_the_growth(sandbox: Any, demo_store: Store):
    at = _open_history(sandbox)
    at.selectbox(key="xm_history_field").set_value("like_count").run()
    assert not at.exception
    shown = _csv(at, "xm_hist_growth_csv")
    assert not shown.empty
    assert all("like" in label.lower() for label in set(shown["label"]))


def test_a_dashboard_fetch_is_kept_in_the_demo_store(sandbox: Any, demo_store: Store):
    ids = _others_posts(sandbox, 3, skip=0)
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    before = demo_store.summary().fetches
    at.text_area(key="xm_posts_text").set_value(" ".join(ids))
    at.button(key="xm_fetch").click().run()
    assert not at.exception
    assert demo_store.summary().fetches == before + 1
    rows = demo_store.history_rows(ids, account=_demo_account(sandbox))
    assert set(rows["id"]) == set(ids)
    # fetching the cached result again keeps nothing new
    at.button(key="xm_fetch").click().run()
    assert demo_store.summary().fetches == before + 1


def test_the_cost_meter_counts_billable_reads_before_fetch(sandbox: Any, demo_store: Store):
    ids = _others_posts(sandbox, 4, skip=3)
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(" ".join(ids)).run()
    captions = element_texts(at, "caption")
    assert any("Fetch will make 4 billable Post reads: ≈ $0.020 (estimate)" in c for c in captions)
    at.button(key="xm_fetch").click().run()
    at.text_area(key="xm_posts_text").set_value(
        " ".join(ids) + " " + _others_posts(sandbox, 1, skip=7)[0]
    ).run()
    captions = element_texts(at, "caption")
    assert any(
        "Fetch will make 1 billable Post read (4 already read today, free): ≈ $0.005" in c
        for c in captions
    ), captions
    spend = demo_store.spend(now=sandbox.clock.now(), account=_demo_account(sandbox))
    assert any(f"Today (UTC): {spend.today.reads:,} reads" in c for c in captions)


def test_the_budget_stops_a_fetch_that_would_overspend(sandbox: Any, demo_store: Store):
    ids = _others_posts(sandbox, 5, skip=10)
    spend = demo_store.spend(now=sandbox.clock.now(), account=_demo_account(sandbox))
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.number_input(key=BUDGET_KEY).set_value(round(spend.month.estimated_usd + 0.01, 2))
    at.text_area(key="xm_posts_text").set_value(" ".join(ids)).run()
    sandbox.request_log.clear()
    at.button(key="xm_fetch").click().run()
    assert not at.exception
    errors = element_texts(at, "error")
    assert any("Fetch stopped" in e and "budget" in e for e in errors), errors
    assert not [c for c in api_calls(sandbox) if c.path == "/2/tweets"]
    assert not at.dataframe  # nothing fetched, nothing shown
    at.number_input(key=BUDGET_KEY).set_value(0.0)
    at.button(key="xm_fetch").click().run()
    assert not element_texts(at, "error")
    assert [c for c in api_calls(sandbox) if c.path == "/2/tweets"]


def _corrupt(tmp_path: Path) -> str:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not an SQLite database, just text " * 200)
    return f"sqlite:///{broken}"


def _too_new(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    with open_store(url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_future'")
    return url


def _unreachable(tmp_path: Path) -> str:
    return "postgresql://xmetrics:hunter2-secret@127.0.0.1:1/history"


@pytest.mark.parametrize(
    ("make_url", "named"),
    [(_corrupt, "damaged or not a database"), (_too_new, "newer"), (_unreachable, "***")],
    ids=["corrupt", "too_new", "unreachable"],
)
def test_a_store_that_cannot_be_opened_is_a_message_and_the_dashboard_works_without_it(
    sandbox: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_url: Any,
    named: str,
):
    monkeypatch.setenv(DEMO_DATABASE_URL_ENV, make_url(tmp_path))
    forget_store_failures()
    try:
        at = _open_history(sandbox)
        warnings = element_texts(at, "warning")
        assert any("History is unavailable" in w and named in w for w in warnings), warnings
        assert not any("hunter2-secret" in w for w in warnings)
        assert not plotly_specs(at)
        at.switch_page("pages/posts.py").run()
        at.text_area(key="xm_posts_text").set_value(_others_posts(sandbox, 1, skip=20)[0])
        at.button(key="xm_fetch").click().run()
        assert not at.exception
        assert at.dataframe, "the fetch is shown without a store"
        assert any("History is unavailable" in w for w in element_texts(at, "warning"))
    finally:
        forget_store_failures()


def test_a_fetch_the_locked_store_cannot_keep_is_shown_with_a_warning(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "locked.db"
    monkeypatch.setenv(DEMO_DATABASE_URL_ENV, f"sqlite:///{path}")
    forget_store_failures()
    store = dashboard_store(demo=True)
    assert store is not None
    assert demo_history(store).wait(PREFILL_TIMEOUT)  # its own prefill, then nobody writes
    before = store.summary().fetches
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(" ".join(_others_posts(sandbox, 2, skip=25)))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing past the busy timeout
    try:
        at.button(key="xm_fetch").click().run()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not at.exception
    assert at.dataframe, "the fetch is shown"
    warnings = element_texts(at, "warning")
    assert any("This fetch was not kept in the history" in w for w in warnings), warnings
    assert store.summary().fetches == before


def test_loading_my_recent_posts_is_kept_and_counted_as_reads(sandbox: Any, demo_store: Store):
    account = _demo_account(sandbox)
    now = sandbox.clock.now()
    before = demo_store.spend(now=now, account=account)
    fetches = demo_store.summary().fetches
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.button(key="xm_load_recent").click().run()
    assert not at.exception
    recent = [p.id for p in sandbox.world.demo_posts if p.within_private_window(now)]
    assert demo_store.summary().fetches == fetches + 1
    after = demo_store.spend(now=now, account=account)
    assert after.today.reads == before.today.reads + len(recent)
    rows = demo_store.history_rows(recent, since=now, account=account)
    assert set(rows["id"]) == set(recent)
    read_at = now.replace(microsecond=0)  # the store keeps whole seconds
    assert (rows["fetched_at"] == read_at).all(), "kept at the Demo world's time of the read"
    # Other tests may have read these Posts at the same (frozen) Demo time with other groups:
    # this read's own row for each Post is there and ok.
    ok_at_read = rows.loc[rows["fetched_at"] == read_at].groupby("id")["status"]
    assert ok_at_read.apply(lambda statuses: (statuses == "ok").any()).all()


def test_the_zip_holds_every_charts_csv_byte_for_byte(sandbox: Any, demo_store: Store):
    at = _open_history(sandbox)
    assert at.download_button(key="xm_hist_zip").label == "Download every chart's data (zip)"
    drawn = at.session_state[CHARTS_KEY]
    assert {"growth", "value_at_ages", "times_normal", "best_time"} <= set(drawn)
    with zipfile.ZipFile(io.BytesIO(history_zip(drawn))) as archive:
        assert archive.namelist() == [f"{name}.csv" for name in drawn]
        for name in drawn:
            assert archive.read(f"{name}.csv") == download_bytes(at, f"xm_hist_{name}_csv")


def test_a_chosen_video_shows_its_retention_over_time(sandbox: Any, demo_store: Store):
    world = sandbox.world
    now = sandbox.clock.now()
    with_video = next(
        p
        for p in reversed(world.demo_posts)
        if p.within_private_window(now)
        and any((m := world.media_item(k)) is not None and m.type == "video" for k in p.media_keys)
    )
    at = _open_history(sandbox)
    at.multiselect(key=POSTS_KEY).set_value([with_video.id]).run()
    assert not at.exception
    assert "xm_hist_retention_over_time" in plotly_specs(at)
    rows = _csv(at, "xm_hist_retention_over_time_csv")
    assert set(rows["quartile"]) == {25, 50, 75, 100}
    assert rows["media_key"].nunique() == 1
    assert rows["media_key"].iloc[0] in with_video.media_keys
    assert rows["fetched_at"].nunique() > 3, "one point per snapshot of the video"
    assert rows["retention_pct"].between(0, 100).all()


def test_an_app_only_token_sees_its_own_reads_without_a_normal_or_heatmap(
    sandbox: Any, demo_store: Store
):
    ids = _others_posts(sandbox, 2, skip=30)
    at = connect_bearer(sandbox)
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(" ".join(ids))
    at.button(key="xm_fetch").click().run()
    at.switch_page("pages/history.py").run()
    assert not at.exception
    options = at.multiselect(key=POSTS_KEY).options
    shown = sorted(option.rsplit("(", 1)[-1].rstrip(")") for option in options)
    # Only what app-only tokens read (this test's Posts, and any other test's Bearer reads),
    # never the Demo account's own snapshots.
    app_only_read = set(demo_store.history_rows(None, account=Account.app_only())["id"])
    assert set(ids) <= set(shown) == app_only_read, "an app-only token's history"
    assert "xm_hist_growth" in plotly_specs(at)
    infos = element_texts(at, "info")
    assert any("normal needs a user-context sign-in" in i for i in infos)
    assert any("best time to post needs a user-context sign-in" in i for i in infos)


def test_an_enterprise_app_sees_xs_own_hourly_curves_beside_the_snapshots(
    sandbox: Any, demo_store: Store
):
    at = _open_history(sandbox)  # the Demo's sandbox runs the Enterprise tier
    specs = plotly_specs(at)
    assert "xm_hist_x_analytics_hourly" in specs
    hourly = _csv(at, "xm_hist_x_analytics_hourly_csv")
    chosen = [str(i) for i in at.multiselect(key=POSTS_KEY).value]
    assert set(hourly["post_id"]) <= set(chosen) and not hourly.empty
    assert "x_analytics_hourly" in at.session_state[CHARTS_KEY]  # in the zip too
    assert any("Enterprise" in str(h.value) for h in at.header)


def test_a_pay_per_use_app_is_told_the_curves_come_from_snapshots(sandbox: Any, demo_store: Store):
    before = sandbox.tier
    state = server_state().store
    assert isinstance(state, MemoryStateStore)
    sandbox.set_tier("pay-per-use")
    try:
        state.clear()  # forget what X said about this credential's access
        at = _open_history(sandbox)
        assert "xm_hist_x_analytics_hourly" not in plotly_specs(at)
        assert NOT_ENROLLED_EXPLANATION in element_texts(at, "info")
        assert "xm_hist_growth" in plotly_specs(at)  # the snapshots' curves are there all the same
    finally:
        sandbox.set_tier(before)
        state.clear()
