"""Withdrawing an objection on the site and through the API, in French and in English."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock

PAGE = "/request/objection_withdrawal"
TITLES = {"en": "Withdrawal of an objection", "fr": "Retrait d’une opposition"}  # noqa: RUF001
LABELS = {
    "en": ["Your e-mail address", "Country of residence", "A note (optional)"],
    "fr": ["Votre adresse électronique", "Pays de résidence", "Une remarque (facultatif)"],
}


def _clock(client: Site) -> FakeClock:
    clock: FakeClock = client.portal.clock  # type: ignore[assignment]
    return clock


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_form_speaks_the_readers_language(client: Site, language: str) -> None:
    page = client.client.get(PAGE, headers={"accept-language": language})
    assert page.status_code == 200
    assert f'<html lang="{language}">' in page.text
    assert f"<h1>{TITLES[language]}</h1>" in page.text
    for label in LABELS[language]:
        assert label in page.text
    labels = re.findall(r'<label for="([a-z-]+)"', page.text)
    fields = re.findall(r'<(?:input|select|textarea) id="([a-z-]+)"', page.text)
    assert sorted(labels) == sorted(fields) == ["country", "email", "handle", "note"]
    assert 'name="csrf_token"' in page.text
    assert "<script" not in page.text
    data = client.client.get(f"{PAGE}?format=json").json()
    assert data == {"kind": "objection_withdrawal", "fields": ["email", "country", "handle",
                                                               "note"]}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "fr"])
def test_home_and_status_pages_lead_to_it(client: Site, language: str) -> None:
    headers = {"accept-language": language}
    assert f'href="{PAGE}"' in client.client.get("/", headers=headers).text
    request_id = client.submit(email=STRANGER, country="FR")
    client.confirm(request_id, STRANGER)
    status = client.client.get(client.status_path(request_id), headers=headers)
    assert f'href="{PAGE}"' in status.text
    wording = {"en": "Withdraw your objection", "fr": "Retirer votre opposition"}[language]
    assert wording in status.text


def test_posts_without_the_token_are_refused(client: Site) -> None:
    data = {"email": ALICE, "country": "DE"}
    assert client.client.post(PAGE, data=data, follow_redirects=False).status_code == 403
    forged = client.client.post(PAGE, data={**data, "csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    with client.portal.registry() as registry:
        assert registry.list() == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_member_withdraws_from_the_form_to_the_receipt(
    client: Site, api_key: str, language: str
) -> None:
    client.client.cookies.set("notrain_lang", language)
    objection = client.submit(email=ALICE, country="DE")
    client.confirm(objection, ALICE)
    headers = {"x-api-key": api_key}
    assert client.client.get("/api/v1/subjects/1/status", headers=headers).json()["objected"]

    _clock(client).advance(minutes=5)  # past the code's cooldown for the address
    withdrawal = client.submit("objection_withdrawal", email=ALICE, country="DE")
    code = client.client.get(f"/requests/{withdrawal}/code")
    assert f'<html lang="{language}">' in code.text
    answer = client.confirm(withdrawal, ALICE)
    assert answer.status_code == 303
    assert answer.headers["location"] == client.status_path(withdrawal, "/receipt")
    receipt = client.client.get(answer.headers["location"])
    assert f'<html lang="{language}">' in receipt.text
    assert f"<code>{withdrawal}</code>" in receipt.text
    with client.portal.registry() as registry:
        view = registry.get(withdrawal)
    assert (view.kind, view.state, view.source) == ("objection_withdrawal", "accepted", "portal")
    status = client.client.get("/api/v1/subjects/1/status", headers=headers).json()
    assert status["objected"] is False
    assert status["decisions"] == []


def test_a_non_members_withdrawal_goes_to_review(client: Site) -> None:
    request_id = client.submit("objection_withdrawal", email=STRANGER, country="AT")
    client.confirm(request_id, STRANGER)
    with client.portal.registry() as registry:
        assert registry.get(request_id).state == "needs_review"


def test_form_errors_keep_what_was_typed(client: Site) -> None:
    client.client.cookies.set("notrain_lang", "fr")
    answer = client.post_form(PAGE, PAGE, {"email": "not an address", "country": "FR"})
    assert answer.status_code == 422
    assert "Indiquez une adresse électronique valide." in answer.text
    assert 'value="not an address"' in answer.text


def _submit(client: Site, **body: Any) -> dict[str, Any]:
    answer = client.client.post("/api/v1/requests", json=body)
    assert answer.status_code == 202, answer.text
    data: dict[str, Any] = answer.json()
    return data


def test_the_api_takes_a_withdrawal(client: Site, api_key: str) -> None:
    schema = client.client.get("/api/v1/openapi.json").json()
    kinds = schema["components"]["schemas"]["RequestIn"]["properties"]["kind"]["enum"]
    assert "objection_withdrawal" in kinds
    objection = _submit(client, kind="objection", email=BOB, country="FR")
    client.client.post(
        f"/api/v1/requests/{objection['request_id']}/verify", json={"code": client.code(BOB)}
    )
    _clock(client).advance(minutes=5)
    receipt = _submit(client, kind="objection_withdrawal", email=BOB, country="FR")
    assert receipt["code_url"] == f"/requests/{receipt['request_id']}/code"
    outcome = client.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": client.code(BOB)}
    ).json()
    assert outcome["state"] == "accepted"
    bob = client.client.get("/api/v1/subjects/3/status", headers={"x-api-key": api_key}).json()
    assert bob["objected"] is False
    unknown = client.client.post(
        "/api/v1/requests", json={"kind": "objection_withdrawl", "email": BOB, "country": "FR"}
    )
    assert unknown.status_code == 422
