"""The history store's tables, as SQLAlchemy Core metadata, one schema for SQLite and PostgreSQL.

Every metric column comes from the metric catalogue: a Post metric ``<group>.<field>`` is the
column ``<group key>_<field>`` of ``post_snapshots`` (``public_metrics.like_count`` →
``public_like_count``), a media metric the same in ``media_snapshots``. The migrations under
``migrations/versions`` spell the same tables out, frozen in time; a test compares the
migrated database with this metadata, so a metric added to the catalogue fails the tests
until a migration adds its column.

Compactness (≤ 250 bytes per snapshot on SQLite, media included) and cheap hourly saves
decide the layout:

* times are whole seconds since the Unix epoch, UTC (``BigInteger``): 4–6 bytes on SQLite
  instead of a 26-character ISO string, and ``fetched_at - created_at`` is the age in SQL on
  both backends; ``day`` is the UTC day number (``fetched_at // 86400``);
* Posts, media, accounts and status details are small integer keys into their own tables;
* snapshot tables are keyed **time-major**, ``(fetch_pk, post_pk)`` and ``(fetch_pk,
  media_pk)``, and clustered on that key on SQLite (``WITHOUT ROWID``): a save appends at the
  end of each B-tree and dirties a few dozen pages, where a Post-major key dirtied one page
  per Post (SQLite writes every dirty page to the WAL at commit: 2,000 pages were most of a
  1,000-Post save);
* a Post's snapshots are found through ``post_days`` (one row per Post and UTC day it has
  snapshots; written on the first save of the day) and the day's ``fetches``, then one key
  lookup per fetch; ``media_days`` does the same for media;
* the two snapshot tables carry no foreign-key constraints (their keys are written by the one
  save path, in the transaction that creates the rows they point at): a constraint check per
  row was a third of a PostgreSQL save;
* a status is a small integer code (:data:`STATUS_CODES`, also in the ``statuses`` table for
  people reading the database with SQL), and a detail text is stored once in
  ``status_details``.

Nothing here ever holds a token or a secret: accounts are X user IDs and handles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import sqlalchemy as sa

from xmetrics_core.catalogue import MEDIA_METRICS, POST_METRICS, Metric
from xmetrics_core.models import PostStatus

#: Fixed names (Alembic compares them, so they never depend on the backend's defaults).
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: Stable codes of the statuses a snapshot can have (INVALID input is never a Post, and a
#: DUPLICATE only marks a repeated token in the paste-order status table: neither is stored).
STATUS_CODES: Final[Mapping[PostStatus, int]] = {
    PostStatus.OK: 1,
    PostStatus.NOT_PROMOTED: 2,
    PostStatus.PUBLIC_ONLY_NOT_OWNER: 3,
    PostStatus.PUBLIC_ONLY_TOO_OLD: 4,
    PostStatus.PUBLIC_ONLY_APP_ONLY: 5,
    PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED: 6,
    PostStatus.NOT_FOUND: 7,
    PostStatus.NOT_AUTHORIZED: 8,
    PostStatus.FAILED: 9,
}
STATUS_OF_CODE: Final[Mapping[int, PostStatus]] = {code: s for s, code in STATUS_CODES.items()}
#: Codes of the statuses that carry metrics (what growth curves and "latest" read).
METRIC_STATUS_CODES: Final = tuple(c for s, c in STATUS_CODES.items() if s.has_metrics)

#: The ``source`` of a saved fetch.
SOURCES: Final = ("dashboard", "cli", "collector", "import")

#: ``accounts.user_id`` of results read with an app-only Bearer token (no X user).
APP_ONLY_USER_ID: Final = "app-only"


def metric_column(metric: Metric) -> str:
    """The column holding ``metric`` in its snapshot table: ``public_metrics.like_count`` →
    ``public_like_count``, ``organic_metrics.playback_25_count`` → ``organic_playback_25_count``."""
    return f"{metric.group.key}_{metric.field}"


#: Column name → catalogue metric, in catalogue order.
POST_METRIC_COLUMNS: Final[Mapping[str, Metric]] = {metric_column(m): m for m in POST_METRICS}
MEDIA_METRIC_COLUMNS: Final[Mapping[str, Metric]] = {metric_column(m): m for m in MEDIA_METRICS}

Time = sa.BigInteger  # whole seconds since the Unix epoch, UTC
Count = sa.BigInteger  # view counts of popular videos pass 2**31


def _metric_columns(columns: Mapping[str, Metric]) -> list[sa.Column[int]]:
    return [sa.Column(name, Count, nullable=True, comment=m.path) for name, m in columns.items()]


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.String(32), nullable=False, unique=True),
    sa.Column("username", sa.String(64), nullable=True),
    comment="X accounts whose reads are stored: user ID and handle, never a credential",
)

fetches = sa.Table(
    "fetches",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("fetched_at", Time, nullable=False),
    sa.Column("day", sa.Integer, nullable=False, comment="UTC day number: fetched_at // 86400"),
    sa.Column("saved_at", Time, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.pk"), nullable=False),
    sa.Column("groups", sa.String(80), nullable=False),
    sa.Column("api_calls", sa.Integer, nullable=False),
    sa.Column("snapshot_count", sa.Integer, nullable=False),
    sa.Column("media_snapshot_count", sa.Integer, nullable=False),
    sa.Column("read_count", sa.Integer, nullable=False, comment="Posts X returned"),
    sa.Index("ix_fetches_fetched_at_pk", "fetched_at", "pk"),
    sa.Index("ix_fetches_day_fetched_at_pk", "day", "fetched_at", "pk"),
    comment="one row per saved FetchResult; saving it again finds its fingerprint and stops",
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("author_id", sa.String(32), nullable=True, index=True),
    sa.Column("created_at", Time, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
)

statuses = sa.Table(
    "statuses",
    metadata,
    sa.Column("code", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    comment="names of post_snapshots.status codes",
)

status_details = sa.Table(
    "status_details",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text, nullable=False, unique=True),
)

post_snapshots = sa.Table(
    "post_snapshots",
    metadata,
    sa.Column("fetch_pk", sa.Integer, primary_key=True, autoincrement=False, comment="fetches.pk"),
    sa.Column("post_pk", sa.Integer, primary_key=True, autoincrement=False, comment="posts.pk"),
    sa.Column("fetched_at", Time, nullable=False),
    sa.Column("account_pk", sa.Integer, nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("detail_pk", sa.Integer, nullable=True),
    *_metric_columns(POST_METRIC_COLUMNS),
    sa.Column("extra", sa.Text, nullable=True, comment="metric fields the catalogue lacks (JSON)"),
    sqlite_with_rowid=False,
)

post_days = sa.Table(
    "post_days",
    metadata,
    sa.Column(
        "post_pk", sa.Integer, sa.ForeignKey("posts.pk"), primary_key=True, autoincrement=False
    ),
    sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
    comment="the UTC days on which a Post has snapshots: the way into post_snapshots",
    sqlite_with_rowid=False,
)

media = sa.Table(
    "media",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("media_key", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("duration_ms", sa.BigInteger, nullable=True),
)

media_posts = sa.Table(
    "media_posts",
    metadata,
    sa.Column("media_pk", sa.Integer, sa.ForeignKey("media.pk"), primary_key=True),
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.pk"), primary_key=True),
    sqlite_with_rowid=False,
)

media_snapshots = sa.Table(
    "media_snapshots",
    metadata,
    sa.Column("fetch_pk", sa.Integer, primary_key=True, autoincrement=False, comment="fetches.pk"),
    sa.Column("media_pk", sa.Integer, primary_key=True, autoincrement=False, comment="media.pk"),
    sa.Column("fetched_at", Time, nullable=False),
    sa.Column("account_pk", sa.Integer, nullable=False),
    *_metric_columns(MEDIA_METRIC_COLUMNS),
    sa.Column("extra", sa.Text, nullable=True, comment="metric fields the catalogue lacks (JSON)"),
    sqlite_with_rowid=False,
)

media_days = sa.Table(
    "media_days",
    metadata,
    sa.Column(
        "media_pk", sa.Integer, sa.ForeignKey("media.pk"), primary_key=True, autoincrement=False
    ),
    sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
    comment="the UTC days on which a media item has snapshots: the way into media_snapshots",
    sqlite_with_rowid=False,
)

reads = sa.Table(
    "reads",
    metadata,
    sa.Column("day", sa.Date, primary_key=True, comment="UTC day of the read"),
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.pk"), primary_key=True),
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.pk"), primary_key=True),
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("owned", sa.Boolean, nullable=False),
    sa.Column("first_read_at", Time, nullable=False),
    comment="the cost ledger: the Posts read each UTC day, by account and source",
)

watchlist = sa.Table(
    "watchlist",
    metadata,
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.pk"), primary_key=True),
    sa.Column("added_at", Time, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", Time, nullable=True),
    comment="Posts the collector reads on a schedule by age; claims keep two collectors apart",
)

watched_accounts = sa.Table(
    "watched_accounts",
    metadata,
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.pk"), primary_key=True),
    sa.Column("added_at", Time, nullable=False),
    comment="accounts whose new Posts the collector adds to the watchlist (watch --mine)",
)

__all__ = [
    "APP_ONLY_USER_ID",
    "MEDIA_METRIC_COLUMNS",
    "METRIC_STATUS_CODES",
    "POST_METRIC_COLUMNS",
    "SOURCES",
    "STATUS_CODES",
    "STATUS_OF_CODE",
    "accounts",
    "fetches",
    "media",
    "media_days",
    "media_posts",
    "media_snapshots",
    "metadata",
    "metric_column",
    "post_days",
    "post_snapshots",
    "posts",
    "reads",
    "status_details",
    "statuses",
    "watched_accounts",
    "watchlist",
]
