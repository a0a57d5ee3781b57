"""Stored markup and spreadsheet formulas, in every field the console and the status pages
show: what requesters type (names, other e-mails, the note) and what officers type (the
reasons of a rejection and an extension, an access request's answer), through the queue,
a request's page and its audit history, the audit page, the reports and their CSV.

Pages are parsed as a browser would: no element or attribute that the payloads carry may
exist in the page, while their text must be there, escaped (so the field really is shown).
CSV cells may not start with ``= + - @`` or a tab or carriage return (what a spreadsheet
reads as a formula), unless the cell is a plain number.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from tests.portal.fixtures import Site
from tests.registry.fixtures import BOB, STRANGER

NAME = "Mallory <xssname src=x onerror=alert(1)>\"'><xssname2>"
NOTE = "</textarea></dd><xssnote onload=alert(1)><script>alert('note')</script>=cmd|' /C calc'!A0"
OTHER_EMAIL = "=1+1'&{x}@example.org"
REJECT = "<xssreject>rejected</xssreject> @SUM(1+1)*cmd|' /C calc'!A0"
EXTEND = '"><xssextend autofocus onfocus=alert(1)>+cmd'
ANSWER = "<xssanswer>-2+3+cmd|' /C calc'!A0</xssanswer>"
DONE = "<xssdone>"
FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class Elements(HTMLParser):
    """Every element and attribute a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(html: str, *shown: str) -> None:
    page = Elements()
    page.feed(html)
    injected = [t for t in page.tags if t.startswith("xss") or t == "script"]
    assert injected == []
    assert [a for a, _ in page.attributes if a.startswith("on") or a == "autofocus"] == []
    assert [v for _, v in page.attributes if v.strip().lower().startswith("javascript:")] == []
    text = "".join(page.text)
    for value in shown:  # the field is on the page, as text
        assert value in text, value


def _workflow(site: Site) -> dict[str, str]:
    """Requests holding the payloads in every field, taken through every officer step."""
    ids = {}
    ids["rejected"] = site.submit(email=STRANGER, country="AT", names=NAME, emails=OTHER_EMAIL,
                                  note=NOTE)  # fmt: skip
    site.confirm(ids["rejected"], STRANGER)
    ids["answered"] = site.submit("access", email=BOB, country="FR", names=NAME, note=NOTE)
    site.confirm(ids["answered"], BOB)
    steps = [
        ("rejected", "decide", {"outcome": "reject", "reason": REJECT}),
        ("answered", "extend", {"months": "1", "reason": EXTEND}),
        ("answered", "decide", {"outcome": "accept", "identity_checked": "yes"}),
        ("answered", "apply", {"answer": ANSWER}),
    ]
    for which, action, fields in steps:
        page = f"/console/requests/{ids[which]}"
        assert site.post_form(page, f"{page}/{action}", fields).status_code == 303, action
    return ids


def test_what_requesters_and_officers_type_is_inert_everywhere_it_is_shown(
    signed_in: Site,
) -> None:
    ids = _workflow(signed_in)
    # A second request in review, so the queue shows the payloads too.
    open_id = signed_in.submit(email="eve@example.net", country="BE", names=NAME, note=NOTE)
    signed_in.confirm(open_id, "eve@example.net")
    get = signed_in.client.get
    name = NAME.lower()  # names are kept as the builder compares them: lower case

    assert_inert(get("/console").text, open_id)
    assert_inert(get(f"/console/requests/{open_id}").text, name, NOTE)
    assert_inert(get(f"/console/requests/{ids['rejected']}").text, name, NOTE, REJECT,
                 OTHER_EMAIL.lower())  # fmt: skip
    answered = get(f"/console/requests/{ids['answered']}?done={DONE}").text
    assert_inert(answered, name, NOTE, EXTEND, DONE)  # the history holds the extension's reason
    assert_inert(get("/console/audit").text)
    reports = get("/console/reports").text
    assert_inert(reports)
    assert reports.count("<svg") == 4
    for request_id in ids.values():  # what the requester sees
        assert_inert(get(signed_in.status_path(request_id)).text, request_id)
        assert_inert(get(signed_in.status_path(request_id, "/receipt")).text, request_id)
    for path in (f"/console/requests/{ids['answered']}", "/console", "/console/reports"):
        as_json = get(f"{path}?format=json")
        assert as_json.headers["content-type"] == "application/json"
        assert as_json.headers["x-content-type-options"] == "nosniff"


def test_the_csv_export_has_no_formulas_and_no_free_text(signed_in: Site) -> None:
    ids = _workflow(signed_in)
    exported = signed_in.client.get("/console/reports.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert {r[0] for r in rows[1:]} == set(ids.values())
    cells = [cell for row in rows for cell in row]
    formulas = [c for c in cells if FORMULA.match(c) and not NUMBER.match(c)]
    assert formulas == []
    for typed in (NAME, NOTE, OTHER_EMAIL, REJECT, EXTEND, ANSWER, STRANGER, BOB):
        assert typed.lower() not in exported.text.lower()  # addresses, names, notes stay out
