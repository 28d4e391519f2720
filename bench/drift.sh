#!/usr/bin/env bash
# Drift statistics over 1M values per sample against psycopg + SciPy, one
# run; writes its section of docs/benchmarks.md. Release build, throwaway server. A few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --python
bash scripts/install.sh --release
export PG_MLKIT_TMP=/tmp/pg_mlkit_bench PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop
trap 'bash scripts/pgtmp.sh stop' EXIT
bash scripts/pgtmp.sh start
python3 bench/drift_bench.py "$@"
