"""Instance attributes: DescribeInstanceAttribute, ModifyInstanceAttribute and GetPasswordData.

What is kept and enforced lives in ``compute.API.set_attribute``: the type,
kernel, ramdisk and user data change only while the instance is stopped;
``disableApiTermination`` makes TerminateInstances refuse it;
``instanceInitiatedShutdownBehavior`` is acted upon by nova-compute's power-state sync (a guest that
powers itself off is stopped, or terminated).  This cloud is EC2-Classic:
``sourceDestCheck`` and changing ``groupSet`` are VPC attributes
(``InvalidParameterCombination``); the hardware options answer their
defaults and cannot be turned on.
"""

from __future__ import annotations

from typing import Any, Callable

from nova import context, exception, utils
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, PROJECT_ADMIN, ActionSet
from nova.api.ec2.cloud import instances, volumes
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Boolean, Ec2Id, ListOf, Param, String, Struct
from nova.compute import api as compute_api
from nova.volume import api as volume_api

actions = ActionSet()


def _value(value: Any) -> dict[str, Any]:
    return {"value": value}


def _block_devices(ctxt: context.RequestContext, row: Any) -> list[dict[str, Any]]:
    return volumes.render_instance_mappings(volume_api.API().get_by_instances(ctxt, [row["id"]]).get(row["id"], []))


def _vpc_only(name: str) -> EC2APIError:
    return EC2APIError("InvalidParameterCombination",
                       f"The attribute '{name}' applies to instances in a VPC only; this cloud has none.")


def _no_vpc(ctxt: context.RequestContext, row: Any) -> Any:
    raise _vpc_only("sourceDestCheck")


# EC2's attribute name -> (response element, its value for an instance row).
_DESCRIBE: dict[str, tuple[str, Callable[[context.RequestContext, Any], Any]]] = {
    "instanceType": ("instanceType", lambda c, r: _value(r.instance_type["name"] if r.instance_type else None)),
    "kernel": ("kernel", lambda c, r: _value(instances._image(r["kernel_id"], "aki"))),
    "ramdisk": ("ramdisk", lambda c, r: _value(instances._image(r["ramdisk_id"], "ari"))),
    "userData": ("userData", lambda c, r: _value(r["user_data"])),
    "disableApiTermination": ("disableApiTermination", lambda c, r: _value(bool(r["disable_api_termination"]))),
    "instanceInitiatedShutdownBehavior": ("instanceInitiatedShutdownBehavior",
                                          lambda c, r: _value(r["shutdown_behavior"] or "stop")),
    "rootDeviceName": ("rootDeviceName", lambda c, r: _value(r["root_device_name"] or "/dev/sda1")),
    "blockDeviceMapping": ("blockDeviceMapping", _block_devices),
    "groupSet": ("groupSet", lambda c, r: instances._group_set(r)),
    "productCodes": ("productCodes", lambda c, r: []),
    "sourceDestCheck": ("sourceDestCheck", _no_vpc),
    "ebsOptimized": ("ebsOptimized", lambda c, r: _value(False)),
    "enaSupport": ("enaSupport", lambda c, r: _value(False)),
    "sriovNetSupport": ("sriovNetSupport", lambda c, r: {}),
    "disableApiStop": ("disableApiStop", lambda c, r: _value(False)),
    "enclaveOptions": ("enclaveOptions", lambda c, r: {"enabled": False}),
}


def _instance(ctxt: context.RequestContext, instance_id: int) -> Any:
    return instances._instances_by_id(ctxt, [instance_id], with_deleted=False)[0]


@actions.register("DescribeInstanceAttribute", roles=ALL, params=[
    Param("InstanceId", Ec2Id("i"), required=True),
    Param("Attribute", String(choices=tuple(_DESCRIBE)), required=True),
])
def describe_instance_attribute(ctxt: context.RequestContext, instance_id: int, attribute: str) -> dict[str, Any]:
    row = _instance(ctxt, instance_id)
    element, value_of = _DESCRIBE[attribute]
    return {"instanceId": ec2utils.id_to_ec2_id(row["id"], "i"), element: value_of(ctxt, row)}


