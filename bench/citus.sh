#!/usr/bin/env bash
# The scale-out paths on Citus with 1, 2 and 4 workers (all on this machine: what is measured
# is Citus's overhead and plan, not more hardware), next to the same table on one node with 0
# and 2 parallel workers: K-Means's scan engine and ml.score_drift's sketch engine. About 10
# minutes; `--quick` for a small table. Writes its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --python
if ! bash scripts/citus.sh available; then
  echo "Citus is not installed (scripts/bootstrap.sh builds it from ../shared/vendor/)" >&2
  exit 1
fi
bash scripts/install.sh --release
export PG_MLKIT_CITUS_TMP=/tmp/pg_mlkit_citus_bench PG_MLKIT_CITUS_PORT=54350
trap 'bash scripts/citus.sh stop' EXIT
python3 bench/citus_bench.py "$@"
