"""SQLAlchemy models of nova's tables.

Column names follow the first Nova (Cactus) so operators recognise the schema;
the departures are listed in the docstrings of the classes concerned.  Every
String has an explicit length so the same metadata works on MariaDB.
Constraint and index names come from ``NAMING_CONVENTION`` so they are the
same on every backend and the migrations can name them.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterator

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from nova import utils

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class NovaBase:
    """Timestamps, soft deletion and dict-style access shared by every table."""

    created_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=utils.utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, onupdate=utils.utcnow)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    # Read-only properties that to_dict() and key access also expose.
    _extra_keys: tuple[str, ...] = ()

    def soft_delete(self, session: Session) -> None:
        self.deleted = True
        self.deleted_at = utils.utcnow()
        session.add(self)
        session.flush()

    def save(self, session: Session) -> None:
        session.add(self)
        session.flush()

    @classmethod
    def _key_set(cls) -> tuple[tuple[str, ...], frozenset[str]]:
        """The class's keys in order and as a set, worked out once per class (listings read
        tens of thousands of keys per request; inspecting the mapper each time cost seconds)."""
        cached = cls.__dict__.get("_keys_cache")
        if cached is None:
            ordered = tuple(attr.key for attr in inspect(cls).column_attrs) + tuple(cls._extra_keys)
            cached = (ordered, frozenset(ordered))
            cls._keys_cache = cached  # type: ignore[attr-defined]
        return cached

    def keys(self) -> list[str]:
        return list(self._key_set()[0])

    def __iter__(self) -> Iterator[str]:
        return iter(self._key_set()[0])

    def __contains__(self, key: object) -> bool:
        return key in self._key_set()[1]

    def __getitem__(self, key: str) -> Any:
        if key not in self._key_set()[1]:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self._key_set()[1] else default

    def items(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, key)) for key in self.keys()]

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        ident = inspect(self).identity
        return f"<{type(self).__name__} {ident[0] if ident and len(ident) == 1 else ident}>"


class Service(Base, NovaBase):
    __tablename__ = "services"
    __table_args__ = (Index(None, "host", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host: Mapped[str | None] = mapped_column(String(255))
    binary: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    availability_zone: Mapped[str | None] = mapped_column(String(255), default="nova")


class ComputeNode(Base, NovaBase):
    __tablename__ = "compute_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(Integer, ForeignKey("services.id"), index=True)
    vcpus: Mapped[int | None] = mapped_column(Integer)
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    local_gb: Mapped[int | None] = mapped_column(Integer)
    vcpus_used: Mapped[int | None] = mapped_column(Integer)
    memory_mb_used: Mapped[int | None] = mapped_column(Integer)
    local_gb_used: Mapped[int | None] = mapped_column(Integer)
    hypervisor_type: Mapped[str | None] = mapped_column(String(255))
    hypervisor_version: Mapped[int | None] = mapped_column(Integer)
    cpu_info: Mapped[str | None] = mapped_column(Text)


class User(Base, NovaBase):
    """An account of the built-in auth; ``id`` is the user name."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    access_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    secret_key: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # A salted hash (nova.auth.passwords); None: the identity API takes the secret key (migration 005).
    password_hash: Mapped[str | None] = mapped_column(String(255))


