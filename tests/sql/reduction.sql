-- Dimensionality reduction: ml.reduce_embeddings, reductions inside ml.cluster_embeddings,
-- ml.embedding_coordinates, ml.run_points and ml.plot_run, on the digits (1,797 × 64).

-- A K-Means model of the digits, which the examples of ml.transform contrast with a reduction.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}', run => '{"model_name": "digits_ten"}') IS NOT NULL AS stored;

-- PCA to 10 components: the explained variance ratios are scikit-learn's
-- (PCA(10).fit(digits).explained_variance_ratio_, rounded).
SELECT ml.reduce_embeddings('digits', method => 'pca', params => '{"n_components": 10}') AS pca_run \gset
SELECT analysis_type, dim_reduction_name, dim_reduction_params->>'svd_solver' AS solver, row_count,
       (SELECT array_agg(round(r::numeric, 4)) FROM jsonb_array_elements_text(metrics->'explained_variance_ratio') r) AS ratio
  FROM ml.analysis_runs WHERE id = :pca_run;
SELECT count(*) AS items, min(cardinality(coords)) AS n_components FROM ml.embedding_coordinates WHERE run_id = :pca_run;

-- A fraction keeps the components that explain that share of the variance (as scikit-learn's
-- PCA(0.9)): 21 for the digits.
SELECT ml.reduce_embeddings('digits', params => '{"n_components": 0.9}') AS share_run \gset
SELECT metrics->'n_components' AS kept, round((metrics->>'explained_variance_ratio_total')::numeric, 4) AS explained
  FROM ml.analysis_runs WHERE id = :share_run;

-- A PCA run with a model name stores mean and components in the registry.
SELECT ml.reduce_embeddings('digits', params => '{"n_components": 2}', run => '{"model_name": "digits_pca"}') AS pca_model_run \gset
SELECT name, version, model_type, artifact->>'format' AS format, jsonb_array_length(artifact->'mean') AS n_features,
       jsonb_array_length(artifact->'components') AS n_components
  FROM ml.model_registry WHERE source_run_id = :pca_model_run;
-- The stored PCA projects new embeddings (ml.transform): on the training rows it gives back the
-- run's coordinates; any array type; NULL in, NULL out.
SELECT count(*) AS rows, max(abs(t.v - c.coords[t.i])) < 1e-4 AS same_as_the_run
  FROM ml.embedding_coordinates c JOIN digits d ON d.id::text = c.item_id,
       LATERAL unnest(ml.transform('digits_pca', d.embedding)) WITH ORDINALITY AS t(v, i)
 WHERE c.run_id = :pca_model_run;
SELECT cardinality(ml.transform('digits_pca', embedding::float8[])) AS components,
       ml.transform('digits_pca', embedding::numeric[]) = ml.transform('digits_pca', embedding) AS numeric_same,
       ml.transform('digits_pca', NULL::real[]) IS NULL AS null_out
  FROM digits WHERE id = 5;
SELECT ml.transform('digits_pca', '{1,2,3}');
SELECT ml.transform('digits_ten', (SELECT embedding FROM digits WHERE id = 5));
SELECT ml.transform('no_such_pca', '{1,2,3}');
-- A whole table at once (ml.transform_table): one row per item with an embedding, as
-- ml.transform gives it row by row.
SELECT count(*) AS rows,
       max((SELECT max(abs(a - b)) FROM unnest(t.coordinates, ml.transform('digits_pca', d.embedding)) u(a, b))) < 1e-5 AS same_as_one_by_one
  FROM ml.transform_table('digits_pca', 'digits') t JOIN digits d ON d.id::text = t.item_id;
SELECT * FROM ml.transform_table('digits_pca', 'digits') ORDER BY item_id::int LIMIT 3;

