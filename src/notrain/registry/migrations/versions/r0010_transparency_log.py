"""The audit trail becomes a transparency log, sealed in batches.

Two tables for the Merkle tree over the audit events (``log_nodes``: the hashes of its
perfect subtrees; ``log_heads``: its signed heads over time), written by the sealer of
``notrain.proofs``. On PostgreSQL the chaining of staged events moves from the commit
trigger of migration 0004 into ``notrain_audit_chain_staged()``; the trigger still calls
it at commit, except in sessions that set ``notrain.audit_defer = on`` (the portal, whose
sealer calls it in batches instead, so a request's commit no longer waits for the chain's
head). Events chained either way are the same chain: the old chain stays as it was and
``notrain audit verify`` checks it and the tree. The tree covers every event from the
first; the sealer builds it for the events recorded before this migration on first run.

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from notrain.registry.migrations.versions.r0004_audit_at_commit import CHAIN

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CHAIN_STAGED = r"""
CREATE FUNCTION notrain_audit_chain_staged() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    staged record;
    moment text;
    payload text;
    done bigint[] := '{}';
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
    FOR staged IN SELECT * FROM audit_staging ORDER BY id LOOP
        head_seq := head_seq + 1;
        moment := to_char(staged.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
            || '+00:00';
        payload := '[' || head_seq || ',' || to_json(moment)::text
            || ',' || to_json(staged.actor)::text || ',' || to_json(staged.action)::text
            || ',' || COALESCE(to_json(staged.request_id)::text, 'null')
            || ',' || to_json(staged.detail)::text || ',' || to_json(head_hash)::text || ']';
        INSERT INTO audit_events (seq, at, actor, action, request_id, detail, prev_hash, hash)
        VALUES (head_seq, staged.at, staged.actor, staged.action, staged.request_id,
                staged.detail, head_hash,
                encode(sha256(convert_to(payload, 'UTF8')), 'hex'))
        RETURNING hash INTO head_hash;
        done := done || staged.id;
    END LOOP;
    IF cardinality(done) > 0 THEN
        UPDATE audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
        DELETE FROM audit_staging WHERE id = ANY (done);
    END IF;
    RETURN cardinality(done);
END $$
"""

TRIGGER = r"""
CREATE OR REPLACE FUNCTION notrain_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A deferring session leaves its events to the sealer; the first trigger of any other
    -- transaction chains everything staged, the rest find their row gone.
    IF current_setting('notrain.audit_defer', true) = 'on'
       OR NOT EXISTS (SELECT 1 FROM audit_staging WHERE id = NEW.id) THEN
        RETURN NULL;
    END IF;
    PERFORM notrain_audit_chain_staged();
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_log_nodes"),
    )
    op.create_table(
        "log_heads",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_log_heads"),
    )
    op.create_index("ix_log_heads_signed_at", "log_heads", ["signed_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHAIN_STAGED)
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT notrain_audit_chain_staged()")  # nothing is left unchained
        op.execute("DROP FUNCTION IF EXISTS notrain_audit_chain() CASCADE")
        op.execute(CHAIN)
        op.execute(
            "CREATE CONSTRAINT TRIGGER audit_staging_chain AFTER INSERT ON audit_staging "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION notrain_audit_chain()"
        )
        op.execute("DROP FUNCTION IF EXISTS notrain_audit_chain_staged()")
    op.drop_index("ix_log_heads_signed_at", table_name="log_heads")
    op.drop_table("log_heads")
    op.drop_table("log_nodes")
