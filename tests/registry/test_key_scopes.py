"""Migration 0008: keys made before scopes existed keep what they could do (``status``)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from notrain.registry.apikeys import authenticate_api_key, key_hash
from notrain.registry.db import _alembic_config, create_registry_engine, migrate

OLD_KEY = "ntk_" + "A" * 43


def test_existing_keys_get_the_status_scope_and_downgrade_drops_scopes(database_url: str) -> None:
    engine = create_registry_engine(database_url)
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            connection.execute(
                text("INSERT INTO api_keys (name, prefix, key_hash, created_at) "
                     "VALUES ('old-pipeline', :prefix, :hash, :at)"),
                {"prefix": OLD_KEY[:12], "hash": key_hash(OLD_KEY),
                 "at": datetime(2026, 1, 1, tzinfo=UTC)},
            )  # fmt: skip
        migrate(engine)
        with Session(engine) as session:
            assert authenticate_api_key(session, OLD_KEY).scopes == ("status",)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
            columns = {c["name"] for c in inspect(connection).get_columns("api_keys")}
        assert "scopes" not in columns
    finally:
        engine.dispose()
