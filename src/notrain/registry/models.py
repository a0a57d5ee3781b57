"""The registry's tables, as SQLAlchemy 2 declarative models.

The schema itself is owned by the Alembic migrations in ``migrations/``; these models must
match them (a test compares the two). Times are stored in UTC and always read back as
timezone-aware datetimes, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Field limits, shared by the schema and the validation of requests.
EMAIL_MAX = 254  # RFC 5321 path limit
HANDLE_MAX = 64
NAME_MAX = 200
NOTE_MAX = 2000
REASON_MAX = 2000
REQUEST_ID_MAX = 32

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; SQLite keeps it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        del dialect
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Request(Base):
    """One request of a person: objection, consent, withdrawal, access or erasure."""

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(REQUEST_ID_MAX), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16), index=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), index=True)
    handle: Mapped[str | None] = mapped_column(String(HANDLE_MAX))
    country: Mapped[str] = mapped_column(String(2))
    # BCP 47 tag of the language every mail about the request is written in (r0007).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    note: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(32))
    member: Mapped[bool | None] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    extended_months: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at verification; the status token is derived from it (see status_tokens.py).
    status_salt: Mapped[str | None] = mapped_column(String(32))
    # A verified duplicate of a pending request points at it (it stays unverified itself).
    merged_into: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX))
    # A keyed hash of the submitting client's network, to count codes per client.
    client_key: Mapped[str | None] = mapped_column(String(32), index=True)
    # HMAC-SHA256(secret key, address), for the console's search (migration 0009).
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)

    identifiers: Mapped[list[RequestIdentifier]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestIdentifier.id"
    )
    subjects: Mapped[list[RequestSubject]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="RequestSubject.subject_id",
    )


# The queue's partial indexes, one per tab of the console (migration 0009).
QUEUE_TABS: dict[str, tuple[str, ...]] = {
    "decide": ("needs_review", "verified"),
    "export": ("accepted",),
    "code": ("submitted",),
    "closed": ("applied", "rejected"),
}
QUEUE_COLUMNS = ("due_at", "id", "kind", "country", "member", "received_at", "state",
                 "extended_months")  # fmt: skip


def tab_predicate(states: tuple[str, ...]) -> str:
    """A tab's condition as literal SQL: a partial index is used only for the very same
    terms, never for bound parameters."""
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


for _tab, _states in QUEUE_TABS.items():
    Index(
        f"ix_requests_tab_{_tab}",
        *(Request.__table__.c[c] for c in QUEUE_COLUMNS),
        sqlite_where=text(tab_predicate(_states)),
        postgresql_where=text(tab_predicate(_states)),
    )
Index("ix_requests_received_at", Request.__table__.c.received_at, Request.__table__.c.id)


class RequestIdentifier(Base):
    """A normalised e-mail, handle or full name that identifies a non-member."""

    __tablename__ = "request_identifiers"
    __table_args__ = (UniqueConstraint("request_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(EMAIL_MAX))

    request: Mapped[Request] = relationship(back_populates="identifiers")


class RequestSubject(Base):
    """A member account a request was matched to, and how (verified e-mail or handle)."""

    __tablename__ = "request_subjects"

    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), primary_key=True)
    # Indexed on its own (migration 0003) so the portal's API can look accounts up.
    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    matched_by: Mapped[str] = mapped_column(String(8))

    request: Mapped[Request] = relationship(back_populates="subjects")


class VerificationCode(Base):
    """A code sent to an address: only its keyed hash is kept, never the code."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerificationLoad(Base):
    """Failed verifications across all addresses in one clock hour (UTC), and when the
    last slowed-down attempt was let through once they passed the ceiling."""

    __tablename__ = "verification_load"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    slowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QueuedMail(Base):
    """A message waiting to be sent, or sent. Rows are kept, so nothing is lost or re-sent.

    ``template`` and ``params`` are rendered when the message is sent, not when it is
    queued: a verification code is made at that moment, so no code ever sits in the
    database in clear, and its fifteen minutes start when it can actually arrive.
    """

    __tablename__ = "mail_queue"
    __table_args__ = (Index("ix_mail_queue_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to_address: Mapped[str] = mapped_column(String(EMAIL_MAX), index=True)
    template: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))


class AuditEvent(Base):
    """One event of the append-only audit trail, chained to the one before by its hash."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX), index=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditStaging(Base):
    """Events of a transaction waiting for its commit to chain them (PostgreSQL; migration
    0004's trigger empties it as it appends them to ``audit_events``)."""

    __tablename__ = "audit_staging"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX))
    detail: Mapped[str] = mapped_column(Text)


class AuditHead(Base):
    """The last event of the chain (one row): appends lock it, verify compares against it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class LogNode(Base):
    """A perfect subtree of the transparency log: ``2**level`` leaves from ``idx * 2**level``
    (level 0: the leaf hash of audit event ``idx + 1``). Written by the sealer (proofs)."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class LogHead(Base):
    """A signed head of the transparency log: its size, root and time, kept over time."""

    __tablename__ = "log_heads"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    time: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(64))


class Officer(Base):
    """A privacy officer who may sign in to the console; the password as an argon2 hash."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class Dataset(Base):
    """A built dataset in the catalogue (lineage): where it is and what it was built from."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(200))
    policy_sha256: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(32))
    kept_rows: Mapped[int] = mapped_column(BigInteger)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When `notrain dataset purge` deleted its files (None: still on disk)."""


class TrainedModel(Base):
    """A model trained from a catalogued dataset, so a recall can name who must retrain."""

    __tablename__ = "trained_models"
    __table_args__ = (UniqueConstraint("name", "dataset_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """A key the platform's pipelines present to the portal's API; only its sha256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Space-separated: status (read accounts' decisions), submit (make members' requests).
    scopes: Mapped[str] = mapped_column(String(64), server_default="status")


class IdempotencyKey(Base):
    """Which request an API call with an ``Idempotency-Key`` made, per API key (migration
    0008): the same call again returns that request instead of making another."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))  # what was asked: account and kind
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A privacy officer's signed-in console session; only the token's sha256 is kept."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BulkJob(Base):
    """A confirmed bulk decision: what, by whom, on which selection, and how far it got."""

    __tablename__ = "bulk_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    officer: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # accept, reject, extend
    reason: Mapped[str | None] = mapped_column(Text)
    months: Mapped[int | None] = mapped_column(Integer)
    selection: Mapped[str] = mapped_column(Text)  # the filter or the ticked ids, as JSON
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BulkItem(Base):
    """One request of a bulk decision; ``outcome`` is set when it has been handled."""

    __tablename__ = "bulk_items"

    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_jobs.id"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(REQUEST_ID_MAX), primary_key=True)
    outcome: Mapped[str | None] = mapped_column(String(16))  # done, skipped
    detail: Mapped[str | None] = mapped_column(Text)


def row_dict(row: Base) -> dict[str, Any]:
    """The column values of a row, by column name."""
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}
