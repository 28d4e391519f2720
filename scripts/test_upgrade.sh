#!/usr/bin/env bash
# The upgrade test (docs/operating.md, "Upgrading"): builds the previous release, pg_mlkit
# 0.2.0, from its release commit, installs it on a throwaway server, fills every table (three
# tenants, a real clustering run, grants to an application role and a role bound to its tenant
# with ALTER ROLE ... SET app.tenant), installs this tree, runs ALTER EXTENSION pg_mlkit
# UPDATE, and checks with tests/upgrade/check_upgrade.py that
#   * the upgraded schema is identical to a fresh install of this version,
#   * every row is still there, unchanged,
#   * the upgraded database dumps and restores (pg_dump | pg_restore), rows and schema intact.
# Leaves this tree's build installed. The old build is cached in target/upgrade/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OLD_VERSION=0.2.0
OLD_COMMIT=01e5027
WORK=$ROOT/target/upgrade
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! git cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null; then
  echo "the upgrade test needs commit $OLD_COMMIT (release $OLD_VERSION): clone with full history" >&2
  exit 1
fi

# 1. The old release, built once from its commit into a package directory (dev profile).
PKG=$WORK/pkg-$OLD_VERSION
if [ ! -f "$PKG/.built-$OLD_COMMIT" ]; then
  say "building pg_mlkit $OLD_VERSION from commit $OLD_COMMIT (once; cached in target/upgrade)"
  rm -rf "$WORK/src-$OLD_VERSION" "$PKG" && mkdir -p "$WORK/src-$OLD_VERSION"
  git archive "$OLD_COMMIT" | tar -x -C "$WORK/src-$OLD_VERSION"
  (cd "$WORK/src-$OLD_VERSION" && CARGO_TARGET_DIR=$WORK/target \
     cargo pgrx package --debug --pg-config "$PG_CONFIG" --out-dir "$PKG" >"$WORK/build.log" 2>&1) \
    || { cat "$WORK/build.log"; exit 1; }
  touch "$PKG/.built-$OLD_COMMIT"
fi

export PG_MLKIT_TMP=/tmp/pg_mlkit_upgrade PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop >/dev/null
trap 'bash scripts/pgtmp.sh stop >/dev/null' EXIT

# 2. Install the old release (server stopped: the library file is replaced), fill a database.
say "installing pg_mlkit $OLD_VERSION and filling every table"
$SUDO cp "$PKG/usr/lib/postgresql/15/lib/pg_mlkit.so" "$($PG_CONFIG --pkglibdir)/pg_mlkit.so"
$SUDO cp "$PKG/usr/share/postgresql/15/extension/pg_mlkit--$OLD_VERSION.sql" \
         "$PKG/usr/share/postgresql/15/extension/pg_mlkit.control" "$($PG_CONFIG --sharedir)/extension/"
bash scripts/pgtmp.sh start >/dev/null
python3 tests/upgrade/check_upgrade.py fill "$OLD_VERSION"
bash scripts/pgtmp.sh pause

# 3. Install this tree, update, compare.
say "installing this tree and running ALTER EXTENSION pg_mlkit UPDATE"
bash scripts/install.sh
bash scripts/pgtmp.sh start >/dev/null
python3 tests/upgrade/check_upgrade.py check "$OLD_VERSION"
