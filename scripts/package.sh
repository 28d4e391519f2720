#!/usr/bin/env bash
# Builds the Debian package of pg_mlkit for PostgreSQL 15 (release profile):
#
#   bash scripts/package.sh        # -> target/debian/postgresql-15-pg-mlkit_<version>_<arch>.deb
#
# PG_MLKIT_PACKAGE_PROFILE=dev packages the dev build instead: the package test
# (tests/package/) checks the package's layout, dependencies, install and removal, which do not
# depend on the profile, and so does not spend CI's time on a second, link-time-optimised build.
#
# `cargo pgrx package` lays out the files (the library, the control file, the install script
# and every upgrade script in sql/); this wraps them in a .deb that depends on postgresql-15.
# Install it with `apt install ./target/debian/postgresql-15-pg-mlkit_*.deb`, then
# CREATE EXTENSION pg_mlkit in a database (docs/operating.md). Tested by tests/package/.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
NAME=postgresql-15-pg-mlkit
VERSION=$(sed -n '0,/^version = /s/^version = "\(.*\)"$/\1/p' Cargo.toml)
ARCH=$(dpkg --print-architecture)
OUT=target/debian
STAGE=$OUT/$NAME
DEB=$OUT/${NAME}_${VERSION}_${ARCH}.deb

rm -rf "$STAGE" "$DEB" && mkdir -p "$STAGE"
python3 scripts/compose_upgrade.py  # the upgrade scripts, composed from sql/upgrade/ and sql/schema/
log=$(mktemp)
profile=()
[ "${PG_MLKIT_PACKAGE_PROFILE:-release}" = dev ] && profile=(--debug)
if ! cargo pgrx package "${profile[@]}" --pg-config "$PG_CONFIG" --out-dir "$STAGE" >"$log" 2>&1; then
  cat "$log"; rm -f "$log"; exit 1
fi
rm -f "$log"
so="$STAGE$($PG_CONFIG --pkglibdir)/pg_mlkit.so"
[ -f "$so" ] || { echo "cargo pgrx package did not produce $so" >&2; exit 1; }
strip --strip-debug "$so"

# What the library links against, as packages (libc6, libgcc-s1): the shared libraries it
# needs, each mapped to the package that ships it here, at the version installed.
deps="postgresql-15"
# (No reader in these pipes stops early: under pipefail, a writer killed by SIGPIPE fails the script.)
libs=$(ldconfig -p)
for lib in $(objdump -p "$so" | awk '/NEEDED/ {print $2}'); do
  path=$(awk -v l="$lib" '$1 == l && !found {print $NF; found = 1}' <<<"$libs")
  [ -n "$path" ] || continue
  pkg=$( (dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true) | awk -F: 'NR == 1 {print $1}')
  [ -n "$pkg" ] || continue
  case ",$deps," in *", $pkg "*|*",$pkg,"*) continue ;; esac
  ver=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//')
  deps="$deps, $pkg (>= $ver)"
done

mkdir -p "$STAGE/DEBIAN" "$STAGE/usr/share/doc/$NAME"
cp LICENSE "$STAGE/usr/share/doc/$NAME/copyright"
cp docs/operating.md "$STAGE/usr/share/doc/$NAME/"
gzip -9n "$STAGE/usr/share/doc/$NAME/operating.md"
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: pg_mlkit developers <pg_mlkit@localhost>
Depends: $deps
Installed-Size: $size
Section: database
Priority: optional
Homepage: https://github.com/pg-mlkit/pg_mlkit
Description: clustering analysis and ML monitoring inside PostgreSQL 15
 pg_mlkit is a PostgreSQL extension written in Rust: K-Means, DBSCAN, HDBSCAN,
 PCA, t-SNE, UMAP, perceptual hashes and near-duplicate groups, drift
 statistics, and the tables that record runs, models, predictions and drift.
 After installing, run CREATE EXTENSION pg_mlkit in a database.
CONTROL
dpkg-deb --build --root-owner-group "$STAGE" "$DEB" >/dev/null
echo "$DEB"
dpkg-deb --field "$DEB" Package Version Depends
