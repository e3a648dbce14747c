"""The batched address reads behind DescribeInstances and DescribeAddresses:
one statement each, scoped to the caller's project."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
from sqlalchemy import event

from nova import context, exception
from nova.db import api as db
from nova.db.sqlalchemy import session

ADMIN = context.get_admin_context()
ALICE = context.RequestContext("alice", "proj-a")
BOB = context.RequestContext("bob", "proj-b")


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = session.get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def addresses(db_url) -> dict[str, int]:
    """Instances of proj-a: ``two`` has two fixed IPs (the second with two floating IPs),
    ``one`` a fixed IP with a floating IP, ``bare`` none; ``other`` of proj-b has one fixed IP."""
    network = db.network_create_safe(ADMIN, {"label": "n", "cidr": "10.5.0.0/24", "bridge": "br5"})
    ids = {name: db.instance_create(ADMIN, {"project_id": project, "user_id": "u"})["id"]
           for name, project in (("two", "proj-a"), ("one", "proj-a"), ("bare", "proj-a"), ("other", "proj-b"))}
    db.fixed_ip_bulk_create(ADMIN, [
        {"address": "10.5.0.2", "network_id": network["id"], "instance_id": ids["two"]},
        {"address": "10.5.0.3", "network_id": network["id"], "instance_id": ids["two"]},
        {"address": "10.5.0.4", "network_id": network["id"], "instance_id": ids["one"]},
        {"address": "10.5.0.5", "network_id": network["id"], "instance_id": ids["other"]},
        {"address": "10.5.0.6", "network_id": network["id"], "instance_id": None},
    ])
    db.floating_ip_bulk_create(ADMIN, "h", ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.9"])
    for floating, fixed, project in (("192.0.2.1", "10.5.0.3", "proj-a"), ("192.0.2.2", "10.5.0.3", "proj-a"),
                                     ("192.0.2.3", "10.5.0.4", "proj-a"), ("192.0.2.4", None, "proj-a")):
        assert db.floating_ip_allocate_address(ADMIN, "h", project)["address"] == floating
        if fixed:
            db.floating_ip_fixed_ip_associate(ADMIN, floating, fixed)
    return ids


def test_addresses_of_many_instances_in_one_statement(addresses):
    ids = addresses
    with statements() as seen:
        rows = db.fixed_ip_get_addresses_by_instances(ADMIN, list(ids.values()))
    assert len(seen) == 1
    assert rows == [
        (ids["two"], "10.5.0.2", None),
        (ids["two"], "10.5.0.3", "192.0.2.1"),
        (ids["two"], "10.5.0.3", "192.0.2.2"),
        (ids["one"], "10.5.0.4", "192.0.2.3"),
        (ids["other"], "10.5.0.5", None),
    ]
    assert db.fixed_ip_get_addresses_by_instances(ADMIN, []) == []


def test_a_project_gets_only_its_instances_addresses(addresses):
    ids = addresses
    assert [r[0] for r in db.fixed_ip_get_addresses_by_instances(ALICE, list(ids.values()))] == \
        [ids["two"], ids["two"], ids["two"], ids["one"]]
    assert db.fixed_ip_get_addresses_by_instances(BOB, list(ids.values())) == [(ids["other"], "10.5.0.5", None)]


def test_floating_ips_with_their_fixed_ip_in_one_statement(addresses):
    ids = addresses
    with statements() as seen:
        rows = db.floating_ip_get_all_with_fixed(ALICE)
    assert len(seen) == 1
    assert [(r["address"], fixed, instance) for r, fixed, instance in rows] == [
        ("192.0.2.1", "10.5.0.3", ids["two"]),
        ("192.0.2.2", "10.5.0.3", ids["two"]),
        ("192.0.2.3", "10.5.0.4", ids["one"]),
        ("192.0.2.4", None, None),
    ]
    assert db.floating_ip_get_all_with_fixed(BOB) == []
    # An admin lists every allocated address, and finds a free one only by naming it.
    assert [r["address"] for r, _f, _i in db.floating_ip_get_all_with_fixed(ADMIN)] == \
        ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
    assert [r["address"] for r, _f, _i in db.floating_ip_get_all_with_fixed(ADMIN, ["192.0.2.9", "192.0.2.3"])] == \
        ["192.0.2.3", "192.0.2.9"]
    assert db.floating_ip_get_all_with_fixed(ALICE, ["192.0.2.9"]) == []
    assert db.floating_ip_get_all_with_fixed(BOB, ["192.0.2.1"]) == []


def test_addresses_of_one_instance_without_reloading_it(addresses):
    ids = addresses
    with statements() as seen:
        rows = db.fixed_ip_get_all_by_instance(ALICE, ids["two"])
    assert [r["address"] for r in rows] == ["10.5.0.2", "10.5.0.3"]
    assert len(seen) == 2
    with pytest.raises(exception.InstanceNotFound):
        db.fixed_ip_get_all_by_instance(BOB, ids["two"])
