"""The privacy officer's console: queue, decisions, history, audit, reports, escaping."""

from __future__ import annotations

import csv
import io
import re

from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, BOB, STRANGER

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _non_member(site: Site, email: str = STRANGER, **fields: str) -> str:
    request_id = site.submit(email=email, country="AT", **fields)
    site.confirm(request_id, email)
    return request_id


def test_console_needs_a_session(client: Site) -> None:
    for path in ("/console", "/console/reports", "/console/audit", "/console/reports.csv",
                 "/console/requests/req-0000000000000000"):  # fmt: skip
        answer = client.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login"
    wrong = client.sign_in("olga", "not the password")
    assert wrong.status_code == 401
    assert "Wrong name or password." in wrong.text


def test_queue_is_sorted_by_deadline_with_marks(signed_in: Site) -> None:
    clock = signed_in.portal.clock  # starts 2025-01-31 09:30 UTC
    first = _non_member(signed_in, STRANGER, names="Dana Stranger")  # due 2025-02-28
    clock.advance(days=10)  # type: ignore[attr-defined]
    second = _non_member(signed_in, "eve@example.net", names="Eve Example")  # due 2025-03-10
    clock.advance(days=13)  # type: ignore[attr-defined]  # 23 February
    signed_in.sign_in()  # days pass: the session has ended meanwhile
    data = signed_in.client.get("/console?format=json").json()
    assert [item["id"] for item in data["items"]] == [first, second]
    marks = {item["id"]: (item["overdue"], item["due_soon"]) for item in data["items"]}
    assert marks == {first: (False, True), second: (False, False)}
    clock.advance(days=6)  # type: ignore[attr-defined]  # 1 March
    signed_in.sign_in()
    data = signed_in.client.get("/console?format=json").json()
    marks = {item["id"]: (item["overdue"], item["due_soon"]) for item in data["items"]}
    assert marks == {first: (True, False), second: (False, False)}
    page = signed_in.client.get("/console").text
    assert page.index(first) < page.index(second)
    assert 'class="mark overdue"' in page


def test_officer_decides_a_non_member_request(signed_in: Site) -> None:
    request_id = _non_member(signed_in, names="Dana Stranger")
    page = f"/console/requests/{request_id}"
    no_reason = signed_in.post_form(page, f"{page}/decide", {"outcome": "reject"})
    assert no_reason.status_code == 422
    assert "Give a reason" in no_reason.text
    answer = signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"})
    assert answer.status_code == 303
    with signed_in.portal.registry() as registry:
        view = registry.get(request_id)
    assert view.state == "accepted"
    assert [e.actor for e in view.events if e.action == "transition"][-1] == "officer:olga"
    shown = signed_in.client.get(page).text
    assert "officer:olga" in shown  # the history shows the audit events
    twice = signed_in.post_form(page, f"{page}/decide", {"outcome": "reject", "reason": "x"})
    assert twice.status_code == 200 or twice.status_code == 409
    signed_in.deliver()
    mails = sorted(signed_in.outbox.glob("*.eml"))
    assert any("accepted" in p.read_text() for p in mails)


def test_extend_with_reason_then_apply_an_access_request(signed_in: Site) -> None:
    request_id = signed_in.submit("access", email=BOB, country="FR")
    signed_in.confirm(request_id, BOB)
    page = f"/console/requests/{request_id}"
    extended = signed_in.post_form(page, f"{page}/extend", {"months": "1", "reason": "Busy"})
    assert extended.status_code == 303
    third = signed_in.post_form(page, f"{page}/extend", {"months": "2", "reason": "More"})
    assert third.status_code == 409  # two months in all at most (the registry's rule)
    signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"})
    no_answer = signed_in.post_form(page, f"{page}/apply", {"answer": ""})
    assert no_answer.status_code == 422
    done = signed_in.post_form(page, f"{page}/apply", {"answer": "Nothing of yours is used."})
    assert done.status_code == 303
    with signed_in.portal.registry() as registry:
        view = registry.get(request_id)
    assert (view.state, view.extended_months) == ("applied", 1)
    status = signed_in.client.get(signed_in.status_path(request_id) + "&format=json").json()
    assert status["stage"] == "answered"
    assert status["access"] == {"subject_ids": [3], "identifiers": [BOB], "datasets": [],
                                "recalls": []}  # fmt: skip
    download = signed_in.client.get(signed_in.status_path(request_id, "/access.json"))
    assert download.json() == status["access"]
    assert "attachment" in download.headers["content-disposition"]


def test_stored_markup_is_escaped_in_the_console(signed_in: Site) -> None:
    request_id = _non_member(signed_in, names=f"Mallory {XSS}", note=XSS)
    page = signed_in.client.get(f"/console/requests/{request_id}").text
    assert "<script>" not in page
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(" in page
    assert "<img" not in page
    queue = signed_in.client.get("/console").text
    assert "<script>" not in queue


def test_audit_chain_verification_page(signed_in: Site) -> None:
    _non_member(signed_in, names="Dana Stranger")
    data = signed_in.client.get("/console/audit?format=json").json()
    assert data["intact"] is True
    assert data["events"] >= 3
    assert re.fullmatch(r"[0-9a-f]{64}", data["head_hash"])
    assert "Intact" in signed_in.client.get("/console/audit").text


def test_reports_charts_and_csv(signed_in: Site) -> None:
    member = signed_in.submit(email=ALICE, country="DE")
    signed_in.confirm(member, ALICE)
    stranger = _non_member(signed_in, names="Dana Stranger")
    signed_in.post_form(f"/console/requests/{stranger}", f"/console/requests/{stranger}/decide",
                        {"outcome": "accept"})  # fmt: skip
    data = signed_in.client.get("/console/reports?format=json").json()
    assert data["total"] == 2
    assert {c["country"]: c["total"] for c in data["countries"]} == {"DE": 1, "AT": 1}
    assert data["months"][0]["by_kind"]["objection"] == 2
    assert data["months"][0]["decided"] == 2
    page = signed_in.client.get("/console/reports").text
    assert page.count("<svg") == 4
    assert "<script" not in page
    exported = signed_in.client.get("/console/reports.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["request_id"] for r in rows} == {member, stranger}
    assert "email" not in rows[0]  # no addresses in exports
    assert all(r["late"] == "false" for r in rows)
