#!/usr/bin/env bash
# Start the whole cloud in one process: installs the runtime Python
# dependencies if they are missing, then runs nova-combined on SQLite, the
# in-memory transport and the fake virt driver, with its state under ./state
# (override with --state_path=DIR; any other flag may follow).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import eventlet, kombu, sqlalchemy, alembic, absl, webob, routes, paste.deploy" 2>/dev/null; then
    # The runtime block of requirements.txt; libvirt-python is built only
    # where libvirt's headers are present (the quick start uses the fake driver).
    wanted=$(sed -n '/^# \[runtime\]/,/^# \[test\]/{/^[^#]/p}' requirements.txt)
    if ! pkg-config --exists libvirt 2>/dev/null; then
        wanted=$(printf '%s\n' "$wanted" | grep -v '^libvirt-python')
    fi
    # shellcheck disable=SC2086
    python3 -m pip install -q --disable-pip-version-check $wanted
fi
exec bin/nova-combined --state_path="$PWD/state" "$@"
