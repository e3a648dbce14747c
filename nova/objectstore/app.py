"""The S3 WSGI application: find the bucket and key, authenticate, dispatch, map errors.

Requests are path-style (``/bucket/key``) or virtual-host-style
(``Host: bucket.<domain>``, for the domains in ``--s3_vhost_domains``, plus
``--s3_host`` and ``localhost``).  Every failure a client causes is an S3
``<Error>`` document; anything unexpected is a 500 ``InternalError`` naming
the request id, with the traceback in the log only.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any, Callable, Iterable

import webob

from nova import context, exception, flags, log
from nova.objectstore import auth, names
from nova.objectstore.errors import S3Error
from nova.objectstore.handlers import bucket as bucket_ops
from nova.objectstore.body import Payload
from nova.objectstore.handlers import acls, cors, multipart, objects, post, service, tagging, versioning
from nova.objectstore.request import S3Request, WebRequest
from nova.objectstore.store import Store

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_list("s3_vhost_domains", [], "Domains under which Host: <bucket>.<domain> names a bucket "
                  "(--s3_host and localhost always count)")

Handler = Callable[[S3Request], webob.Response]
_UNSUPPORTED = ("policy", "lifecycle", "website", "logging", "notification", "replication", "encryption",
                "object-lock", "retention", "legal-hold", "torrent", "accelerate", "requestPayment", "analytics",
                "metrics", "inventory", "restore", "select", "ownershipControls", "intelligent-tiering")
# Sub-resources: {name: {method: handler}}, for buckets and for objects.
_BUCKET_SUBRESOURCES: dict[str, dict[str, Handler]] = {
    "versioning": {"GET": versioning.get_versioning, "PUT": versioning.put_versioning},
    "versions": {"GET": versioning.list_versions},
    "acl": {"GET": acls.get_bucket_acl, "PUT": acls.put_bucket_acl},
    "tagging": {"GET": tagging.get_bucket_tagging, "PUT": tagging.put_bucket_tagging,
                "DELETE": tagging.delete_bucket_tagging},
    "cors": {"GET": cors.get_cors, "PUT": cors.put_cors, "DELETE": cors.delete_cors},
    "publicAccessBlock": {"GET": tagging.get_public_access_block, "PUT": tagging.put_public_access_block,
                          "DELETE": tagging.delete_public_access_block},
}
_OBJECT_SUBRESOURCES: dict[str, dict[str, Handler]] = {
    "acl": {"GET": acls.get_object_acl, "PUT": acls.put_object_acl},
    "tagging": {"GET": tagging.get_object_tagging, "PUT": tagging.put_object_tagging,
                "DELETE": tagging.delete_object_tagging},
    "attributes": {"GET": objects.get_attributes},
}


def not_implemented(what: str) -> S3Error:
    return S3Error("NotImplemented", f"{what} is not implemented by nova-objectstore", 501)


def method_not_allowed() -> S3Error:
    return S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)


def _subresource(table: dict[str, dict[str, Handler]], method: str, query: dict[str, str],
                 what: str) -> Handler | None:
    for name, handlers in table.items():
        if name in query:
            if method not in handlers:
                raise method_not_allowed()
            return handlers[method]
    for name in _UNSUPPORTED:
        if name in query:
            raise not_implemented(f"The {what} sub-resource '{name}'")
    return None


def route(method: str, has_bucket: bool, has_key: bool, query: dict[str, str], headers: Any) -> Handler:
    """The handler of one request, from its method, target and sub-resources."""
    if not has_bucket:
        if method == "GET":
            return service.list_buckets
        raise method_not_allowed()
    if not has_key:
        handler = _subresource(_BUCKET_SUBRESOURCES, method, query, "bucket")
        if handler is not None:
            return handler
        table: dict[str, Handler] = {"PUT": bucket_ops.create_bucket, "DELETE": bucket_ops.delete_bucket,
                                     "HEAD": bucket_ops.head_bucket}
        if method == "GET":
            if "location" in query:
                return bucket_ops.get_location
            if "uploads" in query:
                return multipart.list_uploads
            return bucket_ops.list_objects
        if method == "POST":
            if "delete" in query:
                return bucket_ops.delete_objects
            return post.post_object
        if method in table:
            return table[method]
        raise method_not_allowed()
    handler = _subresource(_OBJECT_SUBRESOURCES, method, query, "object")
    if handler is not None:
        return handler
    upload = "uploadId" in query
    if method == "PUT":
        if upload or "partNumber" in query:
            return multipart.upload_part
        if "x-amz-copy-source" in headers:
            return objects.copy_object
        return objects.put_object
    if method == "GET":
        return multipart.list_parts if upload else objects.get_object
    if method == "HEAD":
        return lambda r: objects.get_object(r, head=True)
    if method == "DELETE":
        return multipart.abort if upload else objects.delete_object
    if method == "POST":
        if "uploads" in query:
            return multipart.create
        if upload:
            return multipart.complete
    raise method_not_allowed()


_CREDENTIAL_PARAMS = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Algorithm", "AWSAccessKeyId", "Signature")


def is_anonymous(req: webob.Request, query: dict[str, str]) -> bool:
    """A request with no credentials at all: it gets only what ACLs grant to AllUsers."""
    return "Authorization" not in req.headers and not any(p in query for p in _CREDENTIAL_PARAMS)


def _vhost_bucket(host: str) -> str | None:
    name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
    for domain in [FLAGS.s3_host, "localhost", *FLAGS.s3_vhost_domains]:
        domain = domain.lower()
        if domain and name.endswith("." + domain) and name != domain:
            return name[:-len(domain) - 1]
    return None


def _unquote(raw: str) -> str:
    try:
        return urllib.parse.unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.", 400) from None


def parse_target(environ: dict[str, Any]) -> tuple[str | None, str | None, str, str]:
    """(bucket, key, raw path as signed, SigV2 canonical resource path)."""
    raw_path = environ.get("RAW_PATH_INFO") or urllib.parse.quote(environ.get("PATH_INFO", "/"))
    raw_path = raw_path.split("?", 1)[0] or "/"
    if not raw_path.startswith("/"):
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.", 400)
    vhost = _vhost_bucket(environ.get("HTTP_HOST", ""))
    if vhost is not None:
        key = _unquote(raw_path[1:]) or None
        return vhost, key, raw_path, "/" + vhost + raw_path
    bucket_raw, sep, key_raw = raw_path[1:].partition("/")
    bucket = _unquote(bucket_raw) or None
    key = _unquote(key_raw) if sep else None
    return bucket, key or None, raw_path, raw_path


class S3Application:
    """WSGI application serving the buckets under ``--buckets_path``."""

    def __init__(self, buckets_path: str | None = None) -> None:
        self.store = Store(buckets_path)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        req = WebRequest(environ)
        self.store.sweep_if_due()
        request_id = context.generate_request_id()
        log.bind_request_id(request_id)
        resource = environ.get("PATH_INFO", "/")
        try:
            bucket, key, raw_path, v2_resource = parse_target(environ)
            resource = "/" + (bucket or "") + ("/" + key if key else "")
            if bucket is not None:
                names.check_bucket_name(bucket)
            if key is not None:
                names.check_key(key)
            query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
            if req.method == "OPTIONS" and bucket is not None:
                response = cors.preflight(req, self.store, bucket)
            else:
                handler = route(req.method, bucket is not None, key is not None, query, req.headers)
                if is_anonymous(req, query):
                    ctxt, payload = context.RequestContext(None, None, remote_address=req.remote_addr), \
                        Payload(req.headers)
                else:
                    ctxt, payload = auth.authenticate(req, raw_path, v2_resource)
                ctxt.request_id = request_id
                response = handler(S3Request(req, ctxt, payload, self.store, bucket, key, query))
                cors.decorate(req, self.store, bucket, response)
        except S3Error as exc:
            response = self.error_response(exc, req, resource, request_id)
        except exception.NovaException as exc:
            if exc.code == 503:
                # The database (credentials) or another service is down: S3's answer to retry later.
                LOG.warning("%s %s: %s", req.method, resource, " ".join(str(exc).split())[:300])
                response = self.error_response(S3Error("ServiceUnavailable", "The service is unavailable; "
                                                       "please try again.", 503), req, resource, request_id,
                                               log=False)
            else:
                response = self._internal_error(req, resource, request_id)
        except Exception:
            response = self._internal_error(req, resource, request_id)
        response.headers["x-amz-request-id"] = request_id
        response.headers["Server"] = "nova-objectstore"
        LOG.info("%s %s %s -> %s", req.remote_addr, req.method, resource, response.status_int)
        return response(environ, start_response)

    def _internal_error(self, req: webob.Request, resource: str, request_id: str) -> webob.Response:
        LOG.exception("Unexpected error serving %s %s", req.method, resource)
        return self.error_response(S3Error("InternalError", "We encountered an internal error. Please try again.",
                                           500), req, resource, request_id)

    @staticmethod
    def error_response(exc: S3Error, req: webob.Request, resource: str, request_id: str,
                       log: bool = True) -> webob.Response:
        if not log:
            pass
        elif exc.status < 500:
            LOG.info("%s %s: %s %s", req.method, resource, exc.code, exc.message)
        elif exc.status == 503:
            LOG.warning("%s %s: %s %s", req.method, resource, exc.code, exc.message)
        if exc.status == 304 or req.method == "HEAD":
            response = webob.Response(status=exc.status)
            if exc.status != 304:
                response.headers["x-amz-error-code"] = exc.code
        else:
            response = webob.Response(body=exc.to_xml(resource, request_id), status=exc.status,
                                      content_type="application/xml", charset=None)
        for name, value in exc.headers.items():
            response.headers[name] = value
        if exc.status == 503:
            response.headers["Retry-After"] = "1"
        return response
