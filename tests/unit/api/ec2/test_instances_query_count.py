"""DescribeInstances makes as many SQL statements for 600 instances as for 10, for all of them and
for a page (test_addresses_query_count.py checks DescribeAddresses on the same set-up,
tests/unit/api/openstack/test_servers_query_count.py servers/detail).

Two projects share one database: proj-a (alice) holds 10 instances, proj-b
(bob) 600, each instance with two tags, a fixed and a floating address and
two security groups.  The rows are written directly, in bulk (RunInstances
would take minutes, a db call per row 15 s), and the statements are counted with
SQLAlchemy's ``before_cursor_execute`` event on nova's engine while the
request goes through the real EC2 pipeline.  Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import uuid
from typing import Any, Iterator

import botocore.exceptions
import pytest
import sqlalchemy

from nova import context, flags, wsgi
from nova.db import api as db
from nova.db.sqlalchemy import models, session
from tests.fixtures.sql import counting_statements
from tests.fixtures.database import migrated_database, use_database
from tests.unit.api.conftest import ROOT, Ec2Env, error_of, make_image, make_users

FLAGS = flags.FLAGS
SMALL, LARGE = 10, 600  # more than the 500 ids SQLAlchemy puts in one selectin batch
# project -> (user, access key, secret, instance count, fixed network, first floating address)
PROJECTS = {
    "proj-a": ("alice", "AK-ALICE", "SK-ALICE", SMALL, "10.31.0.0/22", "198.18.0.1"),
    "proj-b": ("bob", "AK-BOB", "SK-BOB", LARGE, "10.32.0.0/22", "198.18.8.1"),
}


def _populate(project: str, image_id: str) -> None:
    """The project's groups and network through the db api; its instances and what hangs off them in a few
    multi-row INSERTs (one db call per row took 15 s on PostgreSQL for the 600)."""
    user, _access, _secret, count, cidr, first_floating = PROJECTS[project]
    admin = context.get_admin_context()
    flavor = db.instance_type_get_by_name(admin, "m1.tiny")
    groups = [db.security_group_create(admin, {"name": f"group-{n}", "description": "d", "user_id": user,
                                               "project_id": project}) for n in (1, 2)]
    network = db.network_create_safe(admin, {"label": project, "cidr": cidr, "bridge": f"br-{project}"})
    image = str(int(image_id[4:], 16))
    engine = session.get_engine()
    with engine.begin() as connection:
        connection.execute(models.Instance.__table__.insert(), [
            {"uuid": str(uuid.uuid4()), "project_id": project, "user_id": user,
             "reservation_id": f"r-{project}-{n // 50}", "image_id": image, "instance_type_id": flavor["id"],
             "vm_state": "active", "power_state": 1, "host": "compute-1", "hostname": f"host-{n}",
             "launch_index": n % 50}
            for n in range(count)])
        instance_ids = connection.execute(sqlalchemy.select(models.Instance.id).where(
            models.Instance.project_id == project).order_by(models.Instance.id)).scalars().all()
    assert len(instance_ids) == count
    hosts = ipaddress.ip_network(cidr).hosts()
    fixed = {instance_id: str(next(hosts)) for instance_id in instance_ids}
    db.fixed_ip_bulk_create(admin, [{"address": address, "network_id": network["id"], "instance_id": instance_id,
                                     "allocated": True} for instance_id, address in fixed.items()])
    with engine.begin() as connection:
        fixed_ids = dict(connection.execute(sqlalchemy.select(models.FixedIp.instance_id, models.FixedIp.id).where(
            models.FixedIp.network_id == network["id"])).all())
        start = ipaddress.ip_address(first_floating)
        connection.execute(models.FloatingIp.__table__.insert(), [
            {"address": str(start + n), "host": "net-host", "project_id": project, "fixed_ip_id": fixed_ids[i]}
            for n, i in enumerate(instance_ids)])
        connection.execute(models.SecurityGroupInstanceAssociation.__table__.insert(), [
            {"instance_id": i, "security_group_id": group["id"]} for i in instance_ids for group in groups])
        connection.execute(models.Tag.__table__.insert(), [
            {"resource_type": "instance", "resource_id": i, "key": key, "value": f"{key}-{i}", "project_id": project}
            for i in instance_ids for key in ("Name", "tier")])


@dataclasses.dataclass
class CrowdedEnv(Ec2Env):
    osapi_port: int = 0  # the OpenStack compute API on the same database


@pytest.fixture(params=["sqlite", "postgresql"])
def crowded_env(request, tmp_path) -> Iterator[Ec2Env]:
    """An EC2 API on a fresh database of the backend, with both projects populated."""
    with migrated_database(request.param, tmp_path) as url:
        use_database(url)
        FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
        make_users()
        image_id = make_image()
        for project in PROJECTS:
            _populate(project, image_id)
        server = wsgi.Server("ec2", wsgi.load_paste_app("ec2"), "127.0.0.1", 0)
        osapi = wsgi.Server("osapi_compute", wsgi.load_paste_app("osapi_compute"), "127.0.0.1", 0)
        server.start()
        osapi.start()
        try:
            yield CrowdedEnv(f"http://127.0.0.1:{server.port}/services/Cloud", image_id, server.port, osapi.port)
        finally:
            osapi.stop()
            server.stop()


def count_for(env: Ec2Env, project: str, call: Any) -> tuple[int, Any]:
    """(statements, response) of ``call(client)`` as the project's user, after one warm-up call."""
    _user, access, secret, *_rest = PROJECTS[project]
    client = env.client(access, secret)
    call(client)
    with counting_statements() as statements:
        response = call(client)
    return len(statements), response


