"""The data contracts (v1) of DESIGN.md as Arrow schemas and value sets.

Column names and types here are public interface: the builder validates its inputs against
them and writes its outputs in them; the synthesiser and the registry export produce them.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa

CONTRACT_VERSION = 1


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
        pa.field("source_sha256", pa.string(), nullable=False),
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

# A kept row is a content row (text redacted) plus the hash of the source row's text,
# so a dataset user can prove which input a row came from without the original text.
DATASET = CONTENT.append(pa.field("source_sha256", pa.string(), nullable=False))

# Countries are ISO 3166-1 alpha-2. EU-27 and the EEA members outside it name the regimes
# of the shipped default policy.
EU27 = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip
EEA_NON_EU = ("IS", "LI", "NO")
