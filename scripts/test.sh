#!/usr/bin/env bash
# Every test of pg_mlkit, from nothing: installs what is missing, then runs
#   0. the format and lint gate (cargo fmt --check, cargo clippy -D warnings),
#   1. the algorithm crate's unit tests (plain cargo test, no PostgreSQL),
#   2. the SQL regression suites in tests/sql (pg_regress; their expected output is also
#      what the docs show, checked by tests/check_docs.py), and every docs page run from an
#      empty database top to bottom (tests/run_docs.py),
#   3. the Python tests in tests/python: comparisons with scikit-learn, cancellation, the
#      security suite (attacking roles, generated look-alikes, bounded resources),
#      pg_dump/pg_restore, tenant sealing and limits, the fuzz sweep of every function,
#   4. the Citus suite: a coordinator and two workers (scripts/citus.sh), every scale-out path
#      on distributed and reference tables against the same rows on one node (tests/citus/);
#      skipped, saying so, when Citus could not be built (scripts/bootstrap.sh builds it),
#   5. the upgrade test: every released version (from its frozen install script), filled,
#      updated, compared with a fresh install (scripts/test_upgrade.sh),
#   6. the Debian package: built, installed into a fresh cluster, removed (tests/package/).
# Stops at the first failure. Builds use the dev profile.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

STARTED=$(date +%s)
# Each step says when it starts, in seconds since the start (the closing line gives the total).
say() { printf '\n\033[1m==> [%ss] %s\033[0m\n' "$(( $(date +%s) - STARTED ))" "$*"; }

bash scripts/bootstrap.sh --python

say "0/6 format and lint (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --check || { echo "run 'cargo fmt' (rustfmt.toml) and commit the result" >&2; exit 1; }
cargo clippy --quiet --workspace --features pg15 -- -D warnings

say "1/6 unit tests of the algorithms (cargo test -p mlkit)"
cargo test -p mlkit --quiet

say "2/6 SQL regression suites (pg_regress)"
bash scripts/install.sh
export PG_MLKIT_TMP=/tmp/pg_mlkit_test PG_MLKIT_PORT=54330
bash scripts/pgtmp.sh stop
trap 'bash scripts/pgtmp.sh stop' EXIT
bash scripts/regress.sh
# Again with every query that can run in a parallel worker made to: a function marked
# PARALLEL SAFE that is not fails here.
PGOPTIONS='-c force_parallel_mode=regress' bash scripts/regress.sh
python3 tests/check_docs.py
(eval "$(bash scripts/pgtmp.sh env)"; python3 tests/run_docs.py)

say "3/6 Python tests against the reference implementations (pytest)"
# The files in two processes (pytest-xdist, a file to a process: each process has its own
# databases), then, alone, those that change what every session sees (server settings,
# roles of the security suite) or measure how fast a call stops.
SERIAL=(tests/python/security tests/python/test_tenants_and_limits.py tests/python/test_cancel.py)
python3 -m pytest -q --durations=25 -n 2 --dist loadfile tests/python "${SERIAL[@]/#/--ignore=}"
python3 -m pytest -q --durations=10 "${SERIAL[@]}"
bash scripts/pgtmp.sh stop

say "4/6 the Citus suite on a three-node cluster (scripts/citus.sh, tests/citus)"
if bash scripts/citus.sh available; then
  trap 'bash scripts/citus.sh stop; bash scripts/pgtmp.sh stop' EXIT
  bash scripts/citus.sh stop
  bash scripts/citus.sh start 2
  bash scripts/regress.sh --citus
  python3 -m pytest -q --durations=10 tests/citus
  bash scripts/citus.sh stop
else
  echo "Citus is not installed (its source was not found by scripts/bootstrap.sh): the Citus suite was skipped"
fi

say "5/6 upgrades from every release (scripts/test_upgrade.sh)"
bash scripts/test_upgrade.sh

say "6/6 the Debian package (tests/package/test_package.sh)"
bash tests/package/test_package.sh
say "all tests passed"
