"""The v1.0/v1.1 pipeline's filters: faults in the requested format, the
``X-Auth-User``/``X-Auth-Key`` handshake, and the per-user rate limits.

The handshake is the first Nova's: ``GET /v1.1`` (or ``/v1.0``) with the
user's name and **access key** answers 204 with a token stored in the
database (``AuthManager.create_token``, so it expires) and the URL to send
further requests to.  The token is for the user's first project unless
``X-Auth-Project-Id`` names another of theirs.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import webob
import webob.dec

from nova import exception, wsgi
from nova.api.openstack import auth, faults
from nova.api.openstack.v11 import formats, ratelimit
from nova.api.openstack.wsgi import CONTEXT_KEY
from nova.auth import manager

LOG = logging.getLogger(__name__)


def _v1_status(exc: Exception) -> int:
    # The first Nova answered an exceeded quota with 413 overLimit; v2.1 says 403.
    if isinstance(exc, exception.QuotaError):
        return 413
    return faults.status_of(exc)


class FaultWrapper(wsgi.Middleware):
    """Pick the response format (and strip ``.json``/``.xml``), and render anything raised below as a fault."""

    def __init__(self, application: Any, version: str = "v1.1") -> None:
        super().__init__(application)
        self.version = version

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> Callable[[Any], "FaultWrapper"]:
        return lambda app: cls(app, local_config.get("version", "v1.1"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        req = webob.Request(environ)
        environ[formats.VERSION_KEY] = self.version
        environ[formats.FORMAT_KEY] = formats.choose(req)
        try:
            response = req.get_response(self.application)
        except faults.Fault as fault:
            response = formats.fault_response(req, fault.status, fault.message, fault.headers)
        except ratelimit.OverLimit as over:
            response = formats.fault_response(req, 413, "This request was rate-limited.",
                                              {"Retry-After": str(over.retry_after)},
                                              {"details": over.details, "retryAfter": over.retry_after})
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            request_id = wsgi.request_id_of(environ)
            status = _v1_status(exc) if isinstance(exc, exception.NovaException) else 500
            if status == 500:
                LOG.error("Unexpected error in request %s", request_id, exc_info=(type(exc), exc, exc.__traceback__),
                          extra={"request_id": request_id})
                message = f"Unexpected API Error. Request {request_id} failed; the compute API log has the details."
            else:
                LOG.info("%s: %s", type(exc).__name__, exc, extra={"request_id": request_id})
                message = str(exc)
            response = formats.fault_response(req, status, message)
        return response(environ, start_response)


class Handshake(wsgi.Middleware):
    """``X-Auth-User``/``X-Auth-Key`` at the version root → 204 and a token; otherwise ``X-Auth-Token``."""

    def __init__(self, application: Any, version: str = "v1.1") -> None:
        super().__init__(application)
        self.version = version
        self.token_auth = auth.TokenAuth(application)

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> Callable[[Any], "Handshake"]:
        return lambda app: cls(app, local_config.get("version", "v1.1"))

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.headers.get("X-Auth-Token", "").strip():
            return self._with_token(req)
        if req.path_info.strip("/") or req.method not in ("GET", "HEAD"):
            raise faults.Fault(401, "Authentication required: send X-Auth-Token, or get one with "
                                    f"GET /{self.version} and X-Auth-User/X-Auth-Key.")
        return self._handshake(req)

    def _handshake(self, req: webob.Request) -> webob.Response:
        user_name = req.headers.get("X-Auth-User", "").strip()
        key = req.headers.get("X-Auth-Key", "").strip()
        if not user_name or not key:
            raise faults.Fault(401, "Send X-Auth-User (your user name) and X-Auth-Key (your access key).")
        auth = manager.AuthManager()
        try:
            user = auth.get_user_from_access_key(key)
        except exception.NotFound:
            user = None
        if user is None or user["id"] != user_name:
            LOG.info("Handshake refused for %r", user_name[:64], extra={"request_id": wsgi.request_id_of(req.environ)})
            raise faults.Fault(401, "The user name or access key is wrong.")
        project = self._project(auth, user["id"], req.headers.get("X-Auth-Project-Id", "").strip())
        token = auth.create_token(user["id"], project)
        url = req.host_url + req.script_name + (f"/{project}" if self.version == "v1.1" else "")
        LOG.info("Token issued to %s in %s", user["id"], project, extra={"request_id": wsgi.request_id_of(req.environ)})
        response = webob.Response(status=204)
        response.content_type = None
        response.headers.update({"X-Auth-Token": token, "X-Server-Management-Url": url,
                                 "X-Storage-Url": "", "X-CDN-Management-Url": ""})
        return response

    @staticmethod
    def _project(auth: manager.AuthManager, user_id: str, wanted: str) -> str:
        projects = [p["id"] for p in auth.get_projects(user_id)]
        if wanted:
            if wanted not in projects and not auth.is_superuser(user_id):
                raise faults.Fault(401, f"User {user_id} is not a member of project {wanted[:64]}.")
            return wanted
        if not projects:
            raise faults.Fault(401, f"User {user_id} belongs to no project.")
        return projects[0]

    def _with_token(self, req: webob.Request) -> webob.Response:
        return req.get_response(self.token_auth)


class RateLimit(wsgi.Middleware):
    """The first Nova's per-user rate limits, held in this nova-api process's memory."""

    def __init__(self, application: Any, limiter: ratelimit.Limiter) -> None:
        super().__init__(application)
        self.limiter = limiter

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> Callable[[Any], "RateLimit"]:
        limits = ratelimit.parse(local_config["limits"]) if local_config.get("limits") else None
        return lambda app: cls(app, ratelimit.Limiter(limits))

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        ctxt = req.environ[CONTEXT_KEY]
        req.environ[ratelimit.LIMITER_KEY] = self.limiter
        query = req.query_string
        self.limiter.check(ctxt.user_id, req.method, req.path_info + (f"?{query}" if query else ""))
        return req.get_response(self.application)
