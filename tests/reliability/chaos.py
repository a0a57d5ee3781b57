"""The registry under load while its database and its mail server go away and come back.

``run_scenario`` starts a throwaway PostgreSQL cluster, a real SMTP server (aiosmtpd) and
``notrain serve`` on 127.0.0.1, then lets ``clients`` asyncio clients submit objections
and verify them with the code from their e-mail, for ``seconds``, while PostgreSQL is
crashed (``pg_ctl stop -m immediate``) and started again and the SMTP server is stopped
and started again. While the database is down it also asks for a page, the API and the
health check, as a person and a load balancer would. Then it waits for the portal's mail
thread to empty the queue, stops the portal, runs ``notrain mail deliver`` once more, and
reads the registry back. The test (``test_registry_under_load.py``) calls it and does not
assert on time.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from notrain.mail.queue import pending_count
from notrain.registry import audit
from notrain.registry.db import database_url as parse_url
from notrain.registry.models import QueuedMail, Request
from tests.mail.smtp_server import free_port
from tests.portal.server import running_portal
from tests.reliability.cluster import PostgresCluster, SmtpSwitch

CODE = re.compile(r"Your code is:\s+(\d{6})")
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
RETRY_PAUSE = 0.25  # between tries of a step the portal answered 503 to
STEP_BUDGET = 20.0  # seconds one step (submit or verify) is retried before giving up
CODE_WAIT = 60.0  # seconds a client waits for its code to arrive
DRAIN_SECONDS = 90.0  # for the mail queue to empty after the load


@dataclass(frozen=True)
class Outage:
    what: str  # "database" or "mail"
    at: float  # seconds after the load starts
    seconds: float


DEFAULT_OUTAGES = (
    Outage("database", 4.0, 3.0),
    Outage("mail", 10.0, 4.0),
    Outage("database", 16.0, 3.0),
    Outage("mail", 21.0, 3.0),
)


@dataclass(frozen=True)
class Plan:
    clients: int = 12
    seconds: float = 26.0
    outages: tuple[Outage, ...] = DEFAULT_OUTAGES
    workers: int = 1  # ``notrain serve --workers``: processes sharing the registry


@dataclass
class Attempt:
    """One person's objection as the client saw it."""

    email: str
    request_id: str | None = None  # a 202 with this id: acknowledged
    verified: bool = False  # a 200 to the code: acknowledged
    verified_unacknowledged: bool = False  # the answer was lost, but it is verified (409)
    gave_up: str | None = None


@dataclass
class Probe:
    """An answer asked for while the database was down."""

    what: str
    status: int
    content_type: str
    body: str


@dataclass
class Load:
    attempts: list[Attempt] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable: list[Any] = field(default_factory=list)  # the JSON of every 503
    unexpected: list[str] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    probes: list[Probe] = field(default_factory=list)
    outages: list[tuple[str, float, float]] = field(default_factory=list)  # what, from, to
    database_restarts: int = 0
    mail_restarts: int = 0
    load_seconds: float = 0.0

    @property
    def http_requests(self) -> int:
        return sum(self.statuses.values())


@dataclass
class Registry:
    """What the registry holds afterwards."""

    requests: dict[str, tuple[str, str]]  # id -> (email, state)
    mails: list[tuple[str | None, str, datetime | None, int]]  # request, template, sent, tries
    pending_mail: int
    audit_intact: bool
    audit_events: int
    deliver_output: str


@dataclass
class Result:
    plan: Plan
    load: Load
    registry: Registry
    inbox_codes: dict[str, list[str]]
    inbox_other: dict[str, list[str]]
    queue_drained_seconds: float
    server_log: str


class Codes:
    """Reads the codes the SMTP server received, per address, in the order they came."""

    def __init__(self, smtp: SmtpSwitch) -> None:
        self.smtp = smtp
        self.seen = 0
        self.codes: dict[str, list[str]] = defaultdict(list)
        self.other: dict[str, list[str]] = defaultdict(list)

    def refresh(self) -> None:
        messages = self.smtp.inbox.messages
        while self.seen < len(messages):
            message = messages[self.seen]
            self.seen += 1
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            found = CODE.search(text)
            to = str(message["To"])
            if found:
                self.codes[to].append(found.group(1))
            else:
                self.other[to].append(str(message["Subject"]))


