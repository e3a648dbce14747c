#!/usr/bin/env bash
# Start the whole cloud in one process, ready to use.
#
#   tools/quickstart.sh [--libvirt] [--no-install] [nova-combined flags...]
#
# Makes (or reuses) the virtualenv .venv in the checkout, installs the runtime
# requirements and the AWS CLI into it, then runs nova-combined on SQLite, the
# in-memory transport, the fake network and the fake virt driver, with its
# state under ./state (override with --state_path=DIR; any other flag may
# follow).  The first run also registers a small default image and a
# floating-IP pool; every run prints a "Try this" block of commands.
#
#   --libvirt     real guests: the libvirt driver with QEMU (TCG), the guest of
#                 tools/build-guest-image (built once, cached), and a real
#                 FlatDHCP network in the namespace "nova" where nova-combined
#                 starts its own libvirtd; state under ./state-libvirt.  Needs
#                 root, QEMU, libvirt, dnsmasq and libvirt-dev (.ci/run's list).
#                 GUEST_CACHE=DIR names the guest's cache folder (default: the
#                 builder's, ~/.cache/nova/guest-image).
#   --no-install  use the Python that already has everything (an active
#                 virtualenv, else .venv, else python3) and install nothing;
#                 QUICKSTART_SKIP_INSTALL=1 does the same.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv

say() { echo "quickstart: $*" >&2; }
die() { say "$*"; exit 1; }

libvirt=0
install=1
[ "${QUICKSTART_SKIP_INSTALL:-0}" = 1 ] && install=0
args=()
for arg in "$@"; do
    case $arg in
        --libvirt) libvirt=1 ;;
        --no-install) install=0 ;;
        *) args+=("$arg") ;;
    esac
done

runtime_imports="import eventlet, kombu, sqlalchemy, alembic, absl, webob, routes, paste.deploy, cryptography"

make_venv() {
    # Debian's python3 refuses pip into the system (PEP 668), so nova gets its own virtualenv.
    [ -x "$venv/bin/python" ] && return 0
    say "making the virtualenv $venv"
    if python3 -m venv "$venv" 2>/dev/null; then
        return 0
    fi
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's python3-venv (python3 -m venv needs it)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >/dev/null ||
            { apt-get update -q >/dev/null &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >/dev/null; }
        python3 -m venv "$venv" || die "python3 -m venv $venv failed"
    else
        die "python3 cannot make a virtualenv: install Debian's python3-venv (as root: apt-get install python3-venv), then run tools/quickstart.sh again"
    fi
}

if [ "$install" = 1 ]; then
    make_venv
    py=$venv/bin/python
    wanted_imports="$runtime_imports, awscli, openstackclient"
    [ "$libvirt" = 1 ] && pkg-config --exists libvirt 2>/dev/null && wanted_imports="$wanted_imports, libvirt"
    if ! "$py" -c "$wanted_imports" 2>/dev/null; then
        # The runtime block of requirements.txt plus the AWS and OpenStack CLIs of the test block;
        # libvirt-python is built only where libvirt's headers are present.
        wanted=$(sed -n '/^# \[runtime\]/,/^# \[test\]/{/^[^#]/p}' requirements.txt)
        if ! pkg-config --exists libvirt 2>/dev/null; then
            wanted=$(printf '%s\n' "$wanted" | grep -v '^libvirt-python')
        fi
        wanted="$wanted $(grep -E '^(awscli|botocore|openstacksdk|python-openstackclient)==' requirements.txt | tr '\n' ' ')"
        say "installing nova's requirements, the AWS CLI and the OpenStack CLI into $venv"
        # shellcheck disable=SC2086
        "$py" -m pip install -q --disable-pip-version-check $wanted
    fi
else
    if [ -n "${VIRTUAL_ENV:-}" ]; then py=$VIRTUAL_ENV/bin/python
    elif [ -x "$venv/bin/python" ]; then py=$venv/bin/python
    else py=python3
    fi
    "$py" -c "$runtime_imports" 2>/dev/null ||
        die "$py lacks nova's requirements: run tools/quickstart.sh without --no-install"
fi

driver=()
state=$root/state
if [ "$libvirt" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "--libvirt needs root (a network namespace, a bridge, dnsmasq, iptables, libvirtd)"
    missing=""
    for tool in qemu-system-x86_64 qemu-img libvirtd virtlogd dnsmasq iptables-restore ip unshare dpkg-deb mkfs.ext4; do
        command -v "$tool" >/dev/null || missing="$missing $tool"
    done
    [ -z "$missing" ] || die "--libvirt: missing$missing (as root: apt-get install qemu-system-x86 qemu-utils libvirt-daemon-system dnsmasq-base iptables e2fsprogs; .ci/run installs them all)"
    "$py" -c "import libvirt" 2>/dev/null ||
        die "--libvirt needs libvirt-python: install libvirt-dev (apt-get install libvirt-dev pkg-config gcc), remove .venv and run tools/quickstart.sh --libvirt again"
    say "building the guest image with tools/build-guest-image (cached; about 30 s the first time)"
    guest=$("$py" tools/build-guest-image ${GUEST_CACHE:+"$GUEST_CACHE"}) || die "tools/build-guest-image failed (apt's lists must be current: apt-get update)"
    guest_dir=$(dirname "$(printf '%s\n' "$guest" | sed -n 's/^disk=//p')")
    say "guest image ready in $guest_dir"
    state=$root/state-libvirt
    driver=(--connection_type=libvirt --libvirt_type=qemu --combined_netns=nova
            --combined_guest_dir="$guest_dir" --combined_image=quickstart-guest)
fi

# dnsmasq runs nova-dhcpbridge with this PATH: its python3 must be the one with nova's requirements.
PATH=$(dirname "$(command -v "$py")"):$PATH
export PATH
exec "$py" bin/nova-combined --state_path="$state" ${driver[@]+"${driver[@]}"} ${args[@]+"${args[@]}"}
