-- Alert rules on logged predictions, and daily rollups of the prediction log.
-- The expected output of this file is what docs/functions/monitoring.md shows.

-- Start from an empty log (the other suites predicted too).
DELETE FROM ml.ml_prediction_log;
DELETE FROM ml.ml_anomaly_alerts;

-- What a rule may watch.
SELECT ml.alert_rule_metrics();

-- Two rules: slow predictions of any model, and very unusual ones of the fraud model.
INSERT INTO ml.alert_rules (name, metric, comparison, threshold, severity, cooldown) VALUES
  ('slow predictions', 'response_time_ms', '>', 100, 'medium', '1 hour');
INSERT INTO ml.alert_rules (name, model_name, metric, comparison, threshold, severity, cooldown) VALUES
  ('fraud outliers', 'fraud_v2', 'anomaly_score', '>=', 0.99, 'high', '0');

SELECT ml.log_prediction('fraud_v2', 1, anomaly_score => 0.42, response_time_ms => 12) > 0 AS logged;  -- nothing fires
SELECT ml.log_prediction('fraud_v2', 1, anomaly_score => 0.995, is_anomaly => true, severity => 'warning',
                         response_time_ms => 250) > 0 AS logged;  -- both fire
SELECT ml.log_prediction('churn_v1', 0, response_time_ms => 400) > 0 AS logged;  -- slow again, but within the cooldown
SELECT ml.log_prediction('fraud_v2', 0, anomaly_score => 1.3) > 0 AS logged;     -- no cooldown: fires again
SELECT r.name AS rule, a.model_name, a.severity, a.status, a.title, a.details -> 'value' AS value
  FROM ml.monitoring_alerts a JOIN ml.alert_rules r ON r.id = a.rule_id ORDER BY a.id;

-- Many predictions in one statement fire a rule once, with the most extreme value.
INSERT INTO ml.ml_prediction_log (model_name, prediction_value, anomaly_score)
  SELECT 'fraud_v2', 1, s FROM unnest(ARRAY[0.1, 0.999, 1.7, 0.5]) s;
SELECT a.details -> 'value' AS value, a.details -> 'matching_predictions' AS matching
  FROM ml.monitoring_alerts a ORDER BY a.id DESC LIMIT 1;

-- Daily rollups: counts, anomaly rate and latency percentiles per model; running it again
-- for the same day rewrites the same rows.
UPDATE ml.ml_prediction_log SET created_at = '2026-01-15 12:00:00+00';
SET TIME ZONE 'UTC';
SELECT ml.rollup_monitoring('2026-01-15') AS models;
SELECT ml.rollup_monitoring('2026-01-15') AS models_again;
SELECT model_name, day, prediction_count, anomaly_count, latency_p50_ms, latency_p95_ms,
       round(mean_prediction::numeric, 4) AS mean_prediction, metrics -> 'severity' AS severity
  FROM ml.monitoring_daily_rollups ORDER BY model_name;
SELECT ml.rollup_monitoring('2026-01-16') AS models_on_a_quiet_day;
RESET TIME ZONE;

-- Bad rules and arguments are errors with SQLSTATE, message and hint.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set ON_ERROR_STOP 0
INSERT INTO ml.alert_rules (name, metric, threshold) VALUES ('accuracy drop', 'accuracy', 0.9);
INSERT INTO ml.alert_rules (name, metric, threshold) VALUES ('nan', 'anomaly_score', 'NaN');
INSERT INTO ml.alert_rules (name, metric, threshold, cooldown) VALUES ('neg', 'anomaly_score', 1, '-1 hour');
INSERT INTO ml.alert_rules (name, metric, comparison, threshold) VALUES ('eq', 'anomaly_score', '=', 1);
SELECT ml.rollup_monitoring(NULL);
\set ON_ERROR_STOP 1
DELETE FROM ml.monitoring_alerts;
DELETE FROM ml.alert_rules;
DELETE FROM ml.monitoring_daily_rollups;
DELETE FROM ml.ml_prediction_log;
