"""The fake driver keeps attached volumes per instance, as a hypervisor would."""

import pytest

from nova import exception
from nova.virt import fake

INFO = {"driver_volume_type": "iscsi", "data": {"target_iqn": "iqn.x:volume-00000001", "target_lun": 1}}


@pytest.fixture
def driver():
    driver = fake.FakeDriver()
    driver.spawn(None, {"name": "instance-00000001", "memory_mb": 512, "vcpus": 1}, [])
    return driver


def test_attach_records_the_mountpoint_and_detach_forgets_it(driver):
    driver.attach_volume({"name": "instance-00000001"}, INFO, "/dev/vdc")
    driver.attach_volume({"name": "instance-00000001"}, INFO, "/dev/vdb")
    assert list(driver.volumes_of("instance-00000001")) == ["/dev/vdb", "/dev/vdc"]
    assert driver.volumes_of("instance-00000001")["/dev/vdb"] == INFO
    driver.detach_volume({"name": "instance-00000001"}, INFO, "/dev/vdb")
    driver.detach_volume({"name": "instance-00000001"}, None, "/dev/vdb")  # gone already: fine
    assert list(driver.volumes_of("instance-00000001")) == ["/dev/vdc"]


def test_a_taken_mountpoint_is_device_in_use(driver):
    driver.attach_volume({"name": "instance-00000001"}, INFO, "/dev/vdb")
    with pytest.raises(exception.DeviceInUse, match="/dev/vdb"):
        driver.attach_volume({"name": "instance-00000001"}, INFO, "/dev/vdb")


def test_volumes_need_an_instance_and_a_volume_type(driver):
    with pytest.raises(exception.InstanceNotFound):
        driver.attach_volume({"id": 9, "name": "instance-00000009"}, INFO, "/dev/vdb")
    with pytest.raises(exception.VolumeAttachFailed):
        driver.attach_volume({"name": "instance-00000001"}, {"data": {}}, "/dev/vdb")
    assert driver.volumes_of("instance-00000001") == {}
