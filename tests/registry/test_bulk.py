"""Bulk decisions: each request its own audited decision and mail, in batches, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from notrain.errors import RequestInvalid
from notrain.mail.transport import OutboxTransport
from notrain.registry import bulk
from notrain.registry.bulk import Selection
from notrain.registry.db import database_url as parse_url
from notrain.registry.db import session_factory
from notrain.registry.models import AuditEvent, BulkItem, BulkJob, QueuedMail, Request
from notrain.registry.queue import QueueFilter
from notrain.registry.service import Registry
from notrain.registry.views import IDENTITY_KINDS, AuditEntry, beyond_address
from tests.registry.fixtures import FakeClock, Requester

DAYS = 7


def _strangers(person: Requester, n: int, country: str = "AT", who: str = "stranger") -> list[str]:
    return [person.request(f"{who}{i}.{country.lower()}@example.net", country=country,
                           names=[f"{who} {i}"]) for i in range(n)]  # fmt: skip


def _officer_transitions(registry: Registry, request_id: str) -> list[AuditEntry]:
    view = registry.get(request_id)
    return [e for e in view.events if e.action == "transition" and e.actor == "officer:olga"]


def test_accept_everything_a_filter_matches_each_audited_and_mailed(
    registry: Registry, person: Requester, clock: FakeClock
) -> None:
    austrians = _strangers(person, 7, "AT")
    others = _strangers(person, 2, "PL")
    selection = Selection(filter=QueueFilter(country="AT"))
    assert bulk.preview(registry.session, selection, now=clock.now, due_soon_days=DAYS) == 7
    job = bulk.start(registry.session, selection, action="accept", officer="olga", reason=None,
                     now=clock.now, due_soon_days=DAYS)  # fmt: skip
    late = _strangers(person, 1, "AT", "latecomer")  # arrives after the confirmation: not swept in
    seen: list[int] = []
    done = bulk.run(registry.session, job.job_id, clock=clock, size=3,
                    on_batch=lambda p: seen.append(p.done))  # fmt: skip
    assert (done.total, done.done, done.skipped, done.finished) == (7, 7, 0, True)
    assert seen[:3] == [3, 6, 7]  # three batches
    for request_id in austrians:
        view = registry.get(request_id)
        assert view.state == "accepted"
        [event] = _officer_transitions(registry, request_id)
        assert event.detail["bulk"] == job.job_id
    for request_id in [*others, *late]:
        assert registry.get(request_id).state == "needs_review"
    mails = registry.session.scalars(
        select(QueuedMail.request_id).where(QueuedMail.template == "accepted")
    ).all()
    assert sorted(m or "" for m in mails) == sorted(austrians)  # one each, none for the others
    actions = [e.action for e in registry.session.scalars(select(AuditEvent))]
    assert actions.count("bulk_confirmed") == 1
    assert actions.count("bulk_finished") == 1
    assert registry.verify_audit().intact


def test_reject_with_one_reason_and_skip_what_was_decided_meanwhile(
    registry: Registry, person: Requester, clock: FakeClock, outbox: OutboxTransport
) -> None:
    ids = _strangers(person, 4)
    with pytest.raises(RequestInvalid):
        bulk.start(registry.session, Selection(ids=tuple(ids)), action="reject", officer="olga",
                   reason="  ", now=clock.now, due_soon_days=DAYS)  # fmt: skip
    job = bulk.start(registry.session, Selection(ids=tuple(ids[:3])), action="reject",
                     officer="olga", reason="Not enough to find you.", now=clock.now,
                     due_soon_days=DAYS)  # fmt: skip
    registry.decide(ids[0], accept=True, officer="someone")  # by other means, meanwhile
    done = bulk.run(registry.session, job.job_id, clock=clock)
    assert (done.done, done.skipped) == (2, 1)
    [(skipped, why)] = bulk.skipped_items(registry.session, job.job_id)
    assert skipped == ids[0]
    assert "accepted" in why
    assert [registry.get(i).state for i in ids] == ["accepted", "rejected", "rejected",
                                                    "needs_review"]  # fmt: skip
    registry.deliver_mail(outbox)
    bodies = [p.read_text() for p in outbox.folder.glob("*.eml")]
    assert sum("Not enough to find you." in b for b in bodies) == 2


def test_extend_many_deadlines(registry: Registry, person: Requester, clock: FakeClock) -> None:
    ids = _strangers(person, 3)
    before = {i: registry.get(i).due_at for i in ids}
    job = bulk.start(registry.session, Selection(filter=QueueFilter()), action="extend",
                     officer="olga", reason="A flood of requests", months=1, now=clock.now,
                     due_soon_days=DAYS)  # fmt: skip
    done = bulk.run(registry.session, job.job_id, clock=clock)
    assert done.done == 3
    for i in ids:
        view = registry.get(i)
        assert view.extended_months == 1
        assert view.due_at > before[i]
        assert [e.action for e in view.events].count("extended") == 1
    again = bulk.start(registry.session, Selection(filter=QueueFilter()), action="extend",
                       officer="olga", reason="More", months=2, now=clock.now,
                       due_soon_days=DAYS)  # fmt: skip
    assert bulk.run(registry.session, again.job_id, clock=clock).skipped == 3  # 3 months: no


def test_a_job_run_twice_decides_each_request_once(
    registry: Registry, person: Requester, clock: FakeClock
) -> None:
    ids = _strangers(person, 5)
    job = bulk.start(registry.session, Selection(filter=QueueFilter()), action="accept",
                     officer="olga", reason=None, now=clock.now, due_soon_days=DAYS)  # fmt: skip
    assert bulk.run_batch(registry.session, job.job_id, now=clock.now, size=2) == 2
    assert bulk.unfinished(registry.session) == [job.job_id]
    bulk.run(registry.session, job.job_id, clock=clock)
    bulk.run(registry.session, job.job_id, clock=clock)  # finished: nothing more
    assert bulk.unfinished(registry.session) == []
    assert all(len(_officer_transitions(registry, i)) == 1 for i in ids)


def test_a_killed_bulk_decision_resumes_where_it_stopped(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "NOTRAIN_DATABASE_URL": database_url,
           "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
           "NOTRAIN_SECRET_KEY": "bulk-test-secret-key-0123456789",
           "NOTRAIN_CODE_REMINDER_HOURS": "0", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    env.pop("NOTRAIN_SMTP_HOST", None)

    def notrain(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "notrain.cli", *args], env=env,
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip

    seeded = notrain("registry", "seed", "--requests", "3000", "--seed", "5")
    out, err = seeded.communicate(timeout=300)
    assert seeded.returncode == 0, out + err
    factory = session_factory(database_url)
    engine = create_engine(parse_url(database_url))
    try:
        with factory() as session:
            in_review = session.scalar(
                select(func.count()).where(Request.state.in_(["needs_review", "verified"]))
            )
            # Access and erasure requests naming more than the proved address need an
            # officer's identity check one by one: a bulk accept skips them.
            person_kinds = session.scalars(
                select(Request).where(
                    Request.state.in_(["needs_review", "verified"]),
                    Request.kind.in_(IDENTITY_KINDS),
                )
            ).all()
            skipped = sum(beyond_address(r) for r in person_kinds)
        assert in_review
        assert in_review > 300
        assert skipped > 0
        run = notrain("requests", "decide", "accept", "--filter", "tab=decide", "--yes",
                      "--batch", "5", "--officer", "olga")  # fmt: skip
        # The run prints a line per batch; it is killed after a few, mid-way.
        assert run.stdout is not None
        batches = 0
        for line in run.stdout:
            batches += "/" in line
            if batches == 4:
                break
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=30)
        with factory() as session:
            job = session.scalars(select(BulkJob)).one()
            assert 0 < job.done < in_review  # stopped half-way
            assert job.finished_at is None
        resumed = notrain("requests", "decide", "accept", "--resume", job.id, "--officer", "olga")
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, out + err
        assert f"{in_review - skipped} decided, {skipped} skipped" in out
        with factory() as session:
            assert session.scalar(select(func.count()).where(BulkItem.outcome.is_(None))) == 0
            events = session.scalars(
                select(AuditEvent.request_id).where(AuditEvent.actor == "officer:olga",
                                                    AuditEvent.action == "transition")
            ).all()  # fmt: skip
            assert len(events) == len(set(events)) == in_review - skipped  # each once, none lost
            details = session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "transition",
                                                AuditEvent.actor == "officer:olga").limit(5)
            ).all()  # fmt: skip
            assert all(json.loads(d)["bulk"] == job.id for d in details)
            mails = session.scalar(select(func.count()).where(QueuedMail.template == "accepted"))
            assert mails == in_review - skipped
        verified = notrain("audit", "verify")
        out, err = verified.communicate(timeout=300)
        assert verified.returncode == 0, out + err
    finally:
        engine.dispose()
        factory.kw["bind"].dispose()
