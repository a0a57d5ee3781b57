"""The console's queue at scale: tabs, filters, search, and bulk decisions through forms."""

from __future__ import annotations

import re
import time

from notrain.registry.seed import seed
from tests.portal.fixtures import Site


def _strangers(site: Site, n: int, country: str = "AT") -> list[str]:
    ids = []
    for i in range(n):
        email = f"stranger{i}.{country.lower()}@example.net"
        request_id = site.submit(email=email, country=country, names=f"Stranger {i}")
        site.confirm(request_id, email)
        ids.append(request_id)
    return ids


def _wait_finished(site: Site, location: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        data: dict[str, object] = site.client.get(f"{location}?format=json").json()
        if data["finished"] or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def test_tabs_hide_unconfirmed_requests_and_count_per_filter(signed_in: Site) -> None:
    austrians = _strangers(signed_in, 3, "AT")
    poles = _strangers(signed_in, 2, "PL")
    unconfirmed = signed_in.submit(email="never@example.net", country="AT", names="Never Mind")
    data = signed_in.client.get("/console?format=json").json()
    assert data["tab"] == "decide"
    assert {i["id"] for i in data["items"]} == {*austrians, *poles}  # not the unconfirmed
    assert {t["name"]: t["count"] for t in data["tabs"]} == {
        "decide": 5, "export": 0, "code": 1, "closed": None}  # fmt: skip
    filtered = signed_in.client.get("/console?country=AT&format=json").json()
    assert {i["id"] for i in filtered["items"]} == set(austrians)
    assert filtered["count"] == 3
    assert {t["name"]: t["count"] for t in filtered["tabs"]}["code"] == 1
    code_tab = signed_in.client.get("/console?tab=code&format=json").json()
    assert [i["id"] for i in code_tab["items"]] == [unconfirmed]
    bad = signed_in.client.get("/console?tab=decide&state=applied")
    assert bad.status_code == 422


def test_search_by_address_finds_without_listing_addresses(signed_in: Site) -> None:
    [mine] = _strangers(signed_in, 1)
    page = signed_in.client.get("/console", params={"q": "Stranger0.AT@example.net"}).text
    assert f"/console/requests/{mine}" in page
    assert "@example.net" not in page.replace('value="Stranger0.AT@example.net"', "")
    by_id = signed_in.client.get(f"/console?q={mine}&format=json").json()
    assert [i["id"] for i in by_id["items"]] == [mine]
    assert "email" not in by_id["items"][0]
    none = signed_in.client.get("/console?q=nobody@example.net&format=json").json()
    assert none["items"] == []


def test_keyset_pages_through_a_seeded_registry(signed_in: Site) -> None:
    with signed_in.portal.registry() as registry:
        seed(registry.session, registry.config, count=300, seed=2, now=registry.now())
    first = signed_in.client.get("/console?format=json").json()
    seen, keys, data = [], [], first
    while True:
        seen += [i["id"] for i in data["items"]]
        keys += [(i["due_at"], i["id"]) for i in data["items"]]
        if not data["next_cursor"]:
            break
        data = signed_in.client.get(f"/console?format=json&after={data['next_cursor']}").json()
    assert len(seen) == len(set(seen)) == first["count"] > 50
    assert keys == sorted(keys)
    page = signed_in.client.get("/console").text
    assert 'rel="next"' in page


def test_bulk_accept_of_a_filter_with_preview_and_confirmation(signed_in: Site) -> None:
    austrians = _strangers(signed_in, 4, "AT")
    poles = _strangers(signed_in, 2, "PL")
    form = {"scope": "filter", "f_tab": "decide", "f_country": "AT", "action": "accept"}
    preview = signed_in.post_form("/console?country=AT", "/console/bulk/preview", form)
    assert preview.status_code == 200, preview.text
    assert "accept 4 request(s)" in preview.text
    for request_id in austrians:  # nothing is decided by a preview
        with signed_in.portal.registry() as registry:
            assert registry.get(request_id).state == "needs_review"
    confirmed = signed_in.post_form("/console?country=AT", "/console/bulk", form)
    assert confirmed.status_code == 303
    location = confirmed.headers["location"]
    assert re.fullmatch(r"/console/bulk/bulk-[0-9a-f]{16}", location)
    progress = _wait_finished(signed_in, location)
    assert (progress["finished"], progress["done"], progress["skipped"]) == (True, 4, 0)
    with signed_in.portal.registry() as registry:
        assert [registry.get(i).state for i in austrians] == ["accepted"] * 4
        assert [registry.get(i).state for i in poles] == ["needs_review"] * 2
        view = registry.get(austrians[0])
        assert [e.actor for e in view.events if e.action == "transition"][-1] == "officer:olga"
        assert registry.verify_audit().intact


def test_bulk_reject_of_ticked_requests_needs_a_reason(signed_in: Site) -> None:
    ids = _strangers(signed_in, 3)
    ticked = {"scope": "ticked", "ids": ids[:2], "action": "reject", "reason": ""}
    refused = signed_in.post_form("/console", "/console/bulk/preview", ticked)
    assert refused.status_code == 422
    ticked["reason"] = "We could not find you in any content."
    confirmed = signed_in.post_form("/console", "/console/bulk", ticked)
    assert confirmed.status_code == 303
    assert _wait_finished(signed_in, confirmed.headers["location"])["done"] == 2
    with signed_in.portal.registry() as registry:
        assert [registry.get(i).state for i in ids] == ["rejected", "rejected", "needs_review"]
    signed_in.deliver()
    bodies = [p.read_text() for p in signed_in.outbox.glob("*.eml")]
    assert sum("We could not find you in any content." in b for b in bodies) == 2


def test_reports_are_computed_in_sql_and_the_csv_says_whether_deadlines_were_met(
    signed_in: Site,
) -> None:
    with signed_in.portal.registry() as registry:
        seed(registry.session, registry.config, count=200, seed=4, now=registry.now())
    data = signed_in.client.get("/console/reports?format=json").json()
    assert data["total"] == 200
    assert sum(data["by_state"].values()) == 200
    assert sum(sum(m["by_kind"].values()) for m in data["months"]) == 200
    assert all(m["median_days"] is None or m["median_days"] <= m["p90_days"]
               for m in data["months"])  # fmt: skip
    exported = signed_in.client.get("/console/reports.csv")
    lines = exported.text.strip().split("\n")
    assert lines[0].endswith("due_at,extended_months,decided_at,days_to_decision,late,deadline_met")
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 200
    met = {r[-1] for r in rows}
    assert met <= {"true", "false", ""}
    assert {"true", "false"} <= met
    for r in rows:
        state, late, deadline_met = r[2], r[-2], r[-1]
        if state == "submitted":
            assert (late, deadline_met) == ("", "")
        elif deadline_met:
            assert (late == "true") == (deadline_met == "false")
