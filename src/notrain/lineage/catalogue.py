"""The catalogue of built datasets and trained models, kept in the registry database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.corpus.dataset import MANIFEST, file_sha256
from notrain.errors import DatasetNotFound, InputError
from notrain.registry.models import Dataset, TrainedModel


@dataclass(frozen=True)
class CatalogueEntry:
    dataset_id: str
    path: str
    as_of: datetime
    policy_name: str
    kept_rows: int
    parent_id: str | None
    models: tuple[str, ...]
    manifest_sha256: str
    policy_sha256: str
    snapshot_sha256: str
    engine: str
    purged_at: datetime | None = None
    """When its files were purged: a purged version holds nothing."""

    @property
    def holds_data(self) -> bool:
        return self.purged_at is None


@contextmanager
def open_catalogue(database_url: str | None = None) -> Iterator[Session]:
    """A session on the registry database (default: the settings'), committed at the end."""
    from notrain.registry.db import session_factory
    from notrain.settings import get_settings

    factory = session_factory(database_url or get_settings().database_url)
    with factory.begin() as session:
        yield session


def record_dataset(path: Path, database_url: str | None = None) -> str:
    """Catalogue a freshly published dataset (and its parent); returns its id."""
    with open_catalogue(database_url) as session:
        return register_dataset(session, path).id


def _manifest(path: Path) -> tuple[dict[str, object], str]:
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a dataset: cannot read {MANIFEST} ({exc})") from None
    return manifest, file_sha256(manifest_path)


def register_dataset(session: Session, path: Path, now: datetime | None = None) -> Dataset:
    """Record the dataset at ``path`` (idempotent); its parent too, if it is a recall."""
    manifest, manifest_sha = _manifest(path)
    dataset_id = str(manifest["dataset_id"])
    existing = session.get(Dataset, dataset_id)
    if existing is not None:
        return existing
    parent = manifest.get("parent")
    parent_id: str | None = None
    if isinstance(parent, dict):
        parent_id = str(parent["dataset_id"])
        if session.get(Dataset, parent_id) is None:
            parent_path = Path(str(parent.get("path", "")))
            if (parent_path / MANIFEST).is_file():
                register_dataset(session, parent_path, now)
            else:
                parent_id = None
    policy = manifest["policy"]
    snapshot = manifest["registry_snapshot"]
    counts = manifest["counts"]
    engine = manifest["engine"]
    assert isinstance(policy, dict)
    assert isinstance(snapshot, dict)
    assert isinstance(counts, dict)
    assert isinstance(engine, dict)
    row = Dataset(
        id=dataset_id,
        path=str(path.resolve()),
        manifest_sha256=manifest_sha,
        policy_name=str(policy["name"]),
        policy_sha256=str(policy["sha256"]),
        as_of=datetime.fromisoformat(str(manifest["as_of"])),
        snapshot_sha256=str(snapshot["sha256"]),
        engine=str(engine["name"]),
        kept_rows=int(counts["kept"]),
        parent_id=parent_id,
        registered_at=now or datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def dataset_path(session: Session, dataset_id: str) -> Path:
    """Where the catalogued dataset ``dataset_id`` was published."""
    found = session.get(Dataset, dataset_id)
    if found is None:
        raise DatasetNotFound(f"dataset {dataset_id} is not in the catalogue")
    return Path(found.path)


def register_model(
    session: Session, dataset_id: str, name: str, now: datetime | None = None
) -> TrainedModel:
    """Record that model ``name`` was trained from ``dataset_id`` (idempotent)."""
    if session.get(Dataset, dataset_id) is None:
        raise DatasetNotFound(f"dataset {dataset_id} is not in the catalogue")
    existing = session.scalars(
        select(TrainedModel).where(TrainedModel.dataset_id == dataset_id, TrainedModel.name == name)
    ).first()
    if existing is not None:
        return existing
    model = TrainedModel(name=name, dataset_id=dataset_id, registered_at=now or datetime.now(UTC))
    session.add(model)
    session.flush()
    return model


def entries(session: Session) -> list[CatalogueEntry]:
    """Every catalogued dataset, oldest as-of first, with the models trained from it."""
    models: dict[str, list[str]] = {}
    for model in session.scalars(select(TrainedModel).order_by(TrainedModel.name)):
        models.setdefault(model.dataset_id, []).append(model.name)
    return [
        CatalogueEntry(
            dataset_id=d.id,
            path=d.path,
            as_of=d.as_of,
            policy_name=d.policy_name,
            kept_rows=d.kept_rows,
            parent_id=d.parent_id,
            models=tuple(models.get(d.id, [])),
            manifest_sha256=d.manifest_sha256,
            policy_sha256=d.policy_sha256,
            snapshot_sha256=d.snapshot_sha256,
            engine=d.engine,
            purged_at=d.purged_at,
        )
        for d in session.scalars(select(Dataset).order_by(Dataset.as_of, Dataset.id))
    ]
