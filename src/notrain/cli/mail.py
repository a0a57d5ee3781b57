"""``notrain mail``: deliver the queued mail, or see what waits."""

from __future__ import annotations

from typing import Annotated

import typer

from notrain.cli.common import out
from notrain.cli.registry import DbOption, OutboxOption, opened, transport

mail_app = typer.Typer(help="The registry's outgoing mail queue.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(mail_app, name="mail")


@mail_app.command("deliver")
def deliver(
    limit: Annotated[int, typer.Option(min=1, help="At most this many messages.")] = 500,
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Send every queued message that is due; failures stay queued for a later run."""
    from notrain.errors import MailDeliveryError

    chosen = transport(outbox)
    with opened(db) as registry:
        report = registry.deliver_mail(chosen, limit=limit)
    out.print(f"{chosen.describe()}: {report.sent} sent, {report.pending} waiting", highlight=False)
    if report.error:
        raise MailDeliveryError(report.error)
