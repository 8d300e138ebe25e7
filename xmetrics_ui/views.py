"""The Posts and Video pages' pieces: fetch with progress, cached results, tables, charts.

A fetch happens only when the user presses Fetch or Refresh. Its result goes into the
server's result cache under (credential fingerprint, API base, IDs, invalid tokens,
groups); the session remembers the query (the exact text parsed and the groups), and so
does the browser's server-side session, so a reload shows the same results. Every rerun
and page switch reads the cache and makes no API call. Frames and figures are memoised per
session for the result on show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xmetrics_core import chart_text, exports, figures
from xmetrics_core import frames as fr
from xmetrics_core.browser_session import Preferences, StoredForm, StoredQuery
from xmetrics_core.catalogue import Context, Group, column_label
from xmetrics_core.client import XClient, XUser
from xmetrics_core.connection import Connection, group_options, may_load_in_browser, zone_name
from xmetrics_core.errors import InputError, InputTooLarge, Unauthorized, XApiError
from xmetrics_core.labels import escape_markdown
from xmetrics_core.models import FetchResult, PostRecord, PostStatus
from xmetrics_core.references import ParsedReferences, parse_references
from xmetrics_ui import costs
from xmetrics_ui.session import (
    browser_id,
    browser_sessions,
    cache_key,
    drop_refused_connection,
    flash,
    result_cache,
    sync_refreshed_credential,
)
from xmetrics_ui.store import save_result, timeline_result
from xmetrics_ui.ui import alert, download_csv, explain, show_error

POSTS_TEXT_KEY = "xm_posts_text"
RECENT_PICK_KEY = "xm_recent_pick"
QUERY_KEY = "xm_posts_query"
RESULT_KEY = "xm_result_key"
"""The result-cache key of the results on show (it starts with the credential fingerprint)."""
MEMO_KEY = "xm_posts_memo"
PARSE_KEY = "xm_parse_memo"
RESTORED_KEY = "xm_browser_restored"
FORM_SAVED_KEY = "xm_form_saved"
TIMEZONE_KEY = "xm_timezone"
RECENT_DAYS = 30
SPLIT_PER_POST_KEY = "xm_split_per_post"
GROUPS_OWNER_KEY = "xm_groups_for"


def group_key(group: Group) -> str:
    """The session key of one metric group's checkbox."""
    return f"xm_group_{group.key}"


VIDEO_PICK_KEY = "xm_video_pick"
PERSISTENT_WIDGET_KEYS: tuple[str, ...] = (
    POSTS_TEXT_KEY,
    costs.BUDGET_KEY,
    RECENT_PICK_KEY,
    SPLIT_PER_POST_KEY,
    VIDEO_PICK_KEY,
    *(group_key(group) for group in Group),
)
"""Page widgets whose values survive switching pages (Streamlit forgets a widget's value
when a run does not draw it; app.py hands these back before every page)."""


# -- the query on show and the time zone ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ShownQuery:
    """What the results on show were fetched for: the exact text parsed (paste box and
    picked Posts), the groups, the credential, and when."""

    paste: str
    groups: tuple[Group, ...]
    fingerprint: str
    fetched_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Shown:
    """The results on show: the fetch result, the parse of its paste, its query."""

    result: FetchResult
    paste: ParsedReferences
    query: ShownQuery


def _parse(text: str) -> ParsedReferences:
    """``parse_references(text)``, kept for the last two texts of this session (the box's
    and the shown query's), so reruns do not parse again. Raises InputTooLarge."""
    kept: dict[str, ParsedReferences] = st.session_state.get(PARSE_KEY) or {}
    if text not in kept:
        parsed = parse_references(text)
        kept = {**dict(list(kept.items())[-1:]), text: parsed}
        st.session_state[PARSE_KEY] = kept
    return kept[text]


