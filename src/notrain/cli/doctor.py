"""``notrain doctor``: check a deployment."""

from __future__ import annotations

import typer
from rich.table import Table

from notrain.cli.common import out
from notrain.settings import get_settings

MARKS = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


def register(app: typer.Typer) -> None:
    app.command()(doctor)


def doctor() -> None:
    """Check the deployment: database, migrations, mail, audit chain, secret key.

    Exits 1 if any check fails; warnings do not fail.
    """
    from notrain.doctor import diagnose

    checks = diagnose(get_settings())
    table = Table(title="notrain doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    for check in checks:
        table.add_row(check.name, MARKS[check.status], check.detail)
    out.print(table)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(code=1)
