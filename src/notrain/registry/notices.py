"""What the registry tells requesters, and how a queued message becomes an e-mail.

Every message is written in the request's language (its catalogue, its dates), says so in
``Content-Language``, and ends with the link to the request's status page
(``NOTRAIN_PUBLIC_URL``). What an officer typed (a reason, an access answer) is quoted as
typed.

Messages are rendered when they are sent, from the request as it then is. A verification
message makes its code at that moment (see :mod:`notrain.mail.queue`), and its hash is kept
once the message is out. No message says whether an address belongs to an account before
the address is verified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain import languages
from notrain.languages import N_
from notrain.mail.message import attach_json, compose
from notrain.mail.queue import Rendered, Renderer, params_of
from notrain.registry import audit, status_tokens, verification
from notrain.registry.authorities import LGPD_COUNTRIES, authority_of
from notrain.registry.config import DEFAULT_AUTHORITY, RegistryConfig
from notrain.registry.models import QueuedMail, Request
from notrain.registry.states import RequestKind, RequestState

VERIFICATION = verification.CODE_TEMPLATE
REVIEW = "needs_review"
ACCEPTED = "accepted"
REJECTED = "rejected"
EXTENDED = "extended"
ANSWERED = "answered"
REMINDER = verification.REMINDER_TEMPLATE  # a fresh code for a request awaiting one
CODED = (VERIFICATION, REMINDER)

# What was asked, as a line of its own (a label, never spliced into a sentence: that would
# not survive translation). The same texts as the portal's labels, so one translation each.
_ASKED = {
    RequestKind.OBJECTION: N_("Objection to AI training"),
    RequestKind.CONSENT: N_("Consent to AI training"),
    RequestKind.CONSENT_WITHDRAWAL: N_("Withdrawal of consent"),
    RequestKind.OBJECTION_WITHDRAWAL: N_("Withdrawal of an objection"),
    RequestKind.ACCESS: N_("Access: what of mine is in which dataset"),
    RequestKind.ERASURE: N_("Erasure"),
}

_ACCEPTED = {
    RequestKind.OBJECTION: N_(
        "Your objection is accepted. It reaches back to everything made before today as well "
        "as after, and never needs to be repeated or renewed."
    ),
    RequestKind.CONSENT: N_(
        "Your consent is recorded. You can withdraw it at any time, as easily as you gave it."
    ),
    RequestKind.CONSENT_WITHDRAWAL: N_(
        "Your consent is withdrawn. No training dataset made from now on uses your content "
        "on the basis of consent."
    ),
    RequestKind.OBJECTION_WITHDRAWAL: N_(
        "Your objection is withdrawn. Training datasets made from now on may use your "
        "content again, as far as the platform's rules allow; datasets made before stay as "
        "they were. You can object again at any time, and it counts again at once."
    ),
    RequestKind.ACCESS: N_(
        "Your access request is accepted; the answer follows in a separate message."
    ),
    RequestKind.ERASURE: N_(
        "Your erasure request is accepted. Your data is left out of every training dataset "
        "made from now on."
    ),
}

_SCOPE_MEMBER = N_("This applies to every account linked to this e-mail address.")
_SCOPE_HANDLE = N_("This applies to the account you named.")
_SCOPE_NAMES = N_(
    "This applies to the names, e-mail addresses and handles you gave, wherever others' content "
    "names you."
)
# A withdrawal names nobody itself: it ends the objections of the same accounts and those
# made from the same address.
_WITHDRAWN_MEMBER = N_(
    "This applies to every account linked to this e-mail address, and the names, e-mail "
    "addresses and handles that objections from this address gave."
)
_WITHDRAWN_HANDLE = N_(
    "This applies to the account you named, and the names, e-mail addresses and handles that "
    "objections from this address gave."
)
_WITHDRAWN_NAMES = N_(
    "This applies to the names, e-mail addresses and handles that objections from this "
    "address gave."
)


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str
    language: str
    on_sent: Callable[[Session], None] | None = None


def status_link(config: RegistryConfig, request: Request) -> tuple[str, bool]:
    """The address a mail gives for the request (the one place that builds it), and whether
    it opens the request.

    Once the address is proved, the status page with the request's token (which opens it,
    so the person who lost the page can still follow the request); before that, the page
    where the code is entered: nothing about a request opens without its code.
    """
    base = f"{config.public_url.rstrip('/')}/requests/{request.id}"
    token = status_tokens.token_for(config.secret_key, request)
    if token is None:
        return f"{base}/code", False
    return f"{base}?token={quote(token, safe='')}", True


def _scope(request: Request) -> str:
    withdrawal = request.kind == RequestKind.OBJECTION_WITHDRAWAL
    if request.member:
        return _WITHDRAWN_MEMBER if withdrawal else _SCOPE_MEMBER
    if request.subjects:
        return _WITHDRAWN_HANDLE if withdrawal else _SCOPE_HANDLE
    return _WITHDRAWN_NAMES if withdrawal else _SCOPE_NAMES


def _render(
    config: RegistryConfig,
    row: QueuedMail,
    request: Request | None,
    codes: verification.CodeIssuer,
) -> Mail:
    """The message in the request's language, and what to write once it is sent."""
    if request is None:
        raise LookupError(f"queued mail {row.id}: request {row.request_id} not found")
    language = languages.known(request.language)
    _ = languages.translations(language).gettext
    kind = RequestKind(request.kind)
    asked = _(_ASKED[kind])
    on_sent = None
    if row.template in CODED and (
        request.state != RequestState.SUBMITTED or request.merged_into is not None
    ):
        # Queued before the address was confirmed with an earlier code: no code is needed now.
        subject = _("Your request is already confirmed")
        text = _("Your request is already confirmed; no code is needed:") + f"\n\n    {asked}"
    elif row.template == VERIFICATION:
        code, on_sent = codes.issue(request)
        subject, text = _code(language, asked, code, config)
    elif row.template == REMINDER:
        code, on_sent = codes.issue(request)
        subject, text = _reminder(language, asked, code, config, request)
    else:
        subject, text = _notice(config, row, request, language, asked)
    link, opens = status_link(config, request)
    footer = _("You can see where your request stands at any time:") + f"\n{link}\n\n"
    if opens:
        footer += _("Keep this link to yourself: it opens your request.") + "\n"
    footer += _("Reference: %(id)s") % {"id": request.id}
    signature = _("The privacy team. Reply to this message if anything is unclear.")
    body = f"{text}\n\n{footer}\n\n-- \n{signature}\n"
    return Mail(subject, body, language, on_sent)


