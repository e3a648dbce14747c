"""Network unit tests: SQLite, the memory transport and --fake_network (commands recorded, not run)."""

from __future__ import annotations

import pytest

from nova import context, flags
from nova.db import api as db
from nova.network import linux_net

FLAGS = flags.FLAGS


@pytest.fixture
def fake_net(sqlite_db, tmp_path):
    FLAGS.fake_network = True
    FLAGS.fixed_range = "10.0.0.0/16"
    FLAGS.routing_source_ip = "192.0.2.10"
    FLAGS.ec2_dmz_host = "192.0.2.20"
    FLAGS.dhcpbridge_flagfile = str(tmp_path / "nova.conf")
    linux_net.reset()
    yield linux_net.FAKE_COMMANDS
    linux_net.reset()


@pytest.fixture
def admin():
    return context.get_admin_context()


def make_instance(project_id: str = "proj1", hostname: str | None = None) -> dict:
    admin = context.get_admin_context()
    return db.instance_create(admin, {"project_id": project_id, "user_id": "user1", "hostname": hostname})
