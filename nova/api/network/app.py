"""The network API v2.0 application: routes, token authentication, version and extension documents."""

from __future__ import annotations

import logging
import re

import webob
import webob.dec

from nova import context as nova_context
from nova.api import jsonapp
from nova.api.network import addresses, common, faults, security_groups
from nova.api.network.faults import Fault

LOG = logging.getLogger(__name__)

# (alias, name, description) of the extensions whose requests this API answers.
EXTENSIONS = (("security-group", "security-group", "The security groups extension."),
              ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
              ("standard-attr-description", "standard-attr-description", "Extension to add descriptions."))
RESOURCES = ("networks", "ports", "floatingips", "security-groups", "security-group-rules")


class NetworkApp(jsonapp.JsonApp):
    """Version documents (no token needed) and the ``/v2.0`` resources (a token from the identity API)."""

    not_found_message = "The resource could not be found: {path}"

    def __init__(self) -> None:
        super().__init__()
        groups, rules = security_groups.SecurityGroups(), security_groups.SecurityGroupRules()
        networks, ports, floating = addresses.Networks(), addresses.Ports(), addresses.FloatingIps()
        one = r"/(?P<id>[^/]+?)(?:\.json)?/?$"
        many = r"(?:\.json)?/?$"
        self.routes: list[jsonapp.Route] = [
            (re.compile(r"^/v2\.0/?$"), {"GET": self.resources}),
            (re.compile(r"^/v2\.0/extensions" + many), {"GET": self.extensions}),
            (re.compile(r"^/v2\.0/extensions" + one), {"GET": self.extension}),
            (re.compile(r"^/v2\.0/security-groups" + many), {"GET": groups.index, "POST": groups.create}),
            (re.compile(r"^/v2\.0/security-groups" + one), {"GET": groups.show, "DELETE": groups.delete}),
            (re.compile(r"^/v2\.0/security-group-rules" + many), {"GET": rules.index, "POST": rules.create}),
            (re.compile(r"^/v2\.0/security-group-rules" + one), {"GET": rules.show, "DELETE": rules.delete}),
            (re.compile(r"^/v2\.0/networks" + many), {"GET": networks.index}),
            (re.compile(r"^/v2\.0/networks" + one), {"GET": networks.show}),
            (re.compile(r"^/v2\.0/ports" + many), {"GET": ports.index}),
            (re.compile(r"^/v2\.0/ports" + one), {"GET": ports.show}),
            (re.compile(r"^/v2\.0/floatingips" + many), {"GET": floating.index, "POST": floating.create}),
            (re.compile(r"^/v2\.0/floatingips" + one), {"GET": floating.show, "PUT": floating.update,
                                                        "DELETE": floating.delete}),
        ]

    def render_fault(self, exc: BaseException, request_id: str) -> webob.Response:
        return faults.render(exc, request_id)

    def dispatch(self, req: webob.Request, request_id: str) -> webob.Response:
        if req.path_info.strip("/") == "":
            self.check_read(req)
            return self.versions(req)
        return super().dispatch(req, request_id)

    def versions(self, req: webob.Request) -> webob.Response:
        link = {"rel": "self", "href": f"{req.host_url}/v2.0/"}
        return common.json_response({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [link]}]})

    def resources(self, req: webob.Request, ctxt: nova_context.RequestContext,
                  params: dict[str, str]) -> webob.Response:
        base = f"{req.host_url}/v2.0"
        values = [{"name": name.rstrip("s").replace("-", "_"), "collection": name,
                   "links": [{"rel": "self", "href": f"{base}/{name}"}]} for name in RESOURCES]
        return common.json_response({"resources": values})

    @staticmethod
    def _extension(alias: str, name: str, description: str) -> dict[str, object]:
        return {"alias": alias, "name": name, "description": description, "updated": "2013-01-01T00:00:00-00:00",
                "links": []}

    def extensions(self, req: webob.Request, ctxt: nova_context.RequestContext,
                   params: dict[str, str]) -> webob.Response:
        return common.json_response({"extensions": [self._extension(*e) for e in EXTENSIONS]})

    def extension(self, req: webob.Request, ctxt: nova_context.RequestContext,
                  params: dict[str, str]) -> webob.Response:
        for values in EXTENSIONS:
            if values[0] == params["id"]:
                return common.json_response({"extension": self._extension(*values)})
        raise Fault(404, f"Extension with alias {params['id'][:40]} does not exist")
