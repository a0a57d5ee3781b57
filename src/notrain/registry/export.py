"""The registry snapshot: the effective decisions, written for ``notrain build``.

One row per covered account of an accepted objection, erasure or consent (``subject_id``),
and one row per accepted request of a person without an account, or a member's extra
identifiers (``identifiers``, no ``subject_id``). ``effective_at`` is when the decision was
taken. A consent counts only while no later withdrawal by the same account is accepted; an
objection likewise, per account, until a withdrawal of the objection covering that account
is accepted after it, and its identifiers until one is made from the same verified address.
Withdrawals themselves are not rows, a withdrawal with nothing before it to withdraw
changes nothing, and an objection made again after a withdrawal counts again. Erasures
never lapse.

Given the accounts, an objection (and a withdrawal) also covers accounts linked to the
verified address after it was accepted, so it never needs repeating. Exporting applies
what it exported: accepted requests become *applied*, audited with the snapshot's hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from notrain.contracts import SNAPSHOT, DecisionKind
from notrain.registry import audit
from notrain.registry.accounts import AccountDirectory
from notrain.registry.intake import step
from notrain.registry.models import Request
from notrain.registry.snapshot import SnapshotInfo, write_snapshot
from notrain.registry.states import SNAPSHOT_KINDS, RequestKind, RequestState, transition


@dataclass(frozen=True)
class SnapshotRow:
    subject_id: int | None
    identifiers: tuple[str, ...]
    kind: str
    effective_at: datetime
    request_id: str


@dataclass(frozen=True)
class ExportResult:
    snapshot: SnapshotInfo
    rows: int
    applied: list[str]
    audit_head: str


def _decided(session: Session) -> list[Request]:
    return list(
        session.scalars(
            select(Request)
            .where(
                Request.state.in_([RequestState.ACCEPTED.value, RequestState.APPLIED.value]),
                Request.kind.in_([k.value for k in SNAPSHOT_KINDS]),
            )
            .options(selectinload(Request.identifiers), selectinload(Request.subjects))
            .order_by(Request.decided_at, Request.id)
        )
    )


def _subjects(request: Request, accounts: AccountDirectory | None) -> list[int]:
    ids = {s.subject_id for s in request.subjects}
    if accounts is not None and request.member:
        ids.update(accounts.by_email(request.email))
    return sorted(ids)


def _non_member_identifiers(request: Request) -> tuple[str, ...]:
    if request.member:
        # A member's own address is their account; only what they added identifies them
        # in others' content.
        values = [i.value for i in request.identifiers if i.value != request.email]
    else:
        values = [i.value for i in request.identifiers]
        if request.handle:
            values.append(request.handle)
    return tuple(dict.fromkeys(values))


def snapshot_rows(
    requests: Iterable[Request], accounts: AccountDirectory | None
) -> list[SnapshotRow]:
    """The snapshot's rows for the decided ``requests``, taken in the order of decision."""
    erasures: list[SnapshotRow] = []
    objections: list[tuple[SnapshotRow, str]] = []  # with the objection's verified address
    consent: dict[int, tuple[datetime, str, Request]] = {}  # latest consent or withdrawal
    for request in sorted(requests, key=_decision_order):
        assert request.decided_at is not None
        kind = RequestKind(request.kind)
        subjects = _subjects(request, accounts)
        if kind in (RequestKind.CONSENT, RequestKind.CONSENT_WITHDRAWAL):
            for subject in subjects:
                latest = consent.get(subject)
                if latest is None or (request.decided_at, request.id) > latest[:2]:
                    consent[subject] = (request.decided_at, request.id, request)
            continue
        if kind is RequestKind.OBJECTION_WITHDRAWAL:
            objections = [
                (row, email)
                for row, email in objections
                if not _withdrawn(row, email, set(subjects), request.email)
            ]
            continue
        decision = DecisionKind.OBJECTION if kind is RequestKind.OBJECTION else DecisionKind.ERASURE
        at = request.decided_at
        made = [SnapshotRow(s, (), decision.value, at, request.id) for s in subjects]
        extra = _non_member_identifiers(request)
        if extra:
            made.append(SnapshotRow(None, extra, decision.value, at, request.id))
        if kind is RequestKind.OBJECTION:
            objections += [(row, request.email) for row in made]
        else:
            erasures += made
    rows = erasures + [row for row, _ in objections]
    for subject, (at, request_id, request) in consent.items():
        if request.kind == RequestKind.CONSENT:
            rows.append(SnapshotRow(subject, (), DecisionKind.CONSENT.value, at, request_id))
    rows.sort(key=lambda r: (r.effective_at, r.request_id, r.subject_id is None, r.subject_id or 0))
    return rows


def _decision_order(request: Request) -> tuple[datetime, str]:
    assert request.decided_at is not None
    return request.decided_at, request.id


def _withdrawn(row: SnapshotRow, email: str, subjects: set[int], withdrawing_email: str) -> bool:
    """Whether a withdrawal covering ``subjects``, from ``withdrawing_email``, ends ``row``.

    An account's row ends when the withdrawal covers that account (as a consent's does);
    identifiers, which name no account, when the withdrawal comes from the address that
    objected.
    """
    if row.subject_id is not None:
        return row.subject_id in subjects
    return email == withdrawing_email


def snapshot_table(rows: list[SnapshotRow]) -> pa.Table:
    return pa.table(
        {
            "subject_id": pa.array([r.subject_id for r in rows], type=pa.int64()),
            "identifiers": pa.array(
                [list(r.identifiers) for r in rows], type=pa.list_(pa.string())
            ),
            "kind": pa.array([r.kind for r in rows], type=pa.string()),
            "effective_at": pa.array(
                [r.effective_at for r in rows], type=SNAPSHOT.field("effective_at").type
            ),
            "request_id": pa.array([r.request_id for r in rows], type=pa.string()),
        },
        schema=SNAPSHOT,
    )


def export_snapshot(
    session: Session,
    out: Path,
    *,
    accounts: AccountDirectory | None,
    now: datetime,
    actor: str = "system:export",
) -> ExportResult:
    """Write the snapshot and its sidecar to ``out``; mark what it holds as applied."""
    with step(session):
        requests = _decided(session)
        rows = snapshot_rows(requests, accounts)
        info = write_snapshot(snapshot_table(rows), out, taken_at=now)
        applied: list[str] = []
        for request in requests:
            if request.state == RequestState.ACCEPTED:
                transition(
                    session, request, RequestState.APPLIED, at=now, actor=actor,
                    snapshot_sha256=info.sha256,
                )  # fmt: skip
                applied.append(request.id)
        detail: dict[str, Any] = {"path": str(out), "sha256": info.sha256, "rows": len(rows),
                  "applied": len(applied)}  # fmt: skip
        audit.record(session, at=now, actor=actor, action="exported", **detail)
    # The event joined the chain at the commit, as the last link of this step: its hash is
    # the head to keep.
    with step(session):
        head = audit.last_event_hash(session, "exported", detail)
    assert head is not None
    return ExportResult(snapshot=info, rows=len(rows), applied=applied, audit_head=head)
