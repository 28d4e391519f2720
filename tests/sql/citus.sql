-- pg_mlkit on a Citus cluster (docs/scale-out.md, "On Citus"): run by scripts/regress.sh
-- --citus against the coordinator that scripts/citus.sh started (two workers).
-- pts is hash-distributed by id (32 shards); pts_local holds the same rows on one node.
CREATE TABLE pts (id int PRIMARY KEY, embedding real[] NOT NULL);
SELECT create_distributed_table('pts', 'id');
INSERT INTO pts SELECT i, ARRAY[(i % 3) * 10 + (i % 7) * 0.1, (i % 3) * 4 + (i % 5) * 0.1]::real[]
  FROM generate_series(1, 3000) i;
CREATE TABLE pts_local AS SELECT * FROM pts;

-- The plan of a query, with what changes from run to run (shard numbers, the nodes' address,
-- the aggregate's oid) masked.
SET citus.enable_ddl_propagation = off;  -- a session's own helper: not for the workers
CREATE FUNCTION pg_temp.plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || query LOOP
    line := regexp_replace(line, '_\d{6,}\M', '_N', 'g');
    line := regexp_replace(line, 'host=\S+ port=\d+', 'host=… port=…', 'g');
    RETURN NEXT regexp_replace(line, '''\d+''::oid', '''…''::oid', 'g');
  END LOOP;
END $$;
RESET citus.enable_ddl_propagation;

-- A K-Means step on the shards: worker_partial_agg on each, coord_combine_agg on the coordinator.
SELECT * FROM pg_temp.plan($$SELECT ml.kmeans_step_real(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[]) FROM pts$$);
-- The same counts as on one node; the sums differ at most in the order of additions.
SELECT ml.kmeans_counts(d.s) AS distributed_counts, ml.kmeans_counts(l.s) AS local_counts,
       abs(ml.kmeans_inertia(d.s) - ml.kmeans_inertia(l.s)) < 1e-9 * ml.kmeans_inertia(l.s) AS same_inertia
  FROM (SELECT ml.kmeans_step_real(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[]) AS s FROM pts) d,
       (SELECT ml.kmeans_step_real(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[]) AS s FROM pts_local) l;

-- ml.kmeans_step, declared for any type (anycompatible), is refused by Citus on the shards.
\set VERBOSITY terse
SELECT ml.kmeans_step(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[]) FROM pts;
\set VERBOSITY default

-- The scan engine clusters the distributed table; its assignments are the single node's.
SET citus.coordinator_aggregation_strategy = 'disabled';
SELECT ml.cluster_embeddings('pts', params => '{"n_clusters": 3, "engine": "scan", "random_state": 1}',
                             run => '{"model_name": "pts_km"}') AS run \gset
RESET citus.coordinator_aggregation_strategy;
SELECT ml.cluster_embeddings('pts_local', params => '{"n_clusters": 3, "engine": "scan", "random_state": 1}') AS local_run \gset
SELECT r.clustering_params ->> 'engine' AS engine, r.row_count, r.metrics -> 'cluster_sizes' AS cluster_sizes,
       (SELECT count(*) FROM ml.cluster_assignments d JOIN ml.cluster_assignments l USING (item_id)
         WHERE d.run_id = :run AND l.run_id = :local_run AND d.cluster <> l.cluster) AS differing_assignments
  FROM ml.analysis_runs r WHERE r.id = :run;

-- A model's predictions row by row cannot run on the shards (the models are on the
-- coordinator); the nearest centroid can, with the centroids computed once on the coordinator.
\set VERBOSITY terse
SELECT ml.predict_cluster('pts_km', embedding, log => false) FROM pts;
\set VERBOSITY default
SELECT ml.nearest_centroid(embedding, (SELECT array_agg(centroid ORDER BY cluster) FROM ml.centroids('pts_km'))) AS cluster,
       count(*) AS items
  FROM pts GROUP BY 1 ORDER BY 1;

DROP TABLE pts, pts_local;
DELETE FROM ml.model_registry WHERE name = 'pts_km';
DELETE FROM ml.analysis_runs WHERE id IN (:run, :local_run);
