"""Every mail about a request is written in the request's language, says so, and links back.

The language comes from the page (switcher cookie or ``Accept-Language``) or from the
API's ``language`` field, is stored with the request, and every later mail (code,
acknowledgement, acceptance, rejection naming the requester's supervisory authority,
extension notice, access answer) is rendered from it, with ``Content-Language`` and the
status link under ``NOTRAIN_PUBLIC_URL``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from notrain import languages
from notrain.mail.transport import OutboxTransport
from notrain.registry.authorities import AUTHORITIES
from notrain.registry.forms import RequestForm
from notrain.registry.service import Registry
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, STRANGER, Requester

PUBLIC = "https://privacy.example.org/portal"


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str
    language: str

    @classmethod
    def read(cls, path: Path) -> tuple[str, Mail]:
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        return str(parsed["To"]), cls(str(parsed["Subject"]), text, str(parsed["Content-Language"]))


def _mails(folder: Path, to: str) -> list[Mail]:
    found = [Mail.read(p) for p in sorted(folder.glob("*.eml"))]
    return [mail for address, mail in found if address == to]


def _tr(language: str, message: str) -> str:
    return languages.translations(language).gettext(message)


def test_a_french_request_made_on_the_pages_gets_french_mails(client: Site) -> None:
    client.portal.config = replace(client.portal.config, public_url=PUBLIC)
    client.client.cookies.set("notrain_lang", "fr")
    request_id = client.submit(email=STRANGER, country="FR", names="Dana Stranger")
    assert client.confirm(request_id, STRANGER).status_code == 303
    status = client.client.get(client.status_path(request_id, api=True)).json()
    assert status["language"] == "fr"
    # The status page gives the deadline as French writes a date ("2 mars 2025").
    due = datetime.fromisoformat(status["due_at"])
    assert languages.long_date(due, "fr") in client.client.get(client.status_path(request_id)).text
    with client.portal.registry() as registry:
        registry.decide(request_id, accept=False, officer="olga", reason="Doublon.")
    client.deliver()

    code, received, rejected = _mails(client.outbox, STRANGER)
    link = f"{PUBLIC}/requests/{request_id}"
    for mail in (code, received, rejected):
        assert mail.language == "fr"
        assert link in mail.body
        assert _tr("fr", "The privacy team. Reply to this message if anything is unclear.") in (
            mail.body
        )
    assert code.subject == "Votre code de vérification"
    assert "Votre code est :" in code.body
    assert received.subject == f"Nous avons bien reçu votre demande ({request_id})"
    assert "Opposition à l’entraînement de l’IA" in received.body  # noqa: RUF001
    assert rejected.subject == f"Votre demande n’a pas été acceptée ({request_id})"  # noqa: RUF001
    # The authority of the requester's country, the country named in French.
    assert "Commission nationale de l'informatique et des libertés (CNIL)" in rejected.body
    assert "(France)" in rejected.body
    assert "Doublon." in rejected.body
    assert "RGPD" in rejected.body


def test_a_german_request_through_the_api_gets_german_mails(client: Site, signed_in: Site) -> None:
    del signed_in
    answer = client.client.post(
        "/api/v1/requests",
        json={"kind": "access", "email": STRANGER, "country": "AT", "language": "de",
              "names": ["Dana Stranger"]},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    request_id = answer.json()["request_id"]
    code = client.code(STRANGER)
    client.client.post(f"/api/v1/requests/{request_id}/verify", json={"code": code})
    with client.portal.registry() as registry:
        registry.extend(request_id, months=1, reason="Viele Anfragen.", officer="olga")
        registry.decide(request_id, accept=True, officer="olga", identity_checked=True)
        registry.apply(request_id, actor="olga", answer="Nichts von Ihnen ist enthalten.")
        due = registry.get(request_id).due_at
    client.deliver()

    mails = _mails(client.outbox, STRANGER)
    assert [m.subject for m in mails] == [
        "Ihr Bestätigungscode",
        f"Wir haben Ihre Anfrage erhalten ({request_id})",
        f"Für Ihre Anfrage wird mehr Zeit benötigt ({request_id})",
        f"Ihre Anfrage ist angenommen ({request_id})",
        f"Die Antwort auf Ihre Anfrage ({request_id})",
    ]
    for mail in mails:
        assert mail.language == "de"
        assert f"/requests/{request_id}" in mail.body
        assert "Referenz: " + request_id in mail.body
    extended = mails[2].body
    assert languages.long_date(due, "de") in extended  # "28. März 2025"
    assert "Art. 12 Abs. 3 DSGVO" in extended
    assert "Nichts von Ihnen ist enthalten." in mails[4].body
    # The officer sees which language the requester is answered in.
    console = client.client.get(f"/console/requests/{request_id}").text
    assert '<dd lang="de">Deutsch</dd>' in console


@pytest.mark.parametrize("language", list(languages.TAGS))
def test_every_mail_exists_in_every_language(
    registry: Registry, outbox: OutboxTransport, language: str
) -> None:
    """Code, acknowledgement, rejection (with the authority), in each of the 27."""
    person = Requester(registry, outbox)
    request_id = registry.submit(
        RequestForm(kind="erasure", email=STRANGER, country="SE", names=["Dana"], language=language)
    ).request_id
    person.confirm(request_id, STRANGER)
    registry.decide(request_id, accept=False, officer="olga", reason="x")
    registry.deliver_mail(outbox)
    mails = _mails(outbox.folder, STRANGER)
    expected = [
        _tr(language, "Your verification code"),
        _tr(language, "We received your request (%(id)s)") % {"id": request_id},
        _tr(language, "Your request was not accepted (%(id)s)") % {"id": request_id},
    ]
    assert [m.subject for m in mails] == expected
    assert {m.language for m in mails} == {language}
    if language != "en":
        assert expected[0] != "Your verification code"
    rejection = mails[-1].body
    assert AUTHORITIES["SE"].name in rejection
    assert languages.territory_name("SE", language) in rejection
    assert _tr(language, "The reason given:") in rejection


def test_a_member_accepted_at_once_is_told_in_their_language(
    person: Requester, outbox: OutboxTransport
) -> None:
    person.request(ALICE, language="pl")
    person.registry.deliver_mail(outbox)
    code, accepted = _mails(outbox.folder, ALICE)
    assert code.language == accepted.language == "pl"
    assert accepted.subject.startswith("Twoje żądanie zostało uwzględnione")
    assert _tr("pl", "This applies to every account linked to this e-mail address.") in (
        accepted.body
    )


def test_a_language_the_portal_does_not_speak_is_refused(client: Site) -> None:
    answer = client.client.post(
        "/api/v1/requests",
        json={"kind": "objection", "email": STRANGER, "country": "FR", "language": "tlh"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "language"


def test_the_api_takes_the_language_from_accept_language_when_none_is_given(
    client: Site,
) -> None:
    answer = client.client.post(
        "/api/v1/requests",
        json={"kind": "objection", "email": STRANGER, "country": "PT"},
        headers={"accept-language": "pt-BR,pt;q=0.8"},
    )
    request_id = answer.json()["request_id"]
    with client.portal.registry() as registry:
        assert registry.get(request_id).language == "pt-BR"
    client.deliver()
    (code,) = _mails(client.outbox, STRANGER)
    assert code.language == "pt-BR"
    assert code.subject == "Seu código de verificação"


def test_a_code_reminder_is_in_the_request_language_and_its_code_works(
    person: Requester, outbox: OutboxTransport
) -> None:
    from notrain.mail.queue import enqueue
    from notrain.registry import notices

    registry = person.registry
    request_id = person.submit(STRANGER, country="FR", names=["Dana"], language="fr")
    registry.deliver_mail(outbox)
    enqueue(registry.session, to=STRANGER, template=notices.REMINDER, params={},
            now=registry.now(), request_id=request_id)  # fmt: skip
    registry.session.commit()
    registry.deliver_mail(outbox)
    first, reminder = _mails(outbox.folder, STRANGER)
    assert reminder.language == "fr"
    assert reminder.subject == "Rappel : votre demande n’est pas encore confirmée"  # noqa: RUF001
    assert languages.long_date(registry.get(request_id).received_at, "fr") in reminder.body
    assert first.body != reminder.body
    assert person.confirm(request_id, STRANGER) == "needs_review"  # the reminder's code
