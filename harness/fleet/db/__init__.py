"""The results database: every run, unit, scenario result and measurement of the fleet, through
SQLAlchemy (SQLite by default, PostgreSQL when benches share results) with Alembic migrations.

The run folder's ``record.json`` stays the source of truth; the database is an index over many run
folders that a lot decision or a fleet report can query. :mod:`.store` writes a record in one
transaction, :mod:`.models` names the tables, ``migrations/`` evolves them.
"""
