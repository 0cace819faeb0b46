#!/usr/bin/env bash
# Start a local PostgreSQL for the record-store tests and print the URL the tests read
# from AIGCLABEL_TEST_POSTGRES_URL. Idempotent; needs root (a CI machine or a container)
# unless a server is already running with the role and database below.
set -euo pipefail
URL="postgresql+psycopg://aigc:aigc@127.0.0.1:5432/aigc_test"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h 2>/dev/null | grep -q "^${version} main"; then
    pg_createcluster "${version}" main >&2
fi
pg_ctlcluster "${version}" main start >&2 2>/dev/null || true
for _ in $(seq 1 50); do
    if su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'aigc'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE aigc LOGIN PASSWORD 'aigc'\"" >&2
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'aigc_test'\"" | grep -q 1 \
    || su postgres -c "psql -qc 'CREATE DATABASE aigc_test OWNER aigc'" >&2
echo "${URL}"
