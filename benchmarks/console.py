"""Benchmark of the privacy officer's console at scale (not a test).

Seeds a registry of ``--requests`` requests (``notrain registry seed``'s code), then
answers, through the real app in-process (Starlette's TestClient: routing, the session
check, the database, the template), ``--runs`` times each: the default queue, a filtered
queue, a filtered queue's later page (keyset), a search by e-mail address, a request's
page and the reports page; prints p50/p95 per page. Then a bulk accept of about
``--bulk`` requests (every request in review received up to a date), timed from the
confirmation to the last decision, each decision with its audit event and queued mail;
then checks the audit chain. Prints the machine's load before and after.

    .venv/bin/python benchmarks/console.py --requests 1000000 --backend sqlite
    .venv/bin/python benchmarks/console.py --requests 1000000 --backend postgresql \
        --pg-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, func, make_url, select, text

from notrain.portal import create_app
from notrain.portal.reports import reports_data
from notrain.registry import bulk
from notrain.registry.bulk import Selection
from notrain.registry.db import database_url as parse_url
from notrain.registry.models import Request
from notrain.registry.queue import QueueFilter
from notrain.registry.seed import seed
from notrain.registry.service import Registry
from notrain.settings import Settings

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
KEY = "benchmark-secret-key-0123456789"


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def make_database(backend: str, pg_url: str | None, folder: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'registry.db'}", None
    assert pg_url, "--pg-url (or NOTRAIN_TEST_POSTGRES_URL) is needed for postgresql"
    name = f"notrain_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(parse_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), admin


def drop_database(url: str, admin: object) -> None:
    if admin is None:
        return
    name = make_url(url).database
    with admin.connect() as connection:  # type: ignore[attr-defined]
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def analyse(url: str) -> None:
    """Statistics for the planner, as a production database keeps them (autovacuum)."""
    engine = create_engine(parse_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("VACUUM ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    engine.dispose()


def timed(client: TestClient, path: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NOTRAIN_TEST_POSTGRES_URL"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, admin = make_database(args.backend, args.pg_url, folder)
        try:
            run(args, url, folder)
        finally:
            drop_database(url, admin)


def run(args: argparse.Namespace, url: str, folder: Path) -> None:
    print(f"backend {args.backend}, {args.requests:,} requests; load before {load()}")
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, outbox_dir=str(folder / "outbox"), secret_key=SecretStr(KEY),
        portal_secure_cookies=False, code_reminder_hours=0,
    )  # fmt: skip
    app = create_app(settings, deliver_mail=False)
    portal = app.state.portal
    started = time.perf_counter()
    with portal.registry() as registry:
        result = seed(registry.session, registry.config, count=args.requests, seed=args.seed,
                      now=registry.now())  # fmt: skip
        registry.create_officer("bench", "correct horse battery staple", actor="benchmark")
    seeded = time.perf_counter() - started
    print(
        f"seeded {result.requests:,} requests, {result.events:,} audit events in {seeded:.0f} s "
        f"({result.requests / seeded:,.0f}/s): {dict(sorted(result.states.items()))}"
    )
    analyse(url)

    with portal.registry() as registry:
        session = registry.session
        some = session.execute(
            select(Request.id, Request.email).where(Request.state == "needs_review").limit(1)
        ).one()
        session.rollback()

    with TestClient(app, base_url="http://testserver") as client:
        token = _CSRF.search(client.get("/console/login").text)
        assert token
        signed = client.post("/console/login", data={"username": "bench",
                             "password": "correct horse battery staple",
                             "csrf_token": token.group(1)}, follow_redirects=False)  # fmt: skip
        assert signed.status_code == 303, signed.text
        first = client.get("/console?tab=decide&country=DE&kind=access&format=json").json()
        later = f"/console?tab=decide&country=DE&kind=access&after={first['next_cursor']}"
        pages = {
            "default queue": "/console",
            "filtered queue (DE, access)": "/console?tab=decide&country=DE&kind=access",
            "filtered queue, next page": later,
            "filtered queue (non-members, overdue)": "/console?tab=decide&member=no&overdue=1",
            "awaiting the code": "/console?tab=code",
            "search by e-mail": f"/console?q={some.email}",
            "search by id": f"/console?q={some.id}",
            "a request's page": f"/console/requests/{some.id}",
            "reports page (cached at most 60 s)": "/console/reports",
        }
        for _ in range(3):
            started = time.perf_counter()
            with portal.registry() as registry:
                reports_data(registry)
            print(f"reports computed (no cache): {(time.perf_counter() - started) * 1000:.0f} ms")
        print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8}  ({args.runs} runs each)")
        for name, path in pages.items():
            times = timed(client, path, args.runs)
            print(f"{name:40} {statistics.median(times):8.1f} {p95(times):8.1f}")
        started = time.perf_counter()
        exported = client.get("/console/reports.csv")
        lines = exported.text.count("\n") - 1
        print(f"CSV export: {lines:,} rows in {time.perf_counter() - started:.1f} s")

    bulk_accept(portal, args.bulk)
    print(f"load after {load()}")


def bulk_accept(portal: object, wanted: int) -> None:
    with portal.registry() as registry:  # type: ignore[attr-defined]
        session = registry.session
        # The day on which the requests in review, oldest first, pass ``wanted``.
        cutoff = session.scalar(
            select(Request.received_at).where(Request.state == "needs_review")
            .order_by(Request.received_at).offset(wanted - 1).limit(1)
        )  # fmt: skip
        session.rollback()
        until: date = (cutoff or datetime.now(UTC)).date()
        selection = Selection(filter=QueueFilter(tab="decide", state="needs_review",
                                                 received_to=until))  # fmt: skip
        started = time.perf_counter()
        job = bulk.start(session, selection, action="accept", officer="bench", reason=None,
                         now=registry.now(), due_soon_days=7)  # fmt: skip
        frozen = time.perf_counter() - started
        done = bulk.run(session, job.job_id, clock=registry.now)
        took = time.perf_counter() - started
        print(
            f"bulk accept: {done.done:,} decided ({done.skipped} skipped) in {took:.1f} s "
            f"({done.done / took:,.0f}/s; selection frozen in {frozen:.1f} s)"
        )
        mails = session.scalar(select(func.count()).select_from(
            text("mail_queue")).where(text("template = 'accepted'")))  # fmt: skip
        session.rollback()
        print(f"  queued 'accepted' mails: {mails:,}")
        check(registry)


def check(registry: Registry) -> None:
    started = time.perf_counter()
    report = registry.verify_audit()
    print(
        f"audit chain: {report.events:,} events, intact={report.intact} "
        f"(verified in {time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
