"""The transparency log over the registry: receipts, growth, rewrites, deferred sealing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from notrain.errors import ProofInvalid
from notrain.proofs import log
from notrain.proofs.heads import TreeHead, sign_head
from notrain.proofs.keys import LogKey
from notrain.proofs.merkle import ProofError
from notrain.proofs.receipts import build_receipt, verify_receipt
from notrain.registry.db import database_url as parse_url
from notrain.registry.db import session_factory
from notrain.registry.models import AuditEvent, AuditStaging, LogHead, LogNode
from notrain.registry.service import Registry
from tests.proofs.fixtures import run_standalone
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester


def _receipt(registry: Registry, key: LogKey, request_id: str) -> dict[str, Any]:
    document = build_receipt(registry.session, key, request_id, registry.now())
    registry.session.rollback()
    return document


def _mutations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One changed byte (or value) in every part of a receipt that it vouches for."""

    def flip(value: str, at: int) -> str:
        char = value[at]
        swapped = "0" if char != "0" else "1"
        if not char.isalnum():
            swapped = "+" if char != "+" else "/"
        return value[:at] + swapped + value[at + 1 :]

    out: list[tuple[str, dict[str, Any]]] = []

    def change(name: str, edit: Any) -> None:
        changed = copy.deepcopy(document)
        edit(changed)
        out.append((name, changed))

    change("head root", lambda d: d["tree_head"].update(root=flip(d["tree_head"]["root"], 5)))
    change("head size", lambda d: d["tree_head"].update(size=d["tree_head"]["size"] + 1))
    change("head time", lambda d: d["tree_head"].update(time=flip(d["tree_head"]["time"], 3)))
    change(
        "signature",
        lambda d: d["tree_head"].update(signature=flip(d["tree_head"]["signature"], 10)),
    )
    change("request id", lambda d: d.update(request_id=flip(d["request_id"], 8)))
    change("kind", lambda d: d.update(kind="consent"))
    change("state", lambda d: d.update(state="rejected"))
    for i, step in enumerate(document["steps"]):
        leaf = step["leaf"]
        at = leaf.index(step["time"][:4]) + 3  # a digit of the event's year
        change(
            f"step {i} leaf",
            lambda d, i=i, at=at, leaf=leaf: d["steps"][i].update(leaf=flip(leaf, at)),
        )
        change(
            f"step {i} index",
            lambda d, i=i, step=step: d["steps"][i].update(leaf_index=step["leaf_index"] + 1),
        )
        change(f"step {i} state", lambda d, i=i: d["steps"][i].update(state="rejected"))
        change(
            f"step {i} time",
            lambda d, i=i, step=step: d["steps"][i].update(time=flip(step["time"], 18)),
        )
        for j, node in enumerate(step["inclusion_proof"]):
            change(
                f"step {i} proof {j}",
                lambda d, i=i, j=j, node=node: d["steps"][i]["inclusion_proof"].__setitem__(
                    j, flip(node, 0)
                ),
            )
    return out


def test_receipts_verify_and_a_changed_byte_fails(
    person: Requester,
    registry: Registry,
    log_key: LogKey,
    clock: FakeClock,
    standalone: ModuleType,
    tmp_path: Path,
) -> None:
    person.request(BOB, country="FR")
    clock.advance(minutes=1)
    request_id = person.request(ALICE)
    person.request(STRANGER, names=["Dana Stranger"])
    document = _receipt(registry, log_key, request_id)
    assert document["kind"] == "objection"
    assert [s["state"] for s in document["steps"]] == ["submitted", "verified", "accepted"]
    assert document["tree_head"]["size"] >= document["steps"][-1]["leaf_index"] + 1
    assert request_id in verify_receipt(document, log_key.public).summary
    assert "holds" in standalone.check_receipt(document, log_key.public)
    code, output = run_standalone(document, tmp_path, log_key.public)
    assert code == 0, output

    mutations = _mutations(document)
    assert len(mutations) > 20
    for name, changed in mutations:
        with pytest.raises(ProofInvalid):
            verify_receipt(changed, log_key.public)
        with pytest.raises((standalone.Invalid, KeyError, ValueError, TypeError)):
            standalone.check_receipt(changed, log_key.public)
        del name
    code, output = run_standalone(mutations[0][1], tmp_path, log_key.public)
    assert code == 1
    assert "DOES NOT HOLD" in output

    other = LogKey.__new__(LogKey)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    object.__setattr__(other, "private", Ed25519PrivateKey.generate())
    with pytest.raises(ProofInvalid, match="signature"):
        verify_receipt(document, other.public)
    assert run_standalone(document, tmp_path, other.public)[0] == 1


