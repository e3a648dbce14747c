"""The request context every manager, API and db call takes first."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from nova import log


def generate_request_id() -> str:
    """A new request id, ``req-<uuid4>``: what every log line of the request names."""
    return f"req-{uuid.uuid4()}"


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


@dataclass
class RequestContext:
    """Who is asking, for which project, and which request this is."""

    user_id: str | None
    project_id: str | None
    roles: list[str] = field(default_factory=list)
    is_admin: bool = False
    request_id: str = field(default_factory=generate_request_id)
    remote_address: str | None = None
    read_deleted: bool = False
    timestamp: datetime.datetime = field(default_factory=_utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
            "is_admin": self.is_admin,
            "request_id": self.request_id,
            "remote_address": self.remote_address,
            "read_deleted": self.read_deleted,
            "timestamp": self.timestamp.isoformat(),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RequestContext":
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        stamp = known.get("timestamp")
        if isinstance(stamp, str):
            known["timestamp"] = datetime.datetime.fromisoformat(stamp)
        return cls(**known)

    def elevated(self, read_deleted: bool | None = None) -> "RequestContext":
        """An admin copy of this context, keeping the request id."""
        roles = list(self.roles)
        if "admin" not in roles:
            roles.append("admin")
        return replace(
            self,
            is_admin=True,
            roles=roles,
            read_deleted=self.read_deleted if read_deleted is None else read_deleted,
        )


def get_admin_context(read_deleted: bool = False) -> RequestContext:
    """An admin context; inside a request (an API call, an RPC message) it keeps that request's id."""
    return RequestContext(user_id=None, project_id=None, is_admin=True, roles=["admin"], read_deleted=read_deleted,
                          request_id=log.current_request_id() or generate_request_id())
