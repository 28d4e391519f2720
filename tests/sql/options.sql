-- ml.options: every key of every function's jsonb arguments, with its default and meaning
-- (docs/functions/options.md shows this output).

-- What one algorithm takes:
SELECT key, default_value, meaning
FROM ml.options('cluster_embeddings')
WHERE argument = 'params' AND applies_to = 'hdbscan';

-- How many keys each argument has:
SELECT function_name, argument, applies_to, count(*) AS keys
FROM ml.options() WITH ORDINALITY
GROUP BY function_name, argument, applies_to
ORDER BY min(ordinality);

-- The name may carry the schema; a function without options is an error that lists those
-- with options.
SELECT count(*) FROM ml.options('ml.reduce_embeddings');
SELECT * FROM ml.options('predict_cluster');

-- The defaults listed are the defaults used: a run given every listed default explicitly
-- records exactly the parameters of a run given none (the same seed for both).
CREATE TABLE options_pts AS SELECT id, embedding FROM digits ORDER BY id LIMIT 60;
ALTER TABLE options_pts ADD PRIMARY KEY (id);
CREATE TABLE options_hashes (id int PRIMARY KEY, phash bigint);
INSERT INTO options_hashes SELECT g, (g % 7) * 1099511627777 FROM generate_series(1, 30) g;
CREATE TABLE options_ref AS SELECT g::float8 AS x, (g % 3)::text AS c FROM generate_series(1, 200) g;
CREATE TABLE options_cur AS SELECT g::float8 * 1.1 AS x, (g % 4)::text AS c FROM generate_series(1, 200) g;

CREATE FUNCTION pg_temp.defaults_of(fn text, arg text, algo text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(jsonb_object_agg(key, default_value) FILTER (WHERE default_value <> 'null'), '{}')
  FROM ml.options(fn) o WHERE o.argument = arg AND o.applies_to IS NOT DISTINCT FROM algo
$$;
CREATE FUNCTION pg_temp.recorded(run bigint) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(clustering_params, dim_reduction_params) FROM ml.analysis_runs WHERE id = run
$$;

WITH seed AS (SELECT '{"random_state": 7}'::jsonb AS s),
calls AS (
  SELECT 'cluster_embeddings ' || a AS call,
         ml.cluster_embeddings('options_pts', algorithm => a, params => pg_temp.defaults_of('cluster_embeddings', 'params', a) || s) AS explicit,
         ml.cluster_embeddings('options_pts', algorithm => a, params => s) AS implicit
  FROM seed, unnest(ARRAY['kmeans', 'dbscan', 'hdbscan']) a
  UNION ALL
  SELECT 'cluster_embeddings k range',
         ml.cluster_embeddings('options_pts', params => jsonb_build_object('n_clusters', pg_temp.defaults_of('cluster_embeddings', 'params.n_clusters', 'kmeans')) || s),
         ml.cluster_embeddings('options_pts', params => '{"n_clusters": {"min": 2, "max": 10}}'::jsonb || s)
  FROM seed
  UNION ALL
  SELECT 'reduce_embeddings ' || m,
         ml.reduce_embeddings('options_pts', method => m, params => pg_temp.defaults_of('reduce_embeddings', 'params', m) || s),
         ml.reduce_embeddings('options_pts', method => m, params => s)
  FROM seed, unnest(ARRAY['pca', 'tsne', 'umap']) m
  UNION ALL
  SELECT 'cluster_embeddings reduction ' || m,
         ml.cluster_embeddings('options_pts', params => '{"n_clusters": 3, "random_state": 7}', reduction => m,
                               reduction_params => pg_temp.defaults_of('cluster_embeddings', 'reduction_params', m) || s),
         ml.cluster_embeddings('options_pts', params => '{"n_clusters": 3, "random_state": 7}', reduction => m, reduction_params => s)
  FROM seed, unnest(ARRAY['pca', 'tsne', 'umap']) m
  UNION ALL
  SELECT 'score_drift',
         ml.score_drift('options_ref', 'options_cur', params => pg_temp.defaults_of('score_drift', 'params', NULL)),
         ml.score_drift('options_ref', 'options_cur')
  UNION ALL
  SELECT 'group_near_duplicates',
         ml.group_near_duplicates('options_hashes', params => pg_temp.defaults_of('group_near_duplicates', 'params', NULL)),
         ml.group_near_duplicates('options_hashes')
)
SELECT call, pg_temp.recorded(explicit) = pg_temp.recorded(implicit) AS same_params,
       pg_temp.recorded(implicit) IS NOT NULL AS recorded
FROM calls ORDER BY call;

DROP TABLE options_pts, options_hashes, options_ref, options_cur;
DELETE FROM ml.analysis_runs;
