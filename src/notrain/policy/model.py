"""The policy as data: what a build may keep, validated, immutable.

A policy is written in TOML (see ``default.toml`` beside this file); ``loader.py`` turns the
file into a :class:`Policy` and maps every validation problem to the line it comes from.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from notrain.contracts import ContentKind, Visibility


class Regime(StrEnum):
    """How AI training is lawful in a jurisdiction, if at all."""

    OBJECTION = "objection"  # legitimate interest, with a right to object (GDPR Art. 21)
    CONSENT = "consent"  # opt-in: only authors who consented
    EXCLUDED = "excluded"  # never trained on


class ExclusionReason(StrEnum):
    """Why a row was left out, in the fixed order in which the rules are tried.

    Each excluded row gets the first reason that applies, so counts per reason add up.
    """

    KIND_NOT_ALLOWED = "kind_not_allowed"
    NOT_PUBLIC = "not_public"
    AUTHOR_UNKNOWN = "author_unknown"
    JURISDICTION_EXCLUDED = "jurisdiction_excluded"
    AUTHOR_MINOR = "author_minor"
    AUTHOR_ERASED = "author_erased"
    AUTHOR_OBJECTED = "author_objected"
    NO_CONSENT = "no_consent"
    THIRD_PARTY_OBJECTED = "third_party_objected"
    SIGNAL_RESERVED = "signal_reserved"
    SIGNAL_UNREADABLE = "signal_unreadable"


REASON_ORDER: tuple[ExclusionReason, ...] = tuple(ExclusionReason)

WILDCARD = "*"

# TOML has real dates, integers and booleans; a quoted "2025-05-27", "18" or "true" in a
# policy is a mistake worth reporting, not something to coerce silently.
StrictDate = Annotated[date, Strict()]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Jurisdiction(_Frozen):
    """A group of countries sharing a regime and its dates."""

    name: str = Field(min_length=1)
    countries: tuple[str, ...] = Field(min_length=1)
    regime: Regime
    active_from: StrictDate
    content_since: StrictDate | None = None

    @field_validator("countries")
    @classmethod
    def _iso_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if code != WILDCARD and not (len(code) == 2 and code.isascii() and code.isupper()):
                raise ValueError(
                    f"{code!r} is not an ISO 3166-1 alpha-2 code (two capital letters) or '*'"
                )
        seen: set[str] = set()
        for code in value:
            if code in seen:
                raise ValueError(f"{code} is listed twice")
            seen.add(code)
        return value


class ContentRules(_Frozen):
    kinds: tuple[ContentKind, ...] = Field(min_length=1)
    visibility: tuple[Visibility, ...] = Field(min_length=1)

    @field_validator("kinds")
    @classmethod
    def _no_private_messages(cls, value: tuple[ContentKind, ...]) -> tuple[ContentKind, ...]:
        if ContentKind.PRIVATE_MESSAGE in value:
            raise ValueError("private_message can never be used for training")
        return value


class AuthorRules(_Frozen):
    min_age: StrictInt = Field(ge=0, le=120)
    unknown_age: Literal["exclude", "include"] = "exclude"


class ObjectionRules(_Frozen):
    retroactive: StrictBool = True


class ThirdPartyRules(_Frozen):
    # What happens to a photo or video that tags someone who objected or asked for erasure.
    tagged: Literal["exclude", "keep"] = "exclude"
    # What happens to an @mention of such a person in kept text.
    mentioned: Literal["redact", "exclude"] = "redact"
    # Whether non-member identifiers in the registry snapshot are redacted in kept text.
    identifiers: Literal["redact", "keep"] = "redact"


class SignalRules(_Frozen):
    # Whether machine-readable "do not train" marks found by `notrain signals` exclude items.
    honour: bool = True
    # What an item counts as when a source that could reserve it was not captured.
    unknown: Literal["allow", "exclude"] = "allow"
    # What an item counts as when its signals could not be read (corrupt, refused, timed out).
    unreadable: Literal["exclude", "allow"] = "exclude"


class RedactionRules(_Frozen):
    emails: StrictBool = True
    phones: StrictBool = True
    ips: StrictBool = True

    def applied(self) -> list[str]:
        """The categories replaced in kept text, as a manifest records them."""
        switches = (("email", self.emails), ("phone", self.phones), ("ip", self.ips))
        return [name for name, on in switches if on]


class Policy(_Frozen):
    name: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    content: ContentRules
    authors: AuthorRules
    jurisdictions: tuple[Jurisdiction, ...] = Field(min_length=1)
    objections: ObjectionRules = ObjectionRules()
    third_parties: ThirdPartyRules = ThirdPartyRules()
    redaction: RedactionRules = RedactionRules()
    signals: SignalRules = SignalRules()

    @model_validator(mode="after")
    def _each_country_once(self) -> Policy:
        seen: dict[str, str] = {}
        for index, jurisdiction in enumerate(self.jurisdictions):
            for code in jurisdiction.countries:
                if code in seen:
                    # A custom error type carries the offending jurisdiction's index, so the
                    # loader can point at its line rather than at the whole file.
                    raise PydanticCustomError(
                        "duplicate_country",
                        "country {code} is in both '{first}' and '{second}'",
                        {
                            "code": code,
                            "first": seen[code],
                            "second": jurisdiction.name,
                            "index": index,
                        },
                    )
                seen[code] = jurisdiction.name
        return self

    def jurisdiction_of(self, country: str) -> Jurisdiction | None:
        """The jurisdiction that governs an author of ``country`` (None: no rule applies)."""
        fallback = None
        for jurisdiction in self.jurisdictions:
            if country in jurisdiction.countries:
                return jurisdiction
            if WILDCARD in jurisdiction.countries:
                fallback = jurisdiction
        return fallback
