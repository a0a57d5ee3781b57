#!/usr/bin/env python3
"""Check a notrain receipt or proof of absence, offline, with Python's standard library alone.

    python3 verify_receipt.py RECEIPT.json [--key PUBLIC_KEY]

(Download this file from the registry's /transparency/verify_receipt.py; in notrain's
source it is src/notrain/proofs/standalone_verify.py.)

PUBLIC_KEY is the log's Ed25519 public key: 64 hex digits, or a file holding them or the
JSON served at /transparency/key. Without it, the key inside the document is used, and you
should compare its key_id with the one the registry publishes. Exit status 0: the document
holds; 1: it does not (the reason is printed); 2: it cannot be read.

This file imports nothing of notrain, so it can be read and run by anyone. What it checks:

1. The signature: the tree head (or a dataset's commitment) is rebuilt as text lines,
   "notrain transparency log v1\\nsize: N\\nroot: HEX\\ntime: T\\n" (a commitment:
   "notrain dataset commitment v1\\ndataset: …\\nmanifest_sha256: …\\nas_of: …\\npeople: N\\n
   root: HEX\\n"), and its Ed25519 signature (RFC 8032) is verified.
2. A receipt: each step's leaf is the audit event's JSON, [seq, time, actor, action,
   request_id, detail, previous hash]; its hash SHA-256(0x00 || leaf) must lead, through the
   inclusion proof (RFC 9162 section 2.1.3.2; inner nodes SHA-256(0x01 || left || right)),
   to the signed root, at index seq - 1; and the leaf must name the request, the step's
   state and time, and (at submission) the request's kind.
3. A proof of absence: your value v = SHA-256(secret || dataset_id || "\\n" || user_id)
   must fall strictly between two adjacent leaves of the dataset's signed commitment (or
   before the first, or after the last), each proven by its inclusion proof; the leaves are
   keyed hashes of other people and say nothing about who they are.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

# -- Ed25519 signature verification (RFC 8032 section 5.1.7) -------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _add(a: Point, b: Point) -> Point:
    k1 = (a[1] - a[0]) * (b[1] - b[0]) % P
    k2 = (a[1] + a[0]) * (b[1] + b[0]) % P
    k3 = 2 * a[3] * b[3] * D % P
    k4 = 2 * a[2] * b[2] % P
    e, f, g, h = k2 - k1, k4 - k3, k4 + k3, k2 + k1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _decode(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
assert _GX is not None
BASE: Point = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decode(public), _decode(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _same(_multiply(s, BASE), _add(r, _multiply(h, a)))


# -- Merkle inclusion (RFC 9162 section 2.1.3.2) --------------------------------------------


class Invalid(Exception):
    pass


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_inclusion(index: int, size: int, leaf: bytes, proof: list[str], root: bytes) -> None:
    if not 0 <= index < size:
        raise Invalid(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for item in proof:
        p = bytes.fromhex(item)
        if len(p) != 32 or sn == 0:
            raise Invalid(f"the inclusion proof of leaf {index} is malformed or too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise Invalid(f"leaf {index} does not lead to the signed root of the tree of {size}")


# -- the signed statements ----------------------------------------------------------------


def check_signature(public: bytes, title: str, fields: list[tuple[str, object]], sig: str) -> None:
    text = "\n".join([title] + [f"{name}: {value}" for name, value in fields]) + "\n"
    if not ed25519_verify(public, text.encode("utf-8"), base64.b64decode(sig)):
        raise Invalid(f"the signature of the {title!r} statement does not verify")


def check_receipt(doc: dict[str, Any], public: bytes) -> str:
    head = doc["tree_head"]
    size, root = int(head["size"]), bytes.fromhex(head["root"])
    check_signature(public, "notrain transparency log v1",
                    [("size", size), ("root", head["root"]), ("time", head["time"])],
                    head["signature"])  # fmt: skip
    if not doc["steps"]:
        raise Invalid("the receipt has no step")
    kinds = set()
    for step in doc["steps"]:
        index = int(step["leaf_index"])
        data = step["leaf"].encode("utf-8")
        seq, at, _actor, action, request_id, detail, _prev = json.loads(data)
        detail = json.loads(detail)
        state = "submitted" if action == "submitted" else detail.get("to_state")
        if seq != index + 1 or request_id != doc["request_id"]:
            raise Invalid(f"step {index}: the leaf is event {seq} of {request_id}")
        if action not in ("submitted", "transition"):
            raise Invalid(f"step {index}: the leaf records {action!r}, not a step")
        if state != step["state"] or at != step["time"]:
            raise Invalid(f"step {index}: the leaf says {state} at {at}, "
                          f"the receipt {step['state']} at {step['time']}")  # fmt: skip
        if action == "submitted":
            kinds.add(detail.get("kind"))
        check_inclusion(index, size, leaf_hash(data), step["inclusion_proof"], root)
    if kinds != {doc["kind"]}:
        raise Invalid(f"the submission's kind is {sorted(map(str, kinds))}, not {doc['kind']}")
    if doc["steps"][-1]["state"] != doc["state"]:
        raise Invalid(f"the last step is {doc['steps'][-1]['state']}, not {doc['state']}")
    steps = len(doc["steps"])
    return (f"receipt of {doc['request_id']} ({doc['kind']}, {doc['state']}) holds: "
            f"{steps} steps in the log of {size} events, head signed {head['time']}")  # fmt: skip


def check_absence(doc: dict[str, Any], public: bytes) -> str:
    checked = 0
    for subject in doc["subjects"]:
        user_id, secret = int(subject["user_id"]), bytes.fromhex(subject["secret"])
        for answer in subject["datasets"]:
            if answer["status"] != "absent":
                continue
            proof = answer["proof"]
            c = proof["commitment"]
            fields = [("dataset", c["dataset_id"]), ("manifest_sha256", c["manifest_sha256"]),
                      ("as_of", c["as_of"]), ("people", int(c["people"])),
                      ("root", c["root"])]  # fmt: skip
            check_signature(public, "notrain dataset commitment v1", fields, c["signature"])
            size, root = int(c["people"]), bytes.fromhex(c["root"])
            mine = hashlib.sha256(secret + f"{c['dataset_id']}\n{user_id}".encode()).digest()
            left, right = proof.get("left"), proof.get("right")
            where = f"dataset {c['dataset_id']}"
            if size == 0:
                if left or right or root != hashlib.sha256(b"").digest():
                    raise Invalid(f"{where}: an empty commitment has no leaves")
                checked += 1
                continue
            if left is None and right is None:
                raise Invalid(f"{where}: no neighbour given")
            if left is not None:
                if not bytes.fromhex(left["value"]) < mine:
                    raise Invalid(f"{where}: the left neighbour does not sort before you")
                check_inclusion(int(left["index"]), size, leaf_hash(bytes.fromhex(left["value"])),
                                left["inclusion_proof"], root)  # fmt: skip
            if right is not None:
                if not mine < bytes.fromhex(right["value"]):
                    raise Invalid(f"{where}: the right neighbour does not sort after you")
                check_inclusion(int(right["index"]), size,
                                leaf_hash(bytes.fromhex(right["value"])),
                                right["inclusion_proof"], root)  # fmt: skip
            first = int(right["index"]) if right else int(left["index"]) + 1
            last = int(left["index"]) if left else int(right["index"]) - 1
            if (
                first != last + 1
                or (left is None and first != 0)
                or (right is None and last != size - 1)
            ):
                raise Invalid(f"{where}: the neighbours are not adjacent around you")
            checked += 1
    return f"proof of absence for request {doc['request_id']} holds for {checked} datasets"


def read_key(value: str) -> bytes:
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    if text.startswith("{"):
        text = json.loads(text)["public_key"]
    key = bytes.fromhex(text)
    if len(key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a receipt or proof of absence (JSON)")
    parser.add_argument("--key", help="the log's public key (hex, or a file holding it)")
    args = parser.parse_args()
    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
        public = read_key(args.key) if args.key else bytes.fromhex(doc["public_key"])
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        kind = doc.get("format")
        if kind == "notrain-receipt/1":
            summary = check_receipt(doc, public)
        elif kind == "notrain-absence/1":
            summary = check_absence(doc, public)
        else:
            raise Invalid(f"unknown format {kind!r}")
    except Invalid as exc:
        print(f"DOES NOT HOLD: {exc}")
        return 1
    except (KeyError, TypeError, ValueError) as exc:
        print(f"DOES NOT HOLD: the document is malformed ({type(exc).__name__}: {exc})")
        return 1
    print(summary)
    if not args.key:
        key_id = hashlib.sha256(public).hexdigest()
        print(f"checked with the key inside the document (key_id {key_id}); compare it with "
              "the one the registry publishes at /transparency/key")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
