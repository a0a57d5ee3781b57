"""Corrupted inputs and policies: a clear notrain error and nothing published, never a crash.

Hypothesis mutates valid files — truncation, flipped bytes, wrong types, nulls in required
columns, huge strings, invalid UTF-8 — and every build must either succeed with a dataset
that verifies, or fail with one of notrain's own errors and leave no dataset behind.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notrain.corpus.build import BuildRequest, build_dataset
from notrain.corpus.dataset import verify
from notrain.errors import NotrainError, PolicyError
from notrain.policy.loader import default_policy_text, load_default_policy, load_policy
from tests.corpus.world import AS_OF, World

FUZZ = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def base_world() -> World:
    w = World()
    a, b = w.account(1, handle="ann"), w.account(2, handle="bob")
    for n in range(6):
        w.item(a if n % 2 else b, text=f"post {n} by @bob", mentions=[b], content_id=n)
    w.item(a, kind="photo", tags=[b], text=None, content_id=10)
    w.decide(b)
    return w


def attempt(root: Path, content: Path) -> None:
    """Build; assert the outcome is a verified dataset or a notrain error and no dataset."""
    accounts, _, registry = base_world().write(root / "in")
    out = root / "out"
    try:
        build_dataset(
            BuildRequest(
                content=str(content),
                accounts=str(accounts),
                registry=str(registry),
                out=out,
                policy=load_default_policy(),
                as_of=AS_OF,
            )
        )
    except NotrainError as exc:
        message = str(exc)
        assert message, "errors say what is wrong"
        assert "\n" not in message, "errors are one line"
        assert not out.exists()
    else:
        assert verify(out) == []
    assert not [p for p in root.iterdir() if p.name.startswith(".staging-")]


@FUZZ
@given(data=st.data())
def test_corrupted_parquet(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, content, _ = base_world().write(root / "src")
        raw = bytearray(content.read_bytes())
        action = data.draw(st.sampled_from(["truncate", "flip", "empty"]))
        if action == "truncate":
            raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
        elif action == "flip":
            for _ in range(data.draw(st.integers(1, 8))):
                at = data.draw(st.integers(0, len(raw) - 1))
                raw[at] ^= data.draw(st.integers(1, 255))
        else:
            raw = bytearray()
        bad = root / "content.parquet"
        bad.write_bytes(bytes(raw))
        attempt(root, bad)


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@FUZZ
@given(data=st.data())
def test_corrupted_jsonl(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, content, _ = base_world().write(root / "src")
        rows = pq.read_table(content).to_pylist()
        lines = []
        for row in rows:
            row["created_at"] = row["created_at"].isoformat()
            if data.draw(st.booleans()):
                column = data.draw(st.sampled_from(sorted(row)))
                row[column] = data.draw(json_values)
            if data.draw(st.integers(0, 9)) == 0:
                row["text"] = "x" * 2_000_000  # a huge string is data, not an error
            lines.append(json.dumps(row).encode())
        if data.draw(st.booleans()):
            lines.insert(data.draw(st.integers(0, len(lines))), b"\xff\xfe not utf-8 {")
        if data.draw(st.booleans()):
            lines[-1] = lines[-1][: data.draw(st.integers(0, len(lines[-1])))]
        bad = root / "content.jsonl"
        bad.write_bytes(b"\n".join(lines) + b"\n")
        attempt(root, bad)


@FUZZ
@given(data=st.data())
def test_corrupted_csv(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        header = (
            "content_id,author_id,kind,visibility,created_at,text,media_uri,parent_id,mentions,tags"
        )
        cells = [
            "1", "1", "post", "public", "2025-01-01T00:00:00Z", "hello", "", "", "[]", "[2]",
        ]  # fmt: skip
        rows = [",".join(cells)]
        for _ in range(data.draw(st.integers(1, 4))):
            mutated = list(cells)
            at = data.draw(st.integers(0, len(mutated) - 1))
            mutated[at] = data.draw(st.text(max_size=12).map(lambda s: s.replace("\n", " ")))
            rows.append(",".join(mutated))
        bad = root / "content.csv"
        bad.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        attempt(root, bad)


@FUZZ
@given(data=st.data())
def test_corrupted_policy_files(data: st.DataObject) -> None:
    text = default_policy_text()
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        lines[at] = data.draw(
            st.one_of(
                st.text(max_size=30),
                st.sampled_from(
                    ["kinds = 3", "min_age = -1", 'regime = "maybe"', "[[jurisdictions]]",
                     'kinds = ["private_message"]', "active_from = 2025-13-40", "= =", "[x"]
                ),
            )
        )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.toml"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        try:
            load_policy(path)
        except PolicyError as exc:
            message = str(exc)
            assert message.startswith(str(path))
            assert "\n" not in message
