"""users, subscriptions, feed items

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("agency_code", sa.String(length=100), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("export_name", sa.String(length=64), nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=True),
        sa.Column("agency_code", sa.String(length=100), nullable=True),
        sa.Column("obligation_code", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("milestones", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("export_name"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_table(
        "feed_items",
        sa.Column("uid", sa.String(length=320), nullable=False),
        sa.Column("occurrence_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("agency_code", sa.String(length=100), nullable=False),
        sa.Column("obligation_code", sa.String(length=100), nullable=False),
        sa.Column("channels", sa.String(length=200), nullable=False),
        sa.Column("sort_key", sa.String(length=400), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.Column("ical_vi", sa.LargeBinary(), nullable=False),
        sa.Column("ical_en", sa.LargeBinary(), nullable=False),
        sa.Column("digest_vi", sa.String(length=64), nullable=False),
        sa.Column("digest_en", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
        ),
        sa.PrimaryKeyConstraint("uid"),
    )
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.create_index("ix_feed_items_change", ["change"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_items_occurrence_id"), ["occurrence_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_items_occurrence_id"))
        batch_op.drop_index("ix_feed_items_change")

    op.drop_table("feed_items")
    op.drop_table("subscriptions")
    op.drop_table("users")
    op.drop_table("counters")
