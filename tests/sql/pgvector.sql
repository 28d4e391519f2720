-- pgvector columns, read as stored (docs/pgvector.md). Runs only where pgvector is installed
-- (scripts/regress.sh); pg_mlkit does not need it.
CREATE EXTENSION IF NOT EXISTS vector;
SET client_min_messages = warning;

-- The digits as a vector(64) column, as embeddings are usually kept.
CREATE TABLE digit_vectors AS SELECT id, label, embedding::vector(64) AS embedding FROM digits;
ALTER TABLE digit_vectors ADD PRIMARY KEY (id);

-- Cluster the vector column; name the model to keep its centroids.
SELECT ml.cluster_embeddings('digit_vectors', params => '{"n_clusters": 10, "random_state": 0}',
                             run => '{"model_name": "digit_topics"}') AS run_id \gset
SELECT status, source, row_count FROM ml.analysis_runs WHERE id = :run_id;

-- The same rows as the real[] column gives: the vector column is read from its bytes.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}') AS real_run \gset
SELECT count(*) AS rows, count(*) FILTER (WHERE a.cluster IS DISTINCT FROM b.cluster OR a.distance IS DISTINCT FROM b.distance) AS differing
  FROM ml.cluster_assignments a JOIN ml.cluster_assignments b USING (item_id)
 WHERE a.run_id = :run_id AND b.run_id = :real_run;

-- Each cluster's five documents nearest its centroid, by pgvector's <->: ml.centroids returns
-- the model's centroids in the type of its second argument.
SELECT c.cluster, near.labels AS nearest_labels
  FROM ml.centroids('digit_topics', NULL::vector) c,
       LATERAL (SELECT array_agg(d.label ORDER BY d.embedding <-> c.centroid, d.id) AS labels
                  FROM (SELECT * FROM digit_vectors ORDER BY embedding <-> c.centroid, id LIMIT 5) d) near
 ORDER BY c.cluster;

-- Assign new rows with the model, passing the vector as it is: the same cluster as in the
-- run for the training rows.
SELECT count(*) AS checked, count(*) FILTER (WHERE p.cluster <> a.cluster) AS differing
  FROM digit_vectors d
  JOIN ml.cluster_assignments a ON a.run_id = :run_id AND a.item_id = d.id::text,
       LATERAL ml.predict_cluster('digit_topics', d.embedding, log => false) p
 WHERE d.id < 200;

-- Cosine: spherical K-Means. The centroids are unit vectors and each stored distance is
-- what pgvector's <=> gives from the row to its centroid.
SELECT ml.cluster_embeddings('digit_vectors', params => '{"n_clusters": 10, "metric": "cosine", "random_state": 0}',
                             run => '{"model_name": "digit_directions"}') AS cos_run \gset
SELECT count(*) AS rows,
       max(abs(a.distance - (d.embedding <=> c.centroid))) < 1e-6 AS distances_are_cosine,
       (SELECT max(abs(vector_norm(centroid) - 1)) < 1e-6 FROM ml.centroids('digit_directions', NULL::vector)) AS unit_centroids
  FROM ml.cluster_assignments a
  JOIN digit_vectors d ON d.id::text = a.item_id
  JOIN ml.centroids(:cos_run, NULL::vector) c ON c.cluster = a.cluster
 WHERE a.run_id = :cos_run;

-- The centroids as a coarse index: search only the cluster nearest the query (as IVF
-- indexes do with one probe), and compare with the exact ten nearest by <=>.
CREATE TABLE digit_cells AS
SELECT d.id, d.embedding, a.cluster FROM digit_vectors d
  JOIN ml.cluster_assignments a ON a.run_id = :cos_run AND a.item_id = d.id::text;
CREATE INDEX ON digit_cells (cluster);
WITH q AS (SELECT id, embedding FROM digit_vectors WHERE id % 100 = 7),
probe AS (
  SELECT q.id, (SELECT c.cluster FROM ml.centroids('digit_directions', NULL::vector) c
                 ORDER BY q.embedding <=> c.centroid LIMIT 1) AS cell FROM q),
exact AS (
  SELECT q.id, n.id AS hit FROM q, LATERAL (SELECT id FROM digit_vectors ORDER BY embedding <=> q.embedding, id LIMIT 10) n),
coarse AS (
  SELECT p.id, n.id AS hit FROM probe p JOIN q USING (id),
         LATERAL (SELECT id FROM digit_cells WHERE cluster = p.cell ORDER BY embedding <=> q.embedding, id LIMIT 10) n)
SELECT count(DISTINCT e.id) AS queries,
       round(count(c.hit)::numeric / count(*), 2) AS recall_at_10
  FROM exact e LEFT JOIN coarse c ON c.id = e.id AND c.hit = e.hit;

-- Deduplicate binary-quantized embeddings: binary_quantize() gives a bit string (here 64
-- bits, one per pixel that is lit), which ml.group_near_duplicates groups directly.
CREATE VIEW digit_codes AS SELECT id, label, binary_quantize(embedding)::bit(64) AS code FROM digit_vectors;
SELECT ml.group_near_duplicates('digit_codes', hash_column => 'code', params => '{"radius": 3}') AS dup_run \gset
SELECT count(DISTINCT a.similar_group_id) AS groups, count(*) AS grouped_images,
       round(avg((c.label = l.label)::int), 3) AS same_digit_as_leader
  FROM ml.duplicate_assignments a
  JOIN digit_codes c ON c.id::text = a.item_id
  JOIN digit_codes l ON l.id::text = a.similar_group_id
 WHERE a.run_id = :dup_run;

-- halfvec and sparsevec columns too (a sparsevec is densified: rows × dim × 4 bytes).
CREATE TABLE sparse_docs AS
SELECT i AS id, ('{' || (i % 7 + 1) || ':1,' || (i % 3 + 8) || ':' || (i % 5) + 1 || '}/12')::sparsevec AS terms
  FROM generate_series(1, 60) i;
SELECT ml.cluster_embeddings('sparse_docs', 'terms', params => '{"n_clusters": 3, "random_state": 1}') AS sparse_run \gset
SELECT cluster, count(*) FROM ml.cluster_assignments WHERE run_id = :sparse_run GROUP BY 1 ORDER BY 1;
SELECT ml.reduce_embeddings('sparse_docs', 'terms', method => 'pca', params => '{"n_components": 2}') > 0 AS reduced;

-- The scale-out aggregates take a vector column as it is (docs/functions/scale_out.md): one
-- Lloyd step from the model's centroids, and every row's nearest centroid, which is its
-- cluster in the run (the model converged).
SELECT array_agg(centroid ORDER BY cluster) AS centres FROM ml.centroids('digit_topics') \gset
SELECT ml.kmeans_counts(ml.kmeans_step(embedding, :'centres')) AS rows_per_centroid FROM digit_vectors;
SELECT count(*) AS rows, count(*) FILTER (WHERE ml.nearest_centroid(d.embedding, :'centres') <> a.cluster) AS moved,
       max(abs(ml.centroid_distance(d.embedding, :'centres') - a.distance)) < 1e-4 AS same_distances
  FROM digit_vectors d JOIN ml.cluster_assignments a ON a.run_id = :run_id AND a.item_id = d.id::text;

-- The errors are those of real[] columns.
INSERT INTO sparse_docs VALUES (61, '{1:1}/13');
SELECT ml.cluster_embeddings('sparse_docs', 'terms', params => '{"n_clusters": 3}');
-- A type the centroids do not fit: the type's own error, in ml.centroids' words.
CREATE DOMAIN vector3 AS vector(3);
SELECT * FROM ml.centroids('digit_topics', NULL::vector3);
