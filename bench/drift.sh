#!/usr/bin/env bash
# Drift statistics over 1M values per sample against psycopg + SciPy (about a minute).
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/drift_bench.py" "$@"
