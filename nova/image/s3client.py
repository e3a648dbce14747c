"""A minimal S3 client for the image service: signed GETs, streamed, with the user's own keys.

Images are registered from the objectstore as the requesting user, so a
project can only register what it may read (as the first Nova did through
boto).  Requests are SigV4-signed with nova's signer.
"""

from __future__ import annotations

import datetime
import http.client
import urllib.parse
from typing import Iterator
from xml.etree import ElementTree as ET

from nova import context as nova_context
from nova import exception, flags
from nova.auth import signer

FLAGS = flags.FLAGS

flags.DEFINE_float("s3_client_timeout", 60.0, "Seconds the image service waits on the objectstore", lower_bound=1)


class S3Client:
    """GETs against ``--s3_host:--s3_port`` as ``ctxt``'s user in ``ctxt``'s project."""

    def __init__(self, ctxt: nova_context.RequestContext, host: str | None = None, port: int | None = None) -> None:
        # The user's pair for the project (made if it has none): the objectstore takes the user's own
        # ACCESS:PROJECT key only in presigned URLs, whose signature covers the access key.
        from nova.auth import manager

        pair = manager.AuthManager().project_ec2_credentials(ctxt.user_id, ctxt.project_id)
        self.access = pair["access_key"]
        self.secret = pair["secret_key"]
        self.host = host or FLAGS.s3_host
        self.port = port or FLAGS.s3_port

    def _request(self, bucket: str, key: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        path = "/" + urllib.parse.quote(bucket, safe="") + "/" + urllib.parse.quote(key, safe="/~")
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        sent = {"Host": f"{self.host}:{self.port}", "X-Amz-Date": amz_date,
                "X-Amz-Content-SHA256": signer.EMPTY_SHA256, **(headers or {})}
        names = sorted(h.lower() for h in sent)
        req = signer.SigV4Request(self.access, amz_date[:8], FLAGS.region_name, "s3", names, "", amz_date, False)
        signature = signer.sigv4_signature(self.secret, req, "GET", path, "", sent, signer.EMPTY_SHA256)
        sent["Authorization"] = (f"{signer.ALGORITHM_V4} Credential={self.access}/{req.scope}, "
                                 f"SignedHeaders={';'.join(names)}, Signature={signature}")
        location = f"{bucket}/{key}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=FLAGS.s3_client_timeout)
        try:
            conn.request("GET", path, headers=sent)
            response = conn.getresponse()
        except OSError as exc:
            conn.close()
            raise exception.InvalidImageLocation(location=location, reason=f"objectstore unreachable at "
                                                 f"{self.host}:{self.port} ({exc})") from None
        if response.status >= 300:
            body = response.read(65536)
            conn.close()
            code, message = "", body.decode(errors="replace")[:200]
            try:
                tree = ET.fromstring(body)
                code, message = tree.findtext("Code") or "", tree.findtext("Message") or message
            except ET.ParseError:
                pass
            reason = f"{code or response.status}: {message}"
            if response.status == 403:
                raise exception.ImageLocationForbidden(location=location, reason=reason)
            raise exception.InvalidImageLocation(location=location, reason=reason)
        return response

    def get(self, bucket: str, key: str, limit: int) -> bytes:
        """A small object (a manifest) whole; refuses more than ``limit`` bytes."""
        response = self._request(bucket, key)
        try:
            data = response.read(limit + 1)
        finally:
            response.close()
        if len(data) > limit:
            raise exception.InvalidImageLocation(location=f"{bucket}/{key}", reason=f"object is larger than {limit} bytes")
        return data

    def head_bytes(self, bucket: str, key: str, count: int) -> bytes:
        """The first ``count`` bytes of an object (a ranged GET)."""
        response = self._request(bucket, key, {"Range": f"bytes=0-{count - 1}"})
        try:
            return response.read(count)
        finally:
            response.close()

    def stream(self, bucket: str, key: str, chunk: int = 1024 * 1024) -> Iterator[bytes]:
        response = self._request(bucket, key)
        try:
            while data := response.read(chunk):
                yield data
        finally:
            response.close()
