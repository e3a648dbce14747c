"""Choosing the virt driver: --compute_driver names a class; --connection_type still works."""

import pytest

from nova import exception, flags
from nova.virt import connection, driver, fake

FLAGS = flags.FLAGS


@pytest.mark.parametrize("connection_type,path", [
    ("fake", "nova.virt.fake.FakeDriver"),
    ("libvirt", "nova.virt.libvirt.LibvirtDriver"),
])
def test_connection_type_maps_to_a_class_path(connection_type, path):
    FLAGS.connection_type = connection_type
    assert connection.driver_class_path() == path


def test_compute_driver_wins_over_connection_type():
    FLAGS.connection_type = "libvirt"
    FLAGS.compute_driver = "nova.virt.fake.FakeDriver"
    assert isinstance(connection.get_connection(), fake.FakeDriver)


def test_the_libvirt_class_path_resolves():
    from nova.virt.libvirt import driver as libvirt_driver

    FLAGS.compute_driver = "nova.virt.libvirt.LibvirtDriver"
    from nova import utils

    assert utils.import_class(connection.driver_class_path()) is libvirt_driver.LibvirtDriver


@pytest.mark.parametrize("flag,value,match", [
    ("connection_type", "xen", "unknown --connection_type 'xen'"),
    ("compute_driver", "nova.virt.nowhere.Driver", "cannot load the virt driver"),
    ("compute_driver", "nova.flags.NovaFlagValues", "is not a virt driver"),
])
def test_bad_choices_are_one_clear_error(flag, value, match):
    setattr(FLAGS, flag, value)
    with pytest.raises(exception.InvalidInput, match=match):
        connection.get_connection()


def test_host_resources_come_from_the_driver_layer(tmp_path):
    resources = driver.ComputeDriver().host_resources(str(tmp_path / "not" / "yet"))
    assert resources["vcpus"] >= 1 and resources["memory_mb"] > 0
    assert resources["local_gb_free"] <= resources["local_gb"]
    assert fake.FakeDriver().host_resources(str(tmp_path)) == driver.ComputeDriver().host_resources(str(tmp_path))
