"""A request is handed to nobody who only knows its address (issue 20, finding 1).

A member verifies an access request and an officer accepts it; a stranger then sends the
same request (the address in other case) from another client. The stranger must get a
request of their own, learn nothing of the member's, and never reach its answer; every
read of a request needs the status token that only entering the code gives; a stranger's
wrong codes spend only the tries of their own request's code.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from notrain.registry.campaign import read_codes
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, BOB, FakeClock

ACCESS = {"kind": "access", "email": BOB, "country": "FR"}


def _from(site: Site, ip: str) -> TestClient:
    """Another browser on another client address, on the same running app."""
    return TestClient(site.client.app, client=(ip, 50000))


def _unknown(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 404, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"]["type"] == "RequestNotFound"
    return body


def _accepted_access_request(site: Site) -> tuple[str, str]:
    """A member's verified access request, accepted in the console; its id and token."""
    receipt = site.client.post("/api/v1/requests", json=ACCESS).json()
    request_id = receipt["request_id"]
    outcome = site.client.post(
        f"/api/v1/requests/{request_id}/verify", json={"code": site.code(BOB)}
    ).json()
    assert outcome["state"] == "needs_review"
    page = f"/console/requests/{request_id}"
    decided = site.post_form(page, f"{page}/decide", {"outcome": "accept", "confirm": "on"})
    assert decided.status_code == 303
    return request_id, str(outcome["status_token"])


def test_a_repeated_submission_reveals_and_grants_nothing(
    signed_in: Site, clock: FakeClock
) -> None:
    request_id, token = _accepted_access_request(signed_in)
    bearer = {"authorization": f"Bearer {token}"}
    answered = signed_in.client.get(f"/api/v1/requests/{request_id}", headers=bearer).json()
    assert answered["stage"] == "answered"
    assert answered["access"]["subject_ids"] == [3]

    clock.advance(minutes=2)
    stranger = _from(signed_in, "203.0.113.9")
    again = stranger.post("/api/v1/requests", json={**ACCESS, "email": BOB.upper()})
    assert again.status_code == 202
    fresh = stranger.post("/api/v1/requests", json={**ACCESS, "email": "nobody@example.net"})
    assert set(again.json()) == set(fresh.json())
    assert again.json()["message"] == fresh.json()["message"]
    assert again.json()["request_id"] != request_id  # a request of the stranger's own
    # What the stranger got opens nothing: not their own request, not the member's.
    _unknown(stranger.get(f"/api/v1/requests/{again.json()['request_id']}"))
    for suffix in ("", "?format=json", "/access.json", "/receipt"):
        path = f"/requests/{request_id}{suffix}"
        _unknown(stranger.get(path, headers={"accept": "application/json"}))
    _unknown(stranger.get(f"/api/v1/requests/{request_id}"))
    with signed_in.portal.registry() as registry:
        views = {v.id: v for v in registry.list()}
    assert views[request_id].state == "accepted"
    assert views[again.json()["request_id"]].state == "submitted"


def test_every_read_of_a_request_needs_its_status_token(signed_in: Site) -> None:
    request_id, token = _accepted_access_request(signed_in)
    c = signed_in.client
    api = f"/api/v1/requests/{request_id}"
    unknown = _unknown(c.get("/api/v1/requests/req-0123456789abcdef"))
    for answer in (
        c.get(api),
        c.get(api, headers={"authorization": "Bearer " + "A" * 43}),
        c.get(api, headers={"authorization": f"Bearer {token[:-1]}"}),
        c.get(f"{api}?token={token.upper()}"),
        c.get(f"/requests/{request_id}/access.json", headers={"accept": "application/json"}),
        c.get(f"/requests/{request_id}?format=json"),
    ):
        body = _unknown(answer)
        # Told apart from an unknown request by nothing but the id in the message.
        assert body["error"]["message"].replace(request_id, "X") == unknown["error"][
            "message"
        ].replace("req-0123456789abcdef", "X")
    with_header = c.get(api, headers={"authorization": f"Bearer {token}"})
    in_link = c.get(f"{api}?token={token}")
    assert with_header.status_code == in_link.status_code == 200
    assert with_header.json() == in_link.json()
    assert with_header.json()["access"] is not None
    download = c.get(with_header.json()["access_url"])
    assert download.status_code == 200
    assert download.json() == with_header.json()["access"]
    page = c.get(f"/requests/{request_id}?token={token}")
    assert f"/requests/{request_id}/access.json?token={token}" in page.text


@pytest.mark.parametrize("tries", [5, 8])
def test_strangers_wrong_codes_never_spend_the_owners_tries(
    client: Site, clock: FakeClock, tries: int
) -> None:
    body = {"kind": "erasure", "email": ALICE, "country": "DE"}
    owner = client.client.post("/api/v1/requests", json=body).json()["request_id"]
    client.deliver()
    code = read_codes(client.outbox)[ALICE]
    stranger = _from(client, "198.51.100.7")
    theirs = stranger.post("/api/v1/requests", json=body).json()["request_id"]
    assert theirs != owner
    client.deliver()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for n in range(tries):
        guess = stranger.post(f"/api/v1/requests/{theirs}/verify", json={"code": wrong})
        assert guess.status_code in (400, 429), guess.text
        if n >= 5:  # the stranger's own code is spent, and only theirs
            assert guess.json()["error"]["type"] == "CodeAttemptsExhausted"
    clock.advance(minutes=1)
    verified = client.client.post(f"/api/v1/requests/{owner}/verify", json={"code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["request_id"] == owner


def _body(path: Path) -> str:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_mail_after_verification_carries_the_status_link(client: Site) -> None:
    receipt = client.client.post(
        "/api/v1/requests", json={"kind": "objection", "email": ALICE, "country": "DE"}
    ).json()
    code = client.code(ALICE)
    code_mail = _body(sorted(client.outbox.glob("*.eml"))[-1])
    assert "token=" not in code_mail  # nothing opens the request before the code
    outcome = client.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": code}
    ).json()
    client.deliver()
    accepted = _body(sorted(client.outbox.glob("*.eml"))[-1])
    assert f"/requests/{receipt['request_id']}?token={outcome['status_token']}" in accepted
