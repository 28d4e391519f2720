-- Tenant isolation: two ordinary roles that do not own the tables see and write only the
-- rows of the tenant their session is in (app.tenant); a session that never sets it works
-- in the tenant 'default'. A role may work only in the tenants the owner granted it.
CREATE ROLE mlkit_alice;
CREATE ROLE mlkit_bob;
GRANT USAGE ON SCHEMA ml TO mlkit_alice, mlkit_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ml TO mlkit_alice, mlkit_bob;
GRANT SELECT ON digits, points TO mlkit_alice, mlkit_bob;
SELECT ml.grant_tenant('mlkit_alice', 'acme'), ml.grant_tenant('mlkit_bob', 'globex');
SELECT role, tenant, granted_by FROM ml.tenant_grants ORDER BY tenant, role;

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

SELECT min(id) AS acme_run FROM ml.analysis_runs WHERE tenant_id = 'acme' \gset

-- Setting app.tenant is not enough: Bob was not granted acme, so its rows stay hidden and
-- every table and function refuses him.
SET ROLE mlkit_bob;
SET app.tenant = 'acme';
SELECT count(*) FROM ml.analysis_runs;
SELECT ml.load_analysis_run('clustering');
SELECT role, tenant FROM ml.tenant_grants ORDER BY tenant, role;
SET app.tenant = 'globex';
SELECT count(*) AS runs_bob_sees, (SELECT count(*) FROM ml.cluster_assignments) AS assignments_bob_sees FROM ml.analysis_runs;
-- Bob can neither change nor delete acme's rows: they are invisible to him.
UPDATE ml.analysis_runs SET model_name = 'hijacked';
DELETE FROM ml.cluster_assignments;
SELECT ml.load_analysis_run('clustering', model_name => 'globex model') > 0 AS loaded;
SELECT tenant_id, model_name FROM ml.analysis_runs;
-- Keys are sealed per tenant. Naming acme's run fails exactly as naming a run that does not
-- exist, so Bob can neither attach a row to it nor learn that it exists ...
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'done';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END $$;
SELECT pg_temp.outcome(format('INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) VALUES (%s, %L, 0)', :acme_run, 'x')) AS acme_run,
       pg_temp.outcome(format('INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) VALUES (%s, %L, 0)', :acme_run + 1000000, 'x')) AS no_such_run
\gx
-- Reading acme's run back gives him nothing: no items, and no run to compare.
SELECT count(*) AS acme_items_bob_reads FROM ml.run_items(:acme_run, NULL::integer);
SELECT pg_temp.outcome(format('SELECT * FROM ml.compare_runs(%s, %s)', :acme_run, :acme_run)) AS compare_acme_runs;
-- ... and taking acme's run id for himself blocks nobody: ids are unique per tenant.
SELECT pg_temp.outcome(format('INSERT INTO ml.analysis_runs (id, analysis_type) VALUES (%s, %L)', :acme_run, 'bob''s own')) AS bob_takes_acmes_id;
-- A session that never set app.tenant works in the default tenant.
RESET app.tenant;
SELECT ml.current_tenant();
SELECT count(*) AS runs_in_default FROM ml.analysis_runs;
RESET ROLE;

-- With pg_mlkit.require_tenant on (a superuser's setting, normally in postgresql.conf), a
-- session without a tenant is refused instead, and cannot turn the setting off.
SET pg_mlkit.require_tenant = on;
SET ROLE mlkit_bob;
SELECT count(*) FROM ml.analysis_runs;
SET pg_mlkit.require_tenant = off;
RESET ROLE;
RESET pg_mlkit.require_tenant;

-- The limits: an ordinary role may lower them, not raise them above the server's setting,
-- and a misspelt pg_mlkit setting is an error.
SET ROLE mlkit_bob;
SET pg_mlkit.max_memory_mb = 1024;
SET pg_mlkit.max_memory_mb = 1000000;
SET pg_mlkit.thread = 4;
SHOW pg_mlkit.max_memory_mb;
RESET ROLE;
RESET pg_mlkit.max_memory_mb;

-- A revoked tenant is refused from the next statement on.
SELECT ml.revoke_tenant('mlkit_bob', 'globex');
SET ROLE mlkit_bob;
SET app.tenant = 'globex';
SELECT count(*) FROM ml.analysis_runs;
-- Nor can Bob grant himself a tenant: only the owner of pg_mlkit can.
SELECT ml.grant_tenant('mlkit_bob', 'globex');
RESET app.tenant;
RESET ROLE;

-- The owner sees everything, untouched.
SELECT tenant_id, analysis_type, model_name FROM ml.analysis_runs ORDER BY tenant_id, analysis_type;
SELECT tenant_id, count(*) FROM ml.cluster_assignments GROUP BY 1;

DELETE FROM ml.analysis_runs;
DROP FUNCTION pg_temp.outcome(text);
REVOKE ALL ON ALL TABLES IN SCHEMA ml FROM mlkit_alice, mlkit_bob;
REVOKE ALL ON SCHEMA ml FROM mlkit_alice, mlkit_bob;
REVOKE ALL ON digits, points FROM mlkit_alice, mlkit_bob;
DROP ROLE mlkit_alice;
DROP ROLE mlkit_bob;
