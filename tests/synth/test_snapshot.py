from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from notrain.contracts import SNAPSHOT, DecisionKind
from notrain.errors import SnapshotIntegrityError
from notrain.registry.snapshot import sidecar_path, verify_snapshot
from notrain.synth import PEOPLE, SynthResult, synthesize_snapshot
from notrain.synth.names import FIRST_NAMES, LAST_NAMES, PEOPLE_EMAIL_DOMAINS
from notrain.synth.snapshot import DEFAULT_AS_OF_RANGE
from notrain.synth.texts import (
    CLOSERS,
    EMAIL_LEADS,
    MENTION_LEADS,
    NAME_LEADS,
    NUMBERS,
    OPENERS,
    PHONE_LEADS,
)

from .conftest import SEED, USERS


@pytest.fixture(scope="module")
def snapshot(snapshot_path: Path) -> list[dict[str, Any]]:
    return pq.read_table(snapshot_path).to_pylist()  # type: ignore[no-any-return]


def test_snapshot_is_in_the_contract_and_verifies(snapshot_path: Path) -> None:
    assert pq.read_schema(snapshot_path).remove_metadata() == SNAPSHOT
    info = verify_snapshot(snapshot_path)
    assert info.had_sidecar
    assert info.taken_at == DEFAULT_AS_OF_RANGE[1]


def test_a_changed_snapshot_fails_verification(snapshot_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / snapshot_path.name
    shutil.copy(snapshot_path, copy)
    shutil.copy(sidecar_path(snapshot_path), sidecar_path(copy))
    table = pq.read_table(copy)
    pq.write_table(table.slice(1), copy)
    with pytest.raises(SnapshotIntegrityError):
        verify_snapshot(copy)


def test_member_decisions_follow_the_rates(snapshot: list[dict[str, Any]]) -> None:
    subjects = Counter(r["kind"] for r in snapshot if r["subject_id"] is not None)
    assert subjects[DecisionKind.OBJECTION.value] == round(0.02 * USERS)
    assert subjects[DecisionKind.ERASURE.value] == round(0.005 * USERS)
    assert subjects[DecisionKind.CONSENT.value] == round(0.05 * USERS)
    pairs = Counter((r["kind"], r["subject_id"]) for r in snapshot if r["subject_id"])
    assert max(pairs.values()) == 1


def test_member_identifiers_are_their_email_and_handle(
    snapshot: list[dict[str, Any]], accounts: pa.Table
) -> None:
    by_id = {row["user_id"]: row for row in accounts.to_pylist()}
    without_email = 0
    for row in snapshot:
        if row["subject_id"] is None:
            continue
        member = by_id[row["subject_id"]]
        expected = [member["handle"].lower()]
        if member["email"]:
            expected.insert(0, member["email"].lower())
        else:
            without_email += 1
        assert row["identifiers"] == expected
        assert row["effective_at"] > member["created_at"]
    assert len(snapshot) > without_email


def test_some_erased_members_objected_first(snapshot: list[dict[str, Any]]) -> None:
    objected = {
        r["subject_id"]: r["effective_at"]
        for r in snapshot
        if r["kind"] == DecisionKind.OBJECTION.value and r["subject_id"]
    }
    both = [
        (objected[r["subject_id"]], r["effective_at"])
        for r in snapshot
        if r["kind"] == DecisionKind.ERASURE.value and r["subject_id"] in objected
    ]
    assert both
    assert all(objection <= erasure for objection, erasure in both)


def test_decisions_spread_over_the_range(snapshot: list[dict[str, Any]]) -> None:
    start, end = DEFAULT_AS_OF_RANGE
    times = [r["effective_at"] for r in snapshot]
    assert all(start <= t <= end for t in times)
    as_of = datetime(2025, 6, 1, tzinfo=UTC)
    assert 0.2 < sum(t > as_of for t in times) / len(times) < 0.8


def test_request_ids_are_unique_and_issued_in_time_order(snapshot: list[dict[str, Any]]) -> None:
    ids = [r["request_id"] for r in snapshot]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"req-\d{6}", i) for i in ids)
    assert ids == sorted(ids)
    times = [r["effective_at"] for r in snapshot]
    assert times == sorted(times)


def test_non_members_are_named_as_the_texts_name_them(
    snapshot: list[dict[str, Any]], platform: SynthResult
) -> None:
    strangers = [r for r in snapshot if r["subject_id"] is None]
    assert len(strangers) == round(0.001 * USERS)
    people = {p.lower() for p in PEOPLE}
    texts = pc.utf8_lower(pq.read_table(platform.content_path, columns=["text"])["text"])
    for row in strangers:
        name, *emails = row["identifiers"]
        assert name in people
        for email in emails:
            assert email == name.replace(" ", ".") + "@" + email.split("@")[1]
            assert email.split("@")[1] in PEOPLE_EMAIL_DOMAINS
        assert row["kind"] in {DecisionKind.OBJECTION.value, DecisionKind.ERASURE.value}
        assert pc.any(pc.match_substring(texts, name)).as_py(), name


def test_many_non_members_mostly_appear_in_texts(platform: SynthResult, tmp_path: Path) -> None:
    path = tmp_path / "snap.parquet"
    synthesize_snapshot(platform.accounts_path, path, seed=SEED, non_member_rate=0.01)
    table = pq.read_table(path)
    names = [
        ids[0]
        for ids, s in zip(
            table["identifiers"].to_pylist(), table["subject_id"].to_pylist(), strict=True
        )
        if s is None
    ]
    texts = pc.utf8_lower(pq.read_table(platform.content_path, columns=["text"])["text"])
    seen = sum(pc.any(pc.match_substring(texts, name)).as_py() for name in names)
    assert len(names) == 30
    assert seen >= 0.8 * len(names)


def test_names_cannot_be_mistaken_for_ordinary_words() -> None:
    assert len(set(PEOPLE)) == len(PEOPLE)
    for name in (*FIRST_NAMES, *LAST_NAMES):
        assert re.fullmatch(r"[A-Z][a-z]{3,}", name), name
    prose = " ".join(
        [
            *(t for pool in OPENERS.values() for t in pool),
            *MENTION_LEADS,
            *NAME_LEADS,
            *EMAIL_LEADS,
            *PHONE_LEADS,
            *NUMBERS,
            *CLOSERS,
        ]
    ).lower()
    words = set(re.findall(r"[a-z]+", prose))
    assert not words & {n.lower() for n in (*FIRST_NAMES, *LAST_NAMES)}


def test_same_seed_same_snapshot(platform: SynthResult, tmp_path: Path) -> None:
    paths = [tmp_path / f"{name}.parquet" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        synthesize_snapshot(platform.accounts_path, path, seed=seed)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert sidecar_path(paths[0]).read_bytes() == sidecar_path(paths[1]).read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize(("objection", "consent"), [(-0.1, 0.05), (0.02, 1.5), (0.6, 0.6)])
def test_impossible_rates_are_refused(
    platform: SynthResult, tmp_path: Path, objection: float, consent: float
) -> None:
    with pytest.raises(ValueError, match="rate"):
        synthesize_snapshot(
            platform.accounts_path,
            tmp_path / "s.parquet",
            objection_rate=objection,
            consent_rate=consent,
        )
