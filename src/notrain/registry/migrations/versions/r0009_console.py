"""The console at scale: the queue's indexes, an e-mail keyed-hash column, bulk decisions.

Each tab of the officer's queue (to decide, waiting for export, awaiting the code, closed)
gets a partial index on the deadline that also carries the columns the filters read, so a
page, a filtered page and the tab's counts are answered from the index alone. The states
of the tabs partition the states, so every request sits in exactly one of them.
``email_hash`` is HMAC-SHA256(secret key, address): the console finds a request by an
address without listing or scanning addresses (filled by the registry, which holds the
key; rows from before this revision are filled when the console first searches).
``bulk_jobs`` and ``bulk_items`` keep a confirmed bulk decision and what of it is done,
so an interrupted one resumes where it stopped.

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# tab -> its states; the same literal text as notrain.registry.queue.TAB_STATES renders.
TABS = {
    "decide": ("needs_review", "verified"),
    "export": ("accepted",),
    "code": ("submitted",),
    "closed": ("applied", "rejected"),
}
COLUMNS = ["due_at", "id", "kind", "country", "member", "received_at", "state",
           "extended_months"]  # fmt: skip


def tab_predicate(states: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("requests", sa.Column("email_hash", sa.String(64)))
    op.create_index("ix_requests_email_hash", "requests", ["email_hash"])
    for tab, states in TABS.items():
        where = sa.text(tab_predicate(states))
        op.create_index(f"ix_requests_tab_{tab}", "requests", COLUMNS,
                        sqlite_where=where, postgresql_where=where)  # fmt: skip
    op.create_index("ix_requests_received_at", "requests", ["received_at", "id"])

    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("months", sa.Integer()),
        sa.Column("selection", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_jobs"),
    )
    op.create_table(
        "bulk_items",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("job_id", "request_id", name="pk_bulk_items"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["bulk_jobs.id"], name="fk_bulk_items_job_id_bulk_jobs"
        ),
    )


def downgrade() -> None:
    op.drop_table("bulk_items")
    op.drop_table("bulk_jobs")
    op.drop_index("ix_requests_received_at", "requests")
    for tab in TABS:
        op.drop_index(f"ix_requests_tab_{tab}", "requests")
    op.drop_index("ix_requests_email_hash", "requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("email_hash")
