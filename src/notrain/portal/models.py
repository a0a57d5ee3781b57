"""The shapes the portal answers with: one model per page or API answer.

A page's data is built once, as one of these, and rendered either as HTML or as JSON
(``?format=json``), so the site and the API cannot say different things.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from notrain.registry.models import EMAIL_MAX, HANDLE_MAX, NOTE_MAX
from notrain.registry.states import RequestKind

KindName = Literal[
    "objection", "objection_withdrawal", "consent", "consent_withdrawal", "access", "erasure"
]
assert set(KindName.__args__) == {k.value for k in RequestKind}  # type: ignore[attr-defined]
MAX_LIST = 20
MAX_BATCH = 1000
INT64_MAX = 2**63 - 1


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ---------------------------------------------------------------------------------


class ErrorBody(Model):
    type: str = Field(description="The error's class, e.g. RequestInvalid, RateLimited.")
    status: int = Field(description="The HTTP status, repeated.")
    message: str = Field(description="One line saying what is wrong.")
    field: str | None = Field(default=None, description="The field at fault, when there is one.")
    retry_after: int | None = Field(default=None, description="Seconds to wait (429 only).")


class ErrorResponse(Model):
    """Every error the portal answers, whatever its cause, has this shape."""

    error: ErrorBody


# -- requesters -----------------------------------------------------------------------------


class RequestIn(Model):
    """A request as a person makes it. No reason is asked for; the note is optional."""

    kind: KindName
    email: str = Field(max_length=EMAIL_MAX + 66, description="The code is sent here.")
    country: str = Field(max_length=8, description="Country of residence, ISO 3166-1 alpha-2.")
    handle: str | None = Field(default=None, max_length=HANDLE_MAX + 1)
    names: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    emails: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    handles: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    language: str | None = Field(
        default=None,
        max_length=16,
        description="BCP 47 tag of the language the request's mails are written in (one of "
        "the portal's languages); unset: from Accept-Language, else English.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "objection", "email": "ann@example.org", "country": "FR", "language": "fr"}
            ]
        },
    )


class ReceiptOut(Model):
    request_id: str
    message: str
    status_url: str = Field(
        description="Where the request's status can be read, with the status token that "
        "entering the code gives."
    )
    code_url: str = Field(description="The page where the e-mailed code is entered.")


class CodeIn(Model):
    code: str = Field(max_length=32, description="The six digits from the e-mail.")


class OutcomeOut(Model):
    request_id: str = Field(
        description="The request the code opened: for a duplicate of a pending request, the "
        "pending one's id."
    )
    state: str
    due_at: datetime
    message: str
    status_token: str = Field(
        description="The secret that opens the request's status and answer: send it as "
        "Authorization: Bearer <status_token> (or ?token= in a link). Keep it; it is given "
        "only here."
    )
    status_url: str = Field(description="The status page's link, with the token.")


class StatusOut(Model):
    """What the holder of the status token sees: the stage, never the decision's basis."""

    request_id: str
    stage: Literal["awaiting_code", "received", "answered"]
    due_at: datetime | None
    language: str = Field(description="The language of the request's mails (BCP 47).")
    status_url: str
    access: dict[str, Any] | None = Field(
        None,
        description="For an accepted access request, once lineage is available: what of the "
        "requester's is in which dataset.",
    )
    access_url: str | None = Field(
        None, description="The access answer as a JSON download (a link with the token)."
    )
    proofs_url: str = Field(
        "", description="The page of the request's receipts and proofs (a link with the token)."
    )
    receipt_url: str = Field(
        "", description="The request's signed receipt as a JSON download (with the token)."
    )


# -- the policy -----------------------------------------------------------------------------


class JurisdictionOut(Model):
    name: str
    regime: str
    countries: list[str]
    active_from: date
    content_since: date | None


class PolicyOut(Model):
    name: str
    purpose: str
    sha256: str
    kinds_used: list[str]
    kinds_not_used: list[str]
    visibility_used: list[str]
    visibility_not_used: list[str]
    min_age: int
    unknown_age_excluded: bool
    objections_retroactive: bool
    tagged_excluded: bool
    mentions: Literal["redact", "exclude"]
    identifiers_redacted: bool
    signals_honoured: bool
    redact_emails: bool
    redact_phones: bool
    jurisdictions: list[JurisdictionOut]
    rules: list[str] = Field(description="The rules as the builder applies them, in English.")


# -- platform pipelines ---------------------------------------------------------------------


class Decision(Model):
    kind: Literal["objection", "erasure", "consent"]
    effective_at: datetime
    request_id: str


class PendingRequest(Model):
    request_id: str
    kind: str
    state: str


class SubjectStatus(Model):
    """An account's effective decisions, as the next registry snapshot will hold them."""

    user_id: int
    objected: bool
    erased: bool
    consented: bool
    decisions: list[Decision]
    pending: list[PendingRequest]


class SubjectBatchIn(Model):
    user_ids: list[int] = Field(min_length=1, max_length=MAX_BATCH)


class SubjectBatchOut(Model):
    subjects: list[SubjectStatus]


class Health(Model):
    status: Literal["ok"]
    database: Literal["ok"]
