"""``notrain registry``: the registry's database, intake, export, import and demo campaign.

The shared options and the way a command opens the registry live here too; the officer's
commands (``requests``, ``audit``, ``admin``, ``mail``) import them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from notrain.cli.common import out, parse_time

registry_app = typer.Typer(
    help="The registry of objections, consents, their withdrawals, access and erasure requests.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Registry database URL [NOTRAIN_DATABASE_URL]."),
]
AccountsOption = Annotated[
    str | None,
    typer.Option(
        help="The platform's accounts (Parquet) to match requesters [NOTRAIN_ACCOUNTS_PATH]."
    ),
]
OutboxOption = Annotated[
    Path | None,
    typer.Option(help="Write mail into this folder instead of sending it [NOTRAIN_OUTBOX_DIR]."),
]

if TYPE_CHECKING:  # the registry (SQLAlchemy, Alembic) is imported only by its commands
    from notrain.mail.transport import Transport
    from notrain.registry.service import Registry


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")


@contextmanager
def opened(
    db: str | None, accounts: str | None = None, clock: Callable[[], datetime] | None = None
) -> Iterator[Registry]:
    from notrain.registry.service import open_registry, utc_now

    with open_registry(db, accounts=accounts, clock=clock or utc_now) as registry:
        yield registry


def transport(outbox: Path | None) -> Transport:
    from notrain.mail.transport import transport_from_settings
    from notrain.settings import get_settings

    return transport_from_settings(get_settings(), outbox)


def send_mail(registry: Registry, outbox: Path | None) -> None:
    """Deliver what the step queued; a failure leaves it queued and says so."""
    chosen = transport(outbox)
    report = registry.deliver_mail(chosen)
    if report.error:
        out.print(
            f"mail: {report.sent} sent, {report.pending} waiting ({report.error}); "
            "`notrain mail deliver` retries",
            highlight=False,
        )


@registry_app.command("migrate")
def migrate(db: DbOption = None) -> None:
    """Create or upgrade the registry's tables (also done on first use)."""
    from notrain.registry.db import create_registry_engine, migrate, safe_url
    from notrain.settings import get_settings

    url = db or get_settings().database_url
    engine = create_registry_engine(url)
    try:
        revision = migrate(engine)
    finally:
        engine.dispose()
    out.print(f"{safe_url(url)}: schema at revision {revision}", highlight=False)


