"""Instances: RunInstances, DescribeInstances, Terminate/Reboot/Stop/StartInstances,
GetConsoleOutput and CreateImage, through compute.API (instance attributes: ``instance_attributes``).

States are EC2's (``ec2utils.instance_state``).  The default listing shows
live instances; asking for an instance id also finds one terminated a short
while ago, shown as ``terminated``.  A cloudadmin's DescribeInstances lists
every project's instances (the first Nova's admin view).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any, Callable, Iterator

from nova import context, exception, flags, gc_pause, utils
from nova.api.ec2 import ec2utils, xmlutil
from nova.api.ec2.actions import ALL, PROJECT_ADMIN, ActionSet
from nova.api.ec2.cloud import images
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.cloud import volumes
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Boolean, Ec2Id, Filters, Integer, ListOf, Param, String, Struct
from nova.compute import api as compute_api
from nova.securitygroup import api as security_group_api
from nova.volume import api as volume_api

FLAGS = flags.FLAGS
actions = ActionSet()
MAX_LAUNCH = 1000
INSTANCE_IDS = ListOf(Ec2Id("i"), max_items=1000)


def _compute() -> compute_api.API:
    return compute_api.API()


def _db_image_id(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _image(value: Any, prefix: str) -> str | None:
    db_id = _db_image_id(value)
    return ec2utils.id_to_ec2_id(db_id, prefix) if db_id is not None else None


@dataclasses.dataclass
class _View:
    """An instance row with what the rendering and the filters need."""

    row: Any
    private_ip: str | None
    public_ip: str | None
    tags: dict[str, Any]
    volumes: list[Any] = dataclasses.field(default_factory=list)

    @property
    def ec2_id(self) -> str:
        return ec2utils.id_to_ec2_id(self.row["id"], "i")


def _views(rows: list[Any]) -> list[_View]:
    """Views of listed instances (``compute.API.get_listing`` rows: addresses, tags and volumes loaded)."""
    views = []
    for row in rows:
        fixed, floating = row.fixed_addresses, row.floating_addresses
        views.append(_View(row, fixed[0] if fixed else None, floating[0] if floating else None, row.tags,
                           row.volumes))
    return views


def _group_set(row: Any) -> list[dict[str, str]]:
    return [{"groupId": ec2utils.id_to_ec2_id(g["id"], "sg"), "groupName": g["name"]} for g in row.security_groups]


def _render_instance(view: _View, ctxt: context.RequestContext) -> dict[str, Any]:
    row = view.row
    code, name = ec2utils.instance_state(row)
    key_name = row["key_name"]
    if ctxt.is_admin and key_name:
        key_name = f"{key_name} ({row['project_id']}, {row['host']})"
    flavor = row.instance_type["name"] if row.instance_type else None
    return {
        "instanceId": view.ec2_id,
        "imageId": _image(row["image_id"], "ami"),
        "instanceState": {"code": code, "name": name},
        "privateDnsName": row["hostname"] or "",
        "dnsName": view.public_ip or view.private_ip or "",
        "reason": row.get("fault") or "",
        "keyName": key_name,
        "amiLaunchIndex": row["launch_index"] or 0,
        "productCodes": [],
        "instanceType": flavor,
        "launchTime": row["launched_at"] or row["created_at"],
        "placement": {"availabilityZone": row["availability_zone"] or FLAGS.node_availability_zone,
                      "tenancy": "default"},
        "kernelId": _image(row["kernel_id"], "aki"),
        "ramdiskId": _image(row["ramdisk_id"], "ari"),
        "monitoring": {"state": "disabled"},
        "privateIpAddress": view.private_ip,
        "ipAddress": view.public_ip,
        "groupSet": _group_set(row),
        "architecture": "x86_64",
        "rootDeviceType": "ebs" if row["root_device_name"] else "instance-store",
        "rootDeviceName": row["root_device_name"] or "/dev/sda1",
        "blockDeviceMapping": volumes.render_instance_mappings(view.volumes),
        "virtualizationType": "hvm",
        "tagSet": [{"key": k, "value": v or ""} for k, v in sorted(view.tags.items())],
    }


def _render_reservations(views: list[_View], ctxt: context.RequestContext) -> list[dict[str, Any]]:
    reservations: dict[str, dict[str, Any]] = {}
    for view in views:
        row = view.row
        reservation = reservations.setdefault(row["reservation_id"] or "", {
            "reservationId": row["reservation_id"], "ownerId": row["project_id"],
            "groupSet": _group_set(row), "instancesSet": []})
        reservation["instancesSet"].append(_render_instance(view, ctxt))
    return list(reservations.values())


def _element(tag: str, text: str) -> str:
    return f"<{tag}>{text}</{tag}>" if text else f"<{tag} />"


def _group_set_xml(row: Any, known: dict[tuple[Any, ...], str] | None = None) -> str:
    """``<groupSet>`` of an instance; ``known`` keeps those already written (most instances of a
    listing share their groups)."""
    groups = row.security_groups
    if not groups:
        return "<groupSet />"
    if known is None:
        return _write_group_set(groups)
    key = tuple((g["id"], g["name"]) for g in groups)
    text = known.get(key)
    if text is None:
        text = known[key] = _write_group_set(groups)
    return text


def _write_group_set(groups: list[dict[str, Any]]) -> str:
    return "<groupSet>" + "".join(
        f"<item><groupId>{ec2utils.id_to_ec2_id(g['id'], 'sg')}</groupId>"
        f"{_element('groupName', _xml(g['name']))}</item>"
        for g in groups) + "</groupSet>"


def _xml(value: Any) -> str:
    return xmlutil.escape(value) if value else ""


def _instance_xml(view: _View, admin: bool, default_zone: str, group_sets: dict[tuple[Any, ...], str]) -> str:
    """``<item>`` of one instance in DescribeInstances: what ``xmlutil.render`` makes of
    ``_render_instance``'s dict (a test holds them equal), written as one string.  Ids, states,
    numbers, times and addresses are nova's own text; names, tags and the fault are escaped."""
    row = view.row
    code, name = ec2utils.instance_state(row)
    key_name = row["key_name"]
    if admin and key_name:
        key_name = f"{key_name} ({row['project_id']}, {row['host']})"
    flavor = row.instance_type
    image, kernel, ramdisk = (_image(row["image_id"], "ami"), _image(row["kernel_id"], "aki"),
                              _image(row["ramdisk_id"], "ari"))
    private, public = view.private_ip, view.public_ip
    launched = row["launched_at"] or row["created_at"]
    root = row["root_device_name"]
    out = [f"<item><instanceId>{ec2utils.id_to_ec2_id(row['id'], 'i')}</instanceId>"]
    if image is not None:
        out.append(f"<imageId>{image}</imageId>")
    out.append(f"<instanceState><code>{code}</code><name>{name}</name></instanceState>"
               f"{_element('privateDnsName', _xml(row['hostname']))}{_element('dnsName', public or private or '')}"
               f"{_element('reason', _xml(row.get('fault')))}")
    if key_name is not None:
        out.append(_element("keyName", _xml(key_name)))
    out.append(f"<amiLaunchIndex>{row['launch_index'] or 0}</amiLaunchIndex><productCodes />")
    if flavor is not None:
        out.append(_element("instanceType", _xml(flavor["name"])))
    if launched is not None:
        out.append(f"<launchTime>{ec2utils.isotime(launched)}</launchTime>")
    out.append(f"<placement>{_element('availabilityZone', _xml(row['availability_zone'] or default_zone))}"
               "<tenancy>default</tenancy></placement>")
    if kernel is not None:
        out.append(f"<kernelId>{kernel}</kernelId>")
    if ramdisk is not None:
        out.append(f"<ramdiskId>{ramdisk}</ramdiskId>")
    out.append("<monitoring><state>disabled</state></monitoring>")
    if private is not None:
        out.append(_element("privateIpAddress", private))
    if public is not None:
        out.append(_element("ipAddress", public))
    out.append(_group_set_xml(row, group_sets))
    out.append(f"<architecture>x86_64</architecture><rootDeviceType>{'ebs' if root else 'instance-store'}"
               f"</rootDeviceType>{_element('rootDeviceName', _xml(root or '/dev/sda1'))}")
    if view.volumes:
        xmlutil.write(out, "blockDeviceMapping", volumes.render_instance_mappings(view.volumes))
    else:
        out.append("<blockDeviceMapping />")
    out.append("<virtualizationType>hvm</virtualizationType>")
    if view.tags:
        out.append("<tagSet>")
        for key, value in sorted(view.tags.items()):
            out.append(f"<item>{_element('key', _xml(key))}{_element('value', _xml(value))}</item>")
        out.append("</tagSet>")
    else:
        out.append("<tagSet />")
    out.append("</item>")
    return "".join(out)


