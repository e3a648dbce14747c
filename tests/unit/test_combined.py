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