def test_describe_instances_statements_do_not_grow_with_the_instances(crowded_env):
    counts = {}
    for project, (_user, _a, _s, count, cidr, _floating) in PROJECTS.items():
        counts[project], response = count_for(crowded_env, project, lambda c: c.describe_instances())
        instances = [i for r in response["Reservations"] for i in r["Instances"]]
        assert len(instances) == count
        network = ipaddress.ip_network(cidr)
        for instance in instances:
            assert ipaddress.ip_address(instance["PrivateIpAddress"]) in network
            assert instance["PublicIpAddress"].startswith("198.18.")
            assert sorted(g["GroupName"] for g in instance["SecurityGroups"]) == ["group-1", "group-2"]
            assert sorted(t["Key"] for t in instance["Tags"]) == ["Name", "tier"]
            assert instance["InstanceType"] == "m1.tiny"
    assert counts["proj-a"] == counts["proj-b"], counts


def test_a_page_costs_the_same_statements_and_the_pages_cover_every_instance_once(crowded_env):
    pages = {"proj-a": 5, "proj-b": 250}
    counts, seen = {}, []
    for project, size in pages.items():
        counts[project], first = count_for(crowded_env, project, lambda c: c.describe_instances(MaxResults=size))
        assert len([i for r in first["Reservations"] for i in r["Instances"]]) == size
    assert counts["proj-a"] == counts["proj-b"], counts
    _user, access, secret, *_rest = PROJECTS["proj-b"]
    client = crowded_env.client(access, secret)
    token = None
    while True:
        page = client.describe_instances(MaxResults=250, **({"NextToken": token} if token else {}))
        ids = [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
        assert ids == sorted(ids)
        seen += ids
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == LARGE
    assert [len(seen[n:n + 250]) for n in range(0, LARGE, 250)] == [250, 250, 100]
    tagged = client.describe_instances(MaxResults=5, Filters=[{"Name": "tag-key", "Values": ["tier"]}])
    assert len([i for r in tagged["Reservations"] for i in r["Instances"]]) == 5 and tagged["NextToken"]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.describe_instances(MaxResults=5, NextToken="not-a-token")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
