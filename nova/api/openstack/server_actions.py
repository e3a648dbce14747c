"""POST /servers/{id}/action: one action per body, named by its only key."""

from __future__ import annotations

import logging
from typing import Any, Callable

from nova.api.openstack import faults
from nova.api.openstack.servers import ServersController
from nova.api.openstack.wsgi import ApiRequest, Result, int_field, string_field
from nova.network import api as network_api

LOG = logging.getLogger(__name__)


class ServerActionsController(ServersController):
    def action(self, req: ApiRequest, server_id: str) -> Result:
        body = req.body()
        if not isinstance(body, dict) or len(body) != 1:
            raise faults.Fault(400, "The action body must be an object with exactly one action.")
        (name, args), = body.items()
        handler: Callable[..., Result] | None = self._handlers().get(name)
        if handler is None:
            raise faults.Fault(400, f"There is no such action: {name[:64]}")
        instance = self.lookup(req, server_id)
        LOG.info("Action %s on server %s", name, instance["uuid"])
        return handler(req, instance, args)

    def _handlers(self) -> dict[str, Callable[..., Result]]:
        simple = {"os-start": self.compute.start, "os-stop": self.compute.stop, "pause": self.compute.pause,
                  "unpause": self.compute.unpause, "suspend": self.compute.suspend,
                  "resume": self.compute.resume}
        handlers: dict[str, Callable[..., Result]] = {
            name: (lambda req, instance, args, call=call: self._simple(req, instance, call))
            for name, call in simple.items()}
        handlers.update({"reboot": self._reboot, "createImage": self._create_image,
                         "os-getConsoleOutput": self._console_output, "addFloatingIp": self._add_floating_ip,
                         "removeFloatingIp": self._remove_floating_ip})
        return handlers

    @staticmethod
    def _simple(req: ApiRequest, instance: Any, call: Callable[..., None]) -> Result:
        call(req.ctxt, instance["id"])
        return Result(None, 202)

    @staticmethod
    def _args(args: Any, name: str) -> dict[str, Any]:
        if not isinstance(args, dict):
            raise faults.Fault(400, f"The {name} action takes an object.")
        return args

    def _reboot(self, req: ApiRequest, instance: Any, args: Any) -> Result:
        kind = self._args(args, "reboot").get("type")
        if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
            raise faults.Fault(400, "Argument 'type' for reboot must be a string of either 'SOFT' or 'HARD'.")
        self.compute.reboot(req.ctxt, instance["id"], hard=kind.upper() == "HARD")
        return Result(None, 202)

    def _create_image(self, req: ApiRequest, instance: Any, args: Any) -> Result:
        args = self._args(args, "createImage")
        name = string_field(args, "name")
        metadata = args.get("metadata", {})
        if not isinstance(metadata, dict):
            raise faults.Fault(400, "'metadata' must be an object.")
        image = self.compute.create_image(req.ctxt, instance["id"], name)  # an EBS image when volume-backed
        location = f"{req.base_url}/images/{image['id']}"
        return Result({"image_id": str(image["id"])}, 202, {"Location": location})

    def _console_output(self, req: ApiRequest, instance: Any, args: Any) -> Result:
        args = self._args(args or {}, "os-getConsoleOutput")
        length = args.get("length")
        output = self.compute.get_console_output(req.ctxt, instance["id"])
        if length is not None and length != -1:
            lines = int_field(length, "length", 0)
            output = "\n".join(output.splitlines()[-lines:]) if lines else ""
        return Result({"output": output})

    def _add_floating_ip(self, req: ApiRequest, instance: Any, args: Any) -> Result:
        address = string_field(self._args(args, "addFloatingIp"), "address")
        network = network_api.API()
        network.get_floating_ip(req.ctxt, address)
        network.associate_floating_ip_with_instance(req.ctxt, address, instance["id"])
        return Result(None, 202)

    def _remove_floating_ip(self, req: ApiRequest, instance: Any, args: Any) -> Result:
        address = string_field(self._args(args, "removeFloatingIp"), "address")
        network = network_api.API()
        floating = network.get_floating_ip(req.ctxt, address)
        if floating["instance_id"] != instance["id"]:
            raise faults.Fault(409, f"Floating IP {address} is not associated with instance {instance['uuid']}.")
        network.disassociate_floating_ip(req.ctxt, address)
        return Result(None, 202)
