"""The registry snapshot: what is exported, and that `notrain build` honours it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from notrain.contracts import SNAPSHOT
from notrain.corpus.build import BuildRequest, build_dataset
from notrain.policy.loader import load_default_policy
from notrain.registry.accounts import AccountIndex
from notrain.registry.config import RegistryConfig
from notrain.registry.service import Registry
from notrain.registry.snapshot import verify_snapshot
from notrain.synth import SynthResult, synthesize_platform
from tests.registry.fixtures import ACCOUNT_ROWS, ALICE, BOB, STRANGER, FakeClock, Requester


def _rows(path: Path) -> list[dict[str, object]]:
    return [
        {k: v for k, v in row.items() if k != "effective_at"}
        for row in pq.read_table(path).to_pylist()
    ]


def test_member_objection_covers_every_account_of_the_address(
    person: Requester, tmp_path: Path
) -> None:
    request_id = person.request(ALICE)
    result = person.registry.export(tmp_path / "s.parquet")
    assert _rows(tmp_path / "s.parquet") == [
        {"subject_id": 1, "identifiers": [], "kind": "objection", "request_id": request_id},
        {"subject_id": 2, "identifiers": [], "kind": "objection", "request_id": request_id},
    ]
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.schema.equals(SNAPSHOT, check_metadata=False)
    decided = person.registry.get(request_id).decided_at
    assert table.column("effective_at").to_pylist() == [decided, decided]
    info = verify_snapshot(tmp_path / "s.parquet")
    assert info.had_sidecar
    assert info.sha256 == result.snapshot.sha256


def test_non_member_identifiers_and_a_members_extra_names(
    person: Requester, tmp_path: Path, clock: FakeClock
) -> None:
    stranger = person.request(STRANGER, names=["Dana  Stranger"], handles=["@DanaS"])
    member = person.request(BOB, country="FR", names=["Bob Builder"])
    for request_id in (stranger, member):
        clock.advance(hours=1)
        person.registry.decide(request_id, accept=True, officer="olga")
    person.registry.export(tmp_path / "s.parquet")
    assert _rows(tmp_path / "s.parquet") == [
        {"subject_id": None, "identifiers": [STRANGER, "danas", "dana stranger"],
         "kind": "objection", "request_id": stranger},
        {"subject_id": 3, "identifiers": [], "kind": "objection", "request_id": member},
        {"subject_id": None, "identifiers": ["bob builder"], "kind": "objection",
         "request_id": member},
    ]  # fmt: skip


def test_erasure_consent_and_its_withdrawal(
    person: Requester, tmp_path: Path, clock: FakeClock
) -> None:
    consent = person.request(ALICE, kind="consent")
    person.registry.decide(consent, accept=True, officer="olga")
    erasure = person.request(BOB, kind="erasure", country="FR")
    person.registry.decide(erasure, accept=True, officer="olga")
    access = person.request(STRANGER, kind="access")
    person.registry.decide(access, accept=True, officer="olga")
    person.registry.export(tmp_path / "first.parquet")
    first = Counter((r["kind"], r["subject_id"]) for r in _rows(tmp_path / "first.parquet"))
    assert first == {("consent", 1): 1, ("consent", 2): 1, ("erasure", 3): 1}

    clock.advance(days=3)
    withdrawal = person.request(ALICE, kind="consent_withdrawal")
    assert person.registry.get(withdrawal).state == "accepted"
    person.registry.export(tmp_path / "second.parquet")
    second = Counter((r["kind"], r["subject_id"]) for r in _rows(tmp_path / "second.parquet"))
    assert second == {("erasure", 3): 1}
    assert person.registry.get(withdrawal).state == "applied"
    assert person.registry.get(access).state == "accepted"  # access is not a snapshot row


def test_rejected_and_pending_requests_are_not_exported(person: Requester, tmp_path: Path) -> None:
    rejected = person.request(STRANGER)
    person.registry.decide(rejected, accept=False, officer="olga", reason="test")
    person.request(BOB, kind="erasure", country="FR")  # in review
    person.submit(ALICE)  # not verified
    result = person.registry.export(tmp_path / "s.parquet")
    assert result.rows == 0
    assert result.applied == []
    assert pq.read_table(tmp_path / "s.parquet").num_rows == 0


def test_export_applies_once_and_objections_never_lapse(
    person: Requester, tmp_path: Path, clock: FakeClock
) -> None:
    request_id = person.request(ALICE)
    first = person.registry.export(tmp_path / "a.parquet")
    assert first.applied == [request_id]
    clock.advance(days=800)
    second = person.registry.export(tmp_path / "b.parquet")
    assert second.applied == []
    assert _rows(tmp_path / "a.parquet") == _rows(tmp_path / "b.parquet")
    events = [e.action for e in person.registry.get(request_id).events]
    assert events.count("transition") == 3  # submitted→verified→accepted→applied, once


def test_accounts_linked_to_the_address_later_are_covered_too(
    person: Requester, tmp_path: Path
) -> None:
    person.request(ALICE)
    later = tmp_path / "later.parquet"
    rows = [(uid, handle, email) for uid, handle, email, _ in ACCOUNT_ROWS]
    person.registry.accounts = AccountIndex([*rows, (9, "alice_new", ALICE.upper())])
    person.registry.export(later)
    assert [r["subject_id"] for r in _rows(later)] == [1, 2, 9]


# -- read back by the builder ----------------------------------------------------------

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize_platform(tmp_path_factory.mktemp("platform"), 400, seed=5)


def _build(platform: SynthResult, snapshot: Path, out: Path) -> Path:
    build_dataset(
        BuildRequest(
            content=str(platform.content_path),
            accounts=str(platform.accounts_path),
            registry=str(snapshot),
            out=out,
            policy=load_default_policy(),
            as_of=AS_OF,
        )
    )
    return out


def _kept(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(out.glob("part-*.parquet")))


def test_build_leaves_out_the_objecting_members_content(
    platform: SynthResult,
    session: Session,
    config: RegistryConfig,
    clock: FakeClock,
    outbox: object,
    tmp_path: Path,
) -> None:
    from notrain.mail.transport import OutboxTransport
    from tests.registry.fixtures import Requester

    assert isinstance(outbox, OutboxTransport)
    registry = Registry(session, config, AccountIndex.from_parquet(platform.accounts_path), clock)
    person = Requester(registry, outbox)
    registry.export(tmp_path / "before.parquet")
    before = _kept(_build(platform, tmp_path / "before.parquet", tmp_path / "before"))

    # The member with the most kept content objects, through the whole workflow.
    accounts = pq.read_table(platform.accounts_path).to_pylist()
    with_email = {a["user_id"]: a for a in accounts if a["email"]}
    authors = Counter(a for a in before.column("author_id").to_pylist() if a in with_email)
    author, kept_rows = authors.most_common(1)[0]
    assert kept_rows > 0
    email = with_email[author]["email"].lower()
    request_id = person.request(email, country=with_email[author]["country"])
    assert registry.get(request_id).state == "accepted"
    registry.export(tmp_path / "after.parquet")

    out = _build(platform, tmp_path / "after.parquet", tmp_path / "after")
    after = _kept(out)
    assert author not in after.column("author_id").to_pylist()
    theirs = pc.filter(before, pc.equal(before.column("author_id"), author))
    exclusions = pq.read_table(out / "exclusions.parquet")
    reasons = dict(
        zip(exclusions.column("content_id").to_pylist(), exclusions.column("reason").to_pylist(),
            strict=True)
    )  # fmt: skip
    assert {reasons[c] for c in theirs.column("content_id").to_pylist()} == {"author_objected"}
    # Everything else that went is others' content that tags them: they are protected there too.
    gone = set(before.column("content_id").to_pylist()) - set(
        after.column("content_id").to_pylist()
    )
    others = gone - set(theirs.column("content_id").to_pylist())
    assert {reasons[c] for c in others} <= {"third_party_objected"}
