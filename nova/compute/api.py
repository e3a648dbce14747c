"""compute.API: what the front ends call to run and manage instances.

It validates a request (flavor, image, key pair, security groups, quotas),
writes the instance rows and sends the RPC: ``run_instance`` to the
scheduler, the other actions straight to the compute host that runs the
instance, through the typed clients ``nova.scheduler.rpcapi`` and
``nova.compute.rpcapi``.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import string
from typing import Any

from nova import context as nova_context
from nova import exception, flags, quota, rpc, servicegroup, utils
from nova.compute import instance_types
from nova.compute import block_devices, group_refresh
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import states
from nova.db import api as db
from nova.image import api as image_api
from nova.image import get_default_image_service
from nova.scheduler import rpcapi as scheduler_rpcapi
from nova.securitygroup import api as security_group_api
from nova.tag import api as tag_api
from nova.volume import api as volume_api

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

Context = nova_context.RequestContext
Row = Any

_RESERVATION_ALPHABET = string.ascii_lowercase + string.digits
# What a launch without an image (it boots from a root volume of its block device mappings) starts from.
_NO_IMAGE: dict[str, Any] = {"id": None, "kernel_id": None, "ramdisk_id": None, "properties": {}}
# An image is remembered only when its row last changed this long before it was read: the launch's write tells
# a row from the one read by when it last changed, which MariaDB keeps in whole seconds (and hosts' clocks differ
# a little), so a change made after the read must carry a later time than the one read.
_SETTLED = datetime.timedelta(seconds=5)
SHUTDOWN_BEHAVIORS = ("stop", "terminate")
_FILTERS = {"instance_ids", "reservation_id", "vm_state", "host", "fixed_ip", "key_name",
            "availability_zone", "project_id", "uuid"}

# Attributes that change only while the instance is stopped (see API.set_attribute).
_STOPPED_ATTRIBUTES = ("instance_type", "kernel_id", "ramdisk_id", "user_data")
# Which vm_state an action needs, the task it starts, and the compute method it casts.
_ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "reboot": ((states.ACTIVE,), states.REBOOTING, "reboot_instance"),
    "stop": ((states.ACTIVE,), states.STOPPING, "stop_instance"),
    "start": ((states.STOPPED,), states.STARTING, "start_instance"),
    "pause": ((states.ACTIVE,), states.PAUSING, "pause_instance"),
    "unpause": ((states.PAUSED,), states.UNPAUSING, "unpause_instance"),
    "suspend": ((states.ACTIVE,), states.SUSPENDING, "suspend_instance"),
    "resume": ((states.SUSPENDED,), states.RESUMING, "resume_instance"),
    "rescue": ((states.ACTIVE, states.STOPPED), states.RESCUING, "rescue_instance"),
    "unrescue": ((states.RESCUED,), states.UNRESCUING, "unrescue_instance"),
}


class _Remembered:
    """Flavors by name, each project's default group and the images launches last read, so a launch
    reads none of them (three statements of every RunInstances).  A launch using them has its write
    check them: ``db.instance_create_many`` links the instances to groups that are live and as
    remembered (id, name, project) only, and only when their flavor is a live row with the values
    remembered and each remembered image is live, available, visible to the launching context and
    unchanged since it was read, else refuses (InstanceTypeNotFound, SecurityGroupNotFound,
    ImageNotFound) and writes nothing; the launch then forgets them all and runs again reading afresh.
    So a flavor, group or image deleted, changed or hidden by any process is never launched with."""

    LIMIT = 1000

    def __init__(self) -> None:
        self.flavors: dict[str, Row] = {}
        self.default_groups: dict[str, Row] = {}
        # (project, admin or not, image id, kind) -> the image as read, launchable then
        self.images: dict[tuple[Any, ...], dict[str, Any]] = {}

    def remember(self, table: dict[Any, Any], key: Any, row: Any) -> None:
        if len(table) >= self.LIMIT:
            table.clear()
        table[key] = row

    def forget(self) -> None:
        self.flavors.clear()
        self.default_groups.clear()
        self.images.clear()


_REMEMBERED = _Remembered()


class _Attempt:
    """One try of a launch: whether it may use what ``_REMEMBERED`` holds and leave the quota check to the
    write, and whether it did (a refusal is then tried again, reading everything afresh)."""

    def __init__(self, trust_remembered: bool) -> None:
        self.trust_remembered = trust_remembered
        self.used_remembered = False
        self.remembered_images: list[dict[str, Any]] = []  # for the write to check


class Launched(list):
    """The instance rows ``API.create`` answers with; ``replayed`` when they are those an earlier request
    with the same client token made (they may have changed since), not rows just written."""

    def __init__(self, rows: list[Row], replayed: bool) -> None:
        super().__init__(rows)
        self.replayed = replayed


def generate_reservation_id(ctxt: Context | None = None, client_token: str | None = None) -> str:
    """``r-`` and eight characters: random, or derived from the project and client token.

    Deriving it from the token makes a retried request find the reservation
    the first attempt made.
    """
    if client_token:
        seed = f"{getattr(ctxt, 'project_id', '')}\0{client_token}".encode()
        return "r-" + hashlib.sha256(seed).hexdigest()[:8]
    return "r-" + "".join(secrets.choice(_RESERVATION_ALPHABET) for _ in range(8))


def _checked_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    """``filters`` without None values; InvalidInput for an unknown one or a bad instance id."""
    filters = {k: v for k, v in (filters or {}).items() if v is not None}
    unknown = sorted(set(filters) - _FILTERS)
    if unknown:
        raise exception.InvalidInput(reason=f"unknown instance filter(s): {', '.join(unknown)}")
    if "instance_ids" in filters:
        filters["instance_ids"] = [_int_id(v, "instance id") for v in filters["instance_ids"]]
    return filters


def _int_id(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exception.InvalidInput(reason=f"{what} must be an integer id, not {value!r}") from None


class API:
    """The compute service API (see the module docstring)."""

    def __init__(self, image_service: Any = None) -> None:
        self.image_service = image_service or get_default_image_service()

    # -- create -------------------------------------------------------------

    def create(
        self,
        ctxt: Context,
        instance_type: str | None,
        image_id: int | None,
        min_count: int = 1,
        max_count: int = 1,
        key_name: str | None = None,
        security_groups: list[str] | None = None,
        user_data: str | None = None,
        availability_zone: str | None = None,
        kernel_id: int | None = None,
        ramdisk_id: int | None = None,
        display_name: str | None = None,
        client_token: str | None = None,
        metadata: dict[str, str] | None = None,
        block_device_mapping: list[dict[str, Any]] | None = None,
        disable_api_termination: bool = False,
        shutdown_behavior: str = "stop",
    ) -> tuple[str, Launched]:
        """Validate, write ``building`` instance rows and ask the scheduler to place them.

        Returns (reservation id, instance rows: those written, or with ``replayed`` those of the
        earlier request with this client token).  Launches as many instances
        as quotas allow up to ``max_count``; fewer than ``min_count`` is a
        QuotaError.  The same ``client_token`` in the same project returns the
        reservation made the first time.  ``block_device_mapping`` (see
        ``nova.compute.block_devices``) gives each instance volumes, its root
        device among them for an EBS image; they are created before the
        instances are scheduled and attached when they are built.  Without an
        ``image_id`` the mappings must give the root device (``/dev/vda``): the
        instance boots from that volume, with no kernel or ramdisk of its own.
        ``disable_api_termination`` makes ``delete`` refuse the instances until
        it is cleared; ``shutdown_behavior`` is ``stop`` or ``terminate``.
        """
        min_count, max_count = self._counts(min_count, max_count)
        self._shutdown_behavior(shutdown_behavior)
        if client_token:
            reservation_id = generate_reservation_id(ctxt, client_token)
            existing = db.instance_get_by_reservation(ctxt, reservation_id, ctxt.project_id)
            if existing:
                return reservation_id, Launched(existing, replayed=True)
        else:
            reservation_id = generate_reservation_id()
        request = dict(instance_type=instance_type, image_id=image_id, min_count=min_count, max_count=max_count,
                       key_name=key_name, security_groups=security_groups, user_data=user_data,
                       availability_zone=availability_zone, kernel_id=kernel_id, ramdisk_id=ramdisk_id,
                       display_name=display_name, metadata=metadata, block_device_mapping=block_device_mapping,
                       disable_api_termination=disable_api_termination, shutdown_behavior=shutdown_behavior)
        attempt = _Attempt(trust_remembered=True)
        try:
            written = self._write_launch(ctxt, reservation_id, attempt, **request)
        except exception.NovaException as exc:
            if not attempt.used_remembered or isinstance(exc, exception.DatabaseError):
                raise
            # Nothing was written.  Refused by the write, a remembered flavor or default group is gone; and
            # any other failure is told as reading afresh would tell it (which error comes first, a quota
            # reckoned with a flavor's new values): so again, reading afresh.
            if isinstance(exc, (exception.InstanceTypeNotFound, exception.SecurityGroupNotFound,
                                exception.ImageNotFound)):
                _REMEMBERED.forget()
            written = self._write_launch(ctxt, reservation_id, _Attempt(trust_remembered=False), **request)
        instances, flavor, image, mappings, zone, forced_host = written
        if mappings:
            self._create_volumes(ctxt, instances, mappings, zone)
        try:
            for instance in instances:
                scheduler_rpcapi.SchedulerAPI().run_instance(
                    ctxt, FLAGS.compute_topic, instance["id"], availability_zone=availability_zone,
                    forced_host=forced_host, vcpus=instance["vcpus"], memory_mb=instance["memory_mb"])
        except rpc.RpcError as exc:
            for instance in instances:
                self._set_error(ctxt, instance["id"], f"could not reach the scheduler: {exc}")
            raise exception.ServiceUnavailable(reason=f"the scheduler is unreachable: {exc}") from exc
        LOG.info("Reservation %s: %d instance(s) of %s from %s", reservation_id, len(instances), flavor["name"],
                 f"image {image['id']}" if image["id"] is not None else "a root volume")
        # The rows as written (pending, with their flavor, groups and metadata): reading them back would
        # cost statements and could only show what the scheduler has started meanwhile.
        return reservation_id, Launched(instances, replayed=False)

    def _write_launch(self, ctxt: Context, reservation_id: str, attempt: "_Attempt", *, instance_type: str | None,
                      image_id: int | None, min_count: int, max_count: int, key_name: str | None,
                      security_groups: list[str] | None, user_data: str | None, availability_zone: str | None,
                      kernel_id: int | None, ramdisk_id: int | None, display_name: str | None,
                      metadata: dict[str, str] | None, block_device_mapping: list[dict[str, Any]] | None,
                      disable_api_termination: bool, shutdown_behavior: str) -> tuple[Any, ...]:
        """Validate a launch and write its rows, in one transaction (one BEGIN and COMMIT, not one per
        statement) that ends before the scheduler hears of them: (instances, flavor, image, block device
        mappings, zone, forced host)."""
        with db.one_transaction():
            flavor = self._flavor(instance_type, attempt)
            image = (self._launchable_image(ctxt, image_id, "machine", attempt) if image_id is not None
                     else _NO_IMAGE)
            kernel_id = kernel_id if kernel_id is not None else image.get("kernel_id")
            ramdisk_id = ramdisk_id if ramdisk_id is not None else image.get("ramdisk_id")
            if kernel_id is not None:
                kernel_id = self._launchable_image(ctxt, kernel_id, "kernel", attempt)["id"]
            if ramdisk_id is not None:
                ramdisk_id = self._launchable_image(ctxt, ramdisk_id, "ramdisk", attempt)["id"]
            zone, forced_host = self._zone(ctxt, availability_zone)
            key_data = None
            if key_name:
                key_data = db.key_pair_get(ctxt, ctxt.user_id, key_name)["public_key"]
            root_device_name, mappings = block_devices.merge(image, block_device_mapping)
            self._check_mapped_sources(ctxt, mappings)
            groups = self._security_groups(ctxt, security_groups, attempt)
            metadata = self._metadata(ctxt, metadata)
            if image_id is None and root_device_name is None:
                raise exception.InvalidInput(
                    reason="without an image, a block device mapping must give the root device")
            if attempt.trust_remembered and ctxt.project_id is not None:
                # All max_count, if the write finds they fit the quotas (no read first); when they do not,
                # the launch is tried again reading afresh, which finds how many fit and says why.
                count, quota_limits = max_count, quota.default_quotas()
                attempt.used_remembered = True
            else:
                count, quota_limits = self._allowed_count(ctxt, flavor, min_count, max_count), None
            if any(m.get("volume_id") for m in mappings) and count > 1:
                raise exception.InvalidInput(reason="an existing volume can be mapped to one instance only")

            base = {
                "reservation_id": reservation_id,
                "image_id": str(image["id"]) if image["id"] is not None else None,
                "kernel_id": str(kernel_id) if kernel_id is not None else None,
                "ramdisk_id": str(ramdisk_id) if ramdisk_id is not None else None,
                "instance_type_id": flavor["id"],
                "memory_mb": flavor["memory_mb"],
                "vcpus": flavor["vcpus"],
                "local_gb": flavor["local_gb"],
                "user_id": ctxt.user_id,
                "project_id": ctxt.project_id,
                "key_name": key_name,
                "key_data": key_data,
                "user_data": user_data,
                "availability_zone": zone,
                "display_name": display_name,
                "metadata": metadata,
                "vm_state": states.BUILDING,
                "task_state": states.SCHEDULING,
                "power_state": states.NOSTATE,
                "root_device_name": root_device_name,
                "disable_api_termination": bool(disable_api_termination),
                "shutdown_behavior": shutdown_behavior,
            }
            instances = self._write_instances(ctxt, base, count, groups, flavor, quota_limits,
                                              attempt.remembered_images)
        return instances, flavor, image, mappings, zone, forced_host

    @staticmethod
    def _counts(min_count: Any, max_count: Any) -> tuple[int, int]:
        try:
            low, high = int(min_count), int(max_count)
        except (TypeError, ValueError):
            raise exception.InvalidInput(reason="MinCount and MaxCount must be integers") from None
        if low < 1 or high < 1:
            raise exception.InvalidInput(reason="MinCount and MaxCount must be at least 1")
        if low > high:
            raise exception.InvalidInput(reason=f"MinCount ({low}) is greater than MaxCount ({high})")
        return low, high

    @staticmethod
    def _shutdown_behavior(value: Any) -> str:
        if value not in SHUTDOWN_BEHAVIORS:
            raise exception.InvalidInput(reason=f"the shutdown behavior must be one of "
                                                f"{', '.join(SHUTDOWN_BEHAVIORS)}, not {str(value)[:32]!r}")
        return value

    @staticmethod
    def _metadata(ctxt: Context, metadata: dict[str, str] | None) -> dict[str, str]:
        """Instance metadata: string keys (1-255) and values (up to 255), within the metadata_items quota."""
        metadata = dict(metadata or {})
        for key, value in metadata.items():
            if not isinstance(key, str) or not 0 < len(key) <= 255:
                raise exception.InvalidInput(reason="metadata keys must be strings of 1 to 255 characters")
            if not isinstance(value, str) or len(value) > 255:
                raise exception.InvalidInput(reason=f"metadata value of {key[:32]!r} must be a string of at "
                                                    "most 255 characters")
        quota.check_metadata_items(ctxt, len(metadata))
        return metadata

    def _launchable_image(self, ctxt: Context, image_id: Any, kind: str, attempt: "_Attempt") -> dict[str, Any]:
        """The image, checked launchable as a ``kind`` image: as remembered (the write checks it is still
        so), or read and, when nova's own image service keeps it in the database and it has not changed
        for ``_SETTLED``, remembered."""
        key = (ctxt.project_id, bool(ctxt.is_admin), image_id, kind)
        image = _REMEMBERED.images.get(key) if attempt.trust_remembered and isinstance(image_id, int) else None
        if image is not None:
            attempt.used_remembered = True
            attempt.remembered_images.append(image)
            return image
        image = image_api.API(self.image_service).show(ctxt, image_id)
        if (image.get("type") or "machine") != kind:
            raise exception.InvalidImage(image_id=image_id, reason=f"it is a {image.get('type')} image, "
                                                                  f"not a {kind} image")
        if image.get("state") != "available":
            raise exception.ImageNotActive(image_id=image_id, state=image.get("state"))
        changed = image.get("updated_at") or image.get("created_at")
        if (isinstance(image_id, int) and getattr(self.image_service, "rows_in_database", False)
                and changed is not None and utils.utcnow() - changed >= _SETTLED):
            _REMEMBERED.remember(_REMEMBERED.images, key, image)
        return image

    @staticmethod
    def _zone(ctxt: Context, availability_zone: str | None) -> tuple[str | None, str | None]:
        """Split ``zone:host``; only an admin may name a host."""
        if not availability_zone:
            return None, None
        zone, _, host = availability_zone.partition(":")
        if host:
            if not ctxt.is_admin:
                raise exception.NotAuthorized("Only an admin may place an instance on a given host.")
            return zone or None, host
        return zone, None

    @staticmethod
    def _flavor(name: str | None, attempt: "_Attempt") -> Row:
        """The flavor a launch names (remembered, or read and remembered)."""
        key = FLAGS.default_instance_type if name is None else name
        row = _REMEMBERED.flavors.get(key) if attempt.trust_remembered and isinstance(key, str) else None
        if row is not None:
            attempt.used_remembered = True
            return row
        row = instance_types.get_instance_type_by_name(name)
        _REMEMBERED.remember(_REMEMBERED.flavors, key, row)
        return row

    def _security_groups(self, ctxt: Context, names: list[str] | None, attempt: "_Attempt") -> list[Row]:
        """The groups to launch in, without their rules (a launch needs only their ids and names)."""
        names = list(dict.fromkeys(names or ["default"]))
        default = self._default_group(ctxt, attempt) if "default" in names else None
        return [default if name == "default" else self._security_group(ctxt, name) for name in names]

    @staticmethod
    def _default_group(ctxt: Context, attempt: "_Attempt") -> Row:
        """The project's default group (remembered, or read, made if need be, and remembered)."""
        row = _REMEMBERED.default_groups.get(ctxt.project_id) if attempt.trust_remembered else None
        if row is not None:
            attempt.used_remembered = True
            return row
        row = security_group_api.API().ensure_default(ctxt, with_rules=False)
        if ctxt.project_id is not None:
            _REMEMBERED.remember(_REMEMBERED.default_groups, ctxt.project_id, row)
        return row

    @staticmethod
    def _security_group(ctxt: Context, name: str) -> Row:
        """A group of the caller's project by name, or by id as the network API shows it (what the
        ``openstack`` CLI sends when a network endpoint is in the catalog)."""
        try:
            return db.security_group_get_by_name(ctxt, ctxt.project_id, name, with_rules=False)
        except exception.NotFound:
            pass
        if utils.decimal(name, 9) is not None:
            try:
                group = db.security_group_get(ctxt, int(name))
            except exception.NotFound:
                group = None
            if group is not None and group["project_id"] == ctxt.project_id:
                return group
        raise exception.SecurityGroupNotFoundForProject(security_group_id=name, project_id=ctxt.project_id)

    @staticmethod
    def ensure_default_security_group(ctxt: Context) -> Row:
        return security_group_api.API().ensure_default(ctxt)

    @staticmethod
    def _allowed_count(ctxt: Context, flavor: Row, min_count: int, max_count: int) -> int:
        if ctxt.project_id is None:
            return max_count
        (used_instances, used_cores, used_ram), limits = quota.instance_usage_and_limits(ctxt, ctxt.project_id)
        by_resource = {
            "instances": quota.allowed_within(limits, "instances", used_instances, max_count),
            "cores": quota.allowed_within(limits, "cores", used_cores,
                                          max_count * flavor["vcpus"]) // max(flavor["vcpus"], 1),
            "ram": quota.allowed_within(limits, "ram", used_ram,
                                        max_count * flavor["memory_mb"]) // max(flavor["memory_mb"], 1),
        }
        count = min(by_resource.values())
        if count < min_count:
            tight = min(by_resource, key=by_resource.get)
            limit = limits[tight]
            used = {"instances": used_instances, "cores": used_cores, "ram": used_ram}[tight]
            raise exception.QuotaError(
                reason=f"{tight} quota is {limit} and {used} is in use; "
                       f"{min_count} more {flavor['name']} instance(s) do not fit")
        return count

    @staticmethod
    def _write_instances(ctxt: Context, base: dict[str, Any], count: int, groups: list[Row],
                         flavor: Row, quota_limits: dict[str, int] | None,
                         remembered_images: list[dict[str, Any]]) -> list[Row]:
        """All rows or none: one transaction, so a failure (a database outage) leaves nothing behind."""
        return db.instance_create_many(ctxt, [dict(base, launch_index=index) for index in range(count)],
                                       security_group_ids=[group["id"] for group in groups],
                                       hostname_format="i-%08x", instance_type=flavor, groups=groups,
                                       quota_limits=quota_limits, images_as_read=remembered_images)

    @staticmethod
    def _check_mapped_sources(ctxt: Context, mappings: list[dict[str, Any]]) -> None:
        """Every mapped snapshot and volume is the caller's, before any row is written: a launch naming
        another project's (or a missing) one fails with not-found and leaves nothing, not even a deleted row.
        The states are checked again, atomically, when the volumes are made or reserved."""
        volumes = volume_api.API()
        for mapping in mappings:
            if mapping.get("volume_id") is not None:
                volumes.get(ctxt, mapping["volume_id"])
            elif mapping.get("snapshot_id") is not None:
                volumes.get_snapshot(ctxt, mapping["snapshot_id"])

    @staticmethod
    def _create_volumes(ctxt: Context, instances: list[Row], mappings: list[dict[str, Any]],
                        zone: str | None) -> None:
        """Each instance's volumes, reserved for it; on any failure none of the launch is left."""
        volumes = volume_api.API()
        made: list[int] = []
        try:
            for instance in instances:
                for mapping in mappings:
                    delete = mapping.get("delete_on_termination")
                    delete = (mapping.get("volume_id") is None) if delete is None else bool(delete)
                    if mapping.get("volume_id") is not None:
                        volumes.reserve_for_instance(ctxt, mapping["volume_id"], instance["id"],
                                                     mapping["device_name"], delete)
                        continue
                    made.append(volumes.create(
                        ctxt, size=mapping.get("volume_size"), snapshot_id=mapping.get("snapshot_id"),
                        availability_zone=zone, for_instance=(instance["id"], mapping["device_name"], delete),
                    )["id"])
        except Exception:
            for instance in instances:
                for volume in db.volume_get_all_by_instance(ctxt, instance["id"]):
                    db.volume_update(ctxt, volume["id"], {"instance_id": None, "mountpoint": None,
                                                          "delete_on_termination": False})
                db.instance_destroy(ctxt, instance["id"])
            for volume_id in made:
                try:
                    db.volume_update(ctxt, volume_id, {"status": "error", "fault": "its launch failed"})
                    volumes.delete(ctxt, volume_id)
                except exception.NovaException:
                    LOG.exception("Could not remove volume %s of a failed launch", volume_id)
            raise

    @staticmethod
    def _set_error(ctxt: Context, instance_id: int, reason: str) -> None:
        db.instance_update(ctxt, instance_id, {"vm_state": states.ERROR, "task_state": None, "fault": reason})

    # -- reading ------------------------------------------------------------

    def get(self, ctxt: Context, instance_id: int, related: bool = True) -> Row:
        """Raises InstanceNotFound, also for another project's instance.  Without ``related``, the row
        and its flavor only (one statement; its metadata and groups may not be read)."""
        return db.instance_get(ctxt, _int_id(instance_id, "instance id"), related)

    def get_by_uuid(self, ctxt: Context, instance_uuid: str) -> Row:
        """The instance with this uuid; InstanceNotFound also for another project's."""
        if not isinstance(instance_uuid, str) or not 0 < len(instance_uuid) <= 36:
            raise exception.InstanceNotFound(instance_id=str(instance_uuid)[:40])
        rows = db.instance_get_all_by_filters(ctxt, {"uuid": instance_uuid})
        if not rows:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return rows[0]

    def rename(self, ctxt: Context, instance_id: int, display_name: str) -> Row:
        instance = self.get(ctxt, instance_id)
        return db.instance_update(ctxt, instance["id"], {"display_name": display_name})

    def set_attribute(self, ctxt: Context, instance_id: int, name: str, value: Any) -> Row:
        """Change one launch attribute of an instance; returns the updated row.

        ``instance_type`` (a flavor name, within the cores and ram quotas),
        ``kernel_id``, ``ramdisk_id`` (image ids, None to drop) and
        ``user_data`` change only while the instance is stopped: they apply
        when it starts.  ``disable_api_termination`` (bool) and
        ``shutdown_behavior`` (stop or terminate) change at any time.
        """
        instance = self.get(ctxt, instance_id)
        if name == "disable_api_termination":
            return db.instance_update(ctxt, instance["id"], {name: bool(value)})
        if name == "shutdown_behavior":
            return db.instance_update(ctxt, instance["id"], {name: self._shutdown_behavior(value)})
        if name not in _STOPPED_ATTRIBUTES:
            raise exception.InvalidInput(reason=f"unknown instance attribute {str(name)[:64]!r}")
        if instance["vm_state"] != states.STOPPED or instance["task_state"] is not None:
            raise exception.InstanceInvalidState(
                f"The instance {instance['id']} is not in the 'stopped' state; stop it to change its {name}.",
                instance_id=instance["id"], state=instance["task_state"] or instance["vm_state"],
                action=f"change the {name} of")
        if name == "instance_type":
            return db.instance_update(ctxt, instance["id"], self._resized(ctxt, instance, value))
        if name in ("kernel_id", "ramdisk_id") and value is not None:
            value = str(self._launchable_image(ctxt, value, name[:-3], _Attempt(trust_remembered=False))["id"])
        return db.instance_update(ctxt, instance["id"], {name: value})

    @staticmethod
    def _resized(ctxt: Context, instance: Row, flavor_name: str) -> dict[str, Any]:
        """The row values of ``instance`` as ``flavor_name``; QuotaError if its growth does not fit."""
        flavor = instance_types.get_instance_type_by_name(flavor_name)
        if ctxt.project_id is not None:
            _count, used_cores, used_ram = db.instance_data_get_for_project(ctxt.elevated(), ctxt.project_id)
            for resource, used, grow in (("cores", used_cores, flavor["vcpus"] - (instance["vcpus"] or 0)),
                                         ("ram", used_ram, flavor["memory_mb"] - (instance["memory_mb"] or 0))):
                if grow > 0 and quota.allowed(ctxt, ctxt.project_id, resource, used, grow) < grow:
                    raise exception.QuotaError(reason=f"{resource} quota leaves no room for a {flavor['name']}")
        return {"instance_type_id": flavor["id"], "memory_mb": flavor["memory_mb"], "vcpus": flavor["vcpus"],
                "local_gb": flavor["local_gb"]}

    def update_metadata(self, ctxt: Context, instance_id: int, metadata: dict[str, str],
                        replace: bool = False) -> dict[str, str | None]:
        """Set metadata items (all of them when ``replace``), checked like at create; the new metadata."""
        instance = self.get(ctxt, instance_id)
        merged = dict(metadata) if replace else dict(instance.metadata_dict, **metadata)
        self._metadata(ctxt, merged)
        return db.instance_metadata_update(ctxt, instance["id"], dict(metadata), delete=replace)

    def delete_metadata_item(self, ctxt: Context, instance_id: int, key: str) -> None:
        """Remove one metadata key; InstanceMetadataNotFound when the instance has no such key."""
        instance = self.get(ctxt, instance_id)
        current = instance.metadata_dict
        if key not in current:
            raise exception.InstanceMetadataNotFound(instance_id=instance["uuid"], key=key[:255])
        del current[key]
        db.instance_metadata_update(ctxt, instance["id"], current, delete=True)

    def get_all(self, ctxt: Context, filters: dict[str, Any] | None = None, related: bool = True) -> list[Row]:
        """Instances matching ``filters``; admins see every project's, others their own.  Without
        ``related``, the rows and their flavors only (no metadata or groups: one statement)."""
        filters = _checked_filters(filters)
        if not related and list(filters) == ["instance_ids"]:
            return db.instance_get_by_ids(ctxt, filters["instance_ids"])
        return db.instance_get_all_by_filters(ctxt, filters, related)

    def get_listing(self, ctxt: Context, filters: dict[str, Any] | None = None, after_id: int | None = None,
                    limit: int | None = None, *, newest_first: bool = False, marker: str | None = None) -> list[Row]:
        """What a listing shows of the instances ``get_all`` gives, by id: those after ``after_id``, at
        most ``limit``, each with its flavor, groups, metadata, tags, NICs and volumes (see
        ``db.instance_get_listing``), in a fixed number of queries; ``newest_first`` and ``marker``
        page them as ``servers`` does."""
        return db.instance_get_listing(ctxt, _checked_filters(filters), after_id, limit, newest_first=newest_first,
                                       marker=marker)

    # -- actions ------------------------------------------------------------

    def delete(self, ctxt: Context, instance_id: int, instance: Row | None = None,
               forget_tags: bool = False) -> Row | None:
        """Terminate: the compute host destroys the domain; unscheduled ones go at once.

        ``instance`` is the row the caller has just read with this context (``get_all``), saving a
        read.  Returns the instance as it now is (task ``deleting``), or None when it is gone.  The task
        is set by one conditional UPDATE, so of two concurrent deletes only one reaches the host.
        ``forget_tags`` (EC2's TerminateInstances) also drops the instance's tags unless termination is
        refused, together with the task (one statement on PostgreSQL).
        """
        if instance is None:
            instance = db.instance_get(ctxt, _int_id(instance_id, "instance id"), related=False)
        if instance["task_state"] == states.DELETING:
            self._forget_tags(ctxt, instance, forget_tags)
            return instance
        if instance["disable_api_termination"]:
            raise exception.InstanceTerminationDisabled(instance_id=instance["id"])
        if not instance["host"]:
            db.instance_update(ctxt, instance["id"], {"vm_state": states.DELETED, "task_state": None,
                                                      "terminated_at": utils.utcnow()}, related=False)
            db.instance_destroy(ctxt, instance["id"])
            self._forget_tags(ctxt, instance, forget_tags)
            return None
        # Committed before the compute host hears of it; the task and the tags together.
        marked = db.instance_mark_deleting(ctxt, instance["id"], states.DELETING, forget_tags)
        if not marked:
            try:  # deleted or being deleted meanwhile
                return db.instance_get(ctxt, instance["id"], related=False)
            except exception.InstanceNotFound:
                return None
        self._cast_compute(ctxt, instance, "terminate_instance")
        return dict(instance.to_dict(), task_state=states.DELETING)

    def terminate(self, ctxt: Context, instance_ids: list[int]) -> list[tuple[Row, Row | None]]:
        """EC2's TerminateInstances: ``delete`` with ``forget_tags`` of each instance, none before all are
        found (InstanceNotFound names the first missing one).  Returns, by id, (each instance as it was,
        as ``delete`` answers).  On PostgreSQL the read and, when every instance may be marked as read,
        the marks and the tags' soft delete are one statement; the rest go through ``delete`` one by one."""
        ids = list(dict.fromkeys(_int_id(instance_id, "instance id") for instance_id in instance_ids))
        read = db.instance_get_and_mark_deleting(ctxt, ids, states.DELETING)
        found = {instance["id"] for instance, _marked in read}
        for instance_id in ids:
            if instance_id not in found:
                raise exception.InstanceNotFound(instance_id=instance_id)
        changes = []
        for instance, marked in read:
            if marked:  # committed: the compute host may hear of it
                self._cast_compute(ctxt, instance, "terminate_instance")
                changes.append((instance, dict(instance.to_dict(), task_state=states.DELETING)))
            else:
                changes.append((instance, self.delete(ctxt, instance["id"], instance=instance, forget_tags=True)))
        return changes

    @staticmethod
    def _forget_tags(ctxt: Context, instance: Row, forget: bool) -> None:
        if forget:
            tag_api.API().delete_all(ctxt, "instance", instance["id"])

    def reboot(self, ctxt: Context, instance_id: int, hard: bool = False) -> None:
        """Reboot; ``hard`` only shows as its own task (the driver reboots the same way)."""
        self._act(ctxt, instance_id, "reboot", task=states.REBOOTING_HARD if hard else None)

    def stop(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "stop")

    def start(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "start")

    def pause(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "pause")

    def unpause(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "unpause")

    def suspend(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "suspend")

    def resume(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "resume")

    def rescue(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "rescue")

    def unrescue(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "unrescue")

    def snapshot(self, ctxt: Context, instance_id: int, name: str) -> dict[str, Any]:
        """Register an image and have the compute host fill it from the instance's disk."""
        instance = self._check_state(ctxt, instance_id, (states.ACTIVE, states.STOPPED), "snapshot")
        image = self.image_service.create(ctxt, {
            "name": name, "type": "machine", "state": "saving",
            "kernel_id": instance["kernel_id"], "ramdisk_id": instance["ramdisk_id"],
            "properties": {"instance_id": instance["id"], "image_type": "snapshot"},
        })
        db.instance_update(ctxt, instance["id"], {"task_state": states.IMAGE_SNAPSHOT})
        self._cast_compute(ctxt, instance, "snapshot_instance", image_id=image["id"])
        return image

    def create_image(self, ctxt: Context, instance_id: int, name: str,
                     description: str | None = None) -> dict[str, Any]:
        """An image of the instance (EC2 CreateImage).

        A volume-backed instance gives an EBS image: a snapshot of each of its
        volumes, the root's as the image's root device; it is "pending" until
        the snapshots are complete.  An instance-store instance's disk is
        copied by its compute host (``snapshot``).
        """
        instance = self.get(ctxt, instance_id)
        image_api.API(self.image_service).check_name_free(ctxt, name)
        volumes = [v for v in db.volume_get_all_by_instance(ctxt, instance["id"]) if v["status"] == "in-use"]
        root_name = instance["root_device_name"]
        if not root_name or not any(v["mountpoint"] == root_name for v in volumes):
            return self.snapshot(ctxt, instance["id"], name)
        if instance["vm_state"] not in (states.ACTIVE, states.STOPPED):
            raise exception.InstanceInvalidState(instance_id=instance["id"], state=instance["vm_state"],
                                                 action="create an image of")
        mappings = []
        for volume in volumes:
            snapshot = volume_api.API().create_snapshot(ctxt, volume["id"], name=name,
                                                        description=f"of {volume['mountpoint']} for image {name}")
            mappings.append({"device_name": volume["mountpoint"], "snapshot_id": snapshot["id"],
                             "volume_size": volume["size"], "delete_on_termination": True})
        return image_api.API(self.image_service).register_from_snapshots(
            ctxt, name, root_name, mappings,
            kernel_id=int(instance["kernel_id"]) if instance["kernel_id"] else None,
            ramdisk_id=int(instance["ramdisk_id"]) if instance["ramdisk_id"] else None,
            description=description)

    @staticmethod
    def hosts_alive(ctxt: Context, hosts: list[str]) -> dict[str, bool]:
        """Whether the compute service of each of ``hosts`` sends its heartbeat (an unknown host: False)."""
        rows = db.service_get_all(ctxt.elevated())
        up = {r["host"] for r in rows if r["topic"] == FLAGS.compute_topic and servicegroup.service_is_up(r)}
        return {host: host in up for host in hosts}

    def get_console_output(self, ctxt: Context, instance_id: int) -> str:
        instance = self.get(ctxt, instance_id, related=False)
        if not instance["host"]:
            raise exception.InstanceInvalidState(instance_id=instance["id"], state=instance["vm_state"],
                                                 action="read the console of")
        return compute_rpcapi.ComputeAPI().get_console_output(ctxt, instance["host"], instance["id"])

    def _act(self, ctxt: Context, instance_id: int, action: str, task: str | None = None) -> None:
        allowed, default_task, method = _ACTIONS[action]
        task = task or default_task
        instance = self._check_state(ctxt, instance_id, allowed, action)
        db.instance_update(ctxt, instance["id"], {"task_state": task}, related=False)
        self._cast_compute(ctxt, instance, method)

    def _check_state(self, ctxt: Context, instance_id: int, allowed: tuple[str, ...], action: str) -> Row:
        instance = db.instance_get(ctxt, _int_id(instance_id, "instance id"), related=False)
        if instance["vm_state"] not in allowed or not instance["host"]:
            raise exception.InstanceInvalidState(instance_id=instance["id"], state=instance["vm_state"],
                                                 action=action)
        if instance["task_state"] is not None:
            raise exception.InstanceInvalidState(
                f"Instance {instance['id']} is busy ({instance['task_state']}); cannot {action} it now.",
                instance_id=instance["id"], state=instance["task_state"], action=action)
        return instance

    def _cast_compute(self, ctxt: Context, instance: Row, method: str, **args: Any) -> None:
        getattr(compute_rpcapi.ComputeAPI(), method)(ctxt, instance["host"], instance["id"], **args)

    # -- security groups ----------------------------------------------------

    def trigger_security_group_rules_refresh(self, ctxt: Context, security_group_id: int) -> list[str]:
        """Tell the hosts running the group's instances that its rules changed; returns the hosts."""
        return group_refresh.refresh_rules(ctxt, security_group_id)

    def trigger_security_group_members_refresh(self, ctxt: Context, group_ids: list[int]) -> list[str]:
        """Tell the hosts whose instances' rules grant these groups that membership changed."""
        return group_refresh.refresh_members(ctxt, group_ids)


tag_api.register_taggable("instance", lambda ctxt, instance_id: db.instance_get(ctxt, instance_id, related=False))
