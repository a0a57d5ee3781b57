"""The Merkle tree against published RFC 6962 test vectors, and proofs of every shape.

The vectors are those of Google's Trillian (Apache-2.0), used by Certificate Transparency's
Go implementations and checked against RFC 6962's reference trees:
- leaves, node hashes and roots: github.com/google/trillian, merkle/testonly/constants.go
  (LeafInputs, NodeHashes, RootHashes; commit 54870a44b0531d1bad40b7a1a1f926253e41be56);
- inclusion and consistency proofs: github.com/google/trillian,
  merkle/logverifier/log_verifier_test.go (inclusionProofs, consistencyProofs; commit
  3d7922afdce9fd0144e16aae08bea061c0ad1aee). Their leaf numbers are 1-based.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notrain.proofs.merkle import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    node_hash,
    tree,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
LEAF_HASHES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]
LEVEL1 = [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
]
LEVEL2 = [
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
ROOTS = [  # by tree size, 0 to 8
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf, 1-based; tree size; path)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [  # (old size, new size, proof)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

HASHES = [leaf_hash(x) for x in LEAF_INPUTS]


def _hex(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


def test_leaf_and_node_hashes_match_the_vectors() -> None:
    assert _hex(HASHES) == LEAF_HASHES
    levels = tree(HASHES).source.levels  # type: ignore[attr-defined]
    assert _hex(levels[1]) == LEVEL1
    assert _hex(levels[2]) == LEVEL2
    assert EMPTY_ROOT.hex() == ROOTS[0] == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_vectors(size: int) -> None:
    assert tree(HASHES[:size]).root(size).hex() == ROOTS[size]


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_and_verify(leaf: int, size: int, path: list[str]) -> None:
    proof = tree(HASHES[:size]).inclusion(leaf - 1, size)
    assert _hex(proof) == path
    root = bytes.fromhex(ROOTS[size])
    verify_inclusion(leaf - 1, size, HASHES[leaf - 1], proof, root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_and_verify(old: int, new: int, path: list[str]) -> None:
    proof = tree(HASHES[:new]).consistency(old, new)
    assert _hex(proof) == path
    verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


def _corruptions(proof: list[bytes]) -> list[list[bytes]]:
    """Every way the vectors' own tests corrupt a proof: each bit of each hash, one hash
    too few or too many, garbage before or after."""
    bad = [proof[:-1], [*proof, proof[0]], [proof[0], *proof], [*proof, b""], [b"\x00" * 32]]
    for i in range(len(proof)):
        for bit in (1, 8, 128):
            changed = list(proof)
            changed[i] = bytes([proof[i][0] ^ bit]) + proof[i][1:]
            bad.append(changed)
    return [p for p in bad if p != proof]


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_corrupted_inclusion_proofs_fail(leaf: int, size: int, path: list[str]) -> None:
    proof = [bytes.fromhex(p) for p in path]
    root = bytes.fromhex(ROOTS[size])
    index = leaf - 1
    for bad in _corruptions(proof):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, HASHES[index], bad, root)
    for wrong_index, wrong_size in ((index ^ 1, size), (index, size * 2), (index, size // 2)):
        if (wrong_index, wrong_size) != (index, size):
            with pytest.raises(ProofError):
                verify_inclusion(wrong_index, wrong_size, HASHES[index], proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"another leaf"), proof, root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_corrupted_consistency_proofs_fail(old: int, new: int, path: list[str]) -> None:
    proof = [bytes.fromhex(p) for p in path]
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    for bad in [*_corruptions(proof), []]:
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, bad)
    with pytest.raises(ProofError):
        verify_consistency(old, new, new_root, old_root, proof)  # swapped
    with pytest.raises(ProofError):
        verify_consistency(new, old, old_root, new_root, proof)  # the log shrank


def test_a_rewritten_history_is_not_consistent() -> None:
    rewritten = [*HASHES[:3], leaf_hash(b"rewritten"), *HASHES[4:]]
    honest = tree(HASHES)
    old_root = honest.root(5)
    proof = tree(rewritten).consistency(5, 8)
    with pytest.raises(ProofError):
        verify_consistency(5, 8, old_root, tree(rewritten).root(8), proof)


@given(st.integers(1, 70), st.data())
def test_every_proof_of_every_tree_verifies(size: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    merkle = tree(leaves)
    root = merkle.root(size)
    index = data.draw(st.integers(0, size - 1))
    verify_inclusion(index, size, leaves[index], merkle.inclusion(index, size), root)
    old = data.draw(st.integers(0, size))
    verify_consistency(old, size, merkle.root(old), root, merkle.consistency(old, size))
    assert merkle.root(size) == _reference_root(leaves)


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's recursive definition, as written."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))
