-- pg_mlkit 0.2.0 -> 0.3.0: what the upgrade does beyond the install. scripts/compose_upgrade.py
-- makes sql/pg_mlkit--0.2.0--0.3.0.sql of it, pulling every function (and the blocks named by
-- @include) from sql/schema/, where each is written once; tests/upgrade/ checks that the result
-- is the schema a fresh 0.3.0 install creates, with every row kept.
--
-- What 0.3.0 changes: nothing the extension runs resolves a name through the caller's
-- search_path (every function that runs SQL pins search_path = pg_catalog, pg_temp and names
-- everything with its schema); the stage audit is written by a Rust trigger whose guard lets
-- only that trigger's own row through; roles that do not own the tables cannot create triggers
-- on them or foreign keys to them; tenants are bound to roles (ml.tenant_access,
-- ml.grant_tenant, ml.revoke_tenant); ml.plot_run draws a run without coordinates from a
-- relation its caller names; ml.predict_cluster takes any embedding type, pgvector's
-- included, and gives NULLs for a NULL embedding; ml.compare_runs; ml.run_points reads one run
-- through the primary keys; ml.z_test_proportions takes booleans.
\echo Use "ALTER EXTENSION pg_mlkit UPDATE TO '0.3.0'" to load this file. \quit

-- Every function as the install defines it (CREATE OR REPLACE).
-- @functions

-- Tenants bound to roles: the table of grants, the built-in grant of 'default' to PUBLIC, the view.
-- @include tenant_access

-- The finishing steps 99_finish.sql gives every table: kept by pg_dump, no TRUNCATE but the owner's.
SELECT pg_catalog.pg_extension_config_dump('ml.tenant_access', '');
CREATE TRIGGER truncate_guard BEFORE TRUNCATE ON ml.tenant_access
  FOR EACH STATEMENT EXECUTE FUNCTION ml.refuse_truncate();

-- Roles bound to a tenant with ALTER ROLE ... SET app.tenant (what 0.2.0's documentation
-- offered) keep working: each such binding, for this database or all, becomes a grant.
-- Tenants that hold rows but that no role is granted are listed: their roles need a grant.
-- WARNINGs, not NOTICEs: PostgreSQL hides an extension script's NOTICEs from the client.
DO $bind$
DECLARE
  b       record;
  tbl     pg_catalog.regclass;
  orphans pg_catalog.text[] := '{}';
  found   pg_catalog.text[];
