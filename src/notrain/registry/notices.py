"""What the registry tells requesters, and how a queued message becomes an e-mail.

Messages are rendered when they are sent, from the request as it then is. A verification
message makes its code at that moment (see :mod:`notrain.mail.queue`), and its hash is kept
once the message is out. No message says whether an address belongs to an account before
the address is verified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.mail.message import compose
from notrain.mail.queue import Rendered, Renderer, params_of
from notrain.registry import audit, verification
from notrain.registry.config import RegistryConfig
from notrain.registry.models import QueuedMail, Request
from notrain.registry.states import RequestKind, RequestState

VERIFICATION = verification.CODE_TEMPLATE
REVIEW = "needs_review"
ACCEPTED = "accepted"
REJECTED = "rejected"
EXTENDED = "extended"
ANSWERED = "answered"

_ASKED = {
    RequestKind.OBJECTION: "object to the use of your content for training AI models",
    RequestKind.CONSENT: "consent to the use of your content for training AI models",
    RequestKind.CONSENT_WITHDRAWAL: "withdraw your consent to AI training",
    RequestKind.OBJECTION_WITHDRAWAL: "withdraw your objection to AI training",
    RequestKind.ACCESS: "know what of yours went into which training dataset",
    RequestKind.ERASURE: "have your data erased",
}

_ACCEPTED = {
    RequestKind.OBJECTION: (
        "Your objection is accepted. It covers {scope}, reaches back to everything made "
        "before today as well as after, and never needs to be repeated or renewed."
    ),
    RequestKind.CONSENT: (
        "Your consent is recorded for {scope}. You can withdraw it at any time, as easily "
        "as you gave it."
    ),
    RequestKind.CONSENT_WITHDRAWAL: (
        "Your consent is withdrawn for {scope}. No training dataset made from now on uses "
        "your content on the basis of consent."
    ),
    RequestKind.OBJECTION_WITHDRAWAL: (
        "Your objection is withdrawn for {scope}. Training datasets made from now on may use "
        "your content again, as far as the platform's rules allow; datasets made before "
        "stay as they were. You can object again at any time, and it counts again at once."
    ),
    RequestKind.ACCESS: (
        "Your access request is accepted; the answer follows in a separate message."
    ),
    RequestKind.ERASURE: (
        "Your erasure request is accepted for {scope}. Your data is left out of every "
        "training dataset made from now on."
    ),
}

_SIGNATURE = "\n\n-- \nThe privacy team. Reply to this message if anything is unclear.\n"


def _scope(request: Request) -> str:
    if request.kind == RequestKind.OBJECTION_WITHDRAWAL:
        # A withdrawal names nobody itself: it ends the objections of the same accounts and
        # those made from the same address.
        made = "the names, e-mail addresses and handles that objections from this address gave"
        if request.member:
            return f"every account linked to this e-mail address, and {made}"
        if request.subjects:
            return f"the account you named, and {made}"
        return made
    if request.member:
        return "every account linked to this e-mail address"
    if request.subjects:
        return "the account you named"
    return "the names, e-mail addresses and handles you gave, wherever others' content names you"


def _due(moment: datetime) -> str:
    return moment.date().isoformat()


def _text(
    config: RegistryConfig,
    row: QueuedMail,
    request: Request | None,
    codes: verification.CodeIssuer,
) -> tuple[str, str, Callable[[Session], None] | None]:
    """Subject, body, and what to write once the message is sent."""
    params = params_of(row)
    if request is None:
        raise LookupError(f"queued mail {row.id}: request {row.request_id} not found")
    kind = RequestKind(request.kind)
    ref = f"request {request.id}"
    if row.template == VERIFICATION and request.state != RequestState.SUBMITTED:
        # Queued before the address was confirmed with an earlier code: no code is needed now.
        return (
            "Your request is already confirmed",
            f"Your request to {_ASKED[kind]} ({ref}) is already confirmed; no code is needed.",
            None,
        )
    if row.template == VERIFICATION:
        code, store = codes.issue(request)
        minutes = int(config.codes.ttl.total_seconds() // 60)
        return (
            "Your verification code",
            f"Someone, we hope you, asked to {_ASKED[kind]} using this address ({ref}).\n\n"
            f"Your code is:  {code}\n\n"
            f"It is valid for {minutes} minutes. If you did not ask, ignore this message: "
            "nothing happens without the code.",
            store,
        )
    subject, body = _notice(config, row, request, kind, params)
    return subject, body, None


def _notice(
    config: RegistryConfig,
    row: QueuedMail,
    request: Request,
    kind: RequestKind,
    params: dict[str, object],
) -> tuple[str, str]:
    ref = f"request {request.id}"
    if row.template == REVIEW:
        return (
            f"We received your request ({request.id})",
            f"Your request to {_ASKED[kind]} is verified. A person will look at it and answer "
            f"by {_due(request.due_at)} at the latest. You do not need to give a reason.",
        )
    if row.template == ACCEPTED:
        return (
            f"Your request is accepted ({request.id})",
            _ACCEPTED[kind].format(scope=_scope(request)) + f"\n\nReference: {ref}.",
        )
    if row.template == REJECTED:
        return (
            f"Your request was not accepted ({request.id})",
            f"Your request to {_ASKED[kind]} was not accepted, for this reason:\n\n"
            f"    {params.get('reason', request.decision_reason)}\n\n"
            f"You have the right to lodge a complaint with {config.supervisory_authority} "
            "and to seek a judicial remedy (GDPR Art. 12(4), 77 and 79).",
        )
    if row.template == EXTENDED:
        return (
            f"More time is needed for your request ({request.id})",
            f"We need more time to answer your request to {_ASKED[kind]}, for this reason:\n\n"
            f"    {params.get('reason', request.extension_reason)}\n\n"
            f"You will have our answer by {_due(request.due_at)} at the latest "
            "(GDPR Art. 12(3)).",
        )
    if row.template == ANSWERED:
        return (f"The answer to your request ({request.id})", str(params.get("answer", "")))
    raise LookupError(f"queued mail {row.id}: unknown template {row.template!r}")


def _requests(session: Session, rows: Sequence[QueuedMail]) -> dict[str, Request]:
    """The batch's requests; those getting a code are locked (in id order, so two
    deliveries never wait on each other in a circle) until the batch is committed."""
    coded = sorted({r.request_id for r in rows if r.request_id and r.template == VERIFICATION})
    others = sorted({r.request_id for r in rows if r.request_id} - set(coded))
    found: dict[str, Request] = {}
    if coded:
        stmt = select(Request).where(Request.id.in_(coded)).order_by(Request.id)
        found.update((r.id, r) for r in session.scalars(stmt.with_for_update()))
    if others:
        found.update(
            (r.id, r) for r in session.scalars(select(Request).where(Request.id.in_(others)))
        )
    return found


def renderer(config: RegistryConfig) -> Renderer:
    """The queue's renderer for this registry's messages."""

    def render(session: Session, rows: Sequence[QueuedMail], now: datetime) -> list[Rendered]:
        requests = _requests(session, rows)
        codes = verification.CodeIssuer(
            session,
            config.secret_key,
            config.codes,
            (r.request_id for r in rows if r.request_id and r.template == VERIFICATION),
            now,
        )
        out: list[Rendered] = []
        for row in rows:
            request = requests.get(row.request_id) if row.request_id else None
            subject, body, on_sent = _text(config, row, request, codes)
            message = compose(
                sender=config.mail_from,
                to=row.to_address,
                subject=subject,
                body=body + _SIGNATURE,
                at=now,
            )
            if config.attachments is not None and request is not None:
                for name, data in config.attachments(session, row.template, request):
                    message.add_attachment(
                        data, maintype="application", subtype="json", filename=name
                    )
            out.append(Rendered(message, on_sent))
        return out

    return render


def audit_sent(session: Session, row: QueuedMail, now: datetime) -> None:
    audit.record(
        session, at=now, actor="system:mail", action="mail_sent", request_id=row.request_id,
        mail_id=row.id, template=row.template, message_id=row.message_id,
    )  # fmt: skip


def audit_failed(session: Session, row: QueuedMail, now: datetime) -> None:
    audit.record(
        session, at=now, actor="system:mail", action="mail_failed", request_id=row.request_id,
        mail_id=row.id, template=row.template, attempts=row.attempts, error=row.last_error,
        retry_at=row.next_attempt_at.isoformat(),
    )  # fmt: skip
