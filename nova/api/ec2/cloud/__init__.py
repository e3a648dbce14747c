"""The CloudController: every EC2 action, gathered from one module per resource.

To add a resource (addresses, images, volumes...): write
``nova/api/ec2/cloud/<resource>.py`` with an ``actions = ActionSet()`` whose
functions are registered with ``@actions.register(...)`` (see
``nova.api.ec2.actions``), add its module name to ``RESOURCE_MODULES`` below,
and add ``tests/unit/api/ec2/test_<resource>.py``.  Nothing else changes: the
Requestify, Authorizer and Executor middleware read actions, parameters and
roles from the controller.
"""

from __future__ import annotations

import importlib

from nova.api.ec2.actions import Action

RESOURCE_MODULES = (
    "nova.api.ec2.cloud.regions",
    "nova.api.ec2.cloud.keypairs",
    "nova.api.ec2.cloud.tags",
    "nova.api.ec2.cloud.security_groups",
    "nova.api.ec2.cloud.instances",
    "nova.api.ec2.cloud.instance_attributes",
    "nova.api.ec2.cloud.instance_status",
    "nova.api.ec2.cloud.instance_types",
    "nova.api.ec2.cloud.account",
    "nova.api.ec2.cloud.addresses",
    "nova.api.ec2.cloud.images",
    "nova.api.ec2.cloud.volumes",
)


class CloudController:
    """Looks up EC2 actions by name across the resource modules."""

    def __init__(self, modules: tuple[str, ...] = RESOURCE_MODULES) -> None:
        self.actions: dict[str, Action] = {}
        for name in modules:
            module = importlib.import_module(name)
            for action_name, action in module.actions.actions.items():
                if action_name in self.actions:
                    raise ValueError(f"EC2 action {action_name} is defined in two resource modules")
                self.actions[action_name] = action

    def get(self, action_name: str) -> Action | None:
        return self.actions.get(action_name)
