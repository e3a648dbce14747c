"""The fake driver keeps attached and boot volumes per instance, as a hypervisor would."""

import pytest

from nova import exception
from nova.compute import states
from nova.virt import driver as driver_module
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


ROOT = {"driver_volume_type": "iscsi", "data": {"target_iqn": "iqn.x:volume-00000014", "target_lun": 1}}


def _boot_from_volume(driver, name="instance-00000002"):
    driver.spawn(None, {"name": name, "memory_mb": 512, "vcpus": 1}, [],
                 {"root": ROOT, "volumes": [{"mountpoint": "/dev/vdb", "connection_info": INFO}]})
    return {"id": 2, "name": name}


def test_a_volume_backed_instance_has_its_root_as_vda_and_its_boot_volumes(driver):
    instance = _boot_from_volume(driver)
    assert driver.root_volume_of(instance["name"]) == ROOT
    assert driver.volumes_of(instance["name"]) == {"/dev/vda": ROOT, "/dev/vdb": INFO}
    assert driver.root_volume_of("instance-00000001") is None
    with pytest.raises(exception.DeviceInUse, match="/dev/vda"):
        driver.attach_volume(instance, INFO, "/dev/vda")
    driver.power_off(instance)
    driver.power_on(instance)
    assert driver.volumes_of(instance["name"]) == {"/dev/vda": ROOT, "/dev/vdb": INFO}


def test_rescue_and_snapshot_refuse_a_volume_backed_instance(driver):
    instance = _boot_from_volume(driver)
    with pytest.raises(exception.UnsupportedOperation, match="rescue of a volume-backed instance"):
        driver.rescue(None, instance, [])
    with pytest.raises(exception.UnsupportedOperation, match="snapshot of a volume-backed instance"):
        driver.snapshot(None, instance, 9)
    assert driver.get_info(instance["name"])["state"] == states.RUNNING


@pytest.mark.parametrize("block_device_info", [
    {"root": ROOT, "volumes": [{"mountpoint": "/dev/vda", "connection_info": INFO}]},
    {"root": {"data": {}}},
])
def test_a_bad_block_device_list_spawns_nothing(driver, block_device_info):
    with pytest.raises((exception.DeviceInUse, exception.VolumeAttachFailed)):
        driver.spawn(None, {"name": "instance-00000003", "memory_mb": 512, "vcpus": 1}, [], block_device_info)
    assert driver.list_instances() == ["instance-00000001"]


def test_no_block_device_info_is_an_image_backed_instance(driver):
    driver.spawn(None, {"name": "instance-00000004", "memory_mb": 512, "vcpus": 1}, [], {"root": None})
    assert driver.root_volume_of("instance-00000004") is None and driver.volumes_of("instance-00000004") == {}


def test_the_base_driver_spawns_nothing():
    with pytest.raises(exception.UnsupportedOperation, match="cannot spawn"):
        driver_module.ComputeDriver().spawn(None, {"name": "i"}, [], {"root": ROOT})


def test_with_a_state_file_a_new_driver_finds_the_domains_as_they_were(tmp_path):
    fake.FLAGS.fake_driver_state = str(tmp_path / "fake-hypervisor.json")
    first = fake.FakeDriver()
    first.spawn(None, {"name": "instance-00000001", "memory_mb": 512, "vcpus": 1}, [{"address": "10.0.0.3"}])
    first.spawn(None, {"name": "instance-00000002", "memory_mb": 256, "vcpus": 1}, [])
    first.power_off({"name": "instance-00000001"})
    first.attach_volume({"name": "instance-00000001"}, INFO, "/dev/vdb")
    first.destroy({"name": "instance-00000002"})
    again = fake.FakeDriver()  # nova-compute restarted
    assert again.list_instances() == ["instance-00000001"]
    assert again.get_info("instance-00000001")["state"] == states.SHUTOFF
    assert again.volumes_of("instance-00000001") == {"/dev/vdb": INFO}


def test_without_a_state_file_domains_live_only_in_the_process():
    fake.FakeDriver().spawn(None, {"name": "instance-00000001", "memory_mb": 512, "vcpus": 1}, [])
    assert fake.FakeDriver().list_instances() == []
