"""Merkle trees as Certificate Transparency builds them (RFC 6962 §2.1, RFC 9162 §2.1).

A leaf's hash is ``SHA-256(0x00 || data)`` and an inner node's ``SHA-256(0x01 || left ||
right)``; the distinct prefixes stop anyone passing an inner node off as a leaf. A tree of
``n`` leaves splits at ``k``, the largest power of two below ``n``; the empty tree's hash is
``SHA-256("")``. An inclusion proof shows one leaf is in a tree; a consistency proof shows
a tree of ``m`` leaves is the first ``m`` leaves of a tree of ``n``: the log only grew.

Proofs are made from a :class:`NodeSource`, which answers the hash of any *perfect*
subtree (``2**level`` leaves starting at a multiple of ``2**level``); the sealer keeps
those in the database, tests in a list. Verification follows RFC 9162 §2.1.3.2 and
§2.1.4.2 and needs nothing but ``hashlib``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    def perfect(self, level: int, index: int) -> bytes:
        """The hash of leaves ``[index * 2**level, (index + 1) * 2**level)``."""
        ...


class Subtrees:
    """Hashes of any range of leaves ``[lo, hi)`` that a tree's recursion visits."""

    def __init__(self, source: NodeSource) -> None:
        self.source = source

    def hash(self, lo: int, hi: int) -> bytes:
        size = hi - lo
        if size == 0:
            return EMPTY_ROOT
        if size & (size - 1) == 0 and lo % size == 0:
            return self.source.perfect(size.bit_length() - 1, lo // size)
        k = _split(size)
        return node_hash(self.hash(lo, lo + k), self.hash(lo + k, hi))

    def root(self, size: int) -> bytes:
        return self.hash(0, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 §2.1.1 PATH(m, D[n]), leaf to root."""
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self.hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self.hash(lo, lo + k))
                lo = lo + k
        path.reverse()
        return path

    def consistency(self, old: int, new: int) -> list[bytes]:
        """RFC 6962 §2.1.2 PROOF(m, D[n]): the old tree is a prefix of the new one."""
        if not 0 <= old <= new:
            raise ValueError(f"no consistency proof from {old} to {new}")
        if old == 0 or old == new:
            return []
        return self._subproof(old, 0, new, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self.hash(lo, hi)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, whole), self.hash(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.hash(lo, lo + k)]


class LeafList:
    """A :class:`NodeSource` over leaf hashes held in memory (tests, datasets, audits)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append(
                [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            )

    def perfect(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


def tree(leaves: Sequence[bytes]) -> Subtrees:
    """A tree over leaf hashes, in memory."""
    return Subtrees(LeafList(leaves))


class ProofError(Exception):
    """A proof does not hold; the message says why."""


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that ``proof`` leads to from ``leaf`` at ``index``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size}")
    _check_hash(leaf, "the leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "a proof hash")
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is leaf ``index`` of the tree ``root``."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"leaf {index} does not lead to the root of the tree of {size}")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`ProofError` unless tree ``old`` is a prefix of ``new``."""
    if old < 0 or new < old:
        raise ProofError(f"a tree of {new} cannot follow one of {old}: the log shrank")
    if old == new:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same size {old}: the log was rewritten")
        return
    if old == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    for p in proof:
        _check_hash(p, "a proof hash")
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root:
        raise ProofError(f"the proof does not lead to the earlier root (size {old})")
    if sr != new_root:
        raise ProofError(f"the proof does not lead to the later root (size {new}): rewritten")