class Project(Base, NovaBase):
    """A tenant; ``id`` is the project name."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    project_manager: Mapped[str | None] = mapped_column(String(255), ForeignKey("users.id"), index=True)


class Ec2Credential(Base, NovaBase):
    """A user's access/secret pair for one project (migration 009).

    A SigV4 ``Authorization`` header does not sign its own access key, so a
    key that names the project by itself is what binds such a request to
    its project.  Rows are hard-deleted.
    """

    __tablename__ = "ec2_credentials"

    access_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    secret_key: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), ForeignKey("users.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), ForeignKey("projects.id"), index=True)


class UserProjectAssociation(Base, NovaBase):
    __tablename__ = "user_project_association"

    user_id: Mapped[str] = mapped_column(String(255), ForeignKey("users.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), ForeignKey("projects.id"), primary_key=True, index=True)


class UserRoleAssociation(Base, NovaBase):
    """Global roles (cloudadmin, itsec, ...)."""

    __tablename__ = "user_role_association"

    user_id: Mapped[str] = mapped_column(String(255), ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(255), primary_key=True)


class UserProjectRoleAssociation(Base, NovaBase):
    __tablename__ = "user_project_role_association"

    user_id: Mapped[str] = mapped_column(String(255), ForeignKey("users.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), ForeignKey("projects.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(255), primary_key=True)


class InstanceType(Base, NovaBase):
    """A flavor.

    ``name`` and ``flavorid`` are unique among rows that are not deleted; the
    db api checks that, because a soft-deleted flavor must not block a new one
    of the same name and no portable unique index can skip deleted rows.
    """

    __tablename__ = "instance_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    flavorid: Mapped[int] = mapped_column(Integer, index=True)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_quota: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_cap: Mapped[int] = mapped_column(Integer, default=0)


class Instance(Base, NovaBase):
    """A virtual machine.

    Cactus's ``state``/``state_description`` pair is replaced by ``vm_state``,
    ``task_state`` and ``power_state`` (what later Nova did), and ``uuid`` is
    added; the other columns are Cactus's.
    """

    __tablename__ = "instances"
    __table_args__ = (Index(None, "project_id", "deleted", "id"), Index(None, "host", "deleted"))
    _extra_keys = ("name",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    image_id: Mapped[str | None] = mapped_column(String(255))
    kernel_id: Mapped[str | None] = mapped_column(String(255))
    ramdisk_id: Mapped[str | None] = mapped_column(String(255))
    launch_index: Mapped[int | None] = mapped_column(Integer)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    admin_pass: Mapped[str | None] = mapped_column(String(255))
    vm_state: Mapped[str | None] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    power_state: Mapped[int | None] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    vcpus: Mapped[int | None] = mapped_column(Integer)
    local_gb: Mapped[int | None] = mapped_column(Integer)
    instance_type_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("instance_types.id"), index=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    launched_on: Mapped[str | None] = mapped_column(Text)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    user_data: Mapped[str | None] = mapped_column(Text)
    reservation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    mac_address: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    os_type: Mapped[str | None] = mapped_column(String(255))
    root_device_name: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    launched_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    # Why the instance is in error (migration 002); None otherwise.
    fault: Mapped[str | None] = mapped_column(Text)
    # EC2's DisableApiTermination and InstanceInitiatedShutdownBehavior (migration 008).
    disable_api_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    shutdown_behavior: Mapped[str] = mapped_column(String(16), default="stop")

    instance_type = relationship("InstanceType", lazy="joined", viewonly=True)
    metadata_items = relationship(
        "InstanceMetadata",
        primaryjoin="and_(InstanceMetadata.instance_id == Instance.id, InstanceMetadata.deleted == False)",
        lazy="selectin",
        viewonly=True,
    )
    security_groups = relationship(
        "SecurityGroup",
        secondary="security_group_instance_association",
        primaryjoin="and_(SecurityGroupInstanceAssociation.instance_id == Instance.id,"
        " SecurityGroupInstanceAssociation.deleted == False)",
        secondaryjoin="and_(SecurityGroupInstanceAssociation.security_group_id == SecurityGroup.id,"
        " SecurityGroup.deleted == False)",
        lazy="selectin",
        viewonly=True,
    )

    @property
    def name(self) -> str:
        return "instance-%08x" % self.id

    @property
    def metadata_dict(self) -> dict[str, str | None]:
        return {item.key: item.value for item in self.metadata_items}


class InstanceMetadata(Base, NovaBase):
    __tablename__ = "instance_metadata"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))
    instance_id: Mapped[int] = mapped_column(Integer, ForeignKey("instances.id"), index=True)


class Tag(Base, NovaBase):
    """EC2 CreateTags: a key/value pair on any resource, by type and id."""

    __tablename__ = "tags"
    __table_args__ = (Index(None, "resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)


class KeyPair(Base, NovaBase):
    __tablename__ = "key_pairs"
    __table_args__ = (Index(None, "user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(255))
    public_key: Mapped[str | None] = mapped_column(Text)


class SecurityGroup(Base, NovaBase):
    __tablename__ = "security_groups"
    __table_args__ = (Index(None, "project_id", "name"), Index(None, "project_id", "deleted", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))

    rules = relationship(
        "SecurityGroupIngressRule",
        primaryjoin="and_(SecurityGroupIngressRule.parent_group_id == SecurityGroup.id,"
        " SecurityGroupIngressRule.deleted == False)",
        foreign_keys="SecurityGroupIngressRule.parent_group_id",
        lazy="selectin",
        viewonly=True,
    )


class SecurityGroupIngressRule(Base, NovaBase):
    __tablename__ = "security_group_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_group_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("security_groups.id"), index=True)
    protocol: Mapped[str | None] = mapped_column(String(5))
    from_port: Mapped[int | None] = mapped_column(Integer)
    to_port: Mapped[int | None] = mapped_column(Integer)
    cidr: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("security_groups.id"), index=True)


class SecurityGroupInstanceAssociation(Base, NovaBase):
    __tablename__ = "security_group_instance_association"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    security_group_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("security_groups.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("instances.id"), index=True)


class Network(Base, NovaBase):
    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("vpn_public_address", "vpn_public_port"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str | None] = mapped_column(String(255))
    injected: Mapped[bool] = mapped_column(Boolean, default=False)
    cidr: Mapped[str | None] = mapped_column(String(255), unique=True)
    netmask: Mapped[str | None] = mapped_column(String(255))
    gateway: Mapped[str | None] = mapped_column(String(255))
    broadcast: Mapped[str | None] = mapped_column(String(255))
    dns: Mapped[str | None] = mapped_column(String(255))
    cidr_v6: Mapped[str | None] = mapped_column(String(255))
    netmask_v6: Mapped[str | None] = mapped_column(String(255))
    gateway_v6: Mapped[str | None] = mapped_column(String(255))
    ra_server: Mapped[str | None] = mapped_column(String(255))
    bridge: Mapped[str | None] = mapped_column(String(255))
    bridge_interface: Mapped[str | None] = mapped_column(String(255))
    vlan: Mapped[int | None] = mapped_column(Integer)
    vpn_public_address: Mapped[str | None] = mapped_column(String(255))
    vpn_public_port: Mapped[int | None] = mapped_column(Integer)
    vpn_private_address: Mapped[str | None] = mapped_column(String(255))
    dhcp_start: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True)


class FixedIp(Base, NovaBase):
    __tablename__ = "fixed_ips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str | None] = mapped_column(String(255), index=True)
    network_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("networks.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("instances.id"), index=True)
    allocated: Mapped[bool] = mapped_column(Boolean, default=False)
    leased: Mapped[bool] = mapped_column(Boolean, default=False)
    reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    mac_address: Mapped[str | None] = mapped_column(String(255), index=True)


class FloatingIp(Base, NovaBase):
    __tablename__ = "floating_ips"
    __table_args__ = (Index(None, "project_id", "deleted", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str | None] = mapped_column(String(255), index=True)
    fixed_ip_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("fixed_ips.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    auto_assigned: Mapped[bool] = mapped_column(Boolean, default=False)


class Volume(Base, NovaBase):
    __tablename__ = "volumes"
    __table_args__ = (Index(None, "project_id", "deleted", "id"),)
    _extra_keys = ("name",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    snapshot_id: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    size: Mapped[int | None] = mapped_column(Integer)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    instance_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("instances.id"), index=True)
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_time: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(255))
    attach_status: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    launched_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    provider_location: Mapped[str | None] = mapped_column(String(255))
    provider_auth: Mapped[str | None] = mapped_column(String(255))
    fault: Mapped[str | None] = mapped_column(Text)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def name(self) -> str:
        return "volume-%08x" % self.id


class Snapshot(Base, NovaBase):
    __tablename__ = "snapshots"
    __table_args__ = (Index(None, "project_id", "deleted", "id"),)
    _extra_keys = ("name",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(255))
    progress: Mapped[str | None] = mapped_column(String(255))
    volume_size: Mapped[int | None] = mapped_column(Integer)
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    fault: Mapped[str | None] = mapped_column(Text)

    @property
    def name(self) -> str:
        """The snapshot's name on its volume host (its EC2 id is ``snap-%08x``)."""
        return "snapshot-%08x" % self.id


