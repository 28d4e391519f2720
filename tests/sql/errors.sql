-- Bad input: every case is an ERROR with a SQLSTATE, a message naming the argument and the
-- value, and a hint; and nothing is written.

-- Runs a statement and shows the error it raises.
CREATE FUNCTION pg_temp.try(sql text, OUT code text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  code := '-----'; message := 'no error'; hint := '';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
END
$$;

CREATE TABLE good (id int, embedding real[], label text);
INSERT INTO good SELECT g, ARRAY[g, g % 3]::real[], 'x' FROM generate_series(1, 20) g;
CREATE TABLE null_emb (id int, embedding real[]);
INSERT INTO null_emb VALUES (1, '{1,2}'), (2, NULL);
CREATE TABLE mixed (id int, embedding real[]);
INSERT INTO mixed VALUES (1, '{1,2}'), (2, '{1,2,3}');
CREATE TABLE has_nan (id text, embedding float8[]);
INSERT INTO has_nan VALUES ('a', '{1,2}'), ('b', '{1,NaN}');
CREATE TABLE has_inf (id text, embedding float8[]);
INSERT INTO has_inf VALUES ('a', '{1,2}'), ('b', '{Infinity,2}');
CREATE TABLE empty_src (id int, embedding real[]);
CREATE TABLE null_id (id int, embedding real[]);
INSERT INTO null_id VALUES (1, '{1,2}'), (NULL, '{3,4}');
CREATE TABLE dup_id (id int, embedding real[]);
INSERT INTO dup_id VALUES (1, '{1,2}'), (1, '{3,4}');
CREATE TABLE null_elem (id int, embedding real[]);
INSERT INTO null_elem VALUES (1, '{1,2}'), (2, '{3,NULL}');
CREATE TABLE matrix_emb (id int, embedding real[]);
INSERT INTO matrix_emb VALUES (1, '{{1,2},{3,4}}');
CREATE TABLE empty_emb (id int, embedding real[]);
INSERT INTO empty_emb VALUES (1, '{}');
CREATE SEQUENCE a_sequence;
CREATE TABLE zero_vec (id int, embedding real[]);
INSERT INTO zero_vec VALUES (1, '{1,2}'), (2, '{0,0}');

SELECT case_name, (pg_temp.try(sql)).*
  FROM (VALUES
    ('NULL embedding',            $$SELECT ml.cluster_embeddings('null_emb', params => '{"n_clusters": 1}')$$),
    ('mixed dimensions',          $$SELECT ml.cluster_embeddings('mixed', params => '{"n_clusters": 1}')$$),
    ('NaN',                       $$SELECT ml.cluster_embeddings('has_nan', params => '{"n_clusters": 1}')$$),
    ('Infinity',                  $$SELECT ml.cluster_embeddings('has_inf', params => '{"n_clusters": 1}')$$),
    ('NULL element',              $$SELECT ml.cluster_embeddings('null_elem', params => '{"n_clusters": 1}')$$),
    ('2-D array',                 $$SELECT ml.cluster_embeddings('matrix_emb', params => '{"n_clusters": 1}')$$),
    ('empty array',               $$SELECT ml.cluster_embeddings('empty_emb', params => '{"n_clusters": 1}')$$),
    ('empty source',              $$SELECT ml.cluster_embeddings('empty_src')$$),
    ('NULL id',                   $$SELECT ml.cluster_embeddings('null_id', params => '{"n_clusters": 1}')$$),
    ('duplicate id',              $$SELECT ml.cluster_embeddings('dup_id', params => '{"n_clusters": 1}')$$),
    ('n_clusters 0',              $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": 0}')$$),
    ('n_clusters > rows',         $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": 21}')$$),
    ('n_clusters not a number',   $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": "8"}')$$),
    ('n_clusters fractional',     $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": 2.5}')$$),
    ('n_clusters as a list',      $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": [2, 15]}')$$),
    ('n_clusters auto',           $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": "auto"}')$$),
    ('params by position',        $$SELECT ml.cluster_embeddings('good', '{"n_clusters": 3}')$$),
    ('tol negative',              $$SELECT ml.cluster_embeddings('good', params => '{"tol": -1}')$$),
    ('n_init 0',                  $$SELECT ml.cluster_embeddings('good', params => '{"n_init": 0}')$$),
    ('random_state negative',     $$SELECT ml.cluster_embeddings('good', params => '{"random_state": -5}')$$),
    ('unknown parameter',         $$SELECT ml.cluster_embeddings('good', params => '{"n_cluster": 3}')$$),
    ('params not an object',      $$SELECT ml.cluster_embeddings('good', params => '[3]')$$),
    ('unknown algorithm',         $$SELECT ml.cluster_embeddings('good', algorithm => 'spectral')$$),
    ('k range min > max',         $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": {"min": 5, "max": 3}}')$$),
    ('k range min 1',             $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": {"min": 1, "max": 3}}')$$),
    ('k range max > rows',        $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": {"min": 2, "max": 30}}')$$),
    ('k range unknown key',       $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": {"from": 2}}')$$),
    ('k range too wide',          $$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": {"min": 2, "max": 500}}')$$),
    ('dbscan eps 0',              $$SELECT ml.cluster_embeddings('good', algorithm => 'dbscan', params => '{"eps": 0}')$$),
    ('dbscan eps negative',       $$SELECT ml.cluster_embeddings('good', algorithm => 'dbscan', params => '{"eps": -1.5}')$$),
    ('dbscan eps not a number',   $$SELECT ml.cluster_embeddings('good', algorithm => 'dbscan', params => '{"eps": "big"}')$$),
    ('dbscan min_samples 0',      $$SELECT ml.cluster_embeddings('good', algorithm => 'dbscan', params => '{"min_samples": 0}')$$),
    ('dbscan unknown metric',     $$SELECT ml.cluster_embeddings('good', algorithm => 'dbscan', params => '{"metric": "manhattan"}')$$),
    ('inner product metric',      $$SELECT ml.cluster_embeddings('good', params => '{"metric": "inner_product"}')$$),
    ('dbscan K-Means key',        $$SELECT ml.cluster_embeddings('good', algorithm => 'dbscan', params => '{"n_clusters": 3}')$$),
    ('cosine of a zero vector',   $$SELECT ml.cluster_embeddings('zero_vec', algorithm => 'dbscan', params => '{"metric": "cosine"}')$$),
    ('hdbscan min_cluster_size 1', $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"min_cluster_size": 1}')$$),
    ('hdbscan min_samples > rows', $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"min_samples": 25}')$$),
    ('hdbscan min_samples 0',     $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"min_samples": 0}')$$),
    ('hdbscan unknown method',    $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"cluster_selection_method": "best"}')$$),
    ('hdbscan epsilon negative',  $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"cluster_selection_epsilon": -0.1}')$$),
    ('hdbscan alpha 0',           $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"alpha": 0}')$$),
    ('hdbscan single not a bool', $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"allow_single_cluster": "yes"}')$$),
    ('hdbscan K-Means key',       $$SELECT ml.cluster_embeddings('good', algorithm => 'hdbscan', params => '{"n_init": 3}')$$),
    ('NULL algorithm',            $$SELECT ml.cluster_embeddings('good', algorithm => NULL)$$),
    ('unknown reduction',         $$SELECT ml.cluster_embeddings('good', reduction => 'isomap')$$),
    ('reduction_params alone',    $$SELECT ml.cluster_embeddings('good', reduction_params => '{"n_components": 2}')$$),
    ('unknown run key',           $$SELECT ml.cluster_embeddings('good', run => '{"modelname": "x"}')$$),
    ('run value of wrong type',   $$SELECT ml.cluster_embeddings('good', run => '{"model_name": 5}')$$),
    ('missing embedding column',  $$SELECT ml.cluster_embeddings('good', 'vector')$$),
    ('missing id column',         $$SELECT ml.cluster_embeddings('good', id_column => 'item_id')$$),
    ('wrongly typed column',      $$SELECT ml.cluster_embeddings('good', 'label')$$),
    ('NULL source',               $$SELECT ml.cluster_embeddings(NULL)$$),
    ('not a table',               $$SELECT ml.cluster_embeddings('a_sequence')$$),
    ('no such table',             $$SELECT ml.cluster_embeddings('no_such_table')$$)
  ) AS cases(case_name, sql);

-- Input that would need more memory than pg_mlkit.max_memory_mb allows is refused.
SET pg_mlkit.max_memory_mb = 1;
SELECT (pg_temp.try($$SELECT ml.cluster_embeddings('digits')$$)).*;
-- So is a DBSCAN eps so large that every point neighbours every other (1797² lists).
SET pg_mlkit.max_memory_mb = 8;
SELECT (pg_temp.try($$SELECT ml.cluster_embeddings('digits', algorithm => 'dbscan', params => '{"eps": 1e6}')$$)).*;
RESET pg_mlkit.max_memory_mb;
-- None of the failed calls wrote anything.
SELECT count(*) AS runs, (SELECT count(*) FROM ml.cluster_assignments) AS assignments FROM ml.analysis_runs;

-- A model version can be registered once; the failed second call leaves no run behind.
SELECT ml.cluster_embeddings('good', params => '{"n_clusters": 2, "random_state": 1}', run => '{"model_name": "dup", "model_version": "v1"}') > 0 AS first_registered;
SELECT (pg_temp.try($$SELECT ml.cluster_embeddings('good', params => '{"n_clusters": 2}', run => '{"model_name": "dup", "model_version": "v1"}')$$)).*;
SELECT (SELECT count(*) FROM ml.analysis_runs) AS runs, (SELECT count(*) FROM ml.model_registry) AS models;
DELETE FROM ml.model_registry;
DELETE FROM ml.analysis_runs;
