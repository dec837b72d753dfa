"""Alembic environment: migrations run on the connection the service hands in."""

from alembic import context

from scheduler.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through scheduler.store.database.migrate()")

context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
)
with context.begin_transaction():
    context.run_migrations()
