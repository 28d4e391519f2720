#!/usr/bin/env bash
# The SQL regression suites (tests/sql → tests/expected) against the installed extension, on
# a fresh database of the throwaway server (started if needed). `--accept` copies the
# actual results over the expected ones: review the diff before committing it.
# `--citus` runs the Citus suite (tests/schedule_citus) instead, against the coordinator of
# the cluster scripts/citus.sh started.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_REGRESS="$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress"
accept=0 citus=0
for arg in "$@"; do
  case "$arg" in --accept) accept=1 ;; --citus) citus=1 ;; *) echo "usage: $0 [--accept] [--citus]" >&2; exit 2 ;; esac
done

if [ $citus = 1 ]; then
  eval "$(bash scripts/citus.sh env)"
  rm -rf tests/results_citus
  status=0
  "$PG_REGRESS" --use-existing --dbname=postgres --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --inputdir=tests --outputdir=tests/results_citus --schedule=tests/schedule_citus || status=$?
  if [ $accept = 1 ]; then
    cp tests/results_citus/results/*.out tests/expected/
    echo "expected output replaced by the results: review 'git diff tests/expected'"
  elif [ $status != 0 ]; then
    cat tests/results_citus/regression.diffs
    exit $status
  fi
  exit 0
fi
bash scripts/pgtmp.sh start >/dev/null
eval "$(bash scripts/pgtmp.sh env)"
DB=pg_mlkit_regress

dropdb --if-exists "$DB"
psql -X -q -d postgres -c "DROP ROLE IF EXISTS mlkit_alice" -c "DROP ROLE IF EXISTS mlkit_bob"
createdb "$DB"
# Fixtures the suites share: the digits data set.
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<'SQL'
CREATE TABLE digits (id int PRIMARY KEY, label int NOT NULL, embedding real[] NOT NULL);
\copy digits FROM PROGRAM 'gzip -dc data/digits.csv.gz' WITH (FORMAT csv, HEADER)
SQL

rm -rf tests/results tests/results_pgvector tests/regression.diffs tests/regression.out
status=0
"$PG_REGRESS" \
  --use-existing --dbname="$DB" --host="$PGHOST" --port="$PGPORT" --user=postgres \
  --inputdir=tests --outputdir=tests --schedule=tests/schedule || status=$?
# The pgvector suite (tests/schedule_pgvector) where pgvector is installed (scripts/bootstrap.sh
# builds it from its vendored source); pg_mlkit itself does not need it.
if [ "$(psql -X -At -d "$DB" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")" = 1 ]; then
  "$PG_REGRESS" \
    --use-existing --dbname="$DB" --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --inputdir=tests --outputdir=tests/results_pgvector --schedule=tests/schedule_pgvector || status=$?
  mkdir -p tests/results
  cp tests/results_pgvector/results/*.out tests/results/ 2>/dev/null || true
  [ -f tests/results_pgvector/regression.diffs ] && cat tests/results_pgvector/regression.diffs >> tests/regression.diffs
else
  echo "pgvector is not installed: the pgvector suite (tests/sql/pgvector.sql) was skipped"
fi
if [ $accept = 1 ]; then
  cp tests/results/*.out tests/expected/
  echo "expected output replaced by the results: review 'git diff tests/expected'"
elif [ $status != 0 ]; then
  cat tests/regression.diffs
  exit $status
fi
