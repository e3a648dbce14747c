"""Operations on the service: ListBuckets."""

from __future__ import annotations

import webob

from nova.objectstore import auth
from nova.objectstore.errors import access_denied
from nova.objectstore.request import S3Request
from nova.objectstore.store import iso_date
from nova.objectstore.xmlutil import element, owner, xml_response


def list_buckets(r: S3Request) -> webob.Response:
    if r.anonymous:
        raise access_denied()
    buckets = [b for b in r.store.buckets() if auth.owner_of(r.ctxt, b.project_id)]
    entries = "".join(f"<Bucket>{element('Name', b.name)}{element('CreationDate', iso_date(b.created_at))}</Bucket>"
                      for b in buckets)
    return xml_response("ListAllMyBucketsResult", [owner(r.ctxt.project_id or ""), f"<Buckets>{entries}</Buckets>"])
