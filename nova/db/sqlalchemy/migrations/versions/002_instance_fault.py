"""Instances say why they ended in error.

Revision ID: 002
Revises: 001
Create Date: 2011-04-20

Cactus wrote such reasons into ``state_description``; with the split into
vm_state/task_state the reason gets a column of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("fault", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("fault")
