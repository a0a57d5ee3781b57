"""Receipts: proof that each step of a person's request is in the signed log.

A receipt names the request (id, kind, current state) and carries, for every step the
request took (submission, verification, decision, application; a withdrawal is a request
of its own kind), the event's leaf (its exact bytes), its index and an inclusion proof,
all against one signed tree head. Anyone can check it offline with the log's public key:
the signature, each proof, and that the leaves say what the receipt says
(:func:`verify_receipt`; ``standalone_verify.py`` does the same with nothing but
Python's standard library).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import ProofInvalid, RequestNotFound
from notrain.proofs import log
from notrain.proofs.heads import TreeHead
from notrain.proofs.keys import LogKey, key_id
from notrain.proofs.merkle import ProofError, leaf_hash, verify_inclusion
from notrain.registry.models import AuditEvent, AuditStaging, Request

FORMAT = "notrain-receipt/1"
STEP_ACTIONS = ("submitted", "transition")


def _state_of(action: str, detail: dict[str, Any]) -> str:
    return "submitted" if action == "submitted" else str(detail.get("to_state"))


def _steps(session: Session, request_id: str) -> list[Any]:
    """The request's step events, as plain rows (they are only read)."""
    e = AuditEvent
    return list(
        session.execute(
            select(e.seq, e.at, e.actor, e.action, e.request_id, e.detail, e.prev_hash)
            .where(e.request_id == request_id, e.action.in_(STEP_ACTIONS))
            .order_by(e.seq)
        )
    )


def build_receipt(
    session: Session, key: LogKey, request_id: str, now: datetime, *, commit: bool = True
) -> dict[str, Any]:
    """The receipt of every step of ``request_id`` so far, sealing the log first if a step
    is not in it yet: in a transaction of its own, or with ``commit=False`` in the caller's
    (a mail delivery's, whose commit keeps it)."""
    request = session.get(Request, request_id)
    if request is None:
        raise RequestNotFound(f"no request {request_id!r}")
    kind = request.kind
    events = _steps(session, request_id)
    head = log.latest_head(session)
    staged = session.scalar(
        select(AuditStaging.id).where(AuditStaging.request_id == request_id).limit(1)
    )  # a step of a deferring session, not chained yet
    if staged is not None or (events and (head is None or head.size < events[-1].seq)):
        if commit:
            session.rollback()
            log.seal(session, key, now)
        else:
            log.append(session, key, now)
        events = _steps(session, request_id)
        head = log.latest_head(session)
    assert head is not None or not events
    steps = []
    indices = [event.seq - 1 for event in events]
    proofs = log.inclusion_proofs(session, indices, head.size) if head is not None else []
    for event, proof in zip(events, proofs, strict=True):
        steps.append(
            {
                "state": _state_of(event.action, json.loads(event.detail)),
                "time": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "leaf_index": event.seq - 1,
                "leaf": log.leaf_data(event).decode("utf-8"),
                "inclusion_proof": [p.hex() for p in proof],
            }
        )
    return {
        "format": FORMAT,
        "request_id": request_id,
        "kind": kind,
        "state": steps[-1]["state"] if steps else request.state,
        "public_key": key.public.hex(),
        "key_id": key.key_id,
        "tree_head": head.as_dict() if head else None,
        "steps": steps,
        "how_to_verify": "notrain proof verify FILE, or python3 verify_receipt.py FILE "
        "(see /transparency)",
    }


@dataclass(frozen=True)
class Verified:
    """What a receipt or proof that holds says."""

    summary: str
    key_id: str
    key_from_document: bool


def _public_key(document: dict[str, Any], public: bytes | None) -> tuple[bytes, bool]:
    if public is not None:
        return public, False
    try:
        return bytes.fromhex(str(document["public_key"])), True
    except (KeyError, ValueError):
        raise ProofInvalid("no public key given and none in the document") from None


def _leaf(step: dict[str, Any]) -> tuple[bytes, list[Any]]:
    data = str(step["leaf"]).encode("utf-8")
    fields = json.loads(data)
    if not isinstance(fields, list) or len(fields) != 7:
        raise ProofInvalid(f"step {step.get('leaf_index')}: the leaf is not an audit event")
    return data, fields


def verify_receipt(document: dict[str, Any], public: bytes | None = None) -> Verified:
    """Raise :class:`ProofInvalid` (saying why) unless the receipt holds."""
    if document.get("format") != FORMAT:
        raise ProofInvalid(f"not a receipt: format is {document.get('format')!r}")
    key, from_document = _public_key(document, public)
    try:
        head = TreeHead.of(document["tree_head"])
        head.verify(key)
        root = bytes.fromhex(head.root)
        request_id = document["request_id"]
        steps = document["steps"]
        if not steps:
            raise ProofInvalid("the receipt has no step")
        kinds = set()
        for step in steps:
            index = int(step["leaf_index"])
            data, fields = _leaf(step)
            seq, at, _actor, action, leaf_request, detail_text, _prev = fields
            detail = json.loads(detail_text)
            where = f"step {index}"
            if seq != index + 1:
                raise ProofInvalid(f"{where}: the leaf is event {seq}, not {index + 1}")
            if leaf_request != request_id:
                raise ProofInvalid(f"{where}: the leaf is about {leaf_request}, not {request_id}")
            if action not in STEP_ACTIONS:
                raise ProofInvalid(f"{where}: the leaf records {action!r}, not a step")
            if _state_of(action, detail) != step["state"]:
                raise ProofInvalid(f"{where}: the leaf says {_state_of(action, detail)!r}, "
                                   f"the receipt {step['state']!r}")  # fmt: skip
            if at != step["time"]:
                raise ProofInvalid(f"{where}: the leaf's time is {at}, not {step['time']}")
            if action == "submitted":
                kinds.add(detail.get("kind"))
            proof = [bytes.fromhex(p) for p in step["inclusion_proof"]]
            verify_inclusion(index, head.size, leaf_hash(data), proof, root)
        if kinds != {document["kind"]}:
            raise ProofInvalid(f"the submission's kind is {sorted(map(str, kinds))}, "
                               f"not {document['kind']!r}")  # fmt: skip
        if steps[-1]["state"] != document["state"]:
            raise ProofInvalid(
                f"the last step is {steps[-1]['state']!r}, the receipt says {document['state']!r}"
            )
    except ProofError as exc:
        raise ProofInvalid(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofInvalid(f"the receipt is malformed: {type(exc).__name__}: {exc}") from None
    return Verified(
        f"receipt of {request_id} ({document['kind']}, {document['state']}): {len(steps)} "
        f"steps in the log of {head.size} events, head signed {head.time}",
        key_id(key),
        from_document,
    )


NOTICES = ("accepted", "needs_review", "rejected", "answered")


def mail_attachments(key: LogKey) -> Any:
    """The registry's mail hook: a request's notices carry its receipt as JSON."""

    def attach(session: Session, template: str, request: Request) -> list[tuple[str, bytes]]:
        if template not in NOTICES:
            return []
        document = build_receipt(session, key, request.id, datetime.now(UTC), commit=False)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        return [(f"{request.id}-receipt.json", text.encode("utf-8"))]

    return attach
