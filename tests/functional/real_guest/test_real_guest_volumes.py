"""Volumes on real guests through the EC2 API, with boto3, on the cloud of tests/functional/conftest.py:
nova-volume (FileDriver) runs on a volume host whose tgtd serves iSCSI on its management address,
reached by the compute host's QEMU across the management network.

A volume is written by guest A over SSH, moved to guest B and read back; a snapshot of it becomes a
bigger volume with the same data; tgtd and then nova-volume restart and guest B keeps reading its
volume; an attached volume cannot be deleted.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.daemons import wait_for
from tests.functional.real_guest.test_real_guest_ec2 import console
from tests.integration.virt.test_real_guest import ssh


def _guest_disk(topo, ns, key, address, volume_id: str) -> str:
    """The guest's device of a volume, found by the serial libvirt gives the disk (the volume's id); asked
    again until the hot-plugged disk shows."""
    number = str(int(volume_id[4:], 16))
    script = f'for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = "{number}" ] && echo ${{d##*/}}; done; true'
    found = wait_for(lambda: ssh(topo, ns, key, address, script), timeout=30, what=f"{volume_id} in the guest")
    return "/dev/" + found


def _state(client, volume_id: str) -> tuple[str, str | None]:
    volume = client.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    return volume["State"], (volume["Attachments"][0]["State"] if volume["Attachments"] else None)


def _wait_state(client, volume_id: str, wanted: tuple[str, str | None]) -> None:
    wait_for(lambda: _state(client, volume_id) == wanted, timeout=60, interval=0.5, what=f"{volume_id} {wanted}")


@pytest.mark.timeout(900)
def test_a_volume_moves_between_real_guests_and_survives_target_restarts(tenant, tmp_path):
    client, topo, net, vol = tenant["client"], tenant["topo"], tenant["net"].ns, tenant["vol"]
    key = tmp_path / "key.pem"
    key.write_text(client.create_key_pair(KeyName="k")["KeyMaterial"])
    key.chmod(0o600)
    client.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22, ToPort=22,
                                            CidrIp="0.0.0.0/0")
    ids = [i["InstanceId"] for i in client.run_instances(ImageId=tenant["ami"], MinCount=2, MaxCount=2,
                                                         InstanceType="m1.tiny", KeyName="k")["Instances"]]
    volume_id = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    _wait_state(client, volume_id, ("available", None))
    client.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    for instance_id in ids:
        wait_for(lambda: "NOVA-GUEST ready" in console(client, instance_id), timeout=300, interval=1,
                 what=f"{instance_id} ready")
    shown = {i["InstanceId"]: i["PrivateIpAddress"]
             for r in client.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]}
    guest_a, guest_b = shown[ids[0]], shown[ids[1]]

    # Guest A formats the volume and writes a file.
    client.attach_volume(VolumeId=volume_id, InstanceId=ids[0], Device="/dev/sdf")
    _wait_state(client, volume_id, ("in-use", "attached"))
    disk = _guest_disk(topo, net, str(key), guest_a, volume_id)
    written = ssh(topo, net, str(key), guest_a,
                  f"mke2fs -q {disk} >/dev/null 2>&1 && mkdir -p /mnt/v && mount -t ext4 {disk} /mnt/v && "
                  "dd if=/dev/urandom of=/mnt/v/data bs=64k count=16 2>/dev/null && "
                  "md5sum /mnt/v/data && umount /mnt/v && sync").split()[0]
    with pytest.raises(ClientError) as excinfo:
        client.delete_volume(VolumeId=volume_id)
    assert excinfo.value.response["Error"]["Code"] == "VolumeInUse"

    # Detached from A, attached to B: the same bytes.
    client.detach_volume(VolumeId=volume_id)
    _wait_state(client, volume_id, ("available", None))
    assert ssh(topo, net, str(key), guest_a, f"test -b {disk} && echo still || echo gone") == "gone"
    client.attach_volume(VolumeId=volume_id, InstanceId=ids[1], Device="/dev/sdg")
    _wait_state(client, volume_id, ("in-use", "attached"))
    disk_b = _guest_disk(topo, net, str(key), guest_b, volume_id)
    read = ssh(topo, net, str(key), guest_b, f"mkdir -p /mnt/v && mount -t ext4 {disk_b} /mnt/v && "
                                             "md5sum /mnt/v/data").split()[0]
    assert read == written

    # A snapshot made into a bigger volume holds the same file; A reads it.
    snapshot_id = client.create_snapshot(VolumeId=volume_id, Description="copy")["SnapshotId"]
    client.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id], WaiterConfig={"Delay": 1, "MaxAttempts": 180})
    copy_id = client.create_volume(SnapshotId=snapshot_id, Size=2, AvailabilityZone="nova")["VolumeId"]
    _wait_state(client, copy_id, ("available", None))
    assert client.describe_volumes(VolumeIds=[copy_id])["Volumes"][0]["Size"] == 2
    client.attach_volume(VolumeId=copy_id, InstanceId=ids[0], Device="/dev/sdh")
    _wait_state(client, copy_id, ("in-use", "attached"))
    disk_copy = _guest_disk(topo, net, str(key), guest_a, copy_id)
    assert ssh(topo, net, str(key), guest_a, f"blockdev --getsize64 {disk_copy}") == str(2 * 1024 ** 3)
    assert ssh(topo, net, str(key), guest_a, f"mount -o ro -t ext4 {disk_copy} /mnt/v && "
                                             "md5sum /mnt/v/data").split()[0] == written

    # tgtd restarts (every target gone), then nova-volume: the exports come back, B still reads.
    tgtd = tenant["tgtd"]
    tgtd.crash()
    tgtd.start()
    assert tgtd.targets() == {}
    assert vol.daemon("nova-volume").stop() == 0
    vol.start("nova-volume")
    wait_for(lambda: len(tgtd.targets()) == 2, timeout=60, what="exports restored")
    again = ssh(topo, net, str(key), guest_b, "echo 3 > /proc/sys/vm/drop_caches && md5sum /mnt/v/data",
                timeout=90).split()[0]
    assert again == written


def _boot(client, image_id: str, key: str = "k") -> str:
    instance_id = client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="m1.tiny",
                                       KeyName=key)["Instances"][0]["InstanceId"]
    client.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    return instance_id


def _ready(client, instance_id: str, boots: int = 1) -> str:
    return wait_for(lambda: (lambda t: t.count("NOVA-GUEST ready") >= boots and t)(console(client, instance_id)),
                    timeout=300, interval=1, what=f"{instance_id} ready")


def _address(client, instance_id: str) -> str:
    return client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]


@pytest.mark.timeout(900)
def test_a_guest_boots_from_a_volume_keeps_its_files_and_is_imaged(tenant, tmp_path):
    """An EBS image made the 2010 way (a guest copies its root disk onto a volume, the volume is
    snapshotted, the snapshot registered as a root device); its instance boots from a volume, keeps a
    file across stop/start, and CreateImage of it launches an instance that has the file."""
    client, topo, net = tenant["client"], tenant["topo"], tenant["net"].ns
    key = tmp_path / "key.pem"
    key.write_text(client.create_key_pair(KeyName="k")["KeyMaterial"])
    key.chmod(0o600)
    client.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22, ToPort=22,
                                            CidrIp="0.0.0.0/0")
    volume_id = client.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    maker = _boot(client, tenant["ami"])
    _ready(client, maker)
    _wait_state(client, volume_id, ("available", None))
    client.attach_volume(VolumeId=volume_id, InstanceId=maker, Device="/dev/sdf")
    _wait_state(client, volume_id, ("in-use", "attached"))
    address = _address(client, maker)
    disk = _guest_disk(topo, net, str(key), address, volume_id)
    ssh(topo, net, str(key), address, f"sync && mount -o remount,ro /root && dd if=/dev/vda of={disk} bs=1M "
                                      "2>/dev/null && sync", timeout=60)
    client.terminate_instances(InstanceIds=[maker])
    _wait_state(client, volume_id, ("available", None))
    snapshot_id = client.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    client.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id], WaiterConfig={"Delay": 1, "MaxAttempts": 180})
    source = client.describe_images(ImageIds=[tenant["ami"]])["Images"][0]
    ebs_image = client.register_image(Name="guest-ebs", RootDeviceName="/dev/sda1", KernelId=source["KernelId"],
                                      RamdiskId=source["RamdiskId"], BlockDeviceMappings=[
                                          {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot_id}}])["ImageId"]

    # The instance boots from a volume made from the snapshot; a file written over SSH survives stop/start.
    booted = _boot(client, ebs_image)
    shown = client.describe_instances(InstanceIds=[booted])["Reservations"][0]["Instances"][0]
    assert shown["RootDeviceType"] == "ebs"
    [root] = shown["BlockDeviceMappings"]
    assert root["DeviceName"] == "/dev/sda1" and root["Ebs"]["DeleteOnTermination"] is True
    assert "NOVA-GUEST root-disk=/dev/vda" in _ready(client, booted)
    address = _address(client, booted)
    ssh(topo, net, str(key), address, "echo kept-on-ebs > /root/kept.txt && sync")
    client.stop_instances(InstanceIds=[booted])
    client.get_waiter("instance_stopped").wait(InstanceIds=[booted], WaiterConfig={"Delay": 1, "MaxAttempts": 180})
    client.start_instances(InstanceIds=[booted])
    client.get_waiter("instance_running").wait(InstanceIds=[booted], WaiterConfig={"Delay": 1, "MaxAttempts": 180})
    _ready(client, booted, boots=2)
    assert ssh(topo, net, str(key), address, "cat /root/kept.txt") == "kept-on-ebs"

    # CreateImage of it: a new instance from that image reads the file.
    ssh(topo, net, str(key), address, "sync")
    image_id = client.create_image(InstanceId=booted, Name="with-kept-file")["ImageId"]
    client.get_waiter("image_available").wait(ImageIds=[image_id], WaiterConfig={"Delay": 1, "MaxAttempts": 180})
    client.terminate_instances(InstanceIds=[booted])
    wait_for(lambda: root["Ebs"]["VolumeId"] not in [v["VolumeId"] for v in client.describe_volumes()["Volumes"]],
             timeout=60, what="the root volume deleted on termination")
    copy = _boot(client, image_id)
    _ready(client, copy)
    assert ssh(topo, net, str(key), _address(client, copy), "cat /root/kept.txt") == "kept-on-ebs"
