"""The audit trail is a hash chain: changed, removed or reordered events are found, by place."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from notrain.errors import AuditChainBroken
from notrain.registry import audit
from notrain.registry.db import session_factory
from notrain.registry.models import AuditEvent, AuditStaging
from notrain.registry.service import Registry
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester


@pytest.fixture
def trail(person: Requester, clock: FakeClock) -> int:
    """A few requests' worth of events; returns how many."""
    person.request(ALICE)
    clock.advance(minutes=1)
    person.request(BOB, country="FR")
    clock.advance(minutes=1)
    person.request(STRANGER, names=["Dana Stranger"])
    report = person.registry.verify_audit()
    assert report.intact
    assert report.events >= 12
    return report.events


def _attack(session: Session, backend: str, *statements: str) -> None:
    """Tamper as someone with the database owner's rights would: disable the guard first."""
    connection = session.connection()
    if backend == "postgresql":
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    for statement in statements:
        connection.execute(text(statement))
    session.commit()


def _problems(registry: Registry) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in registry.verify_audit().problems]


def test_intact_trail_verifies(registry: Registry, trail: int) -> None:
    report = registry.verify_audit()
    assert report.intact
    assert report.events == trail
    report.raise_if_broken()
    assert report.head_seq == trail


def test_database_refuses_update_and_delete_of_events(
    registry: Registry, session: Session, trail: int
) -> None:
    del trail
    for statement in (
        "UPDATE audit_events SET actor = 'someone' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert registry.verify_audit().intact


def test_changed_event_is_found(
    registry: Registry, session: Session, backend: str, trail: int
) -> None:
    del trail
    _attack(
        session,
        backend,
        'UPDATE audit_events SET detail = \'{"to_state":"rejected"}\' WHERE seq = 5',
    )
    assert _problems(registry) == [(5, "changed")]
    with pytest.raises(AuditChainBroken, match="event 5") as caught:
        registry.verify_audit().raise_if_broken()
    assert caught.value.seq == 5
    assert caught.value.exit_code == 16


def test_changed_event_with_recomputed_hash_breaks_the_next_link(
    registry: Registry, session: Session, backend: str, trail: int
) -> None:
    del trail
    event = session.get(AuditEvent, 4)
    assert event is not None
    forged = audit.event_hash(4, event.at, "officer:mallory", event.action, event.request_id,
                              event.detail, event.prev_hash)  # fmt: skip
    session.rollback()
    forge = f"UPDATE audit_events SET actor = 'officer:mallory', hash = '{forged}' WHERE seq = 4"
    _attack(session, backend, forge)
    assert _problems(registry) == [(5, "broken_link")]


def test_removed_event_is_found(
    registry: Registry, session: Session, backend: str, trail: int
) -> None:
    del trail
    _attack(session, backend, "DELETE FROM audit_events WHERE seq = 7")
    assert _problems(registry) == [(7, "removed")]
    assert "event 7 removed" in registry.verify_audit().problems[0].message


def test_events_cut_from_the_end_are_found(
    registry: Registry, session: Session, backend: str, trail: int
) -> None:
    _attack(session, backend, f"DELETE FROM audit_events WHERE seq >= {trail - 1}")
    assert _problems(registry) == [(trail - 1, "truncated")]


def test_reordered_events_are_found(
    registry: Registry, session: Session, backend: str, trail: int
) -> None:
    del trail
    # Swap the places of events 3 and 4, each keeping its own content and hash.
    _attack(
        session,
        backend,
        "UPDATE audit_events SET seq = -3 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = -3",
    )
    problems = registry.verify_audit().problems
    assert [(p.seq, p.kind) for p in problems] == [(3, "reordered"), (4, "reordered")]
    assert "recorded as event 4" in problems[0].message


def test_cli_says_where_the_chain_breaks(
    database_url: str, registry: Registry, session: Session, backend: str, trail: int
) -> None:
    del trail
    command = [sys.executable, "-m", "notrain.cli", "audit", "verify", "--db", database_url]
    ok = subprocess.run(command, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    head = registry.verify_audit().head_hash
    _attack(session, backend, "DELETE FROM audit_events WHERE seq = 6")
    broken = subprocess.run(command, capture_output=True, text=True, check=False)
    assert broken.returncode == 16
    assert "event 6" in broken.stderr
    assert "removed" in broken.stderr
    assert "Traceback" not in broken.stderr
    kept = subprocess.run(
        [*command, "--expect-head", head], capture_output=True, text=True, check=False
    )
    assert kept.returncode == 16


def _after(session: Session, seq: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
    )


def test_events_join_the_chain_at_commit_in_order(
    registry: Registry, session: Session, clock: FakeClock
) -> None:
    before = registry.verify_audit().head_seq
    audit.record(session, at=clock(), actor="test", action="one")
    audit.record(session, at=clock(), actor="test", action="two")
    assert _after(session, before) == []  # nothing before the commit
    session.commit()
    first, second = _after(session, before)
    assert (first.action, second.action) == ("one", "two")
    assert (first.seq, second.seq) == (before + 1, before + 2)
    assert second.prev_hash == first.hash
    report = registry.verify_audit()
    assert report.intact
    assert (report.head_seq, report.head_hash) == (second.seq, second.hash)
    assert audit.head(session) == (second.seq, second.hash)


# Everything JSON escapes, and text beyond ASCII: the database's chaining (PostgreSQL) must
# hash exactly as Python does, or verification would call honest events changed.
AWKWARD = [
    'quote " backslash \\ slash /',
    "new\nline\ttab\rreturn\bback\fform",
    "control \x01 \x1f del \x7f",
    "é ß 中文 😀 \u2028 \u2029 \ufeff",
    "</script><b>&amp;</b>",
    "",
]


def test_every_text_hashes_the_same_in_the_database_and_in_python(
    registry: Registry, session: Session, clock: FakeClock
) -> None:
    before = registry.verify_audit().head_seq
    for n, text_ in enumerate(AWKWARD):
        audit.record(
            session, at=clock() + timedelta(microseconds=n * 7), actor=f"actor {text_}"[:128],
            action=f"a{n}", request_id=text_[:32] or None, note=text_, nested={"k": [text_]},
        )  # fmt: skip
    session.commit()
    events = _after(session, before)
    assert len(events) == len(AWKWARD)
    for event in events:
        expected = audit.event_hash(event.seq, event.at, event.actor, event.action,
                                    event.request_id, event.detail, event.prev_hash)  # fmt: skip
        assert event.hash == expected
    assert audit.detail_of(events[0])["note"] == AWKWARD[0]
    assert registry.verify_audit().intact


def test_a_rolled_back_transaction_or_savepoint_leaves_no_event(
    registry: Registry, session: Session, clock: FakeClock
) -> None:
    before = registry.verify_audit().head_seq
    audit.record(session, at=clock(), actor="test", action="dropped")
    session.rollback()
    audit.record(session, at=clock(), actor="test", action="kept")
    with session.begin_nested() as savepoint:
        audit.record(session, at=clock(), actor="test", action="undone")
        savepoint.rollback()
    with session.begin_nested():
        audit.record(session, at=clock(), actor="test", action="released")
    session.commit()
    kept, released = _after(session, before)
    assert (kept.action, released.action) == ("kept", "released")
    assert released.prev_hash == kept.hash
    assert registry.verify_audit().intact
    assert session.scalar(select(func.count()).select_from(AuditStaging)) == 0


def test_parallel_writers_leave_one_strict_chain(
    database_url: str, registry: Registry, clock: FakeClock
) -> None:
    """Steps committing at the same time from several connections still form one line."""
    factory = session_factory(database_url)
    before = registry.verify_audit().head_seq

    def write(n: int) -> None:
        with factory() as mine:
            for i in range(10):
                audit.record(mine, at=clock(), actor=f"writer:{n}", action="a", i=i)
                audit.record(mine, at=clock(), actor=f"writer:{n}", action="b", i=i)
                mine.commit()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    factory.kw["bind"].dispose()
    report = registry.verify_audit()
    assert report.intact
    assert report.head_seq == before + 80
    # Each transaction's two events are next to each other: the head moves once per commit.
    session = registry.session
    pairs = session.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.seq > before)
        .order_by(AuditEvent.seq)
    ).all()
    for a, b in zip(pairs[::2], pairs[1::2], strict=True):
        assert (a.action, b.action) == ("a", "b")
        assert (a.actor, a.detail) == (b.actor, b.detail)
