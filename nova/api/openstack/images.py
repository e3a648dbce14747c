"""/images: the image service's images as the compute API v2.1 proxies them."""

from __future__ import annotations

import datetime
import json
from typing import Any

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack.servers import image_number
from nova.api.openstack.wsgi import ApiRequest, Result, page
from nova.image import api as image_api

_STATUS = {"available": "ACTIVE", "pending": "SAVING", "saving": "SAVING", "uploading": "SAVING",
           "queued": "QUEUED", "failed": "ERROR", "error": "ERROR", "deleted": "DELETED"}


def _time(value: Any) -> str | None:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _text(value: Any) -> str:
    """A metadata value: strings as they are, others (an EBS image's block_device_mapping) as JSON."""
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (list, dict)) else str(value)


def _summary(req: ApiRequest, image: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(image["id"]), "name": image.get("name"), "links": req.links("images", image["id"])}


def _detail(req: ApiRequest, image: dict[str, Any]) -> dict[str, Any]:
    body = _summary(req, image)
    properties = image.get("properties") or {}
    body.update({
        "status": _STATUS.get(image.get("state") or "", "UNKNOWN"),
        "progress": 100 if image.get("state") == "available" else 0,
        "minRam": 0, "minDisk": 0,
        "created": _time(image.get("created_at")), "updated": _time(image.get("updated_at") or image.get("created_at")),
        "metadata": {str(k): _text(v) for k, v in properties.items() if v is not None},
        "OS-EXT-IMG-SIZE:size": image.get("size") or 0,
    })
    if isinstance(properties, dict) and properties.get("instance_id") is not None:
        body["server"] = {"id": str(properties["instance_id"])}
    return body


class ImagesController:
    def __init__(self) -> None:
        self.images = image_api.API()

    def _all(self, req: ApiRequest) -> list[dict[str, Any]]:
        images = sorted(self.images.get_all(req.ctxt), key=lambda i: i["id"])
        name, status = req.param("name"), req.param("status")
        if name:
            images = [i for i in images if i.get("name") == name]
        if status:
            images = [i for i in images if _STATUS.get(i.get("state") or "") == status.upper()]
        return page(req, images, lambda i: str(i["id"]))

    def _get(self, req: ApiRequest, image_id: str) -> dict[str, Any]:
        try:
            number = image_number(image_id, "image id")
        except faults.Fault:
            raise exception.ImageNotFound(image_id=image_id[:64]) from None
        return self.images.show(req.ctxt, number)

    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"images": [_summary(req, i) for i in self._all(req)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        return {"images": [_detail(req, i) for i in self._all(req)]}

    def show(self, req: ApiRequest, image_id: str) -> dict[str, Any]:
        return {"image": _detail(req, self._get(req, image_id))}

    def delete(self, req: ApiRequest, image_id: str) -> Result:
        image = self._get(req, image_id)
        try:
            self.images.delete(req.ctxt, image["id"])
        except exception.ImageNotOwned:
            raise faults.Fault(403, f"Image {image['id']} belongs to another project.") from None
        return Result(None, 204)
