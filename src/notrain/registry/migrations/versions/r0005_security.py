"""Security review (issue 20): status tokens, merged duplicates, per-client code counts, and
the site-wide count of failed verifications.

- ``requests.status_salt``: set when the address is verified; the request's status token is
  HMAC(secret key, request id ‖ salt), so the database alone holds no token.
- ``requests.merged_into``: a verified duplicate points at the request it joined.
- ``requests.client_key``: a keyed hash of the submitting client's network (never the
  address itself), so codes can be counted per client and address.
- ``verification_load``: failed verifications per hour across all addresses.

Requests verified before this revision get a salt, so the mails they are still sent can
carry a status link.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("status_salt", sa.String(32), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.String(32), nullable=True))
        batch.add_column(sa.Column("client_key", sa.String(32), nullable=True))
    op.create_index("ix_requests_client_key", "requests", ["client_key"])
    op.create_table(
        "verification_load",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("slowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("hour", name="pk_verification_load"),
    )
    bind = op.get_bind()
    requests = sa.table("requests", sa.column("id", sa.String), sa.column("state", sa.String),
                        sa.column("status_salt", sa.String))  # fmt: skip
    verified = bind.execute(
        sa.select(requests.c.id).where(requests.c.state != "submitted")
    ).scalars()
    for request_id in list(verified):
        bind.execute(
            requests.update()
            .where(requests.c.id == request_id)
            .values(status_salt=secrets.token_hex(16))
        )


def downgrade() -> None:
    op.drop_table("verification_load")
    op.drop_index("ix_requests_client_key", table_name="requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("client_key")
        batch.drop_column("merged_into")
        batch.drop_column("status_salt")
