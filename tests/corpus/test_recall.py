"""A recall removes exactly what later decisions disallow, and touches nothing else."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.contracts import SNAPSHOT
from notrain.corpus.dataset import verify
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.errors import InputError, UserError
from notrain.registry.snapshot import write_snapshot
from tests.corpus.world import Built, World, utc

LATER = utc("2026-09-01")


def platform() -> tuple[World, dict[str, int]]:
    w = World()
    ids = {
        "anna": w.account(1, handle="anna"),
        "bob": w.account(2, handle="bob"),
        "carol": w.account(3, handle="carol"),
        "dan": w.account(4, handle="dan", country="BR"),
    }
    # Chunks of 4 input rows: the first chunk has only anna's and carol's rows.
    for n in range(4):
        w.item(ids["anna"] if n % 2 else ids["carol"], text=f"first chunk {n}", content_id=n)
    w.item(ids["bob"], text="bob's post", content_id=10)
    w.item(ids["anna"], kind="photo", tags=[ids["bob"]], text=None, content_id=11)
    w.item(ids["carol"], text="hello @bob and Zoe Martin", mentions=[ids["bob"]], content_id=12)
    w.item(ids["dan"], text="dan in Brazil, call 0612345678", content_id=13)
    w.item(ids["dan"], text="more from dan", content_id=20)
    w.item(ids["carol"], text="carol again", content_id=21)
    w.decide(ids["dan"], "objection", effective_at="2026-01-01")
    return w, ids


def later_snapshot(w: World, path: Path, bob: int) -> Path:
    rows = [*w.snapshot]
    rows.append(
        {"subject_id": bob, "identifiers": [], "kind": "objection",
         "effective_at": utc("2026-07-01"), "request_id": "req-late"}
    )  # fmt: skip
    rows.append(
        {"subject_id": None, "identifiers": ["zoe martin"], "kind": "objection",
         "effective_at": utc("2026-07-02"), "request_id": "req-late-2"}
    )  # fmt: skip
    write_snapshot(pa.Table.from_pylist(rows, schema=SNAPSHOT), path)
    return path


@pytest.fixture
def recalled(tmp_path: Path) -> tuple[Built, Path, Path, World, dict[str, int]]:
    w, ids = platform()
    built = w.build(tmp_path, chunk_rows=4)
    snapshot = later_snapshot(w, tmp_path / "later.parquet", ids["bob"])
    out = tmp_path / "recalled"
    recall_dataset(
        RecallRequest(dataset=tmp_path / "dataset", registry=str(snapshot), out=out, as_of=LATER)
    )
    return built, tmp_path / "dataset", out, w, ids


def rows(path: Path) -> dict[int, dict[str, object]]:
    found: dict[int, dict[str, object]] = {}
    for shard in sorted(path.glob("part-*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            found[row["content_id"]] = row
    return found


def test_recall_removes_exactly_the_late_objector(
    recalled: tuple[Built, Path, Path, World, dict[str, int]],
) -> None:
    built, parent, out, _, _ = recalled
    before, after = rows(parent), rows(out)
    assert set(before) - set(after) == {10, 11}
    removed = {
        r["content_id"]: r["reason"] for r in pq.read_table(out / "removed.parquet").to_pylist()
    }
    assert removed == {10: "author_objected", 11: "third_party_objected"}
    assert after[12]["text"] == "hello @[redacted] and [redacted]"
    assert after[12]["mentions"] == []
    assert after[12]["source_sha256"] == before[12]["source_sha256"]
    for cid in set(after) - {12}:
        assert after[cid] == before[cid], cid
    exclusions = {
        r["content_id"]: r["reason"] for r in pq.read_table(out / "exclusions.parquet").to_pylist()
    }
    assert exclusions == {**built.reasons, 10: "author_objected", 11: "third_party_objected"}


def test_untouched_shards_keep_their_bytes_and_the_manifest_verifies(
    recalled: tuple[Built, Path, Path, World, dict[str, int]],
) -> None:
    _, parent, out, _, _ = recalled
    assert verify(out) == []
    parent_manifest = json.loads((parent / "manifest.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    old = {s["file"]: s["sha256"] for s in parent_manifest["shards"]}
    new = {s["file"]: s["sha256"] for s in manifest["shards"]}
    assert new["part-00000.parquet"] == old["part-00000.parquet"]
    assert manifest["recall"]["shards_rewritten"] == ["part-00001.parquet"]
    assert new["part-00001.parquet"] != old["part-00001.parquet"]
    assert manifest["parent"]["dataset_id"] == parent_manifest["dataset_id"]
    assert manifest["recall"]["removed_by_reason"] == {
        "author_objected": 1, "third_party_objected": 1,
    }  # fmt: skip
    counts = manifest["counts"]
    assert counts["kept"] == parent_manifest["counts"]["kept"] - 2
    assert counts["kept"] + counts["excluded"] == counts["input"]
    assert sum(counts["excluded_by_reason"].values()) == counts["excluded"]
    assert sum(counts["kept_by_kind"].values()) == counts["kept"]
    assert sum(s["rows"] for s in manifest["shards"]) == counts["kept"]


def test_recall_equals_a_fresh_build_at_the_new_as_of(
    recalled: tuple[Built, Path, Path, World, dict[str, int]], tmp_path: Path
) -> None:
    _, _, out, w, ids = recalled
    fresh = World(accounts=w.accounts, content=w.content, snapshot=[*w.snapshot])
    snapshot = pq.read_table(later_snapshot(w, tmp_path / "again.parquet", ids["bob"]))
    fresh.snapshot = snapshot.to_pylist()
    rebuilt = fresh.build(tmp_path / "fresh", as_of=LATER, chunk_rows=4)
    assert rebuilt.kept == rows(out)


def test_recall_refuses_an_earlier_as_of_and_a_tampered_parent(tmp_path: Path) -> None:
    w, ids = platform()
    w.build(tmp_path, chunk_rows=4)
    snapshot = later_snapshot(w, tmp_path / "later.parquet", ids["bob"])
    with pytest.raises(UserError, match="before the parent"):
        recall_dataset(
            RecallRequest(
                tmp_path / "dataset", str(snapshot), tmp_path / "x", as_of=utc("2020-01-01")
            )
        )
    shard = tmp_path / "dataset" / "part-00000.parquet"
    shard.write_bytes(shard.read_bytes() + b"x")
    with pytest.raises(InputError, match="does not match its manifest"):
        recall_dataset(
            RecallRequest(tmp_path / "dataset", str(snapshot), tmp_path / "y", as_of=LATER)
        )
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()


def test_recall_of_everyone_leaves_no_shard_and_an_empty_lineage(tmp_path: Path) -> None:
    w, ids = platform()
    w.build(tmp_path, chunk_rows=4)
    rows_ = [*w.snapshot] + [
        {"subject_id": person, "identifiers": [], "kind": "erasure",
         "effective_at": utc("2026-07-01"), "request_id": f"req-{name}"}
        for name, person in ids.items()
    ]  # fmt: skip
    snapshot = tmp_path / "everyone.parquet"
    write_snapshot(pa.Table.from_pylist(rows_, schema=SNAPSHOT), snapshot)
    out = tmp_path / "recalled"
    recall_dataset(RecallRequest(tmp_path / "dataset", str(snapshot), out, as_of=LATER))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shards"] == []
    assert manifest["counts"]["kept"] == 0
    assert not list(out.glob("part-*.parquet"))
    lineage = pq.read_table(out / "lineage.parquet")
    assert lineage.num_rows == 0
    assert lineage.column_names == ["content_id", "author_id", "mentions", "tags"]
    exclusions = pq.read_table(out / "exclusions.parquet").to_pydict()
    assert len(exclusions["content_id"]) == manifest["counts"]["input"]
    assert set(exclusions["content_id"]) == {r["content_id"] for r in w.content}
    assert verify(out) == []


def test_recall_reports_progress_per_shard(tmp_path: Path) -> None:
    w, ids = platform()
    built = w.build(tmp_path, chunk_rows=4)
    snapshot = later_snapshot(w, tmp_path / "later.parquet", ids["bob"])
    calls: list[tuple[str, int, int | None]] = []
    recall_dataset(
        RecallRequest(tmp_path / "dataset", str(snapshot), tmp_path / "out", as_of=LATER),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )
    shards = json.loads((tmp_path / "dataset" / "manifest.json").read_text())["shards"]
    kept = len(built.kept)
    per_shard = [c for c in calls if c[0] == "recalling" and c[1] > 0]
    assert [done for _, done, _ in per_shard] == list(
        itertools.accumulate(s["rows"] for s in shards)
    )
    assert per_shard[-1] == ("recalling", kept, kept)
    assert calls[-1][0] == "publishing"


def test_only_the_parents_own_snapshot_and_accounts_limit_the_rescoring(tmp_path: Path) -> None:
    w, ids = platform()
    w.build(tmp_path, chunk_rows=4)
    snapshot = later_snapshot(w, tmp_path / "later.parquet", ids["bob"])

    def rescored(out: str, accounts: str | None = None) -> str:
        request = RecallRequest(
            tmp_path / "dataset", str(snapshot), tmp_path / out, as_of=LATER, accounts=accounts
        )
        recall_dataset(request)
        manifest = json.loads((tmp_path / out / "manifest.json").read_text())
        return str(manifest["recall"]["rescored"])

    assert rescored("limited") == "changed"
    # Accounts given (even the same file): who changed cannot be told from the snapshots.
    assert rescored("given", accounts=str(tmp_path / "in" / "accounts.parquet")) == "all"
    # The parent's snapshot changed since its build: it no longer says what the parent saw.
    registry = tmp_path / "in" / "registry.parquet"
    registry.write_bytes(registry.read_bytes() + b"\0")
    assert rescored("changed") == "all"
    assert rows(tmp_path / "limited") == rows(tmp_path / "given") == rows(tmp_path / "changed")


def recall_at_later(
    w: World, tmp_path: Path, later: list[dict[str, Any]]
) -> tuple[dict[str, object], dict[int, dict[str, object]], dict[int, dict[str, object]]]:
    """Recall ``w``'s dataset (built into ``tmp_path``) under the snapshot ``later``: the
    manifest's ``recall``, the recalled rows and a fresh build's at the new as-of."""
    snapshot = tmp_path / "later.parquet"
    write_snapshot(pa.Table.from_pylist(later, schema=SNAPSHOT), snapshot)
    out = tmp_path / "recalled"
    recall_dataset(RecallRequest(tmp_path / "dataset", str(snapshot), out, as_of=LATER))
    fresh = World(accounts=w.accounts, content=w.content, snapshot=later)
    expected = fresh.build(tmp_path / "fresh", as_of=LATER, chunk_rows=10).kept
    return json.loads((out / "manifest.json").read_text())["recall"], rows(out), expected


def _listed(identifiers: list[str]) -> dict[str, Any]:
    """A non-member's objection after the parent, listing ``identifiers``."""
    return {"subject_id": None, "identifiers": identifiers, "kind": "objection",
            "effective_at": utc("2026-07-02"), "request_id": f"req-{identifiers[0]}"}  # fmt: skip


