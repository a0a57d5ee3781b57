"""The one settings object: every knob, its default and what it is for.

Values come from ``NOTRAIN_*`` environment variables (or a ``.env`` file); command-line
options override them for one run.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTRAIN_", env_file=".env", extra="ignore")

    build_memory_limit: str = Field(
        "1GB", description="Memory the build engine may use before spilling to disk."
    )
    build_threads: int | None = Field(
        None, description="Worker threads for the build engine (default: one per core)."
    )
    build_shard_rows: int = Field(
        1_000_000, gt=0, description="Kept rows per part-*.parquet shard of a dataset."
    )
    build_batch_rows: int = Field(
        65_536, gt=0, description="Rows per batch streamed from the engine to the writer."
    )


def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # every field has a default