def current_paste() -> str:
    """The text a Fetch would parse now: the paste box and the picked recent Posts."""
    text = str(st.session_state.get(POSTS_TEXT_KEY, ""))
    picked = [str(i) for i in st.session_state.get(RECENT_PICK_KEY, []) or []]
    return "\n".join([text, *picked]) if picked else text


@cache
def _zone_names() -> tuple[str, ...]:
    try:
        return tuple(sorted(available_timezones() - {"UTC"}))
    except OSError:  # no time zone database: UTC only
        return ()


def current_tz() -> tzinfo:
    """The time zone chosen for this browser (UTC until the user picks another)."""
    name = str(st.session_state.get(TIMEZONE_KEY) or "UTC")
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


TIMEZONE_SAVED_KEY = "xm_timezone_saved"


def _remember_timezone(name: str) -> None:
    """Keep the chosen zone in the browser's session (when it changed)."""
    browser = browser_id()
    if browser is not None and st.session_state.get(TIMEZONE_SAVED_KEY) != name:
        browser_sessions().save_preferences(browser, Preferences(timezone=name))
        st.session_state[TIMEZONE_SAVED_KEY] = name


def timezone_picker() -> None:
    """The sidebar's time zone: chosen once per browser, used for every time shown."""
    options = ["UTC"]
    local = st.context.timezone
    if local and local != "UTC" and local in _zone_names():
        options.append(local)
    options += [name for name in _zone_names() if name not in options]
    if st.session_state.get(TIMEZONE_KEY) not in options:
        st.session_state[TIMEZONE_KEY] = "UTC"
    chosen = st.selectbox(
        "Time zone",
        options,
        key=TIMEZONE_KEY,
        help="For every time shown (when results were fetched, rate-limit resets, Post dates). "
        "Your browser's zone is listed second.",
    )
    _remember_timezone(str(chosen))


