-- Scale-out building blocks: ml.kmeans_step (one Lloyd step as a parallel, combinable
-- aggregate) and its accessors, the parallel-safe helpers, ml.hist_agg, and the scan engine
-- of ml.cluster_embeddings.

-- Three groups of 100 points in 2-D.
CREATE TABLE pts AS
  SELECT i AS id, ARRAY[(i % 3) * 10 + (i % 7) * 0.5, (i % 3) * 4 + (i % 5) * 0.25]::real[] AS embedding
    FROM generate_series(1, 300) i;

-- One step from three starting centroids: per centroid the rows nearest to it and their sum.
SELECT ml.kmeans_step(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[]) FROM pts;

-- The next centroids (each its rows' mean), the counts and the inertia. A centroid that no
-- row chose comes back as NULLs.
SELECT ml.kmeans_centroids(s) AS centroids, ml.kmeans_counts(s) AS counts, round(ml.kmeans_inertia(s)::numeric, 4) AS inertia
  FROM (SELECT ml.kmeans_step(embedding, ARRAY[[0, 0], [10, 4], [20, 8], [99, 99]]::real[]) AS s FROM pts) q;

SELECT ml.kmeans_sums(ml.kmeans_step(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[])) AS sums FROM pts;

-- Lloyd's algorithm is this step repeated until the centroids stop moving.
WITH RECURSIVE lloyd(i, c) AS (
  SELECT 0, ARRAY[[0, 0], [1, 1], [2, 2]]::real[]
  UNION ALL
  SELECT i + 1, (SELECT ml.kmeans_centroids(ml.kmeans_step(embedding, c)) FROM pts) FROM lloyd WHERE i < 10
)
SELECT c AS centroids_after_10_steps FROM lloyd WHERE i = 10;

-- The text form reads back to the same state; NULL embeddings are skipped.
SELECT s::text::ml.kmeans_state OPERATOR(ml.=) s AS round_trip
  FROM (SELECT ml.kmeans_step(embedding, ARRAY[[0, 0], [10, 4]]::real[]) AS s FROM pts) q;
SELECT ml.kmeans_counts(ml.kmeans_step(e, ARRAY[[0, 0]]::real[])) AS counted
  FROM (VALUES (ARRAY[1, 1]::real[]), (NULL), (ARRAY[2, 2]::real[])) v(e);
-- ml.kmeans_step_real, the form Citus pushes down, is the same step.
SELECT ml.kmeans_step_real(embedding, ARRAY[[0, 0], [10, 4]]::real[]) OPERATOR(ml.=)
       ml.kmeans_step(embedding, ARRAY[[0, 0], [10, 4]]::real[]) AS same_step
  FROM pts;

-- Nearest centroid (from 0) and the distance to it, row by row.
SELECT id, ml.nearest_centroid(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[]) AS cluster,
       round(ml.centroid_distance(embedding, ARRAY[[0, 0], [10, 4], [20, 8]]::real[])::numeric, 4) AS distance
  FROM pts ORDER BY id LIMIT 4;

-- A seeded sample that parallel workers and shards agree on: the same numbers everywhere.
SELECT round(ml.sample_hash('item-1', 42)::numeric, 6) AS h1, round(ml.sample_hash('item-1', 43)::numeric, 6) AS h2;
SELECT count(*) AS in_10_percent_sample FROM pts WHERE ml.sample_hash(id::text, 42) < 0.1;

-- A histogram with fixed edges, as numpy.histogram: the last bin is closed; NULL, NaN and
-- values outside the edges are not counted.
SELECT ml.hist_agg(x, ARRAY[0, 1, 2, 4]) AS counts
  FROM unnest(ARRAY[0, 0.5, 1, 3.9, 4, 4.5, -1, NULL, 'NaN']::float8[]) x;

-- A quantile sketch: mergeable, and carrying a guaranteed bound on its rank error.
CREATE TABLE xs AS SELECT i, (i % 1000)::float8 / 10 + (i % 7) AS x, (i % 1300)::float8 / 10 AS y FROM generate_series(1, 100000) i;
SELECT ml.sketch_count(s) AS n, round(ml.sketch_rank_error(s)::numeric, 4) AS rank_error_bound,
       ml.sketch_quantile(s, 0) AS min, ml.sketch_quantile(s, 0.5) AS median, ml.sketch_quantile(s, 1) AS max
  FROM (SELECT ml.quantile_sketch_agg(x, 256) AS s FROM xs) q;
-- The exact median, within the bound:
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) AS exact_median FROM xs;
-- KS and Wasserstein from two sketches, each with its error bound; the exact values follow.
SELECT round(k.statistic::numeric, 4) AS ks, round(k.error_bound::numeric, 4) AS ks_bound,
       round(w.distance::numeric, 3) AS wasserstein, round(w.error_bound::numeric, 3) AS w_bound
  FROM (SELECT ml.quantile_sketch_agg(x) AS a, ml.quantile_sketch_agg(y) AS b FROM xs) q,
       ml.sketch_ks(a, b) k, ml.sketch_wasserstein(a, b) w;
