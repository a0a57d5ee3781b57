"""Withdrawing an objection: it counts in snapshots until a later withdrawal is accepted.

A withdrawal ends, per account, the objections accepted before it that cover an account it
covers, and the identifiers of objections made from its own address; snapshots already
written stay as they were, and an objection made again counts again.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from notrain.corpus.build import BuildRequest, build_dataset
from notrain.mail.transport import OutboxTransport
from notrain.policy.loader import load_default_policy
from notrain.registry.accounts import AccountIndex
from notrain.registry.config import RegistryConfig
from notrain.registry.service import Registry
from notrain.registry.snapshot import file_sha256, verify_snapshot
from notrain.synth import SynthResult, synthesize_platform
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester

WITHDRAWAL = "objection_withdrawal"


def _export(person: Requester, path: Path) -> list[tuple[str, int | None, tuple[str, ...], str]]:
    person.registry.export(path)
    return [
        (r["kind"], r["subject_id"], tuple(r["identifiers"]), r["request_id"])
        for r in pq.read_table(path).to_pylist()
    ]


def _withdraw(person: Requester, clock: FakeClock, email: str, **extra: object) -> str:
    clock.advance(hours=1)
    return person.request(email, WITHDRAWAL, **extra)


def _mails(outbox: OutboxTransport, to: str) -> list[str]:
    """Subject and body of every message sent to ``to``, oldest first."""
    found = []
    for path in sorted(outbox.folder.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if str(message["To"]).lower() == to:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found.append(str(message["Subject"]) + "\n" + body.get_content())
    return found


def test_member_withdraws_and_the_next_snapshot_leaves_the_objection_out(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    objection = person.request(ALICE)
    first = _export(person, tmp_path / "first.parquet")
    assert first == [("objection", 1, (), objection), ("objection", 2, (), objection)]
    first_sha = file_sha256(tmp_path / "first.parquet")

    withdrawal = _withdraw(person, clock, ALICE)
    view = person.registry.get(withdrawal)
    assert view.state == "accepted"  # a verified member's withdrawal needs nobody
    assert view.subjects == [(1, "email"), (2, "email")]
    assert _export(person, tmp_path / "second.parquet") == []
    assert person.registry.get(withdrawal).state == "applied"
    # What was exported before is untouched: the first snapshot still holds the objection.
    assert verify_snapshot(tmp_path / "first.parquet").sha256 == first_sha
    assert person.registry.get(objection).state == "applied"


def test_the_withdrawal_mails_say_what_it_does(
    person: Requester, clock: FakeClock, outbox: OutboxTransport
) -> None:
    person.request(ALICE)
    request_id = _withdraw(person, clock, ALICE, country="DE")
    person.registry.deliver_mail(outbox)
    *_, code, accepted = _mails(outbox, ALICE)
    assert code.startswith("Your verification code")
    assert "this request using this address:\n\n    Withdrawal of an objection" in code
    assert f"Your request is accepted ({request_id})" in accepted
    assert "Your objection is withdrawn." in accepted
    assert "This applies to every account linked to this e-mail address, and" in accepted
    assert "datasets made before stay as they were" in accepted


def test_a_withdrawal_accepted_before_the_objection_has_no_effect_on_it(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    # A person without an account objects; the officer accepts it only later.
    objection = person.request(STRANGER, names=["Dana Stranger"])
    assert person.registry.get(objection).state == "needs_review"
    withdrawal = _withdraw(person, clock, STRANGER)
    assert person.registry.get(withdrawal).state == "needs_review"  # no account: a person
    clock.advance(hours=1)
    person.registry.decide(withdrawal, accept=True, officer="olga")
    clock.advance(hours=1)
    person.registry.decide(objection, accept=True, officer="olga")
    rows = _export(person, tmp_path / "s.parquet")
    assert rows == [("objection", None, (STRANGER, "dana stranger"), objection)]


def test_a_withdrawal_with_nothing_to_withdraw_is_accepted_and_changes_nothing(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    withdrawal = person.request(BOB, WITHDRAWAL, country="FR")
    assert person.registry.get(withdrawal).state == "accepted"
    clock.advance(hours=1)
    objection = person.request(BOB, country="FR")
    assert _export(person, tmp_path / "s.parquet") == [("objection", 3, (), objection)]
    assert person.registry.get(withdrawal).state == "applied"


def test_objecting_again_after_a_withdrawal_counts_again(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    person.request(ALICE)
    _withdraw(person, clock, ALICE)
    assert _export(person, tmp_path / "a.parquet") == []
    clock.advance(days=2)
    again = person.request(ALICE)
    assert person.registry.get(again).state == "accepted"
    assert _export(person, tmp_path / "b.parquet") == [
        ("objection", 1, (), again),
        ("objection", 2, (), again),
    ]


def test_a_withdrawal_by_another_address_withdraws_nothing(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    alice = person.request(ALICE)
    stranger = person.request(STRANGER, names=["Dana Stranger"])
    person.registry.decide(stranger, accept=True, officer="olga")
    bob = _withdraw(person, clock, BOB, country="FR")
    other = _withdraw(person, clock, "someone.else@example.net")
    person.registry.decide(other, accept=True, officer="olga")
    assert person.registry.get(bob).state == "accepted"
    rows = _export(person, tmp_path / "s.parquet")
    assert Counter(r[3] for r in rows) == {alice: 2, stranger: 1}


def test_non_member_withdraws_by_the_same_address(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    objection = person.request(STRANGER, names=["Dana Stranger"], handles=["@danas"])
    person.registry.decide(objection, accept=True, officer="olga")
    assert [r[2] for r in _export(person, tmp_path / "a.parquet")] == [
        (STRANGER, "danas", "dana stranger")
    ]
    withdrawal = _withdraw(person, clock, STRANGER, country="AT")
    view = person.registry.get(withdrawal)
    assert view.state == "needs_review"
    assert view.member is False
    clock.advance(hours=1)
    person.registry.decide(withdrawal, accept=True, officer="olga")
    assert _export(person, tmp_path / "b.parquet") == []


def test_a_members_extra_identifiers_go_with_the_withdrawal_but_erasure_stays(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    objection = person.request(BOB, country="FR", names=["Bob Builder"])
    person.registry.decide(objection, accept=True, officer="olga")
    erasure = person.request(ALICE, kind="erasure")
    person.registry.decide(erasure, accept=True, officer="olga")
    clock.advance(minutes=2)  # past the code's cooldown for Bob's address
    consent = person.request(BOB, kind="consent", country="FR")
    person.registry.decide(consent, accept=True, officer="olga")
    assert Counter(r[0] for r in _export(person, tmp_path / "a.parquet")) == {
        "objection": 2, "erasure": 2, "consent": 1,
    }  # fmt: skip
    _withdraw(person, clock, BOB, country="FR")
    _withdraw(person, clock, ALICE)  # Alice never objected: her erasure is not touched
    assert Counter(r[0] for r in _export(person, tmp_path / "b.parquet")) == {
        "erasure": 2, "consent": 1,
    }  # fmt: skip


def test_a_withdrawal_covers_the_account_its_handle_names_after_review(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    objection = person.request(STRANGER, handle="carol")  # Carol's account has no address
    person.registry.decide(objection, accept=True, officer="olga")
    assert [r[1] for r in _export(person, tmp_path / "a.parquet")] == [4, None]
    withdrawal = _withdraw(person, clock, "carol.new@example.org", handle="carol")
    assert person.registry.get(withdrawal).state == "needs_review"
    person.registry.decide(withdrawal, accept=True, officer="olga")
    # Carol's account is withdrawn; the identifiers given from the other address are not.
    assert _export(person, tmp_path / "b.parquet") == [
        ("objection", None, (STRANGER, "carol"), objection)
    ]  # fmt: skip


def test_accounts_linked_to_the_address_later_are_withdrawn_too(
    person: Requester, clock: FakeClock, tmp_path: Path
) -> None:
    person.request(ALICE)
    _withdraw(person, clock, ALICE)
    person.registry.accounts = AccountIndex(
        [(1, "alice", ALICE), (2, "alice_work", ALICE), (3, "bob", BOB), (9, "alice_new", ALICE)]
    )
    assert _export(person, tmp_path / "s.parquet") == []


# -- read back by the builder ----------------------------------------------------------

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize_platform(tmp_path_factory.mktemp("platform"), 300, seed=11)


def _authors(platform: SynthResult, snapshot: Path, out: Path) -> list[int]:
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
    kept = pa.concat_tables(pq.read_table(p) for p in sorted(out.glob("part-*.parquet")))
    authors: list[int] = kept.column("author_id").to_pylist()
    return authors


def test_a_build_after_the_withdrawal_uses_the_persons_content_again(
    platform: SynthResult,
    session: Session,
    config: RegistryConfig,
    clock: FakeClock,
    outbox: OutboxTransport,
    tmp_path: Path,
) -> None:
    registry = Registry(session, config, AccountIndex.from_parquet(platform.accounts_path), clock)
    person = Requester(registry, outbox)
    registry.export(tmp_path / "none.parquet")
    before = Counter(_authors(platform, tmp_path / "none.parquet", tmp_path / "none"))
    accounts = pq.read_table(platform.accounts_path).to_pylist()
    with_email = {a["user_id"]: a for a in accounts if a["email"]}
    author, kept = next((a, n) for a, n in before.most_common() if a in with_email)
    email, country = with_email[author]["email"].lower(), with_email[author]["country"]

    person.request(email, country=country)
    registry.export(tmp_path / "objected.parquet")
    objected = _authors(platform, tmp_path / "objected.parquet", tmp_path / "objected")
    assert author not in objected

    clock.advance(days=1)
    assert registry.get(person.request(email, WITHDRAWAL, country=country)).state == "accepted"
    registry.export(tmp_path / "withdrawn.parquet")
    again = Counter(_authors(platform, tmp_path / "withdrawn.parquet", tmp_path / "withdrawn"))
    assert again[author] == kept
    assert again == before
