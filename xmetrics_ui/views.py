"""The Posts and Video pages' pieces: fetch with progress, cached results, tables, charts.

A fetch happens only when the user presses Fetch or Refresh. Its result goes into the
server's result cache under (credential fingerprint, API base, IDs, invalid tokens,
groups); the session remembers only that key. Every rerun and page switch reads the
cache and makes no API call. Frames and figures are memoised per session for the
result on show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xmetrics_core import exports, figures
from xmetrics_core import frames as fr
from xmetrics_core.catalogue import Context, Group, column_label
from xmetrics_core.client import XClient, XUser
from xmetrics_core.connection import Connection, group_options, may_load_in_browser
from xmetrics_core.errors import InputError, InputTooLarge, Unauthorized, XApiError
from xmetrics_core.models import FetchResult, PostRecord, PostStatus
from xmetrics_core.references import parse_references
from xmetrics_ui.session import (
    cache_key,
    drop_refused_connection,
    flash,
    result_cache,
    sync_refreshed_credential,
)
from xmetrics_ui.ui import download_csv, explain, offer_download

POSTS_TEXT_KEY = "xm_posts_text"
RECENT_PICK_KEY = "xm_recent_pick"
QUERY_KEY = "xm_posts_query"
MEMO_KEY = "xm_posts_memo"
RECENT_DAYS = 30
SPLIT_PER_POST_KEY = "xm_split_per_post"


def group_key(group: Group) -> str:
    """The session key of one metric group's checkbox."""
    return f"xm_group_{group.key}"


VIDEO_PICK_KEY = "xm_video_pick"
PERSISTENT_WIDGET_KEYS: tuple[str, ...] = (
    POSTS_TEXT_KEY,
    RECENT_PICK_KEY,
    SPLIT_PER_POST_KEY,
    VIDEO_PICK_KEY,
    *(group_key(group) for group in Group),
)
"""Page widgets whose values survive switching pages (Streamlit forgets a widget's value
when a run does not draw it; app.py hands these back before every page)."""


# -- inputs ---------------------------------------------------------------------------------------


def _me(connection: Connection) -> XUser | None:
    account = connection.account
    if account is None:
        return None
    return XUser(id=account.id, username=account.username, name=account.name)


def _recent_label(post: PostRecord) -> str:
    when = f"{post.created_at:%Y-%m-%d %H:%M}" if post.created_at else "undated"
    text = " ".join(post.text.split())
    short = text if len(text) <= 70 else f"{text[:69]}…"
    return f"{when} · {short} ({post.id})"


def recent_posts_picker(connection: Connection, client: XClient) -> None:
    """ "My recent Posts (last 30 days)": loaded on request, then picked from a list."""
    if connection.account is None:
        st.caption("My recent Posts needs a user-context sign-in (a Bearer token has no user).")
        return
    key = cache_key(connection, "recent", connection.account.id, RECENT_DAYS)
    cache = result_cache()
    recent: tuple[PostRecord, ...] | None = cache.get(key)
    if recent is None and st.button(
        f"Load my recent Posts (last {RECENT_DAYS} days)", key="xm_load_recent"
    ):
        try:
            recent = client.recent_posts(connection.account.id, days=RECENT_DAYS)
        except Unauthorized as exc:
            refused(exc)
        except (XApiError, InputError) as exc:
            st.error(explain(exc))
            return
        finally:
            sync_refreshed_credential()
        cache.put(key, recent)
    if recent is None:
        return
    if not recent:
        st.caption(f"No Posts in the last {RECENT_DAYS} days.")
        return
    labels = {post.id: _recent_label(post) for post in recent}
    kept = st.session_state.get(RECENT_PICK_KEY)
    if isinstance(kept, list):
        st.session_state[RECENT_PICK_KEY] = [i for i in kept if i in labels]
    st.multiselect(
        f"My recent Posts ({len(recent)} in the last {RECENT_DAYS} days)",
        options=list(labels),
        format_func=labels.__getitem__,
        key=RECENT_PICK_KEY,
        placeholder="Pick Posts to add to the pasted ones",
    )


