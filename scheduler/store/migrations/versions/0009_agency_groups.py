"""agency groups: a group's members; an occurrence's member in its key

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # one row per member (not a JSON list): "the group's occurrences" is then one subquery on every database
    op.create_table(
        "agency_members",
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("group_code", sa.String(length=100), nullable=False),
        sa.Column("member_code", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_code"],
            ["plans.code"],
        ),
        sa.PrimaryKeyConstraint("plan_code", "group_code", "member_code"),
    )
    with op.batch_alter_table("agency_members", schema=None) as batch_op:
        batch_op.create_index("ix_agency_members_member", ["plan_code", "member_code"], unique=False)
    # the member an occurrence was created for ("" for hosts that are not groups: every stored row)
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member", sa.String(length=100), server_default="", nullable=False))
        batch_op.drop_constraint("uq_occurrence_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_occurrence_key", ["plan_code", "obligation_code", "member", "period", "number"]
        )


def downgrade() -> None:
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.drop_constraint("uq_occurrence_key", type_="unique")
        batch_op.create_unique_constraint("uq_occurrence_key", ["plan_code", "obligation_code", "period", "number"])
        batch_op.drop_column("member")
    with op.batch_alter_table("agency_members", schema=None) as batch_op:
        batch_op.drop_index("ix_agency_members_member")
    op.drop_table("agency_members")
