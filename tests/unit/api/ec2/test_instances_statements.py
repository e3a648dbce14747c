"""How many SQL statements RunInstances and TerminateInstances send, through the real EC2 pipeline.

Each boot+delete cycle of bench/cloud_bench.py is these two requests, so their
statements are what nova-api's database work per cycle is made of (they were
26 and 18, then 8 and 3; doc/benchmarks.rst, "nova-api per request" and
"nova-api's CPU per boot+delete").  The counts are for a caller whose access
key is already cached (``--auth_cache_seconds``), as it is for every request
but one every few seconds.  On PostgreSQL (and MariaDB) a
launch of three instances costs what a launch of one does; SQLite gives back
the ids of a multi-row INSERT in no promised order, so SQLAlchemy inserts its
rows one by one there.  Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from nova import context, flags
from nova.compute import api as compute_api
from nova.db import api as db
from tests.fixtures.database import migrated_database, registered_long_ago, use_database
from tests.fixtures.sql import counting_statements
from tests.unit.api.conftest import Ec2Env, serving_ec2

FLAGS = flags.FLAGS
# boto3 sends a ClientToken: is there a reservation of that token?  Then on SQLite the image, quota usage and
# limits, the instances, their hostnames, their group links (which also check the flavor and the default group,
# which compute.API remembers); on PostgreSQL the launch is one statement, which also checks the image compute.API
# remembers (bench/cloud_bench.py sends no token: 5 and 1).
RUN_STATEMENTS = {"sqlite": 6, "postgresql": 2}
# The row, its task set to deleting (one conditional UPDATE) and its tags forgotten: on PostgreSQL all three are
# one statement.
TERMINATE_STATEMENTS = {"sqlite": 3, "postgresql": 1}


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path) -> Iterator[Ec2Env]:
    with migrated_database(request.param, tmp_path) as url:
        request.node.backend = request.param
        use_database(url)
        FLAGS.auth_cache_seconds = 3600  # the counts must not depend on how long the set-up took
        compute_api._REMEMBERED.forget()  # (other tests' databases had rows with the same ids)
        with serving_ec2() as served:
            registered_long_ago(int(served.image_id[4:], 16))  # compute.API remembers only settled images
            yield served


def _run(client: Any, env: Ec2Env, count: int = 1, **kwargs: Any) -> dict[str, Any]:
    return client.run_instances(ImageId=env.image_id, MinCount=count, MaxCount=count, InstanceType="m1.tiny",
                                **kwargs)


def _on_a_host(instance_ids: list[str]) -> None:
    """What the scheduler and nova-compute would have done: the instances run on a host."""
    for ec2_id in instance_ids:
        db.instance_update(context.get_admin_context(), int(ec2_id[2:], 16),
                           {"host": "compute-1", "vm_state": "active", "task_state": None, "power_state": 1})


@pytest.mark.parametrize("count", [1, 3])
def test_run_instances_statements(env, count, request):
    client = env.client()
    _run(client, env)  # the access key cached, the default group made
    with counting_statements(cold_auth=False) as sent:
        reservation = _run(client, env, count)
    row_by_row = count - 1 if request.node.backend == "sqlite" else 0
    assert len(sent) <= RUN_STATEMENTS[request.node.backend] + row_by_row, "\n".join(sent)
    instances = reservation["Instances"]
    assert len(instances) == count
    for instance in instances:
        assert instance["State"]["Name"] == "pending"
        assert instance["InstanceType"] == "m1.tiny" and instance["ImageId"] == env.image_id
        assert instance["PrivateDnsName"] == instance["InstanceId"]
        assert [g["GroupName"] for g in instance["SecurityGroups"]] == ["default"]
    assert [g["GroupName"] for g in reservation["Groups"]] == ["default"]
    assert sorted(i["AmiLaunchIndex"] for i in instances) == list(range(count))
    described = client.describe_instances(InstanceIds=[i["InstanceId"] for i in instances])
    assert sorted(i["InstanceId"] for r in described["Reservations"] for i in r["Instances"]) == \
        sorted(i["InstanceId"] for i in instances)


def test_run_instances_answers_with_what_was_asked(env):
    """The answer is made from the rows as written, not read back: it still shows the groups, key, tags."""
    client = env.client()
    client.create_key_pair(KeyName="k")
    client.create_security_group(GroupName="web", Description="web")
    reservation = _run(client, env, SecurityGroups=["web", "default"], KeyName="k",
                       TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "db"}]}])
    [instance] = reservation["Instances"]
    assert sorted(g["GroupName"] for g in instance["SecurityGroups"]) == ["default", "web"]
    assert instance["KeyName"] == "k" and instance["Tags"] == [{"Key": "role", "Value": "db"}]
    shown = client.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][0]
    for key in ("InstanceId", "ImageId", "KeyName", "InstanceType", "PrivateDnsName", "Tags", "LaunchTime"):
        assert shown[key] == instance[key], key
    assert sorted(g["GroupName"] for g in shown["SecurityGroups"]) == ["default", "web"]


def test_terminate_instances_statements(env, request):
    client = env.client()
    ids = [i["InstanceId"] for i in _run(client, env, 2)["Instances"]]
    _on_a_host(ids)
    client.create_tags(Resources=[ids[1]], Tags=[{"Key": "role", "Value": "web"}])
    client.terminate_instances(InstanceIds=[ids[0]])  # the access key cached
    with counting_statements(cold_auth=False) as sent:
        changes = client.terminate_instances(InstanceIds=[ids[1]])["TerminatingInstances"]
    assert len(sent) <= TERMINATE_STATEMENTS[request.node.backend], "\n".join(sent)
    assert changes == [{"InstanceId": ids[1], "PreviousState": {"Code": 16, "Name": "running"},
                        "CurrentState": {"Code": 32, "Name": "shutting-down"}}]
    assert client.describe_tags(Filters=[{"Name": "resource-id", "Values": [ids[1]]}])["Tags"] == []
    again = client.terminate_instances(InstanceIds=[ids[1]])["TerminatingInstances"]
    assert again[0]["PreviousState"]["Name"] == again[0]["CurrentState"]["Name"] == "shutting-down"
