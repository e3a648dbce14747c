"""The initial schema and the five standard flavors.

Revision ID: 001
Revises:
Create Date: 2011-04-15

The tables are written out here rather than taken from the models, so this
revision keeps meaning what it meant when later revisions change the models.
Constraint names follow ``models.NAMING_CONVENTION``.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op

revision = "001"
down_revision = None
branch_labels = None
depends_on = None

FLAVORS = (
    ("m1.tiny", 1, 512, 1, 0),
    ("m1.small", 2, 2048, 1, 20),
    ("m1.medium", 3, 4096, 2, 40),
    ("m1.large", 4, 8192, 4, 80),
    ("m1.xlarge", 5, 16384, 8, 160),
)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True, nullable=False)


def _str(name: str, length: int = 255, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _int(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=nullable)


def _bool(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean, nullable=False)


def _time(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime, nullable=True)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=True)


def _table(name: str, *items: sa.Column | sa.Constraint, fks: dict[str, str] | None = None,
           indexes: tuple[tuple[str, ...], ...] = (), uniques: tuple[tuple[str, ...], ...] = ()) -> None:
    """Create ``name`` with nova's timestamp columns, named constraints and indexes."""
    columns = [item for item in items if isinstance(item, sa.Column)]
    pk = [column.name for column in columns if column.primary_key]
    constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint(*pk, name=f"pk_{name}")]
    for column, target in (fks or {}).items():
        constraints.append(sa.ForeignKeyConstraint([column], [target], name=f"fk_{name}_{column}"))
    for cols in uniques:
        constraints.append(sa.UniqueConstraint(*cols, name=f"uq_{name}_{'_'.join(cols)}"))
    op.create_table(
        name,
        *columns,
        _time("created_at"),
        _time("updated_at"),
        _time("deleted_at"),
        _bool("deleted"),
        *constraints,
    )
    for cols in indexes:
        op.create_index(f"ix_{name}_{'_'.join(cols)}", name, list(cols))


