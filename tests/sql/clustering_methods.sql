-- DBSCAN, HDBSCAN, choosing k, quality metrics, stored models, and runs that do not depend
-- on the table's physical order.

-- DBSCAN: two dense groups and a stray point, which is noise (cluster -1).
CREATE TABLE blobs2 (id int PRIMARY KEY, embedding real[]);
INSERT INTO blobs2 VALUES
  (1, '{0, 0}'), (2, '{0, 0.4}'), (3, '{0.4, 0}'), (4, '{0.3, 0.3}'),
  (5, '{5, 5}'), (6, '{5, 5.4}'), (7, '{5.4, 5}'), (8, '{5.3, 5.3}'),
  (9, '{10, 0}');
SELECT ml.cluster_embeddings('blobs2', algorithm => 'dbscan',
                             params => '{"eps": 0.5, "min_samples": 3, "random_state": 0}') AS dbscan_run \gset
SELECT clustering_name, clustering_params, metrics -> 'cluster_sizes' AS sizes,
       metrics -> 'n_clusters_found' AS n_clusters_found, round((metrics ->> 'noise_fraction')::numeric, 4) AS noise_fraction,
       metrics -> 'n_core_points' AS n_core_points, metrics -> 'neighbour_search' AS neighbour_search
  FROM ml.analysis_runs WHERE id = :dbscan_run;
SELECT item_id, cluster FROM ml.cluster_assignments WHERE run_id = :dbscan_run ORDER BY item_id::int;

-- Every clustering run describes its clusters in ml.cluster_summaries: size, centroid (the
-- mean of its items for DBSCAN), mean and largest distance to it, silhouette, and exemplars
-- (the items nearest the centroid); the noise has a row of its own with its size.
SELECT cluster, size, centroid, round(mean_distance::numeric, 4) AS mean_distance, round(max_distance::numeric, 4) AS max_distance,
       round(silhouette::numeric, 4) AS silhouette, exemplars
  FROM ml.cluster_summaries WHERE run_id = :dbscan_run ORDER BY cluster;

-- A poor eps: every point is noise. The run completes, with a NOTICE that suggests an eps
-- from the k-distance curve (also in metrics.suggested_eps); ml.suggest_eps gives it alone.
SELECT ml.cluster_embeddings('blobs2', algorithm => 'dbscan', params => '{"eps": 0.01, "min_samples": 3}') AS poor_eps \gset
SELECT metrics -> 'n_clusters_found' AS n_clusters_found, round((metrics ->> 'suggested_eps')::numeric, 4) AS suggested_eps
  FROM ml.analysis_runs WHERE id = :poor_eps;
SELECT round(eps::numeric, 4) AS eps, min_samples, round(knee_quantile::numeric, 4) AS knee_quantile, points_measured
  FROM ml.suggest_eps('blobs2', min_samples => 3);
SELECT ml.cluster_embeddings('blobs2', algorithm => 'dbscan', params => jsonb_build_object('eps', eps, 'min_samples', 3)) AS good_eps
  FROM ml.suggest_eps('blobs2', min_samples => 3) \gset
SELECT metrics -> 'n_clusters_found' AS n_clusters_found, metrics -> 'cluster_sizes' AS sizes, metrics ? 'suggested_eps' AS noticed
  FROM ml.analysis_runs WHERE id = :good_eps;
SELECT * FROM ml.suggest_eps('blobs2', min_samples => 0);
SELECT * FROM ml.suggest_eps('blobs2', metric => 'manhattan');

-- HDBSCAN on the same points: clusters, noise, and a membership probability per item.
SELECT ml.cluster_embeddings('blobs2', algorithm => 'hdbscan',
                             params => '{"min_cluster_size": 3, "random_state": 0}') AS hdbscan_run \gset
SELECT clustering_name, clustering_params, metrics -> 'cluster_sizes' AS sizes,
       round((metrics ->> 'noise_fraction')::numeric, 4) AS noise_fraction
  FROM ml.analysis_runs WHERE id = :hdbscan_run;
SELECT item_id, cluster, round(probability::numeric, 4) AS probability
  FROM ml.cluster_assignments WHERE run_id = :hdbscan_run ORDER BY item_id::int;

-- Every run's metrics carry the three quality measures (noise left out).
SELECT clustering_name,
       round((metrics ->> 'silhouette')::numeric, 4) AS silhouette,
       round((metrics ->> 'davies_bouldin')::numeric, 4) AS davies_bouldin,
       round((metrics ->> 'calinski_harabasz')::numeric, 1) AS calinski_harabasz
  FROM ml.analysis_runs WHERE id IN (:dbscan_run, :hdbscan_run) ORDER BY id;

-- Choosing k: every k of the range is fitted and scored; the best silhouette wins.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": {"min": 8, "max": 11}, "random_state": 3}') AS sweep_run \gset
SELECT s ->> 'n_clusters' AS k, (s ->> 'silhouette')::float > 0 AS scored,
       (s ->> 'davies_bouldin')::float > 0 AS db, (s ->> 'calinski_harabasz')::float > 0 AS ch
  FROM ml.analysis_runs, jsonb_array_elements(metrics -> 'sweep') s WHERE id = :sweep_run;
