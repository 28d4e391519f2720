#!/usr/bin/env bash
# A throwaway Citus cluster on this machine: a coordinator and N workers (default 2), each its
# own PostgreSQL 15 server on its own port, with Citus and pg_mlkit installed on every node.
#
#   scripts/citus.sh start [N]   # initdb, start, join the workers to the coordinator, create
#                                # the extensions; prints the coordinator's connection settings
#   scripts/citus.sh stop        # stop every node and delete their data directories
#   scripts/citus.sh env         # print PGHOST/PGPORT/PGUSER exports for the coordinator
#   scripts/citus.sh available   # exit 0 when Citus is installed (scripts/bootstrap.sh builds it)
#
# Where: PG_MLKIT_CITUS_TMP (default /tmp/pg_mlkit_citus), one directory per node; the
# coordinator listens on PG_MLKIT_CITUS_PORT (default 54340), worker i on that port + i. Like
# scripts/pgtmp.sh, every node listens only on a Unix socket in that directory (the nodes
# reach each other through it) and runs as the `postgres` user when started as root. The
# database is `postgres` on every node; pg_mlkit is created on the coordinator and Citus
# creates it on the workers (the same version: the nodes share this machine's install).
set -euo pipefail

PG_BIN=${PG_BIN:-$(/usr/lib/postgresql/15/bin/pg_config --bindir 2>/dev/null || pg_config --bindir)}
PKGLIB=$("$PG_BIN/pg_config" --pkglibdir)
DIR=${PG_MLKIT_CITUS_TMP:-/tmp/pg_mlkit_citus}
PORT=${PG_MLKIT_CITUS_PORT:-54340}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
sql() { # sql PORT STATEMENT
  as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$1" -U postgres -d postgres -c "$2" >/dev/null
}

start_node() { # start_node NAME PORT
  local data="$DIR/$1"
  if [ ! -s "$data/PG_VERSION" ]; then
    as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$DIR/$1.initdb.log"
  fi
  if ! as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # Small shared_buffers: several nodes share one machine. max_prepared_transactions: Citus
    # commits a transaction that wrote to more than one node with two-phase commit.
    as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$DIR/$1.log" -w \
      -o "-p $2 -k $DIR -c listen_addresses='' -c fsync=off -c shared_buffers=128MB \
          -c shared_preload_libraries=citus -c max_prepared_transactions=20 \
          -c citus.log_remote_commands=off ${PG_MLKIT_OPTS:-}" start >/dev/null
  fi
}

case "${1:-}" in
  available)
    [ -f "$PKGLIB/citus.so" ]
    ;;
  start)
    workers=${2:-2}
    if [ ! -f "$PKGLIB/citus.so" ]; then
      echo "Citus is not installed (scripts/bootstrap.sh builds it from ../shared/vendor/)" >&2
      exit 1
    fi
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    fresh=0
    [ -s "$DIR/coordinator/PG_VERSION" ] || fresh=1
    start_node coordinator "$PORT"
    for i in $(seq 1 "$workers"); do start_node "worker$i" $((PORT + i)); done
    if [ $fresh = 1 ]; then
      for i in $(seq 1 "$workers"); do sql $((PORT + i)) "CREATE EXTENSION citus"; done
      sql "$PORT" "CREATE EXTENSION citus"
      sql "$PORT" "SELECT pg_catalog.citus_set_coordinator_host('$DIR', $PORT)"
      for i in $(seq 1 "$workers"); do
        sql "$PORT" "SELECT pg_catalog.citus_add_node('$DIR', $((PORT + i)))"
      done
      sql "$PORT" "CREATE EXTENSION pg_mlkit"
    fi
    echo "Citus running: coordinator host=$DIR port=$PORT user=postgres, $workers workers on ports $((PORT + 1))..$((PORT + workers))"
    ;;
  stop)
    if [ -d "$DIR" ]; then
      for data in "$DIR"/*/; do
        [ -s "$data/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
      done
      rm -rf "$DIR"
    fi
    ;;
  env)
    echo "export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres"
    ;;
  *)
    echo "usage: $0 start [workers]|stop|env|available" >&2
    exit 2
    ;;
esac
