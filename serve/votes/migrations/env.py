"""Alembic's environment for the votes database, run programmatically by
`serve.votes.database.migrate` (the connection comes in `config.attributes["connection"]`)."""

from __future__ import annotations

from alembic import context

from serve.votes.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite's ALTER is weak
with context.begin_transaction():
    context.run_migrations()
