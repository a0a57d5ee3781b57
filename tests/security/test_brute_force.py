"""Guessing a verification code: the limits are per code, per submitting client and address,
and across all addresses (tests/security/test_guessing.py; the arithmetic in RELIABILITY.md).

A code is one of 10^6 and allows 5 tries; the codes of one request go out at most 5 an hour
and 10 a day (a cooldown of 60 s between them), counted for the client that submitted it,
however many client addresses ask for them: at most 25 guesses an hour and 50 a day through
one request.

In process, with a fake clock, the portal sits behind uvicorn's proxy-headers middleware
exactly as ``notrain serve`` runs it, so an ``X-Forwarded-For`` from the trusted proxy
(127.0.0.1) is the client address the portal counts; the attacker takes a new one for
every request and waits exactly as long as each refusal says. On a real server, concurrent
guesses cannot overspend a code's tries, and ``X-Forwarded-For`` from a peer that is not
the proxy is ignored.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from notrain.portal import create_app
from notrain.portal.context import Portal
from notrain.settings import Settings
from tests.portal.server import running_portal, wait_for_code
from tests.registry.fixtures import ALICE, FakeClock

CODE = re.compile(r"Your code is:\s+(\d{6})")
HOURS = 26  # past the first day, to see the daily cap lift
PER_HOUR = 5 * 5  # codes per hour x tries per code
PER_DAY = 10 * 5  # codes per 24 hours x tries per code


class Mailbox:
    """A transport that keeps what it sends: the victim's mailbox, read by the test only."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)

    def describe(self) -> str:
        return "memory"

    def codes(self, address: str) -> list[str]:
        found = []
        for message in self.sent:
            body = message.get_body(preferencelist=("plain",))
            match = CODE.search(body.get_content() if body is not None else "")
            if match and message["To"] == address:
                found.append(match.group(1))
        return found


@dataclass
class Attacker:
    client: TestClient
    portal: Portal
    mailbox: Mailbox
    clock: FakeClock
    addresses: Iterator[str] = field(
        default_factory=lambda: (f"198.51.{n // 250}.{n % 250 + 1}" for n in itertools.count())
    )
    used: set[str] = field(default_factory=set)

    def post(self, path: str, body: dict[str, Any] | None = None, *, ip: str | None = None) -> Any:
        address = ip or next(self.addresses)
        self.used.add(address)
        return self.client.post(path, json=body, headers={"x-forwarded-for": address})


@pytest.fixture
def attacker(portal_settings: Settings, clock: FakeClock) -> Iterator[Attacker]:
    settings = portal_settings.model_copy(
        update={"portal_ip_rate_limit": 3, "portal_email_rate_limit": 10}
    )
    mailbox = Mailbox()
    app = create_app(settings, clock=clock, transport=mailbox, deliver_mail=False)
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
    with TestClient(proxied, client=("127.0.0.1", 40000)) as client:  # type: ignore[arg-type]
        yield Attacker(client, app.state.portal, mailbox, clock)


def _error(answer: Any) -> str:
    return str(answer.json()["error"]["type"])


def test_the_trusted_proxys_client_addresses_are_what_the_portal_counts(
    attacker: Attacker,
) -> None:
    path = "/api/v1/requests/req-0000000000000000/resend"
    one = [attacker.post(path, ip="203.0.113.9").status_code for _ in range(4)]
    assert one == [404, 404, 404, 429]  # three a minute from one address
    rotated = [attacker.post(path).status_code for _ in range(8)]
    assert rotated == [404] * 8  # so every request below really comes from a new address


