"""Migrations 003, 010 and 011 add the listing indexes, and their downgrades give back the earlier ones."""

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
SUPERSEDED_BY_010 = {("project_id", "deleted")}  # instances' project index, now also by id
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


def test_003_has_the_listing_indexes_and_002_does_not(db_url):
    _downgrade_to("003")
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
        assert wanted - SUPERSEDED_BY_010 <= _indexes(table), table


def test_010_orders_the_project_index_of_instances_by_id(db_url):
    assert ("project_id", "deleted", "id") in _indexes("instances")
    assert ("project_id", "deleted") not in _indexes("instances")
    _downgrade_to("009")
    assert ("project_id", "deleted") in _indexes("instances")
    assert ("project_id", "deleted", "id") not in _indexes("instances")
    assert migration.db_sync() == migration.head_version()
    assert ("project_id", "deleted", "id") in _indexes("instances")


PAGED_BY_011 = {"security_groups": None, "volumes": ("project_id",), "snapshots": ("project_id",),
                "floating_ips": ("project_id",)}


def test_011_gives_the_other_paged_listings_a_project_index_ordered_by_id(db_url):
    for table, replaced in PAGED_BY_011.items():
        found = _indexes(table)
        assert ("project_id", "deleted", "id") in found, table
        assert replaced is None or replaced not in found, table
    assert ("project_id", "name") in _indexes("security_groups")  # lookups by name keep theirs
    _downgrade_to("010")
    for table, replaced in PAGED_BY_011.items():
        found = _indexes(table)
        assert ("project_id", "deleted", "id") not in found, table
        assert replaced is None or replaced in found, table
    assert migration.db_sync() == migration.head_version()
    for table in PAGED_BY_011:
        assert ("project_id", "deleted", "id") in _indexes(table), table
