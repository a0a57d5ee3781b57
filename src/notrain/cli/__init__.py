"""The ``notrain`` command: parses arguments, calls the library, maps errors to exit codes.

Each part of notrain registers its commands from its own module in this package; this
module holds the root app, the consoles and the error handling they share.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from notrain import __version__
from notrain.cli.common import err, out
from notrain.errors import NotrainError

app = typer.Typer(
    help="notrain: say no to AI training, and make that no hold all the way into the data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"notrain {__version__}")
        raise typer.Exit()


def _register() -> None:
    from notrain.cli import corpus, policy

    corpus.register(app)
    policy.register(app)
    from notrain.cli import admin, audit, mail, registry, requests

    registry.register(app)
    requests.register(app)
    audit.register(app)
    admin.register(app)
    mail.register(app)
    from notrain.cli import signals

    signals.register(app)
    from notrain.cli import portal

    portal.register(app)
    from notrain.cli import lineage

    lineage.register(app)
    from notrain.cli import doctor

    doctor.register(app)
    from notrain.cli import redact

    redact.register(app)
    from notrain.cli import proofs

    proofs.register(app)


_register()


def main() -> None:
    """Entry point: run the app and turn notrain's errors into one line and an exit code."""
    try:
        app()
    except NotrainError as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was published")
        sys.exit(130)
