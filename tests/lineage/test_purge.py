"""`notrain dataset purge`: superseded versions lose their files, keep their entries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy.orm import Session, sessionmaker

from notrain.contracts import SNAPSHOT
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.errors import DatasetNotFound, UserError
from notrain.lineage.access import access_answer
from notrain.lineage.catalogue import entries, register_dataset, register_model
from notrain.lineage.purge import purge
from notrain.registry.db import session_factory
from notrain.registry.snapshot import write_snapshot
from tests.corpus.world import World, utc

LATER = utc("2026-09-01")
PURGED_AT = datetime(2026, 9, 2, 8, 0, tzinfo=UTC)


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    """A dataset and its recall after bob (user 2) objected."""
    w = World()
    anna, bob = w.account(1, handle="anna"), w.account(2, handle="bob")
    w.item(anna, text="anna's post", content_id=1)
    w.item(bob, text="bob's post", content_id=2)
    w.item(anna, kind="photo", tags=[bob], text=None, content_id=3)
    w.build(tmp_path)
    rows = [
        *w.snapshot,
        {"subject_id": bob, "identifiers": [], "kind": "objection",
         "effective_at": utc("2026-07-01"), "request_id": "req-bob"},
    ]  # fmt: skip
    later = tmp_path / "later.parquet"
    write_snapshot(pa.Table.from_pylist(rows, schema=SNAPSHOT), later)
    child = tmp_path / "recalled"
    recall_dataset(
        RecallRequest(dataset=tmp_path / "dataset", registry=str(later), out=child, as_of=LATER)
    )
    return tmp_path / "dataset", child


Catalogued = tuple[sessionmaker[Session], str, str, Path, Path]


@pytest.fixture
def catalogued(tmp_path: Path, database_url: str) -> Iterator[Catalogued]:
    parent, child = _versions(tmp_path)
    factory = session_factory(database_url)
    with factory.begin() as session:
        parent_id = register_dataset(session, parent).id
        child_id = register_dataset(session, child).id
        register_model(session, parent_id, "chat-v1")
    yield factory, parent_id, child_id, parent, child
    factory.kw["bind"].dispose()


def test_purge_deletes_superseded_versions_and_keeps_their_entries(
    catalogued: Catalogued,
) -> None:
    factory, parent_id, child_id, parent, child = catalogued
    with factory() as session:
        before = access_answer(session, 2)
    assert [d.dataset_id for d in before.datasets] == [parent_id]

    with factory.begin() as session:
        done = purge(session, now=PURGED_AT)
    assert [(p.dataset_id, p.purged_at) for p in done] == [(parent_id, PURGED_AT)]
    assert done[0].files_removed >= 4  # manifest, shard, exclusions, lineage
    assert not parent.exists()
    assert (child / "manifest.json").is_file()

    with factory() as session:
        listed = {e.dataset_id: e for e in entries(session)}
        after = access_answer(session, 2)
        anna = access_answer(session, 1)
    assert listed[parent_id].purged_at == PURGED_AT
    assert listed[parent_id].models == ("chat-v1",)
    assert listed[child_id].purged_at is None
    assert after.datasets == []
    assert [d.dataset_id for d in anna.datasets] == [child_id]

    # Nothing left to purge; the current version is not purged without --force.
    with factory.begin() as session:
        assert purge(session) == []
    with factory.begin() as session, pytest.raises(UserError, match="no successor"):
        purge(session, child_id)
    assert child.is_dir()
    with factory.begin() as session:
        [forced] = purge(session, str(child), force=True, now=PURGED_AT)
    assert forced.dataset_id == child_id
    assert not child.exists()


def test_purge_never_follows_a_link_out_of_the_dataset(
    catalogued: Catalogued, tmp_path: Path
) -> None:
    factory, parent_id, _, parent, child = catalogued
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the dataset's")
    (parent / "elsewhere").symlink_to(outside, target_is_directory=True)
    (parent / "note.txt").symlink_to(outside / "keep.txt")
    with factory.begin() as session:
        [done] = purge(session, parent_id)
    assert done.dataset_id == parent_id
    assert not parent.exists()
    assert (outside / "keep.txt").read_text() == "not the dataset's"

    # A catalogued path that is itself a link is refused, and nothing is deleted.
    real = tmp_path / "real-child"
    child.rename(real)
    child.symlink_to(real, target_is_directory=True)
    with factory.begin() as session, pytest.raises(UserError, match="symbolic link"):
        purge(session, str(child), force=True)
    assert (real / "manifest.json").is_file()


def test_purge_refuses_a_directory_that_holds_another_dataset(
    catalogued: Catalogued,
) -> None:
    factory, parent_id, _, parent, _ = catalogued
    manifest = json.loads((parent / "manifest.json").read_text())
    manifest["dataset_id"] = "ds-0000000000000000"
    (parent / "manifest.json").write_text(json.dumps(manifest))
    with factory.begin() as session, pytest.raises(UserError, match="another dataset"):
        purge(session)
    assert (parent / "manifest.json").is_file()
    with factory() as session:
        assert {e.dataset_id: e.purged_at for e in entries(session)}[parent_id] is None
    with factory.begin() as session, pytest.raises(DatasetNotFound):
        purge(session, "ds-ffffffffffffffff")


def test_purge_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from notrain.cli import app

    parent, child = _versions(tmp_path)
    db = f"sqlite:///{tmp_path / 'cat.db'}"
    runner = CliRunner()
    result = runner.invoke(app, ["dataset", "register", str(child), "--db", db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["dataset", "purge", str(child), "--db", db])
    assert isinstance(result.exception, UserError)
    assert "no successor" in str(result.exception)
    assert child.is_dir()
    result = runner.invoke(app, ["dataset", "purge", "--db", db])
    assert result.exit_code == 0, result.output
    assert "purged ds-" in result.output
    assert not parent.exists()
    result = runner.invoke(app, ["dataset", "list", "--db", db, "--json"])
    listed = {e["path"]: e for e in json.loads(result.output)}
    assert listed[str(parent.resolve())]["purged_at"] is not None
    assert listed[str(child.resolve())]["purged_at"] is None
