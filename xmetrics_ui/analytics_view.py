"""X's Enterprise analytics and the project's usage on the dashboard (issue 11).

* :func:`hourly_analytics_section` (Posts page): hourly curves of the connected account's own
  Posts from ``GET /2/tweets/analytics`` when the app has Enterprise access, detected once per
  credential and remembered server-wide (by fingerprint, never the token); otherwise the
  sentence that says why not and what xmetrics does instead. The Demo account says which tier
  its sandbox runs and what a pay-per-use app would see.
* :func:`watch_time_section` (Video page): daily watch time and plays per playback stage of
  the account's own videos from ``GET /2/media/analytics``, on the same terms.
* :func:`history_hourly_curves` (History page): X's own hourly curve of the chosen metric
  for the account's own chosen Posts, on the same terms, labelled as X's analytics.
* :func:`usage_panel` (sidebar): what the project has read this month from
  ``GET /2/usage/tweets``, when the app's Bearer token is known (a Bearer connection, OAuth 1.0a
  keys, which X exchanges for it, or the Demo's sandbox), kept for a few minutes per credential.

All requests go through the core (:mod:`xmetrics_core.analytics`, :mod:`xmetrics_core.usage`);
this module only decides what to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xmetrics_core import analytics_figures
from xmetrics_core.access import (
    NOT_ENROLLED_EXPLANATION,
    AccessMemory,
    AnalyticsAccess,
    analytics_explanation,
)
from xmetrics_core.analytics import (
    DASHBOARD_CURVE_LIMIT,
    LOOKUP_EQUIVALENTS,
    POST_ANALYTICS_METRICS,
    AnalyticsResult,
    AnalyticsStatusKind,
    detect_analytics_access,
    media_analytics,
    owned_posts,
    post_analytics,
)
from xmetrics_core.analytics_frames import (
    analytics_status_frame,
    media_analytics_frame,
    post_analytics_frame,
)
from xmetrics_core.client import XClient
from xmetrics_core.connection import AuthMethod, Connection
from xmetrics_core.credentials import BearerCredential
from xmetrics_core.errors import ConfigurationError, XApiError
from xmetrics_core.transport import XApi
from xmetrics_core.usage import ProjectUsage, app_bearer_for, fetch_project_usage, usage_summary
from xmetrics_ui import views
from xmetrics_ui.messages import explain
from xmetrics_ui.session import demo_app, server_state

USAGE_TTL_SECONDS = 5 * 60
"""How long the project's usage is shown before X is asked again (one request per credential)."""

_USAGE_KEY_PREFIX = "xm_usage:"


@st.cache_resource
def access_memory() -> AccessMemory:
    """What X said about each credential's analytics access, for every session of this server
    (in the server's state store, by fingerprint)."""
    return AccessMemory(store=server_state().store)


# -- hourly curves -----------------------------------------------------------------------------


def _demo_note(connection: Connection) -> None:
    if connection.method is not AuthMethod.DEMO:
        return
    st.caption(
        f"The Demo account's sandbox runs as an X app on the **{demo_app().tier}** tier. "
        f"A pay-per-use app would see instead: “{NOT_ENROLLED_EXPLANATION}”"
    )


def enterprise_access(connection: Connection, client: XClient) -> bool:
    """Whether X serves this credential its Enterprise analytics; when not, say why (once per
    credential X is asked; the answer is remembered server-wide for a day)."""
    try:
        access = detect_analytics_access(
            client.api, memory=access_memory(), fingerprint=connection.fingerprint
        )
    except XApiError as exc:
        st.warning(explain(exc))
        return False
    if not access.available:
        st.info(analytics_explanation(access))
    _demo_note(connection)
    return access.available


def _problems(result: AnalyticsResult, what: str) -> None:
    statuses = analytics_status_frame(result)
    problems = statuses.loc[statuses["status"].astype(str).ne(AnalyticsStatusKind.OK.value)]
    if not problems.empty:
        st.caption(f"{what} X gave no complete analytics for:")
        st.dataframe(problems, width="stretch", hide_index=True)


