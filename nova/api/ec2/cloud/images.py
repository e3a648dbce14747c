"""Images: DescribeImages, RegisterImage, DeregisterImage, Describe/ModifyImageAttribute.

RegisterImage takes a bundle manifest (``bucket/prefix/name.manifest.xml``)
or a plain image object in nova-objectstore; the image is ``pending`` until
the registrar has fetched, decrypted and stored it, then ``available`` (or
``failed``, with the reason in ``stateReason``).  An image is private to its
project until ModifyImageAttribute adds the launch permission group ``all``
(or a project, as a user id).
"""

from __future__ import annotations

import re
from typing import Any

from nova import context, exception, flags, gc_pause
from nova.api.ec2 import ec2utils, xmlutil
from nova.api.ec2.actions import ALL, PROJECT_ADMIN, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.cloud import volumes
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Boolean, Ec2Id, Filters, Integer, ListOf, Param, String, Struct
from nova.image import api as image_api
from nova.image.s3 import S3ImageRegistrar

FLAGS = flags.FLAGS
actions = ActionSet()
PREFIX = {"machine": "ami", "kernel": "aki", "ramdisk": "ari"}
IMAGE_ID = Ec2Id("ami", "aki", "ari")
class AmiName(String):
    """An image name as EC2 takes it: 3 to 128 letters, digits and ()[] ./-'@_; InvalidAMIName.Malformed."""

    _ALLOWED = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}")

    def __init__(self) -> None:
        super().__init__(max_length=128, min_length=3)

    def parse(self, node: Any, path: str) -> str:
        try:
            value = super().parse(node, path)
        except EC2APIError as exc:
            raise EC2APIError("InvalidAMIName.Malformed", exc.message) from None
        if not self._ALLOWED.fullmatch(value):
            raise EC2APIError("InvalidAMIName.Malformed", f"AMI names must be 3 to 128 characters among letters, "
                                                          f"digits and ()[] ./-'@_; {value[:140]!r} is not")
        return value


PERMISSION = Struct(Param("Group", String(choices=("all",))), Param("UserId", String(min_length=1)))


def _images() -> image_api.API:
    return image_api.API()


def ec2_image_id(image: dict[str, Any]) -> str:
    return ec2utils.id_to_ec2_id(image["id"], PREFIX.get(image["type"], "ami"))


def _render(image: dict[str, Any], permitted: bool) -> dict[str, Any]:
    reason = image["properties"].get("failure_reason")
    root_type, root_name, mappings = volumes.render_image_mappings(image)
    return {
        "imageId": ec2_image_id(image),
        "imageLocation": image["properties"].get("image_location", "local"),
        "imageState": image["state"],
        "imageOwnerId": image["owner"],
        "isPublic": image["is_public"],
        "architecture": image["architecture"] or "x86_64",
        "imageType": image["type"],
        "kernelId": ec2utils.id_to_ec2_id(image["kernel_id"], "aki") if image["kernel_id"] else None,
        "ramdiskId": ec2utils.id_to_ec2_id(image["ramdisk_id"], "ari") if image["ramdisk_id"] else None,
        "name": image["name"],
        "creationDate": image["created_at"],
        "rootDeviceType": root_type,
        "rootDeviceName": root_name,
        "blockDeviceMapping": mappings,
        "virtualizationType": "paravirtual" if image["kernel_id"] else "hvm",
        "stateReason": {"code": "Client.InvalidManifest", "message": reason} if reason else None,
    }


def _project(ctxt: context.RequestContext, who: str) -> str:
    return ctxt.project_id if who == "self" else who


