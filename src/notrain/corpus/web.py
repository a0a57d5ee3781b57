"""A dataset of web documents (url, fetched_at, text) from a crawl, through the same plan.

The input is the output of `notrain signals scan-warc`: one row per captured document with
the decision every signal of the crawl led to. Reserved documents are left out with
``signal_reserved``, those whose signals could not be read with ``signal_unreadable``
(unless the policy allows them), empty ones with ``no_text``, a WARC the scan could not read with
``unreadable``; kept text goes through the same redaction passes as platform content
(non-members' identifiers from the registry snapshot, e-mails, phone numbers).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notrain import __version__
from notrain.corpus import dataset
from notrain.corpus.build import BuildResult, _dataset_id, _snapshot_meta
from notrain.corpus.duckdb_engine import DuckDBEngine
from notrain.corpus.plan import BuildPlan, WebReason
from notrain.corpus.sources import fingerprint, resolve
from notrain.policy.loader import LoadedPolicy
from notrain.policy.model import ExclusionReason

WEB_REASON_ORDER = [
    WebReason.UNREADABLE.value,
    ExclusionReason.SIGNAL_RESERVED.value,
    ExclusionReason.SIGNAL_UNREADABLE.value,
    WebReason.NO_TEXT.value,
]


@dataclass(frozen=True)
class WebBuildRequest:
    documents: str
    registry: str
    out: Path
    policy: LoadedPolicy
    as_of: datetime | None = None
    threads: int | None = None
    memory_limit: str = "1GB"


def build_web_dataset(request: WebBuildRequest) -> BuildResult:
    """Build and atomically publish a web-document dataset; on failure nothing is published."""
    as_of = (request.as_of or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    documents = resolve("web documents", request.documents)
    snapshot = resolve("registry snapshot", request.registry)
    snapshot_meta = _snapshot_meta(snapshot)
    staging = dataset.staging_dir(request.out)
    try:
        engine = DuckDBEngine(
            threads=request.threads, memory_limit=request.memory_limit, temp_dir=staging / ".spill"
        )
        identifiers = engine.identifiers(snapshot, as_of.isoformat())
        plan = BuildPlan.compile(request.policy.policy, as_of, identifiers)
        output = engine.execute_web(plan, documents, staging)
        shutil.rmtree(staging / ".spill", ignore_errors=True)
        hashes = fingerprint([documents])
        by_reason = dict.fromkeys(WEB_REASON_ORDER, 0)
        kept = 0
        for reason, _, _, count in output.counts:
            if reason is None:
                kept += count
            else:
                by_reason[reason] = by_reason.get(reason, 0) + count
        excluded = sum(by_reason.values())
        manifest: dict[str, Any] = {
            "manifest_version": dataset.MANIFEST_VERSION,
            "contract": {
                **dataset.CONTRACT,
                "source_sha256": "sha256 of the document's text, as 32 raw bytes",
            },
            "dataset_kind": "web",
            "dataset_id": _dataset_id(
                {
                    "as_of": as_of.isoformat(),
                    "policy_sha256": request.policy.sha256,
                    "registry_snapshot_sha256": snapshot_meta["sha256"],
                    "inputs": hashes,
                    "kind": "web",
                }
            ),
            "as_of": as_of.isoformat(),
            "as_of_given": request.as_of is not None,
            "policy": {
                "name": request.policy.policy.name,
                "sha256": request.policy.sha256,
                "source": request.policy.source,
            },
            "registry_snapshot": snapshot_meta,
            "inputs": {"web_documents": hashes},
            "engine": {"name": engine.name, "version": engine.version},
            "notrain_version": __version__,
            "reason_order": WEB_REASON_ORDER,
            "counts": {
                "input": kept + excluded,
                "kept": kept,
                "excluded": excluded,
                "excluded_by_reason": by_reason,
            },
            "redaction": {
                "identifier_patterns": len(plan.identifier_patterns),
                "identifiers": len(identifiers),
            },
            "shards": [
                {"file": name, "rows": rows, "sha256": dataset.file_sha256(staging / name)}
                for name, rows in output.shards
            ],
            "files": {
                dataset.EXCLUSIONS_FILE: dataset.file_sha256(staging / dataset.EXCLUSIONS_FILE)
            },
        }
        manifest = dataset.publish(staging, request.out, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(out=request.out, manifest=json.loads(json.dumps(manifest)), timings={})
