"""The registry: requests, identifiers, subjects, codes, mail queue, audit trail, officers.

Revision ID: 0001
Revises:
Create Date: 2026-11-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("handle", sa.String(64)),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("member", sa.Boolean()),
        _when("received_at"),
        _when("due_at"),
        sa.Column("extended_months", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.Text()),
        _when("verified_at", nullable=True),
        _when("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text()),
        _when("applied_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
    )
    for column in ("state", "email", "fingerprint", "due_at"):
        op.create_index(f"ix_requests_{column}", "requests", [column])

    op.create_table(
        "request_identifiers",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_request_identifiers"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_request_identifiers_request_id_requests"
        ),
        sa.UniqueConstraint(
            "request_id", "kind", "value", name="uq_request_identifiers_request_id"
        ),
    )
    op.create_index("ix_request_identifiers_request_id", "request_identifiers", ["request_id"])

    op.create_table(
        "request_subjects",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("matched_by", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "subject_id", name="pk_request_subjects"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_request_subjects_request_id_requests"
        ),
    )

    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("used_at", nullable=True),
        _when("superseded_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_verification_codes"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_verification_codes_request_id_requests"
        ),
    )
    op.create_index("ix_verification_codes_request_id", "verification_codes", ["request_id"])
    op.create_index("ix_verification_codes_email", "verification_codes", ["email"])

    op.create_table(
        "mail_queue",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("template", sa.String(32), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(32)),
        _when("created_at"),
        _when("next_attempt_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("sent_at", nullable=True),
        sa.Column("last_error", sa.Text()),
        sa.Column("message_id", sa.String(255)),
        sa.PrimaryKeyConstraint("id", name="pk_mail_queue"),
    )
    op.create_index("ix_mail_queue_to_address", "mail_queue", ["to_address"])
    op.create_index("ix_mail_queue_request_id", "mail_queue", ["request_id"])
    op.create_index("ix_mail_queue_due", "mail_queue", ["sent_at", "next_attempt_at"])

    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False),
        _when("at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32)),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])

    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _when("created_at"),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_officers"),
        sa.UniqueConstraint("username", name="uq_officers_username"),
    )

    _append_only_audit()


def _append_only_audit() -> None:
    """Refuse UPDATE and DELETE of audit events in the database itself, not only in code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION notrain_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION notrain_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION notrain_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS notrain_audit_append_only()")
    for table in (
        "officers",
        "audit_head",
        "audit_events",
        "mail_queue",
        "verification_codes",
        "request_subjects",
        "request_identifiers",
        "requests",
    ):
        op.drop_table(table)
