"""``notrain doctor``: check a deployment."""

from __future__ import annotations

import typer
from rich.markup import escape

from notrain.cli.common import out

MARKS = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


def register(app: typer.Typer) -> None:
    app.command()(doctor)


def doctor() -> None:
    """Check the deployment: database, migrations, mail, audit chain, secret key.

    Prints one line per check; exits 1 if any check fails; warnings do not fail.
    """
    from notrain.doctor import diagnose
    from notrain.settings import get_settings

    checks = diagnose(get_settings())
    for check in checks:
        # One line each, never wrapped or cut: the detail is the evidence (a path, a URL)
        # and is read in logs and grepped as often as on a terminal.
        out.print(f"{MARKS[check.status]} {check.name}: {escape(check.detail)}", soft_wrap=True)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(code=1)
