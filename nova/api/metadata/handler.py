"""Answers ``GET /<version>/meta-data/...`` and ``/<version>/user-data`` for the
instance whose fixed IP is the request's source address.

The data is a tree: a directory lists its entries one per line (a
sub-directory with a trailing ``/``; ``public-keys`` lists ``0=<key name>``);
a leaf is its text.  Other source addresses and unknown paths get 404.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

import webob
import webob.dec

from nova import context, flags
from nova.api.ec2 import ec2utils
from nova.compute import api as compute_api
from nova.network import api as network_api

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
            "2008-02-01", "2008-09-01", "2009-04-04", "latest")
Tree = dict[str, Any]


def _instance_for(address: str) -> Any:
    """The live instance holding the fixed address, or None."""
    rows = compute_api.API().get_all(context.get_admin_context(), {"fixed_ip": address})
    return rows[0] if rows else None


def _addresses(instance: Any) -> tuple[str, str]:
    """(fixed IP, floating IP) of the instance; empty strings when it has none."""
    found = network_api.API().get_instance_addresses(context.get_admin_context(), [instance["id"]])
    addresses = found[instance["id"]]
    return addresses.private_ip or "", addresses.public_ip or ""


def _image_ec2_id(value: Any, prefix: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return ec2utils.id_to_ec2_id(int(value), prefix)
    except (TypeError, ValueError):
        return str(value)


def build_tree(instance: Any, source_address: str) -> Tree:
    """The metadata of ``instance`` as nested dicts (leaves are strings)."""
    fixed, floating = _addresses(instance)
    fixed = fixed or source_address
    hostname = instance["hostname"] or instance["name"]
    groups = [g["name"] for g in instance.security_groups]
    flavor = instance.instance_type["name"] if instance.instance_type else ""
    meta: Tree = {
        "ami-id": _image_ec2_id(instance["image_id"], "ami") or "",
        "ami-launch-index": str(instance["launch_index"] or 0),
        "ami-manifest-path": "FIXME",
        "block-device-mapping": {"ami": "sda1", "ephemeral0": "sda2", "root": "/dev/sda1", "swap": "sda3"},
        "hostname": hostname,
        "instance-action": "none",
        "instance-id": ec2utils.id_to_ec2_id(instance["id"], "i"),
        "instance-type": flavor,
        "local-hostname": hostname,
        "local-ipv4": fixed,
        "placement": {"availability-zone": instance["availability_zone"] or FLAGS.node_availability_zone},
        "public-hostname": hostname,
        "public-ipv4": floating,
        "reservation-id": instance["reservation_id"] or "",
        "security-groups": "\n".join(groups),
    }
    kernel = _image_ec2_id(instance["kernel_id"], "aki")
    ramdisk = _image_ec2_id(instance["ramdisk_id"], "ari")
    if kernel:
        meta["kernel-id"] = kernel
    if ramdisk:
        meta["ramdisk-id"] = ramdisk
    if instance["key_name"]:
        meta["public-keys"] = {"0": {"_name": instance["key_name"], "openssh-key": instance["key_data"] or ""}}
    tree: Tree = {"meta-data": meta}
    if instance["user_data"]:
        try:
            tree["user-data"] = base64.b64decode(instance["user_data"])
        except (binascii.Error, ValueError):
            tree["user-data"] = instance["user_data"].encode()
    return tree


def _listing(node: Tree) -> str:
    lines = []
    for key in sorted(node):
        if key.startswith("_"):
            continue
        child = node[key]
        if isinstance(child, dict) and "_name" in child:
            lines.append(f"{key}={child['_name']}")
        elif isinstance(child, dict):
            lines.append(f"{key}/")
        else:
            lines.append(key)
    return "\n".join(lines)


def lookup(tree: Tree, parts: list[str]) -> Any:
    node: Any = tree
    for part in parts:
        if not isinstance(node, dict) or part.startswith("_") or part not in node:
            return None
        node = node[part]
    return node


class MetadataRequestHandler:
    """The metadata WSGI app (mounted at ``/<version>`` on the EC2 port, or at ``/``)."""

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> "MetadataRequestHandler":
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.method not in ("GET", "HEAD"):
            return webob.Response(status=405, text="Method Not Allowed\n", content_type="text/plain")
        try:
            path = (req.script_name + req.path_info).strip("/")
        except UnicodeDecodeError:  # a path that is not UTF-8 names nothing here (found by tools/fuzz)
            return self._not_found()
        if not path:
            return self._text("\n".join(VERSIONS))
        version, _, rest = path.partition("/")
        if version not in VERSIONS:
            return self._not_found()
        address = req.remote_addr
        if FLAGS.use_forwarded_for and req.headers.get("X-Forwarded-For"):
            address = req.headers["X-Forwarded-For"].split(",")[0].strip()
        instance = _instance_for(address) if address else None
        if instance is None:
            LOG.info("Metadata request from %s, which is no instance's address", address)
            return self._not_found()
        tree = build_tree(instance, address)
        parts = [p for p in rest.split("/") if p]
        node = lookup(tree, parts)
        if node is None:
            return self._not_found()
        if isinstance(node, dict):
            return self._text(_listing(node))
        if isinstance(node, bytes):
            return webob.Response(body=node, content_type="application/octet-stream")
        return self._text(node)

    @staticmethod
    def _text(text: str) -> webob.Response:
        return webob.Response(text=text, content_type="text/plain", charset="UTF-8")

    @staticmethod
    def _not_found() -> webob.Response:
        return webob.Response(status=404, text="Not Found\n", content_type="text/plain", charset="UTF-8")

