"""Two allocations at once set up one bridge once (nova-network serves RPC calls in greenthreads)."""

import eventlet

from nova.network import linux_net


def test_concurrent_ensure_bridge_adds_the_bridge_once(monkeypatch):
    made, commands = set(), []

    def device_exists(name):
        found = name in made
        eventlet.sleep(0.01)  # the answer comes back later, as a real `ip link show`'s does
        return found

    def execute(*argv, **kwargs):
        commands.append(argv)
        if argv[:3] == ("ip", "link", "add"):
            if argv[3] in made:
                raise RuntimeError("RTNETLINK answers: File exists")
            made.add(argv[3])
        return "", ""

    monkeypatch.setattr(linux_net, "device_exists", device_exists)
    monkeypatch.setattr(linux_net, "execute", execute)
    monkeypatch.setattr(linux_net, "_addresses", lambda device: [])
    pool = eventlet.GreenPool()
    results = [pool.spawn(linux_net.ensure_bridge, "br-race", None) for _ in range(2)]
    for thread in results:
        thread.wait()
    assert [c for c in commands if c[:3] == ("ip", "link", "add")] == [("ip", "link", "add", "br-race", "type",
                                                                         "bridge")]
