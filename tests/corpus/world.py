"""A tiny platform written by hand, built with the real builder, for rule-level tests."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import ACCOUNTS, CONTENT, SNAPSHOT
from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from notrain.policy.loader import LoadedPolicy, load_default_policy, load_policy_text
from notrain.registry.snapshot import write_snapshot


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


AS_OF = utc("2026-06-01")
ADULT = date(1990, 6, 15)


@dataclass
class Built:
    result: BuildResult
    kept: dict[int, dict[str, Any]]
    reasons: dict[int, str]
    lineage: dict[int, dict[str, Any]]

    @property
    def manifest(self) -> dict[str, Any]:
        return self.result.manifest

    def reason(self, content_id: int) -> str | None:
        return self.reasons.get(content_id)

    def text(self, content_id: int) -> str | None:
        text: str | None = self.kept[content_id]["text"]
        return text


@dataclass
class World:
    accounts: list[dict[str, Any]] = field(default_factory=list)
    content: list[dict[str, Any]] = field(default_factory=list)
    snapshot: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def account(
        self,
        user_id: int,
        handle: str | None = None,
        country: str = "FR",
        birth_date: date | None = ADULT,
        email: str | None = None,
    ) -> int:
        self.accounts.append(
            {
                "user_id": user_id,
                "handle": handle or f"user{user_id}",
                "email": email,
                "country": country,
                "birth_date": birth_date,
                "created_at": utc("2019-01-01"),
            }
        )
        return user_id

    def item(
        self,
        author_id: int,
        kind: str = "post",
        visibility: str = "public",
        created_at: str | datetime = "2025-01-01",
        text: str | None = "hello",
        mentions: list[int] | None = None,
        tags: list[int] | None = None,
        content_id: int | None = None,
    ) -> int:
        cid = content_id if content_id is not None else next(self._ids)
        self.content.append(
            {
                "content_id": cid,
                "author_id": author_id,
                "kind": kind,
                "visibility": visibility,
                "created_at": created_at if isinstance(created_at, datetime) else utc(created_at),
                "text": text,
                "media_uri": f"media/{cid}.jpg" if kind in ("photo", "video") else None,
                "parent_id": None,
                "mentions": mentions or [],
                "tags": tags or [],
            }
        )
        return cid

    def decide(
        self,
        subject_id: int | None,
        kind: str = "objection",
        effective_at: str = "2025-06-01",
        identifiers: list[str] | None = None,
    ) -> None:
        self.snapshot.append(
            {
                "subject_id": subject_id,
                "identifiers": identifiers or [],
                "kind": kind,
                "effective_at": utc(effective_at),
                "request_id": f"req-{len(self.snapshot):04d}",
            }
        )

    def signal(self, content_id: int | None, decision: str) -> None:
        """A row of a `notrain signals scan-media` output for this content item."""
        if self.signals is None:
            self.signals = []
        self.signals.append({"content_id": content_id, "decision": decision, "signal": "test"})

    def write(self, root: Path) -> tuple[Path, Path, Path]:
        root.mkdir(parents=True, exist_ok=True)
        accounts, content, registry = (
            root / "accounts.parquet",
            root / "content.parquet",
            root / "registry.parquet",
        )
        pq.write_table(pa.Table.from_pylist(self.accounts, schema=ACCOUNTS), accounts)
        pq.write_table(pa.Table.from_pylist(self.content, schema=CONTENT), content)
        write_snapshot(pa.Table.from_pylist(self.snapshot, schema=SNAPSHOT), registry)
        return accounts, content, registry

    def build(
        self,
        root: Path,
        as_of: datetime = AS_OF,
        policy: LoadedPolicy | str | None = None,
        **options: Any,
    ) -> Built:
        accounts, content, registry = self.write(root / "in")
        if self.signals is not None:
            signals = root / "in" / "signals.parquet"
            pq.write_table(pa.Table.from_pylist(self.signals), signals)
            options.setdefault("signals", str(signals))
        if isinstance(policy, str):
            policy = load_policy_text(policy, "test-policy.toml")
        out = root / "dataset"
        result = build_dataset(
            BuildRequest(
                content=str(content),
                accounts=str(accounts),
                registry=str(registry),
                out=out,
                policy=policy or load_default_policy(),
                as_of=as_of,
                **options,
            )
        )
        kept = {}
        for shard in sorted(out.glob("part-*.parquet")):
            for row in pq.read_table(shard).to_pylist():
                kept[row["content_id"]] = row
        reasons = {
            row["content_id"]: row["reason"]
            for row in pq.read_table(out / "exclusions.parquet").to_pylist()
        }
        lineage = {
            row["content_id"]: row for row in pq.read_table(out / "lineage.parquet").to_pylist()
        }
        return Built(result=result, kept=kept, reasons=reasons, lineage=lineage)


def assert_in_shard_order(dataset: Path) -> None:
    """Each shard sorted by ``content_id``, and the lineage its shards' rows in manifest
    order, row for row (a recall makes the new lineage from the parent's by position)."""
    shards = [s["file"] for s in json.loads((dataset / "manifest.json").read_text())["shards"]]
    expected: list[dict[str, Any]] = []
    for name in shards:
        table = pq.read_table(
            dataset / name, columns=["content_id", "author_id", "mentions", "tags"]
        )
        ids = table["content_id"].to_pylist()
        assert ids == sorted(ids), name
        expected.extend(table.to_pylist())
    assert pq.read_table(dataset / "lineage.parquet").to_pylist() == expected
