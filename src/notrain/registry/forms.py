"""What a person may send, and how it is checked and normalised before anything is stored.

The same checks serve the portal's form, the CLI and bulk imports: an invalid e-mail, a
country that is not ISO 3166-1 alpha-2, an oversized field or an unknown kind is refused
with :class:`~notrain.errors.RequestInvalid` naming the field. Identifiers are normalised
the way the builder compares them: lower case, Unicode NFC, runs of whitespace as one space.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from notrain import languages
from notrain.errors import RequestInvalid
from notrain.registry.countries import ISO_3166_ALPHA2
from notrain.registry.models import EMAIL_MAX, HANDLE_MAX, NAME_MAX, NOTE_MAX
from notrain.registry.states import RequestKind

MAX_IDENTIFIERS = 20
_HANDLE = re.compile(r"^[\w.\-]+$")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RequestForm:
    """A request as a person fills it in. No reason is asked for; ``note`` is optional.

    ``email`` is the address the code goes to (and, for a member, the account's address);
    ``handle`` the member's handle on the platform, if they give it. ``names``, ``emails``
    and ``handles`` identify a person without an account (or a member's name) in others'
    content.
    """

    kind: str
    email: str
    country: str
    handle: str | None = None
    names: Sequence[str] = field(default_factory=tuple)
    emails: Sequence[str] = field(default_factory=tuple)
    handles: Sequence[str] = field(default_factory=tuple)
    note: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class Identifier:
    kind: str  # email, handle or name
    value: str


@dataclass(frozen=True)
class CleanRequest:
    kind: RequestKind
    email: str
    country: str
    handle: str | None
    identifiers: tuple[Identifier, ...]  # the contact e-mail first, then the others
    note: str | None
    language: str = "en"  # of the mails; not part of the fingerprint

    @property
    def fingerprint(self) -> str:
        """Equal for the same request sent twice (the note aside): makes submission idempotent."""
        key = [
            self.kind.value,
            self.email,
            self.handle,
            sorted([i.kind, i.value] for i in self.identifiers),
        ]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def normalise_email(value: str, field_name: str = "email") -> str:
    value = value.strip()
    if not value:
        raise RequestInvalid(field_name, "an e-mail address is required")
    if len(value) > EMAIL_MAX:
        raise RequestInvalid(field_name, f"longer than {EMAIL_MAX} characters")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise RequestInvalid(
            field_name, f"{value!r} is not a valid e-mail address ({exc})"
        ) from None
    return checked.normalized.lower()


def normalise_handle(value: str, field_name: str = "handle") -> str:
    handle = unicodedata.normalize("NFC", value.strip()).removeprefix("@").lower()
    if not handle:
        raise RequestInvalid(field_name, "empty handle")
    if len(handle) > HANDLE_MAX:
        raise RequestInvalid(field_name, f"longer than {HANDLE_MAX} characters")
    if not _HANDLE.match(handle):
        raise RequestInvalid(field_name, f"{value!r} is not a handle (letters, digits, _ . - only)")
    return handle


def normalise_name(value: str, field_name: str = "names") -> str:
    name = _SPACE.sub(" ", unicodedata.normalize("NFC", value)).strip().lower()
    if len(name) > NAME_MAX:
        raise RequestInvalid(field_name, f"a name longer than {NAME_MAX} characters")
    if len(name) < 2 or _CONTROL.search(name) or not any(ch.isalpha() for ch in name):
        raise RequestInvalid(field_name, f"{value!r} is not a name")
    return name


def normalise_country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise RequestInvalid(
            "country", f"{value!r} is not an ISO 3166-1 alpha-2 country code (such as DE, FR)"
        )
    return code


def normalise_kind(value: str) -> RequestKind:
    try:
        return RequestKind(value.strip().lower())
    except ValueError:
        kinds = ", ".join(k.value for k in RequestKind)
        raise RequestInvalid("kind", f"{value!r} is not a request kind ({kinds})") from None


def normalise_language(value: str | None) -> str:
    """One of the languages mails are written in (BCP 47, any case); none given: English."""
    if value is None or not value.strip():
        return languages.DEFAULT
    tag = languages.known(value)
    if tag.lower() != value.strip().lower():
        listed = ", ".join(languages.TAGS)
        raise RequestInvalid("language", f"{value!r} is not a language of the portal ({listed})")
    return tag


def normalise_note(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    note = unicodedata.normalize("NFC", value.strip())
    if len(note) > NOTE_MAX:
        raise RequestInvalid("note", f"longer than {NOTE_MAX} characters")
    if _CONTROL.search(note):
        raise RequestInvalid("note", "holds control characters")
    return note


def clean(form: RequestForm) -> CleanRequest:
    """Check and normalise a form; the first problem raises :class:`RequestInvalid`."""
    kind = normalise_kind(form.kind)
    email = normalise_email(form.email)
    country = normalise_country(form.country)
    handle = normalise_handle(form.handle) if form.handle and form.handle.strip() else None
    for name, values in (("names", form.names), ("emails", form.emails), ("handles", form.handles)):
        if isinstance(values, str):
            raise RequestInvalid(name, "must be a list")
    identifiers: list[Identifier] = [Identifier("email", email)]
    identifiers += [Identifier("email", normalise_email(v, "emails")) for v in form.emails]
    identifiers += [Identifier("handle", normalise_handle(v, "handles")) for v in form.handles]
    identifiers += [Identifier("name", normalise_name(v)) for v in form.names]
    unique = tuple(dict.fromkeys(identifiers))
    if len(unique) > MAX_IDENTIFIERS:
        raise RequestInvalid(
            "identifiers", f"{len(unique)} given; at most {MAX_IDENTIFIERS} per request"
        )
    return CleanRequest(
        kind=kind,
        email=email,
        country=country,
        handle=handle,
        identifiers=unique,
        note=normalise_note(form.note),
        language=normalise_language(form.language),
    )
