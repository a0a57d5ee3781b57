"""Proof that a person is absent from a dataset, revealing nothing about anyone else.

Each dataset gets a signed commitment to the set of people present in it: the authors of
its kept rows and the tagged and mentioned accounts that survived (its ``lineage.parquet``).
A person ``u`` is committed as the value ``v = SHA-256(s_u || dataset_id || "\\n" || u)``,
where ``s_u = HMAC-SHA256(commitment key, "person:" || u)`` is a secret only the registry
(and an auditor it trusts with the commitment key) can compute; the values are sorted and
made the leaves of an RFC 6962 Merkle tree, whose root is signed with the log's key
(``commitment.json`` beside the manifest; the sorted values in ``commitment.leaves``).

To show ``u`` is absent, the registry gives ``u`` their secret and the two neighbours of
``v`` in the sorted leaves (or the one neighbour at an end), each with its inclusion proof:
adjacent indices and ``left < v < right`` mean ``v`` is not a leaf. The neighbours are
keyed hashes: without the commitment key nobody can tell whose they are, or test whether a
given user id is present (user ids are small numbers; an unkeyed hash of one would be
guessed at once). This is the hiding that CONIKS and key transparency get from a VRF;
here the person cannot check on their own that ``s_u`` is the right secret, but an auditor
holding the commitment key can, for every proof ever issued, and can recompute every
commitment from the dataset's shards (``notrain dataset verify --audit``).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from notrain.errors import InputError, ProofInvalid
from notrain.proofs.heads import COMMITMENT_TITLE, moment, statement, verify_signature
from notrain.proofs.keys import LogKey
from notrain.proofs.merkle import EMPTY_ROOT, ProofError, leaf_hash, tree, verify_inclusion

COMMITMENT = "commitment.json"
LEAVES = "commitment.leaves"
LINEAGE = "lineage.parquet"
MANIFEST = "manifest.json"
FORMAT = "notrain-commitment/1"
PROOF_FORMAT = "notrain-absence/1"


def person_secret(commitment_key: bytes, user_id: int) -> bytes:
    return hmac.new(commitment_key, f"person:{user_id}".encode(), hashlib.sha256).digest()


def person_value(secret: bytes, dataset_id: str, user_id: int) -> bytes:
    return hashlib.sha256(secret + f"{dataset_id}\n{user_id}".encode()).digest()


def people_present(dataset: Path) -> list[int]:
    """Every account present in the dataset: authors of kept rows, surviving tags, mentions."""
    path = dataset / LINEAGE
    try:
        table = pq.read_table(path, columns=["author_id", "mentions", "tags"])
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(path, f"cannot read the lineage: {exc}") from None
    parts = [table["author_id"].combine_chunks()]
    for column in ("mentions", "tags"):
        parts.append(pc.list_flatten(table[column].combine_chunks()))
    ids = pc.unique(pa.concat_arrays([p.cast(pa.int64()) for p in parts]).drop_null())
    return sorted(int(x) for x in ids.to_pylist())


def commitment_values(commitment_key: bytes, dataset_id: str, people: list[int]) -> list[bytes]:
    return sorted(person_value(person_secret(commitment_key, u), dataset_id, u) for u in people)


def commitment_message(commitment: dict[str, Any]) -> bytes:
    return statement(
        COMMITMENT_TITLE,
        [
            ("dataset", commitment["dataset_id"]),
            ("manifest_sha256", commitment["manifest_sha256"]),
            ("as_of", commitment["as_of"]),
            ("people", int(commitment["people"])),
            ("root", commitment["root"]),
        ],
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    """Write beside the manifest atomically (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def make_commitment(dataset: Path, key: LogKey, now: datetime) -> dict[str, Any] | None:
    """Commit to the people of the dataset at ``dataset`` and write the two files; None
    for a dataset without lineage (a web corpus names no accounts)."""
    if not (dataset / LINEAGE).is_file():
        return None
    manifest = json.loads((dataset / MANIFEST).read_text(encoding="utf-8"))
    dataset_id = str(manifest["dataset_id"])
    values = commitment_values(key.commitment_key, dataset_id, people_present(dataset))
    leaves = b"".join(values)
    commitment: dict[str, Any] = {
        "format": FORMAT,
        "dataset_id": dataset_id,
        "manifest_sha256": file_sha256(dataset / MANIFEST),
        "as_of": moment(datetime.fromisoformat(str(manifest["as_of"]))),
        "people": len(values),
        "root": tree([leaf_hash(v) for v in values]).root(len(values)).hex(),
        "leaves_file": LEAVES,
        "leaves_sha256": hashlib.sha256(leaves).hexdigest(),
        "signed_at": moment(now),
        "key_id": key.key_id,
    }
    commitment["signature"] = base64.b64encode(key.sign(commitment_message(commitment))).decode()
    _write(dataset / LEAVES, leaves)
    _write(dataset / COMMITMENT, (json.dumps(commitment, indent=2) + "\n").encode())
    return commitment


def read_commitment(dataset: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads((dataset / COMMITMENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded


@lru_cache(maxsize=4)
def _leaves(path: str, sha256: str) -> tuple[list[bytes], Any]:
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ProofInvalid(f"{path}: does not match the commitment's leaves_sha256")
    values = [data[i : i + 32] for i in range(0, len(data), 32)]
    return values, tree([leaf_hash(v) for v in values])


@dataclass(frozen=True)
class DatasetAnswer:
    """For one person and one dataset: a proof of absence, or why there is none."""

    dataset_id: str
    as_of: str
    status: str  # absent, waiting_for_recall, no_commitment
    proof: dict[str, Any] | None = None


def absence_proof(dataset: Path, commitment_key: bytes, user_id: int, as_of: str) -> DatasetAnswer:
    commitment = read_commitment(dataset)
    dataset_id = dataset.name if commitment is None else str(commitment["dataset_id"])
    if commitment is None:
        return DatasetAnswer(dataset_id, as_of, "no_commitment")
    values, merkle = _leaves(str(dataset / LEAVES), str(commitment["leaves_sha256"]))
    mine = person_value(person_secret(commitment_key, user_id), dataset_id, user_id)
    at = bisect.bisect_left(values, mine)
    if at < len(values) and values[at] == mine:
        return DatasetAnswer(dataset_id, commitment["as_of"], "waiting_for_recall")
    size = len(values)

    def neighbour(index: int) -> dict[str, Any] | None:
        if not 0 <= index < size:
            return None
        return {
            "index": index,
            "value": values[index].hex(),
            "inclusion_proof": [p.hex() for p in merkle.inclusion(index, size)],
        }

    public = {k: commitment[k] for k in ("dataset_id", "manifest_sha256", "as_of", "people",
                                         "root", "signed_at", "key_id", "signature")}  # fmt: skip
    proof = {"commitment": public, "left": neighbour(at - 1), "right": neighbour(at)}
    return DatasetAnswer(dataset_id, commitment["as_of"], "absent", proof)


def verify_absence(document: dict[str, Any], public: bytes | None = None) -> str:
    """Raise :class:`ProofInvalid` unless every proof in the document holds; a summary."""
    if document.get("format") != PROOF_FORMAT:
        raise ProofInvalid(f"not a proof of absence: format is {document.get('format')!r}")
    try:
        key = public if public is not None else bytes.fromhex(str(document["public_key"]))
        checked = 0
        for subject in document["subjects"]:
            user_id = int(subject["user_id"])
            secret = bytes.fromhex(subject["secret"])
            for answer in subject["datasets"]:
                if answer["status"] != "absent":
                    continue
                _verify_one(answer["proof"], key, secret, user_id)
                checked += 1
    except ProofError as exc:
        raise ProofInvalid(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofInvalid(f"the proof is malformed: {type(exc).__name__}: {exc}") from None
    request_id = document.get("request_id")
    return f"proof of absence for request {request_id} holds for {checked} datasets"


def _verify_one(proof: dict[str, Any], key: bytes, secret: bytes, user_id: int) -> None:
    commitment = proof["commitment"]
    dataset_id = str(commitment["dataset_id"])
    verify_signature(key, commitment_message(commitment), commitment["signature"])
    size, root = int(commitment["people"]), bytes.fromhex(commitment["root"])
    mine = person_value(secret, dataset_id, user_id)
    left, right = proof.get("left"), proof.get("right")
    where = f"dataset {dataset_id}"
    if size == 0:
        if left or right or root != EMPTY_ROOT:
            raise ProofError(f"{where}: an empty commitment has no leaves")
        return
    if left is None and right is None:
        raise ProofError(f"{where}: no neighbour given")
    if left is not None:
        value = bytes.fromhex(left["value"])
        if not value < mine:
            raise ProofError(f"{where}: the left neighbour does not sort before you")
        verify_inclusion(int(left["index"]), size, leaf_hash(value),
                         [bytes.fromhex(p) for p in left["inclusion_proof"]], root)  # fmt: skip
    if right is not None:
        value = bytes.fromhex(right["value"])
        if not mine < value:
            raise ProofError(f"{where}: the right neighbour does not sort after you")
        verify_inclusion(int(right["index"]), size, leaf_hash(value),
                         [bytes.fromhex(p) for p in right["inclusion_proof"]], root)  # fmt: skip
    if left is None and int(right["index"]) != 0:  # type: ignore[index]
        raise ProofError(f"{where}: nothing before the right neighbour, yet it is not first")
    if right is None and int(left["index"]) != size - 1:  # type: ignore[index]
        raise ProofError(f"{where}: nothing after the left neighbour, yet it is not last")
    if left is not None and right is not None and int(right["index"]) != int(left["index"]) + 1:
        raise ProofError(f"{where}: the two neighbours are not adjacent")


@dataclass
class AuditResult:
    dataset_id: str
    people: int
    problems: list[str]


def audit_commitment(dataset: Path, commitment_key: bytes, public: bytes) -> AuditResult:
    """Recompute the commitment from the dataset's own files and compare."""
    commitment = read_commitment(dataset)
    if commitment is None:
        return AuditResult(dataset.name, 0, [f"{COMMITMENT}: missing or unreadable"])
    problems: list[str] = []
    dataset_id = str(commitment["dataset_id"])
    try:
        verify_signature(public, commitment_message(commitment), commitment["signature"])
    except ProofError as exc:
        problems.append(f"{COMMITMENT}: {exc}")
    if file_sha256(dataset / MANIFEST) != commitment["manifest_sha256"]:
        problems.append(f"{COMMITMENT}: made for another manifest")
    values = commitment_values(commitment_key, dataset_id, people_present(dataset))
    if len(values) != int(commitment["people"]):
        problems.append(
            f"{COMMITMENT}: commits to {commitment['people']} people, the lineage has {len(values)}"
        )
    root = tree([leaf_hash(v) for v in values]).root(len(values)).hex()
    if root != commitment["root"]:
        problems.append(f"{COMMITMENT}: its root does not match the people in the lineage")
    leaves_path = dataset / LEAVES
    if not leaves_path.is_file() or leaves_path.read_bytes() != b"".join(values):
        problems.append(f"{LEAVES}: does not hold the sorted values of the people present")
    return AuditResult(dataset_id, len(values), problems)
