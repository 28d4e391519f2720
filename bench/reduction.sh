#!/usr/bin/env bash
# t-SNE, UMAP and PCA against openTSNE, scikit-learn, linfa-tsne, umap-learn and the Python PCA
# pipeline (about 15 minutes). Builds linfa-tsne's benchmark binary first.
set -euo pipefail
here="$(dirname "$0")"
cargo build --release --quiet --manifest-path "$here/linfa/Cargo.toml"
exec bash "$here/run.sh" "$here/reduction_bench.py" "$@"
