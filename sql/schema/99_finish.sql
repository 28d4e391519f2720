-- Applied to every table above, so that no table can be missed:
--  * row-level security keyed on ml.current_tenant() (owners and superusers bypass it), but for
--    ml.tenant_access, which is not tenant data;
--  * pg_extension_config_dump, so that pg_dump keeps user rows (and identity positions);
--  * the updated_at trigger where the table has that column;
--  * the TRUNCATE guard (ml.refuse_truncate): TRUNCATE would bypass the policies.
DO $finish$
DECLARE
  t   pg_catalog.regclass;
  seq pg_catalog.text;
BEGIN
  FOR t IN
    SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'ml'::pg_catalog.regnamespace AND c.relkind = 'r'
    ORDER BY c.relname
  LOOP
    -- ml.tenant_access is not tenant data: it says who may use which tenant (its own policy).
    IF t <> 'ml.tenant_access'::pg_catalog.regclass THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
      EXECUTE pg_catalog.format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = ml.current_tenant()) '
                     'WITH CHECK (tenant_id = ml.current_tenant())', t);
    END IF;
    PERFORM pg_catalog.pg_extension_config_dump(t, '');
    FOR seq IN
      SELECT pg_catalog.pg_get_serial_sequence(t::pg_catalog.text, a.attname) FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = t AND a.attidentity <> '' AND NOT a.attisdropped
    LOOP
      PERFORM pg_catalog.pg_extension_config_dump(seq::pg_catalog.regclass, '');
    END LOOP;
    EXECUTE pg_catalog.format('CREATE TRIGGER truncate_guard BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ml.refuse_truncate()', t);
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = t AND attname = 'updated_at' AND NOT attisdropped) THEN
      EXECUTE pg_catalog.format('CREATE TRIGGER touch_updated_at BEFORE UPDATE ON %s '
                     'FOR EACH ROW EXECUTE FUNCTION ml.touch_updated_at()', t);
    END IF;
  END LOOP;
END
$finish$;

-- Sealing the tenants (the upgrade script sql/pg_mlkit--0.1.0--0.2.0.sql runs this same block).
-- The tables above are written as if there were one tenant; here every key is made to carry
-- the tenant, so that no key crosses tenants:
--  * every primary key and unique constraint gets tenant_id as its last column: ids, names
--    and item ids are unique per tenant, and a session of tenant B cannot make tenant A's
--    insert fail, nor learn from a unique violation that A's id exists;
--  * every foreign key (c) REFERENCES p (id) becomes (tenant_id, c) REFERENCES p (tenant_id, id):
--    a child can only point at a parent of its own tenant (B's row naming A's id is as
--    dangling as one naming no row), and cascades stay inside the tenant. ON DELETE SET NULL
--    becomes SET NULL (c), which leaves tenant_id alone.
-- Names and delete actions are kept.
DO $seal$
DECLARE
  fk   record;
  fks  pg_catalog.text[] := '{}';
  key  record;
  stmt pg_catalog.text;
BEGIN
  FOR fk IN
    SELECT con.conname, con.conrelid::pg_catalog.regclass AS tbl, a.attname AS col, con.confrelid::pg_catalog.regclass AS parent,
           pa.attname AS parent_col, con.confdeltype
      FROM pg_catalog.pg_constraint con
      JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
      JOIN pg_catalog.pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
     WHERE con.contype = 'f' AND con.connamespace = 'ml'::pg_catalog.regnamespace AND pg_catalog.cardinality(con.conkey) = 1
     ORDER BY con.conrelid::pg_catalog.regclass::pg_catalog.text, con.conname
  LOOP
    fks := fks || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (tenant_id, %I) REFERENCES %s (tenant_id, %I) ON DELETE %s',
                         fk.tbl, fk.conname, fk.col, fk.parent, fk.parent_col,
                         CASE fk.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN pg_catalog.format('SET NULL (%I)', fk.col)
                                             WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END);
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
  END LOOP;
  FOR key IN
    SELECT con.conname, con.conrelid::pg_catalog.regclass AS tbl, con.contype,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.i)
              FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols
      FROM pg_catalog.pg_constraint con
     WHERE con.contype IN ('p', 'u') AND con.connamespace = 'ml'::pg_catalog.regnamespace
       AND con.conrelid <> 'ml.tenant_access'::pg_catalog.regclass
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = con.conrelid AND a.attname = 'tenant_id' AND a.attnum = ANY (con.conkey))
     ORDER BY con.conrelid::pg_catalog.regclass::pg_catalog.text, con.conname
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s (%s, tenant_id)',
                   key.tbl, key.conname, key.conname,
                   CASE key.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, key.cols);
  END LOOP;
  FOREACH stmt IN ARRAY fks LOOP
    EXECUTE stmt;
  END LOOP;
END
$seal$;

-- The assignment tables check their runs once per statement (10_analysis.sql explains why),
-- so their foreign keys' per-row insert checks are switched off.
DO $$
DECLARE
  tbl pg_catalog.regclass;
  t   pg_catalog.name;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['ml.cluster_assignments', 'ml.duplicate_assignments', 'ml.embedding_coordinates']::pg_catalog.regclass[] LOOP
    SELECT tg.tgname INTO STRICT t
      FROM pg_catalog.pg_trigger tg
      JOIN pg_catalog.pg_constraint c ON c.oid = tg.tgconstraint
     WHERE tg.tgrelid = tbl AND c.conrelid = tbl AND c.contype = 'f'
       AND tg.tgfoid = 'pg_catalog."RI_FKey_check_ins"'::pg_catalog.regproc;
    EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', tbl, t);
  END LOOP;
