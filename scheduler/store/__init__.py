"""The database edge: tables, migrations and the few queries the service needs."""