-- t-SNE and UMAP runs with a model name store their map (the training points and their
-- coordinates); ml.transform and ml.transform_table place new points in the fixed map, as
-- openTSNE's and umap-learn's transform do. Every tenth digit, its pixels nudged, lands next
-- to a point of its own digit (the label of its nearest point in the map).
SELECT ml.reduce_embeddings('digits', method => 'tsne', params => '{"random_state": 7}', run => '{"model_name": "digits_tsne"}') AS tsne_model_run \gset
SELECT ml.reduce_embeddings('digits', method => 'umap', params => '{"random_state": 7}', run => '{"model_name": "digits_umap"}') AS umap_model_run \gset
SELECT name, model_type, artifact->>'format' AS format, jsonb_array_length(artifact->'points') AS points,
       jsonb_array_length(artifact->'embedding'->0) AS n_components
  FROM ml.model_registry WHERE name IN ('digits_tsne', 'digits_umap') ORDER BY name;
CREATE TABLE nudged AS
  SELECT id, label, (SELECT array_agg(v + 0.5 ORDER BY i) FROM unnest(embedding) WITH ORDINALITY u(v, i)) AS embedding
    FROM digits WHERE id % 10 = 0;
SELECT m.model, count(*) AS placed, avg((nearest.label = n.label)::int) >= 0.95 AS among_their_digit
  FROM (VALUES ('digits_tsne', :tsne_model_run), ('digits_umap', :umap_model_run)) m(model, run),
       ml.transform_table(m.model, 'nudged') t JOIN nudged n ON n.id::text = t.item_id,
       LATERAL (SELECT d.label FROM ml.embedding_coordinates c JOIN digits d ON d.id::text = c.item_id
                 WHERE c.run_id = m.run
                 ORDER BY (c.coords[1] - t.coordinates[1])^2 + (c.coords[2] - t.coordinates[2])^2 LIMIT 1) nearest
 GROUP BY m.model ORDER BY 1;
-- One point at a time, as in the batch (new points do not move each other).
SELECT max(abs(a - b)) < 1e-3 AS same_as_the_batch
  FROM ml.transform_table('digits_tsne', 'nudged') t JOIN nudged n ON n.id::text = t.item_id,
       LATERAL unnest(t.coordinates, ml.transform('digits_tsne', n.embedding)) u(a, b)
 WHERE n.id < 100;

-- t-SNE with openTSNE's defaults: the same seed gives the same coordinates.
SELECT ml.reduce_embeddings('digits', method => 'tsne', params => '{"random_state": 7}') AS tsne_a \gset
SELECT ml.reduce_embeddings('digits', method => 'tsne', params => '{"random_state": 7}') AS tsne_b \gset
SELECT dim_reduction_params->>'negative_gradient_method' AS method, dim_reduction_params->>'perplexity' AS perplexity,
       dim_reduction_params->'learning_rates' AS learning_rates,
       (metrics->>'trustworthiness')::float8 > 0.99 AS trustworthy, (metrics->>'kl_divergence')::float8 < 1 AS kl_below_1
  FROM ml.analysis_runs WHERE id = :tsne_a;
SELECT count(*) AS items, bool_and(a.coords = b.coords) AS same_coordinates
  FROM ml.embedding_coordinates a JOIN ml.embedding_coordinates b USING (item_id)
 WHERE a.run_id = :tsne_a AND b.run_id = :tsne_b;

-- UMAP with umap-learn's defaults.
SELECT ml.reduce_embeddings('digits', method => 'umap', params => '{"random_state": 7}') AS umap_run \gset
SELECT dim_reduction_params->>'n_epochs' AS n_epochs, round((dim_reduction_params->>'a')::numeric, 3) AS a,
       round((dim_reduction_params->>'b')::numeric, 3) AS b, (metrics->>'trustworthiness')::float8 > 0.98 AS trustworthy
  FROM ml.analysis_runs WHERE id = :umap_run;

-- The whole pipeline in one call: reduce with UMAP, then cluster the reduced coordinates.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}',
                             reduction => 'umap', reduction_params => '{"random_state": 0}') AS pipeline \gset
SELECT clustering_name, dim_reduction_name, metrics->'reduction' ? 'trustworthiness' AS reduction_metrics,
       (metrics->>'silhouette')::float8 > 0.6 AS well_separated
  FROM ml.analysis_runs WHERE id = :pipeline;
-- ml.run_points: item, cluster, distance and coordinates of a run in one place.
SELECT count(*) AS points, count(DISTINCT cluster) AS clusters, count(coords) AS with_coordinates
  FROM ml.run_points WHERE run_id = :pipeline;
