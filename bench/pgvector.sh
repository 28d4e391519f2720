#!/usr/bin/env bash
# pgvector columns: reading 1M x 768 from vector vs real[] vs the cast path, and K-Means with
# k = 1000 against ivfflat's k-means (bench/pgvector_bench.py). Release build, throwaway server,
# pgvector built by scripts/bootstrap.sh. About 20 minutes on 2 cores; BENCH_ROWS=100000 to try.
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" bench/pgvector_bench.py "$@"
