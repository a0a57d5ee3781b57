"""A command line imports only its command's modules, and sees the same command as ``app``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from notrain import __version__, cli

FULL = typer.main.get_command(cli.app)
TOP = sorted(FULL.commands)  # type: ignore[attr-defined]  # the root is a group


def _tree(command: Any) -> object:
    """What a command is: its help, its parameters and the same of every subcommand."""
    return (
        command.help,
        [(p.name, p.opts, p.required, p.default) for p in command.params],
        {name: _tree(sub) for name, sub in getattr(command, "commands", {}).items()},
    )


@pytest.mark.parametrize("name", TOP)
def test_a_command_line_builds_the_same_command_from_its_modules_alone(name: str) -> None:
    modules = cli.modules_for([name, "--help"])
    assert modules != list(cli.COMMANDS), f"{name} is missing from notrain.cli.COMMANDS"
    partial = typer.main.get_command(cli.build_app(modules))
    assert _tree(partial.commands[name]) == _tree(FULL.commands[name])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args", [[], ["--help"], ["--help", "recall"], ["nonsense"], ["--version", "--help"]]
)
def test_root_help_and_unknown_commands_load_every_module(args: list[str]) -> None:
    assert cli.modules_for(args) == list(cli.COMMANDS)


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``notrain ARGS`` through its entry point; the modules it had imported at exit."""
    loaded = tmp_path / "modules.json"
    code = (
        "import json, sys\n"
        "from notrain.cli import main\n"
        f"sys.argv = ['notrain', *{list(args)!r}]\n"
        "try:\n    main()\n"
        f"finally:\n    open({str(loaded)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    return result, set(json.loads(loaded.read_text()))


def test_recall_help_loads_neither_the_settings_nor_other_commands(tmp_path: Path) -> None:
    result, loaded = _run(tmp_path, "recall", "--help")
    assert result.returncode == 0, result.stderr
    assert "--dataset" in result.stdout
    unwanted = {"notrain.settings", "pydantic_settings", "notrain.cli.registry", "notrain.portal"}
    assert not unwanted & loaded
    assert not {"fastapi", "sqlalchemy", "duckdb"} & loaded  # nor the libraries of the commands


def test_version_loads_no_command(tmp_path: Path) -> None:
    result, loaded = _run(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"notrain {__version__}\n"
    assert not {m for m in loaded if m.startswith("notrain.cli.")} - {"notrain.cli.common"}


def test_errors_keep_their_message_and_exit_code(tmp_path: Path) -> None:
    result, loaded = _run(tmp_path, "recall", "--dataset", "missing", "--out", "new")
    assert result.returncode == 3
    assert result.stderr.startswith("error: missing: not a dataset")
    assert "notrain.portal" not in loaded
