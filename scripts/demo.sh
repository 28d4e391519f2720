#!/usr/bin/env bash
# The main job, end to end, on a throwaway PostgreSQL: install what is missing, build and
# install pg_mlkit (release), start a private server, load 1,797 real handwritten digits,
# cluster them with K-Means inside the database, and show what was recorded.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
echo "==> building and installing pg_mlkit (release)"
bash scripts/install.sh --release
bash scripts/pgtmp.sh start
eval "$(bash scripts/pgtmp.sh env)"
export PGDATABASE=pg_mlkit_demo
dropdb --if-exists "$PGDATABASE" && createdb "$PGDATABASE"

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pg_mlkit;
CREATE TABLE digits (id int PRIMARY KEY, label int NOT NULL, embedding real[] NOT NULL);
\copy digits FROM PROGRAM 'gzip -dc data/digits.csv.gz' WITH (FORMAT csv, HEADER)

\echo
\echo '-- SELECT ml.cluster_embeddings(''digits'', params => ''{"n_clusters": 10, "n_init": 4, "random_state": 42}'', run => ...)'
SELECT ml.cluster_embeddings('digits',
         params => '{"n_clusters": 10, "n_init": 4, "random_state": 42}',
         run    => '{"model_name": "digits_kmeans", "model_version": "1"}') AS run_id \gset

\echo
\echo '-- the analysis_runs row'
\x on
SELECT id, run_timestamp, analysis_type, model_name, model_version, status, row_count,
       round(duration_ms::numeric, 1) AS duration_ms, source,
       clustering_name, clustering_implementation, clustering_params,
       jsonb_pretty(metrics - 'cluster_sizes') AS metrics
  FROM ml.analysis_runs WHERE id = :run_id;
\x off

\echo '-- cluster sizes, and which digit dominates each cluster'
SELECT a.cluster, count(*) AS size,
       mode() WITHIN GROUP (ORDER BY d.label) AS main_digit,
       round(100.0 * count(*) FILTER (WHERE d.label = m.main) / count(*), 1) AS "% main digit",
       round(avg(a.distance)::numeric, 2) AS mean_distance
  FROM ml.cluster_assignments a
  JOIN digits d ON d.id = a.item_id::int
  JOIN LATERAL (SELECT mode() WITHIN GROUP (ORDER BY d2.label) AS main
                  FROM ml.cluster_assignments a2 JOIN digits d2 ON d2.id = a2.item_id::int
                 WHERE a2.run_id = a.run_id AND a2.cluster = a.cluster) m ON true
 WHERE a.run_id = :run_id
 GROUP BY a.cluster ORDER BY a.cluster;

\echo
\echo '-- the whole pipeline in one call: t-SNE (as openTSNE), then K-Means on the map'
SELECT ml.cluster_embeddings('digits',
         params => '{"n_clusters": 10, "random_state": 42}',
         reduction => 'tsne', reduction_params => '{"random_state": 42}') AS map_run \gset
SELECT id, dim_reduction_name, clustering_name,
       round((metrics->'reduction'->>'trustworthiness')::numeric, 4) AS trustworthiness,
       round((metrics->>'silhouette')::numeric, 3) AS silhouette
  FROM ml.analysis_runs WHERE id = :map_run;
\pset tuples_only on
\pset format unaligned
\o digits_run.svg
SELECT ml.plot_run(:map_run);
\o
\pset tuples_only off
\pset format aligned
\echo '-- its picture (ml.plot_run) is in digits_run.svg'
SQL

echo
echo "The server is still running, for you to explore:  eval \"\$(scripts/pgtmp.sh env)\"; psql $PGDATABASE"
echo "Stop and delete it with:                          scripts/pgtmp.sh stop"