def _value_struct(kind: Any) -> Struct:
    return Struct(Param("Value", kind))


# ModifyInstanceAttribute's ``<Name>.Value`` parameters: parameter -> EC2 attribute name.
_MODIFY_PARAMS = {
    "InstanceType": "instanceType", "Kernel": "kernel", "Ramdisk": "ramdisk", "UserData": "userData",
    "DisableApiTermination": "disableApiTermination",
    "InstanceInitiatedShutdownBehavior": "instanceInitiatedShutdownBehavior",
    "SourceDestCheck": "sourceDestCheck", "EbsOptimized": "ebsOptimized", "EnaSupport": "enaSupport",
    "SriovNetSupport": "sriovNetSupport", "DisableApiStop": "disableApiStop",
}
_BOOLEAN_ATTRIBUTES = ("disableApiTermination", "sourceDestCheck", "ebsOptimized", "enaSupport", "disableApiStop")
_MAPPING = Struct(Param("DeviceName", String(max_length=255), required=True),
                  Param("Ebs", Struct(Param("DeleteOnTermination", Boolean()), Param("VolumeId", String()))),
                  Param("VirtualName", String()), Param("NoDevice", String()))


def _requested_change(kwargs: dict[str, Any]) -> tuple[str, Any]:
    """(EC2 attribute name, raw value) of the one change the request names."""
    changes: list[tuple[str, Any]] = []
    if kwargs["attribute"] is not None:
        changes.append((kwargs["attribute"], kwargs["value"]))
    elif kwargs["value"] is not None:
        raise EC2APIError("MissingParameter", "The request must contain the parameter Attribute with Value")
    for param, name in _MODIFY_PARAMS.items():
        struct = kwargs[Param(param).keyword]
        if struct:
            changes.append((name, struct.get("value")))
    if kwargs["group_id"]:
        changes.append(("groupSet", kwargs["group_id"]))
    if kwargs["block_device_mapping"]:
        changes.append(("blockDeviceMapping", kwargs["block_device_mapping"]))
    if kwargs["attribute"] is not None and kwargs["value"] is None and len(changes) > 1 \
            and any(name == kwargs["attribute"] for name, _ in changes[1:]):
        changes = changes[1:]  # Attribute=blockDeviceMapping (or groupSet) with its list: one change
    if not changes:
        raise EC2APIError("MissingParameter", "The request must name an attribute to modify and its new value")
    if len(changes) > 1:
        raise EC2APIError("InvalidParameterCombination", "Fields for multiple attribute types specified: "
                          + ", ".join(name for name, _ in changes))
    return changes[0]


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text not in ("true", "false"):
        raise EC2APIError("InvalidParameterValue", f"Value ({str(value)[:40]}) for {name} is invalid: "
                                                   "expected true or false")
    return text == "true"


def _image_id(value: Any, prefix: str) -> int | None:
    if value in (None, ""):
        return None
    return ec2utils.ec2_id_to_id(str(value).strip(), (prefix, "ami"))


