-- pg_mlkit 0.1.0 -> 0.2.0. Run by ALTER EXTENSION pg_mlkit UPDATE; tests/upgrade/ checks that
-- the result is the schema a fresh 0.2.0 install creates, with every row kept.
--
-- What 0.2.0 adds to the tables: clustering's probability and outlier score, duplicate
-- groups, reduced coordinates (and the view ml.run_points), drift rows tied to their run,
-- alert rules and daily rollups, an audit of stage changes that outlives its model, role
-- columns that cannot be forged, and keys sealed per tenant. New columns go at the end of
-- their tables, where the fresh install puts them too.
\echo Use "ALTER EXTENSION pg_mlkit UPDATE TO '0.2.0'" to load this file. \quit

-- 00_common.sql ------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ml.current_tenant() RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_wrapper';

COMMENT ON FUNCTION ml.current_tenant() IS
  'The tenant of this session: the app.tenant setting, or ''default'' when it is unset or empty (an error when pg_mlkit.require_tenant is on).';

-- Columns that name a role (created_by, acknowledged_by) cannot be forged: for every role but
-- the owner, the trigger writes current_user. TG_ARGV[0] names the column; TG_ARGV[1] is
-- 'creator' (set on insert, never changed) or 'actor' (set to current_user whenever it is set
-- or changed to a value; it may be cleared).
CREATE FUNCTION ml.stamp_actor() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  col    text := TG_ARGV[0];
  given  jsonb;
BEGIN
  -- The owner of the table (and superusers) may write anything: restores, corrections.
  IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NEW;
  END IF;
  IF TG_ARGV[1] = 'creator' THEN
    NEW := jsonb_populate_record(NEW, jsonb_build_object(col,
             CASE TG_OP WHEN 'INSERT' THEN to_jsonb(current_user::text) ELSE to_jsonb(OLD) -> col END));
  ELSE
    given := to_jsonb(NEW) -> col;
    IF given IS NOT NULL AND given <> 'null'::jsonb
       AND (TG_OP = 'INSERT' OR given IS DISTINCT FROM to_jsonb(OLD) -> col) THEN
      NEW := jsonb_populate_record(NEW, jsonb_build_object(col, current_user::text));
    END IF;
  END IF;
  RETURN NEW;
END
$$;

-- TRUNCATE ignores row-level security: a role allowed to truncate a table would empty it for
-- every tenant. So only the owner of the tables (and superusers) may; 99_finish.sql attaches
-- this to every table.
CREATE FUNCTION ml.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'TRUNCATE of ml.% by role % is refused: it would empty the table for every tenant', TG_TABLE_NAME, current_user
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'DELETE the rows of your tenant instead; only the owner of the table may truncate it.';
END
$$;

-- 10_analysis.sql ----------------------------------------------------------------------------

ALTER TABLE ml.cluster_assignments
  ADD COLUMN probability   double precision CHECK (probability BETWEEN 0 AND 1),
  ADD COLUMN outlier_score double precision;
DROP INDEX ml.cluster_assignments_cluster_idx;
COMMENT ON COLUMN ml.cluster_assignments.probability IS 'Strength of the item''s membership in its cluster, 0 to 1 (0 for noise), where the algorithm gives one (HDBSCAN).';
COMMENT ON COLUMN ml.cluster_assignments.outlier_score IS 'How much of an outlier the item is, where the algorithm gives a score.';
COMMENT ON COLUMN ml.cluster_assignments.coordinates IS 'Kept for seed 000''s layout and left NULL: reduced coordinates are in ml.embedding_coordinates (see the view ml.run_points).';

CREATE TABLE ml.duplicate_assignments (
  run_id                    bigint NOT NULL REFERENCES ml.analysis_runs (id) ON DELETE CASCADE,
  item_id                   text NOT NULL,
  tenant_id                 text NOT NULL DEFAULT ml.current_tenant(),
  exact_group_id            text,
  exact_group_confidence    text CHECK (exact_group_confidence IN ('high', 'medium', 'low')),
  similar_group_id          text,
  similar_group_confidence  text CHECK (similar_group_confidence IN ('high', 'medium', 'low')),
  similar_group_type        text CHECK (similar_group_type IN ('burst', 'panorama', 'similar')),
  hamming_distance          integer CHECK (hamming_distance BETWEEN 0 AND 64),
  PRIMARY KEY (run_id, item_id),
  CHECK (exact_group_id IS NOT NULL OR similar_group_id IS NOT NULL),
  CHECK ((exact_group_id IS NULL) = (exact_group_confidence IS NULL)),
  CHECK ((similar_group_id IS NULL) = (similar_group_confidence IS NULL)
         AND (similar_group_id IS NULL) = (similar_group_type IS NULL))
);
CREATE INDEX duplicate_assignments_similar_idx ON ml.duplicate_assignments (run_id, similar_group_id);

COMMENT ON TABLE ml.duplicate_assignments IS
  'Seed 003''s duplicate fields for each item of a duplicate-detection run that belongs to a group (ml.group_near_duplicates).';
COMMENT ON COLUMN ml.duplicate_assignments.exact_group_id IS 'The SHA-256 (hex) the item shares with at least one other item; NULL when it has no exact duplicate.';
COMMENT ON COLUMN ml.duplicate_assignments.similar_group_id IS 'The id of the group''s leader (the first shot of a panorama); NULL when the item has no near-duplicate.';
COMMENT ON COLUMN ml.duplicate_assignments.similar_group_confidence IS 'high, medium or low, from the item''s Hamming distance to its leader (see the run''s params).';
COMMENT ON COLUMN ml.duplicate_assignments.similar_group_type IS 'burst (shot within seconds), panorama (a time-ordered run of overlapping shots) or similar.';
COMMENT ON COLUMN ml.duplicate_assignments.hamming_distance IS 'The distance that set the confidence: to the leader (to the nearest neighbouring shot in a panorama).';

