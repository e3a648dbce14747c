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
pytest_cmd=("$py" -m pytest -q -p no:cacheprovider --durations=15)
if [ $# -gt 0 ] || [ "${NOVA_TEST_LANES:-2}" = 1 ]; then
    exec "${pytest_cmd[@]}" "${@:-tests}"
fi

# The whole suite runs as two pytest processes side by side: most tests wait on daemons, brokers,
# databases or a QEMU guest rather than compute, so two lanes finish in about half the time on two cores.
# The "machine" lane holds every test that needs a one-per-machine resource (libvirtd, tgtd's port and
# control socket, network namespaces with fixed names) so those never meet; the other lane holds the rest.
shopt -s nullglob
# The lanes are balanced by their measured durations (JUnit times of a whole run): every integration test,
# the RabbitMQ cluster test, the many-hosts topology and test_network_manage go with the machine-wide ones;
# the unit tests and the other functional tests make the rest.
machine=(tests/integration tests/functional/real_guest tests/functional/test_volumes_ec2.py
         tests/functional/test_quickstart.py tests/functional/test_combined.py
         tests/functional/test_rabbit_cluster.py tests/functional/test_many_hosts.py
         tests/functional/test_network_manage.py)
rest=(tests/unit tests/fuzz tests/functional)
for path in "${machine[@]}"; do
    case $path in tests/functional/*) rest+=("--ignore=$path") ;; esac
done
logs=$(mktemp -d "${TMPDIR:-/tmp}/nova-tests.XXXXXX")
started=$SECONDS
"${pytest_cmd[@]}" "${machine[@]}" >"$logs/machine.log" 2>&1 &
machine_pid=$!
"${pytest_cmd[@]}" "${rest[@]}" >"$logs/rest.log" 2>&1 &
rest_pid=$!
trap 'kill -INT $machine_pid $rest_pid 2>/dev/null; wait; exit 130' INT TERM
done_count() { grep -oE '^[.FEsx]+' "$1" | tr -d '\n' | wc -c; }
echo "run_tests: two lanes (logs in $logs): machine (libvirtd, tgtd, namespaces) and rest"
next_report=$((started + 60))
while kill -0 $machine_pid 2>/dev/null || kill -0 $rest_pid 2>/dev/null; do
    sleep 5
    if [ $SECONDS -ge $next_report ]; then
        next_report=$((next_report + 60))
        echo "run_tests: $((SECONDS - started))s: machine lane $(done_count "$logs/machine.log") tests," \
             "rest lane $(done_count "$logs/rest.log") tests"
    fi
done
machine_status=0
wait $machine_pid || machine_status=$?
rest_status=0
wait $rest_pid || rest_status=$?
for lane in machine rest; do
    echo "==================== lane: $lane ===================="
    cat "$logs/$lane.log"
done
echo "run_tests: machine lane exit status $machine_status, rest lane exit status $rest_status"
[ "$machine_status" = 0 ] && [ "$rest_status" = 0 ]
