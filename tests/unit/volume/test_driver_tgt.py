"""The iSCSI export every driver shares: tgtadm command lines, idempotence, CHAP, connection info."""

from __future__ import annotations

import re

import pytest

from nova import exception, flags
from nova.volume import driver, tgt
from tests.unit.volume.recording import FakeTgtd, RecordingExecutor, failure

FLAGS = flags.FLAGS
IQN = "iqn.2010-10.org.openstack:volume-0000000a"

# As tgt 1.0.85 prints it, with a session open and a CHAP account bound.
REAL_SHOW = """\
Target 1: iqn.2010-10.org.openstack:volume-0000000a
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 2
            Initiator: iqn.2008-11.org.linux-kvm alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            SCSI SN: beaf10
            Size: 0 MB, Block size: 1
            Online: Yes
            Backing store type: null
            Backing store path: None
            Backing store flags: 
        LUN: 1
            Type: disk
            SCSI ID: IET     00010001
            SCSI SN: beaf11
            Size: 67 MB, Block size: 512
            Online: Yes
            Backing store type: rdwr
            Backing store path: /tmp/exp.img
            Backing store flags: 
    Account information:
        u1
        out1 (outgoing)
    ACL information:
        ALL
Target 7: iqn.2010-10.org.openstack:volume-00000007
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
    Account information:
    ACL information:
"""


@pytest.fixture
def tgtd():
    return FakeTgtd()


@pytest.fixture
def recorder(tgtd, tmp_path):
    FLAGS.volumes_path = str(tmp_path)
    FLAGS.iscsi_ip_address = "10.0.0.1"
    rec = RecordingExecutor()
    rec.on("tgtadm", tgtd)
    return rec


@pytest.fixture
def drv(recorder):
    return driver.FileDriver(execute=recorder)


def volume(vid: int = 10, **extra) -> dict:
    return {"id": vid, "name": "volume-%08x" % vid, "size": 1, **extra}


def changes(recorder: RecordingExecutor) -> list[str]:
    """tgtadm commands that change something (not --op show)."""
    return [c for c in recorder.commands if c.startswith("tgtadm") and "--op show" not in c]


def test_show_is_parsed_as_tgt_prints_it():
    targets = tgt.parse_targets(REAL_SHOW)
    assert set(targets) == {1, 7}
    assert targets[1].iqn == IQN
    assert targets[1].luns == {0: "None", 1: "/tmp/exp.img"}
    assert targets[1].accounts == ["u1"]
    assert targets[1].acls == ["ALL"]
    assert (targets[7].luns, targets[7].accounts, targets[7].acls) == ({0: "None"}, [], [])
    assert tgt.parse_accounts("Account list:\n    u1\n    u2\n") == ["u1", "u2"]


def test_create_export_makes_one_target_with_lun_1_open_to_all(drv, recorder, tmp_path):
    export = drv.create_export(None, volume(), 3)
    assert changes(recorder) == [
        f"tgtadm --lld iscsi --op new --mode target --tid 3 -T {IQN}",
        f"tgtadm --lld iscsi --op new --mode logicalunit --tid 3 --lun 1 -b {tmp_path}/volume-0000000a",
        "tgtadm --lld iscsi --op bind --mode target --tid 3 -I ALL",
    ]
    assert all(kwargs.get("run_as_root") for kwargs in recorder.kwargs)
    assert export == {"provider_location": f"10.0.0.1:3260,3 {IQN} 1", "provider_auth": None}


def test_a_control_port_is_passed_to_every_tgtadm(drv, recorder):
    FLAGS.tgtadm_control_port = 3261
    drv.create_export(None, volume(), 1)
    drv.remove_export(None, volume(), 1)
    assert recorder.commands and all(c.startswith("tgtadm -C 3261 --lld iscsi ") for c in recorder.commands)


def test_chap_gives_each_export_its_own_account(drv, recorder, tgtd):
    FLAGS.iscsi_use_chap = True
    first = drv.create_export(None, volume(10), 1)
    second = drv.create_export(None, volume(11), 2)
    method, user, secret = first["provider_auth"].split()
    assert method == "CHAP" and re.fullmatch(r"[A-Za-z0-9]{20}", user) and re.fullmatch(r"[A-Za-z0-9]{16}", secret)
    assert second["provider_auth"] != first["provider_auth"]
    assert f"tgtadm --lld iscsi --op new --mode account --user {user} --password {secret}" in recorder.commands
    assert f"tgtadm --lld iscsi --op bind --mode account --tid 1 --user {user}" in recorder.commands
    assert tgtd.targets[1]["accounts"] == [user]


def test_ensure_export_changes_nothing_on_a_complete_export(drv, recorder):
    FLAGS.iscsi_use_chap = True
    vol = volume()
    vol.update(drv.create_export(None, vol, 4))
    before = len(changes(recorder))
    drv.ensure_export(None, vol, 4)
    drv.ensure_export(None, vol, 4)
    assert len(changes(recorder)) == before