CREATE TABLE ml.embedding_coordinates (
  run_id     bigint NOT NULL REFERENCES ml.analysis_runs (id) ON DELETE CASCADE,
  item_id    text NOT NULL,
  tenant_id  text NOT NULL DEFAULT ml.current_tenant(),
  coords     real[] NOT NULL CHECK (cardinality(coords) BETWEEN 1 AND 1000),
  PRIMARY KEY (run_id, item_id)
);

COMMENT ON TABLE ml.embedding_coordinates IS
  'Reduced coordinates of every item of a run that reduced its embeddings (ml.reduce_embeddings, or ml.cluster_embeddings with a reduction).';
COMMENT ON COLUMN ml.embedding_coordinates.coords IS 'The item''s coordinates, n_components of them (PCA, t-SNE or UMAP).';

CREATE VIEW ml.run_points WITH (security_invoker = true) AS
SELECT coalesce(a.run_id, c.run_id)   AS run_id,
       coalesce(a.item_id, c.item_id) AS item_id,
       a.cluster,
       a.distance,
       c.coords,
       coalesce(a.tenant_id, c.tenant_id) AS tenant_id
  FROM ml.cluster_assignments a
  FULL JOIN ml.embedding_coordinates c ON c.run_id = a.run_id AND c.item_id = a.item_id AND c.tenant_id = a.tenant_id;

COMMENT ON VIEW ml.run_points IS
  'Every item of a run in one place: its cluster and distance (clustering runs) and its reduced coordinates (runs with a reduction).';

