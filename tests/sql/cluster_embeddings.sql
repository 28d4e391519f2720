-- ml.cluster_embeddings with K-Means.

-- A small example: six points, two groups.
CREATE TABLE points (id int PRIMARY KEY, embedding real[]);
INSERT INTO points VALUES
  (1, '{0, 0}'), (2, '{0, 1}'), (3, '{1, 0}'),
  (4, '{10, 10}'), (5, '{10, 11}'), (6, '{11, 10}');
SELECT ml.cluster_embeddings('points', params => '{"n_clusters": 2, "random_state": 7}') AS run_id \gset
SELECT analysis_type, status, row_count, source, clustering_name, clustering_params,
       metrics -> 'cluster_sizes' AS sizes, round((metrics ->> 'inertia')::numeric, 4) AS inertia,
       round((metrics ->> 'silhouette')::numeric, 4) AS silhouette
  FROM ml.analysis_runs WHERE id = :run_id;
SELECT item_id, cluster, round(distance::numeric, 4) AS distance
  FROM ml.cluster_assignments WHERE run_id = :run_id ORDER BY item_id;

-- A real data set: 1,797 handwritten digits, 64 pixels each.
SELECT ml.cluster_embeddings('digits', 'embedding', 'id', 'kmeans',
                             '{"n_clusters": 10, "n_init": 3, "random_state": 42}') AS digits_run \gset
SELECT row_count, metrics -> 'n_features' AS n_features, metrics -> 'converged' AS converged,
       round((metrics ->> 'inertia')::numeric / 1e3) AS "inertia/1000",
       (SELECT sum(v::int) FROM jsonb_array_elements_text(metrics -> 'cluster_sizes') v) AS sizes_add_up_to,
       (metrics ->> 'silhouette')::float BETWEEN 0.1 AND 0.3 AS silhouette_plausible,
       duration_ms > 0 AS timed
  FROM ml.analysis_runs WHERE id = :digits_run;
-- One assignment per item, each at its exact distance from the mean of its cluster.
SELECT count(*) AS assignments, count(DISTINCT cluster) AS clusters, bool_and(distance >= 0) AS distances_ok
  FROM ml.cluster_assignments WHERE run_id = :digits_run;
WITH members AS (
  SELECT a.cluster, a.distance, d.embedding FROM ml.cluster_assignments a JOIN digits d ON d.id = a.item_id::int
   WHERE a.run_id = :digits_run AND a.cluster = 0),
centroid AS (
  SELECT array_agg(avg_v ORDER BY i) AS c FROM (
    SELECT i, avg(e[i]) AS avg_v FROM members, generate_subscripts(embedding, 1) i, LATERAL (SELECT embedding AS e) x
     GROUP BY i) s)
SELECT bool_and(abs(m.distance - sqrt((SELECT sum((m.embedding[i] - c.c[i]) ^ 2) FROM generate_subscripts(m.embedding, 1) i))) < 1e-3)
       AS distances_match_centroid
  FROM members m, centroid c;

-- Same random_state, same result.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "n_init": 3, "random_state": 42}') AS again \gset
SELECT count(*) AS differing_assignments FROM (
  (SELECT item_id, cluster, distance FROM ml.cluster_assignments WHERE run_id = :digits_run
   EXCEPT SELECT item_id, cluster, distance FROM ml.cluster_assignments WHERE run_id = :again)
  UNION ALL
  (SELECT item_id, cluster, distance FROM ml.cluster_assignments WHERE run_id = :again
   EXCEPT SELECT item_id, cluster, distance FROM ml.cluster_assignments WHERE run_id = :digits_run)) d;
-- ... and the thread count does not matter.
SET pg_mlkit.threads = 1;
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "n_init": 3, "random_state": 42}') AS one_thread \gset
RESET pg_mlkit.threads;
SELECT count(*) AS differing_assignments FROM (
  SELECT item_id, cluster FROM ml.cluster_assignments WHERE run_id = :digits_run
  EXCEPT SELECT item_id, cluster FROM ml.cluster_assignments WHERE run_id = :one_thread) d;
-- Without random_state a seed is drawn, and recorded so that the run can be repeated.
SELECT ml.cluster_embeddings('points', params => '{"n_clusters": 2}') AS seeded \gset
SELECT jsonb_typeof(clustering_params -> 'random_state') AS recorded_seed FROM ml.analysis_runs WHERE id = :seeded;

