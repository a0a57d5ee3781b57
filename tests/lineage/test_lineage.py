"""Catalogue, access answers, recall after a late objection, and impact — end to end.

A synthetic platform is built with the registry's own (empty) snapshot; a member then
objects through the real workflow (code read from the outbox), the registry exports a new
snapshot, the dataset is recalled, and impact and access answers are checked against the
lineage written by the builder.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from notrain.corpus.build import BuildRequest, build_dataset
from notrain.corpus.dataset import file_sha256
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.errors import DatasetNotFound
from notrain.lineage.access import access_answer, access_answer_for_request
from notrain.lineage.catalogue import entries, register_dataset, register_model
from notrain.lineage.impact import impact
from notrain.lineage.purge import purge
from notrain.mail.transport import OutboxTransport
from notrain.policy.loader import load_default_policy
from notrain.registry.accounts import AccountIndex
from notrain.registry.config import RegistryConfig
from notrain.registry.db import session_factory
from notrain.registry.service import Registry
from notrain.synth import synthesize_platform
from tests.registry.fixtures import KEY, FakeClock, Requester

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform")
    synthesize_platform(root, 1500, seed=3, batch_rows=5000)
    return root


def lineage_rows(dataset: Path) -> list[dict[str, Any]]:
    kinds = {}
    for shard in dataset.glob("part-*.parquet"):
        for row in pq.read_table(shard, columns=["content_id", "kind"]).to_pylist():
            kinds[row["content_id"]] = row["kind"]
    rows: list[dict[str, Any]] = pq.read_table(dataset / "lineage.parquet").to_pylist()
    for row in rows:
        row["kind"] = kinds[row["content_id"]]
    return rows


def busiest_subject(rows: list[dict[str, Any]]) -> int:
    """A member with authored rows and rows naming them in others' content."""
    authored: Counter[int] = Counter(r["author_id"] for r in rows)
    named: Counter[int] = Counter(i for r in rows for i in [*r["mentions"], *r["tags"]])
    return max(named, key=lambda s: (min(authored[s], named[s]), s))


def build(platform: Path, registry: Path, out: Path, as_of: datetime) -> Path:
    build_dataset(
        BuildRequest(
            content=str(platform / "content.parquet"),
            accounts=str(platform / "accounts.parquet"),
            registry=str(registry),
            out=out,
            policy=load_default_policy(),
            as_of=as_of,
            chunk_rows=5000,
        )
    )
    return out


def test_access_answer_matches_the_lineage(
    platform: Path, database_url: str, tmp_path: Path, config: RegistryConfig
) -> None:
    factory = session_factory(database_url)
    clock = FakeClock(START)
    accounts = AccountIndex.from_parquet(platform / "accounts.parquet")
    with factory() as session:
        Registry(session, config, accounts, clock).export(tmp_path / "empty.parquet")
    dataset = build(platform, tmp_path / "empty.parquet", tmp_path / "v1", START)
    rows = lineage_rows(dataset)
    subject = busiest_subject(rows)
    with factory.begin() as session:
        entry = register_dataset(session, dataset)
        assert register_dataset(session, dataset).id == entry.id  # idempotent
        register_model(session, entry.id, "chat-small-v1")
    with factory() as session:
        answer = access_answer(session, subject)
    authored = [r for r in rows if r["author_id"] == subject]
    tagged = {r["content_id"] for r in rows if subject in r["tags"]}
    mentioned = {r["content_id"] for r in rows if subject in r["mentions"]}
    assert len(answer.datasets) == 1
    held = answer.datasets[0]
    assert held.dataset_id == entry.id
    assert held.authored_by_kind == dict(sorted(Counter(str(r["kind"]) for r in authored).items()))
    assert held.tagged == len(tagged)
    assert held.mentioned == len(mentioned)
    assert set(held.content_ids) == {r["content_id"] for r in authored} | tagged | mentioned
    assert held.models == ["chat-small-v1"]
    with factory() as session:
        assert access_answer(session, 10**9).datasets == []
    with factory.begin() as session, pytest.raises(DatasetNotFound):
        register_model(session, "ds-missing", "x")
    factory.kw["bind"].dispose()


