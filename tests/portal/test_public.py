"""The public site, as a person without JavaScript uses it, in French and in English."""

from __future__ import annotations

import re

import markupsafe

from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, STRANGER


def test_member_objects_from_the_form_to_the_receipt(client: Site) -> None:
    request_id = client.submit(email=ALICE, country="DE")
    page = client.client.get(f"/requests/{request_id}/code")
    assert "Enter your code" in page.text
    answer = client.confirm(request_id, ALICE)
    assert answer.status_code == 303
    assert answer.headers["location"] == client.status_path(request_id, "/receipt")
    receipt = client.client.get(answer.headers["location"])
    assert "your request is confirmed" in receipt.text
    token = client.tokens[request_id]
    assert f'href="/requests/{request_id}?token={token}"' in receipt.text  # the status link
    with client.portal.registry() as registry:
        view = registry.get(request_id)
    assert view.state == "accepted"
    assert [s for s, _ in view.subjects] == [1, 2]
    assert view.source == "portal"


def test_non_member_objects_with_names_and_is_put_to_review(client: Site) -> None:
    request_id = client.submit(
        email=STRANGER, country="AT", names="Dana Stranger\n\n  Dana S.  ", handles="@danas"
    )
    client.confirm(request_id, STRANGER)
    with client.portal.registry() as registry:
        view = registry.get(request_id)
    assert view.state == "needs_review"
    assert ("name", "dana stranger") in view.identifiers
    assert ("handle", "danas") in view.identifiers
    status = client.client.get(client.status_path(request_id) + "&format=json").json()
    assert status["stage"] == "received"


def test_pages_speak_french_from_accept_language_and_the_switcher(client: Site) -> None:
    french = client.client.get("/", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert "M’opposer à l’entraînement de l’IA" in french.text  # noqa: RUF001
    english = client.client.get("/", headers={"accept-language": "ja, en;q=0.5"})
    assert '<html lang="en">' in english.text
    switched = client.client.get("/lang/fr?next=/policy", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/policy"
    page = client.client.get("/policy", headers={"accept-language": "en"})
    assert '<html lang="fr">' in page.text  # the switcher's choice wins over the header
    assert "Allemagne" in page.text or "tous les autres pays" in page.text


def test_switcher_never_redirects_off_site(client: Site) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = client.client.get(f"/lang/en?next={target}", follow_redirects=False)
        assert answer.headers["location"] == "/"


def test_form_errors_are_shown_in_the_readers_language(client: Site) -> None:
    client.client.cookies.set("notrain_lang", "fr")
    answer = client.post_form(
        "/request/objection", "/request/objection", {"email": "not an address", "country": "FR"}
    )
    assert answer.status_code == 422
    assert "Indiquez une adresse électronique valide." in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert 'value="not an address"' in answer.text  # what was typed is kept
    country = client.post_form(
        "/request/objection", "/request/objection", {"email": ALICE, "country": "XX"}
    )
    assert "Choisissez votre pays de résidence." in country.text


def test_policy_page_is_built_from_the_active_policy(client: Site) -> None:
    data = client.client.get("/policy?format=json").json()
    api = client.client.get("/api/v1/policy").json()
    assert data == api
    assert "private_message" in data["kinds_not_used"]
    assert data["objections_retroactive"] is True
    page = client.client.get("/policy", headers={"accept-language": "en"})
    assert "private messages" in page.text
    for line in data["rules"]:  # the builder's own words, every line of them
        assert str(markupsafe.escape(line)) in page.text


def test_status_page_and_api_give_the_same_data(client: Site) -> None:
    request_id = client.submit(email=STRANGER, country="FR")
    client.confirm(request_id, STRANGER)
    page = client.client.get(client.status_path(request_id) + "&format=json").json()
    api = client.client.get(client.status_path(request_id, api=True)).json()
    assert page == api
    assert page["stage"] == "received"


def test_wrong_code_says_how_many_attempts_are_left(client: Site) -> None:
    request_id = client.submit(email=ALICE, country="DE")
    code = client.code(ALICE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page = f"/requests/{request_id}/code"
    answer = client.post_form(page, page, {"code": wrong}, headers={"accept-language": "fr"})
    assert answer.status_code == 400
    assert "il reste 4 tentatives" in answer.text


def test_resend_sends_a_new_code_within_the_registrys_limits(client: Site) -> None:
    request_id = client.submit(email=STRANGER, country="FR")
    client.deliver()
    page = f"/requests/{request_id}/code"
    too_soon = client.post_form(page, f"/requests/{request_id}/resend", {})
    assert too_soon.status_code == 429  # the registry's cooldown
    assert too_soon.headers["retry-after"]
    client.portal.clock.advance(seconds=61)  # type: ignore[attr-defined]
    again = client.post_form(page, f"/requests/{request_id}/resend", {})
    assert again.status_code == 303
    assert again.headers["location"].endswith("?sent=1")


def test_every_request_kind_has_a_form(client: Site) -> None:
    for kind in ("objection", "access", "erasure", "consent_withdrawal", "consent",
                 "objection_withdrawal"):  # fmt: skip
        page = client.client.get(f"/request/{kind}")
        assert page.status_code == 200
        labels = re.findall(r'<label for="([a-z-]+)"', page.text)
        ids = re.findall(r'<(?:input|select|textarea) id="([a-z-]+)"', page.text)
        assert sorted(labels) == sorted(ids)  # every field has its label
    assert client.client.get("/request/nonsense").status_code == 404


def test_pages_are_accessible_markup(client: Site) -> None:
    page = client.client.get("/request/objection").text
    assert page.index('class="skip" href="#main"') < page.index("<main")  # first focusable
    assert '<main id="main"' in page
    assert "<script" not in page
    assert 'autocomplete="email"' in page
