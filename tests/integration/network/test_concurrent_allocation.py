"""Concurrent allocations on every backend (SQLite, PostgreSQL, MariaDB):
greenthreads racing for fixed and floating IPs never get one address twice."""

from __future__ import annotations

import eventlet
import pytest

from nova import context, exception, flags, quota
from nova.db import api as db
from nova.network import linux_net, manager

FLAGS = flags.FLAGS
PARALLEL = 24


@pytest.fixture
def net(db_url):
    FLAGS.fake_network = True
    linux_net.reset()
    yield
    linux_net.reset()


def test_parallel_fixed_ip_allocation_hands_out_each_address_once(net):
    admin = context.get_admin_context()
    mgr = manager.FlatDHCPManager(host="net-host")
    [network] = mgr.create_networks(admin, "10.50.0.0/27", 1, 32)
    free = 32 - 3
    instances = [db.instance_create(admin, {"project_id": "p1"})["id"] for _ in range(free + 4)]

    def allocate(instance_id):
        try:
            return mgr.allocate_fixed_ip(admin, instance_id, network["id"])[0]
        except exception.NoMoreFixedIps:
            return None

    pool = eventlet.GreenPool(PARALLEL)
    nics = [n for n in pool.imap(allocate, instances) if n is not None]
    assert len(nics) == free, "every free address is given out, and no more"
    assert len({n["address"] for n in nics}) == free
    assert len({n["mac_address"] for n in nics}) == free
    rows = [r for r in db.fixed_ip_get_all_by_network(admin, network["id"]) if r["instance_id"]]
    assert len(rows) == free and len({r["instance_id"] for r in rows}) == free


def test_parallel_floating_ip_allocation_respects_pool_and_quota(net):
    admin = context.get_admin_context()
    db.floating_ip_bulk_create(admin, "net-host", [f"198.51.100.{i}" for i in range(1, 31)])
    db.user_create(admin, {"id": "u", "name": "u", "access_key": "ak", "secret_key": "sk"})
    for project in ("p1", "p2"):
        db.project_create(admin, {"id": project, "name": project, "project_manager": "u"})
    quota.set_project_quota(admin, "p1", "floating_ips", 7)
    quota.set_project_quota(admin, "p2", "floating_ips", quota.UNLIMITED)
    mgr = manager.FlatManager(host="net-host")

    def allocate(project):
        try:
            return project, mgr.allocate_floating_ip(context.RequestContext("u", project), project)
        except exception.AddressLimitExceeded:
            return project, "quota"
        except exception.NoMoreFloatingIps:
            return project, "empty"

    pool = eventlet.GreenPool(PARALLEL)
    results = list(pool.imap(allocate, ["p1"] * 12 + ["p2"] * 12))
    got = {p: [a for q, a in results if q == p and a not in ("quota", "empty")] for p in ("p1", "p2")}
    assert len(got["p2"]) == 12, "an unlimited project gets all it asks for"
    assert len(got["p1"]) == 7, "the quota holds under concurrency, and nobody starves"
    everything = got["p1"] + got["p2"]
    assert len(everything) == len(set(everything)), "no address is handed out twice"
    assert db.floating_ip_count_by_project(admin, "p1") == len(got["p1"])
    assert db.floating_ip_count_by_project(admin, "p2") == 12
