"""A realistic registry, made in bulk: for demos, load tests and the console's benchmark.

``seed`` writes ``count`` requests as if a platform had run the registry for a year and
then announced AI training: a steady trickle over the year, then most of the requests in
the last six weeks. Requests go the registry's own way, only faster: the fingerprint,
deadline (:func:`deadlines.due_at`), routing (a verified member's objection or withdrawal
is accepted at once; the rest go to a person), transitions checked against the state
machine, extensions within the first month, and every step an audit event of the same
shape the live steps record, chained by the same :mod:`audit` code (so ``notrain audit
verify`` checks a seeded registry like any other). What is not seeded: the mail those
steps sent (the outbox of a year is no use to a demo) and verification codes.

Rows are written with bulk inserts, ``batch`` requests per transaction. The same ``seed``
gives the same registry; seeding twice into one database with one seed collides on ids.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from notrain.registry import audit
from notrain.registry.config import RegistryConfig
from notrain.registry.deadlines import MAX_EXTENSION_MONTHS, due_at
from notrain.registry.forms import CleanRequest, Identifier
from notrain.registry.intake import step
from notrain.registry.models import Request, RequestIdentifier, RequestSubject
from notrain.registry.queue import email_hash
from notrain.registry.states import AUTO_ACCEPTED_KINDS, RequestKind, RequestState, can_transition

S = RequestState
K = RequestKind
KINDS = [(K.OBJECTION, 70), (K.ACCESS, 10), (K.ERASURE, 9), (K.CONSENT, 5),
         (K.OBJECTION_WITHDRAWAL, 3), (K.CONSENT_WITHDRAWAL, 3)]  # fmt: skip
COUNTRIES = [("DE", 19), ("FR", 15), ("IT", 13), ("ES", 11), ("PL", 8), ("NL", 6), ("BE", 4),
             ("AT", 4), ("SE", 4), ("PT", 3), ("IE", 3), ("CZ", 3), ("DK", 2), ("FI", 2),
             ("GR", 2), ("RO", 1)]  # fmt: skip
DOMAINS = ["mail.example.com", "example.org", "example.net", "post.example.eu"]
OFFICERS = ["amira", "jonas", "lucia"]
REJECTIONS = [
    "We could not match the names you gave to anyone in the content.",
    "The handle belongs to another person's account.",
    "A request of the same kind for this address was already answered.",
]
EXTENSION = "Many requests arrived after the announcement; we need more time."
MEMBER_SHARE = 0.7
UNVERIFIED_SHARE = 0.1
SPIKE_SHARE = 0.6
SPIKE_DAYS = 45
EXPORT_EVERY = timedelta(days=7)


@dataclass
class SeedResult:
    requests: int = 0
    events: int = 0
    states: dict[str, int] = field(default_factory=dict)


@dataclass
class _Batch:
    requests: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[datetime, str, str, str, dict[str, Any]]] = field(default_factory=list)


def _weighted(rng: random.Random, table: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class _Story:
    """Makes one request's life, step by step, as the registry would have lived it."""

    def __init__(self, rng: random.Random, key: bytes, now: datetime) -> None:
        self.rng = rng
        self.key = key
        self.now = now

    def received(self) -> datetime:
        rng = self.rng
        days = rng.uniform(0, SPIKE_DAYS) if rng.random() < SPIKE_SHARE else rng.uniform(0, 365)
        return self.now - timedelta(days=days)

    def request(self, batch: _Batch, received: datetime) -> str:
        rng = self.rng
        kind: RequestKind = _weighted(rng, KINDS)
        country: str = _weighted(rng, COUNTRIES)
        member = rng.random() < MEMBER_SHARE
        person = rng.randrange(10**9)
        email = f"person{person}@{rng.choice(DOMAINS)}"
        handle = f"user{person}" if member and rng.random() < 0.2 else None
        identifiers = [Identifier("email", email)]
        if not member:
            identifiers.append(Identifier("name", f"person {person}"))
        clean = CleanRequest(kind=kind, email=email, country=country, handle=handle,
                             identifiers=tuple(identifiers), note=None)  # fmt: skip
        request_id = f"req-{rng.getrandbits(64):016x}"
        row: dict[str, Any] = {
            "id": request_id, "kind": kind.value, "state": S.SUBMITTED.value, "email": email,
            "handle": handle, "country": country, "note": None,
            "fingerprint": clean.fingerprint, "source": "seed", "member": None,
            "received_at": received, "due_at": due_at(received), "extended_months": 0,
            "extension_reason": None, "verified_at": None, "decided_at": None,
            "decision_reason": None, "applied_at": None,
            "email_hash": email_hash(self.key, email),
        }  # fmt: skip
        batch.identifiers += [{"request_id": request_id, "kind": i.kind, "value": i.value}
                              for i in identifiers]  # fmt: skip
        self.event(batch, received, "requester", "submitted", request_id, kind=kind.value,
                   country=country, source="seed", received_at=received.isoformat(),
                   due_at=row["due_at"].isoformat())  # fmt: skip
        if rng.random() >= UNVERIFIED_SHARE:
            self.verified(batch, row, kind, member, person)
        batch.requests.append(row)
        return str(row["state"])

    def event(self, batch: _Batch, at: datetime, actor: str, action: str, request_id: str,
              **detail: Any) -> None:  # fmt: skip
        batch.events.append((at, actor, action, request_id, detail))

    def move(self, batch: _Batch, row: dict[str, Any], to: RequestState, at: datetime,
             actor: str, reason: str | None = None, **detail: Any) -> None:  # fmt: skip
        """What :func:`states.transition` does, on a row about to be inserted."""
        current = RequestState(row["state"])
        assert can_transition(current, to), (current, to)
        row["state"] = to.value
        if to is S.VERIFIED:
            row["verified_at"] = at
        elif to in (S.ACCEPTED, S.REJECTED):
            row["decided_at"], row["decision_reason"] = at, reason
        elif to is S.APPLIED:
            row["applied_at"] = at
        self.event(batch, at, actor, "transition", row["id"], from_state=current.value,
                   to_state=to.value, reason=reason, **detail)  # fmt: skip

    def verified(self, batch: _Batch, row: dict[str, Any], kind: RequestKind, member: bool,
                 person: int) -> None:  # fmt: skip
        rng = self.rng
        at = row["received_at"] + timedelta(minutes=rng.uniform(1, 600))
        if at > self.now:
            return
        self.move(batch, row, S.VERIFIED, at, "requester")
        row["member"] = member
        subjects = [person] if member else []
        batch.subjects += [{"request_id": row["id"], "subject_id": s, "matched_by": "email"}
                           for s in subjects]  # fmt: skip
        if member and kind in AUTO_ACCEPTED_KINDS and not row["handle"]:
            self.move(batch, row, S.ACCEPTED, at, "system", "verified member",
                      subjects=len(subjects))  # fmt: skip
        else:
            reasons = [] if member else ["no account has this address"]
            if kind not in AUTO_ACCEPTED_KINDS:
                reasons.append(f"{kind.value} requests are decided by a person")
            if row["handle"]:
                reasons.append("the handle is not an account with this address")
            self.move(batch, row, S.NEEDS_REVIEW, at, "system", "; ".join(reasons),
                      subjects=len(subjects))  # fmt: skip
            if not self.reviewed(batch, row, at):
                return
        self.applied(batch, row, kind)

    def reviewed(self, batch: _Batch, row: dict[str, Any], verified: datetime) -> bool:
        """An officer's decision, if it has come yet; True if the request was accepted."""
        rng = self.rng
        officer = f"officer:{rng.choice(OFFICERS)}"
        delay = timedelta(days=rng.uniform(0.2, 90))
        if delay > timedelta(days=25) and rng.random() < 0.5:
            at = row["received_at"] + timedelta(days=rng.uniform(5, 27))
            if at <= self.now:
                months = rng.randint(1, MAX_EXTENSION_MONTHS)
                row["extended_months"], row["extension_reason"] = months, EXTENSION
                row["due_at"] = due_at(row["received_at"], months)
                self.event(batch, at, officer, "extended", row["id"], months=months,
                           total_months=months, due_at=row["due_at"].isoformat(),
                           reason=EXTENSION)  # fmt: skip
        decided = verified + delay
        if decided > self.now:
            return False
        if rng.random() < 0.15:
            self.move(batch, row, S.REJECTED, decided, officer, rng.choice(REJECTIONS))
            return False
        self.move(batch, row, S.ACCEPTED, decided, officer)
        return True

    def applied(self, batch: _Batch, row: dict[str, Any], kind: RequestKind) -> None:
        """The weekly export applies what was accepted before it; an access request is
        applied by its answer, a few days after the decision."""
        decided: datetime = row["decided_at"]
        if kind is K.ACCESS:
            at = decided + timedelta(days=self.rng.uniform(0.5, 5))
            actor, detail = f"officer:{self.rng.choice(OFFICERS)}", {}
        else:
            # Exports ran weekly, the last one half a week ago: the first one after the
            # decision applied it; what was accepted since waits for the next.
            last = self.now - EXPORT_EVERY / 2
            weeks = max(0, (last - decided) // EXPORT_EVERY)
            at = last - weeks * EXPORT_EVERY
            digest = hashlib.sha256(f"seeded export {weeks}".encode()).hexdigest()
            actor, detail = "system:export", {"snapshot_sha256": digest}
        if decided < at <= self.now:
            self.move(batch, row, S.APPLIED, at, actor, **detail)


def _write(session: Session, batch: _Batch) -> None:
    with step(session):
        session.execute(insert(Request), batch.requests)
        session.execute(insert(RequestIdentifier), batch.identifiers)
        if batch.subjects:
            session.execute(insert(RequestSubject), batch.subjects)
        for at, actor, action, request_id, detail in batch.events:
            audit.record(session, at=at, actor=actor, action=action, request_id=request_id,
                         **detail)  # fmt: skip


def seed(
    session: Session,
    config: RegistryConfig,
    *,
    count: int,
    seed: int = 0,
    now: datetime,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
) -> SeedResult:
    """Write ``count`` requests received over the year before ``now``, in batches."""
    rng = random.Random(seed)
    story = _Story(rng, config.secret_key, now)
    result = SeedResult()
    # Receipts in time order, so the audit trail reads forwards through the year.
    times = sorted(story.received() for _ in range(count))
    for start in range(0, count, batch_size):
        batch = _Batch()
        for received in times[start : start + batch_size]:
            state = story.request(batch, received)
            result.states[state] = result.states.get(state, 0) + 1
        _write(session, batch)
        result.requests += len(batch.requests)
        result.events += len(batch.events)
        if on_batch is not None:
            on_batch(result.requests)
    return result
