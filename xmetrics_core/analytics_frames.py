"""Tidy pandas frames of X's Enterprise analytics and of the project's usage.

Input: an :class:`~xmetrics_core.analytics.AnalyticsResult` (or a
:class:`~xmetrics_core.usage.ProjectUsage`). One row per bucket × key × metric, oldest bucket
first within each key and metric; keys in request order, metrics in the order asked.

:func:`post_analytics_frame` columns (the contract the History page builds on):

=======================  ========================  ===============================================
column                   dtype                     meaning
=======================  ========================  ===============================================
``timestamp``            ``datetime64[us, UTC]``   start of the bucket (X stamps buckets by start)
``post_id``              ``str``                   the Post
``metric``               ``str``                   X's analytics name (``impressions``, ``likes``,
                                                   ``url_clicks`` …; undocumented names kept)
``value``                ``Int64``                 the count in this bucket; ``<NA>`` when X sent
                                                   null or no number (never 0)
``cumulative``           ``Int64``                 running sum of ``value`` from ``since`` to this
                                                   bucket (the growth curve); ``<NA>`` on a
                                                   missing bucket, later buckets go on summing
                                                   the known ones
``cumulative_complete``  ``boolean``               False from the first missing bucket on (the
                                                   running sum then undercounts)
``created_at``           ``datetime64[us, UTC]``   the Post's creation (snowflake time); NaT if
                                                   unknown
``hours_since_posting``  ``float64``               ``(timestamp - created_at)`` in hours: curves
                                                   of different Posts on one axis
``granularity``          ``str``                   ``hourly``, ``daily``, ``weekly`` or ``total``
=======================  ========================  ===============================================

The change of a lookup count between two moments is the sum of the buckets between them
(:data:`~xmetrics_core.analytics.LOOKUP_EQUIVALENTS`: ``impressions`` ↔
``public_metrics.impression_count``; ``likes - unlikes`` ↔ ``like_count``).

:func:`media_analytics_frame` has the same columns with ``media_key`` for ``post_id`` and no
``created_at`` / ``hours_since_posting``; its metrics are ``video_views``, ``playback_start``,
``playback25`` … ``playback_complete``, ``watch_time_ms`` (milliseconds watched in the bucket).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd

from xmetrics_core.analytics import AnalyticsResult
from xmetrics_core.usage import ProjectUsage

TIMESTAMP: Final = "timestamp"
POST_ID: Final = "post_id"
MEDIA_KEY: Final = "media_key"
METRIC: Final = "metric"
VALUE: Final = "value"
CUMULATIVE: Final = "cumulative"
CUMULATIVE_COMPLETE: Final = "cumulative_complete"
CREATED_AT: Final = "created_at"
HOURS_SINCE_POSTING: Final = "hours_since_posting"
GRANULARITY: Final = "granularity"
STATUS: Final = "status"
DETAIL: Final = "detail"
DATE: Final = "date"
POSTS: Final = "posts"
CLIENT_APP_ID: Final = "client_app_id"

_TIME: Final = "datetime64[us, UTC]"

POST_ANALYTICS_SCHEMA: Final[Mapping[str, str]] = {
    TIMESTAMP: _TIME,
    POST_ID: "str",
    METRIC: "str",
    VALUE: "Int64",
    CUMULATIVE: "Int64",
    CUMULATIVE_COMPLETE: "boolean",
    CREATED_AT: _TIME,
    HOURS_SINCE_POSTING: "float64",
    GRANULARITY: "str",
}
MEDIA_ANALYTICS_SCHEMA: Final[Mapping[str, str]] = {
    TIMESTAMP: _TIME,
    MEDIA_KEY: "str",
    METRIC: "str",
    VALUE: "Int64",
    CUMULATIVE: "Int64",
    CUMULATIVE_COMPLETE: "boolean",
    GRANULARITY: "str",
}
USAGE_SCHEMA: Final[Mapping[str, str]] = {DATE: _TIME, POSTS: "Int64"}


def _points_frame(result: AnalyticsResult, key_column: str) -> pd.DataFrame:
    """The points as (timestamp, key, metric, value) with running sums per key and metric."""
    points = result.points
    frame = pd.DataFrame(
        {
            TIMESTAMP: pd.Series([p.timestamp for p in points], dtype=_TIME),
            key_column: pd.Series([p.key for p in points], dtype="str"),
            METRIC: pd.Series([p.metric for p in points], dtype="str"),
            VALUE: pd.Series([p.value for p in points], dtype="Int64"),
        }
    )
    groups = [frame[key_column], frame[METRIC]]
    missing = frame[VALUE].isna()
    derived: dict[str, pd.Series] = {
        CUMULATIVE: frame[VALUE].groupby(groups, sort=False).cumsum().astype("Int64"),
        CUMULATIVE_COMPLETE: ~(missing.groupby(groups, sort=False).cummax().astype("boolean")),
        GRANULARITY: pd.Series([result.granularity] * len(frame), dtype="str", index=frame.index),
    }
    return frame.assign(**derived)


def post_analytics_frame(result: AnalyticsResult) -> pd.DataFrame:
    """One row per bucket × Post × metric (see the module doc for the columns)."""
    frame = _points_frame(result, POST_ID)
    created = pd.Series(
        frame[POST_ID].map(dict(result.created_at)).tolist(), dtype=_TIME, index=frame.index
    )
    hours = (frame[TIMESTAMP] - created).dt.total_seconds() / 3600.0
    derived: dict[str, pd.Series] = {CREATED_AT: created, HOURS_SINCE_POSTING: hours}
    return frame.assign(**derived)[list(POST_ANALYTICS_SCHEMA)].astype(dict(POST_ANALYTICS_SCHEMA))


def media_analytics_frame(result: AnalyticsResult) -> pd.DataFrame:
    """One row per bucket × media key × metric (see the module doc)."""
    return _points_frame(result, MEDIA_KEY)[list(MEDIA_ANALYTICS_SCHEMA)].astype(
        dict(MEDIA_ANALYTICS_SCHEMA)
    )


def analytics_frame(result: AnalyticsResult) -> pd.DataFrame:
    """:func:`post_analytics_frame` or :func:`media_analytics_frame`, by ``result.level``."""
    return post_analytics_frame(result) if result.level == "post" else media_analytics_frame(result)


def analytics_status_frame(result: AnalyticsResult) -> pd.DataFrame:
    """One row per requested key: ``post_id`` (or ``media_key``), ``status``, ``detail``."""
    key_column = POST_ID if result.level == "post" else MEDIA_KEY
    return pd.DataFrame(
        {
            key_column: pd.Series([s.key for s in result.statuses], dtype="str"),
            STATUS: pd.Series([s.status.value for s in result.statuses], dtype="str"),
            DETAIL: pd.Series([s.detail for s in result.statuses], dtype="str"),
        }
    )


def usage_daily_frame(usage: ProjectUsage) -> pd.DataFrame:
    """The project's Post reads per UTC day: ``date`` (midnight UTC), ``posts`` (``Int64``,
    ``<NA>`` when X sent no count), oldest first."""
    return pd.DataFrame(
        {
            DATE: pd.Series(pd.to_datetime([d.day for d in usage.daily], utc=True), dtype=_TIME),
            POSTS: pd.Series([d.posts for d in usage.daily], dtype="Int64"),
        }
    )
