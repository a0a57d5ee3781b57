"""Bad input is refused with a clear error naming the field, and nothing is written."""

from __future__ import annotations

import pytest

from notrain.errors import RequestInvalid
from notrain.registry.forms import MAX_IDENTIFIERS, RequestForm, clean
from notrain.registry.service import Registry
from tests.registry.fixtures import ALICE, STRANGER, FakeClock, Requester


def _form(**changes: object) -> RequestForm:
    fields: dict[str, object] = {"kind": "objection", "email": ALICE, "country": "DE"}
    fields.update(changes)
    return RequestForm(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"email": "not-an-address"}, "email", "not a valid e-mail address"),
        ({"email": "a@b"}, "email", "not a valid e-mail address"),
        ({"email": "two..dots@example.com"}, "email", "not a valid e-mail address"),
        ({"email": ""}, "email", "required"),
        ({"email": "x" * 250 + "@example.com"}, "email", "longer than 254"),
        ({"country": "XX"}, "country", "ISO 3166-1 alpha-2"),
        ({"country": "EU"}, "country", "ISO 3166-1 alpha-2"),
        ({"country": "DEU"}, "country", "ISO 3166-1 alpha-2"),
        ({"country": "UK"}, "country", "ISO 3166-1 alpha-2"),
        ({"kind": "complaint"}, "kind", "not a request kind"),
        ({"note": "n" * 2001}, "note", "longer than 2000"),
        ({"note": "bell\x07"}, "note", "control characters"),
        ({"names": ["N" * 201]}, "names", "longer than 200"),
        ({"names": ["1"]}, "names", "not a name"),
        ({"names": "Ann Lee"}, "names", "must be a list"),
        ({"handle": "has space"}, "handle", "not a handle"),
        ({"handle": "h" * 65}, "handle", "longer than 64"),
        ({"emails": ["nope"]}, "emails", "not a valid e-mail address"),
        (
            {"names": [f"Name Number {i:02d}a" for i in range(MAX_IDENTIFIERS)]},
            "identifiers",
            "at most",
        ),
    ],
)
def test_bad_fields_are_refused_by_name(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(RequestInvalid) as caught:
        clean(_form(**changes))
    assert caught.value.field == field
    assert words in caught.value.message
    assert caught.value.http_status == 422
    assert caught.value.exit_code == 10


def test_values_are_normalised_as_the_builder_compares_them() -> None:
    request = clean(
        _form(
            email="  Alice@Mail.EXAMPLE.com ",
            country="de",
            handle="@Alice",
            names=["  Ann   LEE ", "Ann Lee"],
            emails=["ANN@Example.org"],
            handles=["@Ann_L"],
            note="   ",
        )
    )
    assert request.email == ALICE
    assert request.country == "DE"
    assert request.handle == "alice"
    assert [(i.kind, i.value) for i in request.identifiers] == [
        ("email", ALICE),
        ("email", "ann@example.org"),
        ("handle", "ann_l"),
        ("name", "ann lee"),
    ]
    assert request.note is None


def test_no_reason_is_needed() -> None:
    assert clean(_form()).note is None


def test_a_refused_form_writes_nothing(registry: Registry) -> None:
    with pytest.raises(RequestInvalid):
        registry.submit(_form(country="ZZ"))
    assert registry.list() == []
    assert registry.verify_audit().events == 0


def test_duplicates_are_merged_at_verification_not_at_submission(
    person: Requester, clock: FakeClock
) -> None:
    first = person.submit(STRANGER, names=["Dana Stranger"], note="first")
    first_outcome = person.registry.verify(first, person.code(STRANGER))
    clock.advance(minutes=2)  # past the cooldown between codes
    again = person.submit(STRANGER.upper(), names=["dana  stranger"], note="a different note")
    assert again != first  # a submission never hands out an existing request
    assert len(person.registry.list()) == 2
    # The first waits for review: the duplicate's code joins it.
    merged = person.registry.verify(again, person.code(STRANGER))
    assert (merged.request_id, merged.status_token) == (first, first_outcome.status_token)
    assert person.registry.get(again).state == "submitted"  # it stays unverified, unopened
    assert not person.registry.awaiting_code(again)
    assert [v.id for v in person.registry.list(state="needs_review")] == [first]
    # A new one once the first is decided.
    person.registry.decide(first, accept=False, officer="olga", reason="test")
    clock.advance(minutes=2)
    third = person.submit(STRANGER, names=["Dana Stranger"])
    assert person.registry.verify(third, person.code(STRANGER)).request_id == third
