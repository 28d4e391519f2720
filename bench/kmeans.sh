#!/usr/bin/env bash
# K-Means in SQL against the careful Python pipeline, same data, one run; writes
# docs/benchmarks.md. Release build, on a throwaway server. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --python
cargo pgrx install --release --pg-config /usr/lib/postgresql/15/bin/pg_config >/tmp/pg_mlkit-install.log 2>&1 \
  || { cat /tmp/pg_mlkit-install.log; exit 1; }
export PG_MLKIT_TMP=/tmp/pg_mlkit_bench PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop
trap 'bash scripts/pgtmp.sh stop' EXIT
bash scripts/pgtmp.sh start
python3 bench/kmeans_bench.py "$@"
