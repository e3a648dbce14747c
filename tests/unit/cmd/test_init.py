"""Which binaries nova.cmd monkey-patches for eventlet, and the collector during start-up."""

import gc

from nova import cmd


def test_daemons_are_patched_and_nova_manage_is_not():
    for argv0 in ("bin/nova-compute", "/usr/local/bin/nova-api", "nova-combined", "nova-dhcpbridge"):
        assert cmd.needs_monkey_patch(argv0), argv0
    assert not cmd.needs_monkey_patch("/opt/nova/bin/nova-manage")
    assert not cmd.needs_monkey_patch("nova-manage")


def test_only_nova_binaries_start_with_the_collector_off():
    assert cmd.run_as_binary("/usr/bin/nova-api") and cmd.run_as_binary("bin/nova-manage")
    assert not cmd.run_as_binary("/usr/bin/pytest") and not cmd.run_as_binary("-c")
    assert gc.isenabled()  # importing nova.cmd in a test run leaves it alone


def test_started_turns_the_collector_back_on():
    gc.disable()
    try:
        cmd.started()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()
