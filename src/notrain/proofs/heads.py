"""Signed statements: the log's tree heads and the datasets' commitments.

A statement is a few ``name: value`` lines under a title line, in UTF-8, each ending in a
newline; the Ed25519 signature covers exactly those bytes. Plain text, so anyone can
rebuild the bytes from the JSON fields and check the signature with any Ed25519 library
(``standalone_verify.py`` does it with the standard library alone).

    notrain transparency log v1        notrain dataset commitment v1
    size: 1234                         dataset: ds-…
    root: <64 hex digits>              manifest_sha256: <64 hex>
    time: 2026-12-05T09:30:00.000000Z  as_of: 2026-12-01T00:00:00.000000Z
                                       people: 5678
                                       root: <64 hex>
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from notrain.proofs.keys import LogKey, key_id
from notrain.proofs.merkle import ProofError

HEAD_TITLE = "notrain transparency log v1"
COMMITMENT_TITLE = "notrain dataset commitment v1"


def moment(at: datetime) -> str:
    """A time as the statements write it: UTC, microseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def statement(title: str, fields: list[tuple[str, str | int]]) -> bytes:
    lines = [title] + [f"{name}: {value}" for name, value in fields]
    return ("\n".join(lines) + "\n").encode("utf-8")


def verify_signature(public: bytes, message: bytes, signature_b64: str) -> None:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise ProofError(f"the signature does not verify with key {key_id(public)[:16]}…") from (
            exc
        )


@dataclass(frozen=True)
class TreeHead:
    """The log's state at one moment, signed: size, root and time."""

    size: int
    root: str  # hex
    time: str  # as :func:`moment` writes it
    signature: str  # base64
    key_id: str

    def message(self) -> bytes:
        return head_message(self.size, self.root, self.time)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root,
            "time": self.time,
            "signature": self.signature,
            "key_id": self.key_id,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> TreeHead:
        try:
            return cls(
                int(data["size"]),
                str(data["root"]),
                str(data["time"]),
                str(data["signature"]),
                str(data.get("key_id", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProofError(f"not a signed tree head: {exc}") from None

    def verify(self, public: bytes) -> None:
        verify_signature(public, self.message(), self.signature)


def head_message(size: int, root: str, time: str) -> bytes:
    return statement(HEAD_TITLE, [("size", size), ("root", root), ("time", time)])


def sign_head(key: LogKey, size: int, root: bytes, at: datetime) -> TreeHead:
    time = moment(at)
    message = head_message(size, root.hex(), time)
    signature = base64.b64encode(key.sign(message)).decode()
    return TreeHead(size, root.hex(), time, signature, key.key_id)