class Client:
    def __init__(self, base: str, http: httpx.AsyncClient, codes: Codes, load: Load) -> None:
        self.base = base
        self.http = http
        self.codes = codes
        self.load = load

    async def call(
        self, method: str, path: str, **kw: Any
    ) -> httpx.Response | None:  # None: no answer at all
        try:
            answer = await self.http.request(method, f"{self.base}{path}", **kw)
        except httpx.HTTPError as exc:
            self.load.transport_errors[type(exc).__name__] += 1
            return None
        self.load.statuses[answer.status_code] += 1
        if answer.status_code == 503:
            self.load.unavailable.append(_json(answer))
        return answer

    async def submit(self, attempt: Attempt) -> None:
        body = {"kind": "objection", "email": attempt.email, "country": "FR"}
        deadline = time.monotonic() + STEP_BUDGET
        while time.monotonic() < deadline:
            answer = await self.call("POST", "/api/v1/requests", json=body)
            if answer is not None and answer.status_code == 202:
                attempt.request_id = str(answer.json()["request_id"])
                return
            if answer is not None and answer.status_code != 503:
                self.load.unexpected.append(f"submit {answer.status_code} {answer.text[:300]}")
                attempt.gave_up = f"submit answered {answer.status_code}"
                return
            await asyncio.sleep(RETRY_PAUSE)
        attempt.gave_up = "submit: no acknowledgement in time"

    async def confirm(self, attempt: Attempt) -> None:
        assert attempt.request_id is not None
        tried = 0
        deadline = time.monotonic() + CODE_WAIT
        while time.monotonic() < deadline:
            self.codes.refresh()
            mailed = self.codes.codes.get(attempt.email, [])
            if len(mailed) <= tried:
                await asyncio.sleep(0.1)
                continue
            # The newest code; an older one was superseded, or was mailed by a delivery
            # whose transaction the database restart rolled back (it is sent again, new).
            code, tried = mailed[-1], len(mailed)
            outcome = await self.verify(attempt, code)
            if outcome != "wrong code":
                return
        attempt.gave_up = attempt.gave_up or "no working code arrived in time"

    async def verify(self, attempt: Attempt, code: str) -> str:
        path = f"/api/v1/requests/{attempt.request_id}/verify"
        deadline = time.monotonic() + STEP_BUDGET
        while time.monotonic() < deadline:
            answer = await self.call("POST", path, json={"code": code})
            if answer is None or answer.status_code == 503:
                await asyncio.sleep(RETRY_PAUSE)
                continue
            kind = _json(answer).get("error", {}).get("type") if answer.status_code >= 400 else ""
            if answer.status_code == 200:
                attempt.verified = True
                return "verified"
            if answer.status_code == 400 and kind in ("CodeWrong", "VerificationFailed"):
                return "wrong code"
            if answer.status_code == 409:  # verified by a try whose answer was lost
                # The status needs the token that answer held; the mail after verification
                # carries it again. The 409 itself says the request is verified.
                attempt.verified_unacknowledged = True
                return "already verified"
            self.load.unexpected.append(f"verify {answer.status_code} {answer.text[:300]}")
            attempt.gave_up = f"verify answered {answer.status_code}"
            return "refused"
        attempt.gave_up = "verify: no answer in time"
        return "gave up"

    async def run(self, n: int, stop_at: float) -> None:
        round_ = 0
        while time.monotonic() < stop_at:
            round_ += 1
            attempt = Attempt(email=f"load-{n}-{round_}@example.org")
            self.load.attempts.append(attempt)
            await self.submit(attempt)
            if attempt.request_id is not None:
                await self.confirm(attempt)


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {"unparsable": answer.text[:300]}
    return data if isinstance(data, dict) else {"unexpected": data}


async def probe_outage(base: str, load: Load, n: int) -> None:
    """While the database is down: the API, a page, a form post and the health check."""
    async with httpx.AsyncClient(timeout=20) as browser:
        form_page = await browser.get(f"{base}/request/objection")  # needs no database
        token = CSRF.search(form_page.text)
        asks: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("api submit", lambda: browser.post(
                f"{base}/api/v1/requests",
                json={"kind": "objection", "email": f"probe-{n}@example.org", "country": "DE"})),
            ("healthz", lambda: browser.get(
                f"{base}/healthz", headers={"accept": "application/json"})),
            ("status page", lambda: browser.get(
                f"{base}/requests/req-0123456789abcdef", headers={"accept": "text/html"})),
            ("form post", lambda: browser.post(
                f"{base}/request/objection",
                data={"email": f"probe-form-{n}@example.org", "country": "DE",
                      "csrf_token": token.group(1) if token else ""})),
        ]  # fmt: skip
        for what, ask in asks:
            answer = await ask()
            load.statuses[answer.status_code] += 1
            load.probes.append(
                Probe(what, answer.status_code, answer.headers.get("content-type", ""), answer.text)
            )
            # Taken after all (the database came back meanwhile): then it must not be lost.
            if answer.status_code == 202:
                taken = Attempt(f"probe-{n}@example.org", _json(answer).get("request_id"))
                load.attempts.append(taken)
            elif answer.status_code == 303:
                found = re.search(r"req-[0-9a-f]{16}", answer.headers.get("location", ""))
                taken = Attempt(f"probe-form-{n}@example.org", found.group(0) if found else "?")
                load.attempts.append(taken)