def test_a_newly_listed_name_is_redacted_where_nothing_else_changed(tmp_path: Path) -> None:
    # A non-member's objection after the parent: the rows naming her change only by that
    # (no author or tag changed), and the rows beside them keep the parent's text, whose
    # e-mails and phones the parent already redacted.
    w = World()
    anna = w.account(1, handle="anna")
    w.item(anna, text="lunch with Zoe Martin, mail anna@example.org", content_id=1)
    w.item(anna, text="call 0612345678 or anna@example.org", content_id=2)
    w.item(anna, text="nothing to see", content_id=3)
    w.build(tmp_path, chunk_rows=10)
    recall, got, expected = recall_at_later(w, tmp_path, [*w.snapshot, _listed(["zoe martin"])])
    assert recall["rescored"] == "changed"
    assert recall["shards_rewritten"] == ["part-00000.parquet"]
    assert got[1]["text"] == "lunch with [redacted], mail [email]"
    assert got[2]["text"] == rows(tmp_path / "dataset")[2]["text"]
    assert got == expected


def test_a_newly_protected_person_named_only_in_text_is_found_in_any_case(
    tmp_path: Path,
) -> None:
    # Named by @handle in the text alone (no mentions list), in another case, and a handle
    # of another script ended by one ("@ÜNALさん"): a recall finds them as a build does.
    w = World()
    anna = w.account(1, handle="anna")
    bob = w.account(2, handle="Bob.Smith")
    unal = w.account(3, handle="ünal")
    w.item(anna, text="hi @BOB.SMITH!", content_id=1)
    w.item(anna, text="merci @ÜNALさん", content_id=2)
    w.item(anna, text="hi @bob.smithy and @ünalx", content_id=3)
    w.build(tmp_path, chunk_rows=10)
    objections = [
        {"subject_id": who, "identifiers": [], "kind": "objection",
         "effective_at": utc("2026-07-01"), "request_id": f"req-{who}"}
        for who in (bob, unal)
    ]  # fmt: skip
    recall, got, expected = recall_at_later(w, tmp_path, [*w.snapshot, *objections])
    assert recall["rescored"] == "changed"
    assert got[1]["text"] == "hi @[redacted]!"
    assert got[2]["text"] == "merci @[redacted]さん"
    assert got[3]["text"] == "hi @bob.smithy and @ünalx"
    assert got == expected


