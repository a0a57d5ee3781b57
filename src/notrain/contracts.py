"""The data contracts of DESIGN.md as Arrow schemas and value sets, and the snapshot check.

Column names and types here are public interface: the builder validates its inputs against
them and writes its outputs in them; the synthesiser and the registry export produce them.
The registry snapshot is a file with a sidecar: :func:`verify_snapshot` is how its reader
(the builder) checks one, so the builder meets the registry only through that file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Protocol

import pyarrow as pa

from notrain.errors import InputError, SnapshotIntegrityError

CONTRACT_VERSION = 2
"""2: a dataset's ``source_sha256`` is the 32 raw bytes of the hash (1: 64 hex characters)."""


class ContentKind(StrEnum):
    POST = "post"
    PHOTO = "photo"
    VIDEO = "video"
    CAPTION = "caption"
    COMMENT = "comment"
    STORY = "story"
    AI_CHAT = "ai_chat"
    PRIVATE_MESSAGE = "private_message"


class Visibility(StrEnum):
    PUBLIC = "public"
    FOLLOWERS = "followers"
    FRIENDS = "friends"
    PRIVATE = "private"


class DecisionKind(StrEnum):
    """Kinds of effective decision in a registry snapshot."""

    OBJECTION = "objection"
    ERASURE = "erasure"
    CONSENT = "consent"


UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

ACCOUNTS = pa.schema(
    [
        pa.field("user_id", pa.int64(), nullable=False),
        pa.field("handle", pa.string(), nullable=False),
        pa.field("email", pa.string()),
        pa.field("country", pa.string(), nullable=False),
        pa.field("birth_date", pa.date32()),
        pa.field("created_at", UTC_TIMESTAMP, nullable=False),
    ]
)

CONTENT = pa.schema(
    [
        pa.field("content_id", pa.int64(), nullable=False),
        pa.field("author_id", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("visibility", pa.string(), nullable=False),
        pa.field("created_at", UTC_TIMESTAMP, nullable=False),
        pa.field("text", pa.string()),
        pa.field("media_uri", pa.string()),
        pa.field("parent_id", pa.int64()),
        pa.field("mentions", pa.list_(pa.int64())),
        pa.field("tags", pa.list_(pa.int64())),
    ]
)

SNAPSHOT = pa.schema(
    [
        pa.field("subject_id", pa.int64()),
        pa.field("identifiers", pa.list_(pa.string())),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("effective_at", UTC_TIMESTAMP, nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
    ]
)


class SignalDecision(StrEnum):
    """What `notrain signals` concluded for one item."""

    RESERVED = "reserved"
    ALLOWED = "allowed"
    UNKNOWN = "unknown"
    ERROR = "error"


# The columns of a signals decision file that the builder reads (others are evidence).
SIGNALS = pa.schema(
    [
        pa.field("content_id", pa.int64()),
        pa.field("decision", pa.string(), nullable=False),
    ]
)

# The columns of a `notrain signals scan-warc` output that a web build reads.
WEB_DOCUMENTS = pa.schema(
    [
        pa.field("url", pa.string()),
        pa.field("fetched_at", UTC_TIMESTAMP),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("record_id", pa.string()),
    ]
)

# A dataset of web documents: text redacted, plus the hash of the source text.
WEB_DATASET = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("fetched_at", UTC_TIMESTAMP),
        pa.field("text", pa.string(), nullable=False),
        pa.field("record_id", pa.string()),
        pa.field("source_sha256", pa.binary(), nullable=False),
    ]
)

WEB_EXCLUSIONS = pa.schema(
    [
        pa.field("url", pa.string()),
        pa.field("record_id", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

EXCLUSIONS = pa.schema(
    [
        pa.field("content_id", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

LINEAGE = pa.schema(
    [
        pa.field("content_id", pa.int64(), nullable=False),
        pa.field("author_id", pa.int64(), nullable=False),
        pa.field("mentions", pa.list_(pa.int64())),
        pa.field("tags", pa.list_(pa.int64())),
    ]
)

# A kept row is a content row (text redacted) plus the sha256 of the source row (id, text
# and media URI, joined by U+001F) as 32 raw bytes, so a dataset user can prove which input
# a row came from without the original text.
DATASET = CONTENT.append(pa.field("source_sha256", pa.binary(), nullable=False))

# Countries are ISO 3166-1 alpha-2. EU-27 and the EEA members outside it name the regimes
# of the shipped default policy.
EU27 = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip
EEA_NON_EU = ("IS", "LI", "NO")


# -- the registry snapshot file ---------------------------------------------------------

SIDECAR_SUFFIX = ".json"
"""A snapshot ``x.parquet`` has its sidecar in ``x.parquet.json``: sha256, taken_at, rows."""


class SnapshotLocation(Protocol):
    """The file operations the check needs (a :class:`notrain.corpus.storage.Storage`)."""

    def is_file(self, path: str) -> bool: ...

    def exists(self, path: str) -> bool: ...

    def sha256(self, path: str) -> str: ...

    def open_read(self, path: str) -> IO[bytes]: ...

    def name(self, path: str) -> str: ...


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path | str
    sha256: str
    taken_at: datetime | None
    had_sidecar: bool


def verify_snapshot(path: Path | str, storage: SnapshotLocation) -> SnapshotInfo:
    """Check ``path`` against its sidecar, if it has one; return its hash either way.

    ``storage`` is where the file lives: the local disk, or (a URI given to the Spark
    engine) a Hadoop file system. A snapshot without a sidecar is accepted; one whose
    bytes differ from its sidecar's hash is refused.
    """
    name = str(path)
    if not storage.is_file(name):
        raise InputError(path, "registry snapshot not found (expected a Parquet file)")
    try:
        sha = storage.sha256(name)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    side = name + SIDECAR_SUFFIX
    if not storage.exists(side):
        return SnapshotInfo(path=path, sha256=sha, taken_at=None, had_sidecar=False)
    try:
        with storage.open_read(side) as handle:
            meta = json.loads(handle.read().decode("utf-8"))
        recorded = str(meta["sha256"])
        taken_raw = meta.get("taken_at")
        taken_at = datetime.fromisoformat(taken_raw) if taken_raw else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(side, f"unreadable snapshot sidecar ({exc})") from None
    if recorded != sha:
        raise SnapshotIntegrityError(
            f"{path}: sha256 {sha} does not match {recorded} recorded in {storage.name(side)}; "
            "the snapshot was changed after it was taken"
        )
    return SnapshotInfo(path=path, sha256=sha, taken_at=taken_at, had_sidecar=True)
