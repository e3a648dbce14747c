"""EC2 instance attributes nova keeps and enforces.

Revision ID: 008
Revises: 007
Create Date: 2011-07-01

``disable_api_termination`` (RunInstances' ``DisableApiTermination`` and
ModifyInstanceAttribute) makes TerminateInstances refuse the instance;
``shutdown_behavior`` is ``stop`` or ``terminate``
(``InstanceInitiatedShutdownBehavior``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "008"
down_revision = "007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("disable_api_termination", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("shutdown_behavior", sa.String(16), nullable=False, server_default="stop"))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("shutdown_behavior")
        batch.drop_column("disable_api_termination")
