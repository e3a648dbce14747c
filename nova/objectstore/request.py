"""One authenticated S3 request, as the handlers see it."""

from __future__ import annotations

from dataclasses import dataclass, field

import webob
import webob.headers

from nova import context
from nova.objectstore import acl, auth, settings
from nova.objectstore.body import Body, Payload
from nova.objectstore.errors import access_denied
from nova.objectstore.store import Bucket, Store


class Headers(webob.headers.EnvironHeaders):
    """webob's view of the request headers, with the list of names worked out once.

    webob translates every environ key again on each iteration and ``get``;
    S3 handlers iterate the headers several times a request (metadata,
    checksums, signature).  Lookups still read the environ, and a change made
    through this object drops the cached list (nothing in the objectstore
    changes the environ's headers behind it).
    """

    def __init__(self, environ: dict) -> None:
        super().__init__(environ)
        self._items: list[tuple[str, str]] | None = None

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        if self._items is None:
            translate = webob.headers._trans_key
            self._items = [(name, value) for name, value in zip(map(translate, self.environ), self.environ.values())
                           if name]
        return self._items

    def keys(self) -> list[str]:  # type: ignore[override]
        return [name for name, _ in self.items()]

    def __iter__(self):  # type: ignore[override]
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.items())

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self.environ.get(webob.headers._trans_name(name), default)

    def __setitem__(self, name: str, value: str) -> None:
        self._items = None
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._items = None
        super().__delitem__(name)


class WebRequest(webob.Request):
    """webob's request with ``Headers`` as its headers."""

    @property
    def headers(self) -> Headers:  # type: ignore[override]
        if self._headers is None:
            self._headers = Headers(self.environ)
        return self._headers


@dataclass
class S3Request:
    req: webob.Request
    ctxt: context.RequestContext
    payload: Payload
    store: Store
    bucket_name: str | None
    key: str | None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.ctxt.project_id is None and not self.ctxt.is_admin

    def bucket(self, permission: str | None = None) -> Bucket:
        """The named bucket, if this request's project owns it or its ACL grants ``permission``."""
        bucket = self.store.get_bucket(self.bucket_name or "")
        self.authorize(bucket, permission)
        return bucket

    def authorize(self, bucket: Bucket, permission: str | None = None) -> None:
        if auth.owner_of(self.ctxt, bucket.project_id):
            return
        if permission and acl.allows(bucket_acl(bucket), self.ctxt, permission, ignores_public_acls(bucket)):
            return
        raise access_denied()

    def authorize_object(self, bucket: Bucket, record: dict, permission: str) -> None:
        """The bucket's owner, the object's owner, or a grant of ``permission`` on the object."""
        if auth.owner_of(self.ctxt, bucket.project_id) or auth.owner_of(self.ctxt, record.get("owner") or
                                                                         bucket.project_id):
            return
        if acl.allows(record.get("acl"), self.ctxt, permission, ignores_public_acls(bucket)):
            return
        raise access_denied()

    def body(self, chunk_size: int) -> Body:
        return Body(self.req.environ, self.payload, chunk_size)

    def header(self, name: str) -> str | None:
        return self.req.headers.get(name)


def bucket_acl(bucket: Bucket) -> dict:
    return settings.get(bucket, "acl") or acl.default(bucket.project_id)


def public_access_block(bucket: Bucket) -> dict[str, bool]:
    return settings.get(bucket, "public-access-block") or {}


def ignores_public_acls(bucket: Bucket) -> bool:
    return bool(public_access_block(bucket).get("IgnorePublicAcls"))


def check_public_acl_allowed(bucket: Bucket, new_acl: dict | None) -> None:
    """BlockPublicAcls refuses any ACL that grants to AllUsers or AuthenticatedUsers."""
    if acl.is_public(new_acl) and public_access_block(bucket).get("BlockPublicAcls"):
        raise access_denied()