SELECT round((ml.ks_2samp(array_agg(x), array_agg(y))).statistic::numeric, 4) AS exact_ks,
       round(ml.wasserstein_distance(array_agg(x), array_agg(y))::numeric, 3) AS exact_wasserstein FROM xs;
SELECT s::text::ml.quantile_sketch::text = s::text AS text_round_trip FROM (SELECT ml.quantile_sketch_agg(x, 64) AS s FROM xs) q;

-- ml.score_drift's sketch engine: numerical columns from the aggregates, each statistic with
-- its error bound in details (0 for the binned methods, whose counts are exact); the exact
-- engine's values for comparison.
CREATE TABLE drift_ref AS SELECT i AS id, (i % 1000)::float8 / 10 AS x, (i % 3)::float8 AS few FROM generate_series(1, 20000) i;
CREATE TABLE drift_cur AS SELECT i AS id, (i % 1000)::float8 / 10 * 1.1 + 2 AS x, ((i + 1) % 4)::float8 AS few FROM generate_series(1, 15000) i;
SELECT ml.score_drift('drift_ref', 'drift_cur', params => '{"engine": "sketch", "columns": {"x": {"method": "ks"}}}') AS sketch_run \gset
SELECT ml.score_drift('drift_ref', 'drift_cur', params => '{"columns": {"x": {"method": "ks"}}}') AS exact_run \gset
SELECT feature_name, method, d.run_id = :sketch_run AS sketch, round(statistic::numeric, 4) AS statistic, is_drifted,
       details->>'engine' AS engine, round((details->>'error_bound')::numeric, 4) AS error_bound
  FROM ml.data_drift d WHERE run_id IN (:sketch_run, :exact_run) ORDER BY feature_name, sketch DESC;
SELECT ml.score_drift('drift_ref', 'drift_cur', method => 'z', params => '{"engine": "sketch"}');

-- Bad input.
SELECT ml.quantile_sketch_agg(x, 3) FROM xs;
SELECT ml.sketch_quantile(ml.quantile_sketch_agg(x), 1.5) FROM xs;
SELECT '{"k":8}'::ml.quantile_sketch;
SELECT ml.kmeans_step(embedding, ARRAY[1, 2]::real[]) FROM pts;
SELECT ml.kmeans_step(embedding, ARRAY[[0, 0, 0]]::real[]) FROM pts;
SELECT ml.kmeans_step(embedding, ARRAY[[0, 'NaN']]::real[]) FROM pts;
SELECT ml.kmeans_step(embedding, NULL) FROM pts;
SELECT '{"k": 1}'::ml.kmeans_state;
SELECT '{"k":1,"d":2,"inertia":0,"counts":[1],"sums":[1]}'::ml.kmeans_state;
SELECT ml.hist_agg(x, ARRAY[1, 0]) FROM (VALUES (0.5::float8)) v(x);