def _set(ctxt: context.RequestContext, row: Any, name: str, value: Any) -> None:
    """Apply one change through compute.API, or refuse it with EC2's code."""
    compute = compute_api.API()
    if name in _BOOLEAN_ATTRIBUTES:
        value = _boolean(name, value)
    if name == "instanceType":
        if not value:
            raise EC2APIError("InvalidParameterValue", "The value of instanceType must not be empty")
        try:
            compute.set_attribute(ctxt, row["id"], "instance_type", str(value))
        except exception.InstanceTypeNotFound:
            raise EC2APIError("InvalidInstanceAttributeValue",
                              f"The instanceType '{str(value)[:64]}' does not exist") from None
    elif name in ("kernel", "ramdisk"):
        compute.set_attribute(ctxt, row["id"], f"{name}_id", _image_id(value, "aki" if name == "kernel" else "ari"))
    elif name == "userData":
        compute.set_attribute(ctxt, row["id"], "user_data", instances._user_data(value) if value else None)
    elif name == "disableApiTermination":
        compute.set_attribute(ctxt, row["id"], "disable_api_termination", value)
    elif name == "instanceInitiatedShutdownBehavior":
        if value not in compute_api.SHUTDOWN_BEHAVIORS:
            raise EC2APIError("InvalidParameterValue", f"Value ({str(value)[:40]}) for "
                              "instanceInitiatedShutdownBehavior is invalid: expected stop or terminate")
        compute.set_attribute(ctxt, row["id"], "shutdown_behavior", value)
    elif name == "blockDeviceMapping":
        _set_block_devices(ctxt, row, value)
    elif name in ("sourceDestCheck", "groupSet"):
        raise _vpc_only(name)
    elif name in ("ebsOptimized", "enaSupport", "disableApiStop", "sriovNetSupport"):
        if value not in (False, None, ""):
            raise exception.UnsupportedOperation(reason=f"{name} cannot be turned on here")
    else:
        raise EC2APIError("InvalidParameterValue", f"The attribute '{name}' cannot be modified")


def _set_block_devices(ctxt: context.RequestContext, row: Any, mappings: Any) -> None:
    """``BlockDeviceMapping.N``: DeleteOnTermination of the volumes attached at those devices (true when
    not given, as EC2 has it); instance-store devices (VirtualName, NoDevice) are launch-time only."""
    if not isinstance(mappings, list) or not mappings:
        raise EC2APIError("MissingParameter", "The request must contain the parameter BlockDeviceMapping")
    changes: dict[str, bool] = {}
    volume_ids: dict[str, int] = {}
    for mapping in mappings:
        device = mapping["device_name"]
        if mapping.get("virtual_name") is not None or mapping.get("no_device") is not None \
                or mapping.get("ebs") is None:
            raise EC2APIError("InvalidParameterCombination", f"Only Ebs.DeleteOnTermination of the volume at "
                                                             f"{device[:64]} can be modified on a running instance")
        ebs = mapping["ebs"]
        value = ebs.get("delete_on_termination")
        changes[device] = True if value is None else value
        if ebs.get("volume_id"):
            volume_ids[device] = ec2utils.ec2_id_to_id(ebs["volume_id"], ("vol",))
    volume_api.API().set_delete_on_termination(ctxt, row["id"], changes, volume_ids)


@actions.register("ModifyInstanceAttribute", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", Ec2Id("i"), required=True),
    Param("Attribute", String(choices=tuple(_DESCRIBE))),
    Param("Value", String(max_length=21848)),
    *[Param(p, _value_struct(Boolean() if n in _BOOLEAN_ATTRIBUTES else String(max_length=21848)))
      for p, n in _MODIFY_PARAMS.items()],
    Param("GroupId", ListOf(Ec2Id("sg"), max_items=50), default=[]),
    Param("BlockDeviceMapping", ListOf(_MAPPING), default=[]),
])
def modify_instance_attribute(ctxt: context.RequestContext, instance_id: int, **kwargs: Any) -> bool:
    name, value = _requested_change(kwargs)
    _set(ctxt, _instance(ctxt, instance_id), name, value)
    return True


@actions.register("GetPasswordData", roles=ALL, params=[
    Param("InstanceId", Ec2Id("i"), required=True),
])
def get_password_data(ctxt: context.RequestContext, instance_id: int) -> dict[str, Any]:
    """Linux instances have no generated Windows password: the data is empty, as EC2 answers for them."""
    row = _instance(ctxt, instance_id)
    return {"instanceId": ec2utils.id_to_ec2_id(row["id"], "i"), "timestamp": utils.utcnow(), "passwordData": ""}
