"""The History page's figure builders over the store's frames (a Demo store filled from the
sandbox over HTTP): each figure draws exactly its ``*_data`` rows, interpolated values are
marked, the heatmap counts Posts in the chosen zone, empty frames say "No data"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from xmetrics_core import history_figures as hf
from xmetrics_core.catalogue import Context
from xmetrics_core.demo_history import prefill_demo_history
from xmetrics_core.figures import NO_DATA, POST_LABEL
from xmetrics_core.sandbox import SandboxSettings
from xmetrics_core.store import Store, open_store

NOW = datetime(2026, 6, 10, 14, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("history-figures") / "demo.db"
    with open_store(f"sqlite:///{path}") as opened:
        prefill_demo_history(opened, now=NOW, seed=7, settings=SandboxSettings(), days=9)
        yield opened


@pytest.fixture(scope="module")
def latest(store: Store) -> pd.DataFrame:
    return store.latest(with_metrics=False)


@pytest.fixture(scope="module")
def labels(latest: pd.DataFrame) -> dict[str, str]:
    return hf.history_post_labels(latest)


@pytest.fixture(scope="module")
def newest(latest: pd.DataFrame) -> list[str]:
    return [str(i) for i in latest.sort_values("created_at", ascending=False)["id"].iloc[:4]]


def _author(latest: pd.DataFrame) -> str:
    return str(latest["author_id"].mode().iloc[0])


def _no_data(fig: object) -> bool:
    return any(a.text == NO_DATA for a in fig.layout.annotations)  # type: ignore[attr-defined]


def test_post_labels_are_unique_and_name_the_day_in_the_time_zone(latest: pd.DataFrame):
    utc = hf.history_post_labels(latest)
    assert len(set(utc.values())) == len(utc) == len(latest)
    late = latest.loc[latest["created_at"].dt.hour >= 20].iloc[0]
    tokyo = hf.history_post_labels(latest, tz=ZoneInfo("Asia/Tokyo"))
    assert utc[late["id"]].split(" · ")[0] != tokyo[late["id"]].split(" · ")[0]


def test_growth_draws_one_line_per_post_and_context_from_its_data(
    store: Store, newest: list[str], labels: dict[str, str]
):
    growth = store.growth(newest, field="impression_count")
    data = hf.growth_data(growth, post_labels=labels)
    fig = hf.growth_figure(growth, post_labels=labels)
    assert len(data) == len(growth)
    assert list(data.columns) == [
        "post_id",
        POST_LABEL,
        "context",
        hf.CONTEXT_NAME,
        "label",
        "hours_since_posting",
        "fetched_at",
        "value",
    ]
    drawn = sum(len(trace.x) for trace in fig.data)
    assert drawn == len(data)
    pairs = {(t.legendgroup.split(", ")[0], t.legendgroup.split(", ")[1]) for t in fig.data}
    assert pairs == set(zip(data[POST_LABEL], data[hf.CONTEXT_NAME], strict=True))
    one = fig.data[0]
    rows = data.loc[
        data[POST_LABEL].eq(one.legendgroup.split(", ")[0])
        & data[hf.CONTEXT_NAME].eq(one.legendgroup.split(", ")[1])
    ]
    assert list(np.asarray(one.y, dtype=float)) == rows["value"].astype(float).tolist()
    assert fig.layout.xaxis.title.text == "Hours since posting"


def test_values_read_between_snapshots_are_hatched_and_named_interpolated(
    store: Store, newest: list[str], labels: dict[str, str]
):
    at_ages = store.values_at_ages(newest, field="impression_count")
    data = hf.ages_data(at_ages, post_labels=labels)
    assert set(data[hf.VALUE_KIND]) <= {hf.SNAPSHOT, hf.INTERPOLATED_KIND, hf.MISSING}
    assert (
        data[hf.VALUE_KIND].eq(hf.INTERPOLATED_KIND).tolist()
        == (at_ages["interpolated"].fillna(False).astype(bool) & at_ages["value"].notna()).tolist()
    )
    assert data[hf.VALUE_KIND].eq(hf.MISSING).tolist() == at_ages["value"].isna().tolist()
    fig = hf.ages_figure(at_ages, post_labels=labels, metric_label="Impressions")
    hatched = [t for t in fig.data if t.marker.pattern.shape == "/"]
    plain = [t for t in fig.data if t.marker.pattern.shape in ("", None)]
    assert sum(len(t.x) for t in hatched) == int(data[hf.VALUE_KIND].eq(hf.INTERPOLATED_KIND).sum())
    assert sum(len(t.x) for t in plain) == int(data[hf.VALUE_KIND].eq(hf.SNAPSHOT).sum())


def test_times_normal_is_the_value_over_the_accounts_baseline_with_a_line_at_one(
    store: Store, newest: list[str], latest: pd.DataFrame, labels: dict[str, str]
):
    frame = store.baseline(author_id=_author(latest), field="impression_count", post_ids=newest)
    data = hf.baseline_data(frame, post_labels=labels)
    known = data.dropna(subset=["times_normal"])
    assert not known.empty
    assert np.allclose(
        known["times_normal"], known["value"] / known["baseline"], rtol=1e-2, atol=1e-3
    )
    fig = hf.baseline_figure(frame, post_labels=labels, method="trimmed_mean")
    assert sum(len(t.x) for t in fig.data) == len(known)
    assert any(s.y0 == 1.0 == s.y1 for s in fig.layout.shapes)
    assert "trimmed mean" in fig.layout.title.subtitle.text


def test_the_heatmap_colours_the_median_rate_and_writes_the_count(
    store: Store, latest: pd.DataFrame
):
    frame = store.best_time(author_id=_author(latest), time_zone="America/New_York")
    data = hf.best_time_data(frame)
    assert len(data) == 7 * 24
    fig = hf.best_time_figure(frame, zone="America/New_York")
    (heat,) = fig.data
    counts = np.asarray(heat.customdata, dtype=float)
    assert counts.shape == (7, 24)
    assert counts.sum() == data["posts"].sum() > 0
    monday_9 = data.loc[data["weekday"].eq("Mon") & data["hour"].eq(9)].iloc[0]
    assert counts[0][9] == monday_9["posts"]
    text = np.asarray(heat.text)
    assert text[0][9] == (str(monday_9["posts"]) if monday_9["posts"] else "")
    z = np.asarray(heat.z, dtype=float)
    busiest = data.loc[data["posts"].idxmax()]
    row = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].index(busiest["weekday"])
    assert z[row][int(busiest["hour"])] == pytest.approx(busiest["median_engagement_rate_pct"])
    assert "America/New_York" in fig.layout.xaxis.title.text


def test_retention_over_time_draws_each_quartile_of_one_video(store: Store, latest: pd.DataFrame):
    frame = store.retention(list(latest["id"]))
    key = str(frame["media_key"].iloc[0])
    data = hf.retention_history_data(frame, media_key=key)
    assert set(data["quartile"]) == {25, 50, 75, 100}
    assert (data["media_key"] == key).all()
    assert data["retention_pct"].between(0, 100).all()
    fig = hf.retention_history_figure(frame, media_key=key)
    assert [t.name for t in fig.data] == ["25 %", "50 %", "75 %", "100 %"]
    assert sum(len(t.x) for t in fig.data) == len(data)


@pytest.mark.parametrize(
    "build",
    [
        lambda s: hf.growth_figure(s.growth([], field="like_count"), post_labels={}),
        lambda s: hf.ages_figure(
            s.values_at_ages(["1"], field="like_count"), post_labels={}, metric_label="Likes"
        ),
        lambda s: hf.baseline_figure(
            s.baseline(author_id="1", field="like_count"), post_labels={}, method="median"
        ),
        lambda s: hf.best_time_figure(s.best_time(author_id="1"), zone="UTC"),
        lambda s: hf.retention_history_figure(s.retention(["1"]), media_key="x"),
    ],
    ids=["growth", "ages", "baseline", "best_time", "retention"],
)
def test_an_empty_history_gives_a_no_data_figure(store: Store, build: object):
    assert _no_data(build(store))  # type: ignore[operator]


def test_contexts_are_told_apart_in_the_growth(store: Store, latest: pd.DataFrame):
    promoted = store.growth(
        list(latest["id"]), field="impression_count", contexts=(Context.PROMOTED,)
    )
    assert not promoted.empty, "the Demo has promoted Posts"
    data = hf.growth_data(promoted, post_labels={})
    assert set(data[hf.CONTEXT_NAME]) == {"Promoted"}
    assert data[POST_LABEL].str.startswith("Post ").all()
