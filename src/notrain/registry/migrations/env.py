"""Alembic's entry point: runs the migrations on the connection ``db.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from notrain.registry.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations through notrain.registry.db.migrate (notrain registry migrate)"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
