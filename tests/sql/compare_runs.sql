-- ml.compare_runs: how alike two runs' clusterings are, on the items both hold. From an empty
-- database: nine points in three groups, clustered three ways.
CREATE TABLE cmp_pts (id bigint PRIMARY KEY, embedding real[]);
INSERT INTO cmp_pts VALUES
  (1, '{0, 0}'), (2, '{0, 1}'), (3, '{1, 0}'),
  (4, '{9, 9}'), (5, '{9, 10}'), (6, '{10, 9}'),
  (7, '{0, 20}'), (8, '{1, 20}'), (9, '{0, 21}');
SELECT ml.cluster_embeddings('cmp_pts', params => '{"n_clusters": 3, "random_state": 0}') AS k3 \gset
SELECT ml.cluster_embeddings('cmp_pts', params => '{"n_clusters": 2, "random_state": 0}') AS k2 \gset
SELECT ml.cluster_embeddings('cmp_pts', algorithm => 'dbscan', params => '{"eps": 1.5, "min_samples": 3}') AS db \gset

-- Three clusters against DBSCAN's same three: identical, whatever the clusters are numbered.
SELECT items, adjusted_rand, adjusted_mutual_info, v_measure FROM ml.compare_runs(:k3, :db);

-- Three clusters against two, which merged two groups. Run a is the reference: every group
-- of a stays whole in b (completeness 1), but a cluster of b holds two groups of a
-- (homogeneity below 1).
SELECT items, round(adjusted_rand::numeric, 6) AS ari, round(adjusted_mutual_info::numeric, 6) AS ami,
       round(normalized_mutual_info::numeric, 6) AS nmi, round(homogeneity::numeric, 6) AS homogeneity,
       round(completeness::numeric, 6) AS completeness, round(v_measure::numeric, 6) AS v_measure
  FROM ml.compare_runs(:k3, :k2);

-- The contingency table: items per (cluster of a, cluster of b); rows and columns sorted.
SELECT jsonb_array_length(contingency -> 'a_clusters') AS a_clusters, jsonb_array_length(contingency -> 'b_clusters') AS b_clusters,
       (SELECT sum(v::int) FROM jsonb_array_elements(contingency -> 'counts') r, jsonb_array_elements_text(r) v) AS items
  FROM ml.compare_runs(:k3, :k2);

-- Items only one run holds are left out, and counted.
DELETE FROM ml.cluster_assignments WHERE run_id = :db AND item_id IN ('1', '2');
SELECT items, only_in_a, only_in_b, adjusted_rand FROM ml.compare_runs(:k3, :db);

-- Errors.
SELECT * FROM ml.compare_runs(:k3, NULL);
SELECT * FROM ml.compare_runs(:k3, -5);
INSERT INTO ml.analysis_runs (id, analysis_type) VALUES (900001, 'reduction');
SELECT * FROM ml.compare_runs(900001, :k3);

DROP TABLE cmp_pts;
DELETE FROM ml.analysis_runs;