-- The same sweep as rows of ml.run_sweep, with the k the run kept.
SELECT k, round(silhouette::numeric, 4) AS silhouette, inertia > 0 AS has_inertia, kept
  FROM ml.run_sweep WHERE run_id = :sweep_run ORDER BY k;
-- The kept k's summaries agree with its assignments and its K-Means distances.
SELECT count(*) AS clusters, sum(size) AS items,
       bool_and(size = (SELECT count(*) FROM ml.cluster_assignments a WHERE a.run_id = :sweep_run AND a.cluster = s.cluster)) AS sizes_match,
       bool_and(abs(max_distance - (SELECT max(distance) FROM ml.cluster_assignments a WHERE a.run_id = :sweep_run AND a.cluster = s.cluster)) < 1e-3) AS max_distances_match,
       bool_and(exemplars[1] = (SELECT item_id FROM ml.cluster_assignments a WHERE a.run_id = :sweep_run AND a.cluster = s.cluster ORDER BY distance, item_id LIMIT 1)) AS nearest_first,
       bool_and(cardinality(exemplars) = 5 AND cardinality(centroid) = 64 AND silhouette BETWEEN -1 AND 1) AS complete
  FROM ml.cluster_summaries s WHERE run_id = :sweep_run;
-- ml.runs: one line per run, the figures people look for as columns.
SELECT analysis_type, status, method, source, row_count, clusters, round(noise_fraction::numeric, 4) AS noise_fraction,
       round(silhouette::numeric, 4) AS silhouette, model, duration_ms > 0 AS timed, error
  FROM ml.runs WHERE id IN (:dbscan_run, :sweep_run) ORDER BY id;
SELECT (clustering_params ->> 'n_clusters')::int = (
         SELECT (s ->> 'n_clusters')::int FROM ml.analysis_runs r, jsonb_array_elements(r.metrics -> 'sweep') s
          WHERE r.id = :sweep_run ORDER BY (s ->> 'silhouette')::float DESC LIMIT 1) AS best_silhouette_kept,
       clustering_params -> 'n_clusters_range' AS n_clusters_range,
       (SELECT count(DISTINCT cluster) FROM ml.cluster_assignments WHERE run_id = :sweep_run)
         = (clustering_params ->> 'n_clusters')::int AS assignments_of_that_k
  FROM ml.analysis_runs WHERE id = :sweep_run;

-- A K-Means run with a model_name stores its centroids as a new model version.
SELECT ml.cluster_embeddings('blobs2', params => '{"n_clusters": 2, "random_state": 1}',
                             run => '{"model_name": "blob_model"}') AS model_run \gset
SELECT ml.cluster_embeddings('blobs2', params => '{"n_clusters": 3, "random_state": 1}',
                             run => '{"model_name": "blob_model"}') AS model_run2 \gset
SELECT name, version, model_type, source_run_id = :model_run AS linked, stage,
       artifact ->> 'format' AS format, artifact -> 'n_clusters' AS n_clusters, artifact -> 'n_features' AS n_features,
       jsonb_array_length(artifact -> 'centroids') AS centroids,
       jsonb_array_length(artifact -> 'distances' -> 0 -> 'quantiles') AS quantiles
  FROM ml.model_registry WHERE name = 'blob_model' ORDER BY version;
SELECT model_name, model_version FROM ml.analysis_runs WHERE id IN (:model_run, :model_run2) ORDER BY id;

-- The same seed gives the same labels whatever the table's physical order: a shuffled copy
-- of the digits, and the original rewritten by CLUSTER and VACUUM FULL.
CREATE TABLE digits_shuffled AS SELECT * FROM digits ORDER BY md5(id::text);
CREATE TABLE digits_copy AS SELECT * FROM digits;
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 5}') AS ordered \gset
SELECT ml.cluster_embeddings('digits_shuffled', params => '{"n_clusters": 10, "random_state": 5}') AS shuffled \gset
CREATE INDEX ON digits_copy (label);
CLUSTER digits_copy USING digits_copy_label_idx;
VACUUM FULL digits_copy;
SELECT ml.cluster_embeddings('digits_copy', params => '{"n_clusters": 10, "random_state": 5}') AS rewritten \gset
SELECT ml.cluster_embeddings('digits_shuffled', algorithm => 'hdbscan', params => '{"min_cluster_size": 10}') AS h_shuffled \gset
SELECT ml.cluster_embeddings('digits', algorithm => 'hdbscan', params => '{"min_cluster_size": 10}') AS h_ordered \gset
SELECT r.name, count(*) FILTER (WHERE a.cluster IS DISTINCT FROM b.cluster) AS differing_labels
  FROM (VALUES ('shuffled', :shuffled, :ordered), ('rewritten', :rewritten, :ordered),
               ('hdbscan shuffled', :h_shuffled, :h_ordered)) r(name, x, y)
  JOIN ml.cluster_assignments a ON a.run_id = r.x
  JOIN ml.cluster_assignments b ON b.run_id = r.y AND b.item_id = a.item_id
 GROUP BY r.name ORDER BY r.name;

-- The recorded source is schema-qualified, whatever the search_path.
SELECT DISTINCT source FROM ml.analysis_runs WHERE id IN (:ordered, :dbscan_run);

DELETE FROM ml.model_registry;
DELETE FROM ml.analysis_runs;