def upgrade() -> None:
    _table("services", _id(), _str("host"), _str("binary"), _str("topic"), _int("report_count", nullable=False),
           _bool("disabled"), _str("availability_zone"), indexes=(("host", "topic"),))
    _table("compute_nodes", _id(), _int("service_id", nullable=False), _int("vcpus"), _int("memory_mb"),
           _int("local_gb"), _int("vcpus_used"), _int("memory_mb_used"), _int("local_gb_used"),
           _str("hypervisor_type"), _int("hypervisor_version"), _text("cpu_info"),
           fks={"service_id": "services.id"}, indexes=(("service_id",),))

    _table("users", sa.Column("id", sa.String(255), primary_key=True), _str("name"), _str("access_key"),
           _str("secret_key"), _bool("is_admin"), uniques=(("access_key",),))
    _table("projects", sa.Column("id", sa.String(255), primary_key=True), _str("name"), _str("description"),
           _str("project_manager"), fks={"project_manager": "users.id"}, indexes=(("project_manager",),))
    _table("user_project_association", sa.Column("user_id", sa.String(255), primary_key=True),
           sa.Column("project_id", sa.String(255), primary_key=True),
           fks={"user_id": "users.id", "project_id": "projects.id"}, indexes=(("project_id",),))
    _table("user_role_association", sa.Column("user_id", sa.String(255), primary_key=True),
           sa.Column("role", sa.String(255), primary_key=True), fks={"user_id": "users.id"})
    _table("user_project_role_association", sa.Column("user_id", sa.String(255), primary_key=True),
           sa.Column("project_id", sa.String(255), primary_key=True),
           sa.Column("role", sa.String(255), primary_key=True),
           fks={"user_id": "users.id", "project_id": "projects.id"}, indexes=(("project_id",),))

    _table("instance_types", _id(), _str("name", nullable=False), _int("memory_mb", nullable=False),
           _int("vcpus", nullable=False), _int("local_gb", nullable=False), _int("flavorid", nullable=False),
           _int("swap", nullable=False), _int("rxtx_quota", nullable=False), _int("rxtx_cap", nullable=False),
           indexes=(("flavorid",), ("name",)))
    _table("instances", _id(), _str("uuid", 36), _str("user_id"), _str("project_id"), _str("image_id"),
           _str("kernel_id"), _str("ramdisk_id"), _int("launch_index"), _str("key_name"), _text("key_data"),
           _str("admin_pass"), _str("vm_state"), _str("task_state"), _int("power_state"), _int("memory_mb"),
           _int("vcpus"), _int("local_gb"), _int("instance_type_id"), _str("hostname"), _str("host"),
           _text("launched_on"), _str("availability_zone"), _text("user_data"), _str("reservation_id"),
           _str("mac_address"), _str("display_name"), _str("display_description"), _bool("locked"),
           _str("os_type"), _str("root_device_name"), _time("scheduled_at"), _time("launched_at"),
           _time("terminated_at"),
           fks={"instance_type_id": "instance_types.id"}, uniques=(("uuid",),),
           indexes=(("host",), ("instance_type_id",), ("project_id",), ("reservation_id",)))
    _table("instance_metadata", _id(), _str("key"), _str("value"), _int("instance_id", nullable=False),
           fks={"instance_id": "instances.id"}, indexes=(("instance_id",),))
    _table("tags", _id(), _str("resource_type", 64, nullable=False), _int("resource_id", nullable=False),
           _str("key", nullable=False), _str("value"), _str("project_id"),
           indexes=(("project_id",), ("resource_type", "resource_id")))
    _table("key_pairs", _id(), _str("name"), _str("user_id"), _str("fingerprint"), _text("public_key"),
           indexes=(("user_id",),))

    _table("security_groups", _id(), _str("name"), _str("description"), _str("user_id"), _str("project_id"),
           indexes=(("project_id",),))
    _table("security_group_rules", _id(), _int("parent_group_id"), _str("protocol", 5), _int("from_port"),
           _int("to_port"), _str("cidr"), _int("group_id"),
           fks={"parent_group_id": "security_groups.id", "group_id": "security_groups.id"},
           indexes=(("group_id",), ("parent_group_id",)))
    _table("security_group_instance_association", _id(), _int("security_group_id"), _int("instance_id"),
           fks={"security_group_id": "security_groups.id", "instance_id": "instances.id"},
           indexes=(("instance_id",), ("security_group_id",)))

    _table("networks", _id(), _str("label"), _bool("injected"), _str("cidr"), _str("netmask"), _str("gateway"),
           _str("broadcast"), _str("dns"), _str("cidr_v6"), _str("netmask_v6"), _str("gateway_v6"),
           _str("ra_server"), _str("bridge"), _str("bridge_interface"), _int("vlan"), _str("vpn_public_address"),
           _int("vpn_public_port"), _str("vpn_private_address"), _str("dhcp_start"), _str("project_id"),
           _str("host"), uniques=(("cidr",), ("project_id",), ("vpn_public_address", "vpn_public_port")),
           indexes=(("host",),))
    _table("fixed_ips", _id(), _str("address"), _int("network_id"), _int("instance_id"), _bool("allocated"),
           _bool("leased"), _bool("reserved"), _str("mac_address"),
           fks={"network_id": "networks.id", "instance_id": "instances.id"},
           indexes=(("address",), ("instance_id",), ("network_id",)))
    _table("floating_ips", _id(), _str("address"), _int("fixed_ip_id"), _str("project_id"), _str("host"),
           _bool("auto_assigned"), fks={"fixed_ip_id": "fixed_ips.id"},
           indexes=(("address",), ("fixed_ip_id",), ("project_id",)))

    _table("volumes", _id(), _str("user_id"), _str("project_id"), _int("snapshot_id"), _str("host"),
           _int("size"), _str("availability_zone"), _int("instance_id"), _str("mountpoint"), _str("attach_time"),
           _str("status"), _str("attach_status"), _time("scheduled_at"), _time("launched_at"),
           _time("terminated_at"), _str("display_name"), _str("display_description"), _str("provider_location"),
           _str("provider_auth"), fks={"instance_id": "instances.id"},
           indexes=(("host",), ("instance_id",), ("project_id",)))
    _table("snapshots", _id(), _int("volume_id"), _str("user_id"), _str("project_id"), _str("status"),
           _str("progress"), _int("volume_size"), _str("display_name"), _str("display_description"),
           indexes=(("project_id",), ("volume_id",)))
    _table("iscsi_targets", _id(), _int("target_num"), _str("host"), _int("volume_id"),
           fks={"volume_id": "volumes.id"}, uniques=(("target_num", "host"),), indexes=(("volume_id",),))
    _table("export_devices", _id(), _int("shelf_id"), _int("blade_id"), _int("volume_id"),
           fks={"volume_id": "volumes.id"}, uniques=(("shelf_id", "blade_id"),), indexes=(("volume_id",),))

    _table("quotas", _id(), _str("project_id", nullable=False), _str("resource", nullable=False),
           _int("hard_limit", nullable=False), uniques=(("project_id", "resource"),))
    _table("images", _id(), _str("name"), _str("location", 1024), _str("project_id"), _str("state"),
           _str("disk_format", 32), _str("container_format", 32), _int("kernel_id"), _int("ramdisk_id"),
           _str("architecture", 32), _bool("is_public"), _str("type", 32), sa.Column("size", sa.BigInteger),
           _str("checksum", 64), _text("properties"), indexes=(("project_id",),))
    _table("image_launch_permissions", _id(), _int("image_id", nullable=False),
           _str("project_id", nullable=False), fks={"image_id": "images.id"},
           indexes=(("image_id",), ("project_id",)))
    _table("migrations", _id(), _str("source_compute"), _str("dest_compute"), _str("dest_host"),
           _int("old_flavor_id"), _int("new_flavor_id"), _int("instance_id"), _str("status"),
           fks={"instance_id": "instances.id"}, indexes=(("instance_id",),))
    _table("auth_tokens", sa.Column("token_hash", sa.String(255), primary_key=True), _str("user_id"),
           _str("server_management_url"), _str("storage_url"), _str("cdn_management_url"),
           indexes=(("user_id",),))
    _table("certificates", _id(), _str("user_id"), _str("project_id"), _str("file_name"),
           indexes=(("project_id",), ("user_id",)))

    _seed_flavors()