def test_a_newly_listed_address_the_parent_made_an_email_placeholder_is_redacted_as_a_build_does(
    tmp_path: Path,
) -> None:
    # A build replaces a listed identifier before e-mails and phones: a non-member's
    # address listed after the parent is "[redacted]" in a fresh build, while the parent
    # already holds "[email]" there (and so does a name glued to an address). The recall
    # takes those texts from the parent's source again.
    w = World()
    anna = w.account(1, handle="anna")
    w.item(anna, text="write to zoe@example.org today", content_id=1)
    w.item(anna, text="Zoe Martin: zoe.martin@example.net, or anna@example.org", content_id=2)
    w.item(anna, text="mail anna@example.org or call 0612345678", content_id=3)
    w.item(anna, text="nothing here", content_id=4)
    w.build(tmp_path, chunk_rows=10)
    zoe = _listed(["zoe@example.org", "zoe martin"])
    recall, got, expected = recall_at_later(w, tmp_path, [*w.snapshot, zoe])
    assert recall["texts_redacted_from_source"] == 2  # the two naming Zoe
    assert got[1]["text"] == "write to [redacted] today"
    assert got[2]["text"] == expected[2]["text"]
    assert got[3]["text"] == "mail [email] or call [phone]"
    assert got == expected
    recorded = json.loads((tmp_path / "recalled" / "manifest.json").read_text())["redaction"]
    fresh = json.loads((tmp_path / "fresh" / "dataset" / "manifest.json").read_text())
    assert recorded == fresh["redaction"]
    assert recorded["identifiers"] == 2


