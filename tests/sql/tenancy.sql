-- Tenant isolation: two ordinary roles that do not own the tables see and write only the
-- rows of the tenant their session is in (app.tenant); a session that never sets it works
-- in the tenant 'default'.
CREATE ROLE mlkit_alice;
CREATE ROLE mlkit_bob;
GRANT USAGE ON SCHEMA ml TO mlkit_alice, mlkit_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ml TO mlkit_alice, mlkit_bob;
GRANT SELECT ON digits, points TO mlkit_alice, mlkit_bob;

SET ROLE mlkit_alice;
SET app.tenant = 'acme';
SELECT ml.current_tenant();
SELECT ml.cluster_embeddings('points', params => '{"n_clusters": 2, "random_state": 1}') > 0 AS clustered;
SELECT ml.load_analysis_run('object_detection', model_name => 'YOLOv8') > 0 AS loaded;
SELECT tenant_id, analysis_type, model_name FROM ml.analysis_runs ORDER BY analysis_type;
SELECT count(*) AS acme_assignments FROM ml.cluster_assignments;
-- Writing into another tenant is refused.
INSERT INTO ml.analysis_runs (tenant_id, analysis_type) VALUES ('globex', 'clustering');
RESET ROLE;

SET ROLE mlkit_bob;
SET app.tenant = 'globex';
SELECT count(*) AS runs_bob_sees, (SELECT count(*) FROM ml.cluster_assignments) AS assignments_bob_sees FROM ml.analysis_runs;
-- Bob can neither change nor delete acme's rows: they are invisible to him.
UPDATE ml.analysis_runs SET model_name = 'hijacked';
DELETE FROM ml.cluster_assignments;
SELECT ml.load_analysis_run('clustering', model_name => 'globex model') > 0 AS loaded;
SELECT tenant_id, model_name FROM ml.analysis_runs;
-- A session that never set app.tenant works in the default tenant.
RESET app.tenant;
SELECT ml.current_tenant();
SELECT count(*) AS runs_in_default FROM ml.analysis_runs;
RESET ROLE;

-- The owner sees everything, untouched.
SELECT tenant_id, analysis_type, model_name FROM ml.analysis_runs ORDER BY tenant_id, analysis_type;
SELECT tenant_id, count(*) FROM ml.cluster_assignments GROUP BY 1;

DELETE FROM ml.analysis_runs;
REVOKE ALL ON ALL TABLES IN SCHEMA ml FROM mlkit_alice, mlkit_bob;
REVOKE ALL ON SCHEMA ml FROM mlkit_alice, mlkit_bob;
REVOKE ALL ON digits, points FROM mlkit_alice, mlkit_bob;
DROP ROLE mlkit_alice;
DROP ROLE mlkit_bob;
