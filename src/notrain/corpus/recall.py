"""A recall: a new version of a dataset without what later decisions disallow.

The story's platform said data already taken cannot be taken back. A recall takes it
back: given a newer registry snapshot, every kept row whose author objected or was
erased since, every photo or video tagging such a person, every row of a consent
jurisdiction whose author withdrew consent leaves the dataset; objectors' @handles and
newly listed non-member identifiers are redacted. Shards nothing changed in are carried
over byte for byte; the manifest names the parent and what was removed, and why.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notrain import __version__
from notrain.corpus import dataset
from notrain.corpus.build import BuildResult, Progress, _silent, _snapshot_meta
from notrain.corpus.duckdb_engine import DuckDBEngine
from notrain.corpus.duckdb_recall import Previous, recall_shards
from notrain.corpus.plan import BuildPlan
from notrain.corpus.rederive import Source, placeholders
from notrain.corpus.sources import InputSet, format_of, resolve
from notrain.errors import InputError, PolicyError, UserError
from notrain.policy.loader import LoadedPolicy, load_default_policy, load_policy
from notrain.policy.model import RedactionRules

REMOVED_FILE = "removed.parquet"


@dataclass(frozen=True)
class RecallRequest:
    dataset: Path
    registry: str
    out: Path
    as_of: datetime | None = None
    accounts: str | None = None
    content: str | None = None
    """The parent's content, if not at its recorded path: read only when a newly listed
    identifier may hide behind a placeholder of the parent's text."""
    policy: LoadedPolicy | None = None
    threads: int | None = None
    memory_limit: str = "1GB"


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((path / dataset.MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a dataset: cannot read {dataset.MANIFEST} ({exc})") from None
    return manifest


def _parent_policy(manifest: dict[str, Any], given: LoadedPolicy | None) -> LoadedPolicy:
    recorded = manifest["policy"]
    if given is None:
        source = recorded.get("source", "<default>")
        given = load_default_policy() if source == "<default>" else load_policy(Path(source))
    if given.sha256 != recorded["sha256"]:
        raise PolicyError(
            given.source,
            f"a recall must use the parent's policy (sha256 {recorded['sha256'][:12]}…), "
            f"this one is {given.sha256[:12]}…",
        )
    return given


def _recorded_input(role: str, files: dict[str, str], label: str, checked: bool = True) -> InputSet:
    """The parent's input ``role`` at its recorded paths, ``checked`` against its recorded
    sha256 (or not, where each row read is checked on its own)."""
    paths = tuple(Path(p) for p in files)
    for path, sha in files.items():
        if not Path(path).is_file():
            raise InputError(path, f"the parent's {role} file is gone; pass --{label}")
        if checked and dataset.file_sha256(Path(path)) != sha:
            raise InputError(path, f"the parent's {role} file has changed; pass --{label}")
    fmt = format_of(paths[0])
    assert fmt is not None
    return InputSet(role=role, spec=str(paths[0]), files=paths, format=fmt)


def _parent_snapshot(manifest: dict[str, Any]) -> InputSet | None:
    """The snapshot the parent was built from, if it is still at hand, unchanged."""
    files = manifest["registry_snapshot"].get("files", {})
    if not files or not all(Path(p).is_file() for p in files):
        return None
    if any(dataset.file_sha256(Path(p)) != sha for p, sha in files.items()):
        return None
    return InputSet(
        role="registry snapshot",
        spec=next(iter(files)),
        files=tuple(Path(p) for p in files),
        format="parquet",
    )


def _recount(
    counts: dict[str, Any], removed: list[tuple[str, str | None, str, int]]
) -> Counter[str]:
    """Move the removed rows ((reason, country, kind, rows) groups) from kept to excluded;
    the removed rows by reason."""
    by_reason: Counter[str] = Counter()
    by_country: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    for reason, country, kind, n in removed:
        by_reason[reason] += n
        by_country[country or "unknown"] += n
        by_kind[kind] += n
    total = sum(by_reason.values())
    counts["kept"] -= total
    counts["excluded"] += total
    for reason, n in by_reason.items():
        counts["excluded_by_reason"][reason] = counts["excluded_by_reason"].get(reason, 0) + n
    for key, tally in (("country", by_country), ("kind", by_kind)):
        kept, excluded = counts[f"kept_by_{key}"], counts[f"excluded_by_{key}"]
        for value, n in tally.items():
            kept[value] = kept.get(value, 0) - n
            if not kept[value]:
                del kept[value]
            excluded[value] = excluded.get(value, 0) + n
        counts[f"excluded_by_{key}"] = dict(sorted(excluded.items()))
    return by_reason


def recall_dataset(request: RecallRequest, progress: Progress | None = None) -> BuildResult:
    """Publish a recalled version of ``request.dataset``; on failure nothing is published."""
    report = progress or _silent
    parent = request.dataset
    manifest = read_manifest(parent)
    problems = dataset.verify(parent)
    if problems:
        raise InputError(parent, f"does not match its manifest: {problems[0]}")
    parent_as_of = datetime.fromisoformat(manifest["as_of"])
    as_of = (request.as_of or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    if as_of < parent_as_of:
        raise UserError(
            f"--as-of {as_of.isoformat()} is before the parent's as-of {manifest['as_of']}"
        )
    loaded = _parent_policy(manifest, request.policy)
    accounts = (
        resolve("accounts", request.accounts)
        if request.accounts
        else _recorded_input("accounts", manifest["inputs"]["accounts"], "accounts")
    )
    snapshot = resolve("registry snapshot", request.registry)
    snapshot_meta = _snapshot_meta(snapshot)

    staging = dataset.staging_dir(request.out)
    try:
        engine = DuckDBEngine(
            threads=request.threads, memory_limit=request.memory_limit, temp_dir=staging / ".spill"
        )
        report("recalling", 0, None)
        listed = engine.identifiers(snapshot, as_of.isoformat())
        current = set(listed)
        before = _parent_snapshot(manifest)
        old = set(engine.identifiers(before, manifest["as_of"])) if before else None
        fresh = sorted(current - old) if old is not None else sorted(current)
        # E-mails and phones were redacted by the parent build; only what the newer
        # snapshot can change is applied again.
        policy = loaded.policy.model_copy(
            update={"redaction": RedactionRules(emails=False, phones=False, ips=False)}
        )
        plan = BuildPlan.compile(policy, as_of, fresh)
        source = Source(
            BuildPlan.compile(loaded.policy, as_of, listed),
            placeholders(loaded.policy.redaction),
            lambda: (
                resolve("content", request.content)
                if request.content
                else _recorded_input(
                    "content", manifest["inputs"]["content"], "content", checked=False
                )
            ),
        )
        # Who changed since the parent is known from its snapshot, if the accounts are
        # its own too; otherwise every kept row is scored again.
        previous = (
            Previous(before, BuildPlan.compile(policy, parent_as_of))
            if before is not None and not request.accounts
            else None
        )
        shards = [(s["file"], int(s["rows"])) for s in manifest["shards"]]
        total = sum(rows for _, rows in shards)
        output = recall_shards(
            engine, plan, parent, shards, accounts, snapshot, staging, REMOVED_FILE,
            progress=lambda done: report("recalling", done, total), previous=previous,
            accounts_checked=not request.accounts, source=source,
        )  # fmt: skip
        shutil.rmtree(staging / ".spill", ignore_errors=True)
        counts = json.loads(json.dumps(manifest["counts"]))
        removed_by_reason = _recount(counts, output.removed)
        identity = {
            "parent": manifest["dataset_id"],
            "as_of": as_of.isoformat(),
            "registry_snapshot_sha256": snapshot_meta["sha256"],
        }
        new_manifest: dict[str, Any] = {
            **manifest,
            "dataset_id": "ds-"
            + hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16],
            "as_of": as_of.isoformat(),
            "as_of_given": request.as_of is not None,
            "parent": {
                "dataset_id": manifest["dataset_id"],
                "manifest_sha256": dataset.file_sha256(parent / dataset.MANIFEST),
                "path": str(parent),
            },
            "registry_snapshot": snapshot_meta,
            "notrain_version": __version__,
            "counts": counts,
            # What the version's texts now honour, as a fresh build would record it.
            "redaction": {
                **manifest["redaction"],
                "identifier_patterns": len(source.plan.identifier_patterns),
                "identifiers": len(listed),
            },
            "recall": {
                "removed": sum(removed_by_reason.values()),
                "removed_by_reason": dict(sorted(removed_by_reason.items())),
                "identifiers_newly_redacted": len(fresh),
                "texts_redacted_from_source": output.rederived,
                "rescored": "changed" if previous else "all",
                "shards_rewritten": output.rewritten,
                "shards_carried_over": len(output.shards) - len(output.rewritten),
            },
            "shards": [
                {"file": name, "rows": rows, "sha256": dataset.file_sha256(staging / name)}
                for name, rows in output.shards
            ],
            "files": {
                name: dataset.file_sha256(staging / name)
                for name in (dataset.EXCLUSIONS_FILE, dataset.LINEAGE_FILE, REMOVED_FILE)
            },
        }
        if request.accounts:
            new_manifest["inputs"] = {
                **manifest["inputs"],
                "accounts": {str(f): dataset.file_sha256(f) for f in accounts.files},
            }
        report("publishing", 0, None)
        new_manifest = dataset.publish(staging, request.out, new_manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(out=request.out, manifest=new_manifest, timings={})
