"""The audit chain is appended at commit, inside the database, on PostgreSQL.

A step stages its events in ``audit_staging``; a deferred constraint trigger chains them
when the transaction commits, in the order they were staged: it locks ``audit_head``,
gives each event the next ``seq`` and the sha256 of ``[seq, at, actor, action, request_id,
detail, prev_hash]`` as JSON (exactly what :func:`notrain.registry.audit.event_hash`
computes, which ``notrain audit verify`` recomputes), inserts it into ``audit_events``,
moves the head once and empties the staging rows. The head is then held only for the
commit itself, never across a round trip to the client. On SQLite, where a step holds the
database's write lock from its first statement, the registry chains in Python instead and
the table stays empty.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHAIN = r"""
CREATE FUNCTION notrain_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    staged record;
    moment text;
    payload text;
    done bigint[] := '{}';
BEGIN
    -- The first trigger of a transaction chains all its staged events; the rest find
    -- their row gone.
    IF NOT EXISTS (SELECT 1 FROM audit_staging WHERE id = NEW.id) THEN
        RETURN NULL;
    END IF;
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
    UPDATE audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
    DELETE FROM audit_staging WHERE id = ANY (done);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "audit_staging",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32)),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_staging"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHAIN)
        op.execute(
            "CREATE CONSTRAINT TRIGGER audit_staging_chain AFTER INSERT ON audit_staging "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION notrain_audit_chain()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_staging_chain ON audit_staging")
        op.execute("DROP FUNCTION IF EXISTS notrain_audit_chain()")
    op.drop_table("audit_staging")
