"""Migrations reach head and build exactly the schema the models describe."""

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from nova import context, exception
from nova.db import api as db
from nova.db import migration
from nova.db.sqlalchemy import models, session

SEEDED = {
    "m1.tiny": (1, 512, 1, 0),
    "m1.small": (2, 2048, 1, 20),
    "m1.medium": (3, 4096, 2, 40),
    "m1.large": (4, 8192, 4, 80),
    "m1.xlarge": (5, 16384, 8, 160),
}


def test_sync_moves_an_empty_database_to_head(empty_db_url):
    assert migration.db_version() is None
    assert migration.db_sync() == migration.head_version()
    assert migration.db_version() == migration.head_version()


def test_sync_is_idempotent_and_accepts_a_bare_number(empty_db_url):
    assert migration.db_sync(1) == "001"
    assert migration.db_sync() == migration.head_version()
    assert migration.db_version() == migration.head_version()


def test_sync_to_an_older_revision_downgrades_and_zero_empties(empty_db_url):
    migration.db_sync()
    lines = []
    assert migration.db_sync(2, progress=lines.append) == "002"
    assert lines[-1] == "Reverted 003: " + lines[-1].split(": ", 1)[1] and len(lines) == len(migration.revisions()) - 2
    assert "fault" in {c["name"] for c in sqlalchemy.inspect(session.get_engine()).get_columns("instances")}
    assert migration.db_sync(0) is None
    assert sqlalchemy.inspect(session.get_engine()).get_table_names() == ["alembic_version"]


def test_sync_to_an_unknown_revision_is_refused(empty_db_url):
    with pytest.raises(exception.InvalidInput, match="no schema revision '42'"):
        migration.db_sync(42)
    assert migration.db_version() is None


def test_migrated_schema_matches_the_models(db_url):
    with session.get_engine().connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), models.Base.metadata
        )
    assert diff == []


def test_every_model_table_exists_after_sync(db_url):
    names = set(sqlalchemy.inspect(session.get_engine()).get_table_names())
    assert names == set(models.Base.metadata.tables) | {"alembic_version"}


def test_the_five_standard_flavors_are_seeded(db_url):
    flavors = db.instance_type_get_all(context.get_admin_context())
    found = {f["name"]: (f["flavorid"], f["memory_mb"], f["vcpus"], f["local_gb"]) for f in flavors}
    assert found == SEEDED
    assert [f["flavorid"] for f in flavors] == [1, 2, 3, 4, 5]
    assert all(f["deleted"] is False and f["created_at"] is not None for f in flavors)


def test_sync_reports_each_revision_applied(empty_db_url):
    lines = []
    migration.db_sync(progress=lines.append)
    assert lines[:2] == ["Applied 001: The initial schema and the five standard flavors.",
                         "Applied 002: Instances say why they ended in error."]
    applied = len(lines)
    migration.db_sync(progress=lines.append)
    assert len(lines) == applied
