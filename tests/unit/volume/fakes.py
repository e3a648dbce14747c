"""A volume driver for unit tests: volumes are byte strings in memory, exports are a set."""

from __future__ import annotations

from typing import Any


class MemoryDriver:
    """Keeps what a real driver would keep, in dicts; ``fail`` names operations that raise."""

    instances: list["MemoryDriver"] = []

    def __init__(self, execute: Any = None) -> None:
        self.volumes: dict[str, bytes] = {}
        self.snapshots: dict[str, bytes] = {}
        self.exports: dict[str, int] = {}
        self.fail: set[str] = set()
        MemoryDriver.instances.append(self)

    def _maybe_fail(self, what: str) -> None:
        if what in self.fail:
            raise RuntimeError(f"{what} failed on purpose")

    def check_for_setup_error(self) -> None:
        self._maybe_fail("setup")

    def create_volume(self, volume: Any) -> None:
        self._maybe_fail("create")
        self.volumes[volume["name"]] = b"\0" * volume["size"]

    def create_volume_from_snapshot(self, volume: Any, snapshot: Any) -> None:
        self._maybe_fail("create")
        data = self.snapshots[snapshot["name"]]
        self.volumes[volume["name"]] = data + b"\0" * (volume["size"] - len(data))

    def delete_volume(self, volume: Any) -> None:
        self._maybe_fail("delete")
        self.volumes.pop(volume["name"], None)

    def create_snapshot(self, snapshot: Any, volume: Any) -> None:
        self._maybe_fail("snapshot")
        self.snapshots[snapshot["name"]] = self.volumes[volume["name"]]

    def delete_snapshot(self, snapshot: Any) -> None:
        self.snapshots.pop(snapshot["name"], None)

    def local_path(self, volume: Any) -> str:
        return f"/memory/{volume['name']}"

    def create_export(self, ctxt: Any, volume: Any, target_num: int) -> dict[str, Any]:
        self._maybe_fail("export")
        self.exports[volume["name"]] = target_num
        return {"provider_location": f"127.0.0.1:3260,{target_num} iqn.test:{volume['name']} 1",
                "provider_auth": None}

    def ensure_export(self, ctxt: Any, volume: Any, target_num: int) -> None:
        self.exports[volume["name"]] = target_num

    def remove_export(self, ctxt: Any, volume: Any, target_num: int) -> None:
        self.exports.pop(volume["name"], None)

    def initialize_connection(self, volume: Any) -> dict[str, Any]:
        return {"driver_volume_type": "iscsi",
                "data": {"target_portal": "127.0.0.1:3260", "target_iqn": f"iqn.test:{volume['name']}",
                         "target_lun": 1, "volume_id": volume["id"], "auth_method": None,
                         "auth_username": None, "auth_password": None}}
