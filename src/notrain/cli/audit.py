"""``notrain audit``: check the audit trail's hash chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notrain.cli.common import err, out
from notrain.cli.registry import DbOption, opened

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(help="A head hash kept elsewhere earlier; it must be in the chain."),
    ] = None,
    since_head: Annotated[
        Path | None,
        typer.Option(
            help="A signed tree head saved earlier (the JSON of /transparency/head): prove the "
            "log only grew since."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Walk the chain and the transparency log's tree; name every changed, removed or
    reordered event. Exit 16 if broken."""
    from notrain.cli.proofs import check_log
    from notrain.errors import AuditChainBroken

    with opened(db) as registry:
        report = registry.verify_audit()
        known = registry.audit_hashes({expect_head}) if expect_head else set()
        log_problems = check_log(registry.session, since_head)
    for problem in report.problems:
        err.print(f"audit: event {problem.seq}: {problem.kind}: {problem.message}",
                  highlight=False, markup=False)  # fmt: skip
    if expect_head and expect_head not in known:
        raise AuditChainBroken(
            f"audit trail: the head {expect_head} kept earlier is not in the chain"
        )
    report.raise_if_broken()
    if log_problems:
        raise AuditChainBroken(f"transparency log: {log_problems[0]}")
    out.print(
        f"audit trail intact: {report.events} events, head {report.head_hash}", highlight=False
    )
