#!/usr/bin/env bash
# Runs one Python benchmark on a throwaway server with the release build installed:
#   bash bench/run.sh bench/duplicates_bench.py [args]
# Each benchmark writes its own section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --python
bash scripts/install.sh --release
export PG_MLKIT_TMP=/tmp/pg_mlkit_bench PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop
trap 'bash scripts/pgtmp.sh stop' EXIT
bash scripts/pgtmp.sh start
python3 "$@"
