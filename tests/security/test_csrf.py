"""Cross-site request forgery, beyond tests/portal/test_security.py (which covers the public
request forms): the console's forms, sign-in, code entry and resend, and the JSON API.

A refused forgery must change nothing: no decision, no used code attempt, no mail.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from notrain.registry.models import QueuedMail, VerificationCode
from tests.portal.fixtures import OFFICER, PASSWORD, Site
from tests.registry.fixtures import ALICE, STRANGER

CROSS_SITE: list[dict[str, str]] = [
    {"origin": "https://evil.example"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},  # a sibling subdomain is another site for us
]


def _other_browsers_token(site: Site, path: str) -> str:
    other = TestClient(site.client.app)  # no `with`: the app's lifespan is the fixture's
    return Site(other, site.outbox).token(path)


def _forgeries(site: Site, page: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(extra form fields, headers) of each way a forged post can come."""
    own = site.token(page)
    return [
        ({}, {}),  # no token at all
        ({"csrf_token": "0" * 64}, {}),  # a made-up one
        ({"csrf_token": _other_browsers_token(site, page)}, {}),  # another browser's
        *(({"csrf_token": own}, headers) for headers in CROSS_SITE),  # right token, wrong site
    ]


def _review_request(site: Site) -> str:
    request_id = site.submit(email=STRANGER, country="AT", names="Dana Stranger")
    site.confirm(request_id, STRANGER)
    return request_id


def test_console_forms_refuse_forgeries_and_change_nothing(signed_in: Site) -> None:
    request_id = _review_request(signed_in)
    page = f"/console/requests/{request_id}"
    actions: list[tuple[str, dict[str, Any]]] = [
        (f"{page}/decide", {"outcome": "reject", "reason": "forged"}),
        (f"{page}/extend", {"months": "2", "reason": "forged"}),
        (f"{page}/apply", {"answer": "forged"}),
        ("/console/logout", {}),
    ]
    for action, fields in actions:
        for extra, headers in _forgeries(signed_in, page):
            answer = signed_in.client.post(action, data={**fields, **extra}, headers=headers,
                                           follow_redirects=False)  # fmt: skip
            assert answer.status_code == 403, (action, extra, headers)
    with signed_in.portal.registry() as registry:
        view = registry.get(request_id)
    assert (view.state, view.extended_months) == ("needs_review", 0)
    assert signed_in.client.get("/console", follow_redirects=False).status_code == 200  # still in
    # And the genuine form still works.
    done = signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"})
    assert done.status_code == 303


@pytest.mark.usefixtures("officer")
def test_sign_in_refuses_forgeries(client: Site) -> None:
    fields = {"username": OFFICER, "password": PASSWORD}
    for extra, headers in _forgeries(client, "/console/login"):
        answer = client.client.post("/console/login", data={**fields, **extra}, headers=headers,
                                    follow_redirects=False)  # fmt: skip
        assert answer.status_code == 403, (extra, headers)
        assert "notrain_session" not in answer.headers.get("set-cookie", "")
    assert client.sign_in().status_code == 303


def test_code_entry_and_resend_refuse_forgeries_without_using_anything(client: Site) -> None:
    request_id = client.submit(email=ALICE, country="DE")
    code = client.code(ALICE)
    page = f"/requests/{request_id}/code"

    def counts() -> tuple[int, int]:
        with client.portal.registry() as registry:
            attempts = registry.session.scalar(select(func.sum(VerificationCode.attempts)))
            mails = registry.session.scalar(select(func.count()).select_from(QueuedMail))
        return int(attempts or 0), int(mails or 0)

    before = counts()
    for extra, headers in _forgeries(client, page):
        for action, fields in ((page, {"code": "000000"}), (f"/requests/{request_id}/resend", {})):
            answer = client.client.post(action, data={**fields, **extra}, headers=headers,
                                        follow_redirects=False)  # fmt: skip
            assert answer.status_code == 403, (action, extra, headers)
    assert counts() == before  # no attempt used, no code mailed
    assert client.post_form(page, page, {"code": code}).status_code == 303


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"kind": "objection", "email": "dana.stranger@example.net", '
                       b'"country": "DE"}'),
        ("application/x-www-form-urlencoded",
         b"kind=objection&email=dana.stranger%40example.net&country=DE"),
        ("multipart/form-data; boundary=b",
         b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\nobjection\r\n--b--\r\n'),
        (None, b'{"kind": "objection", "email": "dana.stranger@example.net", "country": "DE"}'),
    ],
)  # fmt: skip
def test_the_api_takes_only_json_which_a_cross_site_form_cannot_send(
    client: Site, content_type: str | None, body: bytes
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answer = client.client.post(
        "/api/v1/requests", content=body, headers={**headers, "origin": "https://evil.example"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "RequestInvalid"
    with client.portal.registry() as registry:
        assert registry.list() == []


def test_no_cookie_authenticates_the_api(signed_in: Site) -> None:
    """The console's session is not an API key: a page on another site that makes the
    officer's browser call the API gets nothing."""
    answer = signed_in.client.get("/api/v1/subjects/1/status")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "AuthenticationFailed"
