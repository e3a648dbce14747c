"""A volume made for an instance at launch may go with it.

Revision ID: 007
Revises: 006
Create Date: 2011-06-15

RunInstances' ``BlockDeviceMapping.N.Ebs.DeleteOnTermination`` (and an EBS
image's root device, which defaults to it) marks the volumes nova creates
for the instance; terminating the instance deletes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "007"
down_revision = "006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("delete_on_termination", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("delete_on_termination")
