#!/usr/bin/env bash
# The test command: unit, integration and functional tests.
# Integration tests use the real RabbitMQ, PostgreSQL and MariaDB named by
# NOVA_TEST_RABBIT_URL, NOVA_TEST_POSTGRES_URL and NOVA_TEST_MYSQL_URL (default:
# the local ones); with NOVA_TEST_REQUIRE_SERVICES=1 a missing service fails.
# Extra arguments go to pytest, e.g. tools/run_tests.sh tests/unit -x
# Without arguments the unit tests run first, then the integration and
# functional tests (fixed ports, network namespaces, the real broker).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import eventlet, kombu, sqlalchemy, alembic, absl, pytest" 2>/dev/null || \
    python3 -m pip install -q -r requirements.txt
if [ $# -gt 0 ]; then
    exec python3 -m pytest -q -p no:cacheprovider "$@"
fi
status=0
python3 -m pytest -q -p no:cacheprovider tests/unit || status=$?
python3 -m pytest -q -p no:cacheprovider tests/integration tests/functional || status=$?
exit $status
