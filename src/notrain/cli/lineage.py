"""``notrain dataset register|list|purge``, ``notrain models``, ``notrain impact``,
``notrain access``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from notrain.cli.common import out, parse_time
from notrain.cli.corpus import dataset_app
from notrain.cli.registry import DbOption

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

models_app = typer.Typer(help="Models trained from catalogued datasets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    # The dataset_* commands join `notrain dataset` when this module is imported: a
    # command line starting with `dataset` imports it (see notrain.cli.COMMANDS).
    app.add_typer(models_app, name="models")
    app.command()(impact)
    app.command()(access)


@contextmanager
def catalogue(db: str | None) -> Iterator[Session]:
    """A session on the registry database, committed at the end."""
    from notrain.lineage.catalogue import open_catalogue

    with open_catalogue(db) as session:
        yield session


@dataset_app.command("register")
def dataset_register(
    path: Annotated[Path, typer.Argument(help="A dataset directory written by notrain.")],
    db: DbOption = None,
) -> None:
    """Add a dataset (and its parent, for a recall) to the catalogue."""
    from notrain.cli.proofs import record_dataset

    out.print(f"catalogued {record_dataset(path, db)} ({path})", highlight=False)


@dataset_app.command("list")
def dataset_list(
    db: DbOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the catalogued datasets with their parents and models."""
    from notrain.lineage.catalogue import entries

    with catalogue(db) as session:
        found = entries(session)
    if json_output:
        rows = [
            {
                **e.__dict__,
                "as_of": e.as_of.isoformat(),
                "models": list(e.models),
                "purged_at": e.purged_at.isoformat() if e.purged_at else None,
            }
            for e in found
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title="Catalogued datasets")
    for column in ("dataset", "as of", "kept rows", "parent", "models", "path"):
        table.add_column(column)
    for e in found:
        table.add_row(
            e.dataset_id,
            e.as_of.isoformat(),
            f"{e.kept_rows:,}",
            e.parent_id or "",
            ", ".join(e.models),
            e.path if e.holds_data else f"purged {e.purged_at:%Y-%m-%d %H:%M} (was {e.path})",
        )
    out.print(table)


@dataset_app.command("purge")
def dataset_purge(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="A catalogued dataset's id or directory (default: every version that has "
            "a successor)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Purge it even if no recall of it is catalogued.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Delete the files of superseded dataset versions; their catalogue entries stay."""
    from notrain.lineage.purge import purge

    with catalogue(db) as session:
        done = purge(session, dataset, force=force)
    if not done:
        out.print("nothing to purge", highlight=False)
    for version in done:
        out.print(
            f"purged {version.dataset_id}: {version.files_removed} files removed from "
            f"{version.path}",
            highlight=False,
            markup=False,
        )


@models_app.command("register")
def models_register(
    dataset: Annotated[str, typer.Option(help="The dataset id the model was trained from.")],
    name: Annotated[str, typer.Option(help="The model's name (and version).")],
    db: DbOption = None,
) -> None:
    """Record that a model was trained from a catalogued dataset."""
    from notrain.lineage.catalogue import register_model

    with catalogue(db) as session:
        register_model(session, dataset, name)
    out.print(f"model {name} trained from {dataset}", highlight=False)


def impact(
    since: Annotated[str, typer.Option(help="Requests accepted since this ISO date or time.")],
    db: DbOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which datasets and models each request accepted since a date affects."""
    from notrain.lineage.impact import impact as compute

    with catalogue(db) as session:
        report = compute(session, parse_time(since, "--since"))
    if json_output:
        rows = [{**r.model_dump(mode="json"), "models": r.models} for r in report]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"Requests accepted since {since}")
    for column in ("request", "kind", "decided", "datasets (rows)", "models"):
        table.add_column(column)
    for r in report:
        table.add_row(
            r.request_id,
            r.kind,
            r.decided_at.isoformat(),
            ", ".join(f"{d.dataset_id} ({d.rows})" for d in r.datasets) or "none",
            ", ".join(r.models) or "",
        )
    out.print(table)


def access(
    request: Annotated[
        str | None, typer.Option(help="Answer for the person behind this request.")
    ] = None,
    subject: Annotated[list[int] | None, typer.Option(help="Or: member account id(s).")] = None,
    identifier: Annotated[
        list[str] | None, typer.Option(help="Or: a non-member's e-mail, handle or name.")
    ] = None,
    db: DbOption = None,
) -> None:
    """What of a person's content is in which dataset (GDPR Art. 15), as JSON."""
    from notrain.errors import UserError
    from notrain.lineage.access import access_answer, access_answer_for_request

    if not request and not subject and not identifier:
        raise UserError("give --request, --subject or --identifier")
    with catalogue(db) as session:
        answer = (
            access_answer_for_request(session, request)
            if request
            else access_answer(session, subject or [], identifier or [])
        )
    sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
