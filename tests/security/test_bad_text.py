"""Text no database can store, refused as bad input rather than failing as a server error.

Found by the form fuzzer and by hand: a NUL byte in the sign-in name or in an officer's
reason reached PostgreSQL (which refuses NUL in text) and came back as 503 "database
unavailable"; a lone surrogate (``"\\ud800"``, valid in JSON's escapes, not in UTF-8) in
the API's ``names`` list reached the driver and came back as 500 on both databases.
"""

from __future__ import annotations

import pytest

from tests.portal.fixtures import PASSWORD, Site
from tests.registry.fixtures import STRANGER


@pytest.mark.parametrize("field", ["names", "emails", "handles"])
def test_lone_surrogates_in_api_lists_are_refused(client: Site, field: str) -> None:
    body = (
        b'{"kind": "objection", "email": "dana.stranger@example.net", "country": "DE", '
        + f'"{field}": '.encode()
        + b'["Dana \\ud800 Stranger"]}'
    )
    answer = client.client.post(
        "/api/v1/requests", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    with client.portal.registry() as registry:
        assert registry.list() == []


@pytest.mark.usefixtures("officer")
@pytest.mark.parametrize("name", ["ol\x00ga", "olga\x00", "\x1b[2Jolga"])
def test_control_characters_in_the_sign_in_name_are_an_unknown_name(
    client: Site, name: str
) -> None:
    answer = client.sign_in(name, PASSWORD)
    unknown = client.sign_in("nobody-at-all", PASSWORD)
    assert answer.status_code == unknown.status_code == 401
    assert "Wrong name or password." in answer.text


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("decide", {"outcome": "reject", "reason": "no\x00"}),
        ("decide", {"outcome": "accept", "reason": "\x07"}),
        ("extend", {"months": "1", "reason": "busy\x00"}),
    ],
)
def test_control_characters_in_an_officers_text_are_refused(
    signed_in: Site, action: str, fields: dict[str, str]
) -> None:
    request_id = signed_in.submit(email=STRANGER, country="AT", names="Dana Stranger")
    signed_in.confirm(request_id, STRANGER)
    page = f"/console/requests/{request_id}"
    answer = signed_in.post_form(page, f"{page}/{action}", fields)
    assert answer.status_code == 422, answer.text[:300]
    with signed_in.portal.registry() as registry:
        view = registry.get(request_id)
    assert (view.state, view.extended_months) == ("needs_review", 0)
    kept = signed_in.post_form(
        page, f"{page}/{action}", {**fields, "reason": "line one\nline\ttwo"}
    )
    assert kept.status_code == 303  # tabs and line breaks are text


def test_control_characters_in_an_access_answer_are_refused(signed_in: Site) -> None:
    request_id = signed_in.submit("access", email=STRANGER, country="AT")
    signed_in.confirm(request_id, STRANGER)
    page = f"/console/requests/{request_id}"
    assert signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"}).status_code == 303
    answer = signed_in.post_form(page, f"{page}/apply", {"answer": "nothing\x00"})
    assert answer.status_code == 422
    assert signed_in.post_form(page, f"{page}/apply", {"answer": "Nothing."}).status_code == 303
