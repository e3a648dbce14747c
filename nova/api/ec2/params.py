"""Typed EC2 query parameters.

The flat query (``Filter.1.Name=x&Filter.1.Value.1=y&InstanceId.1=i-1``) is
first folded into a tree on the dots, then each action's declared ``Param``
list turns the tree into keyword arguments: strings with length limits,
bounded integers, booleans, base64 data, EC2 ids as database ids, lists of
``Name.N`` (ordered by N) and structures.  Anything undeclared is
``UnknownParameter``; a value of the wrong shape or type is
``InvalidParameterValue``; a missing required one is ``MissingParameter``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from nova import utils
from nova.api.ec2 import ec2utils
from nova.api.ec2.faults import EC2APIError, invalid

MAX_LIST_ITEMS = 1000
MAX_INT = 2**31 - 1
Tree = dict[str, Any]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Kind:
    """How one parameter's node (a string or a sub-tree) becomes a value."""

    def parse(self, node: Any, path: str) -> Any:
        raise NotImplementedError


def _scalar(node: Any, path: str) -> str:
    if isinstance(node, dict):
        raise invalid(f"Parameter {path} takes a single value, not {path}.{next(iter(node))}")
    return node


class String(Kind):
    def __init__(self, max_length: int = 255, min_length: int = 0, choices: Sequence[str] | None = None,
                 pattern: str | None = None) -> None:
        self.max_length, self.min_length = max_length, min_length
        self.choices = tuple(choices) if choices else None
        self.pattern = re.compile(pattern) if pattern else None

    def parse(self, node: Any, path: str) -> str:
        value = _scalar(node, path)
        if len(value) > self.max_length:
            raise invalid(f"Value of {path} is longer than {self.max_length} characters")
        if len(value) < self.min_length:
            raise invalid(f"Value of {path} must not be empty" if self.min_length == 1
                          else f"Value of {path} is shorter than {self.min_length} characters")
        if self.choices is not None and value not in self.choices:
            raise invalid(f"Value ({value}) for parameter {path} is invalid; expected one of: "
                          f"{', '.join(self.choices)}")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise invalid(f"Value ({value}) for parameter {path} is invalid")
        if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            raise invalid(f"Value of {path} contains control characters")
        return value


class Integer(Kind):
    def __init__(self, minimum: int = -MAX_INT - 1, maximum: int = MAX_INT) -> None:
        self.minimum, self.maximum = minimum, maximum

    def parse(self, node: Any, path: str) -> int:
        value = _scalar(node, path).strip()
        if not re.fullmatch(r"[-+]?[0-9]{1,19}", value):
            raise invalid(f"Value ({value[:40]}) for parameter {path} is invalid: not an integer")
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            raise invalid(f"Value ({number}) for parameter {path} is invalid: "
                          f"it must be between {self.minimum} and {self.maximum}")
        return number


class Boolean(Kind):
    def parse(self, node: Any, path: str) -> bool:
        value = _scalar(node, path).strip().lower()
        if value not in ("true", "false"):
            raise invalid(f"Value ({value[:40]}) for parameter {path} is invalid: expected true or false")
        return value == "true"


class Base64Data(Kind):
    def __init__(self, max_bytes: int = 16384) -> None:
        self.max_bytes = max_bytes

    def parse(self, node: Any, path: str) -> bytes:
        value = _scalar(node, path)
        try:
            data = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"Invalid BASE64 encoding of {path}") from None
        if len(data) > self.max_bytes:
            raise invalid(f"{path} is larger than {self.max_bytes} bytes once decoded")
        return data


class Ec2Id(Kind):
    """``i-0000000a`` -> 10 (a database id)."""

    def __init__(self, *prefixes: str) -> None:
        self.prefixes = prefixes or ("i",)

    def parse(self, node: Any, path: str) -> int:
        return ec2utils.ec2_id_to_id(_scalar(node, path).strip(), self.prefixes)