def _valid_for(t: Any, config: RegistryConfig) -> str:
    """How long a code is valid, in the mail's language and plural rules."""
    minutes = int(config.codes.ttl.total_seconds() // 60)
    text: str = t.ngettext(
        "It is valid for %(num)d minute.", "It is valid for %(num)d minutes.", minutes
    ) % {"num": minutes}
    return text


def _code(language: str, asked: str, code: str, config: RegistryConfig) -> tuple[str, str]:
    t = languages.translations(language)
    valid = _valid_for(t, config)
    return (
        t.gettext("Your verification code"),
        t.gettext("Someone, we hope you, made this request using this address:")
        + f"\n\n    {asked}\n\n"
        + t.gettext("Your code is:  %(code)s") % {"code": code}
        + "\n\n"
        + valid
        + " "
        + t.gettext("If you did not ask, ignore this message: nothing happens without the code."),
    )


def _reminder(
    language: str, asked: str, code: str, config: RegistryConfig, request: Request
) -> tuple[str, str]:
    t = languages.translations(language)
    valid = _valid_for(t, config)
    made = {"date": languages.long_date(request.received_at, language)}
    return (
        t.gettext("Reminder: your request is not confirmed yet"),
        t.gettext("On %(date)s someone, we hope you, made this request using this address:") % made
        + f"\n\n    {asked}\n\n"
        + t.gettext("It was never confirmed, so nothing has happened yet. Here is a new code.")
        + "\n\n"
        + t.gettext("Your code is:  %(code)s") % {"code": code}
        + "\n\n"
        + valid
        + " "
        + t.gettext("This is the only reminder; if you did not ask, ignore this message."),
    )


def _notice(
    config: RegistryConfig, row: QueuedMail, request: Request, language: str, asked: str
) -> tuple[str, str]:
    _ = languages.translations(language).gettext
    params = params_of(row)
    ref = {"id": request.id}
    due = {"date": languages.long_date(request.due_at, language)}
    if row.template == REVIEW:
        return (
            _("We received your request (%(id)s)") % ref,
            _("Your request is verified:")
            + f"\n\n    {asked}\n\n"
            + _(
                "A person will look at it and answer by %(date)s at the latest. You do not "
                "need to give a reason."
            )
            % due,
        )
    if row.template == ACCEPTED:
        kind = RequestKind(request.kind)
        return (
            _("Your request is accepted (%(id)s)") % ref,
            _("Your request:")
            + f"\n\n    {asked}\n\n"
            + _(_ACCEPTED[kind])
            + " "
            + _(_scope(request)),
        )
    if row.template == REJECTED:
        reason = str(params.get("reason", request.decision_reason) or "")
        return (
            _("Your request was not accepted (%(id)s)") % ref,
            _("Your request was not accepted:")
            + f"\n\n    {asked}\n\n"
            + _("The reason given:")
            + f"\n\n    {reason}\n\n"
            + _complaint(config, request, language),
        )
    if row.template == EXTENDED:
        reason = str(params.get("reason", request.extension_reason) or "")
        return (
            _("More time is needed for your request (%(id)s)") % ref,
            _("We need more time to answer your request:")
            + f"\n\n    {asked}\n\n"
            + _("The reason given:")
            + f"\n\n    {reason}\n\n"
            + _("You will have our answer by %(date)s at the latest (GDPR Art. 12(3)).") % due,
        )
    if row.template == ANSWERED:
        return (
            _("The answer to your request (%(id)s)") % ref,
            _("The answer to your request:")
            + f"\n\n    {asked}\n\n"
            + str(params.get("answer", "")),
        )
    raise LookupError(f"queued mail {row.id}: unknown template {row.template!r}")


def _complaint(config: RegistryConfig, request: Request, language: str) -> str:
    """The right to complain, and where: the authority of the requester's country."""
    _ = languages.translations(language).gettext
    if request.country in LGPD_COUNTRIES:
        right = _(
            "You have the right to petition the national data protection authority "
            "(LGPD Art. 18, § 1)."
        )
    else:
        right = _(
            "You have the right to lodge a complaint with a supervisory authority and to "
            "seek a judicial remedy (GDPR Art. 12(4), 77 and 79)."
        )
    authority = authority_of(request.country)
    if authority is None:
        if config.supervisory_authority != DEFAULT_AUTHORITY:
            return f"{right}\n\n    {config.supervisory_authority}"
        return (
            right
            + " "
            + _("You may turn to the data protection authority of your country of residence.")
        )
    country = languages.territory_name(request.country, language)
    where = _("The supervisory authority of your country of residence (%(country)s) is:") % {
        "country": country
    }
    return f"{right}\n\n{where}\n\n    {authority.name}\n    {authority.website}"


def _requests(session: Session, rows: Sequence[QueuedMail]) -> dict[str, Request]:
    """The batch's requests; those getting a code are locked (in id order, so two
    deliveries never wait on each other in a circle) until the batch is committed."""
    coded = sorted({r.request_id for r in rows if r.request_id and r.template in CODED})
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
            (r.request_id for r in rows if r.request_id and r.template in CODED),
            now,
        )
        out: list[Rendered] = []
        for row in rows:
            request = requests.get(row.request_id) if row.request_id else None
            mail = _render(config, row, request, codes)
            message = compose(
                sender=config.mail_from,
                to=row.to_address,
                subject=mail.subject,
                body=mail.body,
                at=now,
                language=mail.language,
            )
            if config.attachments is not None and request is not None:
                for name, data in config.attachments(session, row.template, request):
                    attach_json(message, name, data)
            out.append(Rendered(message, mail.on_sent))
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
