"""Users get a password for the identity API.

Revision ID: 005
Revises: 004
Create Date: 2011-05-09

The OpenStack clients log in with a user name and a password.  A user keeps
authenticating with the EC2 secret key until an operator sets a password
(``nova-manage user password``); only a salted hash is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