GROUPS_OWNER_KEY = "xm_groups_for"


def group_checkboxes(connection: Connection) -> tuple[Group, ...]:
    """One checkbox per metric group; the ones this credential cannot unlock are disabled.

    Every unlocked group starts ticked for a new connection; the choice then survives page
    switches (see :data:`PERSISTENT_WIDGET_KEYS`).
    """
    st.write("Metric groups")
    options = group_options(connection.credential)
    if st.session_state.get(GROUPS_OWNER_KEY) != connection.fingerprint:
        st.session_state[GROUPS_OWNER_KEY] = connection.fingerprint
        for option in options:
            st.session_state[group_key(option.group)] = option.enabled
    chosen: list[Group] = []
    columns = st.columns(len(Group))
    for column, option in zip(columns, options, strict=True):
        if not option.enabled:
            st.session_state[group_key(option.group)] = False
        checked = column.checkbox(
            option.group.label,
            disabled=not option.enabled,
            key=group_key(option.group),
            help=option.reason or f"X's {option.group.value}",
        )
        if checked and option.enabled:
            chosen.append(option.group)
    locked = [o for o in options if not o.enabled]
    if locked:
        names = ", ".join(o.group.label for o in locked)
        st.caption(f"{names} disabled: each {locked[0].reason}.")
    return tuple(chosen)


# -- fetching -------------------------------------------------------------------------------------


def refused(exc: Unauthorized) -> NoReturn:
    """X refused the credential (revoked or expired): disconnect, say so, start over."""
    drop_refused_connection()
    flash("error", explain(exc))
    st.rerun()


def run_fetch(
    connection: Connection, client: XClient, *, groups: tuple[Group, ...], refresh: bool
) -> None:
    """Fetch the pasted and picked Posts, unless the cache already has them (Refresh: again)."""
    text = str(st.session_state.get(POSTS_TEXT_KEY, ""))
    picked = [str(i) for i in st.session_state.get(RECENT_PICK_KEY, [])]
    try:
        parsed = parse_references("\n".join([text, *picked]))
    except InputTooLarge as exc:
        st.error(f"{exc}. Paste fewer Posts at once.")
        return
    if not parsed.refs and not parsed.invalid:
        st.warning("Paste at least one Post ID or URL, or pick from your recent Posts.")
        return
    if not groups:
        st.warning("Choose at least one metric group.")
        return
    key = cache_key(
        connection,
        "posts",
        tuple(ref.id for ref in parsed.refs),
        tuple(token.text for token in parsed.invalid),
        tuple(group.value for group in groups),
    )
    cache = result_cache()
    if refresh:
        cache.discard(key)
    if cache.get(key) is None:
        bar = st.progress(0.0, text=f"Fetching {len(parsed.refs)} Posts…")

        def progress(done: int, total: int) -> None:
            bar.progress(min(1.0, done / max(total, 1)), text=f"Fetched {done} of {total} batches")

        try:
            result = client.fetch_posts(
                parsed, groups=groups, me=_me(connection), progress=progress
            )
        except Unauthorized as exc:
            refused(exc)
        except (XApiError, InputError) as exc:
            st.error(explain(exc))
            return
        finally:
            bar.empty()
            sync_refreshed_credential()
        cache.put(key, result)
    st.session_state[QUERY_KEY] = key


def current_result(connection: Connection) -> FetchResult | None:
    """The result of this session's last fetch, from the cache (no API call)."""
    key = st.session_state.get(QUERY_KEY)
    if not isinstance(key, tuple) or key[:1] != (connection.fingerprint,):
        return None
    result = result_cache().get(key)
    if result is None:
        st.info("The last results have expired from the cache. Press Refresh to fetch them again.")
        return None
    assert isinstance(result, FetchResult)
    return result


@dataclass(frozen=True, slots=True)
class _Memo:
    result: FetchResult
    built: dict[str, Any]


