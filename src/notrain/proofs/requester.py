"""What a requester is given about their request: its receipt and proofs of absence."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import RequestNotFound
from notrain.proofs import absence
from notrain.proofs.keys import LogKey
from notrain.registry.models import Dataset, Request

ABSENCE_KINDS = ("objection", "erasure")
DECIDED = ("accepted", "applied")


def absence_document(session: Session, key: LogKey, request_id: str) -> dict[str, Any]:
    """For an accepted objection or erasure: per account of the request and per catalogued
    dataset made at an as-of after the decision, a proof of absence or why there is none."""
    request = session.get(Request, request_id)
    if request is None:
        raise RequestNotFound(f"no request {request_id!r}")
    document: dict[str, Any] = {
        "format": absence.PROOF_FORMAT,
        "request_id": request_id,
        "kind": request.kind,
        "public_key": key.public.hex(),
        "key_id": key.key_id,
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "subjects": [],
    }
    if request.kind not in ABSENCE_KINDS or request.state not in DECIDED:
        document["note"] = "proofs of absence follow an accepted objection or erasure"
        return document
    decided: datetime = request.decided_at or request.received_at
    datasets = list(
        session.scalars(
            select(Dataset).where(Dataset.as_of >= decided).order_by(Dataset.as_of, Dataset.id)
        )
    )
    for subject in request.subjects:
        user_id = int(subject.subject_id)
        answers = [
            absence.absence_proof(Path(d.path), key.commitment_key, user_id, d.as_of.isoformat())
            for d in datasets
        ]
        document["subjects"].append(
            {
                "user_id": user_id,
                "secret": absence.person_secret(key.commitment_key, user_id).hex(),
                "datasets": [
                    {
                        "dataset_id": a.dataset_id,
                        "as_of": a.as_of,
                        "status": a.status,
                        "proof": a.proof,
                    }
                    for a in answers
                ],
            }
        )
    return document
