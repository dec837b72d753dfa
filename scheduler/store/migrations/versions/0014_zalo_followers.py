"""the Zalo channel: when each follower last wrote to the Official Account
(the consultation window runs from it) and whether they still follow it

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zalo_followers",
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("last_interaction_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )


def downgrade() -> None:
    op.drop_table("zalo_followers")
