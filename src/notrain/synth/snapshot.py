"""A synthetic registry snapshot for a synthetic platform's accounts.

Members object, ask for erasure (some after objecting first), or consent, in the given
shares of the accounts; Europeans object more often. People without an account object
too, named by the full names (and sometimes the e-mail addresses) that the platform's
texts use, drawn by the same popularity, so their identifiers really occur in content.
Decisions take effect across ``as_of_range``, so a build at any as-of inside it sees some
decisions and must ignore the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from notrain.contracts import EEA_NON_EU, EU27, SNAPSHOT, DecisionKind
from notrain.registry.snapshot import SnapshotInfo, write_snapshot
from notrain.synth.names import PEOPLE, person_email, popularity

SNAPSHOT_FILE = "registry.parquet"
DEFAULT_AS_OF_RANGE = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC))

_EUROPEAN = frozenset((*EU27, *EEA_NON_EU, "GB", "CH"))
_EUROPEAN_OBJECTION_WEIGHT = 3.0
_ERASED_AFTER_OBJECTING = 0.2  # share of erasures whose subject objected first
_NON_MEMBER_ERASURE = 0.15  # the rest of non-member requests are objections
_NON_MEMBER_WITH_EMAIL = 0.7
_HOUR_US = 3_600_000_000


def synthesize_snapshot(
    accounts_path: Path,
    out: Path,
    seed: int = 0,
    objection_rate: float = 0.02,
    erasure_rate: float = 0.005,
    consent_rate: float = 0.05,
    non_member_rate: float = 0.001,
    as_of_range: tuple[datetime, datetime] = DEFAULT_AS_OF_RANGE,
    names: Sequence[str] = PEOPLE,
    taken_at: datetime | None = None,
) -> SnapshotInfo:
    """Write a snapshot (and its sidecar) at ``out`` for the accounts at ``accounts_path``.

    Rates are shares of the accounts: members who objected, who were erased, who
    consented, and (as a count relative to the accounts) non-members who objected or
    asked for erasure, drawn from ``names`` (most talked-about first, as in ``PEOPLE``).
    ``taken_at`` defaults to the end of ``as_of_range``, so the same seed gives the same
    sidecar too.
    """
    for label, rate in (
        ("objection_rate", objection_rate),
        ("erasure_rate", erasure_rate),
        ("consent_rate", consent_rate),
        ("non_member_rate", non_member_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{label} must be between 0 and 1, not {rate}")
    if objection_rate + consent_rate + erasure_rate * (1 - _ERASED_AFTER_OBJECTING) > 1.0:
        raise ValueError("objection, erasure and consent rates together exceed all accounts")
    start, end = (_micros(moment) for moment in as_of_range)
    if end < start:
        raise ValueError("as_of_range ends before it starts")

    accounts = pq.read_table(
        accounts_path, columns=["user_id", "handle", "email", "country", "created_at"]
    )
    users = accounts.num_rows
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(7,))))

    european = pc.is_in(
        accounts.column("country"), value_set=pa.array(sorted(_EUROPEAN))
    ).to_numpy()
    weight = np.where(european, _EUROPEAN_OBJECTION_WEIGHT, 1.0)
    # Weighted sampling without replacement: the smallest Exp(1)/weight keys win.
    objectors = np.argsort(rng.exponential(size=users) / weight, kind="stable")[
        : round(objection_rate * users)
    ]
    erased_count = round(erasure_rate * users)
    again = min(round(_ERASED_AFTER_OBJECTING * erased_count), len(objectors))
    erased_objectors = rng.permutation(objectors)[:again]
    rest = _unpicked(rng, users, objectors)
    erased = np.concatenate((erased_objectors, rest[: erased_count - again]))
    consenting = rest[erased_count - again :][: round(consent_rate * users)]

    joined = accounts.column("created_at").cast(pa.int64()).to_numpy()
    objected_at = _after(rng, np.maximum(joined[objectors] + _HOUR_US, start), end)
    objected_when = dict(zip(objectors.tolist(), objected_at.tolist(), strict=True))
    erased_from = np.maximum(joined[erased] + _HOUR_US, start)
    erased_from[:again] = np.maximum(
        erased_from[:again], [objected_when[i] for i in erased_objectors.tolist()]
    )
    erased_at = _after(rng, erased_from, end)
    consented_at = _after(rng, np.maximum(joined[consenting] + _HOUR_US, start), end)

    handles = accounts.column("handle").to_pylist()
    emails = accounts.column("email").to_pylist()
    user_ids = accounts.column("user_id").to_numpy()
    subjects: list[int | None] = []
    identifiers: list[list[str]] = []
    kinds: list[str] = []
    effective: list[int] = []
    for kind, members, when in (
        (DecisionKind.OBJECTION, objectors, objected_at),
        (DecisionKind.ERASURE, erased, erased_at),
        (DecisionKind.CONSENT, consenting, consented_at),
    ):
        for i, at in zip(members.tolist(), when.tolist(), strict=True):
            subjects.append(int(user_ids[i]))
            email = emails[i]
            identifiers.append(
                [email.lower(), handles[i].lower()] if email else [handles[i].lower()]
            )
            kinds.append(kind.value)
            effective.append(at)

    strangers = _non_members(rng, names, round(non_member_rate * users))
    for rank, person in strangers:
        subjects.append(None)
        ids = [person.lower()]
        if rng.random() < _NON_MEMBER_WITH_EMAIL:
            ids.append(person_email(rank, person))
        identifiers.append(ids)
        erasure = rng.random() < _NON_MEMBER_ERASURE
        kinds.append((DecisionKind.ERASURE if erasure else DecisionKind.OBJECTION).value)
        effective.append(int(_after(rng, np.array([start]), end)[0]))

    # Requests are numbered in the order they took effect, as a registry would issue them.
    order = np.argsort(np.array(effective, dtype=np.int64), kind="stable")
    width = max(6, len(str(len(order))))
    table = pa.table(
        {
            "subject_id": pa.array([subjects[i] for i in order], type=pa.int64()),
            "identifiers": pa.array([identifiers[i] for i in order], type=pa.list_(pa.string())),
            "kind": pa.array([kinds[i] for i in order], type=pa.string()),
            "effective_at": pa.array(
                np.array(effective, dtype=np.int64)[order], type=pa.timestamp("us", tz="UTC")
            ),
            "request_id": pa.array([f"req-{n + 1:0{width}d}" for n in range(len(order))]),
        }
    ).cast(SNAPSHOT)
    return write_snapshot(table, out, taken_at=taken_at or as_of_range[1])


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("as_of_range needs timezone-aware datetimes")
    return int(moment.timestamp() * 1_000_000)


def _after(
    rng: np.random.Generator, earliest: npt.NDArray[np.int64], end: int
) -> npt.NDArray[np.int64]:
    """A moment between ``earliest`` and ``end`` (``end`` itself if it comes first)."""
    lo: npt.NDArray[np.int64] = np.minimum(np.asarray(earliest, dtype=np.int64), end)
    return lo + (rng.random(len(lo)) * (end - lo)).astype(np.int64)


def _unpicked(
    rng: np.random.Generator, users: int, picked: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Account indices not in ``picked``, in random order."""
    free = np.ones(users, dtype=bool)
    free[picked] = False
    return rng.permutation(np.flatnonzero(free))


def _non_members(
    rng: np.random.Generator, names: Sequence[str], count: int
) -> list[tuple[int, str]]:
    """``count`` distinct names with their ranks, the more talked-about the likelier.

    Weighting by popularity squared (the much-discussed notice, and object) keeps the
    chance that a chosen name never occurs in a small platform's texts near 0.2%.
    """
    count = min(count, len(names))
    if count == 0:
        return []
    keys = rng.exponential(size=len(names)) / popularity(len(names)) ** 2
    return [(i, names[i]) for i in np.argsort(keys, kind="stable")[:count].tolist()]
