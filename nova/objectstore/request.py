"""One authenticated S3 request, as the handlers see it."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

import webob

from nova import context
from nova.objectstore import auth
from nova.objectstore.body import Body, Payload
from nova.objectstore.errors import access_denied
from nova.objectstore.store import Bucket, Store


@dataclass
class S3Request:
    req: webob.Request
    ctxt: context.RequestContext
    payload: Payload
    store: Store
    bucket_name: str | None
    key: str | None
    query: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, req: webob.Request, ctxt: context.RequestContext, payload: Payload, store: Store,
              bucket_name: str | None, key: str | None) -> "S3Request":
        query = dict(urllib.parse.parse_qsl(req.environ.get("QUERY_STRING", ""), keep_blank_values=True))
        return cls(req, ctxt, payload, store, bucket_name, key, query)

    def bucket(self) -> Bucket:
        """The named bucket, if this request's project may use it."""
        bucket = self.store.get_bucket(self.bucket_name or "")
        self.authorize(bucket)
        return bucket

    def authorize(self, bucket: Bucket) -> None:
        if not auth.owner_of(self.ctxt, bucket.project_id):
            raise access_denied()

    def body(self, chunk_size: int) -> Body:
        return Body(self.req.environ, self.payload, chunk_size)

    def header(self, name: str) -> str | None:
        return self.req.headers.get(name)
