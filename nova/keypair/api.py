"""The key-pair service API: what every front end calls for a user's key pairs."""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import exception
from nova.db import api as db
from nova.tag import api as tag_api

Context = nova_context.RequestContext


class API:
    def get_all(self, ctxt: Context) -> list[Any]:
        """The caller's key pairs."""
        return db.key_pair_get_all_by_user(ctxt, ctxt.user_id)

    def get_by_id(self, ctxt: Context, key_pair_id: int) -> Any:
        """One of the caller's key pairs by database id; KeypairNotFound otherwise."""
        for row in self.get_all(ctxt):
            if row["id"] == key_pair_id:
                return row
        raise exception.KeypairNotFound(name=f"key-{key_pair_id:08x}", user_id=ctxt.user_id)


tag_api.register_taggable("key-pair", lambda ctxt, key_pair_id: API().get_by_id(ctxt, key_pair_id))