-- Embeddings of every numeric array type, domains, and any type with a cast to real[]
-- (as pgvector's vector has); ids of any type; views as sources.
CREATE DOMAIN embedding_domain AS real[];
CREATE TYPE fakevec AS (v real[]);
CREATE FUNCTION fakevec_to_real(fakevec) RETURNS real[] LANGUAGE sql IMMUTABLE AS 'SELECT $1.v';
CREATE CAST (fakevec AS real[]) WITH FUNCTION fakevec_to_real(fakevec);
CREATE TABLE typed AS
SELECT id,
       md5(id::text)::uuid AS uuid_id,
       'item-' || id AS text_id,
       embedding::float8[] AS e_float8,
       embedding::numeric[] AS e_numeric,
       embedding::int[] AS e_int,
       embedding::embedding_domain AS e_domain,
       ROW(embedding)::fakevec AS e_cast
  FROM points;
CREATE VIEW typed_view AS SELECT * FROM typed WHERE id <= 6;
CREATE TEMP TABLE typed_runs AS
SELECT col, id_col, ml.cluster_embeddings('typed_view', col::name, id_col::name,
                                          params => '{"n_clusters": 2, "random_state": 7}') AS run_id
  FROM (VALUES ('e_float8', 'id'), ('e_numeric', 'uuid_id'), ('e_int', 'text_id'),
               ('e_domain', 'id'), ('e_cast', 'id')) v(col, id_col);
-- Each finds the same two groups, whatever the types.
SELECT r.col, r.id_col, string_agg(a.cluster::text, ',' ORDER BY t.id) AS clusters_of_points_1_to_6
  FROM typed_runs r
  JOIN ml.cluster_assignments a ON a.run_id = r.run_id
  JOIN typed t ON a.item_id = CASE r.id_col WHEN 'id' THEN t.id::text WHEN 'uuid_id' THEN t.uuid_id::text
                                            ELSE t.text_id END
 GROUP BY 1, 2 ORDER BY 1;

-- run fills the descriptive columns (the autoencoder stage among them).
SELECT ml.cluster_embeddings('points', params => '{"n_clusters": 2, "random_state": 7}',
         run => '{"model_name": "clustering_pipeline_v1", "model_version": "3",
                  "autoencoder_name": "CNN_Autoencoder_v1",
                  "autoencoder_implementation": "pytorch.custom.ConvAutoencoder",
                  "autoencoder_file": "/models/autoencoder_20260107.h5",
                  "autoencoder_params": {"code_size": 100}}') AS described \gset
SELECT model_name, model_version, autoencoder_name, autoencoder_implementation, autoencoder_file,
       autoencoder_params, dim_reduction_name, dim_reduction_params
  FROM ml.analysis_runs WHERE id = :described;

-- Rows without an embedding: an error by default (errors.sql), left out with "nulls": "skip",
-- which the run records with how many it left out. The same for the scan engine, DBSCAN and
-- ml.reduce_embeddings.
CREATE TABLE gappy (id int PRIMARY KEY, embedding real[]);
INSERT INTO gappy SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE ARRAY[i % 2 * 10, i % 3]::real[] END FROM generate_series(1, 20) i;
SELECT ml.cluster_embeddings('gappy', params => '{"n_clusters": 2, "random_state": 0, "nulls": "skip"}') AS skipped_run \gset
SELECT row_count, metrics -> 'input' AS input, clustering_params ? 'nulls' AS in_clustering_params,
       (SELECT count(*) FROM ml.cluster_assignments WHERE run_id = :skipped_run) AS assigned
  FROM ml.analysis_runs WHERE id = :skipped_run;
SELECT ml.cluster_embeddings('gappy', params => '{"n_clusters": 2, "random_state": 0, "engine": "scan", "nulls": "skip"}') AS scan_run \gset
SELECT ml.cluster_embeddings('gappy', algorithm => 'dbscan', params => '{"eps": 1.5, "min_samples": 2, "nulls": "skip"}') AS dbscan_run \gset
SELECT ml.reduce_embeddings('gappy', params => '{"n_components": 1, "nulls": "skip"}') AS pca_run \gset
SELECT a.run, r.row_count, r.metrics -> 'input' ->> 'skipped' AS skipped,
       (SELECT count(*) FROM ml.run_points p WHERE p.run_id = r.id) AS points
  FROM (VALUES ('scan', :scan_run), ('dbscan', :dbscan_run), ('pca', :pca_run)) a(run, id)
  JOIN ml.analysis_runs r ON r.id = a.id ORDER BY 1;
-- The scan engine summarises its clusters too (read back from the assignments it wrote).
SELECT cluster, size, centroid, round(max_distance::numeric, 4) AS max_distance, cardinality(exemplars) AS exemplars,
       silhouette IS NOT NULL AS has_silhouette
  FROM ml.cluster_summaries WHERE run_id = :scan_run ORDER BY cluster;
SELECT ml.cluster_embeddings('gappy', params => '{"n_clusters": 2, "nulls": "error"}');
SELECT ml.cluster_embeddings('gappy', params => '{"n_clusters": 2, "nulls": "ignore"}');
SELECT ml.cluster_embeddings('gappy', reduction => 'pca', reduction_params => '{"nulls": "skip"}');

-- One quoting rule: a relation is read as SQL reads it (quote it to keep its case), and a
-- column may be named exactly or quoted as SQL quotes it.
CREATE TABLE "Mixed Case" ("Item Id" int PRIMARY KEY, "Embedding" real[]);
INSERT INTO "Mixed Case" SELECT i, ARRAY[i % 2 * 10, i % 3]::real[] FROM generate_series(1, 12) i;
SELECT ml.cluster_embeddings('"Mixed Case"', 'Embedding', 'Item Id', params => '{"n_clusters": 2, "random_state": 0}') AS exact_run \gset
SELECT ml.cluster_embeddings('"Mixed Case"', '"Embedding"', '"Item Id"', params => '{"n_clusters": 2, "random_state": 0}') AS quoted_run \gset
SELECT id = :exact_run AS exact, source, row_count, metrics -> 'input' AS input
  FROM ml.analysis_runs WHERE id IN (:exact_run, :quoted_run) ORDER BY id;
SELECT ml.cluster_embeddings('"Mixed Case"', 'embedding', '"Item Id"');
DROP TABLE "Mixed Case";

-- A run and its assignments are the caller's: they roll back with the transaction.
SELECT count(*) AS runs_before FROM ml.analysis_runs \gset
BEGIN;
SELECT ml.cluster_embeddings('points', params => '{"n_clusters": 2}') IS NOT NULL AS ran;
ROLLBACK;
SELECT count(*) - :runs_before AS runs_written FROM ml.analysis_runs;
DELETE FROM ml.analysis_runs;
