#!/usr/bin/env bash
# Builds and installs pg_mlkit into the system PostgreSQL 15; shows the build log only if it
# fails. `--release` for the optimised build (demo, benchmarks), else the dev profile (tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# The upgrade scripts are composed from sql/upgrade/ and sql/schema/ (scripts/compose_upgrade.py).
python3 scripts/compose_upgrade.py
log=$(mktemp)
if ! cargo pgrx install "$@" --pg-config /usr/lib/postgresql/15/bin/pg_config >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  exit 1
fi
rm -f "$log"
