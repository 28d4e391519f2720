-- pg_mlkit 0.2.0 -> 0.3.0. Run by ALTER EXTENSION pg_mlkit UPDATE; tests/upgrade/ checks that
-- the result is the schema a fresh 0.3.0 install creates, with every row kept.
--
-- What 0.3.0 changes: nothing the extension runs resolves a name through the caller's
-- search_path (every function that runs SQL pins search_path = pg_catalog, pg_temp and names
-- everything with its schema); the stage audit is written by a Rust trigger whose guard lets
-- only that trigger's own row through; roles that do not own the tables cannot create triggers
-- on them; tenants are bound to roles (ml.tenant_access, ml.grant_tenant, ml.revoke_tenant);
-- ml.plot_run draws a run without coordinates from a relation its caller names.
\echo Use "ALTER EXTENSION pg_mlkit UPDATE TO '0.3.0'" to load this file. \quit

-- 00_common.sql: the functions every table's triggers call -----------------------------------

COMMENT ON FUNCTION ml.current_tenant() IS
  'The tenant of this session: the app.tenant setting, or ''default'' when it is unset or empty (an error when pg_mlkit.require_tenant is on, or when the current role was not granted the tenant).';

CREATE OR REPLACE FUNCTION ml.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION ml.stamp_actor() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  col    pg_catalog.text := TG_ARGV[0];
  given  pg_catalog.jsonb;
BEGIN
  -- The owner of the table (and superusers) may write anything: restores, corrections.
  IF pg_catalog.pg_has_role(CURRENT_USER, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NEW;
  END IF;
  IF TG_ARGV[1] = 'creator' THEN
    NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(col,
             CASE TG_OP WHEN 'INSERT' THEN pg_catalog.to_jsonb(CURRENT_USER::pg_catalog.text)
                        ELSE pg_catalog.to_jsonb(OLD) -> col END));
  ELSE
    given := pg_catalog.to_jsonb(NEW) -> col;
    IF given IS NOT NULL AND given <> 'null'::pg_catalog.jsonb
       AND (TG_OP = 'INSERT' OR given IS DISTINCT FROM pg_catalog.to_jsonb(OLD) -> col) THEN
      NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(col, CURRENT_USER::pg_catalog.text));
    END IF;
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION ml.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF pg_catalog.pg_has_role(CURRENT_USER, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'TRUNCATE of ml.% by role % is refused: it would empty the table for every tenant', TG_TABLE_NAME, CURRENT_USER
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'DELETE the rows of your tenant instead; only the owner of the table may truncate it.';
END
$$;

-- Tenants bound to roles ------------------------------------------------------------------

-- Which roles may work in which tenant. ml.current_tenant() reads it as the calling role: a role
-- that is not the owner of pg_mlkit, a superuser or BYPASSRLS may use a tenant only if it was
-- granted to PUBLIC or to a role it is a member of. Only the owner writes it (ml.grant_tenant,
-- ml.revoke_tenant); a revoked grant stays as a row with granted = false, so that a dump keeps
-- the revocation of the built-in grant below (the install script makes that row again on
-- restore; tenant_access_merge then takes the dumped state). role_name 'public' is PUBLIC (no
-- role can be named so). Not tenant data itself: no tenant_id, no tenant policy.
CREATE TABLE ml.tenant_access (
  role_name   text NOT NULL CHECK (role_name <> ''),
  tenant      text NOT NULL CHECK (tenant <> ''),
  granted     boolean NOT NULL DEFAULT true,
  granted_by  text NOT NULL DEFAULT CURRENT_USER,
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (role_name, tenant)
);
COMMENT ON TABLE ml.tenant_access IS
  'Which roles may work in which tenant (role_name ''public'' is PUBLIC); written by ml.grant_tenant and ml.revoke_tenant. See the view ml.tenant_grants.';
-- Every role reads it (ml.current_tenant() does, as the calling role), but sees only the grants
-- that concern it: to PUBLIC and to roles it is a member of.
ALTER TABLE ml.tenant_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON ml.tenant_access FOR SELECT
  USING (role_name = 'public' OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                                          WHERE r.rolname = role_name AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));
