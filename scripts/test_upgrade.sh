#!/usr/bin/env bash
# The upgrade test (docs/operating.md, "Upgrading"): from every released version to this tree.
# For each release V in RELEASES, on a throwaway server with this tree's library installed:
#   * CREATE EXTENSION pg_mlkit VERSION 'V' from V's install script as released, kept frozen in
#     sql/released/pg_mlkit--V.sql.gz (so no old release is rebuilt from source);
#   * fill every table (three tenants, a real clustering run, grants to an application role and
#     a role bound to its tenant with ALTER ROLE ... SET app.tenant);
#   * ALTER EXTENSION pg_mlkit UPDATE, through every upgrade script in sql/;
# and tests/upgrade/check_upgrade.py checks that
#   * the upgraded schema is identical to a fresh install of this version,
#   * every row is still there, unchanged, and the tenant bindings became grants,
#   * the upgraded database dumps and restores (pg_dump | pg_restore), rows and schema intact.
# The old versions' SQL runs against this tree's library: every C function they name must
# still be exported by it (checked first). Leaves this tree's build installed (and removes the
# old install scripts again).
#
# A new release adds its install script here (scripts/package.sh builds it; CONTRIBUTING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
RELEASES=(0.1.0 0.2.0)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "installing this tree and the install scripts of releases ${RELEASES[*]}"
bash scripts/install.sh
EXT_DIR="$($PG_CONFIG --sharedir)/extension"
LIB="$($PG_CONFIG --pkglibdir)/pg_mlkit.so"
for v in "${RELEASES[@]}"; do
  frozen="sql/released/pg_mlkit--$v.sql.gz"
  missing=$(comm -23 <(gzip -dc "$frozen" | grep -o "'MODULE_PATHNAME', '[A-Za-z0-9_]*'" | sed "s/.*, '//; s/'//" | sort -u) \
                     <(nm -D --defined-only "$LIB" | awk '{print $3}' | sort -u))
  if [ -n "$missing" ]; then
    echo "release $v's install script names C functions this library no longer exports: $missing" >&2
    echo "keep them (a stub that raises is enough), or upgrade through a release that drops them" >&2
    exit 1
  fi
  gzip -dc "$frozen" | $SUDO tee "$EXT_DIR/pg_mlkit--$v.sql" >/dev/null
done

export PG_MLKIT_TMP=/tmp/pg_mlkit_upgrade PG_MLKIT_PORT=54331
bash scripts/pgtmp.sh stop >/dev/null
# The old install scripts are removed again: with this library they are for this test only.
trap 'bash scripts/pgtmp.sh stop >/dev/null; for v in "${RELEASES[@]}"; do $SUDO rm -f "$EXT_DIR/pg_mlkit--$v.sql"; done' EXIT
bash scripts/pgtmp.sh start >/dev/null
mkdir -p "$ROOT/target/upgrade"
for v in "${RELEASES[@]}"; do
  say "from $v: filling every table, ALTER EXTENSION pg_mlkit UPDATE, comparing"
  python3 tests/upgrade/check_upgrade.py fill "$v"
  python3 tests/upgrade/check_upgrade.py check "$v"
done
