"""one DHA, many plans: the agency registry and successions, a plan's
province, closed periods, occurrences moved by a succession or from the web

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("province", sa.String(length=100), server_default="", nullable=False))
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_from", sa.String(length=100), server_default="", nullable=False))
    op.create_table(
        "registry_agencies",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("province", sa.String(length=100), server_default="", nullable=False),
        sa.Column("dissolved_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "successions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agency_code", sa.String(length=100), nullable=False),
        sa.Column("successor", sa.String(length=100), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("old_name", sa.Text(), nullable=False),
        sa.Column("old_name_en", sa.Text(), nullable=False),
        sa.Column("new_name", sa.Text(), nullable=False),
        sa.Column("new_name_en", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("successions", schema=None) as batch_op:
        batch_op.create_index("ix_successions_agency", ["agency_code", "effective_on"], unique=False)
    op.create_table(
        "occurrence_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("occurrence_id", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.DateTime(), nullable=True),
        sa.Column("due", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("made_by", sa.String(length=320), nullable=False),
        sa.Column("overridden_at", sa.DateTime(), nullable=True),
        sa.Column("overridden_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan_code"], ["plans.code"]),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrences.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("occurrence_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_occurrence_exceptions_occurrence", ["occurrence_id"], unique=False)
    op.create_table(
        "closed_periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("province", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("cutoff", sa.Boolean(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("plans", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by", sa.String(length=320), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("province", "label", "cutoff", name="uq_closed_period"),
    )


def downgrade() -> None:
    op.drop_table("closed_periods")
    with op.batch_alter_table("occurrence_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_occurrence_exceptions_occurrence")
    op.drop_table("occurrence_exceptions")
    with op.batch_alter_table("successions", schema=None) as batch_op:
        batch_op.drop_index("ix_successions_agency")
    op.drop_table("successions")
    op.drop_table("registry_agencies")
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.drop_column("moved_from")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("province")
