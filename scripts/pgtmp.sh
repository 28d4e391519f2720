#!/usr/bin/env bash
# A throwaway PostgreSQL server for the demo, the SQL tests and the benchmarks.
#
#   scripts/pgtmp.sh start    # initdb (if needed) and start; prints the connection settings
#   scripts/pgtmp.sh stop     # stop it and delete its data directory
#   scripts/pgtmp.sh pause    # stop it and keep its data (start resumes it)
#   scripts/pgtmp.sh env      # print PGHOST/PGPORT/PGUSER exports for it
#
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
# (created by Debian's postgresql package). It listens only on a Unix socket in its own
# directory: nothing on the network can reach it. PG_MLKIT_OPTS adds server options
# (`-c name=value ...`), e.g. to preload pg_cron.
set -euo pipefail

PG_BIN=${PG_BIN:-$(/usr/lib/postgresql/15/bin/pg_config --bindir 2>/dev/null || pg_config --bindir)}
DIR=${PG_MLKIT_TMP:-/tmp/pg_mlkit_tmp}
PORT=${PG_MLKIT_PORT:-54329}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    if [ ! -s "$DIR/data/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
      as_owner "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log"
    fi
    if ! as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
        -o "-p $PORT -k $DIR -c listen_addresses='' -c fsync=off -c shared_buffers=512MB -c max_wal_size=4GB ${PG_MLKIT_OPTS:-}" start >/dev/null
    fi
    echo "PostgreSQL running: host=$DIR port=$PORT user=postgres (log: $DIR/server.log)"
    ;;
  stop)
    if [ -d "$DIR/data" ]; then
      as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
      rm -rf "$DIR"
    fi
    ;;
  pause)
    if [ -d "$DIR/data" ]; then
      as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  env)
    echo "export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres"
    ;;
  *)
    echo "usage: $0 start|stop|pause|env" >&2
    exit 2
    ;;
esac
