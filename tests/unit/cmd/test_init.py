"""Which binaries nova.cmd monkey-patches for eventlet."""

from nova import cmd


def test_daemons_are_patched_and_nova_manage_is_not():
    for argv0 in ("bin/nova-compute", "/usr/local/bin/nova-api", "nova-combined", "nova-dhcpbridge"):
        assert cmd.needs_monkey_patch(argv0), argv0
    assert not cmd.needs_monkey_patch("/opt/nova/bin/nova-manage")
    assert not cmd.needs_monkey_patch("nova-manage")
