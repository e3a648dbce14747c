"""nova-manage service delete: a host taken out of the cloud, refused while it would strand anything."""

import datetime

import pytest

from nova import context, exception, utils
from nova.cmd.manage import ServiceCommands
from nova.db import api as db


def _service(host, binary, seconds_ago):
    ctxt = context.get_admin_context()
    row = db.service_create(ctxt, {"host": host, "binary": binary, "topic": binary[5:], "report_count": 1})
    beat = utils.utcnow() - datetime.timedelta(seconds=seconds_ago)
    db.service_update(ctxt, row["id"], {"updated_at": beat, "created_at": beat})
    return row


def _listed(capsys):
    ServiceCommands().list()
    return [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]]


def test_a_stopped_empty_host_is_deleted_with_its_compute_node(sqlite_db, capsys):
    ctxt = context.get_admin_context()
    row = _service("cmp2", "nova-compute", seconds_ago=600)
    db.compute_node_create(ctxt, {"service_id": row["id"], "vcpus": 2, "memory_mb": 512, "local_gb": 10})
    ServiceCommands().delete("cmp2", "nova-compute")
    assert "nova-compute on cmp2 deleted" in capsys.readouterr().out
    assert _listed(capsys) == []
    assert db.compute_node_get_by_host(ctxt, "cmp2") is None


def test_a_live_service_is_refused(sqlite_db, capsys):
    _service("cmp1", "nova-compute", seconds_ago=0)
    with pytest.raises(exception.ServiceInUse, match="it is up; stop it first"):
        ServiceCommands().delete("cmp1", "nova-compute")
    assert _listed(capsys) == [["cmp1", "nova-compute"]]


def test_a_host_with_instances_or_volumes_left_is_refused(sqlite_db, capsys):
    ctxt = context.get_admin_context()
    _service("cmp1", "nova-compute", seconds_ago=600)
    _service("vol1", "nova-volume", seconds_ago=600)
    db.instance_create(ctxt, {"host": "cmp1", "project_id": "p", "user_id": "u"})
    db.volume_create(ctxt, {"host": "vol1", "size": 1, "project_id": "p", "user_id": "u"})
    with pytest.raises(exception.ServiceInUse, match=r"1 instance\(s\) are still on it"):
        ServiceCommands().delete("cmp1", "nova-compute")
    with pytest.raises(exception.ServiceInUse, match=r"1 volume\(s\) are still on it"):
        ServiceCommands().delete("vol1", "nova-volume")
    assert _listed(capsys) == [["cmp1", "nova-compute"], ["vol1", "nova-volume"]]


def test_an_unknown_service_is_not_found(sqlite_db):
    with pytest.raises(exception.ServiceNotFound):
        ServiceCommands().delete("ghost", "nova-compute")
