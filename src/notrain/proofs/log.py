"""The transparency log: the audit events as the leaves of a Merkle tree, sealed in batches.

Leaf ``i`` is audit event ``seq = i + 1``; its data is exactly the JSON the audit chain
hashes (``[seq, at, actor, action, request_id, detail, prev_hash]``, see
:func:`notrain.registry.audit.event_hash`), so the leaf's plain sha256 is the event's
chain hash and one record serves both. :func:`seal` is the one writer: it chains what
deferring sessions staged, hashes the new events into ``log_nodes`` (every perfect
subtree, so a proof needs only ``2 log n`` reads), and signs a head into ``log_heads``.
Writers serialise on the audit head's row lock (PostgreSQL) or on SQLite's write lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import Session

from notrain.proofs.heads import TreeHead, sign_head
from notrain.proofs.keys import LogKey
from notrain.proofs.merkle import (
    EMPTY_ROOT,
    LeafList,
    ProofError,
    Subtrees,
    leaf_hash,
    node_hash,
    verify_consistency,
)
from notrain.registry import audit
from notrain.registry.models import AuditEvent, AuditHead, LogHead, LogNode

_BATCH = 5000


def leaf_data(event: AuditEvent | Any) -> bytes:
    """The bytes of an event's leaf: the audit chain's own payload for it."""
    moment = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps(
        [event.seq, moment, event.actor, event.action, event.request_id, event.detail,
         event.prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )  # fmt: skip
    return payload.encode("utf-8")


class StoredNodes:
    """The perfect subtrees kept in ``log_nodes``, read as proofs need them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[int, int], bytes] = {}

    def perfect(self, level: int, index: int) -> bytes:
        found = self.cache.get((level, index))
        if found is None:
            value = self.session.scalar(
                select(LogNode.hash).where(LogNode.level == level, LogNode.idx == index)
            )
            if value is None:
                raise ProofError(f"the log has no node {level}/{index}: not sealed that far")
            found = self.cache[(level, index)] = bytes.fromhex(value)
        return found


class _Recorder:
    """A stand-in source that notes which nodes a computation reads (its shape does not
    depend on their values), so they can be fetched in one query."""

    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()

    def perfect(self, level: int, index: int) -> bytes:
        self.keys.add((level, index))
        return EMPTY_ROOT


def _load(nodes: StoredNodes, keys: set[tuple[int, int]]) -> None:
    wanted = sorted(keys - nodes.cache.keys())
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = nodes.session.execute(
            select(LogNode.level, LogNode.idx, LogNode.hash).where(
                tuple_(LogNode.level, LogNode.idx).in_(chunk)
            )
        )
        for level, index, value in rows:
            nodes.cache[(level, index)] = bytes.fromhex(value)


def inclusion_proofs(session: Session, indices: list[int], size: int) -> list[list[bytes]]:
    """Inclusion proofs of several leaves in the tree of ``size``, read in one query."""
    recorder = _Recorder()
    for index in indices:
        Subtrees(recorder).inclusion(index, size)
    nodes = StoredNodes(session)
    _load(nodes, recorder.keys)
    tree = Subtrees(nodes)
    return [tree.inclusion(index, size) for index in indices]


def tree_size(session: Session) -> int:
    """How many events the tree holds: every growth is signed, so the largest head's size."""
    return int(session.scalar(select(func.max(LogHead.size))) or 0)


def _lock(session: Session) -> None:
    """One sealer at a time (and no chaining meanwhile): the audit head's row lock."""
    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())


def _events_after(session: Session, seq: int) -> Iterator[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.seq > seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=_BATCH)
    )
    yield from session.scalars(stmt)


def _append(session: Session, size: int, leaves: list[bytes]) -> None:
    """Add leaves ``size…`` and every perfect subtree they complete."""
    nodes = StoredNodes(session)
    rows: list[dict[str, object]] = []
    fresh: dict[tuple[int, int], bytes] = {}
    for offset, value in enumerate(leaves):
        index, level, current = size + offset, 0, value
        fresh[(0, index)] = current
        rows.append({"level": 0, "idx": index, "hash": current.hex()})
        while index & 1:  # a right child: its parent is now complete
            left = fresh.get((level, index - 1)) or nodes.perfect(level, index - 1)
            current = node_hash(left, current)
            index >>= 1
            level += 1
            fresh[(level, index)] = current
            rows.append({"level": level, "idx": index, "hash": current.hex()})
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(LogNode), rows[start : start + _BATCH])


@dataclass
class SealResult:
    chained: int = 0
    sealed: int = 0
    head: TreeHead | None = None


