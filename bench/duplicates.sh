#!/usr/bin/env bash
# Near-duplicate search, grouping and hashing at scale against full scans and imagehash (~5 minutes).
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/duplicates_bench.py" "$@"
