"""DescribeInstanceStatus, Monitor/UnmonitorInstances and DescribeInstanceTypes."""

import datetime

import pytest
from botocore.exceptions import ClientError

from nova import context, flags, utils
from nova.db import api as db
from tests.unit.api.conftest import error_of

FLAGS = flags.FLAGS


def _run(client, env, count=1):
    reservation = client.run_instances(ImageId=env.image_id, MinCount=count, MaxCount=count)
    return sorted(i["InstanceId"] for i in reservation["Instances"])


def _place(instance_id, host, vm_state="active"):
    db.instance_update(context.get_admin_context(), int(instance_id[2:], 16),
                       {"vm_state": vm_state, "task_state": None, "host": host})


def _compute_service(host, seconds_ago=0):
    admin = context.get_admin_context()
    row = db.service_create(admin, {"host": host, "binary": "nova-compute", "topic": FLAGS.compute_topic,
                                    "report_count": 1})
    db.service_update(admin, row["id"], {"updated_at": utils.utcnow() - datetime.timedelta(seconds=seconds_ago)})


def _statuses(client, **kwargs):
    return {s["InstanceId"]: (s["InstanceState"]["Name"], s["InstanceStatus"]["Status"], s["SystemStatus"]["Status"])
            for s in client.describe_instance_status(**kwargs)["InstanceStatuses"]}


def test_status_checks_follow_the_state_and_the_host_heartbeat(ec2_env):
    client = ec2_env.client()
    healthy, orphaned, pending = _run(client, ec2_env, 3)
    _compute_service("alive-host")
    _compute_service("dead-host", seconds_ago=3600)
    _place(healthy, "alive-host")
    _place(orphaned, "dead-host")
    assert _statuses(client) == {healthy: ("running", "ok", "ok"),
                                 orphaned: ("running", "insufficient-data", "impaired")}
    everything = _statuses(client, IncludeAllInstances=True)
    assert everything[pending] == ("pending", "not-applicable", "not-applicable")
    assert _statuses(client, Filters=[{"Name": "system-status.status", "Values": ["impaired"]}]) == {
        orphaned: ("running", "insufficient-data", "impaired")}
    assert list(_statuses(client, InstanceIds=[healthy])) == [healthy]
    detail = client.describe_instance_status(InstanceIds=[healthy])["InstanceStatuses"][0]
    assert detail["InstanceStatus"]["Details"] == [{"Name": "reachability", "Status": "passed"}]
    assert detail["AvailabilityZone"] == "nova"
    assert _statuses(ec2_env.client("AK-BOB", "SK-BOB"), IncludeAllInstances=True) == {}
    with pytest.raises(ClientError) as excinfo:
        client.describe_instance_status(InstanceIds=["i-0000ffff"])
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)


def test_monitoring_stays_disabled(ec2_env):
    client = ec2_env.client()
    (instance_id,) = _run(client, ec2_env)
    for call in (client.monitor_instances, client.unmonitor_instances):
        answer = call(InstanceIds=[instance_id])["InstanceMonitorings"]
        assert answer == [{"InstanceId": instance_id, "Monitoring": {"State": "disabled"}}]
    with pytest.raises(ClientError) as excinfo:
        client.monitor_instances(InstanceIds=["i-0000ffff"])
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)


def test_instance_types_are_the_flavors(ec2_env):
    client = ec2_env.client()
    flavors = {f["name"]: f for f in db.instance_type_get_all(context.get_admin_context())}
    shown = {t["InstanceType"]: t for t in client.describe_instance_types()["InstanceTypes"]}
    assert set(shown) == set(flavors)
    tiny = client.describe_instance_types(InstanceTypes=["m1.tiny"])["InstanceTypes"]
    assert [t["InstanceType"] for t in tiny] == ["m1.tiny"]
    assert tiny[0]["VCpuInfo"]["DefaultVCpus"] == flavors["m1.tiny"]["vcpus"]
    assert tiny[0]["MemoryInfo"]["SizeInMiB"] == flavors["m1.tiny"]["memory_mb"]
    assert tiny[0]["ProcessorInfo"]["SupportedArchitectures"] == ["x86_64"]
    assert any(f["vcpus"] == 2 for f in flavors.values())
    two_cpus = client.describe_instance_types(Filters=[{"Name": "vcpu-info.default-vcpus", "Values": ["2"]}])
    assert {t["InstanceType"] for t in two_cpus["InstanceTypes"]} == {n for n, f in flavors.items() if f["vcpus"] == 2}
    with pytest.raises(ClientError) as excinfo:
        client.describe_instance_types(InstanceTypes=["m9.huge"])
    assert error_of(excinfo) == ("InvalidInstanceType", 400)
