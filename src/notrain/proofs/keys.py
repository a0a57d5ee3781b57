"""The log's Ed25519 signing key, and the key that makes each person's absence secret.

The signing key comes from ``NOTRAIN_TRANSPARENCY_KEY`` (the 32-byte seed in hex) or from
``NOTRAIN_TRANSPARENCY_KEY_FILE`` (PKCS#8 PEM, made on first use with mode 0600), like the
secret key of the registry. Everything public about it is the raw 32-byte public key,
published at ``/transparency/key``; its ``key_id`` is that key's sha256.

The commitment key is derived from the signing key (HMAC-SHA256 of a fixed label), so an
operator can hand it to an auditor, who can then recompute every dataset's commitment and
every person's secret, without being able to sign anything.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notrain.errors import UserError
from notrain.settings import Settings

_COMMITMENT_LABEL = b"notrain absence commitments v1"


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


@dataclass(frozen=True)
class LogKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    @property
    def commitment_key(self) -> bytes:
        seed = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return hmac.new(seed, _COMMITMENT_LABEL, hashlib.sha256).digest()

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def load_log_key(settings: Settings) -> LogKey:
    """The configured key, or the key file's, created on first use."""
    if settings.transparency_key is not None:
        text = settings.transparency_key.get_secret_value().strip()
        try:
            seed = bytes.fromhex(text)
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise UserError("NOTRAIN_TRANSPARENCY_KEY must be 64 hex digits (an Ed25519 seed)")
        return LogKey(Ed25519PrivateKey.from_private_bytes(seed))
    path = Path(settings.transparency_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the transparency log's key: {exc}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise UserError(f"{path}: not an Ed25519 private key")
    return LogKey(loaded)
