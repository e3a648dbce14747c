"""A FileDriver volume exported by a real tgtd and used over iSCSI from another namespace.

The volume host's namespace runs tgtd on 10.254.0.1:3260; the "compute
host" namespace reaches it through a veth and reads and writes with QEMU's
userspace initiator (``qemu-io`` on the ``iscsi://`` URL built from the
driver's connection info), as libvirt's network disk would.
"""

from __future__ import annotations

import os

import pytest

from nova import flags
from nova.volume import driver
from tests.integration.network.netns import Topology
from tests.integration.volume.tgtd import Tgtd, iscsi_url, qemu_io, read_bytes
from tests.integration.volume.tools import require

FLAGS = flags.FLAGS
PORTAL_IP = "10.254.0.1"
MARKER = b"nova volume data"  # 16 bytes


@pytest.fixture
def hosts(tmp_path):
    """(tgtd, initiator namespace): tgtd in a volume-host namespace, a compute namespace wired to it."""
    require("ip", "tgtd", "tgtadm", "qemu-io")
    topo = Topology()
    daemon = None
    try:
        volume_ns, compute_ns = topo.ns("vol"), topo.ns("cmp")
        topo.veth(volume_ns, "eth0", compute_ns, "eth0")
        topo.address(volume_ns, "eth0", f"{PORTAL_IP}/24")
        topo.address(compute_ns, "eth0", "10.254.0.2/24")
        daemon = Tgtd(volume_ns, PORTAL_IP, str(tmp_path / "tgtd.log"))
        daemon.start()
        FLAGS.tgtadm_control_port = daemon.control_port
        FLAGS.iscsi_ip_address = PORTAL_IP
        FLAGS.volumes_path = str(tmp_path / "volumes")
        yield daemon, compute_ns
    finally:
        if daemon is not None:
            daemon.stop()
        topo.cleanup()


def _new_volume(drv: driver.FileDriver, vid: int, target_num: int) -> dict:
    volume = {"id": vid, "name": "volume-%08x" % vid, "size": 1}
    drv.create_volume(volume)
    volume.update(drv.create_export(None, volume, target_num))
    return volume


def _write_file(path: str, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def _read_file(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def test_an_exported_volume_is_read_and_written_over_iscsi_and_survives_a_tgtd_restart(hosts):
    daemon, compute_ns = hosts
    drv = driver.FileDriver()
    drv.check_for_setup_error()
    volume = _new_volume(drv, 10, target_num=3)
    path = drv.local_path(volume)
    url = iscsi_url(drv.initialize_connection(volume))
    assert url == f"iscsi://{PORTAL_IP}:3260/iqn.2010-10.org.openstack:volume-0000000a/1"

    _write_file(path, 0, MARKER)
    assert read_bytes(compute_ns, url, 0, 16) == MARKER
    written = qemu_io(compute_ns, url, "write -P 0xab 4096 4k")
    assert written.returncode == 0, written.stderr
    assert _read_file(path, 4096, 4096) == b"\xab" * 4096

    drv.ensure_export(None, volume, 3)
    assert list(daemon.targets()) == [3]

    daemon.crash()
    daemon.start()
    assert daemon.targets() == {}
    with pytest.raises(AssertionError, match="iSCSI read failed"):
        read_bytes(compute_ns, url, 0, 16)
    drv.ensure_export(None, volume, 3)
    assert read_bytes(compute_ns, url, 0, 16) == MARKER
    assert read_bytes(compute_ns, url, 4096, 16) == b"\xab" * 16

    drv.remove_export(None, volume, 3)
    assert daemon.targets() == {}
    with pytest.raises(AssertionError, match="iSCSI read failed"):
        read_bytes(compute_ns, url, 0, 16)
    drv.remove_export(None, volume, 3)
    drv.delete_volume(volume)
    assert not os.path.exists(path)


def test_chap_refuses_initiators_without_the_volumes_secret(hosts):
    daemon, compute_ns = hosts
    FLAGS.iscsi_use_chap = True
    drv = driver.FileDriver()
    volume = _new_volume(drv, 11, target_num=1)
    other = _new_volume(drv, 12, target_num=2)
    _write_file(drv.local_path(volume), 0, MARKER)
    info = drv.initialize_connection(volume)
    assert info["data"]["auth_method"] == "CHAP"
    data = info["data"]
    portal, iqn = data["target_portal"], data["target_iqn"]

    assert read_bytes(compute_ns, iscsi_url(info), 0, 16) == MARKER
    refused = qemu_io(compute_ns, f"iscsi://{portal}/{iqn}/1", "read 0 16", read_only=True)
    assert refused.returncode != 0 and "Authentication failure" in refused.stderr
    wrong = drv.initialize_connection(other)["data"]
    refused = qemu_io(compute_ns, f"iscsi://{wrong['auth_username']}%{wrong['auth_password']}@{portal}/{iqn}/1",
                      "read 0 16", read_only=True)
    assert refused.returncode != 0, "another volume's credentials open this one"

    daemon.crash()
    daemon.start()
    drv.ensure_export(None, volume, 1)
    assert read_bytes(compute_ns, iscsi_url(info), 0, 16) == MARKER
    refused = qemu_io(compute_ns, f"iscsi://{portal}/{iqn}/1", "read 0 16", read_only=True)
    assert refused.returncode != 0, "ensure_export restored the export without its CHAP account"
