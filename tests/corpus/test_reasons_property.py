"""The builder against an independent, plain-Python reading of the default policy.

Hypothesis draws small platforms and registry snapshots; for every row, the reason the
builder records must be the one this oracle derives from the issue's rules, and kept rows
must never carry an objector's id.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notrain.contracts import EEA_NON_EU, EU27
from tests.corpus.world import World

STARTS = {"BR": datetime(2024, 8, 30, tzinfo=UTC)}
for code in (*EU27, *EEA_NON_EU, "GB", "CH"):
    STARTS[code] = datetime(2025, 5, 27, tzinfo=UTC)
REST = datetime(2023, 9, 27, tzinfo=UTC)
KINDS = ["post", "photo", "video", "caption", "comment", "story", "ai_chat", "private_message"]
ALLOWED = {"post", "photo", "video", "caption", "comment"}
VISIBILITIES = ["public", "public", "public", "followers", "friends", "private"]


def age_on(birth: date, moment: datetime) -> int:
    day = moment.date()
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def oracle(w: World, as_of: datetime) -> dict[int, str | None]:
    accounts = {a["user_id"]: a for a in w.accounts}
    effective = [d for d in w.snapshot if d["effective_at"] <= as_of]
    erased = {d["subject_id"] for d in effective if d["kind"] == "erasure"}
    objected = {d["subject_id"] for d in effective if d["kind"] == "objection"}
    blocked = erased | objected
    reasons: dict[int, str | None] = {}
    for row in w.content:
        author = accounts.get(row["author_id"])
        reason: str | None = None
        if row["kind"] not in ALLOWED:
            reason = "kind_not_allowed"
        elif row["visibility"] != "public":
            reason = "not_public"
        elif author is None:
            reason = "author_unknown"
        elif as_of < STARTS.get(author["country"], REST):
            reason = "jurisdiction_excluded"
        elif author["birth_date"] is None or age_on(author["birth_date"], row["created_at"]) < 18:
            reason = "author_minor"
        elif author["user_id"] in erased:
            reason = "author_erased"
        elif author["user_id"] in objected:
            reason = "author_objected"
        elif row["kind"] in ("photo", "video") and blocked & set(row["tags"]):
            reason = "third_party_objected"
        reasons[row["content_id"]] = reason
    return reasons


moments = st.datetimes(
    min_value=datetime(2022, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, datetime]:
    w = World()
    n_users = draw(st.integers(1, 8))
    for uid in range(1, n_users + 1):
        birth = draw(st.none() | st.dates(min_value=date(1960, 1, 1), max_value=date(2012, 1, 1)))
        w.account(uid, country=draw(st.sampled_from(["FR", "NO", "BR", "US", "AU", "GB"])),
                  birth_date=birth)  # fmt: skip
    user_ids = st.integers(1, n_users + 1)  # n_users + 1 is an unknown author
    for _ in range(draw(st.integers(1, 25))):
        w.item(
            draw(user_ids),
            kind=draw(st.sampled_from(KINDS)),
            visibility=draw(st.sampled_from(VISIBILITIES)),
            created_at=draw(moments),
            mentions=draw(st.lists(st.integers(1, n_users), max_size=3, unique=True)),
            tags=draw(st.lists(st.integers(1, n_users), max_size=3, unique=True)),
        )
    for _ in range(draw(st.integers(0, 6))):
        when = draw(moments)
        w.decide(
            draw(st.integers(1, n_users)),
            draw(st.sampled_from(["objection", "erasure", "consent"])),
            effective_at=when.replace(tzinfo=None).isoformat(),
        )
    as_of = draw(moments) + timedelta(microseconds=0)
    return w, as_of


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(worlds())
def test_every_row_gets_the_first_applicable_reason(case: tuple[World, datetime]) -> None:
    w, as_of = case
    with tempfile.TemporaryDirectory() as tmp:
        built = w.build(Path(tmp), as_of=as_of)
    expected = oracle(w, as_of)
    actual = {cid: built.reasons.get(cid) for cid in expected}
    assert actual == expected
    assert set(built.kept) == {cid for cid, r in expected.items() if r is None}
    blocked = {
        d["subject_id"]
        for d in w.snapshot
        if d["effective_at"] <= as_of and d["kind"] in ("objection", "erasure")
    }
    for row in built.kept.values():
        assert not blocked & set(row["mentions"])
        assert not blocked & set(row["tags"])
    counts = built.manifest["counts"]
    assert counts["kept"] + counts["excluded"] == len(w.content)