def memo(result: FetchResult, name: str, build: Callable[[], Any]) -> Any:
    """``build()`` once per session for the result on show (frames, figures, CSV bytes)."""
    current = st.session_state.get(MEMO_KEY)
    if not isinstance(current, _Memo) or current.result is not result:
        current = _Memo(result, {})
        st.session_state[MEMO_KEY] = current
    if name not in current.built:
        current.built[name] = build()
    return current.built[name]


def result_frames(result: FetchResult) -> Mapping[str, pd.DataFrame]:
    """Every frame of the result, by export name (built once per session and result)."""
    frames: Mapping[str, pd.DataFrame] = memo(result, "frames", lambda: fr.all_frames(result))
    return frames


# -- showing --------------------------------------------------------------------------------------


def column_config(frame: pd.DataFrame) -> dict[str, Any]:
    """Readable headers and number formats for a frame's columns (the data stays as is)."""
    config: dict[str, Any] = {}
    for name in frame.columns:
        label = column_label(str(name))
        dtype = frame[name].dtype
        if name in (fr.ENGAGEMENT_RATE, fr.RETENTION, fr.STEP_DROPOFF, fr.COMPLETION_RATE) or str(
            name
        ).startswith(f"{fr.COMPLETION_RATE}."):
            config[name] = st.column_config.NumberColumn(label, format="percent")
        elif pd.api.types.is_integer_dtype(dtype) and name not in (fr.POSITION,):
            config[name] = st.column_config.NumberColumn(label, format="localized")
        elif name == fr.TEXT:
            config[name] = st.column_config.TextColumn("Post text", width="large")
        else:
            config[name] = st.column_config.Column(label)
    return config


def table_with_download(
    result: FetchResult, frame: pd.DataFrame, *, name: str, label: str, key: str
) -> None:
    """A sortable table, and under it the exact CSV of what it shows."""
    st.dataframe(frame, width="stretch", hide_index=True, column_config=column_config(frame))
    data = memo(result, f"csv:{name}", lambda: exports.safe_csv_bytes(frame))
    download_csv(label, data, file_name=f"{name}.csv", key=key)


def chart_with_download(
    result: FetchResult,
    figure: go.Figure,
    frame: pd.DataFrame,
    *,
    name: str,
    label: str,
    key: str,
) -> None:
    """A chart, and under it the exact CSV of the data it draws."""
    st.plotly_chart(figure, width="stretch", theme="streamlit", key=key)
    data = memo(result, f"csv:{name}", lambda: exports.safe_csv_bytes(frame))
    download_csv(label, data, file_name=f"{name}.csv", key=f"{key}_csv")


def summary_cards(frames: Mapping[str, pd.DataFrame]) -> None:
    """Impressions, engagements, engagement rate and "Retweets and comments" over all Posts."""
    totals = fr.summary_totals(frames["posts"])
    impressions, engagements = totals.impressions, totals.engagements
    rate, retweets = totals.engagement_rate, totals.retweets_and_comments
    cards = st.columns(4)
    cards[0].metric("Impressions", "—" if impressions is None else f"{impressions:,}")
    cards[1].metric("Engagements", "—" if engagements is None else f"{engagements:,}")
    cards[2].metric(
        "Engagement rate",
        "—" if rate is None else f"{rate:.2%}",
        help="Engagements ÷ impressions over the Posts that have both.",
    )
    cards[3].metric(
        "Retweets and comments",
        "—" if retweets is None else f"{retweets:,}",
        help="Retweets + Quote Tweets (public metrics).",
    )


def statuses_section(result: FetchResult, frames: Mapping[str, pd.DataFrame]) -> None:
    """Every pasted ID with what happened to it."""
    statuses = frames["statuses"]
    st.subheader("Status of every ID")
    counts = statuses[fr.STATUS_LABEL].value_counts(sort=False)
    st.text(" · ".join(f"{label}: {count}" for label, count in counts.items()))
    failed = statuses.loc[statuses[fr.STATUS].eq(PostStatus.FAILED.value)]
    if not failed.empty:
        reasons = "; ".join(dict.fromkeys(str(d) for d in failed[fr.DETAIL] if str(d)))
        st.warning(
            f"{len(failed)} ID(s) failed: {reasons or 'see the detail column'}. Results so far "
            "are kept; press Refresh to fetch again."
        )
    table_with_download(
        result, statuses, name="statuses", label="Download statuses (CSV)", key="xm_dl_statuses"
    )