def test_the_log_only_grows_and_a_rewritten_log_fails(
    person: Requester, registry: Registry, log_key: LogKey, clock: FakeClock, backend: str
) -> None:
    session = registry.session
    person.request(ALICE)
    first = log.seal(session, log_key, clock()).head
    assert first is not None
    clock.advance(minutes=5)
    person.request(BOB, country="FR")
    second = log.seal(session, log_key, clock()).head
    assert second is not None
    assert second.size > first.size
    assert log.seal(session, log_key, clock()).head is None  # nothing new: no new head
    assert log.verify_growth(session, first, log_key.public) == second
    report = log.verify_tree(session, log_key.public)
    assert report.problems == []
    assert report.sealed == report.leaves == second.size
    session.rollback()

    # The operator rewrites history: changes an event sealed under the first head, and
    # rebuilds the whole tree and every head with the log's own key.
    _attack(session, backend, "UPDATE audit_events SET actor = 'officer:mallory' WHERE seq = 2")
    report = log.verify_tree(session, log_key.public)
    assert any("node 0/1" in p for p in report.problems), report.problems
    session.rollback()
    session.execute(text("DELETE FROM log_nodes"))
    session.execute(text("DELETE FROM log_heads"))
    session.commit()
    rewritten = log.seal(session, log_key, clock()).head
    assert rewritten is not None
    assert rewritten.size == second.size
    assert log.verify_tree(session, log_key.public).problems == []  # consistent in itself
    with pytest.raises(ProofError, match=r"rewritten|earlier root"):
        log.verify_growth(session, first, log_key.public)  # but not with the saved head
    session.rollback()


def test_a_saved_head_from_another_log_or_a_forged_head_fails(
    person: Requester, registry: Registry, log_key: LogKey, clock: FakeClock
) -> None:
    person.request(ALICE)
    head = log.seal(registry.session, log_key, clock()).head
    assert head is not None
    forged = TreeHead(head.size, "00" * 32, head.time, head.signature, head.key_id)
    with pytest.raises(ProofError, match="signature"):
        log.verify_growth(registry.session, forged, log_key.public)
    bigger = sign_head(log_key, head.size + 10, bytes(32), clock())
    with pytest.raises(ProofError, match="shrank"):
        log.verify_growth(registry.session, bigger, log_key.public)


def _attack(session: Session, backend: str, *statements: str) -> None:
    connection = session.connection()
    if backend == "postgresql":
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    for statement in statements:
        connection.execute(text(statement))
    session.commit()


def test_deferred_commits_do_not_wait_for_the_head(
    database_url: str, backend: str, config: Any, clock: FakeClock, log_key: LogKey, outbox: Any
) -> None:
    """A portal session (chaining deferred) commits while another transaction holds the
    chain's head; the sealer chains and seals its events afterwards."""
    if backend != "postgresql":
        pytest.skip("SQLite takes one write lock per step; there is no head to wait for")
    from notrain.proofs.sealer import defer_chaining

    factory = session_factory(database_url)
    defer_chaining(factory.kw["bind"])
    holder = create_engine(parse_url(database_url))
    try:
        with holder.connect() as other:
            other.execute(text("SELECT * FROM audit_head WHERE id = 1 FOR UPDATE"))
            with factory() as session:
                session.execute(text("SET lock_timeout = '5s'"))
                session.commit()
                person = Requester(Registry(session, config, None, clock), outbox)
                request_id = person.submit(ALICE)  # commits while the head is held
                staged = session.scalar(select(func.count()).select_from(AuditStaging))
                assert staged
                assert staged > 0
                chained = session.execute(
                    text("SELECT count(*) FROM audit_events WHERE request_id = :r"),
                    {"r": request_id},
                ).scalar_one()
                assert chained == 0
                session.rollback()
            other.rollback()
        with factory() as session:
            result = log.seal(session, log_key, clock())
            assert result.chained == staged
            assert result.head is not None
            assert session.scalar(select(func.count()).select_from(AuditStaging)) == 0
            document = build_receipt(session, log_key, request_id, clock())
        verify_receipt(document, log_key.public)
        assert [s["state"] for s in document["steps"]] == ["submitted"]
    finally:
        holder.dispose()
        factory.kw["bind"].dispose()


