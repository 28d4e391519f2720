#!/usr/bin/env bash
# ml.predict_cluster with logging under 8 pgbench clients; writes its section of
# docs/benchmarks.md. Release build, throwaway server. About two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --python
bash scripts/install.sh --release
export PG_MLKIT_TMP=/tmp/pg_mlkit_bench PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop
trap 'bash scripts/pgtmp.sh stop' EXIT
bash scripts/pgtmp.sh start
python3 bench/prediction_bench.py "$@"
