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


@admin_app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. ingest-pipeline.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="What the key may do, repeatable: status (read accounts' decisions, the "
            "default) or submit (make members' requests from the platform's server)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a key for the portal's platform API; it is printed once, kept hashed."""
    import getpass

    from notrain.registry.apikeys import DEFAULT_SCOPES
    from notrain.registry.apikeys import create_api_key as create

    with opened(db) as registry:
        view, key = create(
            registry.session, name, now=registry.now(), actor=f"admin:{getpass.getuser()}",
            scopes=scope or DEFAULT_SCOPES,
        )  # fmt: skip
    out.print(
        f"API key {view.name} created with scope {' '.join(view.scopes)}; it is shown only now:",
        highlight=False,
    )
    sys.stdout.write(key + "\n")


@admin_app.command("revoke-api-key")
def revoke_api_key(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    db: DbOption = None,
) -> None:
    """Revoke an API key; requests with it are refused from now on."""
    import getpass

    from notrain.registry.apikeys import revoke_api_key as revoke

    with opened(db) as registry:
        view = revoke(
            registry.session, name, now=registry.now(), actor=f"admin:{getpass.getuser()}"
        )
    out.print(f"API key {view.name} revoked", highlight=False)