async def chaos(
    plan: Plan, cluster: PostgresCluster, smtp: SmtpSwitch, base: str, load: Load, t0: float
) -> None:
    for n, outage in enumerate(plan.outages):
        await asyncio.sleep(max(0.0, t0 + outage.at - time.monotonic()))
        began = time.monotonic() - t0
        if outage.what == "database":
            await asyncio.to_thread(cluster.stop_server)
            down = time.monotonic()
            await probe_outage(base, load, n)
            await asyncio.sleep(max(0.0, down + outage.seconds - time.monotonic()))
            await asyncio.to_thread(cluster.start_server)
            load.database_restarts += 1
        else:
            await asyncio.to_thread(smtp.stop)
            await asyncio.sleep(outage.seconds)
            await asyncio.to_thread(smtp.start)
            load.mail_restarts += 1
        load.outages.append((outage.what, began, time.monotonic() - t0))


async def drive(
    plan: Plan, cluster: PostgresCluster, smtp: SmtpSwitch, base: str, codes: Codes
) -> Load:
    load = Load()
    # Idle connections are dropped by the client after 1 s, well before uvicorn closes them
    # (5 s): otherwise a request sent on a connection the server is just closing fails
    # with a ReadError that no server could prevent (the keep-alive race).
    limits = httpx.Limits(
        max_connections=plan.clients, max_keepalive_connections=plan.clients, keepalive_expiry=1.0
    )
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        t0 = time.monotonic()
        stop_at = t0 + plan.seconds
        client = Client(base, http, codes, load)
        await asyncio.gather(
            chaos(plan, cluster, smtp, base, load, t0),
            *(client.run(n, stop_at) for n in range(plan.clients)),
        )
        load.load_seconds = time.monotonic() - t0
    return load


def _session(url: str) -> tuple[Any, Session]:
    engine = create_engine(parse_url(url))
    return engine, Session(engine)


def wait_for_empty_queue(url: str, seconds: float) -> float:
    """Seconds until the portal's mail thread has sent everything (``seconds`` at most)."""
    started = time.monotonic()
    engine, session = _session(url)
    try:
        while time.monotonic() - started < seconds:
            if pending_count(session) == 0:
                break
            session.rollback()
            time.sleep(0.5)
    finally:
        session.close()
        engine.dispose()
    return time.monotonic() - started


def read_registry(url: str, deliver_output: str) -> Registry:
    engine, session = _session(url)
    try:
        requests = {r.id: (r.email, r.state) for r in session.scalars(select(Request))}
        mails = [
            (m.request_id, m.template, m.sent_at, m.attempts)
            for m in session.scalars(select(QueuedMail))
        ]
        report = audit.verify(session)
        return Registry(
            requests=requests,
            mails=mails,
            pending_mail=pending_count(session),
            audit_intact=report.intact,
            audit_events=report.events,
            deliver_output=deliver_output,
        )
    finally:
        session.close()
        engine.dispose()


def run_scenario(folder: Path, plan: Plan = Plan()) -> Result:
    cluster = PostgresCluster()
    try:
        url = cluster.start()
        with SmtpSwitch(free_port()) as smtp:
            env = {
                "NOTRAIN_DATABASE_URL": url,
                "NOTRAIN_SECRET_KEY": "reliability-test-secret-key-0123456789",
                "NOTRAIN_SMTP_HOST": "127.0.0.1",
                "NOTRAIN_SMTP_PORT": str(smtp.port),
                "NOTRAIN_SMTP_TLS": "none",
                "NOTRAIN_SMTP_TIMEOUT_SECONDS": "5",
                "NOTRAIN_MAIL_RETRY_SECONDS": "1",
                "NOTRAIN_PORTAL_IP_RATE_LIMIT": "0",
                "NOTRAIN_PORTAL_EMAIL_RATE_LIMIT": "0",
                "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
                "NOTRAIN_OUTBOX_DIR": str(folder / "outbox-unused"),
            }
            codes = Codes(smtp)
            with running_portal(env, folder, ("--workers", str(plan.workers))) as base:
                load = asyncio.run(drive(plan, cluster, smtp, base, codes))
                drained = wait_for_empty_queue(url, DRAIN_SECONDS)
            # The portal is stopped; the command a cron job would run finds nothing left.
            done = subprocess.run(
                [sys.executable, "-m", "notrain.cli", "mail", "deliver"],
                env={**os.environ, **env}, cwd=folder, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
            codes.refresh()
            registry = read_registry(url, f"exit {done.returncode}: {done.stdout}{done.stderr}")
        return Result(
            plan=plan,
            load=load,
            registry=registry,
            inbox_codes=dict(codes.codes),
            inbox_other=dict(codes.other),
            queue_drained_seconds=drained,
            server_log=(folder / "server.log").read_text(errors="replace"),
        )
    finally:
        cluster.destroy()
