-- The schema CREATE EXTENSION installs.
CREATE EXTENSION pg_mlkit;

-- Every table, all in schema ml, each with tenant_id, row-level security and a policy.
SELECT c.relname AS table_name,
       c.relrowsecurity AS rls,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                                          AND a.attnotnull) AS has_tenant
  FROM pg_class c
 WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

-- analysis_runs carries the ten pipeline columns (autoencoder_*, dim_reduction_*, clustering_*), all nullable.
SELECT attname, format_type(atttypid, atttypmod) AS type, NOT attnotnull AS nullable
  FROM pg_attribute
 WHERE attrelid = 'ml.analysis_runs'::regclass
   AND (attname LIKE 'autoencoder%' OR attname LIKE 'dim_reduction%' OR attname LIKE 'clustering%')
 ORDER BY attnum;

-- Every table's rows are dumped by pg_dump (config tables of the extension).
SELECT count(*) AS dumped_tables
  FROM pg_extension e, unnest(e.extconfig) AS t(oid)
  JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'pg_mlkit' AND c.relkind = 'r';

-- The monitoring tables' CHECK constraints hold.
\set VERBOSITY terse
INSERT INTO ml.ml_prediction_log (model_name, prediction_value, severity) VALUES ('m', 0.5, 'normal');
INSERT INTO ml.ml_prediction_log (model_name, prediction_value, severity) VALUES ('m', 0.5, 'loud');
INSERT INTO ml.ai_learning_memory (error_type, user_intent, failed_query, specific_issue, suggested_fix, confidence)
VALUES ('syntax', 'count issues', 'SELEC 1', 'typo', 'SELECT 1', 1.5);
INSERT INTO ml.ml_anomaly_alerts (model_name, severity, alert_data) VALUES ('m', 'urgent', '{}');
\set VERBOSITY default
SELECT model_name, prediction_value, is_anomaly, severity, active, tenant_id FROM ml.ml_prediction_log;

-- A run owns its assignments: deleting the run deletes them.
INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering');
INSERT INTO ml.cluster_assignments (run_id, item_id, cluster)
SELECT id, 'a', 0 FROM ml.analysis_runs;
DELETE FROM ml.analysis_runs;
SELECT count(*) AS assignments_left FROM ml.cluster_assignments;

-- The registry audits every change of stage; updated_at follows updates.
INSERT INTO ml.model_registry (name, version, model_type) VALUES ('churn', '1', 'kmeans');
UPDATE ml.model_registry SET stage = 'staging';
UPDATE ml.model_registry SET stage = 'production';
UPDATE ml.model_registry SET description = 'no stage change';
SELECT from_stage, to_stage, changed_by FROM ml.model_stage_transitions ORDER BY id;
SELECT updated_at > created_at AS updated_at_moved FROM ml.model_registry;
INSERT INTO ml.model_aliases (model_name, alias, model_id) SELECT name, 'production', id FROM ml.model_registry;
-- Deleting the model deletes its aliases; its audit stays, with the name and version it recorded.
DELETE FROM ml.model_registry;
SELECT (SELECT count(*) FROM ml.model_aliases) AS aliases, (SELECT count(*) FROM ml.model_stage_transitions) AS transitions;
SELECT model_id, model_name, model_version, to_stage FROM ml.model_stage_transitions ORDER BY id;
DELETE FROM ml.ml_prediction_log;

-- The catalogue describes itself: the tables and views of ml that still have no comment, and
-- how many of their columns and of the extension's functions do.
SELECT c.relname AS without_comment FROM pg_class c
 WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL
 ORDER BY 1;
SELECT count(*) FILTER (WHERE col_description(a.attrelid, a.attnum) IS NOT NULL) AS columns_described, count(*) AS columns
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped;
SELECT p.pronamespace::regnamespace AS schema,
       count(*) FILTER (WHERE obj_description(p.oid, 'pg_proc') IS NOT NULL) AS functions_described, count(*) AS functions
  FROM pg_proc p WHERE p.pronamespace::regnamespace::text IN ('ml', 'ml_internal') AND p.prokind IN ('f', 'a')
 GROUP BY 1 ORDER BY 1;
-- The support functions of the types and aggregates are in ml_internal, out of \df ml.*; no
-- role but the owner may name them (PostgreSQL calls them by oid), yet every aggregate and
-- type works for everyone.
SELECT n.nspname, obj_description(n.oid, 'pg_namespace') IS NOT NULL AS described,
       has_schema_privilege('public', n.oid, 'USAGE') AS public_usage
  FROM pg_namespace n WHERE n.nspname = 'ml_internal';
SELECT string_agg(p.proname, ', ' ORDER BY p.proname) AS support_functions
  FROM pg_proc p WHERE p.pronamespace = 'ml_internal'::regnamespace;
CREATE ROLE mlkit_schema_reader;
GRANT USAGE ON SCHEMA ml TO mlkit_schema_reader;
SET ROLE mlkit_schema_reader;
SELECT ml.hist_agg(x, '{0,5,10}') AS histogram,
       ml.kmeans_counts(ml.kmeans_step(ARRAY[x, 0]::real[], '{{1,0},{8,0}}')) AS kmeans_counts,
       ml.kmeans_counts(ml.kmeans_step(ARRAY[x, 0]::real[], '{{1,0},{8,0}}')::text::ml.kmeans_state) AS through_text,
       ml.quantile_sketch_agg(x) IS NOT NULL AS sketched
  FROM generate_series(1, 9) x;
\set ON_ERROR_STOP 0
SELECT ml_internal.kmeans_state_in('{}');
\set ON_ERROR_STOP 1
RESET ROLE;
REVOKE USAGE ON SCHEMA ml FROM mlkit_schema_reader;
DROP ROLE mlkit_schema_reader;