GRANT SELECT ON ml.tenant_access TO PUBLIC;

-- A row that is already there (the built-in grant, made again by CREATE EXTENSION before
-- pg_restore copies the dumped rows) takes the incoming state instead of failing the copy.
CREATE FUNCTION ml.tenant_access_merge() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE ml.tenant_access a
     SET granted = NEW.granted, granted_by = NEW.granted_by, granted_at = NEW.granted_at
   WHERE a.role_name = NEW.role_name AND a.tenant = NEW.tenant;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER tenant_access_merge BEFORE INSERT ON ml.tenant_access
  FOR EACH ROW EXECUTE FUNCTION ml.tenant_access_merge();

-- Single-tenant use needs no setup: every role may work in 'default'.
INSERT INTO ml.tenant_access (role_name, tenant, granted_by) VALUES ('public', 'default', 'pg_mlkit');

CREATE VIEW ml.tenant_grants WITH (security_invoker = true) AS
SELECT CASE a.role_name WHEN 'public' THEN 'PUBLIC' ELSE a.role_name END AS role,
       a.tenant, a.granted_by, a.granted_at
  FROM ml.tenant_access a
 WHERE a.granted;
COMMENT ON VIEW ml.tenant_grants IS
  'The tenants each role may work in (PUBLIC: every role); an ordinary role sees the grants that concern it.';
GRANT SELECT ON ml.tenant_grants TO PUBLIC;

