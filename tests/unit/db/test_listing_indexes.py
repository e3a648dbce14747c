"""Migration 003 adds the listing indexes, and its downgrade gives back 002's."""

from __future__ import annotations

import sqlalchemy
from alembic import command

from nova.db import migration
from nova.db.sqlalchemy import session

ADDED = {
    "instances": {("project_id", "deleted"), ("host", "deleted")},
    "security_groups": {("project_id", "name")},
    "key_pairs": {("user_id", "name")},
    "fixed_ips": {("mac_address",)},
    "floating_ips": {("host",)},
}
REPLACED = {"instances": {("project_id",), ("host",)}, "security_groups": {("project_id",)},
            "key_pairs": {("user_id",)}}


def _indexes(table: str) -> set[tuple[str, ...]]:
    inspector = sqlalchemy.inspect(session.get_engine())
    return {tuple(ix["column_names"]) for ix in inspector.get_indexes(table)}


def _downgrade_to(revision: str) -> None:
    config = migration._config()
    with session.get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_head_has_the_listing_indexes_and_002_does_not(db_url):
    for table, wanted in ADDED.items():
        found = _indexes(table)
        assert wanted <= found, table
        assert not (REPLACED.get(table, set()) & found), table
    _downgrade_to("002")
    assert migration.db_version() == "002"
    for table, wanted in ADDED.items():
        found = _indexes(table)
        assert not (wanted & found), table
        assert REPLACED.get(table, set()) <= found, table
    assert migration.db_sync() == migration.head_version()
    for table, wanted in ADDED.items():
        assert wanted <= _indexes(table), table
