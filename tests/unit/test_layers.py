r"""The layering rules of doc/architecture.rst (the layers), checked on the source.

This is the check ``grep -rn "nova.db\|nova.quota" nova/api nova/objectstore``
done on the syntax tree, so a test fails when a layer is crossed.  Front ends
translate HTTP only: they import neither the database API nor quotas.  Managers reach other daemons through RPC clients, never through a
service API.  Only ``nova.<svc>.rpcapi`` modules (and nova.rpc itself) build
RPC messages.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

NOVA = pathlib.Path(__file__).resolve().parents[2] / "nova"


def _imports(path: pathlib.Path) -> set[str]:
    """Every module a file imports, as dotted names (``from a import b`` gives ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _files(*folders: str) -> list[pathlib.Path]:
    return sorted(p for folder in folders for p in (NOVA / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("api", "objectstore"), ids=lambda p: str(p.relative_to(NOVA)))
def test_front_ends_import_neither_the_database_nor_quotas(path):
    bad = sorted(n for n in _imports(path)
                 if n in ("nova.db", "nova.quota") or n.startswith(("nova.db.", "nova.quota.")))
    assert not bad, f"{path.relative_to(NOVA)} imports {bad}"


MANAGERS = ["compute/manager.py", "network/manager.py", "scheduler/manager.py", "scheduler/driver.py",
            "scheduler/chance.py", "scheduler/simple.py", "volume/manager.py"]


@pytest.mark.parametrize("name", MANAGERS)
def test_managers_reach_other_daemons_through_rpc_clients_not_service_apis(name):
    path = NOVA / name
    if not path.exists():
        pytest.skip(f"{name} does not exist")
    service_apis = {f"nova.{svc}.api" for svc in ("compute", "network", "scheduler", "volume")}
    bad = sorted(n for n in _imports(path) if n in service_apis)
    assert not bad, f"{name} imports {bad}"


def _builds_rpc_messages(path: pathlib.Path) -> list[int]:
    """Lines where a file calls rpc.call/cast/fanout_cast (or nova.rpc.client's) itself."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("call", "cast", "fanout_cast") \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in ("rpc", "client"):
            lines.append(node.lineno)
    return lines


def test_only_rpcapi_modules_build_rpc_messages():
    offenders = {}
    for path in _files("."):
        rel = path.relative_to(NOVA)
        if rel.parts[0] == "rpc" or path.name == "rpcapi.py":
            continue
        lines = _builds_rpc_messages(path)
        if lines:
            offenders[str(rel)] = lines
    assert not offenders, f"RPC messages built outside nova.<svc>.rpcapi: {offenders}"
