#!/usr/bin/env bash
# ml.cluster_keywords on 1M documents against BERTopic's class-based TF-IDF (~5 minutes).
exec bash "$(dirname "$0")/run.sh" "$(dirname "$0")/keywords_bench.py" "$@"
