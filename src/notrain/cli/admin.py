"""``notrain admin``: accounts of the privacy officers who use the console."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from notrain.cli.common import out
from notrain.cli.registry import DbOption, opened

admin_app = typer.Typer(help="Console accounts of privacy officers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="The officer's sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input instead of asking.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a console account; the password is stored as an argon2id hash."""
    import getpass

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with opened(db) as registry:
        officer = registry.create_officer(username, password, actor=f"admin:{getpass.getuser()}")
    out.print(f"officer {officer.username} created", highlight=False)