@registry_app.command("submit")
def submit(
    kind: Annotated[
        str,
        typer.Option(
            help="objection, objection_withdrawal, consent, consent_withdrawal, access or erasure."
        ),
    ],
    email: Annotated[str, typer.Option(help="The requester's address; the code goes there.")],
    country: Annotated[str, typer.Option(help="Country of residence, ISO 3166-1 alpha-2.")],
    handle: Annotated[str | None, typer.Option(help="The member's handle, if any.")] = None,
    name: Annotated[
        list[str] | None,
        typer.Option(help="A full name that identifies the requester (repeatable)."),
    ] = None,
    other_email: Annotated[
        list[str] | None, typer.Option(help="Another address of the requester (repeatable).")
    ] = None,
    other_handle: Annotated[
        list[str] | None, typer.Option(help="A handle used elsewhere (repeatable).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="An optional note; no reason is needed.")] = None,
    db: DbOption = None,
    accounts: AccountsOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Submit a request as its requester would; a code is mailed to the address."""
    from notrain.registry.forms import RequestForm

    form = RequestForm(
        kind=kind, email=email, country=country, handle=handle, names=name or [],
        emails=other_email or [], handles=other_handle or [], note=note,
    )  # fmt: skip
    with opened(db, accounts) as registry:
        receipt = registry.submit(form, source="cli")
        send_mail(registry, outbox)
    out.print(f"request {receipt.request_id}: {receipt.message}", highlight=False)


@registry_app.command("verify")
def verify(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    code: Annotated[str, typer.Argument(help="The six-digit code from the e-mail.")],
    db: DbOption = None,
    accounts: AccountsOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Enter the code that was mailed for a request."""
    with opened(db, accounts) as registry:
        outcome = registry.verify(request_id, code)
        send_mail(registry, outbox)
    out.print(f"request {outcome.request_id}: {outcome.state}. {outcome.message}", highlight=False)
    out.print(f"status token (keep it; it opens the request): {outcome.status_token}",
              highlight=False)  # fmt: skip


@registry_app.command("resend")
def resend(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    db: DbOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Mail a new code for a request (within the cooldown and hourly cap)."""
    with opened(db) as registry:
        receipt = registry.resend_code(request_id)
        send_mail(registry, outbox)
    out.print(f"request {receipt.request_id}: {receipt.message}", highlight=False)


@registry_app.command("export")
def export(
    out_file: Annotated[Path, typer.Option("--out", help="The snapshot Parquet file to write.")],
    db: DbOption = None,
    accounts: AccountsOption = None,
) -> None:
    """Write the registry snapshot (Parquet + sha256 sidecar) that `notrain build` reads."""
    out.print(export_registry(out_file, db, accounts), highlight=False)


def export_registry(out_file: Path, db: str | None, accounts: str | None) -> str:
    """Export the snapshot to ``out_file``; a line that says what was written."""
    with opened(db, accounts) as registry:
        result = registry.export(out_file)
    return (
        f"{result.rows} decisions -> {result.snapshot.path} (sha256 {result.snapshot.sha256}); "
        f"{len(result.applied)} newly applied; audit head {result.audit_head}"
    )


@registry_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file of requests.")],
    verified: Annotated[
        bool, typer.Option(help="Every address was verified where the requests were collected.")
    ] = False,
    db: DbOption = None,
    accounts: AccountsOption = None,
    outbox: OutboxOption = None,
) -> None:
    """Load requests in bulk through the same checks; one bad row imports nothing."""
    with opened(db, accounts) as registry:
        result = registry.import_file(file, verified=verified)
        send_mail(registry, outbox)
    states = ", ".join(f"{n} {state}" for state, n in sorted(result.states.items()))
    out.print(
        f"{file}: {result.rows} rows, {result.created} new, "
        f"{result.duplicates} duplicates ({states})",
        highlight=False,
    )


@registry_app.command("demo-campaign")
def demo_campaign(
    accounts: Annotated[Path, typer.Option(help="The platform's accounts.parquet.")],
    out_file: Annotated[Path, typer.Option("--out", help="The snapshot Parquet file to write.")],
    db: DbOption = None,
    outbox: Annotated[Path, typer.Option(help="The folder the campaign's mail goes to.")] = Path(
        "outbox"
    ),
    count: Annotated[int, typer.Option(min=1, help="Members who object.")] = 25,
    seed: Annotated[int, typer.Option(help="Which members object.")] = 0,
    at: Annotated[
        str | None, typer.Option(help="When the campaign happens (ISO time; default: now).")
    ] = None,
) -> None:
    """Run a small objection campaign through the real workflow, then export the snapshot."""
    from notrain.mail.transport import OutboxTransport
    from notrain.registry.campaign import run_campaign

    start = parse_time(at, "--at") if at else datetime.now(UTC)
    ticks = iter(range(10**9))

    def clock() -> datetime:  # a second per step, so the record reads like real use
        return start + timedelta(seconds=next(ticks))

    with opened(db, str(accounts), clock) as registry:
        result = run_campaign(
            registry, accounts, OutboxTransport(outbox), out_file, count=count, seed=seed
        )
    out.print(
        f"campaign: {result.submitted} requests, {result.accepted} accepted at once, "
        f"{result.reviewed} accepted after review, {result.wrong_codes} mistyped code; "
        f"{result.export.rows} decisions -> {result.export.snapshot.path}",
        highlight=False,
    )


@registry_app.command("seed")
def seed(
    requests: Annotated[int, typer.Option("--requests", min=1, help="How many requests.")],
    seed_: Annotated[int, typer.Option("--seed", help="The same seed, the same registry.")] = 0,
    batch: Annotated[int, typer.Option(min=100, help="Requests per transaction.")] = 5000,
    db: DbOption = None,
) -> None:
    """Fill the registry with a year of realistic requests (demos, benchmarks).

    Written in bulk, through the registry's rules and audit trail; no mail is sent.
    """
    import time

    from notrain.registry.seed import seed as seed_registry

    started = time.monotonic()
    with opened(db) as registry:

        def progress(done: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-9)
            out.print(f"  {done} requests ({rate:,.0f}/s)", highlight=False)

        result = seed_registry(registry.session, registry.config, count=requests, seed=seed_,
                               now=registry.now(), batch_size=batch,
                               on_batch=progress)  # fmt: skip
    states = ", ".join(f"{n} {state}" for state, n in sorted(result.states.items()))
    out.print(
        f"seeded {result.requests} requests ({states}) and {result.events} audit events "
        f"in {time.monotonic() - started:.1f} s",
        highlight=False,
    )
