"""``notrain redact``: what a build would keep of a text, to check a case in a second."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from notrain.errors import UserError


def register(app: typer.Typer) -> None:
    app.command("redact")(redact)


def redact(
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to redact, each as one argument.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Redact each line of this UTF-8 file ('-': stdin)."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML file (default: the shipped policy).")
    ] = None,
    identifier: Annotated[
        list[str] | None,
        typer.Option(
            "--identifier",
            help="A non-member's identifier (e-mail, handle, name) as a registry lists it;"
            " may be repeated.",
        ),
    ] = None,
) -> None:
    """Print each text as a build under the policy would keep it, one per line.

    E-mail addresses, IP addresses and phone numbers are replaced as the policy's
    [redaction] switches say, and the given identifiers as [redacted]; the rest is kept.
    """
    from notrain.corpus.redaction import redact_texts
    from notrain.policy.loader import load_default_policy, load_policy

    given = list(texts or [])
    if file is not None:
        given += _lines(file)
    if not given:
        raise UserError("nothing to redact: give a text or --file")
    loaded = load_policy(policy) if policy else load_default_policy()
    for line in redact_texts(given, loaded.policy, identifier or []):
        # Written as they are: "[phone]" is no console markup.
        sys.stdout.write(line + "\n")


def _lines(file: Path) -> list[str]:
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as error:
        raise UserError(f"{file}: cannot be read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserError(f"{file}:{line}: not UTF-8 text") from None
    return text.removeprefix("\ufeff").splitlines()
