"""The history store: accounts, fetches, Posts, Post and media snapshots, the cost ledger.

Revision ID: 0001_history
Revises:
Create Date: 2026-12-01

The metric columns are spelled out here as they were when this revision was written (the
catalogue of that day); a later catalogue metric gets its own migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_history"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POST_METRICS = (
    ("public_impression_count", "public_metrics.impression_count"),
    ("public_retweet_count", "public_metrics.retweet_count"),
    ("public_quote_count", "public_metrics.quote_count"),
    ("public_like_count", "public_metrics.like_count"),
    ("public_reply_count", "public_metrics.reply_count"),
    ("public_bookmark_count", "public_metrics.bookmark_count"),
    ("non_public_impression_count", "non_public_metrics.impression_count"),
    ("non_public_url_link_clicks", "non_public_metrics.url_link_clicks"),
    ("non_public_user_profile_clicks", "non_public_metrics.user_profile_clicks"),
    ("non_public_engagements", "non_public_metrics.engagements"),
    ("organic_impression_count", "organic_metrics.impression_count"),
    ("organic_retweet_count", "organic_metrics.retweet_count"),
    ("organic_like_count", "organic_metrics.like_count"),
    ("organic_reply_count", "organic_metrics.reply_count"),
    ("organic_url_link_clicks", "organic_metrics.url_link_clicks"),
    ("organic_user_profile_clicks", "organic_metrics.user_profile_clicks"),
    ("promoted_impression_count", "promoted_metrics.impression_count"),
    ("promoted_retweet_count", "promoted_metrics.retweet_count"),
    ("promoted_like_count", "promoted_metrics.like_count"),
    ("promoted_reply_count", "promoted_metrics.reply_count"),
    ("promoted_url_link_clicks", "promoted_metrics.url_link_clicks"),
    ("promoted_user_profile_clicks", "promoted_metrics.user_profile_clicks"),
)
MEDIA_METRICS = (
    ("public_view_count", "public_metrics.view_count"),
    ("non_public_playback_0_count", "non_public_metrics.playback_0_count"),
    ("non_public_playback_25_count", "non_public_metrics.playback_25_count"),
    ("non_public_playback_50_count", "non_public_metrics.playback_50_count"),
    ("non_public_playback_75_count", "non_public_metrics.playback_75_count"),
    ("non_public_playback_100_count", "non_public_metrics.playback_100_count"),
    ("organic_playback_0_count", "organic_metrics.playback_0_count"),
    ("organic_playback_25_count", "organic_metrics.playback_25_count"),
    ("organic_playback_50_count", "organic_metrics.playback_50_count"),
    ("organic_playback_75_count", "organic_metrics.playback_75_count"),
    ("organic_playback_100_count", "organic_metrics.playback_100_count"),
    ("organic_view_count", "organic_metrics.view_count"),
    ("promoted_playback_0_count", "promoted_metrics.playback_0_count"),
    ("promoted_playback_25_count", "promoted_metrics.playback_25_count"),
    ("promoted_playback_50_count", "promoted_metrics.playback_50_count"),
    ("promoted_playback_75_count", "promoted_metrics.playback_75_count"),
    ("promoted_playback_100_count", "promoted_metrics.playback_100_count"),
    ("promoted_view_count", "promoted_metrics.view_count"),
)
STATUSES = (
    (1, "ok"),
    (2, "not_promoted"),
    (3, "public_only_not_owner"),
    (4, "public_only_too_old"),
    (5, "public_only_app_only"),
    (6, "public_only_not_authorized"),
    (7, "not_found"),
    (8, "not_authorized"),
    (9, "failed"),
)
EXTRA_COMMENT = "metric fields the catalogue lacks (JSON)"


def _metrics(pairs: Sequence[tuple[str, str]]) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger, nullable=True, comment=path) for name, path in pairs]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("pk", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_accounts"),
        sa.UniqueConstraint("user_id", name="uq_accounts_user_id"),
        comment="X accounts whose reads are stored: user ID and handle, never a credential",
    )
    op.create_table(
        "fetches",
        sa.Column("pk", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("fetched_at", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Integer, nullable=False, comment="UTC day number: fetched_at // 86400"),
        sa.Column("saved_at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("account_pk", sa.Integer, nullable=False),
        sa.Column("groups", sa.String(80), nullable=False),
        sa.Column("api_calls", sa.Integer, nullable=False),
        sa.Column("snapshot_count", sa.Integer, nullable=False),
        sa.Column("media_snapshot_count", sa.Integer, nullable=False),
        sa.Column("read_count", sa.Integer, nullable=False, comment="Posts X returned"),
        sa.PrimaryKeyConstraint("pk", name="pk_fetches"),
        sa.UniqueConstraint("fingerprint", name="uq_fetches_fingerprint"),
        sa.ForeignKeyConstraint(
            ["account_pk"], ["accounts.pk"], name="fk_fetches_account_pk_accounts"
        ),
        comment="one row per saved FetchResult; saving it again finds its fingerprint and stops",
    )
    op.create_index("ix_fetches_fetched_at_pk", "fetches", ["fetched_at", "pk"])
    op.create_index("ix_fetches_day_fetched_at_pk", "fetches", ["day", "fetched_at", "pk"])
    op.create_table(
        "posts",
        sa.Column("pk", sa.Integer, nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_posts"),
        sa.UniqueConstraint("id", name="uq_posts_id"),
    )
    op.create_index("ix_posts_author_id", "posts", ["author_id"])
    statuses = op.create_table(
        "statuses",
        sa.Column("code", sa.SmallInteger, autoincrement=False, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_statuses"),
        sa.UniqueConstraint("name", name="uq_statuses_name"),
        comment="names of post_snapshots.status codes",
    )
    op.bulk_insert(statuses, [{"code": code, "name": name} for code, name in STATUSES])
    op.create_table(
        "status_details",
        sa.Column("pk", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_status_details"),
        sa.UniqueConstraint("text", name="uq_status_details_text"),
    )
    op.create_table(
        "post_snapshots",
        sa.Column(
            "fetch_pk", sa.Integer, autoincrement=False, nullable=False, comment="fetches.pk"
        ),
        sa.Column("post_pk", sa.Integer, autoincrement=False, nullable=False, comment="posts.pk"),
        sa.Column("fetched_at", sa.BigInteger, nullable=False),
        sa.Column("account_pk", sa.Integer, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("detail_pk", sa.Integer, nullable=True),
        *_metrics(POST_METRICS),
        sa.Column("extra", sa.Text, nullable=True, comment=EXTRA_COMMENT),
        sa.PrimaryKeyConstraint("fetch_pk", "post_pk", name="pk_post_snapshots"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "post_days",
        sa.Column("post_pk", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("post_pk", "day", name="pk_post_days"),
        sa.ForeignKeyConstraint(["post_pk"], ["posts.pk"], name="fk_post_days_post_pk_posts"),
        comment="the UTC days on which a Post has snapshots: the way into post_snapshots",
        sqlite_with_rowid=False,
    )
    op.create_table(
        "media",
        sa.Column("pk", sa.Integer, nullable=False),
        sa.Column("media_key", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("duration_ms", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_media"),
        sa.UniqueConstraint("media_key", name="uq_media_media_key"),
    )
    op.create_table(
        "media_posts",
        sa.Column("media_pk", sa.Integer, nullable=False),
        sa.Column("post_pk", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("media_pk", "post_pk", name="pk_media_posts"),
        sa.ForeignKeyConstraint(["media_pk"], ["media.pk"], name="fk_media_posts_media_pk_media"),
        sa.ForeignKeyConstraint(["post_pk"], ["posts.pk"], name="fk_media_posts_post_pk_posts"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "media_snapshots",
        sa.Column(
            "fetch_pk", sa.Integer, autoincrement=False, nullable=False, comment="fetches.pk"
        ),
        sa.Column("media_pk", sa.Integer, autoincrement=False, nullable=False, comment="media.pk"),
        sa.Column("fetched_at", sa.BigInteger, nullable=False),
        sa.Column("account_pk", sa.Integer, nullable=False),
        *_metrics(MEDIA_METRICS),
        sa.Column("extra", sa.Text, nullable=True, comment=EXTRA_COMMENT),
        sa.PrimaryKeyConstraint("fetch_pk", "media_pk", name="pk_media_snapshots"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "media_days",
        sa.Column("media_pk", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("media_pk", "day", name="pk_media_days"),
        sa.ForeignKeyConstraint(["media_pk"], ["media.pk"], name="fk_media_days_media_pk_media"),
        comment="the UTC days on which a media item has snapshots: the way into media_snapshots",
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reads",
        sa.Column("day", sa.Date, nullable=False, comment="UTC day of the read"),
        sa.Column("account_pk", sa.Integer, nullable=False),
        sa.Column("post_pk", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("owned", sa.Boolean, nullable=False),
        sa.Column("first_read_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "account_pk", "post_pk", "source", name="pk_reads"),
        sa.ForeignKeyConstraint(
            ["account_pk"], ["accounts.pk"], name="fk_reads_account_pk_accounts"
        ),
        sa.ForeignKeyConstraint(["post_pk"], ["posts.pk"], name="fk_reads_post_pk_posts"),
        comment="the cost ledger: the Posts read each UTC day, by account and source",
    )


def downgrade() -> None:
    for table in (
        "reads",
        "media_days",
        "media_snapshots",
        "media_posts",
        "media",
        "post_days",
        "post_snapshots",
        "status_details",
        "statuses",
        "posts",
        "fetches",
        "accounts",
    ):
        op.drop_table(table)