BEGIN
  FOR b IN
    SELECT DISTINCT r.rolname::pg_catalog.text AS role_name, pg_catalog.substr(c.cfg, 12) AS tenant
      FROM pg_catalog.pg_db_role_setting s
      JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
      CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(cfg)
     WHERE s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()))
       AND c.cfg LIKE 'app.tenant=_%'
     ORDER BY 1, 2
  LOOP
    INSERT INTO ml.tenant_access (role_name, tenant, granted_by)
    VALUES (b.role_name, b.tenant, 'pg_mlkit 0.3.0 upgrade (ALTER ROLE ... SET app.tenant)')
    ON CONFLICT DO NOTHING;
    RAISE WARNING 'pg_mlkit 0.3.0: role % was bound to tenant % with ALTER ROLE ... SET app.tenant; it is now granted it (ml.tenant_grants)',
      pg_catalog.quote_ident(b.role_name), pg_catalog.quote_literal(b.tenant);
  END LOOP;
  FOR tbl IN
    SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'ml'::pg_catalog.regnamespace AND c.relkind = 'r'
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
     ORDER BY c.relname
  LOOP
    EXECUTE pg_catalog.format(
      'SELECT pg_catalog.array_agg(DISTINCT t.tenant_id) FROM %s t
        WHERE NOT EXISTS (SELECT 1 FROM ml.tenant_access g WHERE g.granted AND g.tenant = t.tenant_id)', tbl)
      INTO found;
    orphans := orphans || coalesce(found, '{}');
  END LOOP;
  SELECT pg_catalog.array_agg(DISTINCT o ORDER BY o) INTO orphans FROM pg_catalog.unnest(orphans) AS o;
  IF orphans IS NOT NULL THEN
    RAISE WARNING 'pg_mlkit 0.3.0: tenants % hold rows, but no role is granted them: sessions of ordinary roles can no longer work in them',
      pg_catalog.array_to_string(orphans, ', ')
      USING HINT = 'Grant each to the roles that use it: SELECT ml.grant_tenant(''app_role'', ''tenant'');';
  END IF;
END
$bind$;

-- Comments that said where a requirement came from now say what things are.
COMMENT ON COLUMN ml.cluster_assignments.coordinates IS 'Left NULL, kept for applications that wrote it: reduced coordinates are in ml.embedding_coordinates (see the view ml.run_points).';
COMMENT ON TABLE ml.duplicate_assignments IS
  'The duplicate fields (exact and similar group, confidence, type) of each item of a duplicate-detection run that belongs to a group (ml.group_near_duplicates).';
COMMENT ON FUNCTION ml.group_near_duplicates IS
  'Groups exact duplicates (same SHA-256) and near-duplicates (perceptual hashes within a radius) of a table or view into ml.duplicate_assignments (burst, panorama and similar groups); returns the run id.';

-- The functions in Rust that run SQL pin search_path too.
ALTER FUNCTION ml.cluster_embeddings SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.reduce_embeddings SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.predict_clusters SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.score_drift SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.group_near_duplicates SET search_path = pg_catalog, pg_temp;
-- ml.predict_clusters takes every clustering model and pipeline now (its C entry point is the same).
COMMENT ON FUNCTION ml.predict_clusters IS
  'Assigns every row of a table or view to the clusters of a stored model (K-Means with anomaly scores, DBSCAN, HDBSCAN with probabilities, or a pipeline of a reduction then one of them); records a run, and logs each prediction unless log is false.';

-- ml.predict_cluster takes any embedding (anycompatible, so that a quoted literal is text): double precision[], numeric[],
-- pgvector's vector, halfvec and sparsevec read natively; real[] as before. A view that
-- calls the old signature must be dropped first (the DROP says which).
DROP FUNCTION ml.predict_cluster(text, real[], text, boolean, jsonb);
-- @rust predict_cluster

-- A stored K-Means model's centroids as rows, as real[] or in pgvector's types.
-- @rust centroids

-- The support functions of the types and aggregates move out of the way of \df ml.*.
-- @include internal_schema
ALTER FUNCTION ml.hist_agg_transition(bigint[], double precision, double precision[]) SET SCHEMA ml_internal;
ALTER FUNCTION ml.hist_agg_combine(bigint[], bigint[]) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_in(cstring) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_out(ml.quantile_sketch) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_recv(internal) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_send(ml.quantile_sketch) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_transition(ml.quantile_sketch, double precision, integer) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_transition(ml.quantile_sketch, double precision) SET SCHEMA ml_internal;
ALTER FUNCTION ml.quantile_sketch_combine(ml.quantile_sketch, ml.quantile_sketch) SET SCHEMA ml_internal;
ALTER FUNCTION ml.kmeans_state_in(cstring) SET SCHEMA ml_internal;
ALTER FUNCTION ml.kmeans_state_out(ml.kmeans_state) SET SCHEMA ml_internal;
ALTER FUNCTION ml.kmeans_state_recv(internal) SET SCHEMA ml_internal;
ALTER FUNCTION ml.kmeans_state_send(ml.kmeans_state) SET SCHEMA ml_internal;
ALTER FUNCTION ml.kmeans_state_eq(ml.kmeans_state, ml.kmeans_state) SET SCHEMA ml_internal;
ALTER FUNCTION ml.kmeans_step_combine(ml.kmeans_state, ml.kmeans_state) SET SCHEMA ml_internal;

-- The scale-out functions take any embedding (anycompatible, classified once per call site):
-- pgvector's vector, halfvec and sparsevec read from their bytes instead of through a cast per
-- row; real[] as before. A view that calls the old signatures must be dropped first.
DROP AGGREGATE ml.kmeans_step(real[], real[]);
DROP FUNCTION ml.kmeans_step_transition(ml.kmeans_state, real[], real[]);
DROP FUNCTION ml.nearest_centroid(real[], real[]);
DROP FUNCTION ml.centroid_distance(real[], real[]);
DROP FUNCTION ml.nearest_exemplar(real[], real[], integer[], double precision);
-- @rust ml_internal.kmeans_step_transition
-- @rust kmeans_step
-- @rust kmeans_step_real
-- @rust nearest_centroid
-- @rust centroid_distance
-- @rust nearest_exemplar

-- Bit strings of up to 16,384 bits are hashes for ml.group_near_duplicates: distances beyond 64.
ALTER TABLE ml.duplicate_assignments DROP CONSTRAINT duplicate_assignments_hamming_distance_check,
  ADD CONSTRAINT duplicate_assignments_hamming_distance_check CHECK (hamming_distance BETWEEN 0 AND 16384);

-- The radius index for bit strings (pgvector's binary_quantize()).
-- @rust hash_bands(hash bit varying
-- @rust hash_probe(hash bit varying
-- Byte strings (a PDQ hash as 32 bytes) in the same scheme; the probe keys band by band for
-- the faster ANY form of the search, and ml.hash_within, the search the planner estimates.
-- @rust hash_bands(hash bytea
-- @rust hash_probe(hash bytea
-- @rust ml_internal.within_radius_support
-- @rust ml_internal.within_radius
-- @rust ml_internal.hash_keys_selectivity
-- @rust ml_internal.&&
-- @rust hash_bands_ops
-- @rust hash_keys
-- @rust hash_probe_bands
-- @rust hash_blocks
-- @rust hash_probe_blocks
-- @rust hash_within

-- ml.plot_run: a run without coordinates is drawn from a relation the caller names.
DROP FUNCTION ml.plot_run(bigint, integer, integer);
-- @rust plot_run

-- ml.run_points reads only the run asked for (a UNION ALL of plain columns instead of a FULL
-- JOIN of coalesced ones, which read every stored run).
-- @include run_points

-- A summary of every cluster of every clustering run, sealed per tenant as 99_finish.sql
-- seals every table (its key and foreign key carry tenant_id), with its policy and guards.
-- @include cluster_summaries
ALTER TABLE ml.cluster_summaries
  DROP CONSTRAINT cluster_summaries_pkey,
  ADD CONSTRAINT cluster_summaries_pkey PRIMARY KEY (run_id, cluster, tenant_id),
  ADD CONSTRAINT cluster_summaries_run_id_fkey FOREIGN KEY (tenant_id, run_id) REFERENCES ml.analysis_runs (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE ml.cluster_summaries ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ml.cluster_summaries USING (tenant_id = ml.current_tenant())
  WITH CHECK (tenant_id = ml.current_tenant());
SELECT pg_catalog.pg_extension_config_dump('ml.cluster_summaries', '');
CREATE TRIGGER truncate_guard BEFORE TRUNCATE ON ml.cluster_summaries
  FOR EACH STATEMENT EXECUTE FUNCTION ml.refuse_truncate();

-- What the monitoring and registry tables hold, in their comments.
-- @include catalogue_comments

-- The runs one line each (ml.runs), and a K-Means sweep's values of k as rows (ml.run_sweep).
-- @include run_views
-- @include run_view_comments

-- How alike two runs' clusterings are.
-- @rust compare_runs

-- The terms that name each cluster of a run (kept in ml.cluster_summaries, created above).
-- @rust cluster_keywords

-- Meta's PDQ hash of images, and of their rotations and flips.
-- @rust pdq
-- @rust pdq_dihedral
-- @rust hash_to_hex(hash bit varying

-- A stored PCA applied to new embeddings.
-- @rust transform
-- @rust transform_table

-- An eps for DBSCAN from the source's k-distance curve.
-- @rust suggest_eps

-- Every option of every function, with its default and meaning.
-- @rust options

-- Typed joins back to the source (ml.run_items comes with the functions above).
-- @rust item_key

-- ml.z_test_proportions takes booleans as well as text: one polymorphic function
-- (anycompatiblearray), so that untyped literals still resolve to text[].
DROP FUNCTION ml.z_test_proportions(text[], text[]);
-- @rust z_test_proportions

-- Refusing triggers on, and foreign keys to, the tables by roles that do not own them.
-- @include refuse_foreign_hooks

-- The support functions of the types, aggregates and triggers say what they support.
-- @include support_function_comments

