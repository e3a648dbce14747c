"""A nova exception raised inside nova-compute reaches the EC2 client through the one mapping table.

nova-compute is a real ComputeManager (fake virt driver) in a Service on the
memory transport; GetConsoleOutput is an RPC call to it.
"""

import botocore.exceptions
import pytest

from nova import context, service
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import states
from nova.db import api as db
from tests.unit.api.conftest import error_of

ADMIN = context.get_admin_context()


@pytest.fixture
def compute_service(ec2_env):
    compute = service.Service("host-a", "nova-compute", "compute", "nova.compute.manager.ComputeManager")
    compute.start()
    try:
        yield compute
    finally:
        compute.kill()


def running_instance():
    """An instance the database says runs on host-a, active."""
    instance = db.instance_create(ADMIN, {
        "project_id": "proj-a", "user_id": "alice", "image_id": "1", "host": "host-a",
        "vm_state": states.ACTIVE, "power_state": states.RUNNING, "memory_mb": 512, "vcpus": 1,
    })
    return instance["id"], "i-%08x" % instance["id"]


def test_instance_gone_from_the_host_is_invalid_instance_id_not_found(ec2_env, compute_service):
    """The row is there, the driver has no domain: the driver's InstanceNotFound comes back."""
    _, ec2_id = running_instance()
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ec2_env.client().get_console_output(InstanceId=ec2_id)
    assert error_of(info) == ("InvalidInstanceID.NotFound", 400)
    assert ec2_id in info.value.response["Error"]["Message"]


def test_row_destroyed_before_compute_handles_the_call(ec2_env, compute_service, monkeypatch):
    """The API read the row; by the time nova-compute reads it, it is gone."""
    instance_id, ec2_id = running_instance()
    original = compute_rpcapi.ComputeAPI.get_console_output

    def destroy_then_send(self, ctxt, host, target_id):
        db.instance_destroy(ADMIN, target_id)
        return original(self, ctxt, host, target_id)

    monkeypatch.setattr(compute_rpcapi.ComputeAPI, "get_console_output", destroy_then_send)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ec2_env.client().get_console_output(InstanceId=ec2_id)
    assert error_of(info) == ("InvalidInstanceID.NotFound", 400)
    assert ec2_id in info.value.response["Error"]["Message"]
