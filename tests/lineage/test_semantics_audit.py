"""Recall, impact and access answers on the edge cases their semantics name.

A hand-written platform (tests/corpus/world.py) is built with the real builder and
recalled under newer snapshots; registry decisions are written straight into the registry
database, so each rule is checked on a few rows whose fate is known in advance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from notrain.contracts import SNAPSHOT
from notrain.corpus.dataset import verify
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.lineage.access import access_answer, access_answer_for_request
from notrain.lineage.catalogue import register_dataset, register_model
from notrain.lineage.holdings import holdings
from notrain.lineage.impact import impact
from notrain.policy.loader import LoadedPolicy, load_policy_text
from notrain.registry.db import session_factory
from notrain.registry.models import Request, RequestIdentifier, RequestSubject
from notrain.registry.snapshot import write_snapshot
from tests.corpus.world import World, utc

ANNA, BOB, CAROL = 1, 2, 3
DECIDED = utc("2026-07-01")


def platform() -> World:
    """Ten public posts, photos and videos of three adults in France.

    Built in chunks of three rows: shards [1, 2, 3], [4, 5, 6], [7, 8, 9], [10].
    """
    w = World()
    for user_id, handle in ((ANNA, "anna"), (BOB, "bob"), (CAROL, "carol")):
        w.account(user_id, handle=handle)
    w.item(ANNA, text="anna's post", content_id=1)
    w.item(ANNA, kind="photo", tags=[BOB], text=None, content_id=2)
    w.item(CAROL, text="hi @bob", mentions=[BOB], content_id=3)
    w.item(CAROL, text="Zoe Martin met Max Muller", content_id=4)
    w.item(BOB, text="bob's post", content_id=5)
    w.item(CAROL, kind="video", tags=[ANNA], text="with anna", content_id=6)
    w.item(CAROL, text="a post that tags bob", tags=[BOB], content_id=7)
    for cid in (8, 9, 10):
        w.item(CAROL, text=f"carol's post {cid}", content_id=cid)
    return w


def decision(
    subject_id: int | None, kind: str, effective_at: str, identifiers: list[str] | None = None
) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "identifiers": identifiers or [],
        "kind": kind,
        "effective_at": utc(effective_at),
        "request_id": f"req-{subject_id}-{kind}-{effective_at}",
    }


def snapshot(rows: list[dict[str, Any]], path: Path) -> Path:
    write_snapshot(pa.Table.from_pylist(rows, schema=SNAPSHOT), path)
    return path


def recall(
    parent: Path, registry: Path, out: Path, as_of: str, policy: LoadedPolicy | None = None
) -> dict[str, Any]:
    result = recall_dataset(
        RecallRequest(parent, str(registry), out, as_of=utc(as_of), policy=policy)
    )
    return result.manifest


def rows(dataset: Path) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for shard in sorted(dataset.glob("part-*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            found[row["content_id"]] = row
    return found


def reasons(path: Path) -> dict[int, str]:
    return {r["content_id"]: r["reason"] for r in pq.read_table(path).to_pylist()}


def shard_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    return {s["file"]: s["sha256"] for s in manifest["shards"]}


# Bob is erased, a non-member "Zoe Martin" objects; then Anna objects.
BOB_ERASED_ZOE_LISTED = [
    decision(BOB, "erasure", "2026-07-01"),
    decision(None, "objection", "2026-07-01", ["zoe martin"]),
]
ANNA_OBJECTS = [*BOB_ERASED_ZOE_LISTED, decision(ANNA, "objection", "2026-08-15")]


# -- recall ----------------------------------------------------------------------------


def test_recall_of_a_recall_names_erasure_and_objection_and_carries_the_chain(
    tmp_path: Path,
) -> None:
    w = platform()
    built = w.build(tmp_path, chunk_rows=3)
    v1, v2, v3 = tmp_path / "dataset", tmp_path / "v2", tmp_path / "v3"
    assert set(built.kept) == set(range(1, 11))
    first = recall(v1, snapshot(BOB_ERASED_ZOE_LISTED, tmp_path / "s2.parquet"), v2, "2026-08-01")

    # Bob's own post: erased; the photo tagging him: a third party's objection (erasure
    # protects him in others' content as an objection does); a post that only tags him
    # and the comment that @mentions him stay, with him taken out of text and lists.
    assert reasons(v2 / "removed.parquet") == {2: "third_party_objected", 5: "author_erased"}
    after = rows(v2)
    assert after[3]["text"] == "hi @[redacted]"
    assert after[3]["mentions"] == []
    assert after[7]["text"] == "a post that tags bob"
    assert after[7]["tags"] == []
    assert after[4]["text"] == "[redacted] met Max Muller"
    assert first["recall"]["removed_by_reason"] == {"author_erased": 1, "third_party_objected": 1}
    assert first["recall"]["identifiers_newly_redacted"] == 1
    assert (
        shard_hashes(first)["part-00003.parquet"]
        == shard_hashes(built.manifest)["part-00003.parquet"]
    )

    second = recall(v2, snapshot(ANNA_OBJECTS, tmp_path / "s3.parquet"), v3, "2026-09-01")
    assert second["parent"]["dataset_id"] == first["dataset_id"]
    assert second["parent"]["path"] == str(v2)
    assert reasons(v3 / "removed.parquet") == {1: "author_objected", 6: "third_party_objected"}
    assert reasons(v3 / "exclusions.parquet") == {
        2: "third_party_objected",
        5: "author_erased",
        1: "author_objected",
        6: "third_party_objected",
    }
    # Zoe was redacted by the parent: not again, and shards with no change keep their bytes.
    assert second["recall"]["identifiers_newly_redacted"] == 0
    assert second["recall"]["shards_rewritten"] == ["part-00000.parquet", "part-00001.parquet"]
    for shard in ("part-00002.parquet", "part-00003.parquet"):
        assert shard_hashes(second)[shard] == shard_hashes(first)[shard]
    counts = second["counts"]
    assert (counts["kept"], counts["excluded"]) == (6, 4)
    assert counts["excluded_by_reason"]["third_party_objected"] == 2
    assert sum(counts["excluded_by_reason"].values()) == counts["excluded"]
    assert verify(v3) == []

    # The chain ends where one build under the newest snapshot would.
    fresh = World(accounts=w.accounts, content=w.content, snapshot=ANNA_OBJECTS)
    assert fresh.build(tmp_path / "fresh", as_of=utc("2026-09-01"), chunk_rows=3).kept == rows(v3)


def test_a_newly_listed_identifier_redacts_text_and_keeps_every_row(tmp_path: Path) -> None:
    built = platform().build(tmp_path, chunk_rows=3)
    listed = [decision(None, "erasure", "2026-07-01", ["Max  Muller"])]
    manifest = recall(
        tmp_path / "dataset",
        snapshot(listed, tmp_path / "s.parquet"),
        tmp_path / "v2",
        "2026-08-01",
    )
    assert manifest["recall"]["removed"] == 0
    assert manifest["recall"]["shards_rewritten"] == ["part-00001.parquet"]
    assert pq.read_table(tmp_path / "v2" / "removed.parquet").num_rows == 0
    assert manifest["counts"] == built.manifest["counts"]
    after = rows(tmp_path / "v2")
    assert after[4]["text"] == "Zoe Martin met [redacted]"
    assert after[4]["source_sha256"] == built.kept[4]["source_sha256"]
    assert {cid: row for cid, row in after.items() if cid != 4} == {
        cid: row for cid, row in built.kept.items() if cid != 4
    }


def consent_policy() -> LoadedPolicy:
    """The shipped default with France under opt-in consent."""
    text = (files("notrain.policy") / "default.toml").read_text("utf-8")
    fr = '"FI", "FR", "DE"'
    assert fr in text
    text = text.replace(fr, '"FI", "DE"').replace(
        'name = "Brazil"',
        'name = "France"\ncountries = ["FR"]\nregime = "consent"\n'
        'active_from = 2024-01-01\n\n[[jurisdictions]]\nname = "Brazil"',
    )
    return load_policy_text(text, "consent.toml")


def consenting_platform() -> World:
    w = World()
    w.account(ANNA, handle="anna")
    w.account(BOB, handle="bob")
    w.item(ANNA, text="anna's post", content_id=1)
    w.item(BOB, text="bob's post", content_id=2)
    w.item(ANNA, kind="photo", tags=[BOB], text=None, content_id=3)
    w.item(ANNA, text="hi @bob", mentions=[BOB], content_id=4)
    w.decide(ANNA, "consent", "2025-01-01")
    w.decide(BOB, "consent", "2025-01-01")
    return w


def test_consent_withdrawal_removes_only_the_authors_own_rows(tmp_path: Path) -> None:
    policy = consent_policy()
    w = consenting_platform()
    built = w.build(tmp_path, policy=policy, chunk_rows=2)
    assert set(built.kept) == {1, 2, 3, 4}
    withdrawn = [r for r in w.snapshot if r["subject_id"] != BOB]
    manifest = recall(
        tmp_path / "dataset",
        snapshot(withdrawn, tmp_path / "s.parquet"),
        tmp_path / "v2",
        "2026-08-01",
        policy,
    )
    assert reasons(tmp_path / "v2" / "removed.parquet") == {2: "no_consent"}
    assert manifest["recall"]["removed_by_reason"] == {"no_consent": 1}
    # Withdrawing consent is not an objection: Bob stays tagged and mentioned in Anna's rows.
    after = rows(tmp_path / "v2")
    assert after[3]["tags"] == [BOB]
    assert after[4]["text"] == "hi @bob"
    assert after[4]["mentions"] == [BOB]
    assert manifest["shards"][1]["sha256"] == built.manifest["shards"][1]["sha256"]


def test_a_row_naming_two_identifiers_is_held_for_each(tmp_path: Path) -> None:
    platform().build(tmp_path, chunk_rows=3)
    found = holdings(tmp_path / "dataset", [], ["zoe martin", "max muller", "nobody here"])
    assert {key: h.named for key, h in found.items()} == {"zoe martin": [4], "max muller": [4]}


# -- impact and access answers ---------------------------------------------------------


def decided(
    session: Session,
    request_id: str,
    kind: str,
    at: datetime,
    subjects: tuple[int, ...] = (),
    identifiers: tuple[str, ...] = (),
) -> None:
    """An accepted request, as the registry's workflow leaves it."""
    request = Request(
        id=request_id,
        kind=kind,
        state="accepted",
        email=f"{request_id}@example.org",
        country="FR",
        fingerprint=request_id.ljust(64, "0"),
        source="test",
        member=bool(subjects),
        received_at=at - timedelta(days=1),
        due_at=at + timedelta(days=30),
        extended_months=0,
        verified_at=at - timedelta(days=1),
        decided_at=at,
    )
    request.subjects = [RequestSubject(subject_id=s, matched_by="email") for s in subjects]
    request.identifiers = [RequestIdentifier(kind="name", value=v) for v in identifiers]
    session.add(request)


