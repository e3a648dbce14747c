"""/servers/{server_id}/os-volume_attachments: a server's volumes, attach and detach.

An attachment's id is its volume's id.  Attaching answers at once with the
attachment the volume service recorded (status ``attaching``); the compute
host plugs the disk in afterwards, and the volume shows ``in-use``.
"""

from __future__ import annotations

import logging
from typing import Any

from nova.api.openstack import faults
from nova.api.openstack.volumes import attachment_view, body_id, url_id
from nova.api.openstack.wsgi import ApiRequest, Result, offset_page, string_field
from nova.compute import api as compute_api
from nova.volume import api as volume_api

LOG = logging.getLogger(__name__)
_FIELDS = {"volumeId", "device"}


class VolumeAttachmentsController:
    def __init__(self) -> None:
        self.compute = compute_api.API()
        self.volumes = volume_api.API()

    def _attached(self, req: ApiRequest, instance: Any) -> list[Any]:
        return self.volumes.get_by_instances(req.ctxt, [instance["id"]]).get(instance["id"], [])

    def _volume_on(self, req: ApiRequest, instance: Any, volume_id: str) -> Any:
        volume = self.volumes.get(req.ctxt, url_id(volume_id, "Volume"))
        if volume["instance_id"] != instance["id"]:
            raise faults.Fault(404, f"Volume {volume['id']} is not attached to server {instance['uuid']}.")
        return volume

    def index(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.compute.get_by_uuid(req.ctxt, server_id)
        volumes = sorted(self._attached(req, instance), key=lambda v: v["id"])
        return {"volumeAttachments": [attachment_view(v, instance["uuid"]) for v in offset_page(req, volumes)]}

    def show(self, req: ApiRequest, server_id: str, volume_id: str) -> dict[str, Any]:
        instance = self.compute.get_by_uuid(req.ctxt, server_id)
        return {"volumeAttachment": attachment_view(self._volume_on(req, instance, volume_id), instance["uuid"])}

    def create(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        values = req.body("volumeAttachment")
        unknown = set(values) - _FIELDS
        if unknown:
            raise faults.Fault(400, f"Additional properties are not allowed ({', '.join(sorted(unknown))[:80]}).")
        volume_id = body_id(values, "volumeId")
        device = string_field(values, "device", required=False, max_length=64)
        instance = self.compute.get_by_uuid(req.ctxt, server_id)
        volume = self.volumes.attach(req.ctxt, volume_id, instance["id"], device)
        LOG.info("Attaching volume %s to server %s as %s", volume["id"], instance["uuid"], volume["mountpoint"])
        return {"volumeAttachment": attachment_view(volume, instance["uuid"])}

    def delete(self, req: ApiRequest, server_id: str, volume_id: str) -> Result:
        instance = self.compute.get_by_uuid(req.ctxt, server_id)
        volume = self._volume_on(req, instance, volume_id)
        self.volumes.detach(req.ctxt, volume["id"], instance_id=instance["id"])
        LOG.info("Detaching volume %s from server %s", volume["id"], instance["uuid"])
        return Result(None, 202)