def _seed_flavors() -> None:
    flavors = sa.table(
        "instance_types",
        sa.column("name", sa.String), sa.column("flavorid", sa.Integer), sa.column("memory_mb", sa.Integer),
        sa.column("vcpus", sa.Integer), sa.column("local_gb", sa.Integer), sa.column("swap", sa.Integer),
        sa.column("rxtx_quota", sa.Integer), sa.column("rxtx_cap", sa.Integer),
        sa.column("created_at", sa.DateTime), sa.column("deleted", sa.Boolean),
    )
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    op.bulk_insert(flavors, [
        {"name": name, "flavorid": flavorid, "memory_mb": memory_mb, "vcpus": vcpus, "local_gb": local_gb,
         "swap": 0, "rxtx_quota": 0, "rxtx_cap": 0, "created_at": now, "deleted": False}
        for name, flavorid, memory_mb, vcpus, local_gb in FLAVORS
    ])


TABLES_IN_DROP_ORDER = (
    "certificates", "auth_tokens", "migrations", "image_launch_permissions", "images", "quotas",
    "export_devices", "iscsi_targets", "snapshots", "volumes", "floating_ips", "fixed_ips", "networks",
    "security_group_instance_association", "security_group_rules", "security_groups", "key_pairs", "tags",
    "instance_metadata", "instances", "instance_types", "user_project_role_association",
    "user_role_association", "user_project_association", "projects", "users", "compute_nodes", "services",
)


def downgrade() -> None:
    for name in TABLES_IN_DROP_ORDER:
        op.drop_table(name)
