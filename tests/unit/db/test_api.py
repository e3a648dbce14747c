"""nova.db.api forwards in one style: every function calls ``IMPL.<name>``."""

import ast
import inspect

from nova.db import api as db
from nova.db.sqlalchemy import api as impl


def _tree() -> ast.Module:
    return ast.parse(inspect.getsource(db))


def test_imports_are_at_the_top_only():
    body = _tree().body
    first_def = next(i for i, node in enumerate(body) if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
    late = [node.lineno for node in body[first_def:] if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert late == [], f"imports after the first definition at lines {late}"


def test_every_forwarded_name_is_exported_by_the_backend():
    forwarded = {node.attr for node in ast.walk(_tree())
                 if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "IMPL"}
    assert forwarded
    missing = sorted(name for name in forwarded if not callable(getattr(impl, name, None)))
    assert missing == []


def test_no_function_forwards_through_a_submodule():
    for node in _tree().body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                    and isinstance(call.func.value, ast.Name):
                assert not call.func.value.id.startswith("_"), f"{node.name} calls {call.func.value.id}.{call.func.attr}"