def _when(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return "at an unknown time"
    return f"{moment.astimezone(tz):%-d %b %Y %H:%M:%S} {zone_name(tz)}"


# -- the browser's server-side session --------------------------------------------------------


def restore_from_browser() -> None:
    """On a Streamlit session's first run: the Posts page's form, the last query and the
    time zone this browser left (a reload, a new tab, a direct link). app.py calls it."""
    if st.session_state.get(RESTORED_KEY):
        return
    st.session_state[RESTORED_KEY] = True
    browser = browser_id()
    if browser is None:
        return
    sessions = browser_sessions()
    zone = sessions.preferences(browser).timezone
    st.session_state[TIMEZONE_KEY] = zone
    st.session_state[TIMEZONE_SAVED_KEY] = zone
    form = sessions.form(browser)
    if form is not None:
        st.session_state[POSTS_TEXT_KEY] = form.text
        st.session_state[RECENT_PICK_KEY] = list(form.picked)
        st.session_state[SPLIT_PER_POST_KEY] = form.per_post
        if form.video is not None:
            st.session_state[VIDEO_PICK_KEY] = form.video
        if form.groups is not None and form.groups_for:
            st.session_state[GROUPS_OWNER_KEY] = form.groups_for
            for group in Group:
                st.session_state[group_key(group)] = group.value in form.groups
        st.session_state[FORM_SAVED_KEY] = form
    query = sessions.query(browser)
    if query is not None:
        st.session_state[QUERY_KEY] = ShownQuery(
            paste=query.paste,
            groups=tuple(Group(g) for g in query.groups if g in {x.value for x in Group}),
            fingerprint=query.fingerprint,
            fetched_at=query.fetched_at,
        )


def remember_form() -> None:
    """Keep the Posts page's inputs in the browser's session when they changed."""
    browser = browser_id()
    if browser is None:
        return
    owner = str(st.session_state.get(GROUPS_OWNER_KEY) or "")
    video = st.session_state.get(VIDEO_PICK_KEY)
    form = StoredForm(
        text=str(st.session_state.get(POSTS_TEXT_KEY, "")),
        picked=tuple(str(i) for i in st.session_state.get(RECENT_PICK_KEY, []) or []),
        groups=tuple(g.value for g in Group if st.session_state.get(group_key(g)))
        if owner
        else None,
        groups_for=owner,
        per_post=bool(st.session_state.get(SPLIT_PER_POST_KEY, False)),
        video=None if video is None else str(video),
    )
    if st.session_state.get(FORM_SAVED_KEY) != form:
        browser_sessions().save_form(browser, form)
        st.session_state[FORM_SAVED_KEY] = form


def _remember_query(query: ShownQuery) -> None:
    browser = browser_id()
    if browser is not None:
        browser_sessions().save_query(
            browser,
            StoredQuery(
                paste=query.paste,
                groups=tuple(g.value for g in query.groups),
                fingerprint=query.fingerprint,
                fetched_at=query.fetched_at,
            ),
        )


# -- inputs ---------------------------------------------------------------------------------------


def _me(connection: Connection) -> XUser | None:
    account = connection.account
    if account is None:
        return None
    return XUser(id=account.id, username=account.username, name=account.name)


def _recent_label(post: PostRecord, tz: tzinfo) -> str:
    when = f"{post.created_at.astimezone(tz):%Y-%m-%d %H:%M}" if post.created_at else "undated"
    text = " ".join(post.text.split())
    short = text if len(text) <= 70 else f"{text[:69]}…"
    return f"{when} · {short} ({post.id})"


def _select_all(ids: list[str]) -> None:
    st.session_state[RECENT_PICK_KEY] = ids


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
            show_error(exc)
            return
        finally:
            sync_refreshed_credential()
        cache.put(key, recent)
        save_result(connection, timeline_result(recent))  # a timeline's Posts are billed reads
    if recent is None:
        return
    if not recent:
        st.caption(f"No Posts in the last {RECENT_DAYS} days.")
        return
    tz = current_tz()
    labels = {post.id: _recent_label(post, tz) for post in recent}
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
    with st.container(horizontal=True):
        st.button(
            f"Select all {len(recent)}",
            key="xm_recent_all",
            on_click=_select_all,
            args=(list(labels),),
        )
        st.button("Clear", key="xm_recent_none", on_click=_select_all, args=([],))


def cost_meter(connection: Connection) -> None:
    """Under the form: what a Fetch of the current paste would cost, spend so far, budget."""
    try:
        parsed: ParsedReferences | None = _parse(current_paste())
    except InputTooLarge:
        parsed = None
    costs.cost_meter(connection, parsed)


def paste_summary() -> None:
    """Under the paste box: how many Posts a Fetch would ask for, before it is pressed."""
    try:
        parsed = _parse(current_paste())
    except InputTooLarge as exc:
        alert("error", f"{exc}. Paste fewer Posts at once.")
        return
    if not parsed.token_count:
        return
    parts = [f"{len(parsed.refs):,} Post ID{'s' if len(parsed.refs) != 1 else ''}"]
    if parsed.duplicates:
        parts.append(f"{len(parsed.duplicates):,} repeated (fetched once)")
    if parsed.invalid:
        parts.append(f"{len(parsed.invalid):,} not a Post ID or URL")
    st.caption(" · ".join(parts))


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


def posts_result_key(
    connection: Connection, parsed: ParsedReferences, groups: tuple[Group, ...]
) -> tuple[Any, ...]:
    """The result cache's key of a Posts page fetch (the benchmark of replicas seeds it)."""
    return cache_key(
        connection,
        "posts",
        tuple(ref.id for ref in parsed.refs),
        tuple(token.text for token in parsed.invalid),
        tuple(group.value for group in groups),
    )


def run_fetch(
    connection: Connection, client: XClient, *, groups: tuple[Group, ...], refresh: bool
) -> None:
    """Fetch the pasted and picked Posts, unless the cache already has them (Refresh: again)."""
    paste = current_paste()
    try:
        parsed = _parse(paste)
    except InputTooLarge:  # paste_summary, above the button, already says so
        return
    if not parsed.refs and not parsed.invalid:
        alert("warning", "Paste at least one Post ID or URL, or pick from your recent Posts.")
        return
    if not groups:
        alert("warning", "Choose at least one metric group.")
        return
    key = posts_result_key(connection, parsed, groups)
    cache = result_cache()
    result = None if refresh else cache.get(key)
    if result is None:
        if not costs.fetch_allowed(connection, parsed):  # the budget: nothing read, shown kept
            return
        cache.discard(key)
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
            show_error(exc)
            return
        finally:
            bar.empty()
            sync_refreshed_credential()
        cache.put(key, result)
        save_result(connection, result)
    query = ShownQuery(
        paste=paste,
        groups=groups,
        fingerprint=connection.fingerprint,
        fetched_at=result.fetched_at if isinstance(result, FetchResult) else None,
    )
    st.session_state[QUERY_KEY] = query
    _remember_query(query)


def current_result(connection: Connection) -> Shown | None:
    """The results of this browser's last fetch, from the cache (no API call)."""
    query = st.session_state.get(QUERY_KEY)
    if not isinstance(query, ShownQuery) or query.fingerprint != connection.fingerprint:
        return None
    try:
        parsed = _parse(query.paste)
    except InputTooLarge:
        return None
    key = posts_result_key(connection, parsed, query.groups)
    st.session_state[RESULT_KEY] = key
    result = result_cache().get(key)
    if result is None:
        st.info("The last results have expired from the cache. Press Refresh to fetch them again.")
        return None
    assert isinstance(result, FetchResult)
    return Shown(result=result, paste=parsed, query=query)


def results_header(shown: Shown, *, groups: tuple[Group, ...]) -> None:
    """When the results on show were fetched, and whether they still match the paste box."""
    tz = current_tz()
    when = _when(shown.query.fetched_at or shown.result.fetched_at, tz)
    st.caption(
        f"Fetched {when} · {len(shown.paste.refs):,} Posts · {shown.result.api_calls} API "
        f"call{'s' if shown.result.api_calls != 1 else ''}"
    )
    try:
        now = _parse(current_paste())
    except InputTooLarge:
        return
    same_posts = (now.ids, [t.text for t in now.invalid]) == (
        shown.paste.ids,
        [t.text for t in shown.paste.invalid],
    )
    if not same_posts or tuple(groups) != shown.query.groups:
        alert(
            "warning",
            f"The results below were fetched {when} for an earlier paste or other metric "
            "groups, not for what the form holds now. Press Fetch to fetch the current one.",
        )


@dataclass(frozen=True, slots=True)
class _Memo:
    result: FetchResult
    paste: ParsedReferences | None
    built: dict[str, Any]


def memo(
    result: FetchResult,
    name: str,
    build: Callable[[], Any],
    *,
    paste: ParsedReferences | None = None,
    slot: str = MEMO_KEY,
) -> Any:
    """``build()`` once per session for the result (and paste) on show. ``slot``: the
    session key of the memo (the Import page keeps its own beside the Posts page's)."""
    current = st.session_state.get(slot)
    if (
        not isinstance(current, _Memo)
        or current.result is not result
        or (paste is not None and current.paste is not paste)
    ):
        current = _Memo(result, paste, {})
        st.session_state[slot] = current
    if name not in current.built:
        current.built[name] = build()
    return current.built[name]


def result_frames(shown: Shown) -> Mapping[str, pd.DataFrame]:
    """Every frame of the result, by export name (built once per session and result);
    ``statuses`` has one row per pasted token, in paste order."""
    frames: Mapping[str, pd.DataFrame] = memo(
        shown.result,
        "frames",
        lambda: fr.all_frames(shown.result, paste=shown.paste),
        paste=shown.paste,
    )
    return frames


def _labels(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    tz = current_tz()
    labels: dict[str, str] = memo(
        shown.result, f"labels:{zone_name(tz)}", lambda: figures.post_labels(frames["posts"], tz=tz)
    )
    return labels


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
        elif name == fr.POST_URL:
            config[name] = st.column_config.LinkColumn("On x.com", display_text="Open")
        elif name == fr.STATUS_LABEL:
            config[name] = st.column_config.TextColumn("Status", width="medium")
        elif name == fr.POSITION:
            config[name] = st.column_config.NumberColumn("Position (from 0)")
        else:
            config[name] = st.column_config.Column(label)
    return config


def table_with_download(
    result: FetchResult,
    frame: pd.DataFrame,
    *,
    name: str,
    label: str,
    key: str,
    first: tuple[str, ...] = (),
    slot: str = MEMO_KEY,
) -> None:
    """A sortable table (``first`` columns leading, so they show on a phone too), and under
    it the exact CSV of what it shows (``slot``: see :func:`memo`)."""
    order = [*first, *(c for c in frame.columns if c not in first)]
    st.dataframe(
        frame,
        width="stretch",
        hide_index=True,
        column_config=column_config(frame),
        column_order=order,
    )
    data = memo(result, f"csv:{name}", lambda: exports.safe_csv_bytes(frame), slot=slot)
    download_csv(label, data, file_name=f"{name}.csv", key=key)


CHART_DATA_LABEL = "Chart data as a table"
"""The expander under every chart that holds the data it draws (its text alternative)."""


def accessible_chart(
    figure: go.Figure, frame: pd.DataFrame, *, key: str, summary: str | None = None
) -> None:
    """A chart with its text alternative, for every page (the chart helpers call it).

    Above the chart, a short summary of what it shows (``summary``, else
    :func:`xmetrics_core.chart_text.chart_summary` of the figure and its data ``frame``), so
    a screen reader reaches it; under the chart, ``frame`` as a table one click away
    (:data:`CHART_DATA_LABEL`).
    """
    # computed every run (a few small pandas reductions): never a stale summary of a frame
    # that happens to reuse an earlier one's id
    text = chart_text.chart_summary(figure, frame) if summary is None else summary
    st.caption(escape_markdown(text))
    st.plotly_chart(figure, width="stretch", theme="streamlit", key=key)
    with st.expander(CHART_DATA_LABEL, key=f"{key}_table"):
        st.dataframe(frame, width="stretch", hide_index=True, column_config=column_config(frame))


def chart_with_download(
    result: FetchResult,
    figure: go.Figure,
    frame: pd.DataFrame,
    *,
    name: str,
    label: str,
    key: str,
    summary: str | None = None,
    slot: str = MEMO_KEY,
) -> None:
    """A chart with its text alternative (:func:`accessible_chart`), and under it the exact
    CSV of the data it draws (``slot``: see :func:`memo`)."""
    accessible_chart(figure, frame, key=key, summary=summary)
    data = memo(result, f"csv:{name}:{id(frame)}", lambda: exports.safe_csv_bytes(frame), slot=slot)
    download_csv(label, data, file_name=f"{name}.csv", key=f"{key}_csv")


def _posts(count: int) -> str:
    return f"{count:,} Post{'s' if count != 1 else ''}"


def summary_cards(frames: Mapping[str, pd.DataFrame]) -> None:
    """Impressions, engagements, engagement rate and reposts + quotes over all Posts, each
    saying which Posts it covers and how it is counted."""
    posts = frames["posts"]
    totals = fr.summary_totals(posts)
    impressions, engagements = totals.impressions, totals.engagements
    rate, reposts = totals.engagement_rate, totals.reposts_and_quotes
    has_impressions = posts[fr.IMPRESSIONS].notna()
    has_engagements = posts[fr.ENGAGEMENTS].notna()
    both = has_impressions & has_engagements
    sources = posts[fr.ENGAGEMENTS_SOURCE]
    from_x, summed = int(sources.eq(fr.SOURCE_X).sum()), int(sources.eq(fr.SOURCE_SUM).sum())
    cards = st.columns(4)
    cards[0].metric(
        "Impressions",
        "—" if impressions is None else f"{impressions:,}",
        help=f"Sum over the {_posts(int(has_impressions.sum()))} with impressions: X's "
        "non-public count for your own Posts of the last 30 days, the public count for the "
        "rest. The organic-vs-promoted chart below covers your own recent Posts only.",
    )
    cards[1].metric(
        "Engagements",
        "—" if engagements is None else f"{engagements:,}",
        help=f"Sum over {_posts(int(has_engagements.sum()))}: X's own engagements count for "
        f"{_posts(from_x)} (your recent ones; it includes link and profile clicks), and for "
        f"{_posts(summed)} X gives none, so it is our sum of reposts, quotes, likes and "
        "replies (+ clicks where known). The table's engagements_source says which.",
    )
    cards[2].metric(
        "Engagement rate",
        "—" if rate is None else f"{rate:.2%}",
        help=f"Engagements ÷ impressions over the {_posts(int(both.sum()))} that have both.",
    )
    cards[3].metric(
        "Reposts and quotes",
        "—" if reposts is None else f"{reposts:,}",
        help=f"Reposts + quotes (X's public retweet_count + quote_count) over "
        f"{_posts(int(posts[fr.REPOSTS_AND_QUOTES].notna().sum()))}.",
    )


def statuses_section(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> None:
    """Every pasted token with what happened to it, in paste order."""
    statuses = frames["statuses"]
    st.header("Status of every ID")
    counts = statuses[fr.STATUS_LABEL].value_counts(sort=False)
    st.caption(escape_markdown(" · ".join(f"{label}: {count}" for label, count in counts.items())))
    failed = statuses.loc[statuses[fr.STATUS].eq(PostStatus.FAILED.value)]
    if not failed.empty:
        reasons = "; ".join(dict.fromkeys(str(d) for d in failed[fr.DETAIL] if str(d)))
        alert(
            "warning",
            f"{len(failed)} ID(s) failed: {reasons or 'see the detail column'}. Results so far "
            "are kept; press Refresh to fetch again.",
        )
    table_with_download(
        shown.result,
        statuses,
        name="statuses",
        label="Download statuses (CSV)",
        key="xm_dl_statuses",
        first=(fr.ID, fr.STATUS_LABEL, fr.DETAIL),
    )


def metrics_table_section(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> None:
    """The wide Posts table: one row per ID, every metric X returned, a link to x.com."""
    st.header("Metrics")
    table_with_download(
        shown.result,
        frames["posts"],
        name="posts",
        label="Download metrics (CSV)",
        key="xm_dl_posts",
        first=(fr.ID, fr.POST_URL, fr.TEXT, fr.STATUS_LABEL),
    )


def split_chart_section(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> None:
    """Organic vs promoted against X's total, over all Posts or Post by Post."""
    st.header("Organic vs promoted")
    if frames["split_all_posts"].empty:
        st.info(
            "No organic or promoted metrics: they come only for your own Posts of the last "
            "30 days, with a user-context sign-in and those groups chosen."
        )
        return
    coverage = figures.split_coverage(frames["posts"], frames["split_per_post"])
    st.caption(
        f"Bars: organic and promoted, stacked; diamonds: X's total. X serves organic and "
        f"promoted metrics only for your own Posts of the last 30 days, so this chart covers "
        f"{coverage.split_posts} of the {_posts(coverage.posts_with_metrics)} with metrics "
        "and its sums can be lower than the cards above."
    )
    per_post = st.toggle("One bar per Post", key=SPLIT_PER_POST_KEY)
    name = "split_per_post" if per_post else "split_all_posts"
    labels = _labels(shown, frames) if per_post else None
    zone = zone_name(current_tz())
    split_long = memo(shown.result, f"long:{name}", lambda: fr.split_long_frame(frames[name]))
    chart_with_download(
        shown.result,
        memo(
            shown.result,
            f"fig:{name}:{zone}",
            lambda: figures.organic_vs_promoted_figure(
                split_long, per_post=per_post, post_labels=labels, coverage=coverage
            ),
        ),
        memo(
            shown.result,
            f"data:{name}:{zone}",
            lambda: figures.organic_vs_promoted_data(split_long, post_labels=labels),
        ),
        name=f"organic_vs_promoted{'_per_post' if per_post else ''}",
        label="Download chart data (CSV)",
        key="xm_chart_split",
    )


def engagement_rate_section(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> None:
    """Posts ranked by engagement rate (the highest ones when there are many)."""
    st.header("Engagement rate")
    posts = frames["posts"]
    drawn: pd.DataFrame = memo(shown.result, "rated", lambda: figures.highest_rated_posts(posts))
    rated = int(posts[fr.ENGAGEMENT_RATE].notna().sum())
    note = (
        f"The {figures.RATE_CHART_MAX_POSTS} highest rates of {rated} Posts with a rate. "
        if rated > figures.RATE_CHART_MAX_POSTS
        else ""
    )
    st.caption(
        f"{note}Engagements ÷ impressions per Post. Blue: your own Posts of the last 30 days, "
        "whose engagements include link and profile clicks (X's own count where it gives "
        "one). Red-orange: public interactions only (reposts, quotes, likes, replies), all X "
        "gives for other Posts. Compare a colour with its own kind."
    )
    labels = _labels(shown, frames)
    zone = zone_name(current_tz())
    chart_with_download(
        shown.result,
        memo(
            shown.result,
            f"fig:rate:{zone}",
            lambda: figures.engagement_rate_figure(drawn, post_labels=labels),
        ),
        memo(
            shown.result,
            f"data:rate:{zone}",
            lambda: figures.engagement_rate_data(drawn, post_labels=labels),
        ),
        name="engagement_rate",
        label="Download chart data (CSV)",
        key="xm_chart_rate",
    )


def zip_archive(frames: Mapping[str, pd.DataFrame], post_labels: Mapping[str, str]) -> bytes:
    """The zip: every frame and every chart's data (``figures.chart_exports``), one CSV each."""
    return exports.zip_bytes({**frames, **figures.chart_exports(frames, post_labels=post_labels)})


def zip_section(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> None:
    """Every frame and every chart's data as CSV in one zip, built when the button is
    pressed (in a worker thread: a large result's zip never slows the page down)."""
    labels = _labels(shown, frames)
    st.download_button(
        "Download everything (zip)",
        data=lambda: zip_archive(frames, labels),
        file_name="xmetrics.zip",
        mime="application/zip",
        key="xm_dl_zip",
        on_click="ignore",
        help="Every table and the data of every chart (both organic-vs-promoted views, the "
        "engagement rate, and each video's retention and drop-off), one CSV each.",
    )


# -- video ----------------------------------------------------------------------------------------


def videos_of(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The media frame's videos (one row per media key)."""
    videos: pd.DataFrame = memo(
        shown.result,
        "videos",
        lambda: frames["media"].loc[lambda d: d[fr.MEDIA_TYPE].eq("video")].reset_index(drop=True),
    )
    return videos


def _video_labels(shown: Shown, frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    tz = current_tz()
    labels: dict[str, str] = memo(
        shown.result,
        f"video_labels:{zone_name(tz)}",
        lambda: figures.video_labels(frames["media"], frames["posts"], tz=tz),
    )
    return labels


def videos_section(
    shown: Shown,
    frames: Mapping[str, pd.DataFrame],
    videos: pd.DataFrame,
    connection: Connection,
) -> None:
    """One card per video (preview, the Post it is in, views, completion), then the table."""
    st.header(f"Videos ({len(videos)})")
    st.caption(
        "X counts a video's views and quartiles across every Post that carries it, so each "
        "video appears once however many pasted Posts share it. Views is X's own view count; "
        "the quartile charts below start from every viewer who started playing (0 %). X counts "
        "the two differently, so the starters can outnumber the views."
    )
    labels = _video_labels(shown, frames)
    alts: dict[str, str] = memo(
        shown.result,
        "video_alts",
        lambda: figures.video_alt_texts(frames["media"], frames["posts"]),
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
                    alt = alts.get(str(row[fr.MEDIA_KEY]), "Preview of a video")
                    st.image(preview, width="stretch", alt=alt)
                st.text(labels.get(str(row[fr.MEDIA_KEY]), str(row[fr.MEDIA_KEY])))
                viewed = row[views_column]
                st.metric(
                    "Views",
                    "—" if pd.isna(viewed) else f"{int(viewed):,}",
                    help="X's view count for this video, over every Post that carries it.",
                )
                for context in (Context.TOTAL, Context.ORGANIC, Context.PROMOTED):
                    rate = row[completion(context)]
                    if not pd.isna(rate):
                        st.text(f"Completion ({context.value}): {rate:.1%}")
    table_with_download(
        shown.result,
        videos,
        name="videos",
        label="Download videos (CSV)",
        key="xm_dl_videos",
        first=(fr.MEDIA_KEY, fr.POST_IDS, fr.DURATION_MS),
    )


def quartile_section(
    shown: Shown, frames: Mapping[str, pd.DataFrame], videos: pd.DataFrame
) -> None:
    """Retention and drop-off per quartile for one chosen video, organic vs promoted."""
    st.header("Quartile retention and drop-off")
    labels = _video_labels(shown, frames)
    keys = [str(k) for k in videos[fr.MEDIA_KEY]]
    if st.session_state.get(VIDEO_PICK_KEY) not in keys:
        st.session_state.pop(VIDEO_PICK_KEY, None)  # a video of an earlier fetch
    media_key = st.selectbox(
        "Video",
        options=keys,
        format_func=lambda key: f"{labels.get(key, key)} ({key})",
        key=VIDEO_PICK_KEY,
    )
    quartiles = frames["quartiles"]
    drawn = quartiles.loc[quartiles[fr.MEDIA_KEY].eq(media_key)].reset_index(drop=True)
    if drawn.empty:
        st.info(
            "X returned no playback quartiles for this video: they are private metrics, served "
            "only for your own Posts of the last 30 days with a user-context sign-in."
        )
        return
    if drawn[fr.RISES].fillna(False).any():
        st.caption(
            "Some quartiles count more viewers than the one before: viewers who skip ahead are "
            "counted at later quartiles only. The numbers are shown as X reports them."
        )
    st.caption(
        "Each quartile counts the viewers who played the video to that point; 0 % are the "
        "viewers who started it. The largest drop between two quartiles is ringed."
    )
    left, right = st.columns(2)
    with left:
        chart_with_download(
            shown.result,
            memo(
                shown.result,
                f"fig:retention:{media_key}",
                lambda: figures.quartile_retention_figure(drawn),
            ),
            memo(
                shown.result,
                f"data:retention:{media_key}",
                lambda: figures.quartile_retention_data(drawn),
            ),
            name=f"retention_{media_key}",
            label="Download retention (CSV)",
            key="xm_chart_retention",
        )
    with right:
        chart_with_download(
            shown.result,
            memo(
                shown.result,
                f"fig:counts:{media_key}",
                lambda: figures.quartile_counts_figure(drawn),
            ),
            memo(
                shown.result,
                f"data:counts:{media_key}",
                lambda: figures.quartile_counts_data(drawn),
            ),
            name=f"dropoff_{media_key}",
            label="Download drop-off (CSV)",
            key="xm_chart_dropoff",
        )
