#!/usr/bin/env bash
# The test command: unit, integration and functional tests.
# Integration tests use the real RabbitMQ, PostgreSQL and MariaDB named by
# NOVA_TEST_RABBIT_URL, NOVA_TEST_POSTGRES_URL and NOVA_TEST_MYSQL_URL (default:
# the local ones); with NOVA_TEST_REQUIRE_SERVICES=1 a missing service fails.
# Extra arguments go to pytest, e.g. tools/run_tests.sh tests/unit -x
# It uses the quick start's .venv when that exists and no other virtualenv is
# active, else python3 (as CI does, as root without a virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then
    py=.venv/bin/python
    if ! "$py" -c "import eventlet, kombu, sqlalchemy, alembic, absl, pytest, boto3, moto" 2>/dev/null; then
        # Everything pinned, except libvirt-python where libvirt's headers are missing.
        wanted=$(grep -E '^[^#[:space:]]' requirements.txt)
        pkg-config --exists libvirt 2>/dev/null || wanted=$(printf '%s\n' "$wanted" | grep -v '^libvirt-python')
        # shellcheck disable=SC2086
        "$py" -m pip install -q --disable-pip-version-check $wanted
    fi
else
    py=python3
    "$py" -c "import eventlet, kombu, sqlalchemy, alembic, absl, pytest" 2>/dev/null || \
        "$py" -m pip install -q -r requirements.txt
fi
# The whole suite boots real guests: build (or check) the guest image meanwhile, at low priority, instead of in
# the first real-guest test's set-up (about 25 s on a fresh machine).  The tests' own call of the builder waits
# for this one (it locks its cache folder) and reports any failure itself.
if [ $# -eq 0 ]; then
    nice -n 19 tools/build-guest-image ${NOVA_TEST_GUEST_CACHE:+"$NOVA_TEST_GUEST_CACHE"} >/dev/null 2>&1 &
fi
# --durations: the slowest tests are named at the end, to keep the whole run under its time budget.
exec "$py" -m pytest -q -p no:cacheprovider --durations=15 "${@:-tests}"