class ListOf(Kind):
    """``Name.1``, ``Name.2``... as a list ordered by the numbers."""

    def __init__(self, item: Kind, max_items: int = MAX_LIST_ITEMS) -> None:
        self.item, self.max_items = item, max_items

    def parse(self, node: Any, path: str) -> list[Any]:
        if not isinstance(node, dict):
            raise invalid(f"Parameter {path} is a list: send {path}.1, {path}.2, ...")
        if len(node) > self.max_items:
            raise invalid(f"Too many values for {path} (at most {self.max_items})")
        numbered: dict[int, Any] = {}
        for key, child in node.items():
            number = utils.decimal(key, 7)
            if number is None or not 0 < number <= 10**6:
                raise EC2APIError("UnknownParameter", f"The parameter {path}.{key[:40]} is not recognized")
            if number in numbered:  # "1" and "01" name the same member
                raise invalid(f"Parameter {path}.{number} is given more than once")
            numbered[number] = child
        return [self.item.parse(numbered[n], f"{path}.{n}") for n in sorted(numbered)]


@dataclass
class Param:
    """One declared parameter: its EC2 name, kind, and the keyword it becomes."""

    name: str
    kind: Kind = field(default_factory=String)
    required: bool = False
    default: Any = None
    dest: str | None = None

    @property
    def keyword(self) -> str:
        return self.dest or _snake(self.name)


class Struct(Kind):
    """A group of named members (``Placement.AvailabilityZone``) -> dict keyed by keyword."""

    def __init__(self, *members: Param) -> None:
        self.members = members

    def parse(self, node: Any, path: str) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise invalid(f"Parameter {path} has members: send {path}.<Member>=...")
        return parse_tree(node, self.members, prefix=f"{path}.")


class Filters(Kind):
    """``Filter.N.Name`` / ``Filter.N.Value.M`` -> ``{name: [values]}`` for the allowed names."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self._list = ListOf(Struct(Param("Name", String(min_length=1), required=True),
                                   Param("Value", ListOf(String(max_length=1024)), default=[])), max_items=50)

    def allows(self, name: str) -> bool:
        return name in self.names or (name.startswith("tag:") and "tag:" in self.names) or (
            name in ("tag-key", "tag-value") and "tag:" in self.names)

    def parse(self, node: Any, path: str) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for item in self._list.parse(node, path):
            name = item["name"]
            if not self.allows(name):
                raise EC2APIError("InvalidParameterValue", f"The filter '{name}' is invalid")
            result.setdefault(name, []).extend(item["value"])
        return result


def fold(params: dict[str, str]) -> Tree:
    """``{"A.1.B": v}`` -> ``{"A": {"1": {"B": v}}}``; a name used as both value and prefix is refused."""
    tree: Tree = {}
    for key, value in params.items():
        parts = key.split(".")
        if any(not part for part in parts):
            raise EC2APIError("UnknownParameter", f"The parameter {key[:100]} is not recognized")
        node = tree
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise invalid(f"Parameter {'.'.join(parts[:depth + 1])} is given both a value and members")
            node = child
        if parts[-1] in node:
            raise invalid(f"Parameter {key[:100]} is given both a value and members")
        node[parts[-1]] = value
    return tree


def parse_tree(tree: Tree, declared: Sequence[Param], prefix: str = "") -> dict[str, Any]:
    """Keyword arguments for ``declared`` from ``tree``."""
    by_name = {param.name: param for param in declared}
    for name in tree:
        if name not in by_name:
            raise EC2APIError("UnknownParameter", f"The parameter {prefix}{name[:100]} is not recognized")
    kwargs: dict[str, Any] = {}
    for param in declared:
        if param.name in tree:
            kwargs[param.keyword] = param.kind.parse(tree[param.name], prefix + param.name)
        elif param.required:
            raise EC2APIError("MissingParameter",
                              f"The request must contain the parameter {prefix}{param.name}")
        else:
            default = param.default
            kwargs[param.keyword] = list(default) if isinstance(default, list) else default
    return kwargs


def parse(params: dict[str, str], declared: Sequence[Param]) -> dict[str, Any]:
    return parse_tree(fold(params), declared)
