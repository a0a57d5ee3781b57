#!/usr/bin/env bash
# Runs every test, the same way on a newcomer's machine and in CI (`make test` calls it).
#
# The registry's tests run on SQLite and on PostgreSQL 15. When NOTRAIN_TEST_POSTGRES_URL
# is not given, a throwaway cluster is started here (scripts/postgres.sh) and stopped on
# exit, so `make test` never skips the PostgreSQL half for want of a database. If it cannot
# start, the run fails: half a test suite must not look like a whole one.
#
# Extra arguments go to pytest (`scripts/test.sh tests/registry -k audit`).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

if [ -z "${NOTRAIN_TEST_POSTGRES_URL:-}" ]; then
    PGDIR=$(mktemp -d -t notrain-pg.XXXXXX)
    trap 'scripts/postgres.sh stop "$PGDIR" || true' EXIT
    if ! NOTRAIN_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$PGDIR"); then
        echo "test: could not start PostgreSQL for the registry tests (scripts/postgres.sh)" >&2
        exit 1
    fi
    export NOTRAIN_TEST_POSTGRES_URL
    echo "test: throwaway PostgreSQL at $NOTRAIN_TEST_POSTGRES_URL" >&2
fi
# No `exec`: the trap above must run after pytest. pytest's own exit code (5 when no test
# ran) is passed on unchanged.
status=0
"$PYTHON" -m pytest -n 2 "$@" || status=$?
exit "$status"
