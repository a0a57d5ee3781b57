"""Purging superseded versions: a recall's parent still holds the objectors' rows.

A recall publishes a new version beside its parent and leaves the parent whole, so the
rows it removed are still on disk until the parent is purged. A purge deletes a catalogued
version's files and keeps its catalogue entry, marked with the time: what it was built
from and which models were trained on it stay answerable, and impact and access answers
count it as holding nothing.

Only a version that has a successor (a recall of it in the catalogue) is purged unless
forced, so the latest version of a dataset is not lost by mistake. Deleting never leaves
the dataset's directory: a symbolic link in it is removed, never followed, and a catalogued
path that is itself a link is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.corpus.dataset import MANIFEST, file_sha256
from notrain.errors import DatasetNotFound, UserError
from notrain.registry.models import Dataset


@dataclass(frozen=True)
class PurgedVersion:
    dataset_id: str
    path: str
    purged_at: datetime
    files_removed: int


def _successors(session: Session) -> set[str]:
    parents = session.scalars(select(Dataset.parent_id).where(Dataset.parent_id.is_not(None)))
    return {p for p in parents if p is not None}


def _target(session: Session, target: str) -> Dataset:
    """The catalogued version named by an id or by the directory it was published to."""
    found = session.get(Dataset, target)
    if found is not None:
        return found
    wanted = os.path.abspath(target)
    for row in session.scalars(select(Dataset)):
        if os.path.abspath(row.path) == wanted:
            return row
    raise DatasetNotFound(f"{target}: no catalogued dataset has this id or directory")


def _remove_tree(directory: Path) -> int:
    """Delete ``directory`` and what is in it without following any symbolic link; the
    number of files (and links) removed."""
    removed = 0
    with os.scandir(directory) as found:
        entries = list(found)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            removed += _remove_tree(Path(entry.path))
        else:
            os.unlink(entry.path)  # a link is removed itself, its target left alone
            removed += 1
    os.rmdir(directory)
    return removed


def _check(row: Dataset) -> None:
    """Refuse what a purge must not delete: a link, a file, another dataset."""
    path = Path(row.path)
    if path.is_symlink():
        raise UserError(
            f"{row.id}: {path} is a symbolic link; a purge deletes only the dataset's own "
            "directory, never what a link points to"
        )
    if path.exists() and not path.is_dir():
        raise UserError(f"{row.id}: {path} is not a dataset directory")
    manifest = path / MANIFEST
    if manifest.is_symlink() or (
        manifest.is_file() and file_sha256(manifest) != row.manifest_sha256
    ):
        raise UserError(
            f"{row.id}: {path} holds another dataset now (its manifest is not the "
            "catalogued one); nothing deleted"
        )


def _delete_files(row: Dataset) -> int:
    path = Path(row.path)
    if not path.is_dir():
        return 0  # deleted by hand already: only the catalogue is left to mark
    manifest = path / MANIFEST
    removed = 0
    if manifest.is_file():
        # The manifest first: without it the version no longer exists for any reader, even
        # if the deletion of the rest is interrupted.
        manifest.unlink()
        removed = 1
    return removed + _remove_tree(path)


def purge(
    session: Session,
    target: str | None = None,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> list[PurgedVersion]:
    """Delete the files of superseded versions and mark them purged in the catalogue.

    ``target`` None: every catalogued version that has a successor and is not purged yet.
    ``target`` an id or a directory: that version, refused without a successor unless
    ``force``. A version already purged is left as it is (not listed again).
    """
    moment = now or datetime.now(UTC)
    successors = _successors(session)
    if target is None:
        rows = list(
            session.scalars(
                select(Dataset)
                .where(Dataset.purged_at.is_(None), Dataset.id.in_(successors))
                .order_by(Dataset.as_of, Dataset.id)
            )
        )
    else:
        row = _target(session, target)
        if row.purged_at is not None:
            return []
        if row.id not in successors and not force:
            raise UserError(
                f"{row.id} has no successor (no recall of it is catalogued): it is the "
                "current version; purge it with --force if it must go"
            )
        rows = [row]
    for row in rows:
        _check(row)  # all of them before any file goes
    done = []
    for row in rows:
        removed = _delete_files(row)
        row.purged_at = moment
        session.flush()
        done.append(
            PurgedVersion(dataset_id=row.id, path=row.path, purged_at=moment, files_removed=removed)
        )
    return done