def seal(session: Session, key: LogKey, now: datetime) -> SealResult:
    """Append every committed event not yet in the tree and sign the new head; one
    transaction, committed here. A tree that did not grow gets no new head."""
    try:
        result = append(session, key, now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def append(session: Session, key: LogKey, now: datetime) -> SealResult:
    """What :func:`seal` does, in the caller's transaction (which commits it or not)."""
    result = SealResult()
    _lock(session)
    result.chained = audit.catch_up(session)
    size = tree_size(session)
    last_seq = int(session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0)
    if last_seq > size:
        leaves = [leaf_hash(leaf_data(e)) for e in _events_after(session, size)]
        _append(session, size, leaves)
        result.sealed = len(leaves)
        size += len(leaves)
        root = Subtrees(StoredNodes(session)).root(size)
        head = sign_head(key, size, root, now)
        session.add(
            LogHead(size=size, root=head.root, signed_at=now, time=head.time,
                    signature=head.signature, key_id=head.key_id)
        )  # fmt: skip
        result.head = head
    return result


def _head_of(row: LogHead) -> TreeHead:
    return TreeHead(row.size, row.root, row.time, row.signature, row.key_id)


def latest_head(session: Session) -> TreeHead | None:
    h = LogHead
    row = session.execute(
        select(h.size, h.root, h.time, h.signature, h.key_id).order_by(h.size.desc()).limit(1)
    ).first()
    return TreeHead(*row) if row is not None else None


def head_at(session: Session, size: int) -> TreeHead | None:
    row = session.get(LogHead, size)
    return _head_of(row) if row is not None else None


def heads(session: Session, limit: int = 50) -> list[TreeHead]:
    rows = session.scalars(select(LogHead).order_by(LogHead.size.desc()).limit(limit))
    return [_head_of(r) for r in rows]


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    return Subtrees(StoredNodes(session)).inclusion(index, size)


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    return Subtrees(StoredNodes(session)).consistency(old, new)


@dataclass
class LogReport:
    """What ``notrain audit verify`` found about the tree (the chain is the registry's)."""

    leaves: int = 0
    sealed: int = 0
    root: str = EMPTY_ROOT.hex()
    problems: list[str] = field(default_factory=list)


def verify_tree(session: Session, public: bytes) -> LogReport:
    """Rebuild the tree from the events and compare it with the stored nodes and every
    signed head: a changed event, node or head is named."""
    report = LogReport()
    leaves = [leaf_hash(leaf_data(e)) for e in _events_after(session, 0)]
    report.leaves = len(leaves)
    rebuilt = LeafList(leaves)
    sealed = tree_size(session)
    report.sealed = sealed
    if sealed > len(leaves):
        report.problems.append(
            f"the tree holds {sealed} leaves but only {len(leaves)} events exist: events removed"
        )
        sealed = len(leaves)
    stored = session.execute(select(LogNode.level, LogNode.idx, LogNode.hash))
    for level, index, value in stored:
        known = level < len(rebuilt.levels) and index < len(rebuilt.levels[level])
        if known and rebuilt.levels[level][index].hex() != value:
            first = index << level
            report.problems.append(
                f"tree node {level}/{index} (events {first + 1}-{first + (1 << level)}) "
                "does not match the events: an event was changed after it was sealed"
            )
        if len(report.problems) > 20:
            break
    memory = Subtrees(rebuilt)
    for row in session.scalars(select(LogHead).order_by(LogHead.size)):
        head = _head_of(row)
        try:
            head.verify(public)
        except ProofError:
            report.problems.append(f"the signed head of size {head.size} has a bad signature")
            continue
        if head.size > len(leaves):
            report.problems.append(
                f"the signed head of size {head.size} covers events that no longer exist"
            )
        elif memory.root(head.size).hex() != head.root:
            report.problems.append(
                f"the signed head of size {head.size} does not match the events: "
                "the log was rewritten"
            )
    report.root = memory.root(sealed).hex()
    return report


def verify_growth(session: Session, earlier: TreeHead, public: bytes) -> TreeHead:
    """Prove the log only grew since ``earlier`` (a signed head saved before): its
    signature holds and the latest head's tree extends it. Returns the latest head."""
    earlier.verify(public)
    latest = latest_head(session)
    if latest is None:
        raise ProofError("the log has no signed head yet")
    latest.verify(public)
    if latest.size < earlier.size:
        raise ProofError(
            f"the log shrank: the head saved earlier has {earlier.size} events, now {latest.size}"
        )
    proof = consistency_proof(session, earlier.size, latest.size)
    verify_consistency(
        earlier.size,
        latest.size,
        bytes.fromhex(earlier.root),
        bytes.fromhex(latest.root),
        proof,
    )
    return latest
