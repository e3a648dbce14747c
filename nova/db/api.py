"""The only door to the database.

Every function takes the request context first and forwards to the
SQLAlchemy backend.  Rows come back detached, readable as objects or
dicts (``row["name"]``, ``row.get()``, ``row.to_dict()``).  Rows are
soft-deleted unless a function says otherwise; a non-admin context sees only
its own project's rows; errors are ``nova.exception`` types (``NotFound``
and ``Duplicate`` subclasses, ``InvalidInput``, ``NotAuthorized``,
``DatabaseError``), never driver exceptions.
"""

from __future__ import annotations

import datetime
import importlib
from typing import Any, Collection

from nova import context as nova_context

Context = nova_context.RequestContext
Row = Any  # a detached model row; see nova.db.sqlalchemy.models.NovaBase

BACKEND = "nova.db.sqlalchemy.api"


class _LazyBackend:
    """Stands for the backend module until its first use, then puts the module itself in ``IMPL``.

    Importing the backend means SQLAlchemy, every model and every db module:
    a third of a second.  Modules import ``nova.db.api`` at the top, so this
    keeps that import cheap for the binaries and commands that never query.
    """

    def __getattr__(self, name: str) -> Any:
        global IMPL
        IMPL = importlib.import_module(BACKEND)
        return getattr(IMPL, name)


IMPL: Any = _LazyBackend()


def one_transaction() -> Any:
    """A block whose database calls (those made without ORM sessions) share one transaction, committed
    when it ends: end it before telling anyone about what it wrote (see the backend's session module)."""
    return IMPL.one_transaction()


def check_ready() -> None:
    """Raise DatabaseNotReady (one-line reason) unless the database is reachable and at head."""
    from nova.db import migration

    migration.check_ready()


# -- services --------------------------------------------------------------


def service_create(ctxt: Context, values: dict[str, Any]) -> Row:
    return IMPL.service_create(ctxt, values)


def service_get(ctxt: Context, service_id: int) -> Row:
    return IMPL.service_get(ctxt, service_id)


def service_get_by_args(ctxt: Context, host: str, binary: str) -> Row:
    return IMPL.service_get_by_args(ctxt, host, binary)


def service_get_all(ctxt: Context, disabled: bool | None = None) -> list[Row]:
    return IMPL.service_get_all(ctxt, disabled=disabled)


def service_get_all_by_topic(ctxt: Context, topic: str) -> list[Row]:
    """Enabled services of ``topic``."""
    return IMPL.service_get_all_by_topic(ctxt, topic)


def service_get_all_by_host(ctxt: Context, host: str) -> list[Row]:
    return IMPL.service_get_all_by_host(ctxt, host)


def service_update(ctxt: Context, service_id: int, values: dict[str, Any]) -> Row:
    return IMPL.service_update(ctxt, service_id, values)


def service_destroy(ctxt: Context, service_id: int) -> None:
    return IMPL.service_destroy(ctxt, service_id)


def service_heartbeat(ctxt: Context, service_id: int) -> Row:
    """Add one to ``report_count`` atomically, stamp ``updated_at``; return the row."""
    return IMPL.service_heartbeat(ctxt, service_id)


# -- compute nodes ---------------------------------------------------------


def compute_node_create(ctxt: Context, values: dict[str, Any]) -> Row:
    return IMPL.compute_node_create(ctxt, values)


def compute_node_get_by_service(ctxt: Context, service_id: int) -> Row:
    return IMPL.compute_node_get_by_service(ctxt, service_id)


def compute_node_update(ctxt: Context, compute_id: int, values: dict[str, Any]) -> Row:
    return IMPL.compute_node_update(ctxt, compute_id, values)


# -- users (hard-deleted) --------------------------------------------------


def user_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Raises UserExists or AccessKeyExists."""
    return IMPL.user_create(ctxt, values)


def user_get(ctxt: Context, user_id: str) -> Row:
    return IMPL.user_get(ctxt, user_id)


def user_get_by_access_key(ctxt: Context, access_key: str) -> Row:
    return IMPL.user_get_by_access_key(ctxt, access_key)


def user_get_all(ctxt: Context) -> list[Row]:
    return IMPL.user_get_all(ctxt)


def user_update(ctxt: Context, user_id: str, values: dict[str, Any]) -> Row:
    return IMPL.user_update(ctxt, user_id, values)


def user_delete(ctxt: Context, user_id: str) -> None:
    """Delete a user with its memberships and roles; refused for a project manager."""
    return IMPL.user_delete(ctxt, user_id)


# -- projects (hard-deleted) -----------------------------------------------


def project_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Raises ProjectExists, or UserNotFound for an unknown manager."""
    return IMPL.project_create(ctxt, values)


def project_get(ctxt: Context, project_id: str) -> Row:
    return IMPL.project_get(ctxt, project_id)


def project_get_all(ctxt: Context) -> list[Row]:
    return IMPL.project_get_all(ctxt)


def project_get_by_user(ctxt: Context, user_id: str) -> list[Row]:
    """Projects the user is a member of."""
    return IMPL.project_get_by_user(ctxt, user_id)


def project_update(ctxt: Context, project_id: str, values: dict[str, Any]) -> Row:
    return IMPL.project_update(ctxt, project_id, values)


def project_delete(ctxt: Context, project_id: str) -> None:
    """Delete a project with its memberships, project roles and quotas."""
    return IMPL.project_delete(ctxt, project_id)


def project_add_member(ctxt: Context, project_id: str, user_id: str) -> None:
    return IMPL.project_add_member(ctxt, project_id, user_id)


def project_remove_member(ctxt: Context, project_id: str, user_id: str) -> None:
    """End a membership and the user's roles in that project."""
    return IMPL.project_remove_member(ctxt, project_id, user_id)


