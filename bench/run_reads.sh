#!/usr/bin/env bash
# Reading one run back with a million rows of other runs stored (ml.run_points, ml.plot_run),
# and ml.compare_runs against psycopg + scikit-learn on two runs of a million items.
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/run_reads_bench.py" "$@"