-- Writing a million assignments row by row through the foreign key's per-row check costs
-- about 10 µs a row, more than the clustering itself. So the per-row insert check of the
-- foreign key is switched off, and one statement-level check does the same work for a whole
-- batch: every run id inserted must be a run the inserting session can see, and those runs
-- are locked FOR KEY SHARE (as the foreign key's check would lock them) until the
-- transaction ends. The foreign key itself stays: it still cascades deletes, checks updates
-- of run_id, and tells pg_dump to restore runs before their assignments.
-- Runs are matched by (tenant_id, run_id), as the sealed foreign key would match them: a run
-- of another tenant with the same id is as missing as no run at all.
CREATE FUNCTION ml.check_assignment_runs() RETURNS trigger
LANGUAGE plpgsql
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
CREATE TRIGGER cluster_assignments_run_check
  AFTER INSERT ON ml.cluster_assignments
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml.check_assignment_runs();
CREATE TRIGGER embedding_coordinates_run_check
  AFTER INSERT ON ml.embedding_coordinates
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml.check_assignment_runs();
CREATE TRIGGER duplicate_assignments_run_check
  AFTER INSERT ON ml.duplicate_assignments
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml.check_assignment_runs();
-- The per-row insert checks of their foreign keys are switched off in 99_finish.sql, once the
-- keys are sealed.

-- 20_monitoring.sql --------------------------------------------------------------------------

CREATE TRIGGER ml_anomaly_alerts_acknowledged_by
  BEFORE INSERT OR UPDATE ON ml.ml_anomaly_alerts
  FOR EACH ROW EXECUTE FUNCTION ml.stamp_actor('acknowledged_by', 'actor');

-- Logging any model's prediction (ml.predict_cluster logs its own): every column of
-- ml_prediction_log by named argument; bad values are errors with a SQLSTATE and a hint.
CREATE FUNCTION ml.log_prediction(
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
AS $$
DECLARE
  new_id bigint;
BEGIN
  IF $1 IS NULL OR $1 = '' THEN
    RAISE EXCEPTION 'ml.log_prediction: model_name must be given, not %', coalesce(quote_literal($1), 'NULL')
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
    RAISE EXCEPTION 'ml.log_prediction: severity must be normal, warning or critical, not %', coalesce(quote_literal($6), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Seed 001''s severities; leave severity out for normal.';
  END IF;
  IF $7 < 0 THEN
    RAISE EXCEPTION 'ml.log_prediction: response_time_ms must not be negative, not %', $7
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Log the time the prediction took, in milliseconds.';
  END IF;
  INSERT INTO ml.ml_prediction_log
    (model_name, prediction_value, input_features, anomaly_score, is_anomaly, severity, response_time_ms, active, created_at, updated_at)
  VALUES ($1, $2, $3, $4, coalesce($5, false), $6, $7, coalesce($8, true), coalesce($9, now()), coalesce($9, now()))
  RETURNING id INTO new_id;
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION ml.log_prediction IS
  'Records a prediction any model made in ml.ml_prediction_log (every column by named argument); returns its id.';

-- 30_registry.sql ----------------------------------------------------------------------------

-- The audit outlives its model: model_id becomes nullable and SET NULL, and each row keeps
-- the model's name and version (filled here for the rows 0.1.0 wrote).
ALTER TABLE ml.model_stage_transitions
  ALTER COLUMN model_id DROP NOT NULL,
  DROP CONSTRAINT model_stage_transitions_model_id_fkey,
  ADD CONSTRAINT model_stage_transitions_model_id_fkey FOREIGN KEY (model_id) REFERENCES ml.model_registry (id) ON DELETE SET NULL,
  ADD COLUMN model_name text,
  ADD COLUMN model_version text;
UPDATE ml.model_stage_transitions t
   SET model_name = m.name, model_version = m.version
  FROM ml.model_registry m
 WHERE m.id = t.model_id;

COMMENT ON TABLE ml.model_stage_transitions IS
  'Every change of a model''s stage, written by a trigger on ml.model_registry; append-only for every role but the owner of the table.';

CREATE OR REPLACE FUNCTION ml.record_stage_transition() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.stage IS DISTINCT FROM OLD.stage THEN
    INSERT INTO ml.model_stage_transitions (tenant_id, model_id, from_stage, to_stage, model_name, model_version)
    VALUES (NEW.tenant_id, NEW.id, OLD.stage, NEW.stage, NEW.name, NEW.version);
  END IF;
  RETURN NEW;
END
$$;
-- Append-only for every role but the owner: a row is added only by the trigger above, for a
-- stage the model really has now, and records who made the change (changed_by and the time
-- are set here, whatever the caller wrote); nothing is updated or deleted (nor truncated: see
-- ml.refuse_truncate).
CREATE FUNCTION ml.guard_stage_audit() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- The owner of the table (and superusers) may write anything: restores, corrections.
  IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'INSERT' AND pg_trigger_depth() > 1
     AND EXISTS (SELECT 1 FROM ml.model_registry m
                  WHERE m.id = NEW.model_id AND m.tenant_id = NEW.tenant_id AND m.stage = NEW.to_stage) THEN
    NEW.changed_by := current_user;
    NEW.transitioned_at := now();
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ml.model_stage_transitions is append-only: % by role % is not allowed', TG_OP, current_user
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Rows are added when a model''s stage changes (UPDATE ml.model_registry SET stage = ...); only the owner of the table may change or remove them.';
END
$$;
CREATE TRIGGER model_stage_transitions_append_only
  BEFORE INSERT OR UPDATE OR DELETE ON ml.model_stage_transitions
  FOR EACH ROW EXECUTE FUNCTION ml.guard_stage_audit();

CREATE TRIGGER model_registry_created_by
  BEFORE INSERT OR UPDATE ON ml.model_registry
  FOR EACH ROW EXECUTE FUNCTION ml.stamp_actor('created_by', 'creator');

-- 40_training.sql ----------------------------------------------------------------------------

CREATE TRIGGER training_runs_created_by
  BEFORE INSERT OR UPDATE ON ml.training_runs
  FOR EACH ROW EXECUTE FUNCTION ml.stamp_actor('created_by', 'creator');

-- 80_drift.sql -------------------------------------------------------------------------------

ALTER TABLE ml.data_drift ADD COLUMN run_id bigint REFERENCES ml.analysis_runs (id) ON DELETE CASCADE;
CREATE INDEX data_drift_run_idx ON ml.data_drift (run_id);
CREATE TRIGGER monitoring_alerts_acknowledged_by
  BEFORE INSERT OR UPDATE ON ml.monitoring_alerts
  FOR EACH ROW EXECUTE FUNCTION ml.stamp_actor('acknowledged_by', 'actor');

-- 85_monitoring_jobs.sql (new in 0.2.0) ------------------------------------------------------

-- The metrics a rule may watch. Prediction metrics are checked on every row written to
-- ml.ml_prediction_log (by ml.predict_cluster, ml.predict_clusters, ml.log_prediction or a
-- plain INSERT); drift metrics by ml.score_drift.
CREATE FUNCTION ml.alert_rule_metrics() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['anomaly_score', 'prediction_value', 'response_time_ms',
                   'drift_share', 'drifted_columns'] $$;
COMMENT ON FUNCTION ml.alert_rule_metrics() IS
  'The metrics an ml.alert_rules row may watch: anomaly_score, prediction_value, response_time_ms (each logged prediction), drift_share, drifted_columns (each ml.score_drift run).';

CREATE FUNCTION ml.check_alert_rule() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NOT NEW.metric = ANY (ml.alert_rule_metrics()) THEN
    RAISE EXCEPTION 'alert rule %: metric % is not one pg_mlkit evaluates', quote_literal(NEW.name), quote_literal(NEW.metric)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use one of: ' || array_to_string(ml.alert_rule_metrics(), ', ') || '.';
  END IF;
  IF NEW.comparison IS NULL OR NEW.comparison NOT IN ('>', '>=', '<', '<=') THEN
    RAISE EXCEPTION 'alert rule %: comparison must be >, >=, < or <=, not %', quote_literal(NEW.name), coalesce(quote_literal(NEW.comparison), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A rule fires when "metric comparison threshold" holds, e.g. anomaly_score >= 0.99.';
  END IF;
  IF NEW.threshold = 'NaN'::float8 THEN
    RAISE EXCEPTION 'alert rule %: threshold must be a number, not NaN', quote_literal(NEW.name)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Compare the metric with a number.';
  END IF;
  IF NEW.cooldown < interval '0' THEN
    RAISE EXCEPTION 'alert rule %: cooldown must not be negative, not %', quote_literal(NEW.name), NEW.cooldown
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A rule fires at most once per cooldown; 0 fires every time.';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER alert_rules_check BEFORE INSERT OR UPDATE ON ml.alert_rules
  FOR EACH ROW EXECUTE FUNCTION ml.check_alert_rule();

-- Fires the rules on a batch of newly logged predictions: for every enabled rule on a
-- prediction metric whose model matches, the most extreme value that satisfies it raises one
-- ml.monitoring_alerts row — unless the rule already fired within its cooldown. Rules, rows and
-- alerts are matched within a tenant (an owner's insert may carry rows of several).
CREATE FUNCTION ml.fire_prediction_rules() RETURNS trigger
LANGUAGE plpgsql
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
    SELECT n.id, n.model_name, v.value, count(*) OVER () AS matching INTO hit
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
                              WHERE a.rule_id = r.id AND a.tenant_id = r.tenant_id AND a.triggered_at > now() - r.cooldown) THEN
      INSERT INTO ml.monitoring_alerts (tenant_id, rule_id, model_name, severity, title, details)
      VALUES (r.tenant_id, r.id, hit.model_name, r.severity,
              format('%s: %s %s %s %s', r.name, r.metric, hit.value, r.comparison, r.threshold),
              jsonb_build_object('rule', r.name, 'metric', r.metric, 'value', hit.value,
                                 'comparison', r.comparison, 'threshold', r.threshold,
                                 'prediction_log_id', hit.id, 'matching_predictions', hit.matching));
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER ml_prediction_log_rules AFTER INSERT ON ml.ml_prediction_log
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml.fire_prediction_rules();

-- Daily rollups of the prediction log, per tenant: an owner's run (a pg_cron job) rolls up
-- every tenant, an application role its own.
CREATE FUNCTION ml.rollup_monitoring(day date DEFAULT current_date - 1) RETURNS integer
LANGUAGE plpgsql VOLATILE
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
  SELECT l.tenant_id, l.model_name, $1, count(*), count(*) FILTER (WHERE l.is_anomaly), 0,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY l.response_time_ms),
         percentile_cont(0.95) WITHIN GROUP (ORDER BY l.response_time_ms),
         percentile_cont(0.99) WITHIN GROUP (ORDER BY l.response_time_ms),
         avg(l.prediction_value),
         jsonb_build_object(
           'anomaly_rate', count(*) FILTER (WHERE l.is_anomaly)::float8 / count(*),
           'mean_anomaly_score', avg(l.anomaly_score),
           'severity', jsonb_build_object('normal', count(*) FILTER (WHERE l.severity = 'normal'),
                                          'warning', count(*) FILTER (WHERE l.severity = 'warning'),
                                          'critical', count(*) FILTER (WHERE l.severity = 'critical')))
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
COMMENT ON FUNCTION ml.rollup_monitoring(date) IS
  'Fills ml.monitoring_daily_rollups for one day (default yesterday, in the session''s time zone) from ml.ml_prediction_log: counts, anomaly rate, latency percentiles per model. Idempotent.';

-- Fires the rules on drift metrics when a drift run is recorded (by ml.score_drift, or by
-- ml.load_analysis_run for drift measured elsewhere): drift_share and drifted_columns from the
-- run's metrics; one alert per rule, unless it fired within its cooldown.
CREATE FUNCTION ml.fire_drift_rules() RETURNS trigger
LANGUAGE plpgsql
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
                        WHERE a.rule_id = r.id AND a.tenant_id = r.tenant_id AND a.triggered_at > now() - r.cooldown) THEN
      INSERT INTO ml.monitoring_alerts (tenant_id, rule_id, model_name, severity, title, details)
      VALUES (r.tenant_id, r.id, NEW.model_name, r.severity,
              format('%s: %s %s %s %s', r.name, r.metric, value, r.comparison, r.threshold),
              jsonb_build_object('rule', r.name, 'metric', r.metric, 'value', value,
                                 'comparison', r.comparison, 'threshold', r.threshold,
                                 'run_id', NEW.id, 'source', NEW.source));
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER analysis_runs_drift_rules AFTER INSERT ON ml.analysis_runs
  FOR EACH ROW WHEN (NEW.analysis_type = 'drift') EXECUTE FUNCTION ml.fire_drift_rules();

-- The SQL functions, aggregates and types new in 0.2.0 (written by pgrx from src/; ml.cluster_embeddings
-- is unchanged) ---------------------------------------------------------------------------

-- requires:
--   common


CREATE TYPE ml.kmeans_state;
CREATE FUNCTION ml.kmeans_state_in(cstring) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_in';
CREATE FUNCTION ml.kmeans_state_out(ml.kmeans_state) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_out';
CREATE FUNCTION ml.kmeans_state_recv(internal) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_recv';
CREATE FUNCTION ml.kmeans_state_send(ml.kmeans_state) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_send';
CREATE TYPE ml.kmeans_state (
  INPUT = ml.kmeans_state_in, OUTPUT = ml.kmeans_state_out,
  RECEIVE = ml.kmeans_state_recv, SEND = ml.kmeans_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE ml.kmeans_state IS
  'One K-Means (Lloyd) step over some rows: per centroid the count and sum of the rows nearest to it, and the inertia. Built by ml.kmeans_step; text form is JSON.';

CREATE FUNCTION ml.kmeans_state_eq(ml.kmeans_state, ml.kmeans_state) RETURNS boolean
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_eq';
CREATE OPERATOR ml.= (
  LEFTARG = ml.kmeans_state, RIGHTARG = ml.kmeans_state, PROCEDURE = ml.kmeans_state_eq,
  COMMUTATOR = OPERATOR(ml.=)
);

CREATE FUNCTION ml.kmeans_step_transition(ml.kmeans_state, real[], real[]) RETURNS ml.kmeans_state
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_transition';
CREATE FUNCTION ml.kmeans_step_combine(ml.kmeans_state, ml.kmeans_state) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_combine';
CREATE AGGREGATE ml.kmeans_step(embedding real[], centroids real[]) (
  SFUNC = ml.kmeans_step_transition, STYPE = ml.kmeans_state,
  COMBINEFUNC = ml.kmeans_step_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.kmeans_step(real[], real[]) IS
  'One Lloyd step of K-Means: assigns every embedding to the nearest of the centroids (a k × d array) and sums them per centroid; NULL embeddings are skipped. Parallel and combinable.';

CREATE FUNCTION ml.kmeans_centroids(state ml.kmeans_state) RETURNS real[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_centroids';
COMMENT ON FUNCTION ml.kmeans_centroids(ml.kmeans_state) IS
  'The next centroids of a K-Means step (k × d): each centroid''s rows'' mean; a centroid no row chose is a row of NULLs.';
CREATE FUNCTION ml.kmeans_counts(state ml.kmeans_state) RETURNS bigint[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_counts';
COMMENT ON FUNCTION ml.kmeans_counts(ml.kmeans_state) IS 'Rows nearest to each centroid in a K-Means step.';
CREATE FUNCTION ml.kmeans_sums(state ml.kmeans_state) RETURNS double precision[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_sums';
COMMENT ON FUNCTION ml.kmeans_sums(ml.kmeans_state) IS 'Sum of the rows nearest to each centroid in a K-Means step (k × d).';
CREATE FUNCTION ml.kmeans_inertia(state ml.kmeans_state) RETURNS double precision
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_inertia';
COMMENT ON FUNCTION ml.kmeans_inertia(ml.kmeans_state) IS
  'Sum of squared Euclidean distances of the rows of a K-Means step to their nearest centroids.';

CREATE FUNCTION ml.nearest_centroid(embedding real[], centroids real[]) RETURNS integer
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_nearest_centroid';
COMMENT ON FUNCTION ml.nearest_centroid(real[], real[]) IS
  'Index (from 0) of the centroid nearest to the embedding (Euclidean; ties go to the lower index); centroids is a k × d array.';
CREATE FUNCTION ml.centroid_distance(embedding real[], centroids real[]) RETURNS double precision
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_centroid_distance';
COMMENT ON FUNCTION ml.centroid_distance(real[], real[]) IS
  'Euclidean distance from the embedding to the nearest of the centroids (a k × d array).';

CREATE FUNCTION ml.nearest_exemplar(embedding real[], exemplars real[], labels integer[], max_distance double precision DEFAULT NULL)
  RETURNS integer
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_nearest_exemplar';
COMMENT ON FUNCTION ml.nearest_exemplar(real[], real[], integer[], double precision) IS
  'The cluster (labels) of the exemplar (a row of the m × d exemplars) nearest to the embedding, or -1 when it is farther than max_distance: assigns the rows outside a clustered sample.';

CREATE FUNCTION ml.hist_agg_transition(bigint[], double precision, double precision[]) RETURNS bigint[]
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_hist_agg_transition';
CREATE FUNCTION ml.hist_agg_combine(bigint[], bigint[]) RETURNS bigint[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_hist_agg_combine';
CREATE AGGREGATE ml.hist_agg(x double precision, edges double precision[]) (
  SFUNC = ml.hist_agg_transition, STYPE = bigint[],
  COMBINEFUNC = ml.hist_agg_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.hist_agg(double precision, double precision[]) IS
  'Counts of x per bin of the increasing edges, as numpy.histogram: [e0, e1), …, [e(n-1), en]; NULL, NaN and values outside the edges are not counted. Parallel and combinable.';

-- requires:
--   aggregates


CREATE TYPE ml.quantile_sketch;
CREATE FUNCTION ml.quantile_sketch_in(cstring) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_in';
CREATE FUNCTION ml.quantile_sketch_out(ml.quantile_sketch) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_out';
CREATE FUNCTION ml.quantile_sketch_recv(internal) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_recv';
CREATE FUNCTION ml.quantile_sketch_send(ml.quantile_sketch) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_send';
CREATE TYPE ml.quantile_sketch (
  INPUT = ml.quantile_sketch_in, OUTPUT = ml.quantile_sketch_out,
  RECEIVE = ml.quantile_sketch_recv, SEND = ml.quantile_sketch_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE ml.quantile_sketch IS
  'A mergeable quantile sketch of a numeric column that carries its own rank-error bound. Built by ml.quantile_sketch_agg; text form is JSON.';

CREATE FUNCTION ml.quantile_sketch_transition(ml.quantile_sketch, double precision, integer) RETURNS ml.quantile_sketch
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_transition';
CREATE FUNCTION ml.quantile_sketch_transition(ml.quantile_sketch, double precision) RETURNS ml.quantile_sketch
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_transition';
CREATE FUNCTION ml.quantile_sketch_combine(ml.quantile_sketch, ml.quantile_sketch) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_combine';
CREATE AGGREGATE ml.quantile_sketch_agg(x double precision, k integer) (
  SFUNC = ml.quantile_sketch_transition, STYPE = ml.quantile_sketch,
  COMBINEFUNC = ml.quantile_sketch_combine, PARALLEL = SAFE
);
CREATE AGGREGATE ml.quantile_sketch_agg(x double precision) (
  SFUNC = ml.quantile_sketch_transition, STYPE = ml.quantile_sketch,
  COMBINEFUNC = ml.quantile_sketch_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.quantile_sketch_agg(double precision, integer) IS
  'A quantile sketch of x keeping k values per level (8 to 1048576); NULL, NaN and infinities are skipped. Parallel and combinable.';
COMMENT ON AGGREGATE ml.quantile_sketch_agg(double precision) IS
  'A quantile sketch of x with k = 4096; NULL, NaN and infinities are skipped. Parallel and combinable.';

-- pg_mlkit::duplicates::ahash

CREATE FUNCTION ml.ahash(image bytea) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'ahash_wrapper';
COMMENT ON FUNCTION ml.ahash(bytea) IS 'Average hash of a PNG or JPEG image, equal to imagehash.average_hash.';

-- pg_mlkit::drift::chi_square_test

CREATE FUNCTION ml.chi_square_test(reference text[], current text[])
RETURNS TABLE (statistic double precision, pvalue double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'chi_square_test_wrapper';
COMMENT ON FUNCTION ml.chi_square_test(text[], text[]) IS
  'Chi-square goodness of fit of the current categories to the reference''s shares, as Evidently''s chisquare test (scipy.stats.chisquare).';

-- pg_mlkit::duplicates::dhash

CREATE FUNCTION ml.dhash(image bytea) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'dhash_wrapper';
COMMENT ON FUNCTION ml.dhash(bytea) IS 'Difference hash of a PNG or JPEG image, equal to imagehash.dhash.';

-- pg_mlkit::duplicates::group_near_duplicates

CREATE FUNCTION ml.group_near_duplicates(
    source regclass,
    id_column name DEFAULT 'id',
    hash_column name DEFAULT 'phash',
    sha256_column name DEFAULT NULL,
    taken_at_column name DEFAULT NULL,
    params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'group_near_duplicates_wrapper';
COMMENT ON FUNCTION ml.group_near_duplicates IS
  'Groups exact duplicates (same SHA-256) and near-duplicates (perceptual hashes within a radius) of a table or view, as seed 003 does; returns the run id.';

-- pg_mlkit::duplicates::hamming_distance_bigint

CREATE FUNCTION ml.hamming_distance(a bigint, b bigint) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hamming_distance_bigint_wrapper';
COMMENT ON FUNCTION ml.hamming_distance(bigint, bigint) IS 'Number of bits in which two 64-bit hashes differ.';

-- pg_mlkit::duplicates::hamming_distance_bytea

CREATE FUNCTION ml.hamming_distance(a bytea, b bytea) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hamming_distance_bytea_wrapper';
COMMENT ON FUNCTION ml.hamming_distance(bytea, bytea) IS 'Number of bits in which two byte strings of the same length differ.';

-- requires:
--   hamming_distance_bigint
--   hamming_distance_bytea


CREATE FUNCTION ml.hamming_distance(a bit varying, b bit varying) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hamming_distance_varbit';
COMMENT ON FUNCTION ml.hamming_distance(bit varying, bit varying) IS 'Number of bits in which two bit strings of the same length differ.';

-- <^> ("xor distance"): pgvector has <~> for Hamming distance on bit, so a different name
-- keeps both extensions usable side by side.
CREATE OPERATOR ml.<^> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = ml.hamming_distance, COMMUTATOR = OPERATOR(ml.<^>));
CREATE OPERATOR ml.<^> (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = ml.hamming_distance, COMMUTATOR = OPERATOR(ml.<^>));
CREATE OPERATOR ml.<^> (LEFTARG = bit varying, RIGHTARG = bit varying, FUNCTION = ml.hamming_distance, COMMUTATOR = OPERATOR(ml.<^>));

-- pg_mlkit::duplicates::hash_bands

CREATE FUNCTION ml.hash_bands(hash bigint) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_bands_wrapper';
COMMENT ON FUNCTION ml.hash_bands(bigint) IS
  'Index keys of a 64-bit hash: index with USING gin (ml.hash_bands(col)), search with ml.hash_bands(col) && ml.hash_probe(query, radius).';

-- pg_mlkit::duplicates::hash_from_hex

CREATE FUNCTION ml.hash_from_hex(hex text) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_from_hex_wrapper';
COMMENT ON FUNCTION ml.hash_from_hex(text) IS 'A 64-bit hash from hex text as imagehash prints it (up to 16 hex digits).';

-- pg_mlkit::duplicates::hash_probe

CREATE FUNCTION ml.hash_probe(hash bigint, radius integer DEFAULT 4) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_probe_wrapper';
COMMENT ON FUNCTION ml.hash_probe(bigint, integer) IS
  'Band keys to search for hashes within radius: WHERE ml.hash_bands(col) && ml.hash_probe(q, r) AND ml.hamming_distance(col, q) <= r.';

-- pg_mlkit::duplicates::hash_to_hex

CREATE FUNCTION ml.hash_to_hex(hash bigint) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_to_hex_wrapper';
COMMENT ON FUNCTION ml.hash_to_hex(bigint) IS 'A 64-bit hash as 16 hex digits, as imagehash prints it.';

-- pg_mlkit::drift::jensen_shannon_categories

CREATE FUNCTION ml.jensen_shannon_distance(reference text[], current text[], base double precision DEFAULT NULL)
RETURNS double precision
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'jensen_shannon_categories_wrapper';
COMMENT ON FUNCTION ml.jensen_shannon_distance(text[], text[], double precision) IS
  'Jensen-Shannon distance of two categorical samples (one bin per category); natural log unless base is given.';

-- pg_mlkit::drift::jensen_shannon_numbers

CREATE FUNCTION ml.jensen_shannon_distance(reference double precision[], current double precision[], base double precision DEFAULT NULL)
RETURNS double precision
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'jensen_shannon_numbers_wrapper';
COMMENT ON FUNCTION ml.jensen_shannon_distance(double precision[], double precision[], double precision) IS
  'Jensen-Shannon distance of two numerical samples on Evidently''s bins (scipy.spatial.distance.jensenshannon); natural log unless base is given.';

-- pg_mlkit::drift::ks_2samp

CREATE FUNCTION ml.ks_2samp(reference double precision[], current double precision[],
                            alternative text DEFAULT 'two-sided', method text DEFAULT 'auto')
RETURNS TABLE (statistic double precision, pvalue double precision, statistic_location double precision,
               statistic_sign integer, exact boolean)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'ks_2samp_wrapper';
COMMENT ON FUNCTION ml.ks_2samp(double precision[], double precision[], text, text) IS
  'Two-sample Kolmogorov-Smirnov test, equal to scipy.stats.ks_2samp (exact p-values up to 10,000 values a sample with method auto).';

-- pg_mlkit::duplicates::phash

CREATE FUNCTION ml.phash(image bytea) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'phash_wrapper';
COMMENT ON FUNCTION ml.phash(bytea) IS 'Perceptual hash (DCT) of a PNG or JPEG image, equal to imagehash.phash.';

-- pg_mlkit::plot::plot_run

CREATE FUNCTION ml.plot_run(run_id bigint, width int DEFAULT 800, height int DEFAULT 600) RETURNS text
STABLE PARALLEL RESTRICTED
LANGUAGE c AS 'MODULE_PATHNAME', 'plot_run_wrapper';
COMMENT ON FUNCTION ml.plot_run IS
  'An SVG scatter plot of a run''s points (reduced coordinates, or the first two principal components), coloured by cluster.';

-- pg_mlkit::prediction::predict_cluster

CREATE FUNCTION ml.predict_cluster(
    model text,
    embedding real[],
    version text DEFAULT NULL,
    log boolean DEFAULT true,
    features jsonb DEFAULT NULL
) RETURNS TABLE (cluster integer, distance double precision, anomaly_score double precision, is_anomaly boolean)
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'predict_cluster_wrapper';
COMMENT ON FUNCTION ml.predict_cluster IS
  'Assigns an embedding to the nearest centroid of a stored K-Means model, with an anomaly score; logs the prediction (and an alert for an anomaly) unless log is false.';

-- pg_mlkit::prediction::predict_clusters

CREATE FUNCTION ml.predict_clusters(
    model text,
    source regclass,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    version text DEFAULT NULL,
    log boolean DEFAULT true
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'predict_clusters_wrapper';
COMMENT ON FUNCTION ml.predict_clusters IS
  'Assigns every row of a table or view to a stored K-Means model''s clusters with anomaly scores; records a run, and logs each prediction unless log is false.';

-- pg_mlkit::drift::psi_categories

CREATE FUNCTION ml.psi(reference text[], current text[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'psi_categories_wrapper';
COMMENT ON FUNCTION ml.psi(text[], text[]) IS
  'Population stability index of two categorical samples (one bin per category), with Evidently''s empty-bin rule.';

-- pg_mlkit::drift::psi_numbers

CREATE FUNCTION ml.psi(reference double precision[], current double precision[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'psi_numbers_wrapper';
COMMENT ON FUNCTION ml.psi(double precision[], double precision[]) IS
  'Population stability index of two numerical samples, on Evidently''s bins (Sturges'' rule, or one bin per value) and empty-bin rule.';

-- pg_mlkit::reduction::reduce_embeddings

CREATE FUNCTION ml.reduce_embeddings(
    source regclass,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    method text DEFAULT 'pca',
    params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'reduce_embeddings_wrapper';
COMMENT ON FUNCTION ml.reduce_embeddings IS
  'Reduces the embeddings of a table or view with PCA, t-SNE or UMAP; records the run in ml.analysis_runs and the coordinates in ml.embedding_coordinates; returns the run id.';

-- pg_mlkit::aggregates::sample_hash

CREATE FUNCTION ml.sample_hash(id text, seed bigint DEFAULT 0) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'sample_hash_wrapper';
COMMENT ON FUNCTION ml.sample_hash(text, bigint) IS
  'A number in [0, 1) determined by the id and the seed alone: a seeded sample that parallel workers and shards agree on.';

-- pg_mlkit::drift::score_drift

CREATE FUNCTION ml.score_drift(
    reference regclass,
    current regclass,
    columns text[] DEFAULT NULL,
    method text DEFAULT 'auto',
    params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'score_drift_wrapper';
COMMENT ON FUNCTION ml.score_drift IS
  'Scores the drift of every column (or the named ones) between a reference and a current table or view, choosing tests as Evidently does; records a run and ml.data_drift rows.';

-- pg_mlkit::aggregates::sketch_count

CREATE FUNCTION ml.sketch_count(sketch ml.quantile_sketch) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'sketch_count_wrapper';
COMMENT ON FUNCTION ml.sketch_count(ml.quantile_sketch) IS 'Number of values a quantile sketch has seen.';

-- pg_mlkit::aggregates::sketch_ks

CREATE FUNCTION ml.sketch_ks(reference ml.quantile_sketch, current ml.quantile_sketch)
RETURNS TABLE (statistic double precision, pvalue double precision, error_bound double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'sketch_ks_wrapper';
COMMENT ON FUNCTION ml.sketch_ks(ml.quantile_sketch, ml.quantile_sketch) IS
  'Two-sample KS test from two quantile sketches: the statistic (within error_bound of the exact one) and its asymptotic p-value.';

-- pg_mlkit::aggregates::sketch_quantile

CREATE FUNCTION ml.sketch_quantile(sketch ml.quantile_sketch, q double precision) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'sketch_quantile_wrapper';
COMMENT ON FUNCTION ml.sketch_quantile(ml.quantile_sketch, double precision) IS
  'The q-quantile (0 to 1) of a quantile sketch; its rank is within ml.sketch_rank_error of q.';

-- pg_mlkit::aggregates::sketch_rank_error

CREATE FUNCTION ml.sketch_rank_error(sketch ml.quantile_sketch) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'sketch_rank_error_wrapper';
COMMENT ON FUNCTION ml.sketch_rank_error(ml.quantile_sketch) IS
  'The guaranteed bound on the rank error of any quantile or CDF query, as a fraction of the count (0 while the sketch holds every value).';

-- pg_mlkit::aggregates::sketch_wasserstein

CREATE FUNCTION ml.sketch_wasserstein(reference ml.quantile_sketch, current ml.quantile_sketch)
RETURNS TABLE (distance double precision, normed double precision, error_bound double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'sketch_wasserstein_wrapper';
COMMENT ON FUNCTION ml.sketch_wasserstein(ml.quantile_sketch, ml.quantile_sketch) IS
  'Wasserstein-1 distance from two quantile sketches (within error_bound of the exact one), and normed by the reference''s standard deviation as Evidently does.';

-- pg_mlkit::drift::wasserstein_distance

CREATE FUNCTION ml.wasserstein_distance(reference double precision[], current double precision[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'wasserstein_distance_wrapper';
COMMENT ON FUNCTION ml.wasserstein_distance(double precision[], double precision[]) IS
  'First Wasserstein (earth mover''s) distance between two samples, equal to scipy.stats.wasserstein_distance.';

-- pg_mlkit::drift::z_test_proportions

CREATE FUNCTION ml.z_test_proportions(reference text[], current text[])
RETURNS TABLE (statistic double precision, pvalue double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'z_test_proportions_wrapper';
COMMENT ON FUNCTION ml.z_test_proportions(text[], text[]) IS
  'Two-proportion z-test (first category against the rest), as Evidently''s z test; two-sided p-value.';

-- 99_finish.sql ------------------------------------------------------------------------------

-- The new tables get what every table has (the loop of 99_finish.sql, for them).
DO $finish$
DECLARE
  t regclass;
BEGIN
  FOREACH t IN ARRAY ARRAY['ml.duplicate_assignments', 'ml.embedding_coordinates']::regclass[] LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = ml.current_tenant()) '
                   'WITH CHECK (tenant_id = ml.current_tenant())', t);
    PERFORM pg_catalog.pg_extension_config_dump(t, '');
  END LOOP;
  -- Every table, old and new, gets the TRUNCATE guard.
  FOR t IN
    SELECT c.oid::regclass FROM pg_class c
    WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind = 'r'
    ORDER BY c.relname
  LOOP
    EXECUTE format('CREATE TRIGGER truncate_guard BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ml.refuse_truncate()', t);
  END LOOP;
END
$finish$;

-- Grants made here would be the extension's own ("initial") privileges, which pg_dump leaves
-- out, so a restore would lose them. Roles that hold privileges on ml.cluster_assignments (an
-- application, a reader) are told what to grant on the new tables and view instead.
DO $grants$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS role,
           string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) AS privileges
      FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = 'ml.cluster_assignments'::regclass AND a.grantee <> c.relowner
     GROUP BY 1 ORDER BY 1
  LOOP
    RAISE NOTICE 'pg_mlkit 0.2.0 adds ml.duplicate_assignments, ml.embedding_coordinates and the view ml.run_points; role % has % on ml.cluster_assignments',
      g.role, g.privileges
      USING HINT = format('GRANT %s ON ml.duplicate_assignments, ml.embedding_coordinates TO %s; GRANT SELECT ON ml.run_points TO %s;',
                          g.privileges, g.role, g.role);
  END LOOP;
END
$grants$;

-- 0.1.0 let a row point at a parent of another tenant (its foreign keys did not carry the
-- tenant). Such rows cannot be sealed; the update stops, names them, and changes nothing.
DO $crossing$
DECLARE
  fk    record;
  n     bigint;
  found text := '';
BEGIN
  FOR fk IN
    SELECT con.conrelid::regclass AS tbl, a.attname AS col, con.confrelid::regclass AS parent, pa.attname AS parent_col,
           (SELECT relname FROM pg_class WHERE oid = con.conrelid) AS tname
      FROM pg_constraint con
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
      JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
     WHERE con.contype = 'f' AND con.connamespace = 'ml'::regnamespace AND cardinality(con.conkey) = 1
     ORDER BY 1, 2
  LOOP
    EXECUTE format('SELECT count(*) FROM %s c JOIN %s p ON p.%I = c.%I WHERE p.tenant_id <> c.tenant_id',
                   fk.tbl, fk.parent, fk.parent_col, fk.col) INTO n;
    IF n > 0 THEN
      found := found || format('%s in ml.%s.%s', n, fk.tname, fk.col) || '; ';
    END IF;
  END LOOP;
  IF found <> '' THEN
    RAISE EXCEPTION 'pg_mlkit 0.2.0 seals tenants, but rows refer to a parent of another tenant: %', rtrim(found, '; ')
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Find them with SELECT ... FROM <table> c JOIN <parent> p ON p.id = c.<column> WHERE p.tenant_id <> c.tenant_id, '
                   'fix or delete them, and run ALTER EXTENSION pg_mlkit UPDATE again (docs/operating.md).';
  END IF;
END
$crossing$;

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
  fks  text[] := '{}';
  key  record;
  stmt text;
BEGIN
  FOR fk IN
    SELECT con.conname, con.conrelid::regclass AS tbl, a.attname AS col, con.confrelid::regclass AS parent,
           pa.attname AS parent_col, con.confdeltype
      FROM pg_constraint con
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
      JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
     WHERE con.contype = 'f' AND con.connamespace = 'ml'::regnamespace AND cardinality(con.conkey) = 1
     ORDER BY con.conrelid::regclass::text, con.conname
  LOOP
    fks := fks || format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (tenant_id, %I) REFERENCES %s (tenant_id, %I) ON DELETE %s',
                         fk.tbl, fk.conname, fk.col, fk.parent, fk.parent_col,
                         CASE fk.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN format('SET NULL (%I)', fk.col)
                                             WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
  END LOOP;
  FOR key IN
    SELECT con.conname, con.conrelid::regclass AS tbl, con.contype,
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i)
              FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols
      FROM pg_constraint con
     WHERE con.contype IN ('p', 'u') AND con.connamespace = 'ml'::regnamespace
       AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = con.conrelid AND a.attname = 'tenant_id' AND a.attnum = ANY (con.conkey))
     ORDER BY con.conrelid::regclass::text, con.conname
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s (%s, tenant_id)',
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
  tbl regclass;
  t   name;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['ml.cluster_assignments', 'ml.duplicate_assignments', 'ml.embedding_coordinates']::regclass[] LOOP
    SELECT tg.tgname INTO STRICT t
      FROM pg_trigger tg
      JOIN pg_constraint c ON c.oid = tg.tgconstraint
     WHERE tg.tgrelid = tbl AND c.conrelid = tbl AND c.contype = 'f'
       AND tg.tgfoid = 'pg_catalog."RI_FKey_check_ins"'::regproc;
    EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', tbl, t);
  END LOOP;
END
$$;
