"""/os-keypairs: list, create (generated or imported), show, delete."""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack.server_view import isotime
from nova.api.openstack.wsgi import ApiRequest, Result, string_field
from nova.keypair import api as keypair_api


def _view(row: Any) -> dict[str, Any]:
    return {"name": row["name"], "public_key": row["public_key"], "fingerprint": row["fingerprint"],
            "type": "ssh"}


class KeypairsController:
    def __init__(self) -> None:
        self.keypairs = keypair_api.API()

    def index(self, req: ApiRequest) -> dict[str, Any]:
        rows = sorted(self.keypairs.get_all(req.ctxt), key=lambda r: r["name"])
        return {"keypairs": [{"keypair": _view(r)} for r in rows]}

    def show(self, req: ApiRequest, name: str) -> dict[str, Any]:
        row = self.keypairs.get_all(req.ctxt, names=[name])[0]
        body = _view(row)
        body.update({"id": row["id"], "user_id": row["user_id"], "created_at": isotime(row["created_at"]),
                     "updated_at": isotime(row["updated_at"]), "deleted": False, "deleted_at": None})
        return {"keypair": body}

    def create(self, req: ApiRequest) -> dict[str, Any]:
        values = req.body("keypair")
        name = string_field(values, "name")
        key_type = values.get("type", "ssh")
        if key_type not in ("ssh", "x509"):
            raise faults.Fault(400, "'type' must be 'ssh' or 'x509'.")
        public_key = values.get("public_key")
        if any(r["name"] == name for r in self.keypairs.get_all(req.ctxt)):
            raise faults.Fault(409, f"Key pair '{name}' already exists.")
        try:
            if public_key is not None:
                if not isinstance(public_key, str) or not public_key.strip():
                    raise faults.Fault(400, "'public_key' must be a non-empty string.")
                row, private_key = self.keypairs.import_key(req.ctxt, name, public_key.encode("utf-8")), None
            else:
                row, private_key = self.keypairs.create(req.ctxt, name)
        except exception.InvalidKeyFormat as exc:
            raise faults.Fault(400, f"Keypair data is invalid: {exc}") from None
        except exception.KeyPairExists:
            raise faults.Fault(409, f"Key pair '{name}' already exists.") from None
        body = _view(row)
        body["user_id"] = row["user_id"]
        if private_key is not None:
            body["private_key"] = private_key
        return {"keypair": body}

    def delete(self, req: ApiRequest, name: str) -> Result:
        self.keypairs.get_all(req.ctxt, names=[name])
        self.keypairs.delete(req.ctxt, name=name)
        return Result(None, 202)
