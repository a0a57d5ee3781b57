"""SQL injection attempts in every filter and parameter, on SQLite and PostgreSQL: the
registry's list filters (``notrain requests list --state/--kind``, the console's queue),
path and query parameters of every page and API route, JSON and form fields, the
sign-in name. Every attempt gets an ordinary answer (an empty list, a 404, a 422, a 401),
never a 5xx, never someone else's data; afterwards the tables and the audit chain are whole.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from notrain.cli import app as cli
from notrain.registry.forms import RequestForm
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, STRANGER

PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "submitted' --",
    "x'; DROP TABLE requests; --",
    '" OR ""="',
    "1 UNION SELECT email, email FROM requests --",
    "') OR ('a'='a",
    "%",
    "_",
    "*",
    "\\",
    "$1",
    ":state",
    "%(state)s",
    "?",
    "submitted\u0000",
    "s\u00fcbmitted",
]
# A NUL byte reaches the registry's filters from nowhere: argv cannot hold one and the
# portal has no filter fields (PostgreSQL would refuse it as a value: a DataError).
FILTER_PAYLOADS = [p for p in PAYLOADS if "\x00" not in p]


@pytest.fixture
def seeded(signed_in: Site) -> dict[str, str]:
    """A verified member's objection (accepted) and a stranger's, still awaiting its code."""
    member = signed_in.submit(email=ALICE, country="DE")
    signed_in.confirm(member, ALICE)
    stranger = signed_in.submit(email=STRANGER, country="AT", names="Dana Stranger")
    return {"member": member, "stranger": stranger}


def _secrets(seeded: dict[str, str]) -> list[str]:
    return [*seeded.values(), ALICE, STRANGER, "dana stranger"]


def test_registry_filters_take_payloads_as_plain_values(
    signed_in: Site, seeded: dict[str, str]
) -> None:
    with signed_in.portal.registry() as registry:
        assert {v.id for v in registry.list(state="submitted")} == {seeded["stranger"]}
        assert len(registry.list(kind="objection")) == 2  # the filters do filter
        for payload in FILTER_PAYLOADS:
            assert registry.list(state=payload) == []
            assert registry.list(kind=payload) == []
            assert registry.list(state=payload, overdue=True) == []
            assert registry.list(kind=payload, due_soon=True) == []
        assert len(registry.list()) == 2
        assert registry.verify_audit().intact


def test_cli_filters_take_payloads_as_plain_values(
    seeded: dict[str, str], database_url: str
) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, [*args, "--db", database_url])
        return result.exit_code, result.output

    assert run("requests", "list", "--state", "submitted", "--json")[1].count("\n") == 1
    for payload in FILTER_PAYLOADS:
        for option in ("--state", "--kind"):
            code, output = run("requests", "list", option, payload, "--json")
            assert (code, output) == (0, ""), (option, payload)
        code, output = run("requests", "show", payload)
        assert code != 0
        assert all(s not in output for s in _secrets(seeded))
    code, output = run("requests", "list", "--json")
    assert code == 0
    assert output.count("\n") == 2


def _public_paths(payload: str) -> list[str]:
    p = quote(payload, safe="")
    return [
        f"/request/{p}", f"/requests/{p}", f"/requests/{p}/code", f"/requests/{p}/receipt",
        f"/requests/{p}/access.json", f"/lang/{p}?next={p}", f"/api/v1/requests/{p}",
        f"/api/v1/subjects/{p}/status", f"/?format={p}", f"/policy?format={p}&lang={p}",
    ]  # fmt: skip


def test_page_and_api_parameters_take_payloads_as_plain_values(
    signed_in: Site, seeded: dict[str, str], api_key: str
) -> None:
    client = signed_in.client
    secrets_ = _secrets(seeded)
    for payload in PAYLOADS:
        p = quote(payload, safe="")
        for path in _public_paths(payload):
            answer = client.get(path, headers={"x-api-key": api_key}, follow_redirects=False)
            assert answer.status_code < 500, (path, answer.text[:300])
            assert all(s not in answer.text for s in secrets_), path
        for path in (f"/api/v1/requests/{p}/verify", f"/api/v1/requests/{p}/resend"):
            answer = client.post(path, json={"code": payload})
            assert answer.status_code in (404, 422), (path, answer.text[:300])
        batch = client.post("/api/v1/subjects/status", json={"user_ids": [payload]},
                            headers={"x-api-key": api_key})  # fmt: skip
        assert batch.status_code == 422
        console = client.get(f"/console/requests/{p}?format=json")
        assert console.status_code == 404
        assert all(s not in console.text for s in secrets_)
        # The queue's filters refuse what is not one of their values; parameters it does
        # not know change nothing.
        for name in ("tab", "state", "kind", "country", "member", "received_from", "after"):
            refused = client.get(f"/console?format=json&{name}={p}")
            assert refused.status_code == 422, (name, refused.text[:300])
            assert all(s not in refused.text for s in secrets_)
        queue = client.get(f"/console?format=json&tab=export&sort={p}&q=")
        assert queue.status_code == 200
        assert [i["id"] for i in queue.json()["items"]] == [seeded["member"]]


def test_fields_take_payloads_as_plain_values(signed_in: Site, seeded: dict[str, str]) -> None:
    client = signed_in.client
    sign_ins = []
    for n, payload in enumerate(PAYLOADS):
        body = {"kind": "objection", "email": f"p{n}@example.org", "country": "DE",
                "handle": payload, "names": [f"name {payload}"], "note": payload}  # fmt: skip
        answer = client.post("/api/v1/requests", json=body)
        assert answer.status_code in (202, 422), answer.text  # handles allow _ . - only
        for field in ("kind", "email", "country"):
            refused = client.post("/api/v1/requests", json={**body, "handle": None, field: payload})
            assert refused.status_code == 422, (field, payload)
        login = signed_in.post_form("/console/login", "/console/login",
                                    {"username": payload, "password": payload})  # fmt: skip
        sign_ins.append(login.status_code)
    left = signed_in.portal.settings.portal_login_rate_limit - 1  # the fixture signed in once
    assert sign_ins == [401] * left + [429] * (len(PAYLOADS) - left)  # no one signed in
    with signed_in.portal.registry() as registry:
        views = registry.list(limit=10_000)
        stored = {v.email: v for v in views}
        for n, payload in enumerate(PAYLOADS):
            view = stored.get(f"p{n}@example.org")
            if view is not None and "\x00" not in payload:  # kept as typed, as data
                assert ("name", f"name {payload}".lower()) in view.identifiers
        assert {seeded["member"], seeded["stranger"]} <= {v.id for v in views}
        assert registry.verify_audit().intact
    # Stored payloads shown back are data too: the queue and reports still work.
    assert client.get("/console/reports?format=json").status_code == 200


def test_the_registry_stores_payloads_verbatim(signed_in: Site) -> None:
    """The registry's own entry point, below the portal: a payload is a value like any."""
    with signed_in.portal.registry() as registry:
        receipt = registry.submit(RequestForm(kind="objection", email="q@example.org",
                                              country="DE", names=["x' OR '1'='1"],
                                              note="'); DELETE FROM requests; --"))  # fmt: skip
        view = registry.get(receipt.request_id)
        assert view.note == "'); DELETE FROM requests; --"
        assert ("name", "x' or '1'='1") in view.identifiers
        assert len(registry.list()) == 1
