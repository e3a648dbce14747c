"""Which manager methods RPC may call, decided once and explicitly.

Exposed: public (no leading underscore) functions defined on the manager's
class, or on classes that come before ``base`` in its MRO, minus any name
``base`` itself has (``init_host``, ``periodic_tasks``, ... stay private even
when overridden) and minus the names in the class attributes ``rpc_hidden``
(a frozenset) of the class and of every base: a subclass adds to what its
parents hide, it cannot reveal it.
``base`` defaults to ``nova.manager.Manager``, imported when first needed so
this module does not depend on it.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable, Mapping

from nova import context as nova_context
from nova.rpc import common

_METHOD_TYPES = (types.FunctionType, staticmethod, classmethod)


def exposed_methods(cls: type, base: type) -> frozenset[str]:
    if base not in cls.__mro__:
        raise TypeError(f"{cls.__name__} does not derive from {base.__module__}.{base.__name__}")
    hidden: set[str] = set()
    for klass in cls.__mro__:
        hidden.update(vars(klass).get("rpc_hidden", ()))
    reserved = set(dir(base))
    seen: set[str] = set()
    exposed: set[str] = set()
    for klass in cls.__mro__[: cls.__mro__.index(base)]:
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("_") or name in reserved or name in hidden:
                continue
            if isinstance(value, _METHOD_TYPES):
                exposed.add(name)
    return frozenset(exposed)


class Dispatcher:
    """Calls ``manager.<method>(ctxt, **args)`` for the methods RPC may reach."""

    def __init__(self, manager: Any, base: type | None = None) -> None:
        if base is None:
            from nova import manager as manager_module

            base = manager_module.Manager
        self.manager = manager
        self.methods = exposed_methods(type(manager), base)
        self._shapes: dict[str, _Shape] = {}

    def dispatch(self, ctxt: nova_context.RequestContext, method: str, args: Mapping[str, Any]) -> Any:
        if method not in self.methods:
            raise common.UnknownMethod(method=method, manager=type(self.manager).__name__)
        if type(args) is not dict and not isinstance(args, Mapping):
            raise common.InvalidArguments(method=method, reason=f"args must be a dict, not {type(args).__name__}")
        func: Callable[..., Any] = getattr(self.manager, method)
        shape = self._shapes.get(method)
        if shape is None:
            shape = self._shapes[method] = _Shape(inspect.signature(func))
        if not shape.fits(args):
            try:
                shape.signature.bind(ctxt, **args)
            except TypeError as exc:
                raise common.InvalidArguments(method=method,
                                              reason=f"{type(self.manager).__name__}.{method}() {exc}") from None
        return func(ctxt, **args)


class _Shape:
    """What arguments a handler takes, for a check cheaper than ``Signature.bind`` on every message.

    ``fits`` says yes only when ``bind(ctxt, **args)`` surely succeeds; a no
    (or a signature it does not model) leaves the verdict to ``bind``.
    """

    def __init__(self, signature: inspect.Signature) -> None:
        self.signature = signature
        params = list(signature.parameters.values())
        kinds = {inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}
        self.simple = bool(params) and params[0].kind == inspect.Parameter.POSITIONAL_OR_KEYWORD and all(
            p.kind in kinds or p.kind == inspect.Parameter.VAR_KEYWORD for p in params[1:]
        )
        named = [p for p in params[1:] if p.kind in kinds]
        self.accepted = frozenset(p.name for p in named)
        self.required = frozenset(p.name for p in named if p.default is inspect.Parameter.empty)
        self.any_keyword = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)
        self.first = params[0].name if params else ""

    def fits(self, args: Mapping[str, Any]) -> bool:
        if not self.simple:
            return False
        keys = args.keys()
        if self.first in keys or not self.required <= keys:
            return False
        return self.any_keyword or keys <= self.accepted
