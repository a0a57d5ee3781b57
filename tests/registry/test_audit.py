"""The audit trail is a hash chain: changed, removed or reordered events are found, by place."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from notrain.errors import AuditChainBroken
from notrain.registry import audit
from notrain.registry.models import AuditEvent
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