def metrics_table_section(result: FetchResult, frames: Mapping[str, pd.DataFrame]) -> None:
    """The wide Posts table: one row per ID, every metric X returned."""
    st.subheader("Metrics")
    table_with_download(
        result, frames["posts"], name="posts", label="Download metrics (CSV)", key="xm_dl_posts"
    )


def split_chart_section(result: FetchResult, frames: Mapping[str, pd.DataFrame]) -> None:
    """Organic vs promoted against X's total, over all Posts or Post by Post."""
    st.subheader("Organic vs promoted")
    if frames["split_all_posts"].empty:
        st.info(
            "No organic or promoted metrics: they come only for your own Posts of the last "
            "30 days, with a user-context sign-in and those groups chosen."
        )
        return
    per_post = st.toggle("One bar per Post", key=SPLIT_PER_POST_KEY)
    name = "split_per_post" if per_post else "split_all_posts"
    split_long = memo(result, f"long:{name}", lambda: fr.split_long_frame(frames[name]))
    chart_with_download(
        result,
        memo(
            result,
            f"fig:{name}",
            lambda: figures.organic_vs_promoted_figure(split_long, per_post=per_post),
        ),
        memo(result, f"data:{name}", lambda: figures.organic_vs_promoted_data(split_long)),
        name=f"organic_vs_promoted{'_per_post' if per_post else ''}",
        label="Download chart data (CSV)",
        key="xm_chart_split",
    )


RATE_CHART_MAX_POSTS = 50
"""The engagement-rate ranking shows at most this many Posts (the highest rates)."""


def engagement_rate_section(result: FetchResult, frames: Mapping[str, pd.DataFrame]) -> None:
    """Posts ranked by engagement rate (the highest ones when there are many)."""
    st.subheader("Engagement rate")
    shown: pd.DataFrame = memo(
        result,
        "rated",
        lambda: figures.highest_rated_posts(frames["posts"], RATE_CHART_MAX_POSTS),
    )
    rated = int(frames["posts"][fr.ENGAGEMENT_RATE].notna().sum())
    if len(shown) < len(frames["posts"]) and rated > RATE_CHART_MAX_POSTS:
        st.caption(f"The {RATE_CHART_MAX_POSTS} highest rates of {rated} Posts with a rate.")
    chart_with_download(
        result,
        memo(result, "fig:rate", lambda: figures.engagement_rate_figure(shown)),
        memo(result, "data:rate", lambda: figures.engagement_rate_data(shown)),
        name="engagement_rate",
        label="Download chart data (CSV)",
        key="xm_chart_rate",
    )


def zip_section(result: FetchResult, frames: Mapping[str, pd.DataFrame]) -> None:
    """Every frame as CSV in one zip."""
    data = memo(result, "zip", lambda: exports.zip_bytes(frames))
    offer_download(
        "Download everything (zip)",
        data,
        file_name="xmetrics.zip",
        mime="application/zip",
        key="xm_dl_zip",
    )


# -- video ----------------------------------------------------------------------------------------