-- One run is read through the two tables' primary keys: the run_id condition reaches both
-- branches of the view (sequential scans are switched off here only so that the plan does not
-- depend on how many rows these tables hold; tests/python/test_run_reads.py shows the planner
-- choosing it with a million rows of other runs stored).
CREATE FUNCTION pg_temp.plan(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE p jsonb;
BEGIN
  EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO p;
  RETURN p;
END $$;
SET enable_seqscan = off;
SELECT n ->> 'Relation Name' AS scanned, count(*) AS scans,
       bool_and(coalesce(n ->> 'Index Cond', n ->> 'Recheck Cond', '') LIKE '%run_id = 42%') AS each_by_run_id
  FROM jsonb_path_query(pg_temp.plan('SELECT item_id, cluster, coords FROM ml.run_points WHERE run_id = 42'),
                        'strict $.** ? (exists (@."Relation Name"))') n
 GROUP BY 1 ORDER BY 1;
RESET enable_seqscan;
-- How well the clusters found on the UMAP coordinates match the digits' labels.
SELECT sum(top)::numeric / 1797 > 0.85 AS most_clusters_are_one_digit FROM (
  SELECT max(n) AS top FROM (SELECT p.cluster, d.label, count(*) AS n
    FROM ml.run_points p JOIN digits d ON d.id::text = p.item_id WHERE p.run_id = :pipeline GROUP BY 1, 2) c GROUP BY cluster) t;

-- A picture of the run: well-formed SVG, one circle per point plus one per legend entry.
SELECT ml.plot_run(:pipeline) AS svg \gset
SELECT xml_is_well_formed_document(:'svg') AS well_formed,
       cardinality(xpath('//svg:g[@class="points"]/svg:circle', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']])) AS marks,
       (xpath('/svg:svg/svg:title/text()', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']]))[1]::text = 'Run ' || :pipeline || ': clustering (K-Means on umap) of public.digits' AS titled;
-- Axes with round ticks and their names, each point's id as its <title> (shown on hover),
-- and the subtitle saying what is drawn.
SELECT (xpath('//svg:g[@class="axes"]/svg:text/text()', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']]))[array_length(xpath('//svg:g[@class="axes"]/svg:text', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']]), 1) - 1:]::text[] AS axis_names,
       cardinality(xpath('//svg:g[@class="axes"]/svg:line', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']])) >= 6 AS ticked,
       cardinality(xpath('//svg:g[@class="points"]/svg:circle[svg:title="17"]', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']])) AS item_17,
       split_part((xpath('/svg:svg/svg:text[2]/text()', :'svg'::xml, ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']]))[1]::text, ' · ', 2) AS shown;
-- A run without coordinates is drawn on the first two principal components of its source.
SELECT cardinality(xpath('//svg:g[@class="points"]/svg:circle',
         ml.plot_run(ml.cluster_embeddings('digits', params => '{"n_clusters": 3, "random_state": 0}'), 400, 300, source => 'digits')::xml,
         ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']])) AS marks_from_pca;
-- Items no longer in the source are not drawn, and the subtitle says so.
CREATE VIEW digits_half AS SELECT * FROM digits WHERE id % 2 = 0;
SELECT split_part((xpath('/svg:svg/svg:text[2]/text()',
         ml.plot_run(ml.cluster_embeddings('digits', params => '{"n_clusters": 3, "random_state": 0}'), source => 'digits_half')::xml,
         ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']]))[1]::text, ' · ', 2) AS shown;
DROP VIEW digits_half;

-- Deleting a run deletes its coordinates.
DELETE FROM ml.analysis_runs WHERE id = :tsne_b;
SELECT count(*) AS left_over FROM ml.embedding_coordinates WHERE run_id = :tsne_b;

-- Bad input: SQLSTATE, a message naming the argument and value, a hint; nothing written.
CREATE FUNCTION pg_temp.try(sql text, OUT code text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  code := '-----'; message := 'no error'; hint := '';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
END
$$;
CREATE TABLE small (id int, embedding real[]);
INSERT INTO small SELECT g, ARRAY[g, g % 3, g % 5]::real[] FROM generate_series(1, 20) g;
CREATE TABLE with_zero (id int, embedding real[]);
INSERT INTO with_zero SELECT g, ARRAY[g % 4, g % 3, 0]::real[] FROM generate_series(0, 19) g;
INSERT INTO ml.analysis_runs (analysis_type) VALUES ('manual') RETURNING id AS empty_run \gset
SELECT count(*) AS runs_before FROM ml.analysis_runs \gset
SELECT case_name, code, regexp_replace(message, 'run_id \d+ \(', 'run_id N (') AS message, hint
  FROM (SELECT case_name, (pg_temp.try(sql)).* FROM (VALUES
    ('unknown method',        $$SELECT ml.reduce_embeddings('small', method => 'isomap')$$),
    ('NULL method',           $$SELECT ml.reduce_embeddings('small', method => NULL)$$),
    ('unknown key',           $$SELECT ml.reduce_embeddings('small', method => 'tsne', params => '{"perplexty": 5}')$$),
    ('perplexity >= N',       $$SELECT ml.reduce_embeddings('small', method => 'tsne', params => '{"perplexity": 20}')$$),
    ('perplexity not number', $$SELECT ml.reduce_embeddings('small', method => 'tsne', params => '{"perplexity": "high"}')$$),
    ('perplexity negative',   $$SELECT ml.reduce_embeddings('small', method => 'tsne', params => '{"perplexity": -1}')$$),
    ('tsne 4 components',     $$SELECT ml.reduce_embeddings('small', method => 'tsne', params => '{"n_components": 4}')$$),
    ('fft in 3-D',            $$SELECT ml.reduce_embeddings('small', method => 'tsne', params => '{"n_components": 3, "negative_gradient_method": "fft", "perplexity": 3}')$$),
    ('pca components > dim',  $$SELECT ml.reduce_embeddings('small', params => '{"n_components": 4}')$$),
    ('pca components 0',      $$SELECT ml.reduce_embeddings('small', params => '{"n_components": 0}')$$),
    ('pca share 1.5',         $$SELECT ml.reduce_embeddings('small', params => '{"n_components": 1.5}')$$),
    ('share + randomized',    $$SELECT ml.reduce_embeddings('small', params => '{"n_components": 0.5, "svd_solver": "randomized"}')$$),
    ('unknown solver',        $$SELECT ml.reduce_embeddings('small', params => '{"svd_solver": "arpack"}')$$),
    ('whiten not boolean',    $$SELECT ml.reduce_embeddings('small', params => '{"whiten": "yes"}')$$),
    ('umap n_neighbors 1',    $$SELECT ml.reduce_embeddings('small', method => 'umap', params => '{"n_neighbors": 1}')$$),
    ('umap n_neighbors >= N', $$SELECT ml.reduce_embeddings('small', method => 'umap', params => '{"n_neighbors": 20}')$$),
    ('unknown metric',        $$SELECT ml.reduce_embeddings('small', method => 'umap', params => '{"metric": "manhattan"}')$$),
    ('min_dist > spread',     $$SELECT ml.reduce_embeddings('small', method => 'umap', params => '{"min_dist": 2}')$$),
    ('cosine zero vector',    $$SELECT ml.reduce_embeddings('with_zero', method => 'umap', params => '{"metric": "cosine", "n_neighbors": 5}')$$),
    ('params not object',     $$SELECT ml.reduce_embeddings('small', params => '[1]')$$),
    ('bad reduction_params',  $$SELECT ml.cluster_embeddings('small', reduction => 'umap', reduction_params => '{"n_neighbors": 50}')$$),
    ('plot missing run',      $$SELECT ml.plot_run(-1)$$),
    ('plot run w/o points',   'SELECT ml.plot_run(' || :empty_run || ')'),
    ('plot width',            $$SELECT ml.plot_run(1, width => 10)$$),
    ('plot NULL run',         $$SELECT ml.plot_run(NULL)$$)
  ) AS cases(case_name, sql)) t;
SELECT count(*) - :runs_before AS runs_written_by_failures FROM ml.analysis_runs;
