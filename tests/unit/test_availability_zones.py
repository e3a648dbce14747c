"""Availability zones from the services table."""

import datetime

from nova import availability_zones, context, flags, utils
from nova.db import api as db
from tests.fixtures.database import sqlite_db  # noqa: F401

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()



def test_zones_and_tree(sqlite_db):
    db.service_create(ADMIN, {"host": "h1", "binary": "nova-compute", "topic": "compute"})
    db.service_create(ADMIN, {"host": "h1", "binary": "nova-network", "topic": "network"})
    old = db.service_create(ADMIN, {"host": "h2", "binary": "nova-compute", "topic": "compute",
                                    "availability_zone": "east"})
    stale = utils.utcnow() - datetime.timedelta(seconds=FLAGS.service_down_time + 60)
    db.service_update(ADMIN, old["id"], {"disabled": True, "updated_at": stale})
    user = context.RequestContext("alice", "proj-a")
    assert availability_zones.get_zones(user) == ["east", "nova"]
    tree = availability_zones.get_zone_tree(user)
    assert [z.name for z in tree] == ["east", "nova"]
    east, nova = tree
    assert [(s.binary, s.enabled, s.alive) for s in east.hosts["h2"]] == [("nova-compute", False, False)]
    assert list(nova.hosts) == ["h1"]
    assert [(s.binary, s.enabled, s.alive) for s in nova.hosts["h1"]] == [
        ("nova-compute", True, True), ("nova-network", True, True)]
