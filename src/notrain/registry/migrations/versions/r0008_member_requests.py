"""Members' one-click requests: API key scopes and the platform's idempotency keys.

A key gets ``scopes`` (space-separated); every key made before has ``status``, which is
what keys could do until now. ``idempotency_keys`` remembers, per API key, which request a
call with an ``Idempotency-Key`` header made, so a retried call returns that request
instead of making another.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as table:
        table.add_column(
            sa.Column("scopes", sa.String(64), nullable=False, server_default="status")
        )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_idempotency_keys_api_key_id_api_keys"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_idempotency_keys_request_id_requests"
        ),
        sa.UniqueConstraint("api_key_id", "key", name="uq_idempotency_keys_api_key_id"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("scopes")
