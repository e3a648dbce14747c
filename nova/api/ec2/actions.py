"""How a resource module declares its EC2 actions.

Each module of ``nova.api.ec2.cloud`` makes one ``ActionSet`` and registers
its functions on it::

    actions = ActionSet()

    @actions.register("DescribeKeyPairs", roles=ALL,
                      params=[Param("KeyName", ListOf(String()), default=[])])
    def describe_key_pairs(ctxt, key_name):
        return {"keySet": [...]}

The function gets the request context and the typed keyword arguments and
returns the data to render.  ``roles`` lists who may call it (as the first
Nova's Authorizer had them); superusers (cloudadmin) may call everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from nova.api.ec2.params import Boolean, Param

# Role sets of the first Nova's Authorizer.
ALL = ("all",)
NETADMIN = ("netadmin",)
PROJECT_ADMIN = ("projectmanager", "sysadmin")
SUPERUSER: tuple[str, ...] = ()

ActionFunc = Callable[..., Any]
DRY_RUN = Param("DryRun", Boolean(), default=False)


@dataclass
class Action:
    name: str
    func: ActionFunc
    params: list[Param]
    roles: tuple[str, ...]

    def allows(self, roles: Sequence[str], is_superuser: bool) -> bool:
        return is_superuser or "all" in self.roles or any(role in self.roles for role in roles)


@dataclass
class ActionSet:
    actions: dict[str, Action] = field(default_factory=dict)

    def register(self, name: str, roles: tuple[str, ...], params: Sequence[Param] = ()) -> Callable[[ActionFunc], ActionFunc]:
        def decorate(func: ActionFunc) -> ActionFunc:
            if name in self.actions:
                raise ValueError(f"EC2 action {name} registered twice")
            self.actions[name] = Action(name, func, [*params, DRY_RUN], tuple(roles))
            return func

        return decorate
