#!/usr/bin/env bash
# K-Means's scan engine on 2M × 128 (about 1 GB of embeddings) with pg_mlkit.max_memory_mb at
# 256 MB, with 0 and 2 parallel workers, against the in-memory engine with the limit raised
# (about 10 minutes). Writes its section of docs/benchmarks.md.
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/scale_out_bench.py" "$@"
