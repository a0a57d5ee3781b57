"""The names of the build engines, apart from the settings so the CLI can offer them cheaply.

Importing :mod:`notrain.settings` loads pydantic-settings (about 0.15 s); ``notrain build``
needs these names to declare its ``--engine`` option before it reads any setting.
"""

from __future__ import annotations

from enum import StrEnum


class EngineName(StrEnum):
    """The engines a build can run on."""

    DUCKDB = "duckdb"
    SPARK = "spark"
