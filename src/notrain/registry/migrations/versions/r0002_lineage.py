"""Lineage: the catalogue of built datasets and the models trained from them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("policy_name", sa.String(200), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot_sha256", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("kept_rows", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.String(40), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["datasets.id"], name="fk_datasets_parent_id_datasets"
        ),
    )
    op.create_index("ix_datasets_parent_id", "datasets", ["parent_id"])
    op.create_table(
        "trained_models",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dataset_id", sa.String(40), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trained_models"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_trained_models_dataset_id_datasets"
        ),
        sa.UniqueConstraint("name", "dataset_id", name="uq_trained_models_name"),
    )
    op.create_index("ix_trained_models_dataset_id", "trained_models", ["dataset_id"])


def downgrade() -> None:
    op.drop_table("trained_models")
    op.drop_table("datasets")