-- The scan engine: K-Means that never holds the table (k-means|| initialisation, one
-- aggregate query per Lloyd step), writing the same run and assignment rows.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "engine": "scan", "random_state": 0}') AS scan_run \gset
SELECT analysis_type, clustering_name, clustering_implementation, clustering_params->>'engine' AS engine, clustering_params->>'init' AS init,
       row_count, (metrics->>'converged')::boolean AS converged, jsonb_array_length(metrics->'cluster_sizes') AS k
  FROM ml.analysis_runs WHERE id = :scan_run;
-- Most digits share their cluster's most common label (about 0.8, as in memory).
SELECT sum(total) AS assigned, sum(top) / sum(total) > 0.7 AS pure
  FROM (SELECT cluster, max(n) AS top, sum(n) AS total
          FROM (SELECT a.cluster, d.label, count(*) AS n
                  FROM ml.cluster_assignments a JOIN digits d ON d.id::text = a.item_id
                 WHERE a.run_id = :scan_run GROUP BY 1, 2) x
         GROUP BY cluster) y;
SELECT count(*) AS items, count(DISTINCT cluster) AS clusters FROM ml.cluster_assignments WHERE run_id = :scan_run;

-- Mini-batch K-Means on the scan engine: each step aggregates a seeded sample of about
-- batch_size rows (Sculley 2010, as scikit-learn's MiniBatchKMeans).
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "engine": "scan", "batch_size": 300, "random_state": 0}') AS mb_run \gset
SELECT clustering_params->>'algorithm' AS algorithm, clustering_params->>'batch_size' AS batch_size,
       row_count, (metrics->>'inertia')::float8 < 1.1 * (SELECT (metrics->>'inertia')::float8 FROM ml.analysis_runs WHERE id = :scan_run) AS inertia_near_lloyd
  FROM ml.analysis_runs WHERE id = :mb_run;
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "batch_size": 300}');

-- DBSCAN and HDBSCAN at scale: cluster a seeded sample, then give every row the cluster of
-- its nearest clustered sample point (noise beyond eps) with the parallel-safe
-- ml.nearest_exemplar.
CREATE VIEW digits_sample AS SELECT * FROM digits WHERE ml.sample_hash(id::text, 7) < 0.3;
SELECT ml.cluster_embeddings('digits_sample', algorithm => 'hdbscan', params => '{"min_cluster_size": 10}') AS sample_run \gset
CREATE TEMP TABLE exemplars AS
  SELECT array_agg(d.embedding ORDER BY a.item_id) AS points, array_agg(a.cluster ORDER BY a.item_id) AS clusters
    FROM ml.cluster_assignments a JOIN digits d ON d.id::text = a.item_id
   WHERE a.run_id = :sample_run AND a.cluster >= 0;
SELECT (SELECT row_count FROM ml.analysis_runs WHERE id = :sample_run) AS sample_rows, count(*) AS all_rows,
       count(DISTINCT c) FILTER (WHERE c >= 0) AS clusters, count(*) FILTER (WHERE c = -1) AS noise,
       bool_and(c = l) FILTER (WHERE l >= 0) AS sample_points_keep_their_cluster
  FROM (SELECT ml.nearest_exemplar(d.embedding, e.points, e.clusters, 30) AS c,
               (SELECT a.cluster FROM ml.cluster_assignments a WHERE a.run_id = :sample_run AND a.item_id = d.id::text) AS l
          FROM digits d, exemplars e) q;

-- 'auto' scans when the in-memory plan would exceed pg_mlkit.max_memory_mb, and says why.
SET pg_mlkit.max_memory_mb = 1;
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "engine": "auto", "random_state": 0}') AS auto_run \gset
SELECT clustering_params->>'engine' AS engine, clustering_params->>'engine_reason' AS reason FROM ml.analysis_runs WHERE id = :auto_run;
-- The in-memory engine refuses such a table instead.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10}');
RESET pg_mlkit.max_memory_mb;
-- What the scan engine does not do.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": {"min": 2, "max": 4}, "engine": "scan"}');
SELECT ml.cluster_embeddings('digits', params => '{"engine": "gpu"}');
