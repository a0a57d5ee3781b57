"""``notrain requests``: the privacy officer's list, show, decide, extend and apply."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from notrain.cli.common import out
from notrain.cli.registry import DbOption, OutboxOption, opened, send_mail

requests_app = typer.Typer(
    help="Review and decide requests, keep their deadlines.", no_args_is_help=True
)


class Outcome(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


def register(app: typer.Typer) -> None:
    app.add_typer(requests_app, name="requests")


def _officer(name: str | None) -> str:
    import getpass

    return name or getpass.getuser()


OfficerOption = Annotated[
    str | None, typer.Option("--officer", help="Who decides (default: the OS user); audited.")
]


@requests_app.command("list")
def list_(
    state: Annotated[str | None, typer.Option(help="Only requests in this state.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="Only requests of this kind: objection, objection_withdrawal, consent, "
            "consent_withdrawal, access or erasure."
        ),
    ] = None,
    overdue: Annotated[bool, typer.Option(help="Only open requests past their deadline.")] = False,
    due_soon: Annotated[
        bool, typer.Option(help="Only open requests due within NOTRAIN_DUE_SOON_DAYS.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 1000,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    db: DbOption = None,
) -> None:
    """List requests, oldest first (by deadline with --overdue or --due-soon)."""
    with opened(db) as registry:
        views = registry.list(
            state=state, kind=kind, overdue=overdue, due_soon=due_soon, limit=limit
        )
    if json_output:
        for view in views:
            sys.stdout.write(json.dumps(view.as_dict()) + "\n")
        return
    table = Table(title=f"{len(views)} request(s)")
    for column in ("id", "kind", "state", "received", "due", "email", "country"):
        table.add_column(column, no_wrap=column in ("id", "state"))
    for v in views:
        due = v.due_at.date().isoformat() + (
            f" (+{v.extended_months}m)" if v.extended_months else ""
        )
        table.add_row(
            v.id, v.kind, v.state, v.received_at.date().isoformat(), due, v.email, v.country
        )
    out.print(table)


@requests_app.command("show")
def show(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show a request, what it covers, and its audit trail."""
    with opened(db) as registry:
        view = registry.get(request_id)
    data = view.as_dict()
    if json_output:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    for key, value in data.items():
        if key in ("events", "identifiers", "subjects"):
            continue
        out.print(f"{key:>17}: {value}", highlight=False, markup=False)
    out.print(f"{'identifiers':>17}: {', '.join(f'{k}={v}' for k, v in view.identifiers)}",
              highlight=False, markup=False)  # fmt: skip
    out.print(f"{'accounts':>17}: {', '.join(f'{s} (by {b})' for s, b in view.subjects)}",
              highlight=False, markup=False)  # fmt: skip
    for event in view.events:
        detail = json.dumps(event.detail, ensure_ascii=False)
        out.print(f"  #{event.seq} {event.at.isoformat()} {event.actor} {event.action} {detail}",
                  highlight=False, markup=False)  # fmt: skip


@requests_app.command("decide")
def decide(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    outcome: Annotated[Outcome, typer.Argument(help="accept or reject.")],
    reason: Annotated[
        str | None, typer.Option(help="Why (required to reject; the requester is told).")
    ] = None,
    identity_checked: Annotated[
        bool,
        typer.Option(
            "--identity-checked",
            help="You checked that the requester is the person the request's identifiers "
            "name (needed to accept access and erasure requests that name more than the "
            "proved address).",
        ),
    ] = False,
    officer: OfficerOption = None,
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Accept or reject a request in review; the requester is told, with the reason."""
    with opened(db) as registry:
        view = registry.decide(
            request_id, accept=outcome is Outcome.ACCEPT, officer=_officer(officer),
            reason=reason, identity_checked=identity_checked,
        )  # fmt: skip
        send_mail(registry, outbox)
    out.print(f"request {view.id}: {view.state}", highlight=False)


@requests_app.command("extend")
def extend(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    reason: Annotated[str, typer.Option(help="Why more time is needed; the requester is told.")],
    months: Annotated[int, typer.Option(min=1, max=2, help="One or two more months.")] = 2,
    officer: OfficerOption = None,
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Extend a request's deadline by up to two months (Art. 12(3)), with notice."""
    with opened(db) as registry:
        view = registry.extend(request_id, months=months, reason=reason, officer=_officer(officer))
        send_mail(registry, outbox)
    out.print(f"request {view.id}: now due {view.due_at.date().isoformat()}", highlight=False)


@requests_app.command("apply")
def apply(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    answer: Annotated[
        str | None, typer.Option(help="The answer sent to the requester (access requests).")
    ] = None,
    officer: OfficerOption = None,
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Mark an accepted request as in effect; answer an access request."""
    with opened(db) as registry:
        view = registry.apply(request_id, actor=f"officer:{_officer(officer)}", answer=answer)
        send_mail(registry, outbox)
    out.print(f"request {view.id}: {view.state}", highlight=False)
