"""A dataset on disk: shards of kept rows, exclusions, lineage and the manifest.

Engines write shards, exclusions and lineage into a staging directory beside the
destination; the manifest is written last and the directory is renamed into place, so a
dataset either exists whole, with a manifest that verifies, or not at all. The location
may be a local path or, with the Spark engine, a URI of any file system Hadoop reaches
(see :mod:`notrain.corpus.storage`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from notrain.contracts import CONTRACT_VERSION
from notrain.corpus import card
from notrain.corpus.storage import (
    LOCAL,
    LocalStorage,
    Storage,
    is_uri,
    read_text,
    write_text,
)
from notrain.errors import OutputError

MANIFEST = "manifest.json"
EXCLUSIONS_FILE = "exclusions.parquet"
LINEAGE_FILE = "lineage.parquet"
STAGING_PREFIX = ".staging-"
COMPRESSION = "zstd"

MANIFEST_VERSION = 2
"""2: the manifest names the data contract its shards follow (``contract``)."""

CONTRACT = {
    "version": CONTRACT_VERSION,
    "source_sha256": "sha256 of content_id, text and media_uri joined by U+001F, as 32 raw bytes",
}
"""What a manifest says of its shards' columns (the contract's version changes with them)."""

L = TypeVar("L", str, Path)


def file_sha256(path: str | Path, storage: Storage = LOCAL) -> str:
    return storage.sha256(str(path))


@dataclass(frozen=True)
class Shard:
    file: str
    rows: int
    sha256: str


@dataclass
class Tally:
    """Row counts by (reason, country, kind); reason None means kept."""

    counts: Counter[tuple[str | None, str | None, str]] = field(default_factory=Counter)

    def add_rows(self, rows: list[tuple[str | None, str | None, str, int]]) -> None:
        for reason, country, kind, count in rows:
            self.counts[(reason, country, kind)] += count

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def invalid(self, prefix: str) -> dict[str, int]:
        found: Counter[str] = Counter()
        for (reason, _, _), count in self.counts.items():
            if reason is not None and reason.startswith(prefix):
                found[reason[len(prefix) :]] += count
        return dict(found)

    def summary(self, reason_order: list[str]) -> dict[str, Any]:
        kept = sum(c for (r, _, _), c in self.counts.items() if r is None)
        by_reason = dict.fromkeys(reason_order, 0)
        kept_country: Counter[str] = Counter()
        kept_kind: Counter[str] = Counter()
        excl_country: Counter[str] = Counter()
        excl_kind: Counter[str] = Counter()
        for (reason, country, kind), count in self.counts.items():
            where = country or "unknown"
            if reason is None:
                kept_country[where] += count
                kept_kind[kind] += count
            else:
                by_reason[reason] = by_reason.get(reason, 0) + count
                excl_country[where] += count
                excl_kind[kind] += count
        excluded = sum(by_reason.values())
        return {
            "input": kept + excluded,
            "kept": kept,
            "excluded": excluded,
            "excluded_by_reason": by_reason,
            "kept_by_country": dict(sorted(kept_country.items())),
            "kept_by_kind": dict(sorted(kept_kind.items())),
            "excluded_by_country": dict(sorted(excl_country.items())),
            "excluded_by_kind": dict(sorted(excl_kind.items())),
        }


def staging_path(out: L, storage: Storage = LOCAL) -> L:
    """Where this process stages ``out``: beside it, so both are on one file system."""
    where = str(out)
    name = f"{STAGING_PREFIX}{storage.name(where)}-{os.getpid()}"
    staging = storage.child(storage.parent(where), name)
    return Path(staging) if isinstance(out, Path) else staging


def refuse_existing(out: str | Path, storage: Storage = LOCAL) -> None:
    """A dataset is never written over: an existing output is refused."""
    if storage.exists(str(out)):
        raise OutputError(f"{out}: already exists; choose a new directory for the dataset")


def staging_dir(out: L, storage: Storage = LOCAL) -> L:
    """A fresh staging directory beside ``out`` (same file system, so rename is cheap)."""
    where = str(out)
    refuse_existing(out, storage)
    staging = staging_path(where, storage)
    try:
        storage.mkdirs(storage.parent(where))
        clean_stale_staging(where, storage)
        storage.mkdirs(staging)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror or exc})") from None
    return Path(staging) if isinstance(out, Path) else staging


def clean_stale_staging(out: str | Path, storage: Storage = LOCAL) -> None:
    """Remove what an interrupted build of ``out`` left behind."""
    prefix = f"{STAGING_PREFIX}{storage.name(str(out))}-"
    for leftover in storage.listdir(storage.parent(str(out))):
        if storage.name(leftover).startswith(prefix):
            storage.delete(leftover)


def publish(
    staging: str | Path, out: str | Path, manifest: dict[str, Any], storage: Storage = LOCAL
) -> dict[str, Any]:
    """Write the manifest last, make everything durable, and move the dataset into place.

    Returns the manifest as written: ``manifest`` with the dataset card listed in its files.

    Where renaming a directory is atomic (a local disk) the manifest is written into the
    staging directory before the rename, so the dataset appears whole in one step. On a
    Hadoop file system the rename may be a copy (S3 through s3a copies object by object),
    so the manifest is written after it, as the last file: readers take a dataset to exist
    once its manifest does.
    """
    staged, where = str(staging), str(out)
    # The dataset card goes in with the data, listed and hashed in the manifest like every
    # file; it is written from the manifest alone, so reruns stay byte-identical.
    card_path = storage.child(staged, card.CARD)
    write_text(storage, card_path, card.render(manifest))
    manifest = {**manifest, "files": {**manifest.get("files", {}), card.CARD: ""}}
    manifest["files"][card.CARD] = storage.sha256(card_path)
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    if storage.atomic_rename:
        write_text(storage, storage.child(staged, MANIFEST), text)
    storage.sync(staged)
    try:
        storage.rename(staged, where)
        if not storage.atomic_rename:
            write_text(storage, storage.child(where, MANIFEST), text)
    except OSError as exc:
        raise OutputError(f"{out}: cannot publish the dataset ({exc.strerror or exc})") from None
    storage.sync(storage.parent(where), files=False)
    return manifest


def verify(dataset: str | Path, storage: Storage = LOCAL) -> list[str]:
    """Problems found when checking a published dataset against its manifest (empty: ok)."""
    problems = []
    root = str(dataset)
    manifest_path = storage.child(root, MANIFEST)
    try:
        manifest = json.loads(read_text(storage, manifest_path))
    except (OSError, ValueError) as exc:
        return [f"{manifest_path}: unreadable ({exc})"]
    files = {s["file"]: s["sha256"] for s in manifest.get("shards", [])}
    files.update(manifest.get("files", {}))
    for name, expected in files.items():
        path = storage.child(root, name) if _plain(name) else ""
        if not path or (isinstance(storage, LocalStorage) and not _inside(Path(root), name)):
            problems.append(f"{name}: not a file of the dataset (names must stay inside it)")
        elif not storage.is_file(path):
            problems.append(f"{name}: missing")
        else:
            try:
                if storage.sha256(path) != expected:
                    problems.append(f"{name}: sha256 does not match the manifest")
            except OSError as exc:  # e.g. Hadoop's own checksum of the file fails
                problems.append(f"{name}: unreadable ({exc.strerror or exc})")
    return problems


def _plain(name: str) -> bool:
    """Whether a manifest's file ``name`` is a relative path with no way up."""
    if not isinstance(name, str) or not name or "\x00" in name or is_uri(name):
        return False
    pure = PurePosixPath(name)
    return not pure.is_absolute() and ".." not in pure.parts


def _inside(root: Path, name: str) -> bool:
    """Whether ``name`` stays in ``root`` on the local disk, symbolic links followed."""
    root = root.resolve()
    return (root / name).resolve().is_relative_to(root)
