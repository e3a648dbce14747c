"""The v2.1 routes (also served at /v2/{project_id}); v1.1 adds its own list on the same Router."""

from __future__ import annotations

from typing import Any

from nova.api.openstack import (admin, flavors, floating_ips, images, keypairs, limits, security_groups,
                                volume_attachments, volumes)
from nova.api.openstack.server_actions import ServerActionsController
from nova.api.openstack.wsgi import Route, Router


def v21_routes() -> list[Route]:
    servers = ServerActionsController()
    flavor, image, keypair = flavors.FlavorsController(), images.ImagesController(), keypairs.KeypairsController()
    groups, rules = security_groups.SecurityGroupsController(), security_groups.SecurityGroupRulesController()
    floating, pools = floating_ips.FloatingIpsController(), floating_ips.FloatingIpPoolsController()
    zones, quotas = admin.AvailabilityZonesController(), admin.QuotaSetsController()
    services, hypervisors = admin.ServicesController(), admin.HypervisorsController()
    disks, snapshots = volumes.VolumesController(), volumes.SnapshotsController()
    attachments = volume_attachments.VolumeAttachmentsController()
    return [
        ("GET", "/servers", servers, "index"),
        ("POST", "/servers", servers, "create"),
        ("GET", "/servers/detail", servers, "detail"),
        ("GET", "/servers/{server_id}", servers, "show"),
        ("PUT", "/servers/{server_id}", servers, "update"),
        ("DELETE", "/servers/{server_id}", servers, "delete"),
        ("POST", "/servers/{server_id}/action", servers, "action"),
        ("GET", "/servers/{server_id}/ips", servers, "ips"),
        ("GET", "/servers/{server_id}/ips/{network}", servers, "ips_by_network"),
        ("GET", "/flavors", flavor, "index"),
        ("POST", "/flavors", flavor, "create"),
        ("GET", "/flavors/detail", flavor, "detail"),
        ("GET", "/flavors/{flavor_id}", flavor, "show"),
        ("DELETE", "/flavors/{flavor_id}", flavor, "delete"),
        ("GET", "/images", image, "index"),
        ("GET", "/images/detail", image, "detail"),
        ("GET", "/images/{image_id}", image, "show"),
        ("DELETE", "/images/{image_id}", image, "delete"),
        ("GET", "/os-keypairs", keypair, "index"),
        ("POST", "/os-keypairs", keypair, "create"),
        ("GET", "/os-keypairs/{name}", keypair, "show"),
        ("DELETE", "/os-keypairs/{name}", keypair, "delete"),
        ("GET", "/limits", limits.LimitsController(), "index"),
        ("GET", "/os-security-groups", groups, "index"),
        ("POST", "/os-security-groups", groups, "create"),
        ("GET", "/os-security-groups/{group_id}", groups, "show"),
        ("PUT", "/os-security-groups/{group_id}", groups, "update"),
        ("DELETE", "/os-security-groups/{group_id}", groups, "delete"),
        ("POST", "/os-security-group-rules", rules, "create"),
        ("DELETE", "/os-security-group-rules/{rule_id}", rules, "delete"),
        ("GET", "/os-floating-ips", floating, "index"),
        ("POST", "/os-floating-ips", floating, "create"),
        ("GET", "/os-floating-ips/{floating_ip_id}", floating, "show"),
        ("DELETE", "/os-floating-ips/{floating_ip_id}", floating, "delete"),
        ("GET", "/os-floating-ip-pools", pools, "index"),
        ("GET", "/os-availability-zone", zones, "index"),
        ("GET", "/os-availability-zone/detail", zones, "detail"),
        ("GET", "/os-quota-sets/{project_id_q}", quotas, "show"),
        ("PUT", "/os-quota-sets/{project_id_q}", quotas, "update"),
        ("GET", "/os-quota-sets/{project_id_q}/defaults", quotas, "defaults"),
        ("GET", "/os-services", services, "index"),
        ("PUT", "/os-services/enable", services, "enable"),
        ("PUT", "/os-services/disable", services, "disable"),
        ("GET", "/os-hypervisors", hypervisors, "index"),
        ("GET", "/os-hypervisors/detail", hypervisors, "detail"),
        ("GET", "/os-hypervisors/{hypervisor_id}", hypervisors, "show"),
        *volume_routes(disks, snapshots, attachments),
    ]


def volume_routes(disks: volumes.VolumesController, snapshots: volumes.SnapshotsController,
                  attachments: volume_attachments.VolumeAttachmentsController) -> list[Route]:
    """os-volumes, os-snapshots and os-volume_attachments (v2.1 and v1.1 alike)."""
    return [
        ("GET", "/os-volumes", disks, "index"),
        ("POST", "/os-volumes", disks, "create"),
        ("GET", "/os-volumes/detail", disks, "detail"),
        ("GET", "/os-volumes/{volume_id}", disks, "show"),
        ("DELETE", "/os-volumes/{volume_id}", disks, "delete"),
        ("GET", "/os-snapshots", snapshots, "index"),
        ("POST", "/os-snapshots", snapshots, "create"),
        ("GET", "/os-snapshots/detail", snapshots, "detail"),
        ("GET", "/os-snapshots/{snapshot_id}", snapshots, "show"),
        ("DELETE", "/os-snapshots/{snapshot_id}", snapshots, "delete"),
        ("GET", "/servers/{server_id}/os-volume_attachments", attachments, "index"),
        ("POST", "/servers/{server_id}/os-volume_attachments", attachments, "create"),
        ("GET", "/servers/{server_id}/os-volume_attachments/{volume_id}", attachments, "show"),
        ("DELETE", "/servers/{server_id}/os-volume_attachments/{volume_id}", attachments, "delete"),
    ]


def v21_factory(global_config: dict[str, str], **local_config: str) -> Any:
    """paste.app_factory: ``require_project = true`` for /v2 (the project id is part of every URL)."""
    require = local_config.get("require_project", "false").lower() in ("1", "true", "yes")
    return Router(v21_routes(), require_project=require)
