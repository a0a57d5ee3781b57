"""Input formats and bad input: a clear error naming the file, and nothing published."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from notrain.contracts import CONTENT
from notrain.corpus.build import BuildRequest, build_dataset
from notrain.errors import InputError, NotrainError, OutputError, SnapshotIntegrityError
from notrain.policy.loader import load_default_policy
from tests.corpus.world import AS_OF, World


def sample_world() -> World:
    w = World()
    a, b = w.account(1, handle="ann"), w.account(2, handle="bob")
    w.item(a, text="hi @bob call 0612345678", mentions=[b])
    w.item(a, kind="photo", tags=[b], text=None)
    w.item(b, text="mine")
    w.item(a, kind="story")
    w.decide(b)
    return w


def build(content: Path | str, accounts: Path, registry: Path, out: Path) -> dict[str, object]:
    result = build_dataset(
        BuildRequest(
            content=str(content),
            accounts=str(accounts),
            registry=str(registry),
            out=out,
            policy=load_default_policy(),
            as_of=AS_OF,
        )
    )
    return result.manifest


def kept_rows(out: Path) -> list[dict[str, object]]:
    rows = []
    for shard in sorted(out.glob("part-*.parquet")):
        rows.extend(pq.read_table(shard).to_pylist())
    return rows


def assert_nothing_published(tmp_path: Path, out: Path) -> None:
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging-")]


def test_jsonl_csv_directories_and_globs_give_the_same_dataset(tmp_path: Path) -> None:
    w = sample_world()
    accounts, content, registry = w.write(tmp_path / "in")
    reference = build(content, accounts, registry, tmp_path / "ref")

    table = pq.read_table(content)
    jsonl = tmp_path / "content.jsonl"
    with jsonl.open("w") as handle:
        for row in table.to_pylist():
            row["created_at"] = row["created_at"].isoformat()
            handle.write(json.dumps(row) + "\n")
    csv = tmp_path / "content.csv"
    as_text = table.set_column(
        table.schema.get_field_index("mentions"),
        "mentions",
        pa.array([json.dumps(v) for v in table["mentions"].to_pylist()]),
    ).set_column(
        table.schema.get_field_index("tags"),
        "tags",
        pa.array([json.dumps(v) for v in table["tags"].to_pylist()]),
    )
    pacsv.write_csv(as_text, csv)
    shards = tmp_path / "shards"
    shards.mkdir()
    pq.write_table(table.slice(0, 2), shards / "a.parquet")
    pq.write_table(table.slice(2), shards / "b.parquet")

    expected = kept_rows(tmp_path / "ref")
    sources: list[tuple[str, Path | str]] = [
        ("jsonl", jsonl),
        ("csv", csv),
        ("dir", shards),
        ("glob", str(shards / "*.parquet")),
    ]
    for name, source in sources:
        manifest = build(source, accounts, registry, tmp_path / name)
        assert kept_rows(tmp_path / name) == expected, name
        assert manifest["counts"] == reference["counts"]


def _content_with(tmp_path: Path, mutate: str) -> tuple[Path, Path, Path]:
    w = sample_world()
    accounts, content, registry = w.write(tmp_path / "in")
    table = pq.read_table(content)
    if mutate == "missing column":
        table = table.drop_columns(["visibility"])
    elif mutate == "wrong type":
        table = table.set_column(
            0, "content_id", pa.array([str(v) for v in table["content_id"].to_pylist()])
        )
    elif mutate == "unknown kind":
        kinds = table["kind"].to_pylist()
        kinds[0] = "reel"
        table = table.set_column(table.schema.get_field_index("kind"), "kind", pa.array(kinds))
    elif mutate == "duplicate id":
        table = pa.concat_tables([table, table.slice(0, 1)])
    elif mutate == "null author":
        authors = table["author_id"].to_pylist()
        authors[1] = None
        table = table.set_column(1, pa.field("author_id", pa.int64()), pa.array(authors))
    pq.write_table(table, content)
    return accounts, content, registry


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ("missing column", "column 'visibility': missing"),
        ("wrong type", "column 'content_id': has type VARCHAR, expected BIGINT"),
        ("unknown kind", "1 rows with unknown kind"),
        ("duplicate id", "column 'content_id': duplicate id"),
        ("null author", "1 rows with null author_id"),
    ],
)
def test_bad_content_is_refused(tmp_path: Path, mutate: str, message: str) -> None:
    accounts, content, registry = _content_with(tmp_path, mutate)
    out = tmp_path / "out"
    with pytest.raises(InputError) as caught:
        build(content, accounts, registry, out)
    assert str(content) in str(caught.value)
    assert message in str(caught.value)
    assert_nothing_published(tmp_path, out)


def test_unreadable_file(tmp_path: Path) -> None:
    accounts, _, registry = sample_world().write(tmp_path / "in")
    junk = tmp_path / "content.parquet"
    junk.write_bytes(b"this is not parquet at all")
    with pytest.raises(InputError, match=r"content\.parquet"):
        build(junk, accounts, registry, tmp_path / "out")
    assert_nothing_published(tmp_path, tmp_path / "out")


def test_bad_value_in_jsonl(tmp_path: Path) -> None:
    accounts, _, registry = sample_world().write(tmp_path / "in")
    bad = tmp_path / "content.jsonl"
    row = {
        "content_id": 1, "author_id": 1, "kind": "post", "visibility": "public",
        "created_at": "not a time", "text": "x", "media_uri": None, "parent_id": None,
        "mentions": [], "tags": [],
    }  # fmt: skip
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=r"content\.jsonl"):
        build(bad, accounts, registry, tmp_path / "out")
    assert_nothing_published(tmp_path, tmp_path / "out")


def test_duplicate_handles_case_insensitive(tmp_path: Path) -> None:
    w = sample_world()
    w.account(3, handle="ANN")
    accounts, content, registry = w.write(tmp_path / "in")
    with pytest.raises(InputError, match="duplicate handle"):
        build(content, accounts, registry, tmp_path / "out")


def test_snapshot_sidecar_mismatch_and_missing_sidecar(tmp_path: Path) -> None:
    accounts, content, registry = sample_world().write(tmp_path / "in")
    sidecar = registry.with_name(registry.name + ".json")
    meta = json.loads(sidecar.read_text())
    good = meta["sha256"]
    meta["sha256"] = "0" * 64
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(SnapshotIntegrityError, match="does not match"):
        build(content, accounts, registry, tmp_path / "out")
    assert_nothing_published(tmp_path, tmp_path / "out")
    sidecar.unlink()
    manifest = build(content, accounts, registry, tmp_path / "out")
    snapshot = manifest["registry_snapshot"]
    assert isinstance(snapshot, dict)
    assert snapshot["sha256"] == good
    assert snapshot["sidecar_verified"] is False


def test_existing_output_is_never_overwritten(tmp_path: Path) -> None:
    accounts, content, registry = sample_world().write(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError):
        build(content, accounts, registry, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_errors_are_one_line_with_an_exit_code_and_no_traceback(tmp_path: Path) -> None:
    accounts, content, registry = _content_with(tmp_path, "unknown kind")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "build", "--content", str(content),
         "--accounts", str(accounts), "--registry", str(registry), "--out", str(out),
         "--as-of", "2026-06-01"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == InputError.exit_code
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert str(content) in proc.stderr
    assert not out.exists()
    assert InputError.exit_code != NotrainError.exit_code


def test_schema_of_outputs(tmp_path: Path) -> None:
    accounts, content, registry = sample_world().write(tmp_path / "in")
    out = tmp_path / "out"
    build(content, accounts, registry, out)
    shard = pq.read_schema(next(out.glob("part-*.parquet")))
    assert shard.names == [*CONTENT.names, "source_sha256"]
    assert pq.read_schema(out / "exclusions.parquet").names == ["content_id", "reason"]
    assert pq.read_schema(out / "lineage.parquet").names == [
        "content_id", "author_id", "mentions", "tags",
    ]  # fmt: skip
