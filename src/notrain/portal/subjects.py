"""An account's effective decisions, for the platform's pipelines (API-key protected).

The answer is what the next registry snapshot will hold for the account: it is computed by
the registry's own snapshot rule (:func:`notrain.registry.export.snapshot_rows`) over the
decided requests that touch the account — matched to it, or made from its address, which
an objection also covers when the address was linked to the account later.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from notrain.portal.models import Decision, PendingRequest, SubjectStatus
from notrain.registry.accounts import AccountIndex
from notrain.registry.export import snapshot_rows
from notrain.registry.intake import step
from notrain.registry.models import Request, RequestSubject
from notrain.registry.service import Registry
from notrain.registry.states import SNAPSHOT_KINDS, RequestState

_DECIDED = (RequestState.ACCEPTED.value, RequestState.APPLIED.value)
_PENDING = (RequestState.VERIFIED.value, RequestState.NEEDS_REVIEW.value)


def subject_statuses(registry: Registry, user_ids: Sequence[int]) -> list[SubjectStatus]:
    """One answer per id asked, in the order asked (an id asked twice is answered twice)."""
    wanted = list(dict.fromkeys(user_ids))
    accounts = registry.accounts if isinstance(registry.accounts, AccountIndex) else None
    emails = {e for e in (accounts.email_of(u) for u in wanted) if e} if accounts else set()
    matched = select(RequestSubject.request_id).where(RequestSubject.subject_id.in_(wanted))
    touches: list[ColumnElement[bool]] = [Request.id.in_(matched)]
    if emails:
        touches.append((Request.email.in_(sorted(emails))) & Request.member.is_(True))
    stmt = (
        select(Request)
        .where(or_(*touches), Request.state.in_(_DECIDED + _PENDING))
        .options(selectinload(Request.identifiers), selectinload(Request.subjects))
        .order_by(Request.decided_at, Request.id)
    )
    with step(registry.session):
        requests = list(registry.session.scalars(stmt))
        decided = [
            r
            for r in requests
            if r.state in _DECIDED and r.kind in {k.value for k in SNAPSHOT_KINDS}
        ]
        rows = snapshot_rows(decided, accounts)
        pending = [
            (s.subject_id, PendingRequest(request_id=r.id, kind=r.kind, state=r.state))
            for r in requests
            if r.state in _PENDING
            for s in r.subjects
        ]
    answers: dict[int, SubjectStatus] = {}
    for user_id in wanted:
        decisions = [
            Decision(kind=row.kind, effective_at=row.effective_at, request_id=row.request_id)  # type: ignore[arg-type]
            for row in rows
            if row.subject_id == user_id
        ]
        kinds = {d.kind for d in decisions}
        answers[user_id] = SubjectStatus(
            user_id=user_id,
            objected="objection" in kinds,
            erased="erasure" in kinds,
            consented="consent" in kinds,
            decisions=decisions,
            pending=[p for uid, p in pending if uid == user_id],
        )
    return [answers[user_id] for user_id in user_ids]
