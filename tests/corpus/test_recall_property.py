"""A recall is a fresh build at the new as-of, restricted to the rows the parent held.

Hypothesis draws small platforms (texts naming members by @handle in any case, tags and
mentions lists, a non-member by name or address), a parent snapshot and a later one (more
objections and erasures, some effective only after the new as-of, consents withdrawn, a
non-member's objection by a name or address shorter, longer or other than one listed
before), and two as-ofs. The parent is built in small chunks (several shards), then
recalled twice: with the parent's snapshot at hand (only the rows a change reaches are
scored again) and with it gone (every kept row is). Both must hold exactly the rows, text,
lists and lineage a fresh build gives for the rows the parent held, with the fresh build's
reason for every row they took out. A later as-of can make a jurisdiction active (rows a
fresh build gains): a recall never brings rows back, hence the restriction.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notrain.contracts import SNAPSHOT
from notrain.corpus.recall import RecallRequest, recall_dataset
from notrain.policy.loader import default_policy_text, load_policy_text
from notrain.registry.snapshot import write_snapshot
from tests.corpus.test_recall import rows
from tests.corpus.world import World, assert_in_shard_order

# The default policy with consent for the rest of the world, so that a withdrawn consent
# (a consent row gone from the later snapshot) takes rows out.
POLICY = load_policy_text(
    default_policy_text().replace(
        'countries = ["*"]\nregime = "objection"', 'countries = ["*"]\nregime = "consent"'
    ),
    "consent-policy.toml",
)
assert "consent" in {j.regime.value for j in POLICY.policy.jurisdictions}

KINDS = ["post", "photo", "video", "comment", "caption", "story"]
# Texts naming a non-member in the ways a parent's passes may hide: by address (an e-mail
# placeholder), by a name longer or shorter than one listed before, beside a phone.
EXTRAS = [
    "",
    " and Zoe Martin",
    " @nobody",
    ".",
    " mail zoe@example.org",
    " Zoe Martin: call 0612345678",
    " or zoe.martin@example.org",
    " zoe@example.org Zoe",
    " Zoe Martinez",
]
NON_MEMBER = ["zoe martin", "zoe@example.org", "zoe", "martin", "zoe.martin@example.org"]
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
)


def decision(
    subject: int | None, kind: str, when: datetime, n: int, who: str = ""
) -> dict[str, Any]:
    return {
        "subject_id": subject,
        "identifiers": [who] if who else [],
        "kind": kind,
        "effective_at": when,
        "request_id": f"req-{n:04d}",
    }


@st.composite
def histories(draw: st.DrawFn) -> tuple[World, list[dict[str, Any]], datetime, datetime]:
    w = World()
    n_users = draw(st.integers(2, 7))
    for uid in range(1, n_users + 1):
        w.account(uid, country=draw(st.sampled_from(["FR", "BR", "US", "AU"])))
    users = st.integers(1, n_users)
    for _ in range(draw(st.integers(1, 20))):
        named = draw(st.lists(users, max_size=2))
        handles = " ".join(
            f"@{draw(st.sampled_from(['user', 'USER', 'User']))}{uid}" for uid in named
        )
        extra = draw(st.sampled_from(EXTRAS))
        w.item(
            draw(users),
            kind=draw(st.sampled_from(KINDS)),
            visibility=draw(st.sampled_from(["public", "public", "public", "friends"])),
            created_at=draw(moments),
            text=draw(st.sampled_from([None, f"hi {handles}{extra}".strip()] * 2 + [extra])),
            mentions=draw(st.lists(users, max_size=2, unique=True)),
            tags=draw(st.lists(users, max_size=2, unique=True)),
        )
    first = draw(moments)
    second = first + timedelta(days=draw(st.integers(0, 600)))
    n = 0
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["objection", "erasure", "consent"]))
        # Consents in the parent's snapshot are effective at its as-of: one that took
        # effect only later would bring rows back, which a recall never does.
        when = first - timedelta(days=1) if kind == "consent" else draw(moments)
        w.snapshot.append(decision(draw(users), kind, when, n))
        n += 1
    if draw(st.booleans()):
        w.snapshot.append(
            decision(None, "objection", draw(moments), n, draw(st.sampled_from(NON_MEMBER)))
        )
        n += 1
    later = [
        row
        for row in w.snapshot
        if row["kind"] != "consent" or not draw(st.booleans())  # consents withdrawn
    ]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["objection", "erasure"]))
        later.append(decision(draw(users), kind, draw(moments), n))
        n += 1
    for _ in range(draw(st.integers(0, 2))):
        # Between the two as-ofs: what the recall must newly honour.
        when = first + timedelta(days=draw(st.integers(0, (second - first).days)))
        who = draw(st.sampled_from(NON_MEMBER))
        later.append(decision(None, "objection", when, n, who))
        n += 1
    return w, later, first, second


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories())
def test_a_recall_is_a_fresh_build_of_the_rows_the_parent_held(
    case: tuple[World, list[dict[str, Any]], datetime, datetime],
) -> None:
    w, later, first, second = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        parent = w.build(root / "parent", as_of=first, policy=POLICY, chunk_rows=3)
        fresh = World(accounts=w.accounts, content=w.content, snapshot=later)
        expected = fresh.build(root / "fresh", as_of=second, policy=POLICY, chunk_rows=3)
        snapshot = root / "later.parquet"
        write_snapshot(pa.Table.from_pylist(later, schema=SNAPSHOT), snapshot)
        held = set(parent.kept)
        for mode in ("changed", "all"):
            if mode == "all":  # the parent's snapshot gone: every kept row is scored again
                (root / "parent" / "in" / "registry.parquet").unlink()
            out = root / f"recalled-{mode}"
            recall_dataset(
                RecallRequest(
                    dataset=root / "parent" / "dataset",
                    registry=str(snapshot),
                    out=out,
                    as_of=second,
                    policy=POLICY,
                )
            )
            recall = json.loads((out / "manifest.json").read_text())["recall"]
            assert recall["rescored"] == mode
            got = rows(out)
            assert got == {cid: row for cid, row in expected.kept.items() if cid in held}, mode
            removed = {
                r["content_id"]: r["reason"]
                for r in pq.read_table(out / "removed.parquet").to_pylist()
            }
            assert set(removed) == held - set(got)
            assert removed == {cid: expected.reasons[cid] for cid in removed}
            lineage = {
                r["content_id"]: r for r in pq.read_table(out / "lineage.parquet").to_pylist()
            }
            assert lineage == {cid: r for cid, r in expected.lineage.items() if cid in held}
            assert_in_shard_order(out)
