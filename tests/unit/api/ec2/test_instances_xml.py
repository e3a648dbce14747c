"""DescribeInstances writes each instance as one string (``instances._instance_xml``) and streams the
document: it must be byte for byte what the generic renderer makes of ``_render_instance``'s dicts
(which RunInstances still answers with), for every shape of instance."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from xml.etree import ElementTree

from nova import context
from nova.api.ec2 import xmlutil
from nova.api.ec2.cloud import instances
from nova.db.sqlalchemy.api.instance_listing import ListedInstance

USER = context.RequestContext(user_id="alice", project_id="proj-a")
ADMIN = context.get_admin_context()


def _instance(db_id: int, **overrides) -> ListedInstance:
    values = {"id": db_id, "uuid": f"u-{db_id}", "project_id": "proj-a", "user_id": "alice", "image_id": "3",
              "kernel_id": None, "ramdisk_id": None, "reservation_id": "r-1", "vm_state": "active",
              "task_state": None, "deleted": False, "host": "compute-1", "hostname": f"host-{db_id}",
              "launch_index": 0, "key_name": "key", "launched_at": datetime.datetime(2011, 4, 15, 12, 0, 1),
              "created_at": datetime.datetime(2011, 4, 15, 12, 0, 0), "availability_zone": None,
              "root_device_name": None, "fault": None}
    values.update(overrides)
    row = ListedInstance(values)
    row.instance_type = {"id": 1, "name": "m1.tiny"}
    row.security_groups = [{"id": 7, "name": "default"}]
    row.tags = {"Name": f"vm-{db_id}"}
    row.nics = [{"address": f"10.0.0.{db_id}", "mac": "02:00", "label": "private", "floating": []}]
    return row


def _shapes() -> list[ListedInstance]:
    bare = _instance(2, image_id=None, key_name=None, launched_at=None, hostname=None, reservation_id="r-2",
                     vm_state="error", fault="disk <full> & \x01 gone", availability_zone="zone&1")
    bare.instance_type, bare.security_groups, bare.tags, bare.nics = None, [], {}, []
    floating = _instance(3, kernel_id="4", ramdisk_id="5", root_device_name="/dev/vda", key_name="",
                         reservation_id=None)
    floating.nics = [{"address": "10.0.0.3", "mac": "m", "label": "l", "floating": ["172.24.0.3", "172.24.0.4"]},
                     {"address": "10.0.1.3", "mac": "m2", "label": "l2", "floating": []}]
    floating.tags = {"b": None, "a": "<&>", "": "empty key"}
    floating.security_groups = [{"id": 7, "name": "web & ssh"}, {"id": 9, "name": ""}]
    floating.volumes = [{"id": 11, "status": "in-use", "mountpoint": "/dev/vdb", "attach_time": "2011-04-15T12:00:00Z",
                         "updated_at": None, "delete_on_termination": True}]
    return [_instance(1), bare, floating, _instance(4, reservation_id="r-2"), _instance(5, deleted=True)]


def test_streamed_instances_are_what_the_generic_renderer_makes_of_the_dicts():
    views = instances._views(_shapes())
    for ctxt in (USER, ADMIN):
        generic = xmlutil.render("DescribeInstances", "2016-11-15", "req-1",
                                 {"reservationSet": instances._render_reservations(views, ctxt), "nextToken": "5"})
        streamed = xmlutil.render("DescribeInstances", "2016-11-15", "req-1",
                                  {"reservationSet": xmlutil.Fragments(instances._reservations_xml(views, ctxt)),
                                   "nextToken": "5"})
        assert streamed == generic
        ElementTree.fromstring(streamed)


def test_a_large_listing_leaves_in_pieces_and_an_empty_one_is_an_empty_element(monkeypatch):
    monkeypatch.setattr(xmlutil, "CHUNK", 200)
    views = instances._views([_instance(n, reservation_id=f"r-{n}") for n in range(1, 30)])
    result = {"reservationSet": xmlutil.Fragments(instances._reservations_xml(views, USER)), "nextToken": None}
    chunks = list(xmlutil.render_chunks("DescribeInstances", "2016-11-15", "r", result))
    assert len(chunks) > 10 and all(chunks)
    root = ElementTree.fromstring(b"".join(chunks))
    ns = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
    assert len(root.findall(f"{ns}reservationSet/{ns}item")) == 29
    empty = xmlutil.render("DescribeInstances", "2016-11-15", "r", {"reservationSet": xmlutil.Fragments(iter(()))})
    assert b"<reservationSet /></DescribeInstancesResponse>" in empty
    # a result without Fragments is one piece (the Executor then sends it with a Content-Length)
    assert len(list(xmlutil.render_chunks("DescribeThings", "2016-11-15", "r", {"a": [1, 2]}))) == 1


def test_a_failing_listing_is_an_ec2_error_not_a_cut_document():
    """The rows are read before the first byte is rendered: a failure there is still an error response."""
    from nova.api.ec2 import requestify

    def broken(ctxt):
        raise ValueError("boom")

    action = SimpleNamespace(func=broken, name="DescribeInstances")
    request = SimpleNamespace(action=action, kwargs={}, version="2016-11-15", dry_run=False)
    import webob
    req = webob.Request.blank("/")
    req.environ[requestify.CONTEXT_KEY] = USER
    req.environ[requestify.REQUEST_KEY] = request
    response = req.get_response(requestify.Executor())
    assert response.status_int == 500 and b"InternalError" in response.body