class IscsiTarget(Base, NovaBase):
    __tablename__ = "iscsi_targets"
    __table_args__ = (UniqueConstraint("target_num", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_num: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("volumes.id"), index=True)


class ExportDevice(Base, NovaBase):
    __tablename__ = "export_devices"
    __table_args__ = (UniqueConstraint("shelf_id", "blade_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shelf_id: Mapped[int | None] = mapped_column(Integer)
    blade_id: Mapped[int | None] = mapped_column(Integer)
    volume_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("volumes.id"), index=True)


class Quota(Base, NovaBase):
    """One limit of one project: a row per (project, resource).

    Cactus kept one wide row per project; a row per resource lets a new
    resource be limited without a migration.  Rows are hard-deleted.
    """

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)


class Image(Base, NovaBase):
    """An image registered with nova's own image service.

    ``project_id`` is the owner; ``properties`` holds JSON.
    """

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(1024))
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    state: Mapped[str | None] = mapped_column(String(255))
    disk_format: Mapped[str | None] = mapped_column(String(32))
    container_format: Mapped[str | None] = mapped_column(String(32))
    kernel_id: Mapped[int | None] = mapped_column(Integer)
    ramdisk_id: Mapped[int | None] = mapped_column(Integer)
    architecture: Mapped[str | None] = mapped_column(String(32))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[str | None] = mapped_column(Text)


class ImageLaunchPermission(Base, NovaBase):
    """A project allowed to launch an image; ``project_id`` "all" means everyone."""

    __tablename__ = "image_launch_permissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[int] = mapped_column(Integer, ForeignKey("images.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)


class Migration(Base, NovaBase):
    __tablename__ = "migrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_compute: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_flavor_id: Mapped[int | None] = mapped_column(Integer)
    new_flavor_id: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("instances.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(255))


class AuthToken(Base, NovaBase):
    """An OpenStack API token, known only by the SHA-256 of the token string.

    Cactus misspelt ``server_manageent_url``; fixed here.  Cactus tokens
    lived two days from ``created_at``; here each has its project and its own
    ``expires_at`` (migration 004).  Rows are hard-deleted.
    """

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    project_id: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False, index=True)
    server_management_url: Mapped[str | None] = mapped_column(String(255))
    storage_url: Mapped[str | None] = mapped_column(String(255))
    cdn_management_url: Mapped[str | None] = mapped_column(String(255))


class Certificate(Base, NovaBase):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    file_name: Mapped[str | None] = mapped_column(String(255))
