"""``notrain requests``: the privacy officer's list, show, decide, extend and apply."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from notrain.cli.common import out
from notrain.cli.registry import DbOption, OutboxOption, opened, send_mail

if TYPE_CHECKING:
    from notrain.registry.queue import QueueFilter
    from notrain.registry.views import BulkProgress

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


FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Take every request matching KEY=VALUE (repeatable): tab (decide, export), state, "
        "kind, country, member (yes/no), overdue=1, due_soon=1, received_from, received_to.",
    ),
]
YesOption = Annotated[
    bool, typer.Option("--yes", help="Decide at once; without it, only say how many match.")
]
BatchOption = Annotated[int, typer.Option(min=1, max=5000, help="Requests per transaction.")]


def _parse_filter(pairs: list[str]) -> QueueFilter:
    from notrain.errors import RequestInvalid
    from notrain.registry.queue import QueueFilter

    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise RequestInvalid("filter", f"{pair!r}: give KEY=VALUE")
        params[key.strip()] = value.strip()
    unknown = set(params) - set(QueueFilter.__dataclass_fields__)
    if unknown:
        raise RequestInvalid("filter", f"unknown key(s): {', '.join(sorted(unknown))}")
    return QueueFilter.parse(params)


def _bulk(
    action: str,
    pairs: list[str],
    *,
    reason: str | None,
    months: int | None,
    officer: str | None,
    yes: bool,
    resume: str | None,
    batch: int,
    db: str | None,
    outbox: Path | None,
) -> None:
    """A bulk decision from the CLI: preview, or freeze and run it, or resume one."""
    from notrain.registry import bulk

    with opened(db) as registry:
        session, days = registry.session, registry.config.due_soon_days
        if resume is None:
            selection = bulk.Selection(filter=_parse_filter(pairs))
            bulk.check_action(action, reason, months)
            count = bulk.preview(session, selection, now=registry.now(), due_soon_days=days)
            if not yes:
                out.print(f"{count} request(s) match; add --yes to {action} them", highlight=False)
                return
            job = bulk.start(session, selection, action=action, officer=_officer(officer),
                             reason=reason, months=months, now=registry.now(),
                             due_soon_days=days)  # fmt: skip
            out.print(f"bulk decision {job.job_id}: {job.total} request(s) to {action}",
                      highlight=False)  # fmt: skip
            resume = job.job_id

        def report(p: BulkProgress) -> None:
            out.print(f"  {p.done + p.skipped}/{p.total} ({p.skipped} skipped)", highlight=False)

        done = bulk.run(session, resume, clock=registry.now, size=batch, on_batch=report)
        send_mail(registry, outbox)
    out.print(f"bulk decision {done.job_id}: {done.done} decided, {done.skipped} skipped"
              f"{'' if done.finished else ' (unfinished: run again with --resume)'}",
              highlight=False)  # fmt: skip


@requests_app.command("decide")
def decide(
    words: Annotated[
        list[str],
        typer.Argument(
            help="REQUEST_ID and accept or reject; with --filter or --resume, only the outcome.",
            metavar="[REQUEST_ID] OUTCOME",
        ),
    ],
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
    filters: FilterOption = None,
    yes: YesOption = False,
    resume: Annotated[
        str | None, typer.Option(help="Carry on with an interrupted bulk decision (its id).")
    ] = None,
    batch: BatchOption = 500,
    officer: OfficerOption = None,
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Accept or reject a request in review, or every request a filter matches (in
    batches, each audited and mailed; resumable); the requester is told, with the reason."""
    from notrain.errors import RequestInvalid

    bulk_mode = bool(filters) or resume is not None
    if len(words) != (1 if bulk_mode else 2) or words[-1] not in ("accept", "reject"):
        raise RequestInvalid("outcome", "give REQUEST_ID accept|reject, or accept|reject with "
                             "--filter (or --resume)")  # fmt: skip
    outcome = Outcome(words[-1])
    if bulk_mode:
        _bulk(outcome.value, filters or [], reason=reason, months=None, officer=officer,
              yes=yes, resume=resume, batch=batch, db=db, outbox=outbox)  # fmt: skip
        return
    with opened(db) as registry:
        view = registry.decide(
            words[0], accept=outcome is Outcome.ACCEPT, officer=_officer(officer),
            reason=reason, identity_checked=identity_checked,
        )  # fmt: skip
        send_mail(registry, outbox)
    out.print(f"request {view.id}: {view.state}", highlight=False)


@requests_app.command("extend")
def extend(
    reason: Annotated[str, typer.Option(help="Why more time is needed; the requester is told.")],
    request_id: Annotated[
        str | None, typer.Argument(help="The request id (or use --filter).")
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=2, help="One or two more months.")] = 2,
    filters: FilterOption = None,
    yes: YesOption = False,
    batch: BatchOption = 500,
    officer: OfficerOption = None,
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Extend a request's deadline by up to two months (Art. 12(3)), with notice; or the
    deadlines of every request a filter matches."""
    from notrain.errors import RequestInvalid

    if (request_id is None) == (not filters):
        raise RequestInvalid("request_id", "give a request id or --filter, not both")
    if filters:
        _bulk("extend", filters, reason=reason, months=months, officer=officer, yes=yes,
              resume=None, batch=batch, db=db, outbox=outbox)  # fmt: skip
        return
    assert request_id is not None
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
