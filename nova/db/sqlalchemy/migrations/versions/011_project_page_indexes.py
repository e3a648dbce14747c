"""Project indexes that also order by id for the other listings paged in SQL.

Revision ID: 011
Revises: 010
Create Date: 2011-07-27

DescribeSecurityGroups, DescribeVolumes, DescribeSnapshots and
DescribeAddresses read a project's live rows by id (``WHERE project_id = ?
AND deleted = false [AND id > ?] ORDER BY id [LIMIT n]``), as
DescribeInstances does since 010.  Each table gets the same
``(project_id, deleted, id)`` index, so the database walks it from the token
instead of sorting the project's rows.  The single-column ``project_id``
indexes of volumes, snapshots and floating_ips are its prefix and go;
security groups keep ``(project_id, name)`` for lookups by name.
"""

from __future__ import annotations

from alembic import op

revision = "011"
down_revision = "010"
branch_labels = None
depends_on = None

NEW = ("project_id", "deleted", "id")
# table -> the index the new one replaces (a prefix of it), or None
TABLES: dict[str, tuple[str, ...] | None] = {
    "security_groups": None,
    "volumes": ("project_id",),
    "snapshots": ("project_id",),
    "floating_ips": ("project_id",),
}


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, replaced in TABLES.items():
        op.create_index(_name(table, NEW), table, list(NEW))
        if replaced:
            op.drop_index(_name(table, replaced), table_name=table)


def downgrade() -> None:
    for table, replaced in reversed(list(TABLES.items())):
        if replaced:
            op.create_index(_name(table, replaced), table, list(replaced))
        op.drop_index(_name(table, NEW), table_name=table)
