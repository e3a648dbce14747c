from __future__ import annotations

import pytest

from nova import context, rpc
from nova.rpc.dispatcher import Dispatcher, exposed_methods
from tests.fixtures.rpc import EchoManager, FakeManagerBase


class Mixin:
    def from_mixin(self, ctxt):
        return "mixin"


class Parent(FakeManagerBase):
    def inherited(self, ctxt):
        return "parent"

    def overridden(self, ctxt):
        return "parent"


class Child(Mixin, Parent):
    rpc_hidden = frozenset({"secret"})
    attribute = 42

    def overridden(self, ctxt, x=1):
        return ("child", x)

    def init_host(self):
        pass

    def secret(self, ctxt):
        pass

    def _helper(self, ctxt):
        pass

    @staticmethod
    def static(ctxt):
        return "static"

    @property
    def prop(self):
        return 1


def test_exposes_public_methods_below_the_base_only():
    assert exposed_methods(Child, FakeManagerBase) == {"from_mixin", "inherited", "overridden", "static"}


def test_rpc_hidden_adds_up_along_the_hierarchy():
    class GrandChild(Child):
        rpc_hidden = frozenset({"inherited"})

    assert exposed_methods(GrandChild, FakeManagerBase) == {"from_mixin", "overridden", "static"}


def test_the_echo_manager_surface():
    assert Dispatcher(EchoManager(), base=FakeManagerBase).methods == {
        "echo", "whoami", "fail", "crash", "unencodable", "record", "slow", "blocked",
    }


def test_a_manager_outside_the_base_is_refused():
    with pytest.raises(TypeError, match="does not derive from"):
        Dispatcher(Mixin(), base=FakeManagerBase)


def test_dispatch_calls_the_method_with_context_and_keyword_arguments():
    ctxt = context.get_admin_context()
    dispatcher = Dispatcher(Child(), base=FakeManagerBase)
    assert dispatcher.dispatch(ctxt, "overridden", {"x": 3}) == ("child", 3)
    assert dispatcher.dispatch(ctxt, "inherited", {}) == "parent"
    assert dispatcher.dispatch(ctxt, "static", {}) == "static"


@pytest.mark.parametrize("method", ["secret", "_helper", "init_host", "periodic_tasks", "attribute", "prop", "nope"])
def test_dispatch_refuses_what_is_not_exposed(method):
    with pytest.raises(rpc.UnknownMethod, match=method):
        Dispatcher(Child(), base=FakeManagerBase).dispatch(context.get_admin_context(), method, {})


def test_unknown_method_is_a_nova_exception():
    from nova import exception

    assert issubclass(rpc.UnknownMethod, exception.NovaException)


def test_arguments_that_do_not_fit_the_signature():
    dispatcher = Dispatcher(Child(), base=FakeManagerBase)
    with pytest.raises(rpc.InvalidArguments, match="overridden"):
        dispatcher.dispatch(context.get_admin_context(), "overridden", {"y": 1})
    with pytest.raises(rpc.InvalidArguments):
        dispatcher.dispatch(context.get_admin_context(), "overridden", [1])


def test_the_default_base_is_nova_manager():
    manager_module = pytest.importorskip("nova.manager")

    class Small(manager_module.Manager):
        def hello(self, ctxt):
            return "hi"

    dispatcher = Dispatcher(Small())
    assert "hello" in dispatcher.methods
    assert not {"init_host", "periodic_tasks"} & dispatcher.methods


class Shapes(FakeManagerBase):
    def plain(self, ctxt, a, b=2):
        return (a, b)

    def keywords(self, ctxt, a, *, c, **rest):
        return (a, c, rest)

    def star(self, ctxt, *values):
        return values


@pytest.mark.parametrize(
    ("method", "args", "fits"),
    [
        ("plain", {"a": 1}, True),
        ("plain", {"a": 1, "b": 3}, True),
        ("plain", {"b": 3}, False),
        ("plain", {"a": 1, "z": 0}, False),
        ("plain", {"a": 1, "ctxt": 0}, False),
        ("keywords", {"a": 1, "c": 2, "extra": 3}, True),
        ("keywords", {"a": 1}, False),
        ("star", {}, True),
        ("star", {"values": 1}, False),
    ],
)
def test_arguments_are_checked_the_same_as_the_signature_would(method, args, fits):
    """The cheap per-message check accepts exactly what Signature.bind accepts."""
    dispatcher = Dispatcher(Shapes(), base=FakeManagerBase)
    if fits:
        dispatcher.dispatch(context.get_admin_context(), method, args)
    else:
        with pytest.raises(rpc.InvalidArguments, match=method):
            dispatcher.dispatch(context.get_admin_context(), method, args)