def test_guesses_through_one_request_are_capped_whatever_the_client_addresses(
    attacker: Attacker,
) -> None:
    submitted = attacker.post("/api/v1/requests", {"kind": "access", "email": ALICE,
                                                   "country": "DE"})  # fmt: skip
    assert submitted.status_code == 202
    request_id = submitted.json()["request_id"]
    verify = f"/api/v1/requests/{request_id}/verify"
    resend = f"/api/v1/requests/{request_id}/resend"
    start = attacker.clock.now
    end = start + timedelta(hours=HOURS)
    guesses = (f"{n:06d}" for n in itertools.count())
    accepted: list[int] = []  # when each guess was checked against a code (s from start)
    codes = 1
    while True:
        attacker.portal.mail.deliver_once()
        real = attacker.mailbox.codes(ALICE)[-1]
        for _ in range(7):
            guess = next(g for g in guesses if g != real)  # the test, not the attacker, knows
            answer = attacker.post(verify, {"code": guess})
            if answer.status_code == 400:
                assert _error(answer) == "CodeWrong"
                accepted.append(int((attacker.clock.now - start).total_seconds()))
            else:
                assert (answer.status_code, _error(answer)) == (429, "CodeAttemptsExhausted")
        # A new code: ask again (or make a new request for the address) when told to.
        while attacker.clock.now < end:
            answer = attacker.post(resend)
            if answer.status_code == 202:
                codes += 1
                break
            assert answer.status_code == 429
            wait = int(answer.headers["retry-after"])
            attacker.clock.advance(seconds=wait)
        if attacker.clock.now >= end:
            break

    assert len(attacker.used) > 50  # a new client address for every request
    assert len(attacker.mailbox.codes(ALICE)) == codes
    per_hour = Counter(s // 3600 for s in accepted)
    # Two hours at the hourly cap, then nothing until the first code is a day old.
    assert [per_hour.get(h, 0) for h in range(3)] == [PER_HOUR, PER_HOUR, 0]
    assert sum(per_hour.get(h, 0) for h in range(24)) == PER_DAY
    assert sum(per_hour.get(h, 0) for h in range(24, HOURS)) > 0  # the cap lifts
    # In any hour and any 24 hours whatever, not only in clock hours: the caps hold.
    assert max(sum(1 for s in accepted if t - 3600 < s <= t) for t in accepted) == PER_HOUR
    assert max(sum(1 for s in accepted if t - 86400 < s <= t) for t in accepted) == PER_DAY
    with attacker.portal.registry() as registry:
        assert registry.get(request_id).state == "submitted"


# -- a real server --------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    env = {
        "NOTRAIN_DATABASE_URL": database_url,
        "NOTRAIN_SECRET_KEY": "brute-force-test-secret-key-0123456789",
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_PORTAL_IP_RATE_LIMIT": "3",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
    }
    with running_portal(env, tmp_path) as base:
        yield base


def _in_parallel(count: int, call: Any) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def one(n: int) -> None:
        start.wait(timeout=60)
        answer = call(n)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_concurrent_guesses_from_many_addresses_cannot_overspend_a_code(
    server: str, tmp_path: Path
) -> None:
    def post(path: str, n: int, body: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{server}{path}", json=body, timeout=60,
                          headers={"x-forwarded-for": f"192.0.2.{n + 1}"})  # fmt: skip

    submitted = post("/api/v1/requests", 200, {"kind": "access", "email": ALICE, "country": "DE"})
    assert submitted.status_code == 202
    request_id = submitted.json()["request_id"]
    real = wait_for_code(tmp_path / "outbox", ALICE)
    wrong = [f"{(int(real) + n) % 1_000_000:06d}" for n in range(1, 31)]

    guesses = _in_parallel(
        30, lambda n: post(f"/api/v1/requests/{request_id}/verify", n, {"code": wrong[n]})
    )
    outcomes = Counter((a.status_code, a.json()["error"]["type"]) for a in guesses)
    assert outcomes == {(400, "CodeWrong"): 5, (429, "CodeAttemptsExhausted"): 25}
    late = post(f"/api/v1/requests/{request_id}/verify", 100, {"code": real})
    assert (late.status_code, late.json()["error"]["type"]) == (429, "CodeAttemptsExhausted")

    resends = _in_parallel(20, lambda n: post(f"/api/v1/requests/{request_id}/resend", 150 + n))
    assert {a.status_code for a in resends} == {429}  # the 60 s cooldown, for every client
    assert all(int(a.headers["retry-after"]) >= 1 for a in resends)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_forwarded_for_is_ignored_unless_it_comes_from_the_proxy(server: str) -> None:
    path = "/api/v1/requests/req-0000000000000000/resend"

    def statuses(local_address: str) -> list[int]:
        transport = httpx.HTTPTransport(local_address=local_address)
        with httpx.Client(transport=transport, timeout=60) as client:
            return [
                client.post(f"{server}{path}",
                            headers={"x-forwarded-for": f"203.0.113.{n + 1}"}).status_code
                for n in range(4)
            ]  # fmt: skip

    # Another host on the way in (here 127.0.0.2, which is not the proxy): its own address
    # counts, whatever it claims to forward.
    assert statuses("127.0.0.2") == [404, 404, 404, 429]
    # The proxy on 127.0.0.1: each forwarded client counts on its own.
    assert statuses("127.0.0.1") == [404, 404, 404, 404]