def test_impact_per_request_spares_recalls_that_already_removed_the_rows(
    tmp_path: Path, database_url: str
) -> None:
    platform().build(tmp_path, chunk_rows=3)
    later = [*BOB_ERASED_ZOE_LISTED, decision(None, "objection", "2026-07-01", ["max muller"])]
    recall(
        tmp_path / "dataset", snapshot(later, tmp_path / "s.parquet"), tmp_path / "v2", "2026-08-01"
    )
    factory = session_factory(database_url)
    with factory.begin() as session:
        parent = register_dataset(session, tmp_path / "v2").parent_id
        assert parent is not None
        child = register_dataset(session, tmp_path / "v2").id
        register_model(session, parent, "m-parent")
        register_model(session, child, "m-recall")
        decided(session, "req-old", "objection", DECIDED - timedelta(days=60), (CAROL,))
        decided(session, "req-bob", "erasure", DECIDED, (BOB,))
        decided(session, "req-zoe", "objection", DECIDED, identifiers=("zoe martin",))
        decided(session, "req-max", "objection", DECIDED, identifiers=("max muller",))
        decided(session, "req-anna-access", "access", DECIDED, (ANNA,))
    with factory() as session:
        report = impact(session, DECIDED - timedelta(days=7))
        after_all = impact(session, DECIDED + timedelta(seconds=1))
    factory.kw["bind"].dispose()
    assert after_all == []
    assert [r.request_id for r in report] == ["req-bob", "req-max", "req-zoe"]
    by_id = {r.request_id: r for r in report}
    # Bob: his post, the photo tagging him, the post tagging him, the comment mentioning
    # him; all gone or cleaned in the recall.
    assert [(d.dataset_id, d.rows) for d in by_id["req-bob"].datasets] == [(parent, 4)]
    assert by_id["req-bob"].models == ["m-parent"]
    # One comment names both non-members: it is the impact of each request.
    for request_id in ("req-zoe", "req-max"):
        assert [(d.dataset_id, d.rows) for d in by_id[request_id].datasets] == [(parent, 1)]
        assert by_id[request_id].models == ["m-parent"]