-- ml.grant_tenant / ml.revoke_tenant take the role as a name (a quoted literal picks these;
-- 'public' in any case is PUBLIC unless a role of exactly that name exists) or as a regrole
-- (0 is PUBLIC).
CREATE FUNCTION ml.grant_tenant(role name, tenant text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  verb     pg_catalog.text := 'grant';
  grantee  pg_catalog.text;
BEGIN
  IF NOT pg_catalog.pg_has_role(CURRENT_USER,
           (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_mlkit'), 'MEMBER') THEN
    RAISE EXCEPTION 'ml.%_tenant: only the owner of pg_mlkit may grant or revoke tenants, not role %', verb, CURRENT_USER
      USING ERRCODE = 'insufficient_privilege', HINT = 'Ask the owner of the extension (or a superuser) to run it.';
  END IF;
  IF role IS NULL THEN
    RAISE EXCEPTION 'ml.%_tenant: role must not be NULL', verb
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Name a role, or PUBLIC for every role.';
  END IF;
  IF tenant IS NULL OR tenant = '' THEN
    RAISE EXCEPTION 'ml.%_tenant: tenant must be a non-empty name, not %', verb, coalesce(pg_catalog.quote_literal(tenant), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the tenant as sessions set it: SET app.tenant = ''...''.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
    grantee := role;
  ELSIF pg_catalog.lower(role) = 'public' THEN
    grantee := 'public';
  ELSE
    RAISE EXCEPTION 'ml.%_tenant: role % does not exist', verb, pg_catalog.quote_literal(role)
      USING ERRCODE = 'undefined_object', HINT = 'Create the role first, or name PUBLIC for every role.';
  END IF;
  INSERT INTO ml.tenant_access AS a (role_name, tenant, granted, granted_by, granted_at)
  VALUES (grantee, tenant, true, CURRENT_USER, pg_catalog.now())
  ON CONFLICT ON CONSTRAINT tenant_access_pkey DO UPDATE
     SET granted = true, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at
   WHERE NOT a.granted;
END
$$;
CREATE FUNCTION ml.revoke_tenant(role name, tenant text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  verb     pg_catalog.text := 'revoke';
  grantee  pg_catalog.text;
BEGIN
  IF NOT pg_catalog.pg_has_role(CURRENT_USER,
           (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_mlkit'), 'MEMBER') THEN
    RAISE EXCEPTION 'ml.%_tenant: only the owner of pg_mlkit may grant or revoke tenants, not role %', verb, CURRENT_USER
      USING ERRCODE = 'insufficient_privilege', HINT = 'Ask the owner of the extension (or a superuser) to run it.';
  END IF;
  IF role IS NULL THEN
    RAISE EXCEPTION 'ml.%_tenant: role must not be NULL', verb
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Name a role, or PUBLIC for every role.';
  END IF;
  IF tenant IS NULL OR tenant = '' THEN
    RAISE EXCEPTION 'ml.%_tenant: tenant must be a non-empty name, not %', verb, coalesce(pg_catalog.quote_literal(tenant), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the tenant as sessions set it: SET app.tenant = ''...''.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
    grantee := role;
  ELSIF pg_catalog.lower(role) = 'public' THEN
    grantee := 'public';
  ELSE
    RAISE EXCEPTION 'ml.%_tenant: role % does not exist', verb, pg_catalog.quote_literal(role)
      USING ERRCODE = 'undefined_object', HINT = 'Create the role first, or name PUBLIC for every role.';
  END IF;
  UPDATE ml.tenant_access a SET granted = false, granted_by = CURRENT_USER, granted_at = pg_catalog.now()
   WHERE a.role_name = grantee AND a.tenant = revoke_tenant.tenant AND a.granted;
END
$$;
CREATE FUNCTION ml.grant_tenant(role regrole, tenant text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ml.grant_tenant(coalesce((SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) $1),
                                      CASE WHEN $1 OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'public'::pg_catalog.name END), $2) $$;
CREATE FUNCTION ml.revoke_tenant(role regrole, tenant text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ml.revoke_tenant(coalesce((SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) $1),
                                       CASE WHEN $1 OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'public'::pg_catalog.name END), $2) $$;
COMMENT ON FUNCTION ml.grant_tenant(name, text) IS
  'Lets a role and its members (PUBLIC: every role) work in a tenant. Owner of pg_mlkit only.';
COMMENT ON FUNCTION ml.grant_tenant(regrole, text) IS
  'Lets a role and its members work in a tenant. Owner of pg_mlkit only.';
COMMENT ON FUNCTION ml.revoke_tenant(name, text) IS
  'Takes a tenant grant back (PUBLIC: the grant to every role). Owner of pg_mlkit only.';
COMMENT ON FUNCTION ml.revoke_tenant(regrole, text) IS
  'Takes a tenant grant back from a role. Owner of pg_mlkit only.';

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

-- 10_analysis.sql ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ml.check_assignment_runs() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  missing bigint;
BEGIN
  PERFORM 1 FROM ml.analysis_runs r
   WHERE (r.tenant_id, r.id) IN (SELECT DISTINCT n.tenant_id, n.run_id FROM new_rows n) FOR KEY SHARE;
  SELECT n.run_id INTO missing
    FROM (SELECT DISTINCT tenant_id, run_id FROM new_rows) n
   WHERE NOT EXISTS (SELECT 1 FROM ml.analysis_runs r WHERE r.id = n.run_id AND r.tenant_id = n.tenant_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert into ml.% refers to run %, which does not exist', TG_TABLE_NAME, missing
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Insert the ml.analysis_runs row first; assignments belong to a run.';
  END IF;
  RETURN NULL;
END
$$;

-- 20_monitoring.sql -------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ml.log_prediction(
  model_name        text,
  prediction_value  double precision,
  input_features    jsonb DEFAULT NULL,
  anomaly_score     double precision DEFAULT NULL,
  is_anomaly        boolean DEFAULT false,
  severity          text DEFAULT 'normal',
  response_time_ms  integer DEFAULT NULL,
  active            boolean DEFAULT true,
  created_at        timestamptz DEFAULT now()
) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  new_id bigint;
BEGIN
  IF $1 IS NULL OR $1 = '' THEN
    RAISE EXCEPTION 'ml.log_prediction: model_name must be given, not %', coalesce(pg_catalog.quote_literal($1), 'NULL')
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Name the model that made the prediction.';
  END IF;
  IF $2 IS NULL OR $2 = 'NaN'::float8 OR $2 IN ('Infinity'::float8, '-Infinity'::float8) THEN
    RAISE EXCEPTION 'ml.log_prediction: prediction_value must be a finite number, not %', coalesce($2::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Log the predicted value (a class as its number, a score as itself).';
  END IF;
  IF $4 = 'NaN'::float8 THEN
    RAISE EXCEPTION 'ml.log_prediction: anomaly_score must be a number or NULL, not NaN'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave anomaly_score out when the model gives none.';
  END IF;
  IF $6 IS NULL OR $6 NOT IN ('normal', 'warning', 'critical') THEN
    RAISE EXCEPTION 'ml.log_prediction: severity must be normal, warning or critical, not %', coalesce(pg_catalog.quote_literal($6), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'The prediction log''s severities; leave severity out for normal.';
  END IF;
  IF $7 < 0 THEN
    RAISE EXCEPTION 'ml.log_prediction: response_time_ms must not be negative, not %', $7
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Log the time the prediction took, in milliseconds.';
  END IF;
  INSERT INTO ml.ml_prediction_log
    (model_name, prediction_value, input_features, anomaly_score, is_anomaly, severity, response_time_ms, active, created_at, updated_at)
  VALUES ($1, $2, $3, $4, coalesce($5, false), $6, $7, coalesce($8, true), coalesce($9, pg_catalog.now()), coalesce($9, pg_catalog.now()))
  RETURNING id INTO new_id;
  RETURN new_id;
END
$$;

-- 30_registry.sql: the stage audit, now in Rust (src/stage_audit.rs) --------------------------

CREATE OR REPLACE FUNCTION ml.record_stage_transition() RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'record_stage_transition_wrapper';

CREATE OR REPLACE FUNCTION ml.guard_stage_audit() RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'guard_stage_audit_wrapper';

-- 85_monitoring_jobs.sql --------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ml.check_alert_rule() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT NEW.metric = ANY (ml.alert_rule_metrics()) THEN
    RAISE EXCEPTION 'alert rule %: metric % is not one pg_mlkit evaluates', pg_catalog.quote_literal(NEW.name), pg_catalog.quote_literal(NEW.metric)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use one of: ' || pg_catalog.array_to_string(ml.alert_rule_metrics(), ', ') || '.';
  END IF;
  IF NEW.comparison IS NULL OR NEW.comparison NOT IN ('>', '>=', '<', '<=') THEN
    RAISE EXCEPTION 'alert rule %: comparison must be >, >=, < or <=, not %', pg_catalog.quote_literal(NEW.name), coalesce(pg_catalog.quote_literal(NEW.comparison), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A rule fires when "metric comparison threshold" holds, e.g. anomaly_score >= 0.99.';
  END IF;
  IF NEW.threshold = 'NaN'::float8 THEN
    RAISE EXCEPTION 'alert rule %: threshold must be a number, not NaN', pg_catalog.quote_literal(NEW.name)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Compare the metric with a number.';
  END IF;
  IF NEW.cooldown < interval '0' THEN
    RAISE EXCEPTION 'alert rule %: cooldown must not be negative, not %', pg_catalog.quote_literal(NEW.name), NEW.cooldown
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A rule fires at most once per cooldown; 0 fires every time.';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION ml.fire_prediction_rules() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r     ml.alert_rules;
  hit   record;
BEGIN
  FOR r IN SELECT * FROM ml.alert_rules
            WHERE enabled AND metric IN ('anomaly_score', 'prediction_value', 'response_time_ms')
              AND tenant_id IN (SELECT DISTINCT n.tenant_id FROM new_rows n)
            ORDER BY id
  LOOP
    SELECT n.id, n.model_name, v.value, pg_catalog.count(*) OVER () AS matching INTO hit
      FROM new_rows n,
           LATERAL (SELECT CASE r.metric WHEN 'anomaly_score' THEN n.anomaly_score
                                         WHEN 'prediction_value' THEN n.prediction_value
                                         ELSE n.response_time_ms::float8 END AS value) v
     WHERE n.tenant_id = r.tenant_id AND (r.model_name IS NULL OR n.model_name = r.model_name)
       AND CASE r.comparison WHEN '>' THEN v.value > r.threshold WHEN '>=' THEN v.value >= r.threshold
                             WHEN '<' THEN v.value < r.threshold ELSE v.value <= r.threshold END
     ORDER BY CASE WHEN r.comparison IN ('>', '>=') THEN -v.value ELSE v.value END, n.id
     LIMIT 1;
    IF FOUND AND NOT EXISTS (SELECT 1 FROM ml.monitoring_alerts a
                              WHERE a.rule_id = r.id AND a.tenant_id = r.tenant_id AND a.triggered_at > pg_catalog.now() - r.cooldown) THEN
      INSERT INTO ml.monitoring_alerts (tenant_id, rule_id, model_name, severity, title, details)
      VALUES (r.tenant_id, r.id, hit.model_name, r.severity,
              pg_catalog.format('%s: %s %s %s %s', r.name, r.metric, hit.value, r.comparison, r.threshold),
              pg_catalog.jsonb_build_object('rule', r.name, 'metric', r.metric, 'value', hit.value,
                                 'comparison', r.comparison, 'threshold', r.threshold,
                                 'prediction_log_id', hit.id, 'matching_predictions', hit.matching));
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ml.rollup_monitoring(day date DEFAULT current_date - 1) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  written integer;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION 'ml.rollup_monitoring: day must not be NULL'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Leave day out for yesterday.';
  END IF;
  INSERT INTO ml.monitoring_daily_rollups AS d
    (tenant_id, model_name, day, prediction_count, anomaly_count, error_count,
     latency_p50_ms, latency_p95_ms, latency_p99_ms, mean_prediction, metrics)
  SELECT l.tenant_id, l.model_name, $1, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE l.is_anomaly), 0,
         pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY l.response_time_ms),
         pg_catalog.percentile_cont(0.95) WITHIN GROUP (ORDER BY l.response_time_ms),
         pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY l.response_time_ms),
         pg_catalog.avg(l.prediction_value),
         pg_catalog.jsonb_build_object(
           'anomaly_rate', pg_catalog.count(*) FILTER (WHERE l.is_anomaly)::float8 / pg_catalog.count(*),
           'mean_anomaly_score', pg_catalog.avg(l.anomaly_score),
           'severity', pg_catalog.jsonb_build_object('normal', pg_catalog.count(*) FILTER (WHERE l.severity = 'normal'),
                                          'warning', pg_catalog.count(*) FILTER (WHERE l.severity = 'warning'),
                                          'critical', pg_catalog.count(*) FILTER (WHERE l.severity = 'critical')))
    FROM ml.ml_prediction_log l
   WHERE l.active AND l.created_at >= $1::timestamptz AND l.created_at < ($1 + 1)::timestamptz
   GROUP BY l.tenant_id, l.model_name
  ON CONFLICT (tenant_id, model_name, day) DO UPDATE
     SET prediction_count = EXCLUDED.prediction_count, anomaly_count = EXCLUDED.anomaly_count,
         error_count = EXCLUDED.error_count, latency_p50_ms = EXCLUDED.latency_p50_ms,
         latency_p95_ms = EXCLUDED.latency_p95_ms, latency_p99_ms = EXCLUDED.latency_p99_ms,
         mean_prediction = EXCLUDED.mean_prediction, metrics = EXCLUDED.metrics;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END
$$;

CREATE OR REPLACE FUNCTION ml.fire_drift_rules() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r      ml.alert_rules;
  value  double precision;
  holds  boolean;
BEGIN
  FOR r IN SELECT * FROM ml.alert_rules
            WHERE enabled AND metric IN ('drift_share', 'drifted_columns')
              AND tenant_id = NEW.tenant_id
              AND (model_name IS NULL OR model_name = NEW.model_name)
            ORDER BY id
  LOOP
    value := (NEW.metrics ->> r.metric)::float8;
    CONTINUE WHEN value IS NULL;
    holds := CASE r.comparison WHEN '>' THEN value > r.threshold WHEN '>=' THEN value >= r.threshold
                               WHEN '<' THEN value < r.threshold ELSE value <= r.threshold END;
    IF holds AND NOT EXISTS (SELECT 1 FROM ml.monitoring_alerts a
                        WHERE a.rule_id = r.id AND a.tenant_id = r.tenant_id AND a.triggered_at > pg_catalog.now() - r.cooldown) THEN
      INSERT INTO ml.monitoring_alerts (tenant_id, rule_id, model_name, severity, title, details)
      VALUES (r.tenant_id, r.id, NEW.model_name, r.severity,
              pg_catalog.format('%s: %s %s %s %s', r.name, r.metric, value, r.comparison, r.threshold),
              pg_catalog.jsonb_build_object('rule', r.name, 'metric', r.metric, 'value', value,
                                 'comparison', r.comparison, 'threshold', r.threshold,
                                 'run_id', NEW.id, 'source', NEW.source));
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

-- 90_load_analysis_run.sql ------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ml.load_analysis_run(
  analysis_type                 text,
  run_timestamp                 timestamptz DEFAULT now(),
  model_name                    text DEFAULT NULL,
  model_version                 text DEFAULT NULL,
  status                        text DEFAULT 'completed',
  metrics                       jsonb DEFAULT '{}',
  row_count                     bigint DEFAULT NULL,
  duration_ms                   double precision DEFAULT NULL,
  error                         text DEFAULT NULL,
  autoencoder_name              text DEFAULT NULL,
  autoencoder_implementation    text DEFAULT NULL,
  autoencoder_file              text DEFAULT NULL,
  autoencoder_params            jsonb DEFAULT NULL,
  dim_reduction_name            text DEFAULT NULL,
  dim_reduction_implementation  text DEFAULT NULL,
  dim_reduction_params          jsonb DEFAULT NULL,
  clustering_name               text DEFAULT NULL,
  clustering_implementation     text DEFAULT NULL,
  clustering_params             jsonb DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  new_id bigint;
BEGIN
  IF analysis_type IS NULL OR analysis_type = '' THEN
    RAISE EXCEPTION 'analysis_type must be given, not %', coalesce(pg_catalog.quote_literal(analysis_type), 'NULL')
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Name the kind of analysis, e.g. analysis_type => ''clustering'' or ''object_detection''.';
  END IF;
  IF status IS NULL OR status NOT IN ('pending', 'running', 'completed', 'failed') THEN
    RAISE EXCEPTION 'status must be pending, running, completed or failed, not %', coalesce(pg_catalog.quote_literal(status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Leave status out for a completed run.';
  END IF;
  IF run_timestamp IS NULL THEN
    RAISE EXCEPTION 'run_timestamp must not be NULL'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Leave run_timestamp out to use now().';
  END IF;
  IF row_count < 0 OR duration_ms < 0 THEN
    RAISE EXCEPTION 'row_count and duration_ms must not be negative (row_count %, duration_ms %)', row_count, duration_ms
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the number of rows analysed and the wall time in milliseconds.';
  END IF;

  INSERT INTO ml.analysis_runs (
    run_timestamp, analysis_type, model_name, model_version, status, metrics, row_count, duration_ms, error,
    autoencoder_name, autoencoder_implementation, autoencoder_file, autoencoder_params,
    dim_reduction_name, dim_reduction_implementation, dim_reduction_params,
    clustering_name, clustering_implementation, clustering_params)
  VALUES (
    load_analysis_run.run_timestamp, load_analysis_run.analysis_type, load_analysis_run.model_name,
    load_analysis_run.model_version, load_analysis_run.status, coalesce(load_analysis_run.metrics, '{}'),
    load_analysis_run.row_count, load_analysis_run.duration_ms, load_analysis_run.error,
    load_analysis_run.autoencoder_name, load_analysis_run.autoencoder_implementation,
    load_analysis_run.autoencoder_file, load_analysis_run.autoencoder_params,
    load_analysis_run.dim_reduction_name, load_analysis_run.dim_reduction_implementation,
    load_analysis_run.dim_reduction_params,
    load_analysis_run.clustering_name, load_analysis_run.clustering_implementation,
    load_analysis_run.clustering_params)
  RETURNING id INTO new_id;
  RETURN new_id;
END
$$;

-- Comments that said where a requirement came from now say what things are ------------------

COMMENT ON COLUMN ml.cluster_assignments.coordinates IS 'Left NULL, kept for applications that wrote it: reduced coordinates are in ml.embedding_coordinates (see the view ml.run_points).';
COMMENT ON TABLE ml.duplicate_assignments IS
  'The duplicate fields (exact and similar group, confidence, type) of each item of a duplicate-detection run that belongs to a group (ml.group_near_duplicates).';
COMMENT ON FUNCTION ml.load_analysis_run IS
  'Records one analysis run that ran elsewhere (every column of ml.analysis_runs by named argument); all arguments are optional but analysis_type. Returns the run id.';
COMMENT ON FUNCTION ml.group_near_duplicates IS
  'Groups exact duplicates (same SHA-256) and near-duplicates (perceptual hashes within a radius) of a table or view into ml.duplicate_assignments (burst, panorama and similar groups); returns the run id.';

-- The functions in Rust that run SQL pin search_path too ----------------------------------

ALTER FUNCTION ml.cluster_embeddings SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.reduce_embeddings SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.predict_cluster SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.predict_clusters SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.score_drift SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ml.group_near_duplicates SET search_path = pg_catalog, pg_temp;

-- ml.plot_run: a run without coordinates is drawn from a relation the caller names.
DROP FUNCTION ml.plot_run(bigint, integer, integer);
CREATE FUNCTION ml.plot_run(run_id bigint, width int DEFAULT 800, height int DEFAULT 600, source regclass DEFAULT NULL) RETURNS text
STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'plot_run_wrapper';
COMMENT ON FUNCTION ml.plot_run IS
  'An SVG scatter plot of a run''s points (reduced coordinates, or the first two principal components), coloured by cluster.';

-- 99_finish.sql -------------------------------------------------------------------------------

-- A trigger on a table of schema ml runs its function as whoever writes the table: the
-- extension's own functions, the owner's jobs, a superuser restoring a dump. A role granted
-- TRIGGER on a table (GRANT ALL does) could so run its code as any of them, and could change
-- the audit rows the registry writes. A foreign key into a table of ml, which REFERENCES (also
-- in ALL) allows, is checked as the table's owner without row-level security: it would tell a
-- role which of another tenant's keys exist, and could block that tenant's deletes. So only a
-- role that owns the table in ml may create a trigger on it or a foreign key to it.
CREATE FUNCTION ml.refuse_foreign_hooks() RETURNS event_trigger
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
-- After every DDL command, not a list of tags: a CREATE TABLE inside CREATE SCHEMA runs under
-- the tag CREATE SCHEMA, and whatever else may create a trigger or a foreign key is covered too.
CREATE EVENT TRIGGER pg_mlkit_refuse_foreign_hooks ON ddl_command_end
  EXECUTE FUNCTION ml.refuse_foreign_hooks();
