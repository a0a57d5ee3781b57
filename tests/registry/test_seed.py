"""``notrain registry seed``: a realistic registry, through the registry's rules and trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from notrain.registry.config import RegistryConfig
from notrain.registry.db import session_factory
from notrain.registry.deadlines import due_at
from notrain.registry.models import AuditEvent, Request
from notrain.registry.seed import seed
from notrain.registry.service import Registry
from notrain.registry.states import TRANSITIONS, RequestState
from tests.registry.fixtures import FakeClock


def test_seeded_requests_follow_the_rules_and_the_trail_verifies(
    registry: Registry, config: RegistryConfig, clock: FakeClock, tmp_path: Path
) -> None:
    result = seed(registry.session, config, count=600, seed=3, now=clock.now, batch_size=250)
    assert result.requests == 600
    assert set(result.states) >= {"submitted", "needs_review", "accepted", "applied", "rejected"}
    rows = list(registry.session.scalars(select(Request)))
    events = list(registry.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    registry.session.rollback()
    assert len(rows) == 600
    assert len(events) == result.events
    by_request: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_request.setdefault(event.request_id or "", []).append(event)
    overdue = 0
    for r in rows:
        assert r.received_at <= clock.now
        assert clock.now - r.received_at <= timedelta(days=366)
        assert r.due_at == due_at(r.received_at, r.extended_months)
        trail = by_request[r.id]
        assert trail[0].action == "submitted"
        state = RequestState.SUBMITTED
        for e in trail:
            if e.action == "transition":
                to = RequestState(json.loads(e.detail)["to_state"])
                assert to in TRANSITIONS[state]  # every move is one the state machine allows
                state = to
        assert state.value == r.state
        assert (r.member is None) == (r.state == "submitted")
        overdue += r.state in ("needs_review", "accepted") and r.due_at < clock.now
    assert overdue > 0  # some are late, as in real life
    assert registry.verify_audit().intact
    # A seeded registry exports like any other: the accepted ones are applied.
    exported = registry.export(tmp_path / "snapshot.parquet")
    assert exported.applied
    assert exported.rows > 0
    assert registry.verify_audit().intact


def test_the_same_seed_makes_the_same_registry(tmp_path: Path, config: RegistryConfig,
                                               clock: FakeClock) -> None:  # fmt: skip
    made = []
    for name in ("a", "b"):
        factory = session_factory(f"sqlite:///{tmp_path / name}.db")
        with factory() as session:
            seed(session, config, count=50, seed=11, now=clock.now)
            made.append([(r.id, r.state, r.due_at) for r in
                         session.scalars(select(Request).order_by(Request.id))])  # fmt: skip
        factory.kw["bind"].dispose()
    assert made[0] == made[1]


def test_seed_command(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "NOTRAIN_DATABASE_URL": database_url,
           "NOTRAIN_SECRET_KEY": "seed-test-secret-key-0123456789"}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "notrain.cli", "registry", "seed",
                           "--requests", "300", "--batch", "100"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "seeded 300 requests" in " ".join(proc.stdout.split())
    verify = subprocess.run([sys.executable, "-m", "notrain.cli", "audit", "verify"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, check=False)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
