"""network.API reads: the batched addresses of instances and the floating IPs as listed."""

from __future__ import annotations

import pytest

from nova import context, exception
from nova.network import api as network_api
from tests.unit.db.test_addresses_by_instance import ADMIN, ALICE, BOB, addresses, statements  # noqa: F401

InstanceAddresses = network_api.InstanceAddresses


@pytest.fixture
def db_url(sqlite_db):
    """``addresses`` (shared with the db tests) asks for ``db_url``; here that is SQLite."""
    return sqlite_db


@pytest.fixture
def ids(addresses):  # noqa: F811
    return addresses


def test_get_instance_addresses_batches_fixed_and_floating(ids):
    api = network_api.API()
    wanted = [ids["two"], ids["one"], ids["bare"], ids["other"], 9999]
    with statements() as seen:
        found = api.get_instance_addresses(ADMIN, wanted)
    assert len(seen) == 1
    assert found == {
        ids["two"]: InstanceAddresses(("10.5.0.2", "10.5.0.3"), ("192.0.2.1", "192.0.2.2")),
        ids["one"]: InstanceAddresses(("10.5.0.4",), ("192.0.2.3",)),
        ids["bare"]: InstanceAddresses(),
        ids["other"]: InstanceAddresses(("10.5.0.5",), ()),
        9999: InstanceAddresses(),
    }
    assert (found[ids["two"]].private_ip, found[ids["two"]].public_ip) == ("10.5.0.2", "192.0.2.1")
    assert (found[ids["bare"]].private_ip, found[ids["bare"]].public_ip) == (None, None)
    assert api.get_instance_addresses(ADMIN, []) == {}


def test_get_instance_addresses_hides_other_projects(ids):
    api = network_api.API()
    assert api.get_instance_addresses(ALICE, [ids["other"]]) == {ids["other"]: InstanceAddresses()}
    assert api.get_instance_addresses(BOB, [ids["other"]])[ids["other"]].fixed == ("10.5.0.5",)


def test_get_floating_ips_lists_in_one_statement(ids):
    api = network_api.API()
    with statements() as seen:
        listed = api.get_floating_ips(ALICE)
    assert len(seen) == 1
    assert [(a["address"], a["fixed_address"], a["instance_id"], a["project_id"]) for a in listed] == [
        ("192.0.2.1", "10.5.0.3", ids["two"], "proj-a"),
        ("192.0.2.2", "10.5.0.3", ids["two"], "proj-a"),
        ("192.0.2.3", "10.5.0.4", ids["one"], "proj-a"),
        ("192.0.2.4", None, None, "proj-a"),
    ]
    assert [a["address"] for a in api.get_floating_ips(ALICE, ["192.0.2.3", "192.0.2.1"])] == \
        ["192.0.2.3", "192.0.2.1"]
    assert api.get_floating_ip(ALICE, "192.0.2.4")["host"] == "h"
    assert api.get_floating_ips(BOB) == []
    assert api.get_floating_ip(ADMIN, "192.0.2.9")["project_id"] is None


@pytest.mark.parametrize("ctxt, address", [(BOB, "192.0.2.1"), (ALICE, "192.0.2.9"), (ALICE, "203.0.113.1")])
def test_naming_an_address_one_cannot_see_is_not_found(ids, ctxt: context.RequestContext, address: str):
    with pytest.raises(exception.FloatingIpNotFound):
        network_api.API().get_floating_ips(ctxt, ["192.0.2.3", address])
