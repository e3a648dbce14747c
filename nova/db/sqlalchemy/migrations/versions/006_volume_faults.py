"""Volumes and snapshots keep why they failed; a snapshot knows its host.

Revision ID: 006
Revises: 005
Create Date: 2011-06-01

A volume or snapshot in ``error`` shows the reason (``fault``), as an
instance does.  A snapshot lives on its volume's host (a file copy or an LVM
snapshot), and a volume made from it must be created there, even after the
volume itself is gone: so the snapshot records the host.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "006"
down_revision = "005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("fault", sa.Text, nullable=True))
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(sa.Column("fault", sa.Text, nullable=True))
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("host")
        batch.drop_column("fault")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("fault")
