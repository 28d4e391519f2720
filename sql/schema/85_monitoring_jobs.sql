-- Alert rules on predictions, and daily rollups of the prediction log (issue 8 §4).
-- Documented in docs/functions/monitoring.md.

-- The metrics a rule may watch. Prediction metrics are checked on every row written to
-- ml.ml_prediction_log (by ml.predict_cluster, ml.predict_clusters, ml.log_prediction or a
-- plain INSERT); drift metrics by ml.score_drift.
CREATE OR REPLACE FUNCTION ml.alert_rule_metrics() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['anomaly_score', 'prediction_value', 'response_time_ms',
                   'drift_share', 'drifted_columns'] $$;
COMMENT ON FUNCTION ml.alert_rule_metrics() IS
  'The metrics an ml.alert_rules row may watch: anomaly_score, prediction_value, response_time_ms (each logged prediction), drift_share, drifted_columns (each ml.score_drift run).';

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
COMMENT ON FUNCTION ml.check_alert_rule() IS
  'Trigger support of ml.alert_rules: refuses a rule whose metric pg_mlkit does not evaluate, or whose comparison or threshold is not valid.';
CREATE TRIGGER alert_rules_check BEFORE INSERT OR UPDATE ON ml.alert_rules
  FOR EACH ROW EXECUTE FUNCTION ml.check_alert_rule();

-- Fires the rules on a batch of newly logged predictions: for every enabled rule on a
-- prediction metric whose model matches, the most extreme value that satisfies it raises one
-- ml.monitoring_alerts row — unless the rule already fired within its cooldown. Rules, rows and
-- alerts are matched within a tenant (an owner's insert may carry rows of several).
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
COMMENT ON FUNCTION ml.fire_prediction_rules() IS
  'Trigger support: evaluates the alert rules on the predictions a statement logged, opening ml.monitoring_alerts rows.';
CREATE TRIGGER ml_prediction_log_rules AFTER INSERT ON ml.ml_prediction_log
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml.fire_prediction_rules();

-- Daily rollups of the prediction log, per tenant: an owner's run (a pg_cron job) rolls up
-- every tenant, an application role its own.
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
COMMENT ON FUNCTION ml.rollup_monitoring(date) IS
  'Fills ml.monitoring_daily_rollups for one day (default yesterday, in the session''s time zone) from ml.ml_prediction_log: counts, anomaly rate, latency percentiles per model. Idempotent.';

-- Fires the rules on drift metrics when a drift run is recorded (by ml.score_drift, or by
-- ml.load_analysis_run for drift measured elsewhere): drift_share and drifted_columns from the
-- run's metrics; one alert per rule, unless it fired within its cooldown.
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
COMMENT ON FUNCTION ml.fire_drift_rules() IS
  'Trigger support: evaluates the drift alert rules when a drift run is recorded.';
CREATE TRIGGER analysis_runs_drift_rules AFTER INSERT ON ml.analysis_runs
  FOR EACH ROW WHEN (NEW.analysis_type = 'drift') EXECUTE FUNCTION ml.fire_drift_rules();
