"""The network API v2.0 application: routes, token authentication, version and extension documents."""

from __future__ import annotations

import logging
import re

import webob
import webob.dec

from nova import context as nova_context
from nova import exception, wsgi
from nova.api.network import addresses, common, faults, security_groups
from nova.api.network.faults import Fault
from nova.auth import manager

LOG = logging.getLogger(__name__)

# (alias, name, description) of the extensions whose requests this API answers.
EXTENSIONS = (("security-group", "security-group", "The security groups extension."),
              ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
              ("standard-attr-description", "standard-attr-description", "Extension to add descriptions."))
RESOURCES = ("networks", "ports", "floatingips", "security-groups", "security-group-rules")


class NetworkApp:
    """Version documents (no token needed) and the ``/v2.0`` resources (a token from the identity API)."""

    def __init__(self) -> None:
        self.auth = manager.AuthManager()
        groups, rules = security_groups.SecurityGroups(), security_groups.SecurityGroupRules()
        networks, ports, floating = addresses.Networks(), addresses.Ports(), addresses.FloatingIps()
        one = r"/(?P<id>[^/]+?)(?:\.json)?/?$"
        many = r"(?:\.json)?/?$"
        self.routes: list[tuple[re.Pattern[str], dict[str, common.Handler]]] = [
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

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> "NetworkApp":
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        request_id = wsgi.request_id_of(req.environ)
        try:
            if req.path_info.strip("/") == "":
                if req.method not in ("GET", "HEAD"):
                    raise Fault(405, f"The method {req.method} is not allowed on {req.path_info}.")
                response = self.versions(req)
            else:
                handler, params = self._route(req)
                response = handler(req, self._context(req, request_id), params)
        except Exception as exc:  # one place turns every failure into the API's error body
            response = faults.render(exc, request_id)
        response.headers["X-Openstack-Request-Id"] = request_id
        return response

    def _route(self, req: webob.Request) -> tuple[common.Handler, dict[str, str]]:
        for pattern, methods in self.routes:
            match = pattern.match(req.path_info)
            if match:
                method = "GET" if req.method == "HEAD" else req.method
                if method not in methods:
                    raise Fault(405, f"The method {req.method} is not allowed on {req.path_info}.")
                return methods[method], match.groupdict()
        raise Fault(404, f"The resource could not be found: {req.path_info[:80]}")

    def _context(self, req: webob.Request, request_id: str) -> nova_context.RequestContext:
        token = req.headers.get("X-Auth-Token", "")
        if not token:
            raise Fault(401, "Authentication required: send X-Auth-Token.")
        try:
            creds = self.auth.authenticate_token(token)
        except exception.NotFound:
            raise Fault(401, "The token is unknown or has expired.") from None
        return creds.to_context(request_id=request_id, remote_address=req.remote_addr)

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
