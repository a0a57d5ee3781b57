"""``notrain proof``: seal the transparency log, issue and check receipts and proofs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from notrain.cli.common import err, out
from notrain.cli.registry import DbOption, opened

if TYPE_CHECKING:
    from notrain.proofs.keys import LogKey

proof_app = typer.Typer(
    help="The transparency log: receipts and proofs anyone can check offline.",
    no_args_is_help=True,
)

KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="The log's public key: 64 hex digits or a file (the JSON of /transparency/key); "
        "default: the key inside the document.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(proof_app, name="proof")


def log_key() -> LogKey:
    from notrain.proofs.keys import load_log_key
    from notrain.settings import get_settings

    return load_log_key(get_settings())


def read_public_key(value: str) -> bytes:
    from notrain.errors import UserError

    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    try:
        if text.startswith("{"):
            text = json.loads(text)["public_key"]
        key = bytes.fromhex(text)
    except (ValueError, KeyError, TypeError):
        key = b""
    if len(key) != 32:
        raise UserError(f"--key: {value!r} is not an Ed25519 public key (64 hex digits)")
    return key


def _load(file: Path) -> dict[str, Any]:
    from notrain.errors import InputError

    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(file, f"cannot read it as JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise InputError(file, "not a receipt or proof (a JSON object)")
    return loaded


@proof_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A receipt or proof of absence (JSON).")],
    key: KeyOption = None,
) -> None:
    """Check a receipt or proof of absence offline. Exit 0 if it holds, 22 and why if not."""
    from notrain.proofs.absence import PROOF_FORMAT, verify_absence
    from notrain.proofs.receipts import verify_receipt

    document = _load(file)
    public = read_public_key(key) if key else None
    if document.get("format") == PROOF_FORMAT:
        summary = verify_absence(document, public)
    else:
        summary = verify_receipt(document, public).summary
    out.print(f"{file}: holds: {summary}", highlight=False, markup=False)
    if public is None:
        err.print(
            "note: checked with the key inside the document; compare its key_id "
            f"{document.get('key_id')} with the one published at /transparency/key",
            highlight=False,
            markup=False,
        )


@proof_app.command("seal")
def seal(db: DbOption = None) -> None:
    """Append the committed audit events to the log and sign its new head."""
    from notrain.proofs.log import seal as seal_log

    key = log_key()
    with opened(db) as registry:
        result = seal_log(registry.session, key, registry.now())
    head = result.head
    text = f"sealed {result.sealed} events" + (
        f"; head: size {head.size}, root {head.root}" if head else "; the log did not grow"
    )
    out.print(text, highlight=False)


def _write(document: dict[str, Any], out_file: Path | None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"written to {out_file}", highlight=False)


OutFile = Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")]


@proof_app.command("receipt")
def receipt(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    out_file: OutFile = None,
    db: DbOption = None,
) -> None:
    """Print the receipt of every step of a request so far (as the requester gets it)."""
    from notrain.proofs.receipts import build_receipt

    key = log_key()
    with opened(db) as registry:
        document = build_receipt(registry.session, key, request_id, registry.now())
    _write(document, out_file)


@proof_app.command("absence")
def absence(
    request_id: Annotated[str, typer.Argument(help="An accepted objection or erasure.")],
    out_file: OutFile = None,
    db: DbOption = None,
) -> None:
    """Print the proofs of absence for a request (as the requester gets them)."""
    from notrain.proofs.requester import absence_document

    key = log_key()
    with opened(db) as registry:
        document = absence_document(registry.session, key, request_id)
        registry.session.rollback()
    _write(document, out_file)


@proof_app.command("key")
def show_key(
    commitment_key: Annotated[
        bool,
        typer.Option(
            "--commitment-key",
            help="Print the key an auditor needs to recompute the datasets' commitments.",
        ),
    ] = False,
) -> None:
    """Print the log's public key (what people check receipts against)."""
    key = log_key()
    if commitment_key:
        out.print(key.commitment_key.hex(), highlight=False)
        return
    out.print(json.dumps({"algorithm": "Ed25519", "public_key": key.public.hex(),
                          "key_id": key.key_id}), highlight=False)  # fmt: skip


def record_dataset(path: Path, db: str | None = None) -> str:
    """Catalogue a freshly published dataset (and its parent) and write its signed
    commitment; returns its id (the CLI's hook after build, recall and register)."""
    from notrain.lineage.catalogue import open_catalogue, register_dataset

    with open_catalogue(db) as session:
        dataset_id = register_dataset(session, path).id
        commit_dataset(path, session)
        return dataset_id


def commit_dataset(path: Path, session: Any) -> None:
    """Write a freshly catalogued dataset's signed commitment and log it (the CLI's hook
    after build, recall and register)."""
    from datetime import UTC, datetime

    from notrain.proofs.absence import MANIFEST, file_sha256, make_commitment, read_commitment
    from notrain.registry import audit

    earlier = read_commitment(path)
    if earlier is not None and earlier.get("manifest_sha256") == file_sha256(path / MANIFEST):
        return  # registered again: the commitment stands
    now = datetime.now(UTC)
    commitment = make_commitment(path, log_key(), now)
    if commitment is None:
        return
    audit.record(
        session,
        at=now,
        actor="system:proofs",
        action="dataset_committed",
        dataset_id=commitment["dataset_id"],
        people=commitment["people"],
        root=commitment["root"],
        manifest_sha256=commitment["manifest_sha256"],
    )


def audit_dataset(path: Path, commitment_key: str | None, public_key: str | None) -> list[str]:
    """``notrain dataset verify --audit``: recompute the commitment from the shards; the
    problems found (none: it matches). The keys default to this registry's own."""
    from notrain.proofs.absence import audit_commitment

    own = log_key() if commitment_key is None or public_key is None else None
    secret = bytes.fromhex(commitment_key) if commitment_key else own.commitment_key  # type: ignore[union-attr]
    public = read_public_key(public_key) if public_key else own.public  # type: ignore[union-attr]
    result = audit_commitment(path, secret, public)
    if not result.problems:
        out.print(
            f"{path}: the commitment matches the {result.people} people of its lineage",
            highlight=False,
        )
    return result.problems


def check_log(session: Any, since_head: Path | None) -> list[str]:
    """``notrain audit verify``'s check of the tree (and of growth since a saved head)."""
    from notrain.proofs.heads import TreeHead
    from notrain.proofs.log import verify_growth, verify_tree
    from notrain.proofs.merkle import ProofError

    key = log_key()
    report = verify_tree(session, key.public)
    problems = list(report.problems)
    for problem in problems:
        err.print(f"log: {problem}", highlight=False, markup=False)
    waiting = report.leaves - report.sealed
    out.print(
        f"transparency log: {report.sealed} events sealed"
        + (f", {waiting} waiting for the sealer" if waiting > 0 else "")
        + f", root {report.root}",
        highlight=False,
    )
    if since_head is not None:
        earlier = TreeHead.of(_load(since_head))
        try:
            latest = verify_growth(session, earlier, key.public)
        except ProofError as exc:
            problems.append(f"since the head of size {earlier.size}: {exc}")
            err.print(f"log: {problems[-1]}", highlight=False, markup=False)
        else:
            out.print(
                f"the log only grew: head of size {earlier.size} ({earlier.time}) is a prefix "
                f"of the head of size {latest.size} ({latest.time})",
                highlight=False,
            )
    session.rollback()
    return problems
