#!/usr/bin/env bash
# Installs what pg_mlkit's build, demo and tests need, skipping whatever is already there.
#
#   scripts/bootstrap.sh          # build prerequisites: PostgreSQL 15 + headers, clang, cargo-pgrx, pgrx init
#   scripts/bootstrap.sh --python # also the Python reference implementations the tests compare against
#
# Debian bookworm, as root (or a user with sudo). Rust itself must already be installed.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
want_python=0
[ "${1:-}" = "--python" ] && want_python=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# 1. Debian packages.
pkgs=(postgresql-15 postgresql-server-dev-15 clang libclang-dev pkg-config make gcc sudo gzip)
# pg_cron: the scheduling test (tests/python/test_scheduling.py) runs jobs through it.
[ $want_python = 1 ] && pkgs+=(python3-pip postgresql-15-cron librsvg2-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's package starts a cluster on port 5432; ours never uses it.

# 2. cargo-pgrx, exactly the version the crate uses.
if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust (https://rustup.rs) first" >&2
  exit 1
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

# 4. The reference implementations for the tests and benchmarks (never used by the extension).
if [ $want_python = 1 ]; then
  if ! python3 -c "import sklearn, scipy, numpy, psycopg, pytest, imagehash, skimage, PIL, evidently, openTSNE, umap; assert int(PIL.__version__.split('.')[0]) >= 13" 2>/dev/null; then
    say "installing Python test references: scikit-learn scipy numpy psycopg pytest imagehash pillow scikit-image evidently openTSNE umap-learn"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      scikit-learn scipy numpy 'psycopg[binary]' pytest 'imagehash==4.3.*' 'pillow>=13' scikit-image evidently 'pandas<3' 'openTSNE==1.0.*' 'umap-learn==0.5.*' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
      scikit-learn scipy numpy 'psycopg[binary]' pytest 'imagehash==4.3.*' 'pillow>=13' scikit-image evidently 'pandas<3' 'openTSNE==1.0.*' 'umap-learn==0.5.*'
  fi
fi
