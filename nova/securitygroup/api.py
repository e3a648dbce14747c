"""The security-group service API: groups, rules, source groups, the ``default`` group and quotas."""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import exception
from nova.db import api as db
from nova.tag import api as tag_api

Context = nova_context.RequestContext


class API:
    def get(self, ctxt: Context, group_id: int) -> Any:
        """SecurityGroupNotFound also for another project's group."""
        return db.security_group_get(ctxt, group_id)

    def get_by_name(self, ctxt: Context, name: str, project_id: str | None = None) -> Any:
        project_id = project_id or ctxt.project_id
        try:
            return db.security_group_get_by_name(ctxt, project_id, name)
        except exception.NotFound:
            raise exception.SecurityGroupNotFoundForProject(security_group_id=name, project_id=project_id) from None

    def ensure_default(self, ctxt: Context) -> Any:
        """The project's ``default`` group, created on first use as in the first Nova."""
        try:
            return db.security_group_get_by_name(ctxt, ctxt.project_id, "default")
        except exception.NotFound:
            pass
        try:
            return db.security_group_create(ctxt, {"name": "default", "description": "default",
                                                   "user_id": ctxt.user_id, "project_id": ctxt.project_id})
        except exception.SecurityGroupExists:
            return db.security_group_get_by_name(ctxt, ctxt.project_id, "default")


tag_api.register_taggable("security-group", lambda ctxt, group_id: API().get(ctxt, group_id))