def test_an_existing_registry_is_migrated_and_its_old_chain_stays_verifiable(
    database_url: str, config: Any, clock: FakeClock, log_key: LogKey, outbox: Any
) -> None:
    from alembic import command

    from notrain.registry import audit
    from notrain.registry.db import _alembic_config, create_registry_engine

    engine = create_registry_engine(database_url)
    alembic = _alembic_config()
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, "0009")  # the last revision before the log
    old = Session(engine)
    person = Requester(Registry(old, config, None, clock), outbox)
    ids = [person.submit(email) for email in (ALICE, BOB, STRANGER)]
    old.close()
    engine.dispose()

    factory = session_factory(database_url)  # migrates to the newest revision
    with factory() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
        assert before
        assert before >= 3
        assert session.scalar(select(func.count()).select_from(LogNode)) == 0
        assert audit.verify(session).intact
        head = log.seal(session, log_key, clock()).head
        assert head is not None
        assert head.size == before
        assert audit.verify(session).intact
        assert log.verify_tree(session, log_key.public).problems == []
        assert session.scalar(select(func.count()).select_from(LogHead)) == 1
        for request_id in ids:
            verify_receipt(build_receipt(session, log_key, request_id, clock()), log_key.public)
    factory.kw["bind"].dispose()


def test_cli_verifies_a_receipt_and_the_log_since_a_saved_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Any, clock: FakeClock, outbox: Any
) -> None:
    from typer.testing import CliRunner

    from notrain.cli import app

    monkeypatch.setenv("NOTRAIN_TRANSPARENCY_KEY_FILE", str(tmp_path / "log.key"))
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    factory = session_factory(db)
    with factory() as session:
        request_id = Requester(Registry(session, config, None, clock), outbox).request(ALICE)
    runner = CliRunner()
    assert runner.invoke(app, ["proof", "seal", "--db", db]).exit_code == 0
    head = runner.invoke(app, ["proof", "receipt", request_id, "--db", db])
    assert head.exit_code == 0, head.output
    receipt = json.loads(head.output)
    saved = tmp_path / "head.json"
    saved.write_text(json.dumps(receipt["tree_head"]))
    with factory() as session:
        Requester(Registry(session, config, None, clock), outbox).request(BOB, country="FR")
    runner.invoke(app, ["proof", "seal", "--db", db])
    result = runner.invoke(app, ["audit", "verify", "--db", db, "--since-head", str(saved)])
    assert result.exit_code == 0, result.output
    assert "only grew" in result.output

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    key = json.loads(runner.invoke(app, ["proof", "key"]).output)["public_key"]
    result = runner.invoke(app, ["proof", "verify", str(path), "--key", key])
    assert result.exit_code == 0, result.output
    receipt["steps"][0]["leaf"] = receipt["steps"][0]["leaf"].replace("objection", "erasure")
    path.write_text(json.dumps(receipt))
    result = runner.invoke(app, ["proof", "verify", str(path), "--key", key])
    assert _exit_code(result) == 22  # ProofInvalid

    saved.write_text(json.dumps({**receipt["tree_head"], "root": "ab" * 32}))
    result = runner.invoke(app, ["audit", "verify", "--db", db, "--since-head", str(saved)])
    assert _exit_code(result) == 16  # AuditChainBroken
    factory.kw["bind"].dispose()


def _exit_code(result: Any) -> int:
    """The exit status ``notrain`` gives (its main maps notrain's errors to codes)."""
    from notrain.errors import NotrainError

    if isinstance(result.exception, NotrainError):
        return result.exception.exit_code
    return int(result.exit_code)


def test_the_portal_sealer_seals_what_was_committed(
    database_url: str, config: Any, clock: FakeClock, log_key: LogKey, outbox: Any
) -> None:
    from notrain.proofs.sealer import Sealer, defer_chaining

    factory = session_factory(database_url)
    defer_chaining(factory.kw["bind"])
    sealer = Sealer(factory, log_key, clock, interval=0.05)
    sealer.start()
    try:
        with factory() as session:
            request_id = Requester(Registry(session, config, None, clock), outbox).request(ALICE)
        sealer.wake()
    finally:
        sealer.stop()  # seals once more before it returns
    with factory() as session:
        head = log.latest_head(session)
        last = session.scalar(select(func.max(AuditEvent.seq)))
        assert head is not None
        assert head.size == last
        assert session.scalar(select(func.count()).select_from(AuditStaging)) == 0
        verify_receipt(build_receipt(session, log_key, request_id, clock()), log_key.public)
    factory.kw["bind"].dispose()
