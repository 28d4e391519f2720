#!/usr/bin/env bash
# The package test (docs/operating.md, "Install"): builds the .deb with scripts/package.sh,
# installs it with dpkg, creates a fresh PostgreSQL 15 cluster, and checks that
# CREATE EXTENSION pg_mlkit works there and clusters a table; then removes the package
# (its files must go with it) and puts this tree's dev build back.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
PKG=postgresql-15-pg-mlkit
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "building the Debian package (of the dev build: the layout, dependencies, install and removal tested here do not depend on the profile)"
deb=$(PG_MLKIT_PACKAGE_PROFILE=dev bash scripts/package.sh | sed -n 1p)
depends=$(dpkg-deb --field "$deb" Depends)
case "$depends" in postgresql-15,*|postgresql-15) ;; *) echo "$deb does not depend on postgresql-15: $depends" >&2; exit 1 ;; esac

say "installing $deb into a fresh cluster"
$SUDO dpkg -i "$deb" >/dev/null
lib=/usr/lib/postgresql/15/lib/pg_mlkit.so
[ "$(dpkg -S "$lib" | cut -d: -f1)" = "$PKG" ] || { echo "$lib is not from $PKG" >&2; exit 1; }

export PG_MLKIT_TMP=/tmp/pg_mlkit_package PG_MLKIT_PORT=54332
bash scripts/pgtmp.sh stop >/dev/null
trap 'bash scripts/pgtmp.sh stop >/dev/null' EXIT
bash scripts/pgtmp.sh start >/dev/null
eval "$(bash scripts/pgtmp.sh env)"
version=$(dpkg-deb --field "$deb" Version)
out=$(psql -X -q -v ON_ERROR_STOP=1 -d postgres -At <<'SQL'
CREATE EXTENSION pg_mlkit;
SELECT extversion FROM pg_extension WHERE extname = 'pg_mlkit';
CREATE TABLE pts AS SELECT i AS id, ARRAY[(i % 3) * 10 + i * 0.01, (i % 3) * 5]::real[] AS embedding FROM generate_series(1, 300) i;
SELECT ml.cluster_embeddings('pts', params => '{"n_clusters": 3, "random_state": 0}') AS run \gset
SELECT count(DISTINCT cluster) || ' clusters, ' || count(*) || ' rows' FROM ml.cluster_assignments WHERE run_id = :run;
SQL
)
echo "$out"
[ "$(echo "$out" | sed -n 1p)" = "$version" ] || { echo "installed version is not $version" >&2; exit 1; }
[ "$(echo "$out" | sed -n 2p)" = "3 clusters, 300 rows" ] || { echo "clustering with the package failed" >&2; exit 1; }
bash scripts/pgtmp.sh stop >/dev/null

say "removing the package"
$SUDO dpkg -r "$PKG" >/dev/null
[ ! -e "$lib" ] || { echo "$lib is still there after dpkg -r" >&2; exit 1; }
bash scripts/install.sh
echo "package test passed: $deb"