def project_get_members(ctxt: Context, project_id: str) -> list[Row]:
    return IMPL.project_get_members(ctxt, project_id)


# -- roles -----------------------------------------------------------------


def user_add_role(ctxt: Context, user_id: str, role: str) -> None:
    return IMPL.user_add_role(ctxt, user_id, role)


def user_remove_role(ctxt: Context, user_id: str, role: str) -> None:
    return IMPL.user_remove_role(ctxt, user_id, role)


def user_get_roles(ctxt: Context, user_id: str) -> list[str]:
    """Global roles of the user."""
    return IMPL.user_get_roles(ctxt, user_id)


def user_add_project_role(ctxt: Context, user_id: str, project_id: str, role: str) -> None:
    return IMPL.user_add_project_role(ctxt, user_id, project_id, role)


def user_remove_project_role(ctxt: Context, user_id: str, project_id: str, role: str) -> None:
    return IMPL.user_remove_project_role(ctxt, user_id, project_id, role)


def user_get_grants(ctxt: Context, user_id: str) -> tuple[list[str], list[tuple[str, str | None]],
                                                         dict[str, list[str]]]:
    """(global roles, [(project id, manager)] of the user's live projects by id, {project id: roles}),
    in two statements; the user itself is not checked."""
    return IMPL.user_get_grants(ctxt, user_id)


def user_get_roles_for_project(ctxt: Context, user_id: str, project_id: str) -> list[str]:
    return IMPL.user_get_roles_for_project(ctxt, user_id, project_id)


# -- access/secret pairs per project (hard-deleted) --------------------------


def ec2_credential_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """A user's access/secret pair for one project; raises AccessKeyExists, UserNotFound, ProjectNotFound."""
    return IMPL.ec2_credential_create(ctxt, values)


def ec2_credential_get(ctxt: Context, access_key: str) -> Row:
    """The pair with ``access_key``, or AccessKeyNotFound."""
    return IMPL.ec2_credential_get(ctxt, access_key)


def ec2_credential_get_all(ctxt: Context, user_id: str | None = None, project_id: str | None = None) -> list[Row]:
    """Pairs (oldest first), of one user and/or one project when given."""
    return IMPL.ec2_credential_get_all(ctxt, user_id, project_id)


def ec2_credential_delete(ctxt: Context, access_key: str) -> None:
    """Raises AccessKeyNotFound."""
    return IMPL.ec2_credential_delete(ctxt, access_key)


# -- tokens (OpenStack API; hard-deleted; stored by SHA-256) ---------------


