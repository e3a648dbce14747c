"""Tokens name their project and expire.

Revision ID: 004
Revises: 002
Create Date: 2011-05-02

Cactus kept a token for two days after ``created_at`` and knew no project;
a token now carries both.  Nothing created tokens before this revision, so
rows left from an older schema (which could not say when they expire) are
dropped rather than given a made-up lifetime.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "004"
down_revision = "003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.table("auth_tokens").delete())
    # SQLite cannot add a NOT NULL column without a default in place; the others can, to an empty table.
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
    with op.batch_alter_table("auth_tokens", recreate=recreate) as batch:
        batch.add_column(sa.Column("project_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime, nullable=False))
        batch.create_index("ix_auth_tokens_expires_at", ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("auth_tokens") as batch:
        batch.drop_index("ix_auth_tokens_expires_at")
        batch.drop_column("expires_at")
        batch.drop_column("project_id")
