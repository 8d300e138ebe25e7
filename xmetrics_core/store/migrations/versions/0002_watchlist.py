"""The collector's watchlist (with claims) and the accounts it follows for new Posts.

Revision ID: 0002_watchlist
Revises: 0001_history
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_watchlist"
down_revision: str | Sequence[str] | None = "0001_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watchlist",
        sa.Column("post_pk", sa.Integer, nullable=False),
        sa.Column("added_at", sa.BigInteger, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("post_pk", name="pk_watchlist"),
        sa.ForeignKeyConstraint(["post_pk"], ["posts.pk"], name="fk_watchlist_post_pk_posts"),
        comment="Posts the collector reads on a schedule by age; claims keep two collectors apart",
    )
    op.create_table(
        "watched_accounts",
        sa.Column("account_pk", sa.Integer, nullable=False),
        sa.Column("added_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_pk", name="pk_watched_accounts"),
        sa.ForeignKeyConstraint(
            ["account_pk"], ["accounts.pk"], name="fk_watched_accounts_account_pk_accounts"
        ),
        comment="accounts whose new Posts the collector adds to the watchlist (watch --mine)",
    )


def downgrade() -> None:
    op.drop_table("watched_accounts")
    op.drop_table("watchlist")