def _reservations_xml(views: list[_View], ctxt: context.RequestContext) -> Iterator[str]:
    """``<item>`` of each reservation, as ``_render_reservations`` has them, written lazily."""
    grouped: dict[str, list[_View]] = {}
    for view in views:
        grouped.setdefault(view.row["reservation_id"] or "", []).append(view)
    admin, zone, group_sets = ctxt.is_admin, FLAGS.node_availability_zone, {}
    for members in grouped.values():
        row = members[0].row
        head = ["<item>"]
        if row["reservation_id"] is not None:
            head.append(_element("reservationId", _xml(row["reservation_id"])))
        if row["project_id"] is not None:
            head.append(_element("ownerId", _xml(row["project_id"])))
        head.append(_group_set_xml(row, group_sets))
        head.append("<instancesSet>")
        yield "".join(head)
        for view in members:
            yield _instance_xml(view, admin, zone, group_sets)
        yield "</instancesSet></item>"


_FILTER_VALUES: dict[str, Callable[[_View], list[Any]]] = {
    "instance-id": lambda v: [v.ec2_id],
    "instance-state-name": lambda v: [ec2utils.instance_state(v.row)[1]],
    "instance-state-code": lambda v: [ec2utils.instance_state(v.row)[0]],
    "key-name": lambda v: [v.row["key_name"]],
    "availability-zone": lambda v: [v.row["availability_zone"] or FLAGS.node_availability_zone],
    "private-ip-address": lambda v: [v.private_ip],
    "ip-address": lambda v: [v.public_ip],
    "reservation-id": lambda v: [v.row["reservation_id"]],
    "instance-type": lambda v: [v.row.instance_type["name"] if v.row.instance_type else None],
    "image-id": lambda v: [_image(v.row["image_id"], "ami")],
    "owner-id": lambda v: [v.row["project_id"]],
    "group-name": lambda v: [g["name"] for g in v.row.security_groups],
    "group-id": lambda v: [ec2utils.id_to_ec2_id(g["id"], "sg") for g in v.row.security_groups],
    "dns-name": lambda v: [v.public_ip or v.private_ip],
    "private-dns-name": lambda v: [v.row["hostname"]],
}


