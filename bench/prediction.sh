#!/usr/bin/env bash
# ml.predict_cluster with logging under 8 pgbench clients (about two minutes).
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/prediction_bench.py" "$@"
