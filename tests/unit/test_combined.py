"""nova.combined: what the Try-this block asks of a user, with and without real guests."""

from __future__ import annotations

from nova import combined, flags

FLAGS = flags.FLAGS
INFO = {"novarc": "/s/novarc", "image_id": "ami-00000003"}


def test_real_guests_get_port_22_opened_a_small_flavor_and_an_ssh_login():
    FLAGS.connection_type, FLAGS.combined_netns, FLAGS.combined_guest_dir = "libvirt", "nova", "/cache"
    lines = [line.strip() for line in combined.try_this(INFO)]
    assert "chmod 600 mykey.pem" in lines
    opened = lines.index("aws ec2 authorize-security-group-ingress --group-name default --protocol tcp --port 22 "
                         "--cidr 0.0.0.0/0")
    [run] = [i for i, line in enumerate(lines) if "run-instances" in line]
    assert opened < run and "--image-id ami-00000003" in lines[run] and "--instance-type m1.tiny" in lines[run]
    login = lines.index('ssh -i mykey.pem -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                        'root@"$ADDRESS" hostname')
    assert login > lines.index('aws ec2 associate-address --instance-id "$INSTANCE" --public-ip "$ADDRESS"')
    assert "for try in" in lines[login - 1] and "&& break" in lines[login - 1]


def test_without_real_guests_there_is_no_ssh_line():
    FLAGS.connection_type = "libvirt"  # libvirt, but no namespace nor built guest: the placeholder disk
    lines = combined.try_this(INFO)
    assert lines and not any("ssh " in line or "authorize" in line for line in lines)


def _novarc_values(path):
    values = {}
    for line in open(path):
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            values[name] = value.strip('"')
    return values


def test_a_later_start_rewrites_the_novarc_with_its_ports_and_the_same_keys():
    """The state (and its admin) is reused; a novarc naming the first run's ports would send clients nowhere."""
    FLAGS.ec2_port, FLAGS.identity_port = 8773, 5000
    first = _novarc_values(combined.prepare()["novarc"])
    FLAGS.ec2_port, FLAGS.identity_port = 18773, 15000
    again = _novarc_values(combined.prepare()["novarc"])
    assert ":8773/" in first["EC2_URL"] and ":18773/" in again["EC2_URL"]
    assert ":5000/" in first["OS_AUTH_URL"] and ":15000/" in again["OS_AUTH_URL"]
    assert again["AWS_ACCESS_KEY_ID"] == first["AWS_ACCESS_KEY_ID"]
