"""Each user gets an access/secret pair per project.

Revision ID: 009
Revises: 008
Create Date: 2011-07-15

A SigV4 ``Authorization`` header signs the request but not its own access
key, so the legacy ``ACCESS:PROJECT`` key cannot bind such a request to its
project: the suffix could be edited after signing.  A pair made for one
project (``nova-manage credentials create``) names the project by itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "009"
down_revision = "008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name = "ec2_credentials"
    op.create_table(
        name,
        sa.Column("access_key", sa.String(255), nullable=False),
        sa.Column("secret_key", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("access_key", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=f"fk_{name}_user_id"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=f"fk_{name}_project_id"),
    )
    for column in ("user_id", "project_id"):
        op.create_index(f"ix_{name}_{column}", name, [column])


def downgrade() -> None:
    op.drop_table("ec2_credentials")
