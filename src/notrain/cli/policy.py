"""``notrain policy``: show, check and explain build policies."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from notrain.cli.common import out

policy_app = typer.Typer(help="Read, check and explain build policies.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


@policy_app.command("show-default")
def policy_show_default() -> None:
    """Print the shipped default policy, with the reasons for each setting."""
    from notrain.policy.loader import default_policy_text

    sys.stdout.write(default_policy_text())


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="The policy TOML file to check.")],
) -> None:
    """Validate a policy file; errors name the line and key."""
    from notrain.policy.loader import load_policy

    loaded = load_policy(file)
    out.print(f"{file}: ok (policy {loaded.policy.name!r}, sha256 {loaded.sha256})")


@policy_app.command("explain")
def policy_explain(
    file: Annotated[
        Path | None, typer.Argument(help="The policy TOML file (default: the shipped one).")
    ] = None,
) -> None:
    """Print the rules of a policy in order, in plain words."""
    from notrain.policy.explain import explain_policy
    from notrain.policy.loader import load_default_policy, load_policy

    loaded = load_policy(file) if file else load_default_policy()
    for line in explain_policy(loaded):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
