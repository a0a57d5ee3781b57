"""The ``notrain`` command: parses arguments, calls the library, maps errors to exit codes.

Each part of notrain registers its commands from its own module in this package; this
module holds the root app, the consoles and the error handling they share. A command line
imports only the modules that register its command (:data:`COMMANDS`), so that, say,
``notrain recall`` does not load the registry's, the portal's or every other command's
imports first; :data:`app` is the root with every command, built when first used.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Annotated

import typer

from notrain import __version__
from notrain.cli.common import err, out
from notrain.errors import NotrainError

# The modules registering commands, in the order help lists their commands, with the
# top-level commands each adds (lineage adds commands under `dataset` too).
COMMANDS: dict[str, tuple[str, ...]] = {
    "corpus": ("synth", "build", "recall", "build-web", "dataset"),
    "policy": ("policy",),
    "registry": ("registry",),
    "requests": ("requests",),
    "audit": ("audit",),
    "admin": ("admin",),
    "mail": ("mail",),
    "signals": ("signals",),
    "portal": ("serve",),
    "lineage": ("dataset", "models", "impact", "access"),
    "doctor": ("doctor",),
    "redact": ("redact",),
    "proofs": ("proof",),
}

if TYPE_CHECKING:
    app: typer.Typer  # every command; built on first use by __getattr__ below


def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"notrain {__version__}")
        raise typer.Exit()


def build_app(modules: Iterable[str] = COMMANDS) -> typer.Typer:
    """The root app with the commands of these modules of :data:`COMMANDS` (default: all)."""
    root = typer.Typer(
        help="notrain: say no to AI training, and make that no hold all the way into the data.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    root.callback(invoke_without_command=True)(_root)
    for module in modules:
        import_module(f"notrain.cli.{module}").register(root)
    return root


def modules_for(args: Sequence[str]) -> list[str]:
    """The modules a command line needs: those adding its command, or else all of them.

    The root's options take no value, so the command is the first argument that is not an
    option. Without one, or after ``--help``, the root's help lists every command; only
    ``notrain --version`` needs none.
    """
    for arg in args:
        if arg == "--help":
            break
        if not arg.startswith("-"):
            return [module for module, names in COMMANDS.items() if arg in names] or list(COMMANDS)
    else:
        if args and set(args) == {"--version"}:
            return []
    return list(COMMANDS)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point: run the app and turn notrain's errors into one line and an exit code."""
    try:
        build_app(modules_for(sys.argv[1:]))()
    except NotrainError as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was published")
        sys.exit(130)
