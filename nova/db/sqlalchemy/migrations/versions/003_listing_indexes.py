"""Indexes for the listings and lookups that filter by project, host, name or MAC.

Revision ID: 003
Revises: 002
Create Date: 2011-04-25

Every listing also asks for ``deleted = false``, and soft-deleted rows pile
up, so the project and host indexes of ``instances`` become two-column ones
with ``deleted``; a name is looked up within a project (security groups) or
a user (key pairs); a MAC address is checked on every fixed-IP allocation;
a network host reads its floating IPs when it starts.  Each replaced
single-column index is a prefix of its replacement, so no query loses one.
"""

from __future__ import annotations

from alembic import op

revision = "003"
down_revision = "002"
branch_labels = None
depends_on = None

# (table, columns of the new index, columns of the index it replaces or None)
INDEXES: tuple[tuple[str, tuple[str, ...], tuple[str, ...] | None], ...] = (
    ("instances", ("project_id", "deleted"), ("project_id",)),
    ("instances", ("host", "deleted"), ("host",)),
    ("security_groups", ("project_id", "name"), ("project_id",)),
    ("key_pairs", ("user_id", "name"), ("user_id",)),
    ("fixed_ips", ("mac_address",), None),
    ("floating_ips", ("host",), None),
)


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, columns, replaced in INDEXES:
        op.create_index(_name(table, columns), table, list(columns))
        if replaced:
            op.drop_index(_name(table, replaced), table_name=table)


def downgrade() -> None:
    for table, columns, replaced in reversed(INDEXES):
        if replaced:
            op.create_index(_name(table, replaced), table, list(replaced))
        op.drop_index(_name(table, columns), table_name=table)