def videos_of(result: FetchResult, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The media frame's videos (one row per media key)."""
    videos: pd.DataFrame = memo(
        result,
        "videos",
        lambda: frames["media"].loc[lambda d: d[fr.MEDIA_TYPE].eq("video")].reset_index(drop=True),
    )
    return videos


def _duration(ms: object) -> str:
    if ms is None or pd.isna(ms):  # type: ignore[call-overload]
        return "unknown length"
    seconds = int(ms) // 1000  # type: ignore[call-overload]
    return f"{seconds // 60}:{seconds % 60:02d}"


def _video_label(row: pd.Series) -> str:
    return f"{row[fr.MEDIA_KEY]} · {_duration(row[fr.DURATION_MS])} · Posts {row[fr.POST_IDS]}"


def videos_section(result: FetchResult, videos: pd.DataFrame, connection: Connection) -> None:
    """One card per video (preview, duration, views, completion), then the table."""
    st.subheader(f"Videos ({len(videos)})")
    st.caption(
        "X counts a video's views and quartiles across every Post that carries it, so each "
        "video appears once however many pasted Posts share it."
    )
    views_column = f"{Group.PUBLIC.value}.view_count"
    completion = fr.completion_rate_column
    previews = videos[fr.PREVIEW_IMAGE_URL].dropna().astype(str)
    if any(not may_load_in_browser(url, connection.endpoints) for url in previews):
        st.caption(
            "Preview images are not loaded: they are hosted off this computer, and only a "
            "connection to the real X API loads anything from X."
        )
    for start in range(0, len(videos), 4):
        columns = st.columns(4)
        for column, (_, row) in zip(
            columns, videos.iloc[start : start + 4].iterrows(), strict=False
        ):
            with column.container(border=True):
                preview = row[fr.PREVIEW_IMAGE_URL]
                if isinstance(preview, str) and may_load_in_browser(preview, connection.endpoints):
                    st.image(preview, width="stretch")
                st.text(f"{row[fr.MEDIA_KEY]} · {_duration(row[fr.DURATION_MS])}")
                viewed = row[views_column]
                st.metric("Views", "—" if pd.isna(viewed) else f"{int(viewed):,}")
                for context in (Context.TOTAL, Context.ORGANIC, Context.PROMOTED):
                    rate = row[completion(context)]
                    if not pd.isna(rate):
                        st.text(f"Completion ({context.value}): {rate:.1%}")
    table_with_download(
        result, videos, name="videos", label="Download videos (CSV)", key="xm_dl_videos"
    )


def quartile_section(
    result: FetchResult, frames: Mapping[str, pd.DataFrame], videos: pd.DataFrame
) -> None:
    """Retention and drop-off per quartile for one chosen video, organic vs promoted."""
    st.subheader("Quartile retention and drop-off")
    labels = {str(row[fr.MEDIA_KEY]): _video_label(row) for _, row in videos.iterrows()}
    if st.session_state.get(VIDEO_PICK_KEY) not in labels:
        st.session_state.pop(VIDEO_PICK_KEY, None)  # a video of an earlier fetch
    media_key = st.selectbox(
        "Video", options=list(labels), format_func=labels.__getitem__, key=VIDEO_PICK_KEY
    )
    quartiles = frames["quartiles"]
    shown = quartiles.loc[quartiles[fr.MEDIA_KEY].eq(media_key)].reset_index(drop=True)
    if shown.empty:
        st.info(
            "X returned no playback quartiles for this video: they are private metrics, served "
            "only for your own Posts of the last 30 days with a user-context sign-in."
        )
        return
    if shown[fr.RISES].fillna(False).any():
        st.caption(
            "Some quartiles count more viewers than the one before: viewers who skip ahead are "
            "counted at later quartiles only. The numbers are shown as X reports them."
        )
    left, right = st.columns(2)
    with left:
        chart_with_download(
            result,
            memo(
                result,
                f"fig:retention:{media_key}",
                lambda: figures.quartile_retention_figure(shown),
            ),
            memo(
                result,
                f"data:retention:{media_key}",
                lambda: figures.quartile_retention_data(shown),
            ),
            name=f"retention_{media_key}",
            label="Download retention (CSV)",
            key="xm_chart_retention",
        )
    with right:
        chart_with_download(
            result,
            memo(result, f"fig:counts:{media_key}", lambda: figures.quartile_counts_figure(shown)),
            memo(result, f"data:counts:{media_key}", lambda: figures.quartile_counts_data(shown)),
            name=f"dropoff_{media_key}",
            label="Download drop-off (CSV)",
            key="xm_chart_dropoff",
        )
