#!/usr/bin/env bash
# Start the whole cloud in one process: installs the Python dependencies if
# they are missing, then runs nova-combined on SQLite and the in-memory
# transport with its state under ./state (override with --state_path=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import eventlet, kombu, sqlalchemy, alembic, absl" 2>/dev/null || \
    python3 -m pip install -q -r requirements.txt
exec bin/nova-combined --state_path="$PWD/state" "$@"
