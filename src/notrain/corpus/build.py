"""One build: inputs and a policy in, a published dataset (or nothing) out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from notrain import __version__
from notrain.contracts import verify_snapshot
from notrain.corpus import dataset
from notrain.corpus.engines import create_engine
from notrain.corpus.plan import INVALID_PREFIX, BuildPlan
from notrain.corpus.sources import InputSet, fingerprint, resolve
from notrain.corpus.storage import is_uri
from notrain.errors import InputError, UserError
from notrain.policy.loader import LoadedPolicy
from notrain.policy.model import REASON_ORDER

Progress = Callable[[str, int, int | None], None]
"""Called with (phase, rows done, rows in all or None)."""


@dataclass(frozen=True)
class BuildRequest:
    content: str
    accounts: str
    registry: str
    out: Path | str
    """A local path, or (Spark engine only) a URI of any file system Hadoop reaches."""
    policy: LoadedPolicy
    as_of: datetime | None = None
    signals: str | None = None
    chunk_rows: int = 4_000_000
    threads: int | None = None
    memory_limit: str = "1GB"
    engine: str = "duckdb"
    """``duckdb`` (in-process) or ``spark`` (needs the ``spark`` extra and Java)."""
    spark_master: str | None = None
    spark_broadcast_rows: int | None = None
    """Registry-derived tables up to this many rows are broadcast (Spark only)."""


@dataclass(frozen=True)
class BuildResult:
    out: Path | str
    manifest: dict[str, Any]
    timings: dict[str, float]
    """Seconds per phase of this run; not part of the dataset, which must not vary."""

    @property
    def counts(self) -> dict[str, Any]:
        counts: dict[str, Any] = self.manifest["counts"]
        return counts


def _silent(phase: str, done: int, total: int | None) -> None:
    del phase, done, total


def _row_count(source: InputSet) -> int | None:
    if source.format != "parquet":
        return None
    rows = 0
    try:
        for name in source.files:
            with source.storage.open_read(str(name)) as handle:
                rows += int(pq.ParquetFile(handle).metadata.num_rows)
    except (OSError, ValueError) as exc:
        raise InputError(source.label, f"unreadable parquet: {exc}") from None
    return rows


def _snapshot_meta(source: InputSet) -> dict[str, Any]:
    infos = [verify_snapshot(f, source.storage) for f in source.files]
    return {
        "files": {str(i.path): i.sha256 for i in infos},
        "sha256": infos[0].sha256
        if len(infos) == 1
        else hashlib.sha256("".join(i.sha256 for i in infos).encode()).hexdigest(),
        "taken_at": infos[0].taken_at.isoformat()
        if len(infos) == 1 and infos[0].taken_at
        else None,
        "sidecar_verified": all(i.had_sidecar for i in infos),
    }


def _dataset_id(parts: dict[str, Any]) -> str:
    blob = json.dumps(parts, sort_keys=True).encode()
    return "ds-" + hashlib.sha256(blob).hexdigest()[:16]


def build_dataset(request: BuildRequest, progress: Progress | None = None) -> BuildResult:
    """Build and atomically publish a dataset; on any failure nothing is published."""
    report = progress or _silent
    as_of = (request.as_of or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    out = request.out
    location = str(out)
    engine = create_engine(
        request.engine,
        threads=request.threads,
        memory_limit=request.memory_limit,
        temp_dir=None if is_uri(out) else Path(dataset.staging_path(location)) / ".spill",
        spark_master=request.spark_master,
        broadcast_rows=request.spark_broadcast_rows,
    )
    # Each location is read where it lives: plain paths on the local disk, URIs (Spark
    # only; the DuckDB engine refuses them here) through the session's Hadoop file systems.
    where = engine.storage
    storage = where(location)
    content = resolve("content", request.content, where(request.content))
    accounts = resolve("accounts", request.accounts, where(request.accounts))
    snapshot = resolve("registry snapshot", request.registry, where(request.registry))
    signals = (
        resolve("signals", request.signals, where(request.signals)) if request.signals else None
    )
    report("checking inputs", 0, None)
    snapshot_meta = _snapshot_meta(snapshot)
    total = _row_count(content)

    staging = dataset.staging_dir(location, storage)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # Hashing the inputs overlaps with the build; hashlib releases the GIL.
            hashing = pool.submit(fingerprint, [content, accounts, *([signals] if signals else [])])
            identifiers = engine.identifiers(snapshot, as_of.isoformat())
            plan = BuildPlan.compile(
                request.policy.policy, as_of, identifiers, signals=signals is not None
            )
            report("building", 0, total)
            output = engine.execute(
                plan,
                content,
                accounts,
                snapshot,
                staging,
                chunk_rows=request.chunk_rows,
                progress=lambda done: report("building", done, total),
                signals=signals,
            )
            hashes = hashing.result()
        tally = dataset.Tally()
        tally.add_rows(output.counts)
        invalid = tally.invalid(INVALID_PREFIX)
        if invalid:
            problem, count = sorted(invalid.items())[0]
            raise InputError(content.label, f"{count} rows with {problem}")
        storage.delete(storage.child(staging, ".spill"))

        reason_order = [r.value for r in REASON_ORDER]

        def staged_sha256(name: str) -> str:
            return dataset.file_sha256(storage.child(staging, name), storage)

        identity = {
            "as_of": as_of.isoformat(),
            "policy_sha256": request.policy.sha256,
            "registry_snapshot_sha256": snapshot_meta["sha256"],
            "inputs": hashes,
            "engine": engine.name,
        }
        manifest: dict[str, Any] = {
            "manifest_version": dataset.MANIFEST_VERSION,
            "contract": dataset.CONTRACT,
            "dataset_id": _dataset_id(identity),
            "as_of": as_of.isoformat(),
            "as_of_given": request.as_of is not None,
            "policy": {
                "name": request.policy.policy.name,
                "sha256": request.policy.sha256,
                "source": request.policy.source,
            },
            "registry_snapshot": snapshot_meta,
            "inputs": {
                "content": {str(f): hashes[str(f)] for f in content.files},
                "accounts": {str(f): hashes[str(f)] for f in accounts.files},
                **({"signals": {str(f): hashes[str(f)] for f in signals.files}} if signals else {}),
            },
            "engine": {"name": engine.name, "version": engine.version},
            "notrain_version": __version__,
            "reason_order": reason_order,
            "counts": tally.summary(reason_order),
            "redaction": {
                "applied": plan.policy.redaction.applied(),
                "identifier_patterns": len(plan.identifier_patterns),
                "identifiers": len(identifiers),
            },
            "shards": [
                {"file": name, "rows": rows, "sha256": staged_sha256(name)}
                for name, rows in output.shards
            ],
            "files": {
                name: staged_sha256(name)
                for name in (dataset.EXCLUSIONS_FILE, dataset.LINEAGE_FILE)
            },
        }
        report("publishing", tally.total, total)
        manifest = dataset.publish(staging, location, manifest, storage)
    except BaseException:
        storage.delete(staging)
        raise
    return BuildResult(out=out, manifest=manifest, timings=output.timings)


__all__ = ["BuildRequest", "BuildResult", "UserError", "build_dataset"]