def _served(build: Callable[[], AnalyticsResult]) -> AnalyticsResult | None:
    """``build()``'s result when X served analytics; otherwise None, having said why."""
    try:
        result = build()
    except XApiError as exc:
        st.warning(explain(exc))
        return None
    if not result.available:
        st.info(result.explanation or analytics_explanation(result.access))
        return None
    return result


def hourly_analytics_section(connection: Connection, client: XClient, shown: views.Shown) -> None:
    """Hourly curves of the account's own Posts on show, or why X does not serve them."""
    st.header("Hourly analytics")
    if not connection.credential.is_user_context or connection.account is None:
        st.info(analytics_explanation(AnalyticsAccess.USER_CONTEXT_REQUIRED))
        return
    ids = owned_posts(shown.result.posts, user_id=connection.account.id)
    if not ids:
        st.caption(
            "X serves hourly analytics for your own Posts only, and none of these Posts is "
            f"{connection.account.handle}'s."
        )
        return
    if not enterprise_access(connection, client):
        return
    result = _served(
        lambda: views.memo(
            shown.result,
            "hourly-analytics",
            lambda: post_analytics(
                client.api, ids, memory=access_memory(), fingerprint=connection.fingerprint
            ),
        )
    )
    if result is None:
        return
    frame = post_analytics_frame(result)
    present = set(frame["metric"].astype(str))
    metric = st.selectbox(
        "Metric",
        [m for m in POST_ANALYTICS_METRICS if m in present] or list(POST_ANALYTICS_METRICS),
        format_func=analytics_figures.metric_label,
        key="xm_hourly_metric",
    )
    st.caption(
        f"From X's analytics (Enterprise), hour by hour since posting, for {len(ids)} of your "
        "Posts on show (those with the most impressions). A dashed line passed an hour X did "
        "not report, so it undercounts."
    )
    views.chart_with_download(
        shown.result,
        analytics_figures.growth_curve_figure(frame, metric=metric, since_posting=True),
        analytics_figures.growth_curve_data(frame, metric=metric, since_posting=True),
        name=f"hourly_{metric}",
        label="Download hourly curves (CSV)",
        key="xm_hourly_chart",
    )
    _problems(result, "Posts")


def watch_time_section(connection: Connection, client: XClient, shown: views.Shown) -> None:
    """Daily watch time and plays per playback stage of the account's own videos on show
    (``GET /2/media/analytics``, Enterprise), or why X does not serve them."""
    st.header("Watch time")
    if not connection.credential.is_user_context or connection.account is None:
        st.info(analytics_explanation(AnalyticsAccess.USER_CONTEXT_REQUIRED))
        return
    own = set(owned_posts(shown.result.posts, user_id=connection.account.id, limit=10_000))
    keys = [
        media.media_key
        for media in shown.result.media
        if media.type == "video" and own.intersection(media.post_ids)
    ][:DASHBOARD_CURVE_LIMIT]
    if not keys:
        st.caption("X serves watch time for your own videos only; none of these videos is yours.")
        return
    if not enterprise_access(connection, client):
        return
    result = _served(
        lambda: views.memo(
            shown.result,
            "media-analytics",
            lambda: media_analytics(
                client.api,
                keys,
                granularity="daily",
                memory=access_memory(),
                fingerprint=connection.fingerprint,
            ),
        )
    )
    if result is None:
        return
    frame = media_analytics_frame(result)
    st.caption(
        f"From X's media analytics (Enterprise), day by day over the last 30 days, for "
        f"{len(keys)} of your videos on show."
    )
    views.chart_with_download(
        shown.result,
        analytics_figures.watch_time_figure(frame),
        analytics_figures.watch_time_data(frame),
        name="watch_time",
        label="Download watch time (CSV)",
        key="xm_watch_time_chart",
    )
    views.chart_with_download(
        shown.result,
        analytics_figures.playback_figure(frame),
        analytics_figures.playback_data(frame),
        name="playback_stages",
        label="Download plays per stage (CSV)",
        key="xm_playback_chart",
    )
    _problems(result, "Videos")


