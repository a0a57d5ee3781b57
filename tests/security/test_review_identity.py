"""The console says why a request is in review, and accepting access or erasure for more than
the proved address needs the officer to confirm the identity (issue 20, finding 5)."""

from __future__ import annotations

from tests.portal.fixtures import Site
from tests.registry.fixtures import BOB, STRANGER


def test_the_queue_and_the_page_say_why_a_request_is_in_review(signed_in: Site) -> None:
    request_id = signed_in.submit("access", email=STRANGER, country="AT", handles="@bob")
    signed_in.confirm(request_id, STRANGER)
    page = signed_in.client.get(f"/console/requests/{request_id}").text
    queue = signed_in.client.get("/console").text
    for html in (page, queue):
        assert "No account has the address the requester proved." in html
        assert "It names more than the proved address" in html
        assert "Requests of this kind are decided by a person." in html
    data = signed_in.client.get("/console?format=json").json()
    [item] = [i for i in data["items"] if i["id"] == request_id]
    assert item["review_reasons"] == ["no_account", "identifiers", "needs_person"]


def test_accepting_access_beyond_the_proved_address_needs_the_identity_checked(
    signed_in: Site,
) -> None:
    # A non-member asks for access with a member's handle: one "accept" must not be enough.
    request_id = signed_in.submit("access", email=STRANGER, country="AT", handle="bob")
    signed_in.confirm(request_id, STRANGER)
    page = f"/console/requests/{request_id}"
    assert 'name="identity_checked"' in signed_in.client.get(page).text
    refused = signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"})
    assert refused.status_code == 422
    assert "confirm that you checked" in refused.text
    with signed_in.portal.registry() as registry:
        assert registry.get(request_id).state == "needs_review"
    accepted = signed_in.post_form(
        page, f"{page}/decide", {"outcome": "accept", "identity_checked": "yes"}
    )
    assert accepted.status_code == 303
    with signed_in.portal.registry() as registry:
        view = registry.get(request_id)
    assert view.state == "accepted"
    assert view.decision_reason == "identity checked"  # audited with the decision


def test_the_proved_address_alone_needs_no_confirmation(signed_in: Site) -> None:
    request_id = signed_in.submit("access", email=BOB, country="FR")
    signed_in.confirm(request_id, BOB)
    page = f"/console/requests/{request_id}"
    assert 'name="identity_checked"' not in signed_in.client.get(page).text
    assert signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"}).status_code == 303
