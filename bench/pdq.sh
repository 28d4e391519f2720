#!/usr/bin/env bash
# PDQ: radius search at distance 31 over 1M hashes, grouping, and hashing against pdqhash (~10 minutes).
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/pdq_bench.py" "$@"
