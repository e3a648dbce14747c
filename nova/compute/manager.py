"""nova-compute's manager: the instances of one host.

It runs the instances the scheduler sends here through the virt driver
(``--compute_driver``), moves them through ``vm_state``/``task_state``
(``nova.compute.states``), keeps ``power_state`` in step with the driver,
reconciles after a crash (``init_host``) and reports the host's compute node.
Every operation on one instance holds that instance's lock, so a terminate
arriving during a spawn waits for it.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
from typing import Any, Callable, Iterator

from eventlet import semaphore

from nova import context as nova_context
from nova import exception, flags, manager, utils
from nova.compute import group_refresh
from nova.compute import states
from nova.network import rpcapi as network_rpcapi
from nova.virt import connection
from nova.volume import devices
from nova.volume import rpcapi as volume_rpcapi

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("instances_path", "$state_path/instances", "Where instances keep their disks and logs")
flags.DEFINE_integer("block_device_timeout", 300,
                     "Seconds a new instance waits for the volumes of its block device mappings to be created",
                     lower_bound=1)
flags.DEFINE_integer("instance_build_timeout", 600,
                     "Seconds an instance sent to this host may wait to start building before it is put in error",
                     lower_bound=1)

Context = nova_context.RequestContext

# vm_state that a stable power state implies, for the power-state sync.
_VM_STATE_FOR_POWER = {
    states.RUNNING: states.ACTIVE,
    states.BLOCKED: states.ACTIVE,
    states.PAUSED_POWER: states.PAUSED,
    states.SUSPENDED_POWER: states.SUSPENDED,
    states.SHUTDOWN: states.STOPPED,
    states.SHUTOFF: states.STOPPED,
    states.CRASHED: states.STOPPED,
}


def _skip_while_database_is_down(func: Callable[..., None]) -> Callable[..., None]:
    """A periodic task that meets a database outage logs one line and waits for its next run."""

    @functools.wraps(func)
    def wrapper(self: Any, ctxt: Context) -> None:
        try:
            func(self, ctxt)
        except exception.DatabaseError as exc:
            LOG.warning("%s skipped: %s", func.__name__, " ".join(str(exc).split())[:300])

    return wrapper


class ComputeManager(manager.SchedulerDependentManager):
    """Manages the instances of this host through a virt driver."""

    service_name = "compute"

    def __init__(self, host: str | None = None, db_driver: Any = None, compute_driver: Any = None) -> None:
        super().__init__(host=host, db_driver=db_driver)
        self.driver = compute_driver or connection.get_connection()
        self.firewall = utils.import_class(FLAGS.firewall_driver)()
        self.network_api = network_rpcapi.NetworkAPI()
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()
        # Called in process, as the first Nova did: only setup_compute_network (bridges, VLANs).
        self.network_manager = utils.import_class(FLAGS.network_manager)(host=self.host)
        self._locks: dict[int, semaphore.Semaphore] = {}
        self.unknown_domains: list[str] = []

    # -- helpers ------------------------------------------------------------

    @contextlib.contextmanager
    def _instance_lock(self, instance_id: int) -> Iterator[None]:
        lock = self._locks.setdefault(instance_id, semaphore.Semaphore(1))
        try:
            with lock:
                yield
        finally:
            if lock.balance == 1 and not lock._waiters:  # nobody else wants it: forget it
                self._locks.pop(instance_id, None)

    def _busy(self, instance_id: int) -> bool:
        """Whether an operation on the instance is running or waiting in this process."""
        lock = self._locks.get(instance_id)
        return lock is not None and (lock.locked() or bool(lock._waiters))

    def _update(self, ctxt: Context, instance_id: int, **values: Any) -> None:
        """Set ``values`` on the instance's row: one UPDATE, nothing read back (InstanceNotFound when gone)."""
        self.db.instance_set(ctxt.elevated(), instance_id, values)

    def _advance(self, ctxt: Context, instance: Any, **values: Any) -> None:
        """``_update``, and the same values on the row in hand, which the driver is given next."""
        self._update(ctxt, instance["id"], **values)
        instance.update(values)

    def _get(self, ctxt: Context, instance_id: int) -> Any:
        """The instance with its flavor and security groups, in one statement (what the driver, the
        firewall and the group refreshes read; not its metadata)."""
        return self.db.instance_get_for_host(ctxt.elevated(), instance_id, security_groups=True)

    def _set_error(self, ctxt: Context, instance_id: int, reason: str) -> None:
        LOG.error("Instance %s: %s", instance_id, reason)
        try:
            self._update(ctxt, instance_id, vm_state=states.ERROR, task_state=None, fault=reason[:1000])
        except exception.NotFound:
            pass

    def _power_state(self, instance: Any) -> int:
        try:
            return self.driver.get_info(instance["name"])["state"]
        except exception.NotFound:
            return states.NOSTATE

    # -- start-up -----------------------------------------------------------

    def init_host(self) -> None:
        """Reconcile the database with the driver after a restart or a crash.

        Instances caught mid-spawn end ``active`` when their domain runs and
        ``error`` (with the reason) otherwise; unfinished deletes are finished;
        other unfinished tasks are dropped and the state re-read.  Domains the
        database does not know are reported, never destroyed.
        """
        self.driver.init_host(self.host)
        ctxt = nova_context.get_admin_context()
        running = set(self.driver.list_instances())
        known = set()
        for instance in self.db.instance_get_all_by_host(ctxt, self.host):
            known.add(instance["name"])
            try:
                self._reconcile(ctxt, instance, instance["name"] in running)
            except Exception:
                LOG.exception("Could not reconcile instance %s", instance["id"])
        self.unknown_domains = sorted(running - known)
        for name in self.unknown_domains:
            LOG.warning("Domain %s runs on %s but the database does not know it; leaving it alone",
                        name, self.host)

    def _reconcile(self, ctxt: Context, instance: Any, has_domain: bool, why: str | None = None) -> None:
        vm_state, task = instance["vm_state"], instance["task_state"]
        if task == states.DELETING:
            LOG.info("Finishing the interrupted delete of instance %s", instance["id"])
            self._terminate(ctxt, instance)
            return
        if vm_state == states.BUILDING and task in (states.NETWORKING, states.BLOCK_DEVICE_MAPPING,
                                                    states.SPAWNING):
            power = self._power_state(instance) if has_domain else states.NOSTATE
            if power == states.RUNNING:
                self._update(ctxt, instance["id"], vm_state=states.ACTIVE, task_state=None, power_state=power,
                             launched_at=utils.utcnow())
                LOG.info("Instance %s was spawned before nova-compute stopped; it is active", instance["id"])
                return
            if has_domain:
                self._destroy_quietly(instance)
            self._set_error(ctxt, instance["id"], why or f"nova-compute on {self.host} stopped while the "
                                                         f"instance was {task}")
            return
        if vm_state == states.BUILDING:
            return  # its run_instance message is still queued for this host
        if task is not None:
            self._update(ctxt, instance["id"], task_state=None)
        if vm_state in _VM_STATE_FOR_POWER.values() and not has_domain:
            self._set_error(ctxt, instance["id"], f"its domain is gone from {self.host}")
            return
        self._sync_one(ctxt, instance)

    def _destroy_quietly(self, instance: Any) -> None:
        try:
            self.driver.destroy(instance, None, cleanup=True)
        except Exception:
            LOG.exception("Could not destroy the domain of instance %s", instance["id"])

    # -- building and deleting ----------------------------------------------

    def run_instance(self, ctxt: Context, instance_id: int) -> None:
        """Allocate the instance's NICs, then spawn it; on failure it ends in error with the reason."""
        with self._instance_lock(instance_id):
            try:
                # Volumes are reserved for an instance at launch, before this message, and attached
                # only to a running one: whether it has any is known from this read, which also starts
                # the build (this host's, task networking) when the instance is building and not deleting.
                instance, has_volumes, started = self.db.instance_start_build(
                    ctxt.elevated(), instance_id, self.host, states.NETWORKING, states.BUILDING, states.DELETING,
                    FLAGS.node_availability_zone)
            except exception.NotFound:
                LOG.info("Instance %s was deleted before it was built", instance_id)
                return
            if not started:
                LOG.info("Not building instance %s: it is %s/%s", instance_id, instance["vm_state"],
                         instance["task_state"])
                return
            if instance["name"] in self.driver.list_instances():
                self._set_error(ctxt, instance_id, f"a domain named {instance['name']} already exists")
                return
            try:
                network_info = self.network_api.allocate_for_instance(ctxt, instance_id, self.host)
            except Exception as exc:
                self._set_error(ctxt, instance_id, f"network allocation failed: {exc}")
                return
            # The instance's groups gained a member with an address: without volumes, the refresh's
            # read rides on the spawning write below.
            group_ids = self._row_group_ids(ctxt, instance)
            if has_volumes:
                self._refresh_group_members(ctxt, instance_id, group_ids)
            try:
                self.network_manager.setup_compute_network(ctxt, instance_id)
            except Exception as exc:
                LOG.exception("Setting up the network of instance %s on %s failed", instance_id, self.host)
                self._set_error(ctxt, instance_id, f"network setup failed on {self.host}: {exc}")
                if not has_volumes:
                    self._refresh_group_members(ctxt, instance_id, group_ids)
                return
            volumes, block_device_info = [], None
            if has_volumes and self.db.volume_get_all_by_instance(ctxt.elevated(), instance_id):
                self._advance(ctxt, instance, task_state=states.BLOCK_DEVICE_MAPPING)
                try:
                    volumes, block_device_info = self._prepare_block_devices(ctxt, instance)
                except Exception as exc:
                    self._set_error(ctxt, instance_id, f"block device mapping failed: {exc}")
                    return
            if has_volumes or not group_ids:
                self._advance(ctxt, instance, task_state=states.SPAWNING)
            else:
                grantees = self.db.instance_set_and_grantee_hosts(ctxt.elevated(), instance_id,
                                                                  {"task_state": states.SPAWNING}, group_ids)
                instance.update({"task_state": states.SPAWNING})
                self._refresh_group_members(ctxt, instance_id, group_ids, grantees)
            try:
                self.firewall.prepare_instance_filter(instance, network_info)
                if block_device_info is None:
                    self.driver.spawn(ctxt, instance, network_info)
                else:
                    self.driver.spawn(ctxt, instance, network_info, block_device_info=block_device_info)
                self.firewall.apply_instance_filter(instance, network_info)
            except Exception as exc:
                LOG.exception("Spawning instance %s failed", instance_id)
                self._destroy_quietly(instance)
                self.firewall.unfilter_instance(instance)
                for volume in volumes:
                    self._volume_back(ctxt.elevated(), volume["id"], "available", f"spawn failed: {exc}",
                                      keep_instance=True)
                self._set_error(ctxt, instance_id, f"spawn failed: {exc}")
                return
            for volume in volumes:
                self.db.volume_attached(ctxt.elevated(), volume["id"], instance_id, volume["mountpoint"])
            self._update(ctxt, instance_id, vm_state=states.ACTIVE, task_state=None,
                         power_state=self._power_state(instance), launched_at=utils.utcnow(), fault=None)
            LOG.info("Instance %s is active on %s", instance_id, self.host)

    def terminate_instance(self, ctxt: Context, instance_id: int) -> None:
        """Release the NICs, destroy the domain and its files, soft-delete the row."""
        with self._instance_lock(instance_id):
            try:
                instance, has_volumes = self.db.instance_get_with_volume_flag(ctxt.elevated(), instance_id)
            except exception.NotFound:
                return
            self._terminate(ctxt, instance, has_volumes)

    def _row_group_ids(self, ctxt: Context, instance: Any) -> list[int]:
        """The instance's security groups from its row (loaded with it), else from the database."""
        groups = getattr(instance, "security_groups", None)
        if groups is None:
            return self._group_ids(ctxt, instance["id"])
        return [g["id"] for g in groups]

    def _group_ids(self, ctxt: Context, instance_id: int) -> list[int]:
        try:
            return [g["id"] for g in self.db.security_group_get_by_instance(ctxt.elevated(), instance_id)]
        except exception.NotFound:
            return []

    def _refresh_group_members(self, ctxt: Context, instance_id: int, group_ids: list[int] | None = None,
                               grantee_hosts: dict[int, list[str]] | None = None) -> None:
        """Membership of the instance's groups changed (it got or lost its address): every host
        whose instances' source-group rules name one of those groups rebuilds them (``grantee_hosts``:
        those hosts, when the caller read them with a write)."""
        group_ids = self._group_ids(ctxt, instance_id) if group_ids is None else group_ids
        if not group_ids:
            return
        try:
            group_refresh.refresh_members(ctxt, group_ids, grantee_hosts)
        except Exception:
            LOG.exception("Could not ask for a refresh of the members of groups %s", group_ids)

    def _prepare_block_devices(self, ctxt: Context, instance: Any) -> tuple[list[Any], dict[str, Any] | None]:
        """The volumes made for the instance, once created, marked attaching, and how to reach each.

        Returns (volumes, block_device_info for the driver, None without volumes).
        Waits up to --block_device_timeout for them to be created.
        """
        import eventlet

        admin = ctxt.elevated()
        deadline = utils.utcnow() + datetime.timedelta(seconds=FLAGS.block_device_timeout)
        while True:
            volumes = self.db.volume_get_all_by_instance(admin, instance["id"])
            failed = [v for v in volumes if v["status"] == "error"]
            if failed:
                raise exception.VolumeAttachFailed(reason=f"volume {failed[0]['id']} failed: {failed[0]['fault']}")
            if all(v["status"] != "creating" for v in volumes):
                break
            if utils.utcnow() > deadline:
                raise exception.VolumeAttachFailed(reason=f"volumes not created within {FLAGS.block_device_timeout}s")
            eventlet.sleep(0.5)
        if not volumes:
            return [], None
        info: dict[str, Any] = {"root": None, "volumes": []}
        claimed = []
        try:
            for volume in volumes:
                self.db.volume_update_if_status(admin, volume["id"], ("available",), {"status": "attaching"},
                                                "attach")
                claimed.append(volume)
                connection_info = self.volume_rpcapi.initialize_connection(ctxt, volume["host"], volume["id"])
                device = devices.guest_device(volume["mountpoint"], instance["root_device_name"])
                if device == devices.ROOT:
                    info["root"] = connection_info
                else:
                    info["volumes"].append({"mountpoint": device, "connection_info": connection_info})
        except Exception as exc:
            for volume in claimed:  # still the instance's, to be freed (or deleted) when it is terminated
                self._volume_back(admin, volume["id"], "available", f"block device mapping failed: {exc}",
                                  keep_instance=True)
            raise
        return volumes, info

    def _release_volumes(self, ctxt: Context, instance: Any) -> None:
        """Detach the terminated instance's volumes; delete those marked delete-on-termination."""
        admin = ctxt.elevated()
        for volume in self.db.volume_get_all_by_instance(admin, instance["id"]):
            self.db.volume_detached(admin, volume["id"])
            if not volume["delete_on_termination"]:
                LOG.info("Volume %s detached from terminated instance %s", volume["id"], instance["id"])
                continue
            self.db.volume_update(admin, volume["id"], {"status": "deleting", "delete_on_termination": False})
            if volume["host"]:
                self.volume_rpcapi.delete_volume(ctxt, volume["host"], volume["id"])
            else:
                self.db.volume_destroy(admin, volume["id"])
            LOG.info("Volume %s of terminated instance %s is being deleted", volume["id"], instance["id"])

    def _terminate(self, ctxt: Context, instance: Any, has_volumes: bool = True) -> None:
        """``has_volumes`` False: the caller read the instance with the flag, and no volume names it."""
        group_ids = self._row_group_ids(ctxt, instance)
        try:
            self.network_api.deallocate_for_instance(ctxt, instance["id"])
        except Exception:
            LOG.exception("Could not release the addresses of instance %s", instance["id"])
        try:
            self.driver.destroy(instance, None, cleanup=True)
        except Exception as exc:
            LOG.exception("Destroying instance %s failed", instance["id"])
            self._set_error(ctxt, instance["id"], f"destroy failed: {exc}")
            return
        self.firewall.unfilter_instance(instance)
        admin = ctxt.elevated()
        if has_volumes:
            self._release_volumes(ctxt, instance)
        # The refresh's read (the instance left out, as after the delete) rides on the delete's write.
        grantees = self.db.instance_set_deleted(admin, instance["id"], {"vm_state": states.DELETED,
                                                                         "task_state": None,
                                                                         "power_state": states.NOSTATE,
                                                                         "terminated_at": utils.utcnow()},
                                                grantee_groups=group_ids or None)
        self._refresh_group_members(ctxt, instance["id"], group_ids, grantees)
        LOG.info("Instance %s terminated", instance["id"])

    # -- other actions ------------------------------------------------------

    def _act(self, ctxt: Context, instance_id: int, what: str, operation: Callable[[Any], None],
             done_state: str) -> None:
        with self._instance_lock(instance_id):
            try:
                instance = self._get(ctxt, instance_id)
            except exception.NotFound:
                return
            try:
                operation(instance)
            except exception.UnsupportedOperation as exc:
                LOG.warning("Instance %s: %s", instance_id, exc)
                self._update(ctxt, instance_id, task_state=None)
                return
            except Exception as exc:
                LOG.exception("%s of instance %s failed", what, instance_id)
                self._set_error(ctxt, instance_id, f"{what} failed: {exc}")
                return
            self._update(ctxt, instance_id, vm_state=done_state, task_state=None,
                         power_state=self._power_state(instance))
            LOG.info("Instance %s: %s done", instance_id, what)

    def reboot_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "reboot", lambda i: self.driver.reboot(i, []), states.ACTIVE)

    def stop_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "stop", self.driver.power_off, states.STOPPED)

    def start_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "start", self.driver.power_on, states.ACTIVE)

    def pause_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "pause", self.driver.pause, states.PAUSED)

    def unpause_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "unpause", self.driver.unpause, states.ACTIVE)

    def suspend_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "suspend", self.driver.suspend, states.SUSPENDED)

    def resume_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "resume", self.driver.resume, states.ACTIVE)

    def rescue_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "rescue", lambda i: self.driver.rescue(ctxt, i, []), states.RESCUED)

    def unrescue_instance(self, ctxt: Context, instance_id: int) -> None:
        self._act(ctxt, instance_id, "unrescue", lambda i: self.driver.unrescue(i, []), states.ACTIVE)

    def snapshot_instance(self, ctxt: Context, instance_id: int, image_id: int) -> None:
        """Fill image ``image_id`` from the instance's disk; the image goes to "error" if that fails."""
        from nova.image import get_default_image_service

        images = get_default_image_service()
        with self._instance_lock(instance_id):
            instance = self.db.instance_get(ctxt.elevated(), instance_id)
            try:
                self.driver.snapshot(ctxt, instance, image_id)
            except Exception as exc:
                LOG.exception("Snapshot of instance %s failed", instance_id)
                images.update(ctxt.elevated(), image_id, {"state": "error"})
                if not isinstance(exc, exception.UnsupportedOperation):
                    LOG.error("Snapshot of instance %s into image %s failed: %s", instance_id, image_id, exc)
            finally:
                self._update(ctxt, instance_id, task_state=None)

    # -- volumes ------------------------------------------------------------

    def attach_volume(self, ctxt: Context, instance_id: int, volume_id: int, mountpoint: str,
                      reattach: bool = False) -> None:
        """Plug the volume (``attaching``) into the instance as ``mountpoint``; ``in-use`` when done.

        On failure the volume goes back to ``available``, the reason in its fault.  ``reattach``
        (nova-manage volume reattach) first unplugs whatever the guest still has there.
        """
        admin = ctxt.elevated()
        with self._instance_lock(instance_id):
            try:
                instance = self.db.instance_get(admin, instance_id)
                volume = self.db.volume_get(admin, volume_id)
            except exception.NotFound as exc:
                self._volume_back(admin, volume_id, "available", f"attach failed: {exc}")
                return
            if volume["status"] != "attaching" or volume["instance_id"] != instance_id:
                LOG.info("Not attaching volume %s: it is %s (instance %s)", volume_id, volume["status"],
                         volume["instance_id"])
                return
            try:
                connection_info = self.volume_rpcapi.initialize_connection(ctxt, volume["host"], volume_id)
                if reattach:
                    self.driver.detach_volume(instance, connection_info, mountpoint)
                self.driver.attach_volume(instance, connection_info, mountpoint)
            except Exception as exc:
                LOG.warning("Attaching volume %s to instance %s as %s failed: %s", volume_id, instance_id,
                            mountpoint, exc)
                self._volume_back(admin, volume_id, "available", f"attach to instance {instance_id} failed: {exc}")
                return
            self.db.volume_attached(admin, volume_id, instance_id, volume["mountpoint"] or mountpoint)
            LOG.info("Volume %s attached to instance %s as %s", volume_id, instance_id, mountpoint)

    def detach_volume(self, ctxt: Context, instance_id: int, volume_id: int, force: bool = False) -> None:
        """Unplug the volume (``detaching``); ``available`` when done, back to ``in-use`` if the guest kept it.

        ``force`` frees the volume even when unplugging failed.
        """
        admin = ctxt.elevated()
        with self._instance_lock(instance_id):
            try:
                volume = self.db.volume_get(admin, volume_id)
            except exception.NotFound:
                return
            if volume["instance_id"] != instance_id:
                LOG.info("Volume %s is not attached to instance %s", volume_id, instance_id)
                return
            try:
                instance = self.db.instance_get(admin, instance_id)
                self.driver.detach_volume(instance, None, devices.guest_device(volume["mountpoint"],
                                                                            instance["root_device_name"]))
            except Exception as exc:
                if not force:
                    LOG.warning("Detaching volume %s from instance %s failed: %s", volume_id, instance_id, exc)
                    self._volume_back(admin, volume_id, "in-use", f"detach failed: {exc}")
                    return
                LOG.warning("Detaching volume %s from instance %s failed (%s); forced, so it is freed",
                            volume_id, instance_id, exc)
            self.db.volume_detached(admin, volume_id)
            LOG.info("Volume %s detached from instance %s", volume_id, instance_id)

    def _volume_back(self, admin: Context, volume_id: int, status: str, reason: str,
                     keep_instance: bool = False) -> None:
        values: dict[str, Any] = {"status": status, "fault": reason[:1000]}
        if status == "available" and not keep_instance:
            values.update(instance_id=None, mountpoint=None, attach_status="detached")
        try:
            self.db.volume_update(admin, volume_id, values)
        except exception.NotFound:
            pass

    def get_console_output(self, ctxt: Context, instance_id: int) -> str:
        instance = self.db.instance_get(ctxt.elevated(), instance_id)
        return self.driver.get_console_output(instance)

    def refresh_security_group_rules(self, ctxt: Context, security_group_id: int) -> None:
        self.firewall.refresh_security_group_rules(security_group_id)

    def refresh_security_group_members(self, ctxt: Context, security_group_id: int) -> None:
        self.firewall.refresh_security_group_members(security_group_id)

    # -- periodic tasks -----------------------------------------------------

    def _sync_one(self, ctxt: Context, instance: Any) -> None:
        power = self._power_state(instance)
        if self._shut_down_to_terminate(instance, power):
            self._terminate_shut_down(ctxt, instance)
            return
        values = self._sync_values(instance, power)
        if values:
            LOG.info("Instance %s: database %s/%s, driver says %s; updating", instance["id"],
                     instance["vm_state"], states.power_state_name(instance["power_state"]),
                     states.power_state_name(power))
            self._update(ctxt, instance["id"], **values)

    @staticmethod
    def _shut_down_to_terminate(instance: Any, power: int) -> bool:
        return (power in (states.SHUTDOWN, states.SHUTOFF) and instance["vm_state"] == states.ACTIVE
                and instance["task_state"] is None and instance["shutdown_behavior"] == "terminate")

    def _out_of_sync(self, instance: Any) -> bool:
        """Whether the driver disagrees with the row (then ``_sync_one`` has something to do)."""
        power = self._power_state(instance)
        return self._shut_down_to_terminate(instance, power) or bool(self._sync_values(instance, power))

    def _sync_values(self, instance: Any, power: int) -> dict[str, Any]:
        """The columns to change so the row says what the driver says."""
        values: dict[str, Any] = {}
        if power != instance["power_state"]:
            values["power_state"] = power
        if instance["task_state"] is None and instance["vm_state"] in (states.ACTIVE, states.STOPPED,
                                                                        states.PAUSED, states.SUSPENDED):
            if power == states.NOSTATE:
                values.update(vm_state=states.ERROR, fault=f"its domain is gone from {self.host}")
            elif _VM_STATE_FOR_POWER.get(power, instance["vm_state"]) != instance["vm_state"]:
                values["vm_state"] = _VM_STATE_FOR_POWER[power]
        return values

    def _terminate_shut_down(self, ctxt: Context, instance: Any) -> None:
        """The guest powered itself off and its shutdown behaviour is terminate (EC2's
        instanceInitiatedShutdownBehavior): terminate it, even with disableApiTermination set."""
        LOG.info("Instance %s shut itself down and its shutdown behaviour is terminate; terminating it",
                 instance["id"])
        self._update(ctxt, instance["id"], task_state=states.DELETING,
                     power_state=self._power_state(instance))
        self._terminate(ctxt, instance)

    @manager.periodic_task
    @_skip_while_database_is_down
    def _sync_power_states(self, ctxt: Context) -> None:
        """Bring power_state (and the vm_state it implies) in line with the driver.

        One query for the host's instances; an instance is read again (under its lock, in case an
        operation started meanwhile) only when the driver disagrees with its row.
        """
        for instance in self.db.instance_get_all_for_host(ctxt, self.host):
            if instance["task_state"] is not None or instance["vm_state"] in (states.BUILDING, states.ERROR):
                continue
            if self._busy(instance["id"]) or not self._out_of_sync(instance):
                continue
            with self._instance_lock(instance["id"]):
                try:
                    current = self._get(ctxt, instance["id"])
                except exception.NotFound:
                    continue
                if current["task_state"] is None:
                    self._sync_one(ctxt, current)

    @manager.periodic_task
    @_skip_while_database_is_down
    def _check_build_timeouts(self, ctxt: Context) -> None:
        """Instances sent here that never started building end in error instead of waiting forever; a
        build abandoned half-way (a database outage failed its next write) ends as after a crash: active
        if its domain runs, else in error."""
        limit = utils.utcnow() - datetime.timedelta(seconds=FLAGS.instance_build_timeout)
        running = None
        for instance in self.db.instance_get_all_for_host(ctxt, self.host, states.BUILDING):
            if (instance["task_state"] == states.SCHEDULING
                    and instance["scheduled_at"] is not None and instance["scheduled_at"] < limit):
                self._set_error(ctxt, instance["id"], f"not built on {self.host} within "
                                                      f"{FLAGS.instance_build_timeout}s")
            elif (instance["task_state"] in (states.NETWORKING, states.BLOCK_DEVICE_MAPPING, states.SPAWNING)
                  and not self._busy(instance["id"])
                  and (instance["updated_at"] or instance["created_at"]) < limit):
                running = set(self.driver.list_instances()) if running is None else running
                with self._instance_lock(instance["id"]):
                    current = self._get(ctxt, instance["id"])
                    if current["vm_state"] == states.BUILDING and current["task_state"] == instance["task_state"]:
                        LOG.warning("Instance %s was left %s for over %ss; settling it", instance["id"],
                                    instance["task_state"], FLAGS.instance_build_timeout)
                        self._reconcile(ctxt, current, current["name"] in running,
                                        why=f"its build on {self.host} stopped while it was {instance['task_state']} "
                                            f"and did not resume within {FLAGS.instance_build_timeout}s")

    @manager.periodic_task
    @_skip_while_database_is_down
    def _update_available_resource(self, ctxt: Context) -> None:
        """Write this host's compute node: capacity from the driver, use from the instances here."""
        try:
            service = self.db.service_get_by_args(ctxt, self.host, "nova-compute")
        except exception.NotFound:
            return
        self.update_compute_node(ctxt, service["id"])

    rpc_hidden = manager.SchedulerDependentManager.rpc_hidden | frozenset({"update_compute_node"})

    def update_compute_node(self, ctxt: Context, service_id: int) -> Any:
        resources = self.driver.get_available_resource()
        used = self.db.instance_usage_by_host(ctxt, [self.host]).get(self.host, {})
        values = {
            "service_id": service_id,
            "vcpus": resources["vcpus"],
            "memory_mb": resources["memory_mb"],
            "local_gb": resources["local_gb"],
            "vcpus_used": used.get("vcpus", 0),
            "memory_mb_used": used.get("memory_mb", 0),
            "local_gb_used": used.get("local_gb", 0),
            "hypervisor_type": resources.get("hypervisor_type"),
            "hypervisor_version": resources.get("hypervisor_version"),
            "cpu_info": resources.get("cpu_info"),
        }
        try:
            node = self.db.compute_node_get_by_service(ctxt, service_id)
        except exception.NotFound:
            return self.db.compute_node_create(ctxt, values)
        return self.db.compute_node_update(ctxt, node["id"], values)

    def service_capabilities(self) -> dict[str, Any]:
        capabilities = self.driver.host_resources(FLAGS.instances_path)
        try:
            resources = self.driver.get_available_resource()
        except Exception:
            LOG.exception("The driver could not report resources")
            return capabilities
        capabilities.update({k: resources[k] for k in ("vcpus", "memory_mb", "local_gb", "hypervisor_type")
                             if k in resources})
        return capabilities
