"""nova.db.api forwards in one style: every function calls ``IMPL.<name>``, the backend loaded at first use."""

import ast
import inspect
import os
import subprocess
import sys

from nova.db import api as db
from nova.db.sqlalchemy import api as impl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


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


def test_importing_the_api_leaves_the_backend_for_the_first_call():
    code = "import sys, nova.db.api; print(sorted(m for m in ('sqlalchemy', 'nova.db.sqlalchemy.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_the_first_call_puts_the_backend_module_in_impl(monkeypatch):
    monkeypatch.setattr(db, "IMPL", db._LazyBackend())
    assert db.IMPL.service_get_all is impl.service_get_all
    assert db.IMPL is impl