def test_impact_of_a_consent_withdrawal_is_the_authors_own_rows(
    tmp_path: Path, database_url: str
) -> None:
    policy = consent_policy()
    w = consenting_platform()
    w.build(tmp_path, policy=policy, chunk_rows=2)
    withdrawn = [r for r in w.snapshot if r["subject_id"] != BOB]
    recall(
        tmp_path / "dataset",
        snapshot(withdrawn, tmp_path / "s.parquet"),
        tmp_path / "v2",
        "2026-08-01",
        policy,
    )
    factory = session_factory(database_url)
    with factory.begin() as session:
        parent = register_dataset(session, tmp_path / "v2").parent_id
        decided(session, "req-bob", "consent_withdrawal", DECIDED, (BOB,))
    with factory() as session:
        [report] = impact(session, DECIDED)
    factory.kw["bind"].dispose()
    # The recall keeps the photo tagging Bob and the comment mentioning him, as it should:
    # it is not affected by the withdrawal; the parent is, by his own post only.
    assert [(d.dataset_id, d.rows) for d in report.datasets] == [(parent, 1)]


def test_access_answer_after_erasure_and_along_a_chain_names_the_recalls(
    tmp_path: Path, database_url: str
) -> None:
    platform().build(tmp_path, chunk_rows=3)
    v1, v2, v3 = tmp_path / "dataset", tmp_path / "v2", tmp_path / "v3"
    recall(v1, snapshot(BOB_ERASED_ZOE_LISTED, tmp_path / "s2.parquet"), v2, "2026-08-01")
    recall(v2, snapshot(ANNA_OBJECTS, tmp_path / "s3.parquet"), v3, "2026-09-01")
    factory = session_factory(database_url)
    with factory.begin() as session:
        ids = [register_dataset(session, path).id for path in (v1, v2, v3)]
        register_model(session, ids[0], "m1")
        decided(session, "req-bob", "erasure", DECIDED, (BOB,))
    with factory() as session:
        bob = access_answer_for_request(session, "req-bob")
        anna = access_answer(session, ANNA)
        zoe = access_answer(session, None, ["Zoe  Martin"])
    factory.kw["bind"].dispose()

    assert bob.subject_ids == [BOB]
    [held] = bob.datasets
    assert held.dataset_id == ids[0]
    assert held.authored_by_kind == {"post": 1}
    assert (held.tagged, held.mentioned, held.named) == (2, 1, 0)
    assert held.content_ids == [2, 3, 5, 7]
    assert held.models == ["m1"]
    assert [(r.dataset_id, r.parent_id, r.removed_content_ids) for r in bob.recalls] == [
        (ids[1], ids[0], [2, 5])
    ]

    # Anna's rows were in v1 and v2: her photo of Bob left with the first recall (for
    # Bob's erasure), her post and the video tagging her with the recall of the recall.
    assert [(d.dataset_id, d.content_ids) for d in anna.datasets] == [
        (ids[0], [1, 2, 6]),
        (ids[1], [1, 6]),
    ]
    assert [(r.dataset_id, r.parent_id, r.removed_content_ids) for r in anna.recalls] == [
        (ids[1], ids[0], [2]),
        (ids[2], ids[1], [1, 6]),
    ]

    # Zoe was redacted, not removed: named in v1 only, and no recall removed a row of hers.
    assert [(d.dataset_id, d.named, d.content_ids) for d in zoe.datasets] == [(ids[0], 1, [4])]
    assert zoe.recalls == []


# -- CLI -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["models", "register", "--dataset", "ds-0000000000000000", "--name", "m"], 21,
         "dataset ds-0000000000000000 is not in the catalogue"),
        (["recall", "--dataset", "no-such-dir", "--out", "v2", "--registry", "s.parquet"], 3,
         "not a dataset"),
        (["access", "--request", "req-unknown"], 11, "req-unknown"),
        (["access"], 2, "give --request, --subject or --identifier"),
        (["impact", "--since", "last tuesday"], 2, "--since: 'last tuesday' is not an ISO 8601"),
    ],
)  # fmt: skip
def test_lineage_commands_fail_with_one_line_and_their_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    env = {
        **os.environ,
        "NOTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "NOTRAIN_SECRET_KEY": "semantics-audit-secret-key-0123456789",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", *args],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "v2").exists()
    assert proc.stdout == ""
