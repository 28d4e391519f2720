#!/usr/bin/env bash
# Installs what pg_mlkit's build, demo and tests need, skipping whatever is already there.
#
#   scripts/bootstrap.sh          # build prerequisites: PostgreSQL 15 + headers, clang, cargo-pgrx, pgrx init
#   scripts/bootstrap.sh --python # also the Python reference implementations the tests compare against
#
# Debian bookworm, as root (or a user with sudo). Rust itself must already be installed, at
# least the version Cargo.toml's rust-version names (checked below). What it installs from
# PyPI is pinned to the versions the tests were written against.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
want_python=0
[ "${1:-}" = "--python" ] && want_python=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# apt_install WHAT PACKAGE...: installs those of the packages that are not installed yet.
apt_install() {
  local what=$1 missing=() p
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing $what: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# vendored FILE OVERRIDE: the path of a vendored source tarball (OVERRIDE if set, else
# ../shared/vendor/ beside the checkout, else /work/shared/vendor/), or nothing.
vendored() {
  local here t
  here=$(cd "$(dirname "$0")/.." && pwd)
  for t in "$2" "$here/../shared/vendor/$1" "/work/shared/vendor/$1"; do
    if [ -n "$t" ] && [ -f "$t" ]; then echo "$t"; return; fi
  done
}

# 1. Debian packages.
# libssl-dev and pkg-config: cargo-pgrx links OpenSSL. util-linux: prlimit for the 53200 test.
pkgs=(postgresql-15 postgresql-server-dev-15 clang libclang-dev libssl-dev pkg-config make gcc sudo gzip util-linux binutils)
# pg_cron: the scheduling test (tests/python/test_scheduling.py) runs jobs through it.
[ $want_python = 1 ] && pkgs+=(python3-pip postgresql-15-cron librsvg2-bin)
apt_install "Debian packages" "${pkgs[@]}"
# Debian's package starts a cluster on port 5432; ours never uses it.

# 2. Rust at least Cargo.toml's rust-version, and cargo-pgrx exactly the version the crate uses.
rust_needed() { sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$(dirname "$0")/../Cargo.toml"; }
if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust $(rust_needed) or later (https://rustup.rs) first" >&2
  exit 1
fi
have=$(rustc --version | awk '{print $2}')
need=$(rust_needed)
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | sed -n 1p)" != "$need" ]; then
  echo "pg_mlkit needs Rust $need or later (Cargo.toml rust-version); this machine has rustc $have." >&2
  echo "Update it (rustup update stable) or install a newer toolchain, then run this again." >&2
  exit 1
fi
# rustfmt and clippy: the test command's first step (scripts/test.sh) checks format and lints.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  say "adding the rustfmt and clippy components"
  rustup component add rustfmt clippy >/dev/null 2>&1 || {
    echo "cargo fmt and cargo clippy are needed (rustup component add rustfmt clippy)" >&2; exit 1; }
fi
if [ "$(cargo pgrx --version 2>/dev/null | awk '{print $2}')" != "$PGRX_VERSION" ]; then
  say "installing cargo-pgrx $PGRX_VERSION (takes a few minutes)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --quiet
fi

# 3. Point pgrx at the system PostgreSQL 15 (never a download).
if ! grep -qs "^pg15 = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  say "cargo pgrx init --pg15 $PG_CONFIG"
  cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
fi

# 4. The reference implementations for the tests and benchmarks (never used by the extension),
#    pinned: a new scikit-learn or SciPy may change a reference result the tests compare with.
PY_PINS=(scikit-learn==1.9.1 scipy==1.17.1 numpy==2.4.6 'psycopg[binary]==3.3.9' pytest==9.2.0 pytest-xdist==3.8.0 imagehash==4.3.2
         pillow==13.0.0 scikit-image==0.26.0 evidently==0.7.23 pandas==2.3.3 openTSNE==1.0.4 umap-learn==0.5.12
         numba==0.68.1 pynndescent==0.7.0 hdbscan==0.8.44 pdqhash==0.2.8)
# Installed without their dependencies: of BERTopic the tests load only its class-based TF-IDF
# (vectorizers/_ctfidf.py, which needs scikit-learn and SciPy), not the model stack it pulls in.
PY_NODEPS=(bertopic==0.17.4)
if [ $want_python = 1 ]; then
  missing_py=$(python3 - "${PY_PINS[@]}" "${PY_NODEPS[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    name = name.split("[")[0]
    try:
        ok = version(name) == want
    except PackageNotFoundError:
        ok = False
    if not ok:
        print(pin)
PY
)
  if [ -n "$missing_py" ]; then
    say "installing pinned Python test references: $(echo $missing_py)"
    with_deps=() no_deps=()
    for pin in $missing_py; do
      case " ${PY_NODEPS[*]} " in *" $pin "*) no_deps+=("$pin") ;; *) with_deps+=("$pin") ;; esac
    done
    pip_install() {
      python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" 2>/dev/null \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
    }
    if [ ${#with_deps[@]} -gt 0 ]; then pip_install "${with_deps[@]}"; fi
    if [ ${#no_deps[@]} -gt 0 ]; then pip_install --no-deps "${no_deps[@]}"; fi
  fi
fi

# 5. pgvector, built from the vendored source when it is missing, so that the pgvector tests
#    and the demo run against the real extension. pg_mlkit never requires it: without the
#    source (PGVECTOR_TARBALL, or ../shared/vendor/ beside the checkout) the pgvector tests
#    say they were skipped.
PGVECTOR_VERSION=0.8.6
if [ ! -f "$($PG_CONFIG --sharedir)/extension/vector--$PGVECTOR_VERSION.sql" ]; then
  tarball=$(vendored "pgvector-$PGVECTOR_VERSION.tar.gz" "${PGVECTOR_TARBALL:-}")
  if [ -n "$tarball" ]; then
    say "building pgvector $PGVECTOR_VERSION from $tarball"
    build=$(mktemp -d)
    tar xzf "$tarball" -C "$build"
    # OPTFLAGS="": no -march=native, so the library does not depend on the build machine's CPU.
    make -s -C "$build/pgvector-$PGVECTOR_VERSION" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null 2>&1
    $SUDO make -s -C "$build/pgvector-$PGVECTOR_VERSION" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" install >/dev/null
    rm -rf "$build"
  else
    say "pgvector's source (pgvector-$PGVECTOR_VERSION.tar.gz) is not here: the pgvector tests will be skipped"
  fi
fi

# 6. Citus, built from the vendored source when it is missing, so that the scale-out suite
#    (scripts/citus.sh, tests/citus/) runs against a real three-node cluster. pg_mlkit never
#    requires it: without the source (CITUS_TARBALL, or ../shared/vendor/ beside the checkout)
#    the Citus suite says it was skipped. Citus 13.2 is the last line for PostgreSQL 15; the
#    vendored patch drops its own copy of have_createdb_privilege, which PostgreSQL 15.20
#    now exports.
CITUS_VERSION=13.2.2
if [ ! -f "$($PG_CONFIG --pkglibdir)/citus.so" ]; then
  tarball=$(vendored "citus-$CITUS_VERSION.tar.gz" "${CITUS_TARBALL:-}")
  if [ -n "$tarball" ]; then
    apt_install "Citus's build dependencies" liblz4-dev libzstd-dev libkrb5-dev patch
    say "building Citus $CITUS_VERSION from $tarball (about 2 minutes)"
    build=$(mktemp -d)
    tar xzf "$tarball" -C "$build"
    src=$(find "$build" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    patch_file="$(dirname "$tarball")/citus-$CITUS_VERSION-pg15-have_createdb_privilege.patch"
    [ -f "$patch_file" ] && (cd "$src" && patch -s -p1 <"$patch_file")
    (cd "$src" && PG_CONFIG="$PG_CONFIG" ./configure --without-libcurl >/dev/null \
       && make -s -j"$(nproc)" >/dev/null 2>&1) \
      || { echo "building Citus failed (./configure --without-libcurl && make in $src)" >&2; exit 1; }
    # (pgxs warns about Citus's own "check" target: noise, not a problem.)
    $SUDO make -s -C "$src" install >/dev/null 2>&1 || { echo "installing Citus failed (make install in $src)" >&2; exit 1; }
    rm -rf "$build"
  else
    say "Citus's source (citus-$CITUS_VERSION.tar.gz) is not here: the Citus suite will be skipped"
  fi
fi
