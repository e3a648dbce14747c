"""The key-pair service API: what every front end calls for a user's key pairs.

Key pairs belong to the user, not the project; the per-user count is checked
against the project's ``key_pairs`` quota.  Key material comes from
``nova.keypair.crypto``.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from nova import context as nova_context
from nova import exception, quota
from nova.db import api as db
from nova.keypair import crypto
from nova.tag import api as tag_api

Context = nova_context.RequestContext
LOG = logging.getLogger(__name__)
RESOURCE_TYPE = "key-pair"


def _id_text(key_pair_id: int) -> str:
    return f"key-{key_pair_id:08x}"


class API:
    def get_all(self, ctxt: Context, names: Iterable[str] = (), ids: Iterable[int] = ()) -> list[Any]:
        """The caller's key pairs, narrowed to ``names`` and ``ids`` when given.

        A name or id the caller has no key pair for raises KeypairNotFound.
        """
        rows = db.key_pair_get_all_by_user(ctxt, ctxt.user_id)
        names, ids = list(names), list(ids)
        for name in names:
            if not any(r["name"] == name for r in rows):
                raise exception.KeypairNotFound(name=name, user_id=ctxt.user_id)
        for key_pair_id in ids:
            if not any(r["id"] == key_pair_id for r in rows):
                raise exception.KeypairIdNotFound(key_pair_id=_id_text(key_pair_id), name=_id_text(key_pair_id),
                                                  user_id=ctxt.user_id)
        if names:
            rows = [r for r in rows if r["name"] in names]
        if ids:
            rows = [r for r in rows if r["id"] in ids]
        return rows

    def get_by_id(self, ctxt: Context, key_pair_id: int) -> Any:
        """One of the caller's key pairs by database id; KeypairNotFound otherwise."""
        return self.get_all(ctxt, ids=[key_pair_id])[0]

    def create(self, ctxt: Context, name: str, key_type: str = "rsa",
               tags: dict[str, str | None] | None = None) -> tuple[Any, str]:
        """A new key pair and its private key (PEM); the private key is not kept."""
        self._check_quota(ctxt)
        material, public_key, fingerprint = crypto.generate(key_type)
        return self._store(ctxt, name, public_key, fingerprint, tags), material

    def import_key(self, ctxt: Context, name: str, public_key_material: bytes,
                   tags: dict[str, str | None] | None = None) -> Any:
        """Store the user's own public key (OpenSSH, PEM or DER); InvalidKeyFormat when it is none."""
        if not public_key_material or not public_key_material.strip():
            raise exception.MissingParameter(param="the public key material")
        _key_type, public_key, fingerprint = crypto.load_public_key(public_key_material)
        self._check_quota(ctxt)
        return self._store(ctxt, name, public_key, fingerprint, tags)

    def delete(self, ctxt: Context, name: str | None = None, key_pair_id: int | None = None) -> None:
        """Delete the caller's key pair(s) matching ``name`` and/or ``key_pair_id``; none matching is fine."""
        rows = db.key_pair_get_all_by_user(ctxt, ctxt.user_id)
        if key_pair_id is not None:
            rows = [r for r in rows if r["id"] == key_pair_id]
        if name:
            rows = [r for r in rows if r["name"] == name]
        for row in rows:
            db.key_pair_destroy(ctxt, ctxt.user_id, row["name"])
            tag_api.API().delete_all(ctxt, RESOURCE_TYPE, row["id"])
            LOG.info("Deleted key pair %s of user %s", row["id"], ctxt.user_id)

    @staticmethod
    def key_type(row: Any) -> str:
        return crypto.key_type_of(row["public_key"])

    @staticmethod
    def _check_quota(ctxt: Context) -> None:
        in_use = db.key_pair_count_by_user(ctxt, ctxt.user_id)
        if quota.allowed(ctxt, ctxt.project_id, "key_pairs", in_use, 1) < 1:
            raise exception.QuotaError(reason=f"at most {in_use} key pairs per user")

    @staticmethod
    def _store(ctxt: Context, name: str, public_key: str, fingerprint: str,
               tags: dict[str, str | None] | None) -> Any:
        row = db.key_pair_create(ctxt, {"name": name, "user_id": ctxt.user_id, "public_key": public_key,
                                        "fingerprint": fingerprint})
        if tags:
            tag_api.API().apply(ctxt, RESOURCE_TYPE, row["id"], tags)
        LOG.info("Created key pair %s for user %s", row["id"], ctxt.user_id)
        return row


tag_api.register_taggable(RESOURCE_TYPE, lambda ctxt, key_pair_id: API().get_by_id(ctxt, key_pair_id))
