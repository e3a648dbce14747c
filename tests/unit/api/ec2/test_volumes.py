"""Volumes and snapshots through boto3: nova-api in process, and nova-scheduler, nova-volume (an
in-memory volume driver), nova-network (FlatManager, --fake_network) and nova-compute (the fake virt
driver) as Services on the memory transport."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from nova import context, flags, quota, service
from nova.compute import states
from nova.db import api as db
from tests.fixtures.rpc import wait_for
from tests.unit.api.conftest import error_of
from tests.unit.volume.fakes import MemoryDriver

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


@pytest.fixture
def cloud(ec2_env):
    FLAGS.volume_driver = "tests.unit.volume.fakes.MemoryDriver"
    FLAGS.report_interval = 1
    MemoryDriver.instances.clear()
    running = []
    for host, binary, topic, manager in (
            ("sched", "nova-scheduler", "scheduler", "nova.scheduler.manager.SchedulerManager"),
            ("vol1", "nova-volume", "volume", "nova.volume.manager.VolumeManager"),
            ("net", "nova-network", "network", "nova.network.manager.FlatManager"),
            ("host-a", "nova-compute", "compute", "nova.compute.manager.ComputeManager")):
        svc = service.Service(host, binary, topic, manager)
        svc.start()
        running.append(svc)
    running[2].manager.create_networks(ADMIN, "10.0.0.0/28", 1, 16)
    try:
        yield {"env": ec2_env, "driver": running[1].manager.driver, "compute": running[3].manager}
    finally:
        for svc in running:
            svc.kill()


def running_instance(compute, project="proj-a"):
    """An active instance on host-a, its domain running in the fake virt driver."""
    instance = db.instance_create(ADMIN, {
        "project_id": project, "user_id": "alice", "image_id": "1", "host": "host-a", "availability_zone": "nova",
        "vm_state": states.ACTIVE, "power_state": states.RUNNING, "memory_mb": 512, "vcpus": 1,
    })
    compute.driver.spawn(ADMIN, instance, [])
    return instance, "i-%08x" % instance["id"]


def volume_status(client, volume_id):
    return client.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]


def wait_status(client, volume_id, wanted, timeout=10):
    return wait_for(lambda: (lambda v: v if v["State"] == wanted else None)(volume_status(client, volume_id)),
                    timeout=timeout)


def test_volume_lifecycle_create_attach_detach_snapshot_delete(cloud):
    client, driver = cloud["env"].client(), cloud["driver"]
    created = client.create_volume(Size=2, AvailabilityZone="nova",
                                   TagSpecifications=[{"ResourceType": "volume",
                                                       "Tags": [{"Key": "role", "Value": "data"}]}])
    volume_id = created["VolumeId"]
    assert volume_id.startswith("vol-") and created["Size"] == 2 and created["State"] == "creating"
    shown = wait_status(client, volume_id, "available")
    assert shown["AvailabilityZone"] == "nova" and shown["Attachments"] == []
    assert shown["Tags"] == [{"Key": "role", "Value": "data"}]
    row = db.volume_get(ADMIN, int(volume_id[4:], 16))
    assert row["host"] == "vol1" and row["name"] in driver.exports
    assert row["provider_location"].endswith(f"iqn.test:{row['name']} 1")

    instance, instance_id = running_instance(cloud["compute"])
    attached = client.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    assert (attached["State"], attached["Device"], attached["InstanceId"]) == ("attaching", "/dev/sdf", instance_id)
    wait_for(lambda: volume_status(client, volume_id)["Attachments"][0]["State"] == "attached", timeout=10)
    shown = volume_status(client, volume_id)
    assert shown["State"] == "in-use"
    assert shown["Attachments"][0]["Device"] == "/dev/sdf"
    assert client.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                             "Values": [instance_id]}])["Volumes"][0]["VolumeId"] == volume_id
    assert "/dev/vdf" in cloud["compute"].driver.volumes_of(instance["name"])

    with pytest.raises(ClientError) as excinfo:
        client.delete_volume(VolumeId=volume_id)
    assert error_of(excinfo) == ("VolumeInUse", 400)

    snapshot = client.create_snapshot(VolumeId=volume_id, Description="nightly")
    assert snapshot["State"] == "pending" and snapshot["VolumeSize"] == 2
    wait_for(lambda: client.describe_snapshots(SnapshotIds=[snapshot["SnapshotId"]])["Snapshots"][0]["State"]
             == "completed", timeout=10)
    listed = client.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume_id]}])["Snapshots"]
    assert [(s["SnapshotId"], s["Progress"], s["Description"]) for s in listed] == [
        (snapshot["SnapshotId"], "100%", "nightly")]
    assert client.describe_snapshots(OwnerIds=["self"])["Snapshots"][0]["OwnerId"] == "proj-a"

    detached = client.detach_volume(VolumeId=volume_id)
    assert detached["State"] == "detaching"
    wait_status(client, volume_id, "available")
    assert "/dev/vdf" not in cloud["compute"].driver.volumes_of(instance["name"])

    bigger = client.create_volume(SnapshotId=snapshot["SnapshotId"], Size=3)
    assert bigger["SnapshotId"] == snapshot["SnapshotId"]
    wait_status(client, bigger["VolumeId"], "available")

    client.delete_volume(VolumeId=volume_id)
    wait_for(lambda: volume_id not in [v["VolumeId"] for v in client.describe_volumes()["Volumes"]], timeout=10)
    assert row["name"] not in driver.volumes and row["name"] not in driver.exports
    client.delete_snapshot(SnapshotId=snapshot["SnapshotId"])
    wait_for(lambda: client.describe_snapshots()["Snapshots"] == [], timeout=10)


@pytest.mark.parametrize("kwargs", [{"Size": 0}, {"Size": -1}, {"Size": 10**9}, {"Size": 10**30},
                                    {"Size": 1, "AvailabilityZone": "mars"}])
def test_bad_sizes_and_zones_are_invalid_parameter_value(cloud, kwargs):
    client = cloud["env"].client()
    with pytest.raises(ClientError) as excinfo:
        client.create_volume(**{"AvailabilityZone": "nova", **kwargs})
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    assert client.describe_volumes()["Volumes"] == []


def test_quota_on_count_and_gigabytes(cloud):
    client = cloud["env"].client()
    quota.set_project_quota(ADMIN, "proj-a", "gigabytes", 5)
    quota.set_project_quota(ADMIN, "proj-a", "volumes", 2)
    client.create_volume(Size=4, AvailabilityZone="nova")
    with pytest.raises(ClientError) as excinfo:
        client.create_volume(Size=2, AvailabilityZone="nova")
    assert error_of(excinfo) == ("VolumeLimitExceeded", 400)
    client.create_volume(Size=1, AvailabilityZone="nova")
    with pytest.raises(ClientError) as excinfo:
        client.create_volume(Size=1, AvailabilityZone="nova")
    assert error_of(excinfo) == ("VolumeLimitExceeded", 400)
    assert len(client.describe_volumes()["Volumes"]) == 2


def test_another_projects_volumes_are_invisible(cloud):
    alice, bob = cloud["env"].client(), cloud["env"].client("AK-BOB", "SK-BOB")
    volume_id = alice.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    wait_status(alice, volume_id, "available")
    assert bob.describe_volumes()["Volumes"] == []
    _, bobs_instance = running_instance(cloud["compute"], project="proj-b")
    for call in (lambda: bob.describe_volumes(VolumeIds=[volume_id]),
                 lambda: bob.delete_volume(VolumeId=volume_id),
                 lambda: bob.attach_volume(VolumeId=volume_id, InstanceId=bobs_instance, Device="/dev/vdb"),
                 lambda: bob.create_snapshot(VolumeId=volume_id)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidVolume.NotFound", 400)
    _, alices_instance = running_instance(cloud["compute"])
    with pytest.raises(ClientError) as excinfo:
        alice.attach_volume(VolumeId=volume_id, InstanceId=bobs_instance, Device="/dev/vdb")
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)
    assert volume_status(alice, volume_id)["State"] == "available"


def test_bad_devices_and_double_attach(cloud):
    client = cloud["env"].client()
    first = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    second = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    wait_status(client, first, "available")
    wait_status(client, second, "available")
    _, instance_id = running_instance(cloud["compute"])
    for device in ("/dev/vda", "/dev/sda1", "vdb", "/dev/../etc/passwd"):
        with pytest.raises(ClientError) as excinfo:
            client.attach_volume(VolumeId=first, InstanceId=instance_id, Device=device)
        assert error_of(excinfo) == ("InvalidParameterValue", 400), device
    client.attach_volume(VolumeId=first, InstanceId=instance_id, Device="/dev/vdc")
    with pytest.raises(ClientError) as excinfo:
        client.attach_volume(VolumeId=first, InstanceId=instance_id, Device="/dev/vdd")
    assert error_of(excinfo) == ("VolumeInUse", 400)
    with pytest.raises(ClientError) as excinfo:
        client.attach_volume(VolumeId=second, InstanceId=instance_id, Device="/dev/sdc")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        client.detach_volume(VolumeId=second)
    assert error_of(excinfo) == ("IncorrectState", 400)


def test_a_failed_create_is_error_with_its_reason(cloud):
    client, driver = cloud["env"].client(), cloud["driver"]
    driver.fail.add("create")
    volume_id = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    wait_status(client, volume_id, "error")
    row = db.volume_get(ADMIN, int(volume_id[4:], 16))
    assert "create failed on vol1: create failed on purpose" in row["fault"]
    client.delete_volume(VolumeId=volume_id)
    wait_for(lambda: client.describe_volumes()["Volumes"] == [], timeout=10)


def test_terminating_an_instance_frees_its_volumes(cloud):
    client = cloud["env"].client()
    volume_id = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    wait_status(client, volume_id, "available")
    instance, instance_id = running_instance(cloud["compute"])
    client.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/vdb")
    wait_status(client, volume_id, "in-use")
    wait_for(lambda: volume_status(client, volume_id)["Attachments"][0]["State"] == "attached", timeout=10)
    client.terminate_instances(InstanceIds=[instance_id])
    wait_status(client, volume_id, "available")
    assert volume_status(client, volume_id)["Attachments"] == []


def _instance_view(client, instance_id):
    return client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_boot_from_a_snapshot_create_image_and_launch_the_ebs_image(cloud):
    client, compute = cloud["env"].client(), cloud["compute"]
    source = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    wait_status(client, source, "available")
    snapshot_id = client.create_snapshot(VolumeId=source)["SnapshotId"]
    wait_for(lambda: client.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]["State"] == "completed",
             timeout=10)

    image_id = client.register_image(Name="ebs-root", RootDeviceName="/dev/sda1", BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot_id, "VolumeSize": 2}}])["ImageId"]
    image = client.describe_images(ImageIds=[image_id])["Images"][0]
    assert (image["State"], image["RootDeviceType"], image["RootDeviceName"]) == ("available", "ebs", "/dev/sda1")
    assert image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] == snapshot_id

    instance_id = client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}}])["Instances"][0]["InstanceId"]
    wait_for(lambda: _instance_view(client, instance_id)["State"]["Name"] == "running", timeout=15)
    shown = _instance_view(client, instance_id)
    assert shown["RootDeviceType"] == "ebs" and shown["RootDeviceName"] == "/dev/sda1"
    mapped = {m["DeviceName"]: m["Ebs"] for m in shown["BlockDeviceMappings"]}
    assert set(mapped) == {"/dev/sda1", "/dev/sdb"} and mapped["/dev/sda1"]["DeleteOnTermination"] is True
    root_volume = mapped["/dev/sda1"]["VolumeId"]
    assert volume_status(client, root_volume)["Size"] == 2
    assert volume_status(client, root_volume)["SnapshotId"] == snapshot_id
    name = db.instance_get(ADMIN, int(instance_id[2:], 16))["name"]
    assert compute.driver.root_volume_of(name)["data"]["volume_id"] == int(root_volume[4:], 16)
    assert "/dev/vdb" in compute.driver.volumes_of(name)
    with pytest.raises(ClientError) as excinfo:
        client.detach_volume(VolumeId=root_volume)
    assert error_of(excinfo) == ("IncorrectState", 400)

    new_image = client.create_image(InstanceId=instance_id, Name="from-instance")["ImageId"]
    wait_for(lambda: client.describe_images(ImageIds=[new_image])["Images"][0]["State"] == "available", timeout=10)
    made = client.describe_images(ImageIds=[new_image])["Images"][0]
    assert made["RootDeviceType"] == "ebs" and {m["DeviceName"] for m in made["BlockDeviceMappings"]} == {
        "/dev/sda1", "/dev/sdb"}

    client.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: root_volume not in [v["VolumeId"] for v in client.describe_volumes()["Volumes"]], timeout=10)
    kept = mapped["/dev/sdb"]["VolumeId"]
    assert volume_status(client, kept)["State"] == "available"  # DeleteOnTermination false: it stays


@pytest.mark.parametrize("mapping, code", [
    ({"DeviceName": "/dev/sdb", "Ebs": {"SnapshotId": "snap-0000ffff"}}, "InvalidSnapshot.NotFound"),
    ({"DeviceName": "/dev/hda", "Ebs": {"VolumeSize": 1}}, "InvalidParameterValue"),
    ({"DeviceName": "/dev/sdb", "Ebs": {}}, "InvalidParameterValue"),
    ({"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 10**6}}, "InvalidParameterValue"),
])
def test_bad_block_device_mappings_launch_nothing(cloud, mapping, code):
    client = cloud["env"].client()
    with pytest.raises(ClientError) as excinfo:
        client.run_instances(ImageId=cloud["env"].image_id, MinCount=1, MaxCount=1, BlockDeviceMappings=[mapping])
    assert error_of(excinfo) == (code, 400)
    assert client.describe_instances()["Reservations"] == []
    assert client.describe_volumes()["Volumes"] == []


def test_nova_manage_volume_reattach_plugs_the_volume_in_again(cloud, capsys):
    from nova.volume.manage import VolumeCommands

    client, compute = cloud["env"].client(), cloud["compute"]
    volume_id = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    wait_status(client, volume_id, "available")
    instance, instance_id = running_instance(compute)
    client.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdc")
    wait_for(lambda: volume_status(client, volume_id)["Attachments"][0]["State"] == "attached", timeout=10)
    compute.driver.detach_volume(instance, None, "/dev/vdc")  # the host lost the disk
    assert "/dev/vdc" not in compute.driver.volumes_of(instance["name"])
    VolumeCommands().reattach(volume_id)
    assert f"reattaching {volume_id} to {instance_id} as /dev/sdc" in capsys.readouterr().out
    wait_for(lambda: "/dev/vdc" in compute.driver.volumes_of(instance["name"]), timeout=10)
    wait_for(lambda: volume_status(client, volume_id)["Attachments"][0]["State"] == "attached", timeout=10)
