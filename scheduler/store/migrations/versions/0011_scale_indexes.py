"""indexes for reports at a national scale: the window filter of a report
(the country's, a list of plans'), the statuses' read of the ledger from one
covering index, and the supersession anti-join on the few corrections

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NOT_NULL = sa.text("supersedes IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_occurrences_window_end", "occurrences", ["window_end"], unique=False)
    op.create_index("ix_occurrences_plan_window_end", "occurrences", ["plan_code", "window_end"], unique=False)
    op.create_index(
        "ix_ledger_status",
        "ledger",
        ["occurrence_id", "recorded_at", "kind", "conforming", "late", "extra", "supersedes", "seq"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_supersedes",
        "ledger",
        ["supersedes"],
        unique=False,
        sqlite_where=NOT_NULL,
        postgresql_where=NOT_NULL,
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_supersedes", table_name="ledger")
    op.drop_index("ix_ledger_status", table_name="ledger")
    op.drop_index("ix_occurrences_plan_window_end", table_name="occurrences")
    op.drop_index("ix_occurrences_window_end", table_name="occurrences")