def test_late_objection_recall_impact_and_erasure_answer(
    platform: Path, database_url: str, tmp_path: Path, config: RegistryConfig
) -> None:
    factory = session_factory(database_url)
    clock = FakeClock(START)
    accounts = AccountIndex.from_parquet(platform / "accounts.parquet")
    outbox = OutboxTransport(tmp_path / "outbox")
    with factory() as session:
        Registry(session, config, accounts, clock).export(tmp_path / "empty.parquet")
    parent = build(platform, tmp_path / "empty.parquet", tmp_path / "v1", START)
    rows = lineage_rows(parent)
    subject = busiest_subject(rows)
    email = pq.read_table(platform / "accounts.parquet").to_pylist()[subject - 1]["email"]
    assert email
    with factory.begin() as session:
        parent_id = register_dataset(session, parent).id
        register_model(session, parent_id, "chat-small-v1")

    clock.advance(days=10)
    with factory() as session:
        person = Requester(Registry(session, config, accounts, clock), outbox)
        request_id = person.request(email, "objection", country="FR")
        Registry(session, config, accounts, clock).export(tmp_path / "later.parquet")
    clock.advance(days=1)
    recalled = recall_dataset(
        RecallRequest(parent, str(tmp_path / "later.parquet"), tmp_path / "v2", as_of=clock())
    )
    with factory.begin() as session:
        child = register_dataset(session, tmp_path / "v2")
        assert child.parent_id == parent_id
    theirs = {r["content_id"] for r in rows if r["author_id"] == subject or subject in r["tags"]}
    removed = set(pq.read_table(tmp_path / "v2" / "removed.parquet")["content_id"].to_pylist())
    assert removed == theirs
    assert recalled.manifest["recall"]["removed"] == len(theirs)

    with factory() as session:
        report = impact(session, START + timedelta(days=5))
        before = impact(session, clock() + timedelta(days=1))
    assert before == []
    assert [r.request_id for r in report] == [request_id]
    affected = report[0]
    assert subject in affected.subject_ids
    # The parent still holds the person's rows; the recall holds at most their mentions,
    # now redacted from text and lists, so it does not hold them at all.
    assert [d.dataset_id for d in affected.datasets] == [parent_id]
    assert affected.models == ["chat-small-v1"]

    with factory() as session:
        answer = access_answer_for_request(session, request_id)
        catalogued = entries(session)
    assert [d.dataset_id for d in answer.datasets] == [parent_id]
    assert [r.dataset_id for r in answer.recalls] == [child.id]
    assert set(answer.recalls[0].removed_content_ids) == theirs
    assert {e.dataset_id for e in catalogued} == {parent_id, child.id}

    # Once the superseded parent is purged, nothing catalogued holds the person's rows.
    with factory.begin() as session:
        assert [p.dataset_id for p in purge(session)] == [parent_id]
    with factory() as session:
        [after] = impact(session, START + timedelta(days=5))
        answer = access_answer_for_request(session, request_id)
    assert after.request_id == request_id
    assert after.datasets == []
    assert after.models == []
    assert answer.datasets == []
    factory.kw["bind"].dispose()


def test_catalogue_cli(platform: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from notrain.cli import app

    db = f"sqlite:///{tmp_path / 'cat.db'}"
    empty = tmp_path / "empty.parquet"
    session: Session
    with session_factory(db)() as session:
        Registry(session, RegistryConfig(secret_key=KEY), None, FakeClock(START)).export(empty)
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["build", "--content", str(platform / "content.parquet"),
         "--accounts", str(platform / "accounts.parquet"), "--registry", str(empty),
         "--as-of", START.isoformat(), "--out", str(tmp_path / "v1"), "--no-register"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["dataset", "register", str(tmp_path / "v1"), "--db", db])
    assert result.exit_code == 0, result.output
    with session_factory(db)() as session:
        dataset_id = entries(session)[0].dataset_id
    result = runner.invoke(
        app, ["models", "register", "--dataset", dataset_id, "--name", "m1", "--db", db]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["dataset", "list", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.output)
    manifest = json.loads((tmp_path / "v1" / "manifest.json").read_text())
    assert listed["models"] == ["m1"]
    assert listed["manifest_sha256"] == file_sha256(tmp_path / "v1" / "manifest.json")
    assert listed["policy_sha256"] == manifest["policy"]["sha256"]
    assert listed["snapshot_sha256"] == manifest["registry_snapshot"]["sha256"]
    assert listed["as_of"] == manifest["as_of"]
    assert listed["parent_id"] is None
    result = runner.invoke(app, ["access", "--subject", "1", "--db", db])
    assert result.exit_code == 0, result.output
    assert '"subject_ids"' in result.output