def _instances_by_id(ctxt: context.RequestContext, instance_ids: list[int], with_deleted: bool,
                     related: bool = True) -> list[Any]:
    """The rows of ``instance_ids`` (without ``related``, with their flavors but not their metadata or
    groups: one statement); InvalidInstanceID.NotFound names the first missing one."""
    lookup_ctxt = dataclasses.replace(ctxt, read_deleted=True) if with_deleted else ctxt
    rows = _compute().get_all(lookup_ctxt, {"instance_ids": instance_ids}, related) if instance_ids else []
    found = {row["id"]: row for row in rows}
    for db_id in instance_ids:
        if db_id not in found:
            raise EC2APIError("InvalidInstanceID.NotFound",
                              f"The instance ID '{ec2utils.id_to_ec2_id(db_id, 'i')}' does not exist")
    return [found[db_id] for db_id in dict.fromkeys(instance_ids)]


@actions.register("DescribeInstances", roles=ALL, params=[
    Param("InstanceId", INSTANCE_IDS, default=[]),
    Param("Filter", Filters(*_FILTER_VALUES, "tag:"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_instances(ctxt: context.RequestContext, instance_id: list[int], filters: dict[str, list[str]],
                       max_results: int | None, next_token: str | None) -> dict[str, Any]:
    """Instances by id; a page ends where ``MaxResults`` is reached and its NextToken is the last
    id shown.  Without ids or filters the page is cut in SQL (one more row than asked tells whether
    another page follows); filters are matched here, on the rows after the token."""
    after_id = tagging.after_id(next_token)
    if instance_id:
        lookup_ctxt = dataclasses.replace(ctxt, read_deleted=True)
        rows = _compute().get_listing(lookup_ctxt, {"instance_ids": instance_id})
        found = {row["id"] for row in rows}
        for db_id in instance_id:
            if db_id not in found:
                raise EC2APIError("InvalidInstanceID.NotFound",
                                  f"The instance ID '{ec2utils.id_to_ec2_id(db_id, 'i')}' does not exist")
        if max_results or after_id is not None:
            rows = [row for row in rows if after_id is None or row["id"] > after_id]
        else:
            by_id = {row["id"]: row for row in rows}
            rows = [by_id[db_id] for db_id in dict.fromkeys(instance_id)]
    else:
        limit = max_results + 1 if max_results and not filters else None
        rows = _compute().get_listing(ctxt, {}, after_id, limit)
    with gc_pause.collection_paused():
        views = [v for v in _views(rows) if tagging.matches(filters, _FILTER_VALUES, v, v.tags)]
        token = None
        if max_results and len(views) > max_results:
            views = views[:max_results]
            token = str(views[-1].row["id"])
    return {"reservationSet": xmlutil.Fragments(_reservations_xml(views, ctxt)), "nextToken": token}


def _user_data(value: str | None) -> str | None:
    if value is None:
        return None
    compact = "".join(value.split())
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise EC2APIError("InvalidParameterValue", "Invalid BASE64 encoding of user data") from None
    return compact


@actions.register("RunInstances", roles=PROJECT_ADMIN, params=[
    Param("ImageId", Ec2Id("ami"), required=True),
    Param("MinCount", Integer(1, MAX_LAUNCH), required=True),
    Param("MaxCount", Integer(1, MAX_LAUNCH), required=True),
    Param("InstanceType", String(max_length=64, min_length=1)),
    Param("KeyName", String(max_length=255, min_length=1)),
    Param("SecurityGroup", ListOf(String(max_length=255, min_length=1), max_items=50), default=[]),
    Param("SecurityGroupId", ListOf(Ec2Id("sg"), max_items=50), default=[]),
    Param("UserData", String(max_length=21848)),
    Param("Placement", Struct(Param("AvailabilityZone", String(max_length=255)), Param("GroupName", String()),
                              Param("Tenancy", String(choices=("default",)))), default={}),
    Param("KernelId", Ec2Id("aki", "ami")),
    Param("RamdiskId", Ec2Id("ari", "ami")),
    Param("ClientToken", String(max_length=64, min_length=1)),
    Param("Monitoring", Struct(Param("Enabled", Boolean(), required=True)), default={}),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
    Param("BlockDeviceMapping", volumes.BLOCK_DEVICE_MAPPING, default=[]),
    Param("DisableApiTermination", Boolean(), default=False),
    Param("InstanceInitiatedShutdownBehavior", String(choices=compute_api.SHUTDOWN_BEHAVIORS), default="stop"),
])
def run_instances(ctxt: context.RequestContext, image_id: int, min_count: int, max_count: int,
                  instance_type: str | None, key_name: str | None, security_group: list[str],
                  security_group_id: list[int], user_data: str | None, placement: dict[str, Any],
                  kernel_id: int | None, ramdisk_id: int | None, client_token: str | None,
                  monitoring: dict[str, Any], tag_specifications: list[dict[str, Any]],
                  block_device_mapping: list[dict[str, Any]], disable_api_termination: bool,
                  instance_initiated_shutdown_behavior: str) -> dict[str, Any]:
    if min_count > max_count:
        raise EC2APIError("InvalidParameterValue", f"MinCount ({min_count}) is greater than MaxCount ({max_count})")
    if monitoring.get("enabled"):
        raise exception.UnsupportedOperation(reason="detailed monitoring is not available")
    new_tags = tagging.tags_by_type(tag_specifications, ("instance", "volume"))
    groups = list(security_group)
    for group_db_id in security_group_id:
        groups.append(security_group_api.API().get(ctxt, group_db_id)["name"])
    try:
        reservation_id, rows = _compute().create(
            ctxt, instance_type or FLAGS.default_instance_type, image_id,
            min_count=min_count, max_count=max_count, key_name=key_name, security_groups=groups or None,
            user_data=_user_data(user_data), availability_zone=placement.get("availability_zone") or None,
            kernel_id=kernel_id, ramdisk_id=ramdisk_id, display_name=None, client_token=client_token,
            block_device_mapping=volumes.block_device_mappings(block_device_mapping) or None,
            disable_api_termination=disable_api_termination, shutdown_behavior=instance_initiated_shutdown_behavior)
    except exception.InstanceTypeNotFound:
        raise EC2APIError("InvalidParameterValue",
                          f"Invalid value '{instance_type}' for InstanceType.") from None
    except exception.QuotaError as exc:
        if type(exc) is not exception.QuotaError:
            raise
        raise EC2APIError("InstanceLimitExceeded", f"Your quota allows no more instances: {exc}") from None
    for row in rows:
        tagging.apply(ctxt, "instance", row["id"], new_tags["instance"])
    if new_tags["volume"]:
        for attached in volume_api.API().get_by_instances(ctxt, [r["id"] for r in rows]).values():
            for volume in attached:
                tagging.apply(ctxt, "volume", volume["id"], new_tags["volume"])
    if rows.replayed or block_device_mapping:
        # A replayed reservation may be running by now, and volumes were made: shown as they are.
        views = _views(_compute().get_listing(ctxt, {"instance_ids": [row["id"] for row in rows]}))
    else:
        # New rows, as written: no address or volume yet, the tags just applied.
        views = [_View(row, None, None, dict(new_tags["instance"])) for row in rows]
    return {"reservationId": reservation_id, "ownerId": ctxt.project_id,
            "groupSet": _group_set(rows[0]) if rows else [],
            "instancesSet": [_render_instance(v, ctxt) for v in views]}


def _state_changes(ctxt: context.RequestContext, instance_ids: list[int],
                   act: Callable[[context.RequestContext, Any], Any]) -> list[dict[str, Any]]:
    """Apply ``act(ctxt, row)`` to each instance; it returns the row as it left it, or None when the
    instance is gone."""
    rows = _instances_by_id(ctxt, instance_ids, with_deleted=False, related=False)
    return [_state_change(row, act(ctxt, row)) for row in rows]


def _state_change(before: Any, after: Any) -> dict[str, Any]:
    """An instancesSet item: the instance's state as ``before`` shows it and as ``after`` does (None:
    gone, terminated)."""
    previous = ec2utils.instance_state(before)
    now = ((ec2utils.STATE_CODES[ec2utils.TERMINATED], ec2utils.TERMINATED) if after is None
           else ec2utils.instance_state(after))
    return {"instanceId": ec2utils.id_to_ec2_id(before["id"], "i"),
            "previousState": {"code": previous[0], "name": previous[1]},
            "currentState": {"code": now[0], "name": now[1]}}


@actions.register("TerminateInstances", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", INSTANCE_IDS, required=True),
])
def terminate_instances(ctxt: context.RequestContext, instance_id: list[int]) -> dict[str, Any]:
    try:
        changes = _compute().terminate(ctxt, instance_id)
    except exception.InstanceNotFound as exc:
        if exc.kwargs.get("instance_id") not in instance_id:
            raise
        raise EC2APIError("InvalidInstanceID.NotFound",
                          f"The instance ID '{ec2utils.id_to_ec2_id(exc.kwargs['instance_id'], 'i')}' does not exist"
                          ) from None
    by_id = {before["id"]: _state_change(before, after) for before, after in changes}
    return {"instancesSet": [by_id[db_id] for db_id in dict.fromkeys(instance_id)]}


def _acting(method: Callable[[context.RequestContext, int], None]) -> Callable[[context.RequestContext, Any], Any]:
    """``method(ctxt, id)`` of compute.API, then the instance read again (its task has changed)."""
    def act(c: context.RequestContext, row: Any) -> Any:
        method(c, row["id"])
        try:
            return _compute().get(c, row["id"], related=False)
        except exception.InstanceNotFound:
            return None
    return act


@actions.register("StopInstances", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", INSTANCE_IDS, required=True),
    Param("Force", Boolean(), default=False),
    Param("Hibernate", Boolean(), default=False),
])
def stop_instances(ctxt: context.RequestContext, instance_id: list[int], force: bool,
                   hibernate: bool) -> dict[str, Any]:
    if hibernate:
        raise exception.UnsupportedOperation(reason="hibernation is not available")
    return {"instancesSet": _state_changes(ctxt, instance_id, _acting(_compute().stop))}


@actions.register("StartInstances", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", INSTANCE_IDS, required=True),
])
def start_instances(ctxt: context.RequestContext, instance_id: list[int]) -> dict[str, Any]:
    return {"instancesSet": _state_changes(ctxt, instance_id, _acting(_compute().start))}


@actions.register("RebootInstances", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", INSTANCE_IDS, required=True),
])
def reboot_instances(ctxt: context.RequestContext, instance_id: list[int]) -> bool:
    compute = _compute()
    for row in _instances_by_id(ctxt, instance_id, with_deleted=False, related=False):
        compute.reboot(ctxt, row["id"])
    return True