END
$$;

-- A trigger on a table of schema ml runs its function as whoever writes the table: the
-- extension's own functions, the owner's jobs, a superuser restoring a dump. A role granted
-- TRIGGER on a table (GRANT ALL does) could so run its code as any of them, and could change
-- the audit rows the registry writes. A foreign key into a table of ml, which REFERENCES (also
-- in ALL) allows, is checked as the table's owner without row-level security: it would tell a
-- role which of another tenant's keys exist, and could block that tenant's deletes. So only a
-- role that owns the table in ml may create a trigger on it or a foreign key to it.
CREATE OR REPLACE FUNCTION ml.refuse_foreign_hooks() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ml_ns  pg_catalog.oid := (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'ml');
  tbl    pg_catalog.regclass;
BEGIN
  SELECT r.oid INTO tbl
    FROM pg_catalog.pg_event_trigger_ddl_commands() cmd
    JOIN pg_catalog.pg_trigger t ON t.oid = cmd.objid
    JOIN pg_catalog.pg_class r ON r.oid = t.tgrelid
   WHERE cmd.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
     AND r.relnamespace = ml_ns AND NOT pg_catalog.pg_has_role(CURRENT_USER, r.relowner, 'MEMBER')
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'CREATE TRIGGER on % by role % is refused: a trigger there would run as every role that writes the table', tbl, CURRENT_USER
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only the owner of pg_mlkit''s tables may create triggers on them; grant SELECT, INSERT, UPDATE, DELETE rather than ALL.';
  END IF;
  SELECT p.oid INTO tbl
    FROM pg_catalog.pg_event_trigger_ddl_commands() cmd
    JOIN pg_catalog.pg_constraint con ON con.conrelid = cmd.objid AND con.contype = 'f'
    JOIN pg_catalog.pg_class p ON p.oid = con.confrelid
   WHERE cmd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND p.relnamespace = ml_ns AND NOT pg_catalog.pg_has_role(CURRENT_USER, p.relowner, 'MEMBER')
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'a foreign key to % by role % is refused: it would be checked across tenants', tbl, CURRENT_USER
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Refer to pg_mlkit''s rows by value instead; only the owner of its tables may create foreign keys to them.';
  END IF;
END
$$;
COMMENT ON FUNCTION ml.refuse_foreign_hooks() IS
  'Event-trigger support: refuses triggers on, and foreign keys to, the tables of ml by roles that do not own them.';
-- @begin refuse_foreign_hooks
-- After every DDL command, not a list of tags: a CREATE TABLE inside CREATE SCHEMA runs under
-- the tag CREATE SCHEMA, and whatever else may create a trigger or a foreign key is covered too.
CREATE EVENT TRIGGER pg_mlkit_refuse_foreign_hooks ON ddl_command_end
  EXECUTE FUNCTION ml.refuse_foreign_hooks();
-- @end refuse_foreign_hooks

-- The functions PostgreSQL calls for pg_mlkit's types and aggregates: each says so,
-- so that \df+ ml.* tells them from the functions to call.
-- @begin support_function_comments
COMMENT ON FUNCTION ml_internal.hist_agg_transition(bigint[], double precision, double precision[]) IS
  'Support function of the aggregate ml.hist_agg (its state transition); not called directly.';
COMMENT ON FUNCTION ml_internal.hist_agg_combine(bigint[], bigint[]) IS
  'Support function of the aggregate ml.hist_agg (combines partial counts of parallel workers and Citus shards); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_in(cstring) IS
  'Support function of the type ml.quantile_sketch (text input); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_out(ml.quantile_sketch) IS
  'Support function of the type ml.quantile_sketch (text output); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_recv(internal) IS
  'Support function of the type ml.quantile_sketch (binary input); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_send(ml.quantile_sketch) IS
  'Support function of the type ml.quantile_sketch (binary output); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_transition(ml.quantile_sketch, double precision, integer) IS
  'Support function of the aggregate ml.quantile_sketch_agg(x, k) (its state transition); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_transition(ml.quantile_sketch, double precision) IS
  'Support function of the aggregate ml.quantile_sketch_agg(x) (its state transition); not called directly.';
COMMENT ON FUNCTION ml_internal.quantile_sketch_combine(ml.quantile_sketch, ml.quantile_sketch) IS
  'Support function of the aggregate ml.quantile_sketch_agg (merges the sketches of parallel workers and Citus shards); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_state_in(cstring) IS
  'Support function of the type ml.kmeans_state (text input); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_state_out(ml.kmeans_state) IS
  'Support function of the type ml.kmeans_state (text output); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_state_recv(internal) IS
  'Support function of the type ml.kmeans_state (binary input); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_state_send(ml.kmeans_state) IS
  'Support function of the type ml.kmeans_state (binary output); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_state_eq(ml.kmeans_state, ml.kmeans_state) IS
  'Support function of the operator = on ml.kmeans_state (whether two states are equal); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_step_transition(ml.kmeans_state, anycompatible, real[]) IS
  'Support function of the aggregate ml.kmeans_step (its state transition); not called directly.';
COMMENT ON FUNCTION ml_internal.kmeans_step_combine(ml.kmeans_state, ml.kmeans_state) IS
  'Support function of the aggregate ml.kmeans_step (adds the partial sums of parallel workers and Citus shards); not called directly.';
-- @end support_function_comments
