"""A member signs in with the platform's OpenID provider and asks in one click."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from notrain.portal import create_app
from notrain.settings import Settings
from tests.portal.fixtures import Site
from tests.registry.fixtures import BOB, FakeClock
from tests.signin.conftest import member_settings, signed_in
from tests.signin.mail import mails_to
from tests.signin.provider import Provider

_RECEIPT = re.compile(r"^/requests/(req-[0-9a-f]{16})/receipt\?token=([A-Za-z0-9_-]{43})$")


def _click(site: Site, kind: str) -> str:
    """Press the kind's button on the members' page; the request id of the receipt."""
    answer = site.post_form("/members", "/members/requests", {"kind": kind})
    assert answer.status_code == 303, answer.text
    found = _RECEIPT.match(answer.headers["location"])
    assert found, answer.headers["location"]
    site.tokens[found.group(1)] = found.group(2)  # the receipt's link opens the request
    return found.group(1)


def test_without_the_settings_nothing_changes(client: Site) -> None:
    form = client.client.get("/request/objection")
    assert form.status_code == 200
    assert "Continue as a member" not in form.text
    assert "/members" not in form.text
    assert client.client.get("/members/signin", follow_redirects=False).status_code == 404
    assert client.client.get("/members").status_code == 404


def test_a_member_signs_in_and_objects_in_one_click(member_site: Site, tmp_path: Path) -> None:
    form = member_site.client.get("/request/objection")
    assert "Continue as a member" in form.text
    assert "/members/signin?next=/members%3Fkind%3Dobjection" in form.text

    landed = signed_in(member_site, "3", "/members?kind=objection")
    assert landed == "/members?kind=objection"
    page = member_site.client.get(landed)
    assert page.status_code == 200
    assert "@bob" in page.text
    assert BOB in page.text
    assert page.text.count('action="/members/requests"') == 6  # one button per kind

    request_id = _click(member_site, "objection")
    receipt = member_site.client.get(member_site.status_path(request_id, "/receipt"))
    assert receipt.status_code == 200
    assert request_id in receipt.text
    # Without its token the receipt is as unknown as any request (the id alone opens nothing).
    assert member_site.client.get(f"/requests/{request_id}/receipt").status_code == 404

    with member_site.portal.registry() as registry:
        view = registry.get(request_id)
        assert (view.kind, view.state, view.source) == ("objection", "accepted", "signin")
        assert view.subjects == [(3, "signin")]
        assert (view.email, view.country) == (BOB, "FR")  # from the accounts file
        actors = {(e.actor, e.action) for e in view.events}
        assert ("member:3", "submitted") in actors
        verified = next(e for e in view.events if e.detail.get("to_state") == "verified")
        assert verified.detail["subject"] == "3"
        assert verified.detail["method"] == "signin"
        result = registry.export(tmp_path / "snapshot.parquet")
    assert request_id in result.applied
    rows = pq.read_table(tmp_path / "snapshot.parquet").to_pylist()
    assert [(r["subject_id"], r["kind"], r["request_id"]) for r in rows] == [
        (3, "objection", request_id)
    ]

    member_site.deliver()
    mails = mails_to(member_site.outbox, BOB)
    assert len(mails) == 1
    assert "Your objection is accepted" in mails[0]
    assert request_id in mails[0]


def test_access_and_erasure_are_received_for_a_person_and_withdrawal_is_at_once(
    member_site: Site,
) -> None:
    signed_in(member_site, "3")
    access = _click(member_site, "access")
    objection = _click(member_site, "objection")
    withdrawal = _click(member_site, "objection_withdrawal")
    again = _click(member_site, "access")  # pending: the same request again, not a second
    assert again == access
    with member_site.portal.registry() as registry:
        assert registry.get(access).state == "needs_review"
        assert registry.get(objection).state == "accepted"
        assert registry.get(withdrawal).state == "accepted"
        assert len(registry.list()) == 3


def test_the_account_claim_is_configurable(
    portal_settings: Settings, provider: Provider, clock: FakeClock
) -> None:
    settings = member_settings(portal_settings, provider, oidc_user_claim="platform_id")
    app = create_app(settings, clock=clock, deliver_mail=False)
    with TestClient(app, base_url="http://testserver") as client:
        site = Site(client, Path(portal_settings.outbox_dir))
        signed_in(site, "bob.platform")  # the sub is no account id; platform_id is
        request_id = _click(site, "objection")
        with site.portal.registry() as registry:
            assert registry.get(request_id).subjects == [(3, "signin")]


def test_signing_out_ends_the_pass(member_site: Site) -> None:
    signed_in(member_site, "3")
    answer = member_site.post_form("/members", "/members/signout", {})
    assert answer.status_code == 303
    page = member_site.client.get("/members")
    assert "@bob" not in page.text
    assert "Continue as a member" in page.text


def test_an_account_without_an_address_gets_a_clear_page_and_nothing_is_stored(
    member_site: Site,
) -> None:
    signed_in(member_site, "4")  # Carol has no e-mail address for the confirmation
    answer = member_site.post_form("/members", "/members/requests", {"kind": "objection"})
    assert answer.status_code == 422
    assert "no e-mail address for the confirmation" in answer.text
    with member_site.portal.registry() as registry:
        assert registry.list() == []


def test_without_the_secret_there_is_no_sign_in(
    portal_settings: Settings, provider: Provider, clock: FakeClock
) -> None:
    settings = member_settings(portal_settings, provider, oidc_client_secret=None)
    app = create_app(settings, clock=clock, deliver_mail=False)
    with TestClient(app, base_url="http://testserver") as client:
        assert "Continue as a member" not in client.get("/request/objection").text
        assert client.get("/members/signin", follow_redirects=False).status_code == 404