def auth_token_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Needs ``token_hash``, ``user_id``, ``project_id`` and ``expires_at``."""
    return IMPL.auth_token_create(ctxt, values)


def auth_token_get(ctxt: Context, token_hash: str) -> Row:
    """Raises TokenNotFound for an unknown or expired token."""
    return IMPL.auth_token_get(ctxt, token_hash)


def auth_token_destroy(ctxt: Context, token_hash: str) -> None:
    """Raises TokenNotFound for an unknown token."""
    return IMPL.auth_token_destroy(ctxt, token_hash)


def auth_token_purge_expired(ctxt: Context, before: datetime.datetime | None = None) -> int:
    """Delete tokens expired at ``before`` (default: now); returns the count."""
    return IMPL.auth_token_purge_expired(ctxt, before)


# -- quotas ----------------------------------------------------------------


def quota_get_all_by_project(ctxt: Context, project_id: str) -> dict[str, int]:
    """The project's own limits, ``{resource: hard_limit}`` (defaults are nova.quota's)."""
    return IMPL.quota_get_all_by_project(ctxt, project_id)


def quota_get_with_instance_usage(ctxt: Context, project_id: str) -> tuple[tuple[int, int, int], dict[str, int]]:
    """((instances, vcpus, memory_mb) held by the project's live instances, its own limits), in one
    statement: what a launch checks its quota against."""
    return IMPL.quota_get_with_instance_usage(ctxt, project_id)


def quota_set(ctxt: Context, project_id: str, resource: str, limit: int) -> None:
    """Insert or replace one limit."""
    return IMPL.quota_set(ctxt, project_id, resource, limit)


def quota_destroy_all_by_project(ctxt: Context, project_id: str) -> None:
    return IMPL.quota_destroy_all_by_project(ctxt, project_id)


# -- instance types (flavors) ----------------------------------------------


def instance_type_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Raises InstanceTypeExists when an undeleted flavor has the name or flavorid."""
    return IMPL.instance_type_create(ctxt, values)


def instance_type_get_all(ctxt: Context, inactive: bool = False) -> list[Row]:
    """Flavors ordered by flavorid; ``inactive`` includes deleted ones."""
    return IMPL.instance_type_get_all(ctxt, inactive=inactive)


def instance_type_get(ctxt: Context, instance_type_id: int) -> Row:
    """By id, deleted or not."""
    return IMPL.instance_type_get(ctxt, instance_type_id)


def instance_type_get_by_name(ctxt: Context, name: str) -> Row:
    return IMPL.instance_type_get_by_name(ctxt, name)


def instance_type_get_by_flavor_id(ctxt: Context, flavor_id: int) -> Row:
    return IMPL.instance_type_get_by_flavor_id(ctxt, flavor_id)


def instance_type_destroy(ctxt: Context, name: str) -> None:
    """Soft-delete; a new flavor of the same name may then be created."""
    return IMPL.instance_type_destroy(ctxt, name)


def instance_type_purge(ctxt: Context, name: str) -> None:
    """Remove every row of that name for good; refused while instances refer to it."""
    return IMPL.instance_type_purge(ctxt, name)


# -- instances -------------------------------------------------------------


def instance_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """``values["metadata"]`` may be a dict; ``uuid`` is generated if absent."""
    return IMPL.instance_create(ctxt, values)


def instance_create_many(ctxt: Context, values_list: list[dict[str, Any]], security_group_ids: list[int] | tuple[int, ...] = (),
                         hostname_format: str | None = None, instance_type: Row = None,
                         groups: list[Row] | None = None, quota_limits: dict[str, int] | None = None,
                         images_as_read: list[dict[str, Any]] | tuple[()] = ()) -> list[Row]:
    """All the instances or none: each in ``security_group_ids``, its hostname ``hostname_format % id``.

    The rows come back as written; ``instance_type`` and ``groups`` (the flavor and group rows the
    caller has read) are attached to them instead of being read again.  With ``quota_limits`` (the
    default ``instances``, ``cores`` and ``ram`` limits) QuotaError, nothing written, unless all the
    rows fit the project's quotas.  With ``images_as_read`` (image rows as the caller read them, perhaps
    long ago) ImageNotFound, nothing written, unless each is still live, available, visible to the
    context and unchanged."""
    return IMPL.instance_create_many(ctxt, values_list, security_group_ids=security_group_ids,
                                     hostname_format=hostname_format, instance_type=instance_type, groups=groups,
                                     quota_limits=quota_limits, images_as_read=images_as_read)


def instance_get(ctxt: Context, instance_id: int, related: bool = True) -> Row:
    """Raises InstanceNotFound, also for another project's instance.  Without ``related`` the row and its
    flavor only (reading its metadata or groups raises)."""
    return IMPL.instance_get(ctxt, instance_id, related)


def instance_get_all(ctxt: Context) -> list[Row]:
    return IMPL.instance_get_all(ctxt)


def instance_get_all_by_project(ctxt: Context, project_id: str) -> list[Row]:
    return IMPL.instance_get_all_by_project(ctxt, project_id)


def instance_get_all_by_host(ctxt: Context, host: str) -> list[Row]:
    return IMPL.instance_get_all_by_host(ctxt, host)


def instance_update(ctxt: Context, instance_id: int, values: dict[str, Any], related: bool = True) -> Row:
    """The row as updated; without ``related``, without its metadata and groups (two statements)."""
    return IMPL.instance_update(ctxt, instance_id, values, related)


def instance_set_task_state(ctxt: Context, instance_id: int, task_state: str | None,
                            unless: str | None = None) -> bool:
    """One UPDATE of a live instance's task, unless it already is ``unless``; whether it was set."""
    return IMPL.instance_set_task_state(ctxt, instance_id, task_state, unless)


def instance_get_for_host(ctxt: Context, instance_id: int, security_groups: bool = False) -> Row:
    """The row and flavor in one statement (metadata and group rules not loaded; the groups when
    ``security_groups``): what the scheduler and nova-compute read.  Raises InstanceNotFound."""
    return IMPL.instance_get_for_host(ctxt, instance_id, security_groups)


def instance_get_placement(ctxt: Context, instance_id: int) -> dict[str, Any]:
    """What placing the instance needs (id, project, states, host, vcpus, memory, disk, zone) as a dict:
    one statement, no ORM object, for the scheduler.  Raises InstanceNotFound."""
    return IMPL.instance_get_placement(ctxt, instance_id)


def instance_get_with_volume_flag(ctxt: Context, instance_id: int) -> tuple[Row, bool]:
    """``instance_get_for_host`` with the groups, and whether a live volume names the instance
    (``volume_get_all_by_instance`` would find one): one statement, for nova-compute."""
    return IMPL.instance_get_with_volume_flag(ctxt, instance_id)


def instance_start_build(ctxt: Context, instance_id: int, host: str, task_state: str, building: str,
                         unless_task_state: str, default_zone: str | None) -> tuple[Row, bool, bool]:
    """(row with groups, volume flag, started): the build starts (host, ``launched_on``, ``task_state``,
    the zone if none) only for a ``building`` instance whose task is not ``unless_task_state``; on
    PostgreSQL one statement with the read.  Raises InstanceNotFound."""
    return IMPL.instance_start_build(ctxt, instance_id, host, task_state, building, unless_task_state,
                                     default_zone)


def instance_get_all_for_host(ctxt: Context, host: str | None, vm_state: str | None = None) -> list[Row]:
    """Live instances of ``host`` (None: unplaced), optionally in ``vm_state``: rows and flavors in one
    statement (no metadata or groups), for periodic checks."""
    return IMPL.instance_get_all_for_host(ctxt, host, vm_state)


def instance_set(ctxt: Context, instance_id: int, values: dict[str, Any],
                 expected: dict[str, Any] | None = None) -> bool:
    """One UPDATE, nothing read back; with ``expected`` (column -> value) a compare-and-set that returns
    False when the row does not match, else InstanceNotFound when there is no live row."""
    return IMPL.instance_set(ctxt, instance_id, values, expected)


def instance_set_and_grantee_hosts(ctxt: Context, instance_id: int, values: dict[str, Any],
                                   group_ids: list[int]) -> dict[int, list[str]]:
    """``instance_set``, then ``security_group_grantee_hosts(group_ids)``'s answer (admin; on PostgreSQL
    one round trip)."""
    return IMPL.instance_set_and_grantee_hosts(ctxt, instance_id, values, group_ids)


def instance_set_deleted(ctxt: Context, instance_id: int, values: dict[str, Any],
                         grantee_groups: list[int] | None = None) -> dict[int, list[str]] | None:
    """Set the terminated state and soft-delete the instance with its metadata and group links; with
    ``grantee_groups`` (admin), answer ``security_group_grantee_hosts`` of them as read after it."""
    return IMPL.instance_set_deleted(ctxt, instance_id, values, grantee_groups)


def instance_metadata_update(ctxt: Context, instance_id: int, metadata: dict[str, str],
                             delete: bool = False) -> dict[str, str | None]:
    return IMPL.instance_metadata_update(ctxt, instance_id, metadata, delete)


def instance_destroy(ctxt: Context, instance_id: int) -> None:
    """Soft-delete the instance with its metadata and security group links."""
    return IMPL.instance_destroy(ctxt, instance_id)


# -- key pairs (per user; the EC2 API's) ------------------------------------


def key_pair_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Raises KeyPairExists when the user has an undeleted key pair of that name."""
    return IMPL.key_pair_create(ctxt, values)


def key_pair_get(ctxt: Context, user_id: str, name: str) -> Row:
    """Raises KeypairNotFound; a non-admin context reaches only its own user's."""
    return IMPL.key_pair_get(ctxt, user_id, name)


def key_pair_get_all_by_user(ctxt: Context, user_id: str) -> list[Row]:
    return IMPL.key_pair_get_all_by_user(ctxt, user_id)


def key_pair_count_by_user(ctxt: Context, user_id: str) -> int:
    return IMPL.key_pair_count_by_user(ctxt, user_id)


def key_pair_destroy(ctxt: Context, user_id: str, name: str) -> None:
    return IMPL.key_pair_destroy(ctxt, user_id, name)


def key_pair_destroy_all_by_user(ctxt: Context, user_id: str) -> None:
    return IMPL.key_pair_destroy_all_by_user(ctxt, user_id)


# -- tags (EC2 CreateTags; per project) --------------------------------------


def tag_create_or_update(
    ctxt: Context, resource_type: str, resource_id: int, key: str, value: str | None, project_id: str | None = None
) -> Row:
    """Set a tag (``resource_type`` e.g. "instance", ``resource_id`` the db id); replaces its value."""
    return IMPL.tag_create_or_update(ctxt, resource_type, resource_id, key, value, project_id)


def tag_delete(ctxt: Context, resource_type: str, resource_id: int, key: str, value: str | None = None) -> int:
    """Delete a tag (only if it has ``value`` when one is given); returns the number deleted."""
    return IMPL.tag_delete(ctxt, resource_type, resource_id, key, value)


def instance_get_and_mark_deleting(ctxt: Context, instance_ids: list[int], deleting: str) -> list[tuple[Row, bool]]:
    """The instances of ``instance_ids`` as ``instance_get_by_ids`` reads them, each with whether its task
    was set to ``deleting`` (and its tags forgotten) by the same call: all of them when all were found
    and may be so marked as read (on a host, not protected, not being deleted), else none (on PostgreSQL
    one statement; elsewhere never any: the caller marks each with ``instance_mark_deleting``)."""
    return IMPL.instance_get_and_mark_deleting(ctxt, instance_ids, deleting)


def instance_mark_deleting(ctxt: Context, instance_id: int, deleting: str, forget_tags: bool) -> bool:
    """Set the live instance's task to ``deleting`` unless it already is, and with ``forget_tags`` soft-delete
    its tags, all or nothing (on PostgreSQL one statement); whether the task was set."""
    return IMPL.instance_mark_deleting(ctxt, instance_id, deleting, forget_tags)


def tag_delete_all_for_resource(ctxt: Context, resource_type: str, resource_id: int) -> None:
    return IMPL.tag_delete_all_for_resource(ctxt, resource_type, resource_id)


def tag_get_all(ctxt: Context, filters: dict[str, Any] | None = None) -> list[Row]:
    """Filters: resource_type, resource_id, key, value, project_id; each a value or a list."""
    return IMPL.tag_get_all(ctxt, filters)


def tag_get_by_resources(ctxt: Context, resource_type: str, resource_ids: list[int]) -> dict[int, dict[str, Any]]:
    """``{resource_id: {key: value}}`` for many resources at once."""
    return IMPL.tag_get_by_resources(ctxt, resource_type, resource_ids)


# -- instances: filters and usage (compute, scheduler) -----------------------


def instance_get_all_by_filters(ctxt: Context, filters: dict[str, Any] | None = None,
                                related: bool = True) -> list[Row]:
    """Filters: instance_ids (list), reservation_id, vm_state (value or list), host, fixed_ip,
    key_name, availability_zone, project_id, user_id.  Non-admins see their project's only.
    Without ``related``, the rows and their flavors only (one statement)."""
    return IMPL.instance_get_all_by_filters(ctxt, filters, related)


def instance_get_by_ids(ctxt: Context, instance_ids: list[int]) -> list[Row]:
    """``instance_get_all_by_filters(ctxt, {"instance_ids": ids}, related=False)`` in one Core statement:
    the rows the context sees, by id, with their flavors (their metadata and groups read as empty)."""
    return IMPL.instance_get_by_ids(ctxt, instance_ids)


def instance_get_by_reservation(ctxt: Context, reservation_id: str, project_id: str | None) -> list[Row]:
    """The instances of a reservation in a project, as ``instance_get_by_ids`` gives them (one Core
    statement)."""
    return IMPL.instance_get_by_reservation(ctxt, reservation_id, project_id)


def instance_get_listing(ctxt: Context, filters: dict[str, Any] | None = None, after_id: int | None = None,
                         limit: int | None = None, *, newest_first: bool = False,
                         marker: str | None = None) -> list[Row]:
    """What a listing shows: the instances ``instance_get_all_by_filters`` gives, by id, those with an
    id above ``after_id`` and at most ``limit``, each a dict of its columns with ``instance_type``,
    ``security_groups``, ``metadata_dict``, ``tags``, ``nics`` and ``volumes``, in a fixed number of
    statements whatever the number of instances.  ``newest_first``: by (created_at, id) descending,
    the page starting after the instance whose uuid is ``marker`` (``MarkerNotFound`` when it is not
    among them)."""
    return IMPL.instance_get_listing(ctxt, filters, after_id, limit, newest_first=newest_first, marker=marker)


def instance_get_all_by_reservation(ctxt: Context, reservation_id: str) -> list[Row]:
    return IMPL.instance_get_all_by_reservation(ctxt, reservation_id)


def instance_data_get_for_project(ctxt: Context, project_id: str) -> tuple[int, int, int]:
    """(instances, vcpus, memory_mb) held by the project's live instances."""
    return IMPL.instance_data_get_for_project(ctxt, project_id)


def instance_usage_by_host(ctxt: Context, hosts: list[str] | None = None) -> dict[str, dict[str, int]]:
    """``{host: {instances, vcpus, memory_mb, local_gb}}`` of live, non-error instances."""
    return IMPL.instance_usage_by_host(ctxt, hosts)


def compute_node_get_all(ctxt: Context) -> dict[str, Row]:
    """``{host: compute node}``."""
    return IMPL.compute_node_get_all(ctxt)


def compute_host_capacity(ctxt: Context, topic: str, leave_out: Collection[int] = ()) -> list[dict[str, Any]]:
    """Each enabled service of ``topic`` with its node's memory and its instances' use, one statement.

    The instances whose ids are in ``leave_out`` are not counted (a scheduler counts those itself)."""
    return IMPL.compute_host_capacity(ctxt, topic, leave_out)


def compute_node_get_by_host(ctxt: Context, host: str) -> Row | None:
    return IMPL.compute_node_get_by_host(ctxt, host)


# -- security groups (per project) -------------------------------------------


def security_group_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Raises SecurityGroupExists for a live group of that name in the project."""
    return IMPL.security_group_create(ctxt, values)


def security_group_get(ctxt: Context, security_group_id: int) -> Row:
    """Raises SecurityGroupNotFound, also for another project's group.  ``row.rules`` holds its rules."""
    return IMPL.security_group_get(ctxt, security_group_id)


def security_group_get_by_name(ctxt: Context, project_id: str, name: str, with_rules: bool = True) -> Row:
    """Without ``with_rules``, one statement (Core, no ORM query) and a row whose rules read as empty."""
    if not with_rules:
        return IMPL.security_group_get_by_name_without_rules(ctxt, project_id, name)
    return IMPL.security_group_get_by_name(ctxt, project_id, name, with_rules)


def security_group_get_by_project(ctxt: Context, project_id: str) -> list[Row]:
    return IMPL.security_group_get_by_project(ctxt, project_id)


def security_group_get_all(ctxt: Context) -> list[Row]:
    return IMPL.security_group_get_all(ctxt)


def security_group_get_by_instance(ctxt: Context, instance_id: int) -> list[Row]:
    return IMPL.security_group_get_by_instance(ctxt, instance_id)


def security_group_hosts(ctxt: Context, group_id: int) -> list[str]:
    """Hosts running a live instance of the group (admin only), one query."""
    return IMPL.security_group_hosts(ctxt, group_id)


def security_group_grantee_hosts(ctxt: Context, group_ids: list[int]) -> dict[int, list[str]]:
    """For each group: the hosts whose instances' rules grant it (admin only), one query."""
    return IMPL.security_group_grantee_hosts(ctxt, group_ids)


def security_group_get_instances(ctxt: Context, security_group_id: int) -> list[Row]:
    """Live instances in the group."""
    return IMPL.security_group_get_instances(ctxt, security_group_id)


def security_group_exists(ctxt: Context, project_id: str, name: str) -> bool:
    return IMPL.security_group_exists(ctxt, project_id, name)


def security_group_in_use(ctxt: Context, security_group_id: int) -> bool:
    """True while a live instance belongs to the group."""
    return IMPL.security_group_in_use(ctxt, security_group_id)


def security_group_destroy(ctxt: Context, security_group_id: int) -> None:
    """Soft-delete the group, its rules, rules granting it and its instance links."""
    return IMPL.security_group_destroy(ctxt, security_group_id)


def security_group_rule_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """values: parent_group_id, protocol, from_port, to_port, and cidr or group_id."""
    return IMPL.security_group_rule_create(ctxt, values)


def security_group_rule_get(ctxt: Context, rule_id: int) -> Row:
    return IMPL.security_group_rule_get(ctxt, rule_id)


def security_group_rule_get_by_security_group(ctxt: Context, security_group_id: int) -> list[Row]:
    return IMPL.security_group_rule_get_by_security_group(ctxt, security_group_id)


def security_group_rule_get_by_security_group_grantee(ctxt: Context, security_group_id: int) -> list[Row]:
    """Rules whose source group is ``security_group_id``."""
    return IMPL.security_group_rule_get_by_security_group_grantee(ctxt, security_group_id)


def security_group_rule_destroy(ctxt: Context, rule_id: int) -> None:
    return IMPL.security_group_rule_destroy(ctxt, rule_id)


def instance_add_security_group(ctxt: Context, instance_id: int, security_group_id: int) -> None:
    return IMPL.instance_add_security_group(ctxt, instance_id, security_group_id)


# -- images (nova.image's store; visibility: owner, public, launch permission) --


def image_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """``values["properties"]`` may be a dict (stored as JSON)."""
    return IMPL.image_create(ctxt, values)


def image_get(ctxt: Context, image_id: int) -> Row:
    """Raises ImageNotFound, also for an image the context may not see."""
    return IMPL.image_get(ctxt, image_id)


def image_get_plain(ctxt: Context, image_id: int) -> Row:
    """``image_get`` as a plain row (``row["name"]``), in one Core statement: what a launch reads."""
    return IMPL.image_get_plain(ctxt, image_id)


def image_get_all(ctxt: Context) -> list[Row]:
    return IMPL.image_get_all(ctxt)


def image_get_listing(ctxt: Context, after_id: int | None = None, limit: int | None = None,
                      newest_first: bool = False) -> list[Row]:
    """The images the context sees as plain rows by id, after ``after_id`` (before it, newest first),
    at most ``limit``."""
    return IMPL.image_get_listing(ctxt, after_id, limit, newest_first)


def image_update(ctxt: Context, image_id: int, values: dict[str, Any]) -> Row:
    """Owner or admin only (NotAuthorized otherwise)."""
    return IMPL.image_update(ctxt, image_id, values)


def image_destroy(ctxt: Context, image_id: int) -> None:
    return IMPL.image_destroy(ctxt, image_id)


def image_launch_permission_add(ctxt: Context, image_id: int, project_id: str) -> None:
    """``project_id`` may be "all"."""
    return IMPL.image_launch_permission_add(ctxt, image_id, project_id)


def image_launch_permission_remove(ctxt: Context, image_id: int, project_id: str) -> None:
    return IMPL.image_launch_permission_remove(ctxt, image_id, project_id)


def image_launch_permission_get_all(ctxt: Context, image_id: int) -> list[str]:
    return IMPL.image_launch_permission_get_all(ctxt, image_id)


# == nova-network: networks, fixed IPs, floating IPs =========================


# -- networks ----------------------------------------------------------------


def network_create_safe(ctxt: Context, values: dict[str, Any]) -> Row:
    """Create a network; NetworkExists when its cidr (or VPN endpoint) is taken."""
    return IMPL.network_create_safe(ctxt, values)


def network_get(ctxt: Context, network_id: int) -> Row:
    return IMPL.network_get(ctxt, network_id)


def network_get_all(ctxt: Context) -> list[Row]:
    return IMPL.network_get_all(ctxt)


def network_get_all_by_host(ctxt: Context, host: str) -> list[Row]:
    return IMPL.network_get_all_by_host(ctxt, host)


def network_get_by_bridge(ctxt: Context, bridge: str) -> Row:
    return IMPL.network_get_by_bridge(ctxt, bridge)


def network_get_unassociated(ctxt: Context) -> list[Row]:
    """Networks bound to no project (the flat strategies' pool)."""
    return IMPL.network_get_unassociated(ctxt)


def network_update(ctxt: Context, network_id: int, values: dict[str, Any]) -> Row:
    return IMPL.network_update(ctxt, network_id, values)


def network_set_host(ctxt: Context, network_id: int, host: str) -> str:
    """Claim the network for ``host`` unless another host has it; returns the owner."""
    return IMPL.network_set_host(ctxt, network_id, host)


def project_get_network(ctxt: Context, project_id: str, associate: bool = True) -> Row:
    """The project's network; with ``associate``, bind a free one at first use."""
    return IMPL.project_get_network(ctxt, project_id, associate)


def network_disassociate(ctxt: Context, network_id: int) -> None:
    """Unbind a network from its project and host."""
    return IMPL.network_disassociate(ctxt, network_id)


def network_delete_safe(ctxt: Context, network_id: int) -> None:
    """Soft-delete a network and its addresses; refused while any is in use."""
    return IMPL.network_delete_safe(ctxt, network_id)


def network_count(ctxt: Context) -> int:
    return IMPL.network_count(ctxt)


# -- fixed IPs ---------------------------------------------------------------


def fixed_ip_bulk_create(ctxt: Context, rows: list[dict[str, Any]]) -> None:
    return IMPL.fixed_ip_bulk_create(ctxt, rows)


def fixed_ip_associate_pool(ctxt: Context, network_id: int, instance_id: int, mac_address: str) -> Row:
    """Give the instance a free, unreserved address of the network, marked allocated."""
    return IMPL.fixed_ip_associate_pool(ctxt, network_id, instance_id, mac_address)


def fixed_ip_allocate_for_instance(ctxt: Context, network_id: int, instance_id: int,
                                   mac_address: str) -> tuple[dict[str, Any], bool]:
    """(address, held already) of the instance on the network, claiming a free one when it holds none."""
    return IMPL.fixed_ip_allocate_for_instance(ctxt, network_id, instance_id, mac_address)


def fixed_ip_get_releases_by_instance(ctxt: Context, instance_id: int) -> list[dict[str, Any]]:
    """Per fixed IP of the instance: address, network_id, network_host, floating [(address, host)]."""
    return IMPL.fixed_ip_get_releases_by_instance(ctxt, instance_id)


def fixed_ip_get_by_address(ctxt: Context, address: str) -> Row:
    return IMPL.fixed_ip_get_by_address(ctxt, address)


def fixed_ip_get(ctxt: Context, fixed_ip_id: int) -> Row:
    return IMPL.fixed_ip_get(ctxt, fixed_ip_id)


def fixed_ip_get_all(ctxt: Context) -> list[Row]:
    return IMPL.fixed_ip_get_all(ctxt)


def fixed_ip_get_all_by_network(ctxt: Context, network_id: int) -> list[Row]:
    return IMPL.fixed_ip_get_all_by_network(ctxt, network_id)


def fixed_ip_get_all_by_instance(ctxt: Context, instance_id: int) -> list[Row]:
    """The instance's addresses; a non-admin only for an instance of its project."""
    return IMPL.fixed_ip_get_all_by_instance(ctxt, instance_id)


def fixed_ip_get_all_by_security_group(ctxt: Context, security_group_id: int) -> list[Row]:
    """Addresses of the (undeleted) instances that are members of the group."""
    return IMPL.fixed_ip_get_all_by_security_group(ctxt, security_group_id)


def fixed_ip_update(ctxt: Context, address: str, values: dict[str, Any]) -> Row:
    return IMPL.fixed_ip_update(ctxt, address, values)


def fixed_ip_disassociate(ctxt: Context, address: str) -> None:
    """Return the address to the pool."""
    return IMPL.fixed_ip_disassociate(ctxt, address)


def fixed_ip_disassociate_all_by_timeout(ctxt: Context, host: str, before: Any) -> int:
    """Free addresses of ``host``'s networks left unallocated and unleased since before ``before``."""
    return IMPL.fixed_ip_disassociate_all_by_timeout(ctxt, host, before)


# -- floating IPs ------------------------------------------------------------


def floating_ip_create(ctxt: Context, values: dict[str, Any]) -> Row:
    """Add an address to a host's pool; FloatingIpExists if it is there already."""
    return IMPL.floating_ip_create(ctxt, values)


def floating_ip_bulk_create(ctxt: Context, host: str, addresses: list[str]) -> None:
    """Add many addresses at once; nothing is added if any of them exists."""
    return IMPL.floating_ip_bulk_create(ctxt, host, addresses)


def floating_ip_allocate_address(ctxt: Context, host: str | None, project_id: str,
                                 limit: int | None = None) -> Row:
    """Claim a free address (of ``host``'s pool when given) for the project."""
    return IMPL.floating_ip_allocate_address(ctxt, host, project_id, limit)


def floating_ip_count_by_project(ctxt: Context, project_id: str) -> int:
    return IMPL.floating_ip_count_by_project(ctxt, project_id)


def floating_ip_deallocate(ctxt: Context, address: str) -> None:
    """Give the address back to the pool; it must not be associated."""
    return IMPL.floating_ip_deallocate(ctxt, address)


def floating_ip_destroy(ctxt: Context, address: str) -> None:
    """Remove an address from the pool; refused while a project holds it."""
    return IMPL.floating_ip_destroy(ctxt, address)


def floating_ip_fixed_ip_associate(ctxt: Context, floating_address: str, fixed_address: str) -> Row:
    """Point a project's floating address at a fixed address of one of its instances."""
    return IMPL.floating_ip_fixed_ip_associate(ctxt, floating_address, fixed_address)


def floating_ip_disassociate(ctxt: Context, address: str) -> str | None:
    """Unpoint the address; returns the fixed address it had, or None."""
    return IMPL.floating_ip_disassociate(ctxt, address)


def floating_ip_get_by_address(ctxt: Context, address: str) -> Row:
    """FloatingIpNotFound also for another project's (or a free) address when not admin."""
    return IMPL.floating_ip_get_by_address(ctxt, address)


def floating_ip_get_all(ctxt: Context) -> list[Row]:
    return IMPL.floating_ip_get_all(ctxt)


def floating_ip_get_all_by_host(ctxt: Context, host: str) -> list[Row]:
    return IMPL.floating_ip_get_all_by_host(ctxt, host)


def floating_ip_get_all_by_project(ctxt: Context, project_id: str) -> list[Row]:
    return IMPL.floating_ip_get_all_by_project(ctxt, project_id)


def floating_ip_get_by_fixed_address(ctxt: Context, fixed_address: str) -> list[Row]:
    return IMPL.floating_ip_get_by_fixed_address(ctxt, fixed_address)


# -- volumes (per project) ----------------------------------------------------


def volume_create(ctxt: Context, values: dict[str, Any]) -> Row:
    return IMPL.volume_create(ctxt, values)


def volume_get(ctxt: Context, volume_id: int) -> Row:
    """Raises VolumeNotFound, also for another project's volume when not admin."""
    return IMPL.volume_get(ctxt, volume_id)


def volume_get_all(ctxt: Context) -> list[Row]:
    """Every project's volumes (admin only)."""
    return IMPL.volume_get_all(ctxt)


def volume_get_listing(ctxt: Context, project_id: str | None = None, after_id: int | None = None,
                       limit: int | None = None) -> list[Any]:
    """Visible volumes (of ``project_id`` when given) as plain rows by id, after ``after_id``, at most
    ``limit``; one statement."""
    return IMPL.volume_get_listing(ctxt, project_id, after_id, limit)


def volume_get_all_by_project(ctxt: Context, project_id: str) -> list[Row]:
    return IMPL.volume_get_all_by_project(ctxt, project_id)


def volume_get_all_by_host(ctxt: Context, host: str) -> list[Row]:
    """The volumes a volume host keeps (admin only)."""
    return IMPL.volume_get_all_by_host(ctxt, host)


def volume_get_all_by_instance(ctxt: Context, instance_id: int) -> list[Row]:
    """The volumes attached (or attaching, detaching) to an instance, by mountpoint."""
    return IMPL.volume_get_all_by_instance(ctxt, instance_id)


def volume_get_all_by_instances(ctxt: Context, instance_ids: list[int]) -> list[Row]:
    """The volumes attached to any of the instances, in one query (listings)."""
    return IMPL.volume_get_all_by_instances(ctxt, instance_ids)


def volume_update(ctxt: Context, volume_id: int, values: dict[str, Any]) -> Row:
    return IMPL.volume_update(ctxt, volume_id, values)


def volume_update_if_status(ctxt: Context, volume_id: int, expected: tuple[str, ...], values: dict[str, Any],
                            action: str) -> Row:
    """``values`` set atomically while the status is one of ``expected``; VolumeInUse or VolumeInvalidState else."""
    return IMPL.volume_update_if_status(ctxt, volume_id, expected, values, action)


def volume_destroy(ctxt: Context, volume_id: int) -> None:
    """Soft-delete the volume and free its iSCSI target number."""
    return IMPL.volume_destroy(ctxt, volume_id)


def volume_attached(ctxt: Context, volume_id: int, instance_id: int, mountpoint: str) -> Row:
    return IMPL.volume_attached(ctxt, volume_id, instance_id, mountpoint)


def volume_detached(ctxt: Context, volume_id: int) -> Row:
    return IMPL.volume_detached(ctxt, volume_id)


def volume_data_get_for_project(ctxt: Context, project_id: str) -> tuple[int, int]:
    """(volumes, gigabytes) of the project's live volumes."""
    return IMPL.volume_data_get_for_project(ctxt, project_id)


def volume_usage_by_host(ctxt: Context, hosts: list[str] | None = None) -> dict[str, dict[str, int]]:
    """``{host: {"volumes", "gigabytes"}}`` of the live volumes on each host."""
    return IMPL.volume_usage_by_host(ctxt, hosts)


def iscsi_target_allocate(ctxt: Context, host: str, volume_id: int, num_targets: int) -> int:
    """The volume's iSCSI target number on ``host`` (its own, or the lowest free one)."""
    return IMPL.iscsi_target_allocate(ctxt, host, volume_id, num_targets)


def iscsi_target_get_for_volume(ctxt: Context, volume_id: int) -> int:
    return IMPL.iscsi_target_get_for_volume(ctxt, volume_id)


# -- snapshots (per project) ----------------------------------------------------


def snapshot_create(ctxt: Context, values: dict[str, Any]) -> Row:
    return IMPL.snapshot_create(ctxt, values)


def snapshot_get(ctxt: Context, snapshot_id: int) -> Row:
    """Raises SnapshotNotFound, also for another project's snapshot when not admin."""
    return IMPL.snapshot_get(ctxt, snapshot_id)


def snapshot_get_all(ctxt: Context) -> list[Row]:
    """Every project's snapshots (admin only)."""
    return IMPL.snapshot_get_all(ctxt)


def snapshot_get_listing(ctxt: Context, project_id: str | None = None, after_id: int | None = None,
                         limit: int | None = None) -> list[Any]:
    """Visible snapshots (of ``project_id`` when given) as plain rows by id, after ``after_id``, at
    most ``limit``; one statement."""
    return IMPL.snapshot_get_listing(ctxt, project_id, after_id, limit)


def snapshot_get_all_by_project(ctxt: Context, project_id: str) -> list[Row]:
    return IMPL.snapshot_get_all_by_project(ctxt, project_id)


def snapshot_update(ctxt: Context, snapshot_id: int, values: dict[str, Any]) -> Row:
    return IMPL.snapshot_update(ctxt, snapshot_id, values)


def snapshot_update_if_status(ctxt: Context, snapshot_id: int, expected: tuple[str, ...], values: dict[str, Any],
                              action: str) -> Row:
    return IMPL.snapshot_update_if_status(ctxt, snapshot_id, expected, values, action)


def snapshot_destroy(ctxt: Context, snapshot_id: int) -> None:
    return IMPL.snapshot_destroy(ctxt, snapshot_id)


# -- addresses of many instances at once (listings) ------------------------------


def fixed_ip_get_addresses_by_instances(ctxt: Context, instance_ids: list[int]) -> list[tuple[int, str, str | None]]:
    """``(instance id, fixed address, floating address or None)`` for many instances in one query,
    ordered by instance, fixed IP and floating IP; a non-admin gets its project's instances' only."""
    return IMPL.fixed_ip_get_addresses_by_instances(ctxt, instance_ids)


def fixed_ip_get_nics_by_instances(ctxt: Context, instance_ids: list[int]) -> list[tuple[Any, ...]]:
    """``(instance id, fixed address, MAC, network label, floating address or None)`` for many
    instances in one query; a non-admin gets its project's instances' only."""
    return IMPL.fixed_ip_get_nics_by_instances(ctxt, instance_ids)


def floating_ip_get_all_with_fixed(ctxt: Context,
                                   addresses: list[str] | None = None) -> list[tuple[Row, str | None, int | None]]:
    """``(floating IP row, fixed address, instance id)`` in one query: the allocated addresses the
    context may see, or only ``addresses`` (free ones too for an admin)."""
    return IMPL.floating_ip_get_all_with_fixed(ctxt, addresses)


# -- security groups with their rules, image launch permissions (listings) -----


def security_group_get_listing(ctxt: Context, project_id: str | None = None, after_id: int | None = None,
                               limit: int | None = None) -> list[Any]:
    """Visible groups (of ``project_id`` when given) as plain rows by id, each with ``rules``: those
    after ``after_id``, at most ``limit``; two statements."""
    return IMPL.security_group_get_listing(ctxt, project_id, after_id, limit)


def security_group_get_names(ctxt: Context, security_group_ids: list[int]) -> dict[int, tuple[str, str]]:
    """``{id: (name, project_id)}`` of the visible groups among the ids, in one query."""
    return IMPL.security_group_get_names(ctxt, security_group_ids)


def security_group_count_by_project(ctxt: Context, project_id: str) -> int:
    return IMPL.security_group_count_by_project(ctxt, project_id)


def image_launch_permission_get_by_images(ctxt: Context, image_ids: list[int]) -> dict[int, list[str]]:
    """``{image_id: [project or "all", ...]}`` for the visible images among the ids, in one query."""
    return IMPL.image_launch_permission_get_by_images(ctxt, image_ids)
