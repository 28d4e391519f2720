#!/usr/bin/env bash
# K-Means, DBSCAN and HDBSCAN in SQL against the careful Python pipeline, same data, one
# run; writes docs/benchmarks.md. Release build, on a throwaway server. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --python
bash scripts/install.sh --release
# linfa as a comparison column (its own crate, not part of the extension).
(cd bench/linfa && cargo build --release --quiet)
export PG_MLKIT_TMP=/tmp/pg_mlkit_bench PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop
trap 'bash scripts/pgtmp.sh stop' EXIT
bash scripts/pgtmp.sh start
python3 bench/kmeans_bench.py
python3 bench/density_bench.py "$@"
