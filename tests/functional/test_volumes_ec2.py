"""The whole volume and snapshot lifecycle with the AWS CLI, unmodified, against daemons: nova-api,
scheduler, network, compute (fake virt driver) and nova-volume (FileDriver) exporting through a tgtd
of the test's own in a network namespace; nova-manage volume list and delete."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.daemons import wait_for
from tests.fixtures.libvirtd import skip_or_fail
from tests.functional.test_ec2 import Ec2Cloud
from tests.integration.network.netns import Topology
from tests.integration.volume.tgtd import Tgtd

PORTAL_IP = "198.18.2.1"


@pytest.fixture
def tgtd(tmp_path):
    if os.geteuid() != 0:
        skip_or_fail("needs root (network namespaces, tgtd)")
    topo = Topology()
    topo.tag = "%x" % os.getpid()
    try:
        ns = topo.ns("t")
        topo.veth(ns, "st0", ns, "st1")
        topo.address(ns, "st0", f"{PORTAL_IP}/24")
        daemon = Tgtd(ns, PORTAL_IP, str(tmp_path / "tgtd.log"))
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()
    finally:
        topo.cleanup()


@pytest.fixture
def volume_cloud(cloud, rabbit_vhost, tmp_path, tgtd):
    ec2 = Ec2Cloud(cloud, tmp_path)
    with open(cloud.flagfile, "a") as handle:
        handle.write(f"--volume_driver=nova.volume.driver.FileDriver\n--iscsi_ip_address={PORTAL_IP}\n"
                     f"--tgtadm_control_port={tgtd.control_port}\n")
    cloud.start("nova-volume", "--host=vol1")
    wait_for(lambda: cloud.services_up(("vol1", "nova-volume")), timeout=60, what="nova-volume up")
    return ec2


def _wait(cli, what: str, *args: str) -> None:
    """The AWS CLI's own waiters (``aws ec2 wait volume-available`` ...)."""
    cli("alice", "wait", what, *args)


@pytest.mark.timeout(600)
def test_volume_and_snapshot_lifecycle_with_the_aws_cli(volume_cloud, tgtd):
    cli, cloud = volume_cloud.aws, volume_cloud.cloud
    created = cli("alice", "create-volume", "--size", "1", "--availability-zone", "nova",
                  "--tag-specifications", "ResourceType=volume,Tags=[{Key=Name,Value=data}]")
    volume_id = created["VolumeId"]
    _wait(cli, "volume-available", "--volume-ids", volume_id)
    [target] = tgtd.targets().values()
    assert target.iqn.endswith(f"volume-{volume_id[4:]}")
    assert os.path.getsize(target.luns[1]) == 1024 ** 3  # the FileDriver's sparse file, exported as LUN 1
    listed = cli("alice", "describe-volumes", "--filters", "Name=tag:Name,Values=data")["Volumes"]
    assert [(v["VolumeId"], v["Size"], v["State"]) for v in listed] == [(volume_id, 1, "available")]

    reservation = cli("alice", "run-instances", "--image-id", volume_cloud.image_id, "--count", "1",
                      "--instance-type", "m1.tiny")
    instance_id = reservation["Instances"][0]["InstanceId"]
    _wait(cli, "instance-running", "--instance-ids", instance_id)
    attached = cli("alice", "attach-volume", "--volume-id", volume_id, "--instance-id", instance_id,
                   "--device", "/dev/sdf")
    assert attached["State"] == "attaching"
    _wait(cli, "volume-in-use", "--volume-ids", volume_id)
    [attachment] = cli("alice", "describe-volumes", "--volume-ids", volume_id)["Volumes"][0]["Attachments"]
    assert (attachment["InstanceId"], attachment["Device"], attachment["State"]) == (instance_id, "/dev/sdf",
                                                                                      "attached")
    with pytest.raises(ClientError) as excinfo:
        volume_cloud.client("alice").delete_volume(VolumeId=volume_id)
    assert excinfo.value.response["Error"]["Code"] == "VolumeInUse"

    snapshot_id = cli("alice", "create-snapshot", "--volume-id", volume_id, "--description", "first")["SnapshotId"]
    _wait(cli, "snapshot-completed", "--snapshot-ids", snapshot_id)
    [snapshot] = cli("alice", "describe-snapshots", "--owner-ids", "self")["Snapshots"]
    assert (snapshot["SnapshotId"], snapshot["VolumeId"], snapshot["Progress"]) == (snapshot_id, volume_id, "100%")
    copy_id = cli("alice", "create-volume", "--snapshot-id", snapshot_id, "--size", "2",
                  "--availability-zone", "nova")["VolumeId"]
    _wait(cli, "volume-available", "--volume-ids", copy_id)
    assert len(tgtd.targets()) == 2

    cli("alice", "detach-volume", "--volume-id", volume_id)
    _wait(cli, "volume-available", "--volume-ids", volume_id)
    cli("alice", "delete-snapshot", "--snapshot-id", snapshot_id)
    cli("alice", "delete-volume", "--volume-id", volume_id)
    _wait(cli, "volume-deleted", "--volume-ids", volume_id)
    assert [t.iqn[-8:] for t in tgtd.targets().values()] == [copy_id[4:]]

    listing = cloud.manage("volume", "list").stdout
    assert copy_id in listing and "available" in listing and volume_id not in listing
    cloud.manage("volume", "delete", copy_id)
    wait_for(lambda: tgtd.targets() == {}, timeout=30, what="the copy's export removed")
    assert cli("alice", "describe-volumes")["Volumes"] == []
