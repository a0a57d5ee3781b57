"""The dataset's layout: chunks span input files, the source hash is 32 raw bytes, reruns
write the same bytes, and a recall of a build from shards equals a fresh build."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.contracts import CONTENT, CONTRACT_VERSION, DATASET, SNAPSHOT
from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.policy.loader import load_default_policy
from notrain.registry.snapshot import write_snapshot
from tests.corpus.world import AS_OF, World, assert_in_shard_order, utc

LATER = utc("2026-09-01")


def world() -> World:
    w = World()
    for user in range(1, 9):
        w.account(user, handle=f"member{user}")
    for n in range(40):
        author = n % 8 + 1
        text = f"post {n} by member{author}, mail me at m{n}@example.org" if n % 3 else None
        kind = "photo" if n % 5 == 0 else "post"
        w.item(author, kind=kind, text=text, tags=[(n + 3) % 8 + 1], content_id=1000 - n * 7)
    w.decide(3, "objection", effective_at="2026-01-01")
    return w


def shards_of(w: World, root: Path, files: int) -> Path:
    """The world's content as ``files`` Parquet files, in input order, beside its inputs."""
    w.write(root)
    table = pq.read_table(root / "content.parquet")
    directory = root / "content"
    directory.mkdir()
    per = -(-table.num_rows // files)
    for n in range(files):
        pq.write_table(table.slice(n * per, per), directory / f"part-{n}.parquet")
    return directory


def build(
    root: Path, content: Path, out: Path, chunk_rows: int, as_of: datetime = AS_OF
) -> BuildResult:
    return build_dataset(
        BuildRequest(
            content=str(content),
            accounts=str(root / "accounts.parquet"),
            registry=str(root / "registry.parquet"),
            out=out,
            policy=load_default_policy(),
            as_of=as_of,
            chunk_rows=chunk_rows,
        )
    )


def strings(dataset: Path) -> set[str]:
    """Every string value of every Parquet file of a dataset."""
    found: set[str] = set()
    for path in dataset.glob("*.parquet"):
        table = pq.read_table(path)
        for column in table.itercolumns():
            if pa.types.is_string(column.type):
                found.update(v for v in column.to_pylist() if v is not None)
    return found


def kept(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(s) for s in sorted(out.glob("part-*.parquet")))


@pytest.mark.parametrize("chunk_rows", [6, 16, 1000])
def test_shards_of_input_make_the_chunks_one_merged_file_makes(
    tmp_path: Path, chunk_rows: int
) -> None:
    w = world()
    directory = shards_of(w, tmp_path / "in", files=7)
    merged = build(tmp_path / "in", tmp_path / "in" / "content.parquet", tmp_path / "a", chunk_rows)
    sharded = build(tmp_path / "in", directory, tmp_path / "b", chunk_rows)
    # The same chunks, so the same shards, byte for byte; only the inputs' names differ.
    for name in [s["file"] for s in merged.manifest["shards"]] + [
        "exclusions.parquet",
        "lineage.parquet",
    ]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert merged.counts == sharded.counts
    assert len(sharded.manifest["inputs"]["content"]) == 7


def test_source_hash_is_32_raw_bytes_of_the_source_row(tmp_path: Path) -> None:
    w = world()
    built = w.build(tmp_path, chunk_rows=10)
    shard = kept(tmp_path / "dataset")
    assert shard.schema.field("source_sha256").type == DATASET.field("source_sha256").type
    source = {r["content_id"]: r for r in w.content}
    for row in shard.to_pylist():
        item = source[row["content_id"]]
        expected = "\x1f".join(
            [str(item["content_id"]), item["text"] or "", item["media_uri"] or ""]
        )
        assert row["source_sha256"] == hashlib.sha256(expected.encode()).digest()
    contract = built.manifest["contract"]
    assert contract["version"] == CONTRACT_VERSION == 2
    assert "32 raw bytes" in contract["source_sha256"]


def test_rerun_from_shards_is_byte_identical(tmp_path: Path) -> None:
    w = world()
    directory = shards_of(w, tmp_path / "in", files=5)
    first = build(tmp_path / "in", directory, tmp_path / "a", chunk_rows=12)
    again = build(tmp_path / "in", directory, tmp_path / "b", chunk_rows=12)
    names = [p.name for p in sorted((tmp_path / "a").iterdir())]
    assert names == [p.name for p in sorted((tmp_path / "b").iterdir())]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert first.manifest == again.manifest


def test_recall_of_a_build_from_shards_equals_a_fresh_build_and_carries_files_over(
    tmp_path: Path,
) -> None:
    w = world()
    directory = shards_of(w, tmp_path / "in", files=4)
    build(tmp_path / "in", directory, tmp_path / "v1", chunk_rows=10)
    later = [
        *w.snapshot,
        {"subject_id": 5, "identifiers": [], "kind": "objection",
         "effective_at": utc("2026-07-01"), "request_id": "req-late"},
    ]  # fmt: skip
    write_snapshot(pa.Table.from_pylist(later, schema=SNAPSHOT), tmp_path / "later.parquet")
    recall_dataset(
        RecallRequest(tmp_path / "v1", str(tmp_path / "later.parquet"), tmp_path / "v2", LATER)
    )
    write_snapshot(pa.Table.from_pylist(later, schema=SNAPSHOT), tmp_path / "in/registry.parquet")
    build(tmp_path / "in", directory, tmp_path / "fresh", chunk_rows=10, as_of=LATER)
    recalled, fresh = kept(tmp_path / "v2"), kept(tmp_path / "fresh")
    for version in ("v1", "v2", "fresh"):
        assert_in_shard_order(tmp_path / version)
    assert recalled.sort_by("content_id").to_pylist() == fresh.sort_by("content_id").to_pylist()
    # Member 5's texts were in the parent and are in no file of the new version.
    theirs = [i["text"].split(",")[0] for i in w.content if i["author_id"] == 5 and i["text"]]
    assert theirs
    before, after = strings(tmp_path / "v1"), strings(tmp_path / "v2")
    for words in theirs:
        assert any(words in value for value in before), words
        assert not any(words in value for value in after), words
    manifest = json.loads((tmp_path / "v2" / "manifest.json").read_text())
    carried = manifest["recall"]["shards_carried_over"]
    parent = {s["file"]: s["sha256"] for s in json.loads((tmp_path / "v1" / "manifest.json")
                                                         .read_text())["shards"]}  # fmt: skip
    same = [s for s in manifest["shards"] if parent.get(s["file"]) == s["sha256"]]
    assert carried == len(same)
    assert manifest["contract"]["version"] == CONTRACT_VERSION
    assert CONTENT.names == DATASET.names[:-1]
