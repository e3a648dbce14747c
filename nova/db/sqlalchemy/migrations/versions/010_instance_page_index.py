"""The project index of ``instances`` also orders by id, for listings paged in SQL.

Revision ID: 010
Revises: 009
Create Date: 2011-07-20

DescribeInstances and ``servers/detail`` read a project's live instances a
page at a time: ``WHERE project_id = ? AND deleted = false AND id > ?
ORDER BY id LIMIT n``, and the rows hanging off a page are found with the
same condition bounded by the page's last id.  With ``id`` as the third
column the database walks the index from the marker and stops after n rows
instead of reading and sorting every instance of the project.  The old
two-column index is a prefix of the new one, so it goes.
"""

from __future__ import annotations

from alembic import op

revision = "010"
down_revision = "009"
branch_labels = None
depends_on = None

OLD = ("project_id", "deleted")
NEW = ("project_id", "deleted", "id")


def _name(columns: tuple[str, ...]) -> str:
    return f"ix_instances_{'_'.join(columns)}"


def upgrade() -> None:
    op.create_index(_name(NEW), "instances", list(NEW))
    op.drop_index(_name(OLD), table_name="instances")


def downgrade() -> None:
    op.create_index(_name(OLD), "instances", list(OLD))
    op.drop_index(_name(NEW), table_name="instances")