def analytics_metric_for(field_name: str) -> str:
    """The analytics metric that counts what the lookup field ``field_name`` counts
    (``impression_count`` → ``impressions``), else ``impressions``."""
    for metric, path in LOOKUP_EQUIVALENTS.items():
        if path.rsplit(".", 1)[-1] == field_name:
            return metric
    return "impressions"


_HISTORY_CURVES_KEY = "xm_history_curves"


def history_hourly_curves(
    connection: Connection, client: XClient, own_ids: list[str], *, field_name: str
) -> tuple[go.Figure, pd.DataFrame] | None:
    """For the History page: X's own hour-by-hour curve of the chosen metric for the account's
    own chosen Posts when the app has Enterprise access (the figure and its exact data), else
    None, having said why not. Asked once per session, credential and set of Posts, then kept
    for :data:`HISTORY_CURVES_TTL_SECONDS`."""
    if not connection.credential.is_user_context or not own_ids:
        return None
    if not enterprise_access(connection, client):
        return None
    key = (connection.fingerprint, tuple(own_ids))
    kept = st.session_state.get(_HISTORY_CURVES_KEY)
    now = datetime.now(UTC).timestamp()
    if isinstance(kept, tuple) and kept[0] == key and now - kept[1] < HISTORY_CURVES_TTL_SECONDS:
        result = kept[2]
    else:
        result = _served(
            lambda: post_analytics(
                client.api, own_ids, memory=access_memory(), fingerprint=connection.fingerprint
            )
        )
        if result is None:
            return None
        st.session_state[_HISTORY_CURVES_KEY] = (key, now, result)
    frame = post_analytics_frame(result)
    metric = analytics_metric_for(field_name)
    return (
        analytics_figures.growth_curve_figure(frame, metric=metric, since_posting=True),
        analytics_figures.growth_curve_data(frame, metric=metric, since_posting=True),
    )


HISTORY_CURVES_TTL_SECONDS = 15 * 60


# -- usage ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _KnownUsage:
    usage: ProjectUsage | None
    problem: str
    expires: datetime


def _app_bearer(connection: Connection) -> BearerCredential | None:
    if connection.method is AuthMethod.DEMO:
        return BearerCredential(token=demo_app().demo.bearer_token)
    return app_bearer_for(connection.credential, base_url=connection.endpoints.api_base_url)


def _read_usage(connection: Connection) -> _KnownUsage:
    now = datetime.now(UTC)
    expires = datetime.fromtimestamp(now.timestamp() + USAGE_TTL_SECONDS, UTC)
    try:
        bearer = _app_bearer(connection)
        if bearer is None:
            return _KnownUsage(usage=None, problem="", expires=expires)
        api = XApi(credential=bearer, base_url=connection.endpoints.api_base_url)
        try:
            return _KnownUsage(usage=fetch_project_usage(api), problem="", expires=expires)
        finally:
            api.close()
    except (XApiError, ConfigurationError) as exc:
        return _KnownUsage(usage=None, problem=explain(exc), expires=expires)


def usage_panel(connection: Connection) -> None:
    """One line in the sidebar: the project's Post reads this month against its cap."""
    key = _USAGE_KEY_PREFIX + connection.fingerprint
    known = st.session_state.get(key)
    if not isinstance(known, _KnownUsage) or known.expires <= datetime.now(UTC):
        known = _read_usage(connection)
        st.session_state[key] = known
    if known.usage is not None:
        st.caption(f"X API usage: {usage_summary(known.usage)}.")
    elif known.problem:
        st.caption(f"X API usage unknown: {known.problem}")
    else:
        st.caption("X API usage: shown with the app's Bearer token (this sign-in has none).")