def test_a_longer_name_listed_after_a_shorter_one_is_redacted_whole(tmp_path: Path) -> None:
    # The parent knew "maria" only: "[redacted] gonzalez". A fresh build that knows both
    # replaces "maria gonzalez" whole, and so does the recall, from the source.
    w = World()
    anna = w.account(1, handle="anna")
    w.item(anna, text="met Maria Gonzalez and maria", content_id=1)
    w.item(anna, text="maria says hi", content_id=2)
    w.decide(None, identifiers=["maria"], effective_at="2026-01-01")
    w.build(tmp_path, chunk_rows=10)
    recall, got, expected = recall_at_later(w, tmp_path, [*w.snapshot, _listed(["Maria Gonzalez"])])
    assert got[1]["text"] == "met [redacted] and [redacted]"
    assert got[2]["text"] == "[redacted] says hi"
    assert recall["texts_redacted_from_source"] == 1
    assert got == expected


def test_texts_are_taken_from_the_source_only_when_it_is_the_parents(tmp_path: Path) -> None:
    w = World()
    anna = w.account(1, handle="anna")
    w.item(anna, text="write to zoe@example.org today", content_id=1)
    w.build(tmp_path, chunk_rows=10)
    snapshot = tmp_path / "later.parquet"
    write_snapshot(
        pa.Table.from_pylist([*w.snapshot, _listed(["zoe@example.org"])], schema=SNAPSHOT),
        snapshot,
    )
    content = tmp_path / "in" / "content.parquet"
    moved = tmp_path / "elsewhere.parquet"
    content.rename(moved)
    request = RecallRequest(tmp_path / "dataset", str(snapshot), tmp_path / "v2", as_of=LATER)
    with pytest.raises(InputError, match="content file is gone; pass --content"):
        recall_dataset(request)
    assert not (tmp_path / "v2").exists()
    # Another text under the same id: each row read is checked against the parent's
    # source_sha256 of it.
    table = pq.read_table(moved).to_pylist()
    table[0]["text"] = "write to zoe@example.org tomorrow"
    altered = tmp_path / "altered.parquet"
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(moved)), altered)
    with pytest.raises(InputError, match="row 1 is not the one the parent was built from"):
        recall_dataset(replace(request, content=str(altered)))
    assert not (tmp_path / "v2").exists()
    recall_dataset(replace(request, content=str(moved)))
    assert rows(tmp_path / "v2")[1]["text"] == "write to [redacted] today"
    # Nothing hidden to look for: the source is not read at all.
    recall_dataset(replace(request, out=tmp_path / "v3", registry=str(_later(w, tmp_path))))
    assert rows(tmp_path / "v3")[1]["text"] == "write to [email] today"


def _later(w: World, tmp_path: Path) -> Path:
    """A later snapshot that lists nothing new."""
    snapshot = tmp_path / "same.parquet"
    write_snapshot(pa.Table.from_pylist(w.snapshot, schema=SNAPSHOT), snapshot)
    return snapshot
