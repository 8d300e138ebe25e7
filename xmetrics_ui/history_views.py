"""The History page's pieces: choosing Posts and a metric, and every history chart with its
CSV (and a zip of them all).

Everything shown comes from the connection's history store (``xmetrics_ui.store``): the
Posts this account has read (every dashboard Fetch, the CLI and the collector keep them), as
frames of ``xmetrics_core.store`` drawn by ``xmetrics_core.history_figures``. No API call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xmetrics_core import exports
from xmetrics_core import history_figures as hf
from xmetrics_core.catalogue import POST_METRICS, Context, label_of
from xmetrics_core.connection import Connection, zone_name
from xmetrics_core.frames import AUTHOR_ID, CREATED_AT, ID, MEDIA_KEY
from xmetrics_core.store import Account, Store, StoreError
from xmetrics_ui.analytics_view import analytics_metric_for, history_hourly_curves
from xmetrics_ui.session import current_client
from xmetrics_ui.store import DemoPrefill, demo_history, problem_text, reading_account
from xmetrics_ui.ui import alert, download_csv
from xmetrics_ui.views import accessible_chart, current_tz

POSTS_KEY: Final = "xm_history_posts"
FIELD_KEY: Final = "xm_history_field"
CONTEXTS_KEY: Final = "xm_history_contexts"
METHOD_KEY: Final = "xm_history_method"
VIDEO_KEY: Final = "xm_history_video"
DEFAULT_POSTS: Final = 5
DEFAULT_FIELD: Final = "impression_count"
#: How long the first open of the Demo's History page waits for its prefill.
DEMO_WAIT_SECONDS: Final = 3.0
#: The fields a chart can follow (every Post metric X has in some context).
FIELDS: Final = tuple(dict.fromkeys(m.field for m in POST_METRICS))
CONTEXT_LABELS: Final = {
    Context.TOTAL.value: "Total",
    Context.ORGANIC.value: "Organic",
    Context.PROMOTED.value: "Promoted",
}


@dataclass
class Charts:
    """What this run drew: chart name → its CSV frame (the zip's contents)."""

    data: dict[str, pd.DataFrame] = field(default_factory=dict)


# -- the Demo's prefill --------------------------------------------------------------------------


@st.fragment(run_every=1.0)
def _prefill_progress(prefill: DemoPrefill) -> None:
    if prefill.finished.is_set():
        st.rerun(scope="app")
    done, total = prefill.done, prefill.total
    st.progress(
        done / total if total else 0.0,
        text=f"Filling the Demo's history: {done:,} of {total:,} reads"
        if total
        else "Filling the Demo's history…",
    )


def demo_ready(store: Store) -> bool:
    """The Demo's store is filled (waits up to :data:`DEMO_WAIT_SECONDS` on a first open);
    otherwise shows the prefill's progress, and the page reloads itself when it is done."""
    prefill = demo_history(store)
    if prefill.wait(DEMO_WAIT_SECONDS):
        if prefill.error:
            alert(
                "warning",
                f"The Demo's past weeks could not be filled in ({prefill.error}); it shows "
                "what you fetched.",
            )
        return True
    st.info(
        "The Demo account's history is being filled in: its sandbox is read at past times, "
        "as a collector would have read it over the last weeks. This takes a few seconds."
    )
    _prefill_progress(prefill)
    return False


# -- charts and CSVs -------------------------------------------------------------------------------


def _chart(
    charts: Charts,
    figure: go.Figure,
    data: pd.DataFrame,
    *,
    name: str,
    label: str = "Download chart data (CSV)",
) -> None:
    """A chart with its text alternative and, under it, the exact CSV of what it draws."""
    key = f"xm_hist_{name}"
    accessible_chart(figure, data, key=key)
    download_csv(label, exports.safe_csv_bytes(data), file_name=f"{name}.csv", key=f"{key}_csv")
    charts.data[name] = data


def _query(read: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
    """A history frame, or None (and the store's problem on the page)."""
    try:
        return read()
    except StoreError as exc:
        alert("warning", problem_text(exc))
        return None


def _post_choice(posts: pd.DataFrame, labels: dict[str, str], author: str | None) -> list[str]:
    ordered = posts.sort_values(CREATED_AT, ascending=False, na_position="last")
    ids = [str(i) for i in ordered[ID]]
    own = [str(i) for i in ordered.loc[ordered[AUTHOR_ID].astype(str).eq(author or ""), ID]]
    kept = st.session_state.get(POSTS_KEY)
    if isinstance(kept, list):
        st.session_state[POSTS_KEY] = [i for i in kept if i in ids]
    else:
        st.session_state[POSTS_KEY] = (own or ids)[:DEFAULT_POSTS]
    chosen = st.multiselect(
        f"Posts ({len(ids):,} in the history)",
        options=ids,
        format_func=lambda i: f"{labels.get(i, i)} ({i})",
        key=POSTS_KEY,
        help="Every Post this account has read (dashboard, CLI, collector), newest first. "
        "Your own newest Posts are chosen to start with.",
    )
    return [str(i) for i in chosen]


def _metric_choice() -> tuple[str, list[Context]]:
    if st.session_state.get(FIELD_KEY) not in FIELDS:
        st.session_state[FIELD_KEY] = DEFAULT_FIELD
    left, right = st.columns(2)
    chosen_field = left.selectbox(
        "Metric", FIELDS, key=FIELD_KEY, format_func=lambda f: label_of(str(f))
    )
    if not isinstance(st.session_state.get(CONTEXTS_KEY), list):
        st.session_state[CONTEXTS_KEY] = [c.value for c in Context]
    contexts = right.multiselect(
        "Context",
        [c.value for c in Context],
        key=CONTEXTS_KEY,
        format_func=lambda c: CONTEXT_LABELS.get(str(c), str(c)),
        help="X's total, and the organic and promoted parts (your own Posts of their first "
        "30 days, with a user-context sign-in).",
    )
    return str(chosen_field), [Context(c) for c in contexts] or [Context.TOTAL]


def growth_section(
    charts: Charts,
    store: Store,
    chosen: list[str],
    *,
    field_name: str,
    contexts: list[Context],
    account: Account,
    labels: dict[str, str],
) -> None:
    st.header("Growth since posting")
    st.caption(
        "Each snapshot the history keeps, on hours since the Post went out, so Posts compare."
    )
    try:
        growth = store.growth(chosen, field=field_name, contexts=contexts, account=account)
    except ValueError:  # no such metric in these contexts
        st.info(f"X has no {label_of(field_name)} in the chosen contexts.")
        return
    except StoreError as exc:
        alert("warning", problem_text(exc))
        return
    _chart(
        charts,
        hf.growth_figure(growth, post_labels=labels),
        hf.growth_data(growth, post_labels=labels),
        name="growth",
    )


def enterprise_section(
    charts: Charts,
    connection: Connection,
    posts: pd.DataFrame,
    chosen: list[str],
    *,
    field_name: str,
) -> None:
    """X's own hour-by-hour curves of the account's chosen Posts (Enterprise apps only),
    labelled as such beside the curves built from snapshots; or why there are none."""
    client = current_client()
    author = connection.account.id if connection.account is not None else None
    if client is None or author is None:
        return
    own = set(posts.loc[posts[AUTHOR_ID].astype(str).eq(author), ID].astype(str))
    own_chosen = [i for i in chosen if i in own]
    if not own_chosen:
        return
    st.header("Hour by hour, from X's analytics (Enterprise)")
    curves = history_hourly_curves(connection, client, own_chosen, field_name=field_name)
    if curves is None:
        return
    st.caption(
        "X's own hourly counts (GET /2/tweets/analytics), served to Enterprise apps only, "
        f"for {analytics_metric_for(field_name).replace('_', ' ')}: every hour, not only the "
        "hours a snapshot was taken."
    )
    figure, data = curves
    _chart(charts, figure, data, name="x_analytics_hourly")


def ages_section(
    charts: Charts,
    store: Store,
    chosen: list[str],
    *,
    field_name: str,
    account: Account,
    labels: dict[str, str],
) -> None:
    st.header("Value at 1 h, 6 h, 24 h, 48 h and 7 d")
    st.caption(
        "X's total at each age. Between two snapshots the value is interpolated (hatched, "
        "'interpolated' in the CSV); it is left out when the snapshots are too far apart "
        "or the Post is not that old yet."
    )
    try:
        at_ages = store.values_at_ages(chosen, field=field_name, account=account)
    except (ValueError, StoreError) as exc:
        alert("warning", problem_text(exc) if isinstance(exc, StoreError) else str(exc))
        return
    _chart(
        charts,
        hf.ages_figure(at_ages, post_labels=labels, metric_label=label_of(field_name)),
        hf.ages_data(at_ages, post_labels=labels),
        name="value_at_ages",
    )


def baseline_section(
    charts: Charts,
    store: Store,
    chosen: list[str],
    *,
    field_name: str,
    author: str | None,
    account: Account,
    labels: dict[str, str],
) -> None:
    st.header("Against your normal")
    if author is None:
        st.info("The account's normal needs a user-context sign-in (a Bearer token has no user).")
        return
    method = st.radio(
        "Normal is",
        ["median", "trimmed_mean"],
        key=METHOD_KEY,
        horizontal=True,
        format_func=lambda m: "the median" if m == "median" else "the trimmed mean (25 %)",
        help="Of your other Posts at the same age (each Post is left out of its own normal). "
        "The trimmed mean drops the top and bottom quarter first, as CrowdTangle does.",
    )
    st.caption(
        "Each chosen Post's total at each age ÷ your other Posts' normal at that age: "
        "2 means twice your usual, 0.5 half. Shown when at least 3 other Posts reached that age."
    )
    try:
        frame = store.baseline(
            author_id=author,
            field=field_name,
            post_ids=chosen,
            method="median" if method == "median" else "trimmed_mean",
            account=account,
        )
    except (ValueError, StoreError) as exc:
        alert("warning", problem_text(exc) if isinstance(exc, StoreError) else str(exc))
        return
    _chart(
        charts,
        hf.baseline_figure(frame, post_labels=labels, method=str(method)),
        hf.baseline_data(frame, post_labels=labels),
        name="times_normal",
    )


def best_time_section(
    charts: Charts, store: Store, *, author: str | None, account: Account
) -> None:
    st.header("Best time to post")
    if author is None:
        st.info("The best time to post needs a user-context sign-in (a Bearer token has no user).")
        return
    tz = current_tz()
    zone = str(getattr(tz, "key", "UTC"))
    st.caption(
        f"All your Posts in the history that are at least a day old, by weekday and hour they "
        f"went out in {zone_name(tz)} (the time zone in the sidebar). Colour: the median "
        "engagement rate of their newest snapshot; number: how many Posts."
    )
    frame = _query(lambda: store.best_time(author_id=author, time_zone=zone, account=account))
    if frame is None:
        return
    _chart(
        charts,
        hf.best_time_figure(frame, zone=zone_name(tz)),
        hf.best_time_data(frame),
        name="best_time",
    )


def retention_section(
    charts: Charts, store: Store, chosen: list[str], *, account: Account, labels: dict[str, str]
) -> None:
    st.header("Video retention over time")
    frame = _query(lambda: store.retention(chosen, account=account))
    if frame is None:
        return
    keys = list(dict.fromkeys(str(k) for k in frame[MEDIA_KEY]))
    if not keys:
        st.info(
            "None of the chosen Posts has a video with playback quartiles in the history "
            "(X serves them for your own Posts of their first 30 days)."
        )
        return
    if st.session_state.get(VIDEO_KEY) not in keys:
        st.session_state[VIDEO_KEY] = keys[0]
    carriers = dict(zip(frame[MEDIA_KEY].astype(str), frame["post_ids"].astype(str), strict=False))

    def video_label(key: str) -> str:
        first = carriers.get(key, "").split(" ")[0]
        return f"Video in {labels.get(first, first)} ({key})"

    media_key = str(st.selectbox("Video", keys, key=VIDEO_KEY, format_func=video_label))
    st.caption(
        "How many of the viewers who started the video reached each quartile, at every "
        "snapshot: a line that sinks means later viewers drop off sooner."
    )
    _chart(
        charts,
        hf.retention_history_figure(frame, media_key=media_key),
        hf.retention_history_data(frame, media_key=media_key),
        name="retention_over_time",
    )


CHARTS_KEY: Final = "xm_history_charts"
"""Session state: chart name → the frame of every chart the page drew last (the zip's)."""


def history_zip(data: dict[str, pd.DataFrame]) -> bytes:
    """The zip: ``<chart>.csv`` for every chart drawn, the same bytes as each chart's CSV."""
    return exports.zip_bytes(data)


def zip_section(charts: Charts) -> None:
    """Every chart's data on the page, one CSV each, in one zip (built when pressed)."""
    data = dict(charts.data)
    st.session_state[CHARTS_KEY] = data
    st.download_button(
        "Download every chart's data (zip)",
        data=lambda: history_zip(data),
        file_name="xmetrics-history.zip",
        mime="application/zip",
        key="xm_hist_zip",
        on_click="ignore",
    )


def history_body(connection: Connection, store: Store) -> None:
    """Choose Posts and a metric; then every chart of the page."""
    account = reading_account(connection)
    author = connection.account.id if connection.account is not None else None
    posts = _query(lambda: store.latest(account=account, with_metrics=False))
    if posts is None:
        return
    if posts.empty:
        st.info(
            "Nothing in the history yet: every Fetch on the Posts page is kept here, and so "
            "are the reads of `python -m xmetrics_core collect`."
        )
        st.page_link("pages/posts.py", label="Go to Posts")
        return
    labels = hf.history_post_labels(posts, tz=current_tz())
    chosen = _post_choice(posts, labels, author)
    field_name, contexts = _metric_choice()
    charts = Charts()
    if chosen:
        growth_section(
            charts,
            store,
            chosen,
            field_name=field_name,
            contexts=contexts,
            account=account,
            labels=labels,
        )
        enterprise_section(charts, connection, posts, chosen, field_name=field_name)
        ages_section(charts, store, chosen, field_name=field_name, account=account, labels=labels)
        baseline_section(
            charts,
            store,
            chosen,
            field_name=field_name,
            author=author,
            account=account,
            labels=labels,
        )
    else:
        st.info("Choose at least one Post to see its growth.")
    best_time_section(charts, store, author=author, account=account)
    if chosen:
        retention_section(charts, store, chosen, account=account, labels=labels)
    zip_section(charts)


__all__ = ["CHARTS_KEY", "DEMO_WAIT_SECONDS", "demo_ready", "history_body", "history_zip"]
