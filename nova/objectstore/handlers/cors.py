"""Bucket CORS: Get/Put/DeleteBucketCors, preflight OPTIONS, and the headers of actual cross-origin requests."""

from __future__ import annotations

import re
from typing import Any

import webob

from nova import utils
from nova.objectstore import settings
from nova.objectstore.errors import S3Error, malformed_xml
from nova.objectstore.handlers.bucket import MAX_XML_BODY
from nova.objectstore.request import S3Request
from nova.objectstore.store import Bucket, Store
from nova.objectstore.xmlutil import element, parse, xml_response

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
_FIELDS = (("AllowedHeader", "headers"), ("AllowedMethod", "methods"), ("AllowedOrigin", "origins"),
           ("ExposeHeader", "expose"))


def _matches(pattern: str, value: str, case: bool = True) -> bool:
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(regex, value, 0 if case else re.IGNORECASE) is not None


def get_cors(r: S3Request) -> webob.Response:
    rules = settings.get(r.bucket(), "cors")
    if not rules:
        raise S3Error("NoSuchCORSConfiguration", "The CORS configuration does not exist", 404,
                      BucketName=r.bucket_name or "")
    out = []
    for rule in rules:
        body = element("ID", rule["id"]) if rule.get("id") else ""
        for tag, name in _FIELDS:
            body += "".join(element(tag, v) for v in rule[name])
        if rule.get("max_age") is not None:
            body += element("MaxAgeSeconds", rule["max_age"])
        out.append(f"<CORSRule>{body}</CORSRule>")
    return xml_response("CORSConfiguration", out)


def put_cors(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    tree = parse(r.body(65536).read_all(MAX_XML_BODY), "CORSConfiguration")
    nodes = tree.findall("CORSRule")
    if not nodes or len(nodes) > MAX_RULES:
        raise malformed_xml()
    rules = []
    for node in nodes:
        rule: dict[str, Any] = {name: [(c.text or "").strip() for c in node.findall(tag)] for tag, name in _FIELDS}
        if not rule["methods"] or not rule["origins"]:
            raise malformed_xml()
        for method in rule["methods"]:
            if method not in METHODS:
                raise S3Error("InvalidRequest", f"Found unsupported HTTP method in CORS config. Unsupported method "
                              f"is {method}", 400)
        for origin in rule["origins"]:
            if origin.count("*") > 1:
                raise S3Error("InvalidRequest", f"AllowedOrigin \"{origin}\" can not have more than one wildcard.",
                              400)
        rule["id"] = node.findtext("ID")
        age = node.findtext("MaxAgeSeconds")
        if age is not None and utils.decimal(age.strip(), 10) is None:
            raise malformed_xml()
        rule["max_age"] = int(age) if age is not None else None
        rules.append(rule)
    settings.put(bucket, "cors", rules)
    return webob.Response(status=200)


def delete_cors(r: S3Request) -> webob.Response:
    settings.delete(r.bucket(), "cors")
    return webob.Response(status=204)


def _rule_for(bucket: Bucket, origin: str, method: str, headers: list[str]) -> dict[str, Any] | None:
    for rule in settings.get(bucket, "cors") or []:
        if (method in rule["methods"] and any(_matches(o, origin) for o in rule["origins"])
                and all(any(_matches(p, h, case=False) for p in rule["headers"]) for h in headers)):
            return rule
    return None


def _allow(response: webob.Response, rule: dict[str, Any], origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = "*" if rule["origins"] == ["*"] else origin
    if rule["origins"] != ["*"]:
        response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Allow-Methods"] = ", ".join(rule["methods"])
    if rule["expose"]:
        response.headers["Access-Control-Expose-Headers"] = ", ".join(rule["expose"])
    if rule.get("max_age") is not None:
        response.headers["Access-Control-Max-Age"] = str(rule["max_age"])
    response.headers["Vary"] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


def preflight(req: webob.Request, store: Store, bucket_name: str) -> webob.Response:
    """An OPTIONS request: no credentials, answered from the bucket's CORS rules."""
    origin = req.headers.get("Origin")
    method = req.headers.get("Access-Control-Request-Method")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.", 400)
    if not method:
        raise S3Error("BadRequest", "Invalid Access-Control-Request-Method: null", 400)
    bucket = store.get_bucket(bucket_name)
    if not settings.get(bucket, "cors"):
        raise S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", 403,
                      Method=method, ResourceType="BUCKET")
    wanted = [h.strip().lower() for h in req.headers.get("Access-Control-Request-Headers", "").split(",")
              if h.strip()]
    rule = _rule_for(bucket, origin, method, wanted)
    if rule is None:
        raise S3Error("AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because "
                      "the evalution of Origin, request method / Access-Control-Request-Method or "
                      "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.", 403,
                      Method=method, ResourceType="OBJECT")
    response = webob.Response(status=200)
    _allow(response, rule, origin)
    if wanted:
        response.headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
    return response


def decorate(req: webob.Request, store: Store, bucket_name: str | None, response: webob.Response) -> None:
    """Add CORS headers to an actual request that carries an Origin its bucket's rules allow."""
    origin = req.headers.get("Origin")
    if not origin or not bucket_name or req.method == "OPTIONS":
        return
    try:
        bucket = store.get_bucket(bucket_name)
    except S3Error:
        return
    rule = _rule_for(bucket, origin, req.method, [])
    if rule is not None:
        _allow(response, rule, origin)
