"""evidence from the outlets' own systems: proposals, the sources the daemon
reads with their host's lease, and the history of every fetch and check

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("outlet", sa.String(length=100), nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("obligation_code", sa.String(length=100), nullable=False),
        sa.Column("occurrence_id", sa.String(length=255), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_proposals_open", "proposals", ["state", "outlet"], unique=False)
    op.create_index("ix_proposals_occurrence", "proposals", ["occurrence_id"], unique=False)
    op.create_table(
        "harvest_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("outlet", sa.String(length=100), nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("obligation_code", sa.String(length=100), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=False),
        sa.Column("last_modified", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_harvest_sources_due", "harvest_sources", ["active", "next_at"], unique=False)
    op.create_table(
        "harvest_hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_request_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("host"),
    )
    op.create_table(
        "harvest_fetches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["harvest_sources.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_harvest_fetches_source", "harvest_fetches", ["source_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_harvest_fetches_source", table_name="harvest_fetches")
    op.drop_table("harvest_fetches")
    op.drop_table("harvest_hosts")
    op.drop_index("ix_harvest_sources_due", table_name="harvest_sources")
    op.drop_table("harvest_sources")
    op.drop_index("ix_proposals_occurrence", table_name="proposals")
    op.drop_index("ix_proposals_open", table_name="proposals")
    op.drop_table("proposals")
