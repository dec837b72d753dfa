"""sessions kept on the server; addresses in lower case

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _lower_addresses()  # first: a clash stops the migration before anything changed
    op.create_table(
        "sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id_sha256"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user", ["user_id"], unique=False)


def _lower_addresses() -> None:
    """Addresses are looked up in lower case from now on: lower the stored
    ones, unless two would become one (then say which, and change nothing)."""
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String))
    rows = list(bind.execute(sa.select(users.c.id, users.c.email)))
    seen: dict[str, list[str]] = {}
    for _, email in rows:
        seen.setdefault(email.strip().lower(), []).append(email)
    clashes = sorted(v for v in seen.values() if len(v) > 1)
    if clashes:
        raise RuntimeError(
            "users differ only by capitals in their address and would become one: "
            + "; ".join(" and ".join(c) for c in clashes)
            + ". Change or remove all but one of each in the users table, then start again."
        )
    for uid, email in rows:
        if email != email.strip().lower():
            bind.execute(users.update().where(users.c.id == uid).values(email=email.strip().lower()))


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user")
    op.drop_table("sessions")