def test_ensure_export_rebuilds_everything_after_tgtd_restarted_with_the_same_chap(drv, recorder, tgtd):
    FLAGS.iscsi_use_chap = True
    vol = volume()
    vol.update(drv.create_export(None, vol, 4))
    created = changes(recorder)
    tgtd.restart()
    recorder.commands.clear()
    drv.ensure_export(None, vol, 4)
    assert sorted(changes(recorder)) == sorted(created)
    _, user, secret = vol["provider_auth"].split()
    assert tgtd.accounts == {user: secret}
    assert tgtd.targets[4]["luns"] == {1: drv.local_path(vol)} and tgtd.targets[4]["acls"] == ["ALL"]


def test_ensure_export_adds_only_what_is_missing(drv, recorder, tgtd):
    vol = volume()
    drv.create_export(None, vol, 2)
    tgtd.targets[2]["acls"].clear()
    recorder.commands.clear()
    drv.ensure_export(None, vol, 2)
    assert changes(recorder) == ["tgtadm --lld iscsi --op bind --mode target --tid 2 -I ALL"]


def test_ensure_export_refuses_a_target_number_that_holds_another_volume(drv, tgtd):
    drv.create_export(None, volume(11), 2)
    with pytest.raises(exception.VolumeDriverError, match="volume-0000000b"):
        drv.ensure_export(None, volume(10), 2)


def test_remove_export_deletes_acl_account_lun_and_target_and_is_idempotent(drv, recorder, tgtd):
    FLAGS.iscsi_use_chap = True
    vol = volume()
    vol.update(drv.create_export(None, vol, 5))
    user = vol["provider_auth"].split()[1]
    recorder.commands.clear()
    drv.remove_export(None, vol, 5)
    assert changes(recorder) == [
        "tgtadm --lld iscsi --op unbind --mode target --tid 5 -I ALL",
        f"tgtadm --lld iscsi --op unbind --mode account --tid 5 --user {user}",
        f"tgtadm --lld iscsi --op delete --mode account --user {user}",
        "tgtadm --lld iscsi --op delete --mode logicalunit --tid 5 --lun 1",
        "tgtadm --lld iscsi --op delete --mode target --tid 5",
    ]
    assert tgtd.targets == {} and tgtd.accounts == {}
    recorder.commands.clear()
    drv.remove_export(None, vol, 5)
    assert changes(recorder) == []


def test_remove_export_forces_out_a_logged_in_initiator(drv, recorder, tgtd):
    drv.create_export(None, volume(), 1)
    tgtd.targets[1]["sessions"] = 1
    drv.remove_export(None, volume(), 1)
    assert changes(recorder)[-1] == "tgtadm --lld iscsi --op delete --mode target --tid 1 --force"
    assert tgtd.targets == {}


def test_remove_export_leaves_another_volumes_target_alone(drv, recorder, tgtd):
    drv.create_export(None, volume(11), 1)
    recorder.commands.clear()
    drv.remove_export(None, volume(10), 1)
    assert changes(recorder) == [] and 1 in tgtd.targets


def test_a_missing_tgtd_names_the_flag(drv, recorder):
    FLAGS.tgtadm_control_port = 4000
    recorder.on("tgtadm", failure("tgtadm", 107, "tgtadm: failed to send request hdr to tgt daemon, "
                                                "Transport endpoint is not connected"))
    with pytest.raises(exception.VolumeDriverError, match="--tgtadm_control_port"):
        drv.create_export(None, volume(), 1)


def test_connection_info_comes_from_the_volumes_provider_fields(drv):
    vol = volume(10, provider_location=f"10.0.0.1:3260,3 {IQN} 1", provider_auth="CHAP user1 secret1")
    assert drv.initialize_connection(vol) == {
        "driver_volume_type": "iscsi",
        "data": {"target_portal": "10.0.0.1:3260", "target_iqn": IQN, "target_lun": 1, "volume_id": 10,
                 "auth_method": "CHAP", "auth_username": "user1", "auth_password": "secret1"}}
    vol["provider_auth"] = None
    data = drv.initialize_connection(vol)["data"]
    assert (data["auth_method"], data["auth_username"], data["auth_password"]) == (None, None, None)


def test_connection_info_of_an_unexported_volume_is_an_error(drv):
    with pytest.raises(exception.VolumeDriverError, match="not exported"):
        drv.initialize_connection(volume(10, provider_location=None))


def test_the_iqn_prefix_is_a_flag(drv):
    FLAGS.iscsi_target_prefix = "iqn.2024-01.org.example:"
    export = drv.create_export(None, volume(), 1)
    assert export["provider_location"].split()[1] == "iqn.2024-01.org.example:volume-0000000a"
