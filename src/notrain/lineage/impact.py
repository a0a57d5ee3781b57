"""Impact: which datasets and models the requests accepted since a date touch.

The list a privacy officer sends to the model team: per accepted objection, erasure or
consent withdrawal, every catalogued dataset still holding that person's rows (authored,
tagging or mentioning them, or naming a non-member's identifier), with the models trained
from it. A recall that already removed the rows is not affected. A consent withdrawal
reaches only the person's own rows: consent is about what they authored, and it does not
protect them in others' content (only an objection or erasure does), so rows tagging or
mentioning them stay and are no impact of it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.lineage.catalogue import entries
from notrain.lineage.holdings import holdings
from notrain.registry.models import Request
from notrain.registry.states import RequestKind, RequestState

STOPPING = (RequestKind.OBJECTION, RequestKind.ERASURE, RequestKind.CONSENT_WITHDRAWAL)
DECIDED = (RequestState.ACCEPTED, RequestState.APPLIED)


class ImpactedDataset(BaseModel):
    dataset_id: str
    path: str
    as_of: datetime
    rows: int
    models: list[str]


class RequestImpact(BaseModel):
    request_id: str
    kind: str
    decided_at: datetime
    subject_ids: list[int]
    identifiers: list[str]
    datasets: list[ImpactedDataset]

    @property
    def models(self) -> list[str]:
        return sorted({m for d in self.datasets for m in d.models})


def impact(session: Session, since: datetime) -> list[RequestImpact]:
    requests = list(
        session.scalars(
            select(Request)
            .where(
                Request.kind.in_([k.value for k in STOPPING]),
                Request.state.in_([s.value for s in DECIDED]),
                Request.decided_at >= since,
            )
            .order_by(Request.decided_at, Request.id)
        )
    )
    subjects = {s.subject_id for r in requests for s in r.subjects}
    identifiers = {i.value for r in requests for i in r.identifiers}
    # A purged version holds nothing, whatever is left at its path.
    catalogue = [e for e in entries(session) if e.holds_data and Path(e.path).is_dir()]
    found = {e.dataset_id: holdings(Path(e.path), subjects, identifiers) for e in catalogue}
    report = []
    for request in requests:
        keys: list[int | str] = [s.subject_id for s in request.subjects]
        keys += [" ".join(i.value.lower().split()) for i in request.identifiers]
        datasets = []
        for entry in catalogue:
            rows: set[int] = set()
            for key in keys:
                holding = found[entry.dataset_id].get(key)
                if not holding:
                    continue
                if request.kind == RequestKind.CONSENT_WITHDRAWAL:
                    rows |= holding.authored_ids
                else:
                    rows |= holding.content_ids
            if rows:
                datasets.append(
                    ImpactedDataset(
                        dataset_id=entry.dataset_id,
                        path=entry.path,
                        as_of=entry.as_of,
                        rows=len(rows),
                        models=list(entry.models),
                    )
                )
        assert request.decided_at is not None
        report.append(
            RequestImpact(
                request_id=request.id,
                kind=request.kind,
                decided_at=request.decided_at,
                subject_ids=sorted(s.subject_id for s in request.subjects),
                identifiers=sorted(i.value for i in request.identifiers),
                datasets=datasets,
            )
        )
    return report
