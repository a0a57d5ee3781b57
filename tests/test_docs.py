"""Every command and every setting is documented (the README and the docs site), with help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from notrain.cli import app
from notrain.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# The README is the front page; the reference lives in docs/ (the MkDocs site).
DOCS = "\n".join(
    path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
)


def _commands(group: Any, prefix: str = "notrain") -> list[tuple[str, Any]]:
    """(command line, command) of every leaf command under a Typer group."""
    found: list[tuple[str, Any]] = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_there_are_commands() -> None:
    assert len(COMMANDS) >= 6


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_is_documented_and_has_help(path: str, command: Any) -> None:
    assert f"`{path}" in DOCS, f"{path} is not in README.md or docs/"
    assert command.help, f"{path} has no help text"
    result = CliRunner().invoke(app, [*path.split()[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description, f"setting {name} has no description"
    assert f"NOTRAIN_{name.upper()}" in DOCS, f"NOTRAIN_{name.upper()} is not documented"