@actions.register("DescribeImages", roles=ALL, params=[
    Param("ImageId", ListOf(IMAGE_ID), default=[]),
    Param("Owner", ListOf(String(min_length=1)), default=[]),
    Param("ExecutableBy", ListOf(String(min_length=1)), default=[]),
    Param("Filter", Filters("image-id", "name", "state", "image-type", "is-public", "owner-id", "architecture",
                            "kernel-id", "ramdisk-id", "manifest-location", "tag:"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_images(ctxt: context.RequestContext, image_id: list[int], owner: list[str],
                    executable_by: list[str], filters: dict[str, list[str]], max_results: int | None,
                    next_token: str | None) -> dict[str, Any]:
    """Images by id; a page's NextToken is the last id shown.  Without ids, owners, ExecutableBy
    or filters the page is cut in SQL; otherwise those are matched here on the images after the
    token."""
    images = tagging.listed(
        lambda: _images().get_all(ctxt, ids=image_id, owners=[_project(ctxt, o) for o in owner],
                                  executable_by=[_project(ctxt, who) for who in executable_by]),
        lambda after, limit: _images().get_all(ctxt, after_id=after, limit=limit),
        bool(image_id or owner or executable_by or filters), max_results, next_token)
    with gc_pause.collection_paused():
        all_tags = tagging.get_by_resources(ctxt, image_api.RESOURCE_TYPE, [i["id"] for i in images])
        if filters:
            images = [i for i in images if tagging.matches(filters, _FILTER_VALUES, i, all_tags.get(i["id"], {}))]
        shown, token = tagging.id_page(images, max_results)
        return {"imagesSet": xmlutil.items([dict(_render(i, True), tagSet=[{"key": k, "value": v or ""} for k, v in
                                                                          sorted(all_tags.get(i["id"], {}).items())])
                                            for i in shown]), "nextToken": token}


_FILTER_VALUES = {
    "image-id": lambda i: [ec2_image_id(i)],
    "name": lambda i: [i["name"] or ""],
    "state": lambda i: [i["state"]],
    "image-type": lambda i: [i["type"]],
    "is-public": lambda i: ["true" if i["is_public"] else "false"],
    "owner-id": lambda i: [i["owner"]],
    "architecture": lambda i: [i["architecture"] or "x86_64"],
    "kernel-id": lambda i: [ec2utils.id_to_ec2_id(i["kernel_id"], "aki")] if i["kernel_id"] else [],
    "ramdisk-id": lambda i: [ec2utils.id_to_ec2_id(i["ramdisk_id"], "ari")] if i["ramdisk_id"] else [],
    "manifest-location": lambda i: [i["properties"].get("image_location", "local")],
}


@actions.register("RegisterImage", roles=PROJECT_ADMIN, params=[
    Param("ImageLocation", String(min_length=1, max_length=1024)),
    Param("Name", AmiName()),
    Param("Architecture", String(choices=("i386", "x86_64", "arm64"))),
    Param("KernelId", String()),
    Param("RamdiskId", String()),
    Param("Description", String(max_length=255)),
    Param("RootDeviceName", String(min_length=1, max_length=64)),
    Param("BlockDeviceMapping", volumes.BLOCK_DEVICE_MAPPING, default=[]),
    Param("VirtualizationType", String(choices=("hvm", "paravirtual"))),
])
def register_image(ctxt: context.RequestContext, image_location: str | None, name: str | None,
                   architecture: str | None, kernel_id: str | None, ramdisk_id: str | None,
                   description: str | None, root_device_name: str | None,
                   block_device_mapping: list[dict[str, Any]], virtualization_type: str | None) -> dict[str, Any]:
    for value, prefix in ((kernel_id, "aki"), (ramdisk_id, "ari")):
        if value:
            _images().show(ctxt, ec2utils.ec2_id_to_id(value, (prefix,)))
    if not image_location:
        if not (root_device_name and block_device_mapping):
            raise EC2APIError("MissingParameter", "The request must contain the parameter ImageLocation, or "
                              "RootDeviceName and a BlockDeviceMapping of that device to a snapshot")
        image = _images().register_from_snapshots(
            ctxt, name, root_device_name, volumes.block_device_mappings(block_device_mapping),
            kernel_id=ec2utils.ec2_id_to_id(kernel_id, ("aki",)) if kernel_id else None,
            ramdisk_id=ec2utils.ec2_id_to_id(ramdisk_id, ("ari",)) if ramdisk_id else None,
            architecture=architecture, description=description)
        return {"imageId": ec2_image_id(image)}
    image = S3ImageRegistrar(_images().service).register(ctxt, image_location, name=name, kernel_id=kernel_id,
                                                         ramdisk_id=ramdisk_id, architecture=architecture)
    return {"imageId": ec2_image_id(image)}


@actions.register("CopyImage", roles=PROJECT_ADMIN, params=[
    Param("SourceImageId", IMAGE_ID, required=True),
    Param("SourceRegion", String(min_length=1, max_length=64), required=True),
    Param("Name", AmiName(), required=True),
    Param("Description", String(max_length=255)),
    Param("ClientToken", String(min_length=1, max_length=64)),
    Param("Encrypted", Boolean(), default=False),
    Param("CopyImageTags", Boolean(), default=False),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def copy_image(ctxt: context.RequestContext, source_image_id: int, source_region: str, name: str,
               description: str | None, client_token: str | None, encrypted: bool, copy_image_tags: bool,
               tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy, owned by the caller, of an image of this region it may see."""
    if source_region != FLAGS.region_name:
        raise EC2APIError("InvalidParameterValue", f"Images are copied within the region {FLAGS.region_name}; "
                                                   f"the source region {source_region[:64]} is not served here")
    if encrypted:
        raise EC2APIError("InvalidParameterValue", "Encrypted copies are not supported")
    new_tags = tagging.tags_for(tag_specifications, image_api.RESOURCE_TYPE)
    if copy_image_tags:
        source_tags = tagging.get_by_resources(ctxt, image_api.RESOURCE_TYPE, [source_image_id])
        new_tags = {**{k: v or "" for k, v in source_tags.get(source_image_id, {}).items()}, **new_tags}
    image = _images().copy(ctxt, source_image_id, name, description=description, client_token=client_token)
    if new_tags:
        tagging.apply(ctxt, image_api.RESOURCE_TYPE, image["id"], new_tags)
    return {"imageId": ec2_image_id(image)}


def _owned(ctxt: context.RequestContext, image_id: int) -> dict[str, Any]:
    """The image, if the caller may change it.

    EC2 answers a change to another project's image with AuthFailure and
    HTTP 403, not the 401 the error table gives AuthFailure (a bad signature).
    """
    try:
        return _images().get_owned(ctxt, image_id)
    except exception.ImageNotOwned:
        shown = ec2_image_id(_images().show(ctxt, image_id))
        raise EC2APIError("AuthFailure", f"Not authorized for image: {shown}", 403) from None


@actions.register("DeregisterImage", roles=PROJECT_ADMIN, params=[Param("ImageId", IMAGE_ID, required=True)])
def deregister_image(ctxt: context.RequestContext, image_id: int) -> bool:
    _owned(ctxt, image_id)
    _images().delete(ctxt, image_id)
    return True


_DESCRIBED_IMAGE_ATTRIBUTES = ("launchPermission", "kernel", "ramdisk", "description", "blockDeviceMapping",
                               "productCodes")


@actions.register("DescribeImageAttribute", roles=ALL, params=[
    Param("ImageId", IMAGE_ID, required=True),
    Param("Attribute", String(max_length=64, min_length=1), required=True),
])
def describe_image_attribute(ctxt: context.RequestContext, image_id: int, attribute: str) -> dict[str, Any]:
    if attribute not in _DESCRIBED_IMAGE_ATTRIBUTES:
        raise EC2APIError("InvalidRequest", f"The attribute '{attribute}' is not supported; use one of "
                                            f"{', '.join(_DESCRIBED_IMAGE_ATTRIBUTES)}")
    image = _owned(ctxt, image_id)
    result: dict[str, Any] = {"imageId": ec2_image_id(image)}
    if attribute == "launchPermission":
        result["launchPermission"] = [{"group": p} if p == image_api.EVERYONE else {"userId": p}
                                      for p in _images().get_launch_permissions(ctxt, image["id"])]
    elif attribute == "kernel":
        result["kernel"] = {"value": ec2utils.id_to_ec2_id(image["kernel_id"], "aki")} if image["kernel_id"] else {}
    elif attribute == "ramdisk":
        result["ramdisk"] = ({"value": ec2utils.id_to_ec2_id(image["ramdisk_id"], "ari")}
                             if image["ramdisk_id"] else {})
    elif attribute == "description":
        result["description"] = {"value": image["properties"].get("description")}
    elif attribute == "blockDeviceMapping":
        result["blockDeviceMapping"] = []
    else:
        result["productCodes"] = []
    return result


@actions.register("ModifyImageAttribute", roles=PROJECT_ADMIN, params=[
    Param("ImageId", IMAGE_ID, required=True),
    Param("Attribute", String(choices=("launchPermission", "description"))),
    Param("OperationType", String(choices=("add", "remove"))),
    Param("UserGroup", ListOf(String(choices=("all",))), default=[]),
    Param("UserId", ListOf(String(min_length=1)), default=[]),
    Param("LaunchPermission", Struct(Param("Add", ListOf(PERMISSION), default=[]),
                                     Param("Remove", ListOf(PERMISSION), default=[])), default={}),
    Param("Description", Struct(Param("Value", String(max_length=255)))),
])
def modify_image_attribute(ctxt: context.RequestContext, image_id: int, attribute: str | None,
                           operation_type: str | None, user_group: list[str], user_id: list[str],
                           launch_permission: dict[str, Any], description: dict[str, Any] | None) -> bool:
    _owned(ctxt, image_id)
    if description is not None or attribute == "description":
        _images().set_description(ctxt, image_id, (description or {}).get("value"))
        return True
    changes: list[tuple[str, dict[str, Any]]] = [("add", p) for p in launch_permission.get("add", [])]
    changes += [("remove", p) for p in launch_permission.get("remove", [])]
    if user_group or user_id:
        if operation_type is None:
            raise EC2APIError("MissingParameter", "The request must contain the parameter OperationType")
        changes += [(operation_type, {"group": g}) for g in user_group]
        changes += [(operation_type, {"user_id": u}) for u in user_id]
    if not changes:
        raise EC2APIError("MissingParameter", "The request must contain a launch permission to add or remove")
    for _operation, permission in changes:
        if permission.get("group") != "all" and not permission.get("user_id"):
            raise EC2APIError("InvalidParameterCombination", "A launch permission names a Group or a UserId")
    for operation, permission in changes:
        who = image_api.EVERYONE if permission.get("group") == "all" else permission["user_id"]
        if operation == "add":
            _images().add_launch_permission(ctxt, image_id, who)
        else:
            _images().remove_launch_permission(ctxt, image_id, who)
    return True
