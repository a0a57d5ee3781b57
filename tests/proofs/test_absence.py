"""Proofs of absence from real datasets: given to objectors, never to a present person,
recomputable by an auditor, and holding no other identity in a guessable form."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

from notrain.corpus.build import BuildRequest, build_dataset
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.errors import ProofInvalid
from notrain.lineage.catalogue import register_dataset
from notrain.mail.transport import OutboxTransport
from notrain.policy.loader import load_default_policy
from notrain.proofs.absence import (
    LEAVES,
    audit_commitment,
    make_commitment,
    people_present,
    person_secret,
    person_value,
    verify_absence,
)
from notrain.proofs.keys import LogKey
from notrain.proofs.merkle import leaf_hash
from notrain.proofs.requester import absence_document
from notrain.registry.accounts import AccountIndex
from notrain.registry.config import RegistryConfig
from notrain.registry.db import session_factory
from notrain.registry.service import Registry
from notrain.synth import synthesize_platform
from tests.proofs.fixtures import run_standalone
from tests.registry.fixtures import FakeClock, Requester

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform")
    synthesize_platform(root, 800, seed=5, batch_rows=5000)
    return root


def _build(platform: Path, snapshot: Path, out: Path) -> Path:
    build_dataset(
        BuildRequest(
            content=str(platform / "content.parquet"),
            accounts=str(platform / "accounts.parquet"),
            registry=str(snapshot),
            out=out,
            policy=load_default_policy(),
            as_of=START,
            chunk_rows=5000,
        )
    )
    return out


def _two_busiest(dataset: Path) -> tuple[int, int]:
    """Two members who wrote kept rows (so they are present until a recall)."""
    authors = Counter(pq.read_table(dataset / "lineage.parquet")["author_id"].to_pylist())
    (first, _), (second, _) = authors.most_common(2)
    return first, second


def _unkeyed_hashes(user_id: int, dataset_id: str) -> set[str]:
    """Every hash of a user id that anyone could compute without the commitment key."""
    forms = [str(user_id).encode(), user_id.to_bytes(8, "big"), user_id.to_bytes(8, "little"),
             f"{dataset_id}\n{user_id}".encode(), f"person:{user_id}".encode()]  # fmt: skip
    found: set[str] = set()
    for form in forms:
        for digest in (hashlib.sha256(form).digest(), hashlib.sha256(bytes(32) + form).digest()):
            found |= {digest.hex(), leaf_hash(digest).hex(), leaf_hash(form).hex()}
    found.add(person_value(b"", dataset_id, user_id).hex())
    return found


def test_objectors_get_proofs_a_present_person_none_and_the_auditor_agrees(
    platform: Path,
    database_url: str,
    tmp_path: Path,
    config: RegistryConfig,
    log_key: LogKey,
    standalone: ModuleType,
) -> None:
    factory = session_factory(database_url)
    clock = FakeClock(START)
    accounts = AccountIndex.from_parquet(platform / "accounts.parquet")
    emails = {
        r["user_id"]: r["email"] for r in pq.read_table(platform / "accounts.parquet").to_pylist()
    }
    outbox = OutboxTransport(tmp_path / "outbox")
    with factory() as session:
        Registry(session, config, accounts, clock).export(tmp_path / "empty.parquet")
    v1 = _build(platform, tmp_path / "empty.parquet", tmp_path / "v1")
    objector, present = _two_busiest(v1)
    assert emails[objector]
    assert emails[present]
    with factory.begin() as session:
        register_dataset(session, v1)
    assert make_commitment(v1, log_key, clock()) is not None

    clock.advance(days=10)
    with factory() as session:
        registry = Registry(session, config, accounts, clock)
        person = Requester(registry, outbox)
        objection = person.request(emails[objector], "objection", country="FR")
        registry.export(tmp_path / "later.parquet")
        late = person.request(emails[present], "erasure", country="FR")
        registry.decide(late, accept=True, officer="olga")
    clock.advance(days=1)
    recall_dataset(RecallRequest(v1, str(tmp_path / "later.parquet"), tmp_path / "v2",
                                 as_of=clock()))  # fmt: skip
    v2 = tmp_path / "v2"
    with factory.begin() as session:
        register_dataset(session, v2)
    commitment = make_commitment(v2, log_key, clock())
    assert commitment is not None
    assert objector not in people_present(v2)
    assert present in people_present(v2)
    assert commitment["people"] == len(people_present(v2))

    with factory() as session:
        document = absence_document(session, log_key, objection)
        waiting = absence_document(session, log_key, late)
    # Only the dataset made after the decision is answered for; the person is absent from it.
    [subject] = document["subjects"]
    assert subject["user_id"] == objector
    [answer] = subject["datasets"]
    assert answer["dataset_id"] == commitment["dataset_id"]
    assert answer["status"] == "absent"
    assert "holds for 1" in verify_absence(document, log_key.public)
    assert "holds for 1" in standalone.check_absence(document, log_key.public)
    code, output = run_standalone(document, tmp_path, log_key.public)
    assert code == 0, output

    # A present person gets no proof: the dataset waits for a recall.
    [present_subject] = waiting["subjects"]
    assert [d["status"] for d in present_subject["datasets"]] == ["waiting_for_recall"]
    assert all(d["proof"] is None for d in present_subject["datasets"])
    # Nor can anyone turn the objector's proof into one for them.
    stolen = json.loads(json.dumps(document))
    stolen["subjects"][0].update(
        user_id=present, secret=person_secret(log_key.commitment_key, present).hex()
    )
    with pytest.raises(ProofInvalid):
        verify_absence(stolen, log_key.public)
    with pytest.raises(standalone.Invalid):
        standalone.check_absence(stolen, log_key.public)

    # Changed neighbours, a changed commitment or another key fail.
    for edit in (("left", "value"), ("right", "value"), ("commitment", "root")):
        changed = json.loads(json.dumps(document))
        part = changed["subjects"][0]["datasets"][0]["proof"][edit[0]]
        if part is None:
            continue
        part[edit[1]] = ("0" if part[edit[1]][0] != "0" else "1") + part[edit[1]][1:]
        with pytest.raises(ProofInvalid):
            verify_absence(changed, log_key.public)
        assert run_standalone(changed, tmp_path, log_key.public)[0] == 1

    # The proof holds no other identity: no other user id, no unkeyed hash of anyone.
    text = json.dumps(document)
    numbers = {int(n) for n in re.findall(r'"user_id": (\d+)', text)}
    assert numbers == {objector}
    hexes = set(re.findall(r"[0-9a-f]{64}", text))
    for user_id in emails:
        assert not hexes & _unkeyed_hashes(user_id, answer["dataset_id"]), user_id
    proof = answer["proof"]
    neighbours = {p["value"] for p in (proof["left"], proof["right"]) if p}
    keyed = {
        person_value(person_secret(log_key.commitment_key, u), answer["dataset_id"], u).hex()
        for u in people_present(v2)
    }
    assert neighbours
    assert neighbours <= keyed

    # The auditor, holding the dataset and the commitment key, recomputes the commitment.
    assert audit_commitment(v2, log_key.commitment_key, log_key.public).problems == []
    wrong_key = audit_commitment(v2, bytes(32), log_key.public)
    assert wrong_key.problems
    leaves = (v2 / LEAVES).read_bytes()
    (v2 / LEAVES).write_bytes(leaves[32:64] + leaves[:32] + leaves[64:])
    assert any(LEAVES in p for p in audit_commitment(v2, log_key.commitment_key,
                                                     log_key.public).problems)  # fmt: skip
    factory.kw["bind"].dispose()


def test_dataset_verify_audit_cli(
    platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: RegistryConfig
) -> None:
    """``notrain dataset register`` commits; ``dataset verify --audit`` recomputes it."""
    from typer.testing import CliRunner

    from notrain.cli import app

    monkeypatch.setenv("NOTRAIN_TRANSPARENCY_KEY_FILE", str(tmp_path / "log.key"))
    db = f"sqlite:///{tmp_path / 'cat.db'}"
    with session_factory(db)() as session:
        Registry(session, config, None, FakeClock(START)).export(tmp_path / "empty.parquet")
    dataset = _build(platform, tmp_path / "empty.parquet", tmp_path / "v1")
    runner = CliRunner()
    result = runner.invoke(app, ["dataset", "register", str(dataset), "--db", db])
    assert result.exit_code == 0, result.output
    commitment: dict[str, Any] = json.loads((dataset / "commitment.json").read_text())
    key = json.loads(runner.invoke(app, ["proof", "key"]).output)
    auditor = runner.invoke(app, ["proof", "key", "--commitment-key"]).output.strip()
    audit = ["dataset", "verify", str(dataset), "--audit", "--key", key["public_key"]]
    result = runner.invoke(app, [*audit, "--commitment-key", auditor])
    assert result.exit_code == 0, result.output
    assert f"{commitment['people']} people" in result.output
    result = runner.invoke(app, [*audit, "--commitment-key", "00" * 32])
    assert result.exit_code == 8, result.output
    result = runner.invoke(app, ["audit", "verify", "--db", db])  # the commitment is logged
    assert result.exit_code == 0, result.output
