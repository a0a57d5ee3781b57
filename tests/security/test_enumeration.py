"""Account enumeration: an address with an account and one without get the same answers,
and the portal does the same work for both until the address is verified.

Time is not measured here (a timing assertion would flake on a shared machine; the
benchmark ``benchmarks/enumeration.py`` prints both distributions). Instead the tests show
why the times cannot differ: the same SQL statements run in the same order, the same
number of audit events and mails are written, and the platform's accounts are not even
looked at before the code is entered. Officer sign-in likewise runs one argon2 check
whether or not the name exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from notrain.registry import officers
from notrain.registry.accounts import AccountDirectory
from notrain.registry.models import AuditEvent, QueuedMail
from tests.portal.fixtures import PASSWORD, Site
from tests.registry.fixtures import ALICE, STRANGER

_ID = re.compile(r"req-[0-9a-f]{16}")
MEMBER, NOBODY = ALICE, STRANGER  # Alice has two accounts; Dana none


class CountingAccounts:
    """The platform's accounts, counting every question asked of them."""

    def __init__(self, inner: AccountDirectory) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


@contextmanager
def statements(site: Site) -> Iterator[list[str]]:
    engine = site.portal.factory.kw["bind"]
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        del conn, cursor, args
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _written(site: Site) -> tuple[int, int]:
    with site.portal.registry() as registry:
        events = registry.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        mails = registry.session.scalar(select(func.count()).select_from(QueuedMail)) or 0
    return events, mails


def _observed(site: Site, call: Any) -> dict[str, Any]:
    """Everything an outsider sees of one answer, and the work it cost the portal."""
    before = _written(site)
    with statements(site) as sql:
        answer = call()
    after = _written(site)
    return {
        "status": answer.status_code,
        "body": _ID.sub("#", answer.text),
        "length": len(answer.content),
        "headers": sorted(
            (k, _ID.sub("#", v)) for k, v in answer.headers.items() if k not in ("date",)
        ),
        "sql": sql,
        "written": (after[0] - before[0], after[1] - before[1]),
    }


@pytest.fixture
def spied(client: Site) -> CountingAccounts:
    spy = CountingAccounts(client.portal.accounts)
    client.portal.accounts = spy
    return spy


def test_api_answers_and_work_are_the_same_for_known_and_unknown_addresses(
    client: Site, spied: CountingAccounts
) -> None:
    seen: dict[str, list[dict[str, Any]]] = {MEMBER: [], NOBODY: []}
    for email in (MEMBER, NOBODY):
        body = {"kind": "objection", "email": email, "country": "DE"}
        seen[email].append(
            _observed(client, lambda b=body: client.client.post("/api/v1/requests", json=b))
        )
    for email in (MEMBER, NOBODY):  # the same request again: a new one, within the cooldown
        body = {"kind": "objection", "email": email, "country": "DE"}
        seen[email].append(
            _observed(client, lambda b=body: client.client.post("/api/v1/requests", json=b))
        )
    for email in (MEMBER, NOBODY):  # another request for the address: the cooldown
        body = {"kind": "erasure", "email": email, "country": "DE"}
        seen[email].append(
            _observed(client, lambda b=body: client.client.post("/api/v1/requests", json=b))
        )
    assert seen[MEMBER] == seen[NOBODY]
    assert [s["status"] for s in seen[MEMBER]] == [202, 429, 429]
    assert seen[MEMBER][0]["written"] == (1, 1)  # one audit event, one code mail: the work
    assert seen[MEMBER][0]["sql"]  # the statements were seen (the comparison is not empty)
    assert spied.calls == []  # no account was looked up for either


def test_form_answers_and_work_are_the_same_for_known_and_unknown_addresses(
    client: Site, spied: CountingAccounts
) -> None:
    seen = {}
    for email in (MEMBER, NOBODY):
        token = client.token("/request/access")
        answer = _observed(
            client,
            lambda e=email, t=token: client.client.post(
                "/request/access", data={"email": e, "country": "FR", "csrf_token": t},
                follow_redirects=False,
            ),
        )  # fmt: skip
        seen[email] = answer
    # The redirect names the request; everything else, cookies included, is alike.
    for answer in seen.values():
        answer["headers"] = [(k, v) for k, v in answer["headers"] if k != "set-cookie"]
    assert seen[MEMBER] == seen[NOBODY]
    assert seen[MEMBER]["status"] == 303

    # Wrong codes: the same answers, the same work, still no account looked at.
    with client.portal.registry() as registry:
        pending = {v.email: v.id for v in registry.list()}
    wrong = {}
    for email in (MEMBER, NOBODY):
        code = client.code(email)
        guess = f"{(int(code) + 1) % 1_000_000:06d}"
        path = f"/api/v1/requests/{pending[email]}/verify"
        wrong[email] = _observed(client, lambda p=path, g=guess: client.client.post(
            p, json={"code": g}))  # fmt: skip
    assert wrong[MEMBER] == wrong[NOBODY]
    assert wrong[MEMBER]["status"] == 400
    assert spied.calls == []


class CountingHasher:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        result: bool = self.inner.verify(stored, password)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.usefixtures("officer")
def test_officer_sign_in_answers_alike_for_unknown_names(
    client: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CountingHasher(officers._hasher)
    monkeypatch.setattr(officers, "_hasher", hasher)
    answers = []
    for name in ("olga", "nobody-at-all"):
        before = hasher.verified
        answer = client.sign_in(name, PASSWORD + "-wrong")
        answers.append((answer.status_code, answer.text.replace(name, "#"),
                        hasher.verified - before))  # fmt: skip
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert answers[0][2] == 1  # one argon2 check each: the same time, whether or not she exists
