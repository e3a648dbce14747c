from tests.fixtures.rpc import ctxt, memory_rpc, private_rabbit_rpc, rabbit_rpc  # noqa: F401 - fixtures
