"""Our state (edge): SQLAlchemy tables, Alembic migrations and the queries the
service needs; the files on disk (atomic writes, the evidence store, kept
checkpoints and the ledger key, exported feeds); and the transactions that
write them (load a plan, record a delivery, audit the ledger, build a report).

May use: the pure core, settings and SQLAlchemy/Alembic. Not notifiers, the
daemon, the web or the command line.
"""