@actions.register("GetConsoleOutput", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", Ec2Id("i"), required=True),
    Param("Latest", Boolean(), default=False),
])
def get_console_output(ctxt: context.RequestContext, instance_id: int, latest: bool) -> dict[str, Any]:
    output = _compute().get_console_output(ctxt, instance_id) or ""
    return {"instanceId": ec2utils.id_to_ec2_id(instance_id, "i"), "timestamp": utils.utcnow(),
            "output": base64.b64encode(output.encode("utf-8", errors="replace")).decode()}


@actions.register("CreateImage", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", Ec2Id("i"), required=True),
    Param("Name", images.AmiName(), required=True),
    Param("Description", String(max_length=255)),
    Param("NoReboot", Boolean(), default=False),
    Param("BlockDeviceMapping", volumes.BLOCK_DEVICE_MAPPING, default=[]),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def create_image(ctxt: context.RequestContext, instance_id: int, name: str, description: str | None,
                 no_reboot: bool, block_device_mapping: list[dict[str, Any]],
                 tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    """An image of the instance: an EBS image of its volumes' snapshots when it boots from a volume.

    The instance is not rebooted first (as with NoReboot): sync the guest's file systems before.
    """
    if block_device_mapping:
        raise exception.UnsupportedOperation(reason="CreateImage takes no BlockDeviceMapping here")
    new_tags = tagging.tags_for(tag_specifications, "image")
    image = _compute().create_image(ctxt, instance_id, name, description=description)
    if new_tags:
        tagging.apply(ctxt, "image", image["id"], new_tags)
    return {"imageId": ec2utils.image_ec2_id(image)}
