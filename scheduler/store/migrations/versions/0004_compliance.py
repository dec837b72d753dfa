"""compliance projections: ledger columns derived from each entry's content,
and when an occurrence was cancelled

Revision ID: 0004
Revises: 0003
"""

from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moment", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("conforming", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("extra", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE occurrences SET cancelled_at = updated_at WHERE status = 'cancelled'")
    backfill(op.get_bind())


def backfill(bind) -> None:
    """Derive the new columns of existing entries from their content (the
    append-only trigger is lifted for this one migration)."""
    import json
    from datetime import datetime

    rows = bind.execute(sa.text("SELECT seq, kind, content FROM ledger")).all()
    if not rows:
        return
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        bind.execute(sa.text("ALTER TABLE ledger DISABLE TRIGGER ledger_no_change"))
    for seq, kind, content in rows:
        payload = json.loads(content)["payload"]
        moment = payload.get("moment")
        moment = datetime.fromisoformat(moment).astimezone(UTC).replace(tzinfo=None) if moment else None
        bind.execute(
            sa.text("UPDATE ledger SET moment = :m, conforming = :c, late = :l, extra = :e WHERE seq = :s"),
            {
                "m": moment,
                "c": kind == "excuse" or bool(payload.get("conforming")),
                "l": bool(payload.get("late")),
                "e": bool(payload.get("extra")),
                "s": seq,
            },
        )
    if postgres:
        bind.execute(sa.text("ALTER TABLE ledger ENABLE TRIGGER ledger_no_change"))


def downgrade() -> None:
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")

    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_column("extra")
        batch_op.drop_column("late")
        batch_op.drop_column("conforming")
        batch_op.drop_column("moment")
