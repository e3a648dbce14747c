"""Rendering in the requested version's namespace, and the error mapping."""

import datetime
from xml.etree import ElementTree

from nova import exception, rpc
from nova.api.ec2 import ec2utils, faults, xmlutil


def test_render_uses_the_requested_namespace_items_and_iso_times():
    body = xmlutil.render("DescribeThings", "2010-08-31", "req-1", {
        "thingSet": [{"thingId": "t-1", "ok": True, "when": datetime.datetime(2011, 4, 15, 12, 0, 0),
                      "missing": None}]})
    root = ElementTree.fromstring(body)
    ns = "{http://ec2.amazonaws.com/doc/2010-08-31/}"
    assert root.tag == ns + "DescribeThingsResponse"
    assert root.find(ns + "requestId").text == "req-1"
    item = root.find(f"{ns}thingSet/{ns}item")
    assert item.find(ns + "ok").text == "true"
    assert item.find(ns + "when").text == "2011-04-15T12:00:00.000Z"
    assert item.find(ns + "missing") is None
    assert ElementTree.fromstring(xmlutil.render("DeleteThing", "2016-11-15", "r", True)).find(
        "{http://ec2.amazonaws.com/doc/2016-11-15/}return").text == "true"


def test_errors_map_to_ec2_codes_and_statuses():
    assert faults.error_for(exception.InstanceNotFound(instance_id=10), "r") == (
        400, "InvalidInstanceID.NotFound", "Instance i-0000000a could not be found.")
    assert faults.error_for(exception.NotAuthorized(), "r")[:2] == (403, "UnauthorizedOperation")
    assert faults.error_for(exception.AccessKeyNotFound(access_key="x"), "r")[:2] == (401, "AuthFailure")
    remote = rpc.common.remote_exception(rpc.common.failure_payload(exception.InstanceNotFound(instance_id=10)))
    assert faults.error_for(remote, "r") == (400, "InvalidInstanceID.NotFound", "Instance i-0000000a could not be found.")
    assert faults.error_for(rpc.InvalidArguments(method="m", reason="r"), "r")[:2] == (500, "InternalError")
    assert faults.error_for(rpc.Timeout(timeout=1, method="m", topic="t"), "r")[:2] == (503, "Unavailable")
    status, code, message = faults.error_for(ZeroDivisionError("boom"), "req-XYZ")
    assert (status, code) == (500, "InternalError") and "req-XYZ" in message and "boom" not in message
    assert faults.error_for(rpc.RemoteError("ValueError", "secret detail"), "r")[:2] == (500, "InternalError")


def test_instance_states_follow_ec2():
    def state(vm, task=None, deleted=False):
        return ec2utils.instance_state({"vm_state": vm, "task_state": task, "deleted": deleted})

    assert state("building", "scheduling") == (0, "pending")
    assert state("active") == (16, "running")
    assert state("active", "rebooting") == (16, "running")
    assert state("active", "deleting") == (32, "shutting-down")
    assert state("active", "stopping") == (64, "stopping")
    assert state("stopped") == (80, "stopped")
    assert state("stopped", "starting") == (0, "pending")
    assert state("deleted", deleted=True) == (48, "terminated")
    assert state("error")[1] == "error"


def test_ec2_ids():
    assert ec2utils.id_to_ec2_id(10) == "i-0000000a"
    assert ec2utils.ec2_id_to_id("ami-0000000a", ("ami",)) == 10


def test_capacity_errors_are_503_with_their_code():
    assert faults.error_for(exception.NoValidHost(reason="full"), "r")[:2] == (503, "InsufficientInstanceCapacity")
    assert faults.error_for(exception.ServiceUnavailable(reason="x"), "r")[:2] == (503, "Unavailable")
