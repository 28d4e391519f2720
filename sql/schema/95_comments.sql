-- What the tables hold, for \d+ and any tool that reads the catalogue. (Tables whose files
-- describe them already keep their comments there.)

-- @begin catalogue_comments (a block the 0.3.0 upgrade includes: scripts/compose_upgrade.py)
COMMENT ON TABLE ml.ml_prediction_log IS
  'One row per logged prediction of any model: ml.predict_cluster and ml.predict_clusters write here (log => true), and ml.log_prediction for models scored elsewhere. Alert rules are evaluated on each row.';
COMMENT ON COLUMN ml.ml_prediction_log.model_name IS 'The model that predicted, as named in ml.model_registry (or any name, for models registered elsewhere).';
COMMENT ON COLUMN ml.ml_prediction_log.prediction_value IS 'What the model predicted: the cluster number for a K-Means model, else the model''s own value.';
COMMENT ON COLUMN ml.ml_prediction_log.input_features IS 'What was predicted from, as JSON: for pg_mlkit''s predictions the model version, dimension and norm (or the item and run of ml.predict_clusters).';
COMMENT ON COLUMN ml.ml_prediction_log.anomaly_score IS 'How unusual the input is for the model: for K-Means the distance''s rank among the cluster''s training distances (0 to 1, above 1 beyond the farthest).';
COMMENT ON COLUMN ml.ml_prediction_log.is_anomaly IS 'Whether anomaly_score reached the model''s anomaly threshold (parameters.anomaly.threshold, default 0.99).';
COMMENT ON COLUMN ml.ml_prediction_log.severity IS 'normal, warning or critical, from the anomaly score and the model''s thresholds.';
COMMENT ON COLUMN ml.ml_prediction_log.response_time_ms IS 'How long the prediction took, in milliseconds, where the caller measured it.';

COMMENT ON TABLE ml.model_registry IS
  'Every version of every stored model: its type, stage, parameters, metrics and the artifact it predicts with (a K-Means model''s centroids and distance profiles), and the run that fitted it.';
COMMENT ON COLUMN ml.model_registry.name IS 'The model''s name: what ml.predict_cluster(model => ...) and ml.centroids take.';
COMMENT ON COLUMN ml.model_registry.version IS 'The version, unique per name and tenant: numbered 1, 2, ... by pg_mlkit unless run.model_version names it.';
COMMENT ON COLUMN ml.model_registry.stage IS 'none, staging, production or archived; without a version, prediction takes the version aliased production, else the newest production stage, else the newest.';
COMMENT ON COLUMN ml.model_registry.model_type IS 'What kind of model: kmeans, pca, or any type a client registers.';
COMMENT ON COLUMN ml.model_registry.parameters IS 'Every parameter the fit used, and the anomaly thresholds prediction applies (key anomaly).';
COMMENT ON COLUMN ml.model_registry.artifact IS 'What the model predicts with, as JSON (see docs/models.md): for K-Means its centroids, metric and per-cluster distance quantiles.';
COMMENT ON COLUMN ml.model_registry.metrics IS 'The fitting run''s metrics.';
COMMENT ON COLUMN ml.model_registry.source_run_id IS 'The ml.analysis_runs row of the run that fitted this version (NULL once that run is deleted).';

COMMENT ON TABLE ml.alert_rules IS
  'Alert rules: on every logged prediction (ml.ml_prediction_log) and every drift run, when metric compared with threshold holds, an ml.monitoring_alerts row is opened, at most once per cooldown.';
COMMENT ON COLUMN ml.alert_rules.model_name IS 'The model the rule watches; NULL for every model.';
COMMENT ON COLUMN ml.alert_rules.metric IS 'What is compared: anomaly_score, prediction_value or response_time_ms of a logged prediction, or drift_share or drifted_columns of a drift run (docs/functions/monitoring.md).';
COMMENT ON COLUMN ml.alert_rules.comparison IS 'How metric is compared with threshold: >, >=, < or <=.';
COMMENT ON COLUMN ml.alert_rules.severity IS 'The severity of the alerts the rule opens: low, medium, high or critical.';
COMMENT ON COLUMN ml.alert_rules.cooldown IS 'The least time between two alerts of the rule.';

COMMENT ON TABLE ml.data_drift IS
  'One row per feature per drift check: the statistic, p-value and threshold of the test chosen (as Evidently chooses it), whether it drifted, and the two samples'' sizes and windows; ml.score_drift writes them.';
COMMENT ON COLUMN ml.data_drift.feature_name IS 'The column (feature) compared.';
COMMENT ON COLUMN ml.data_drift.method IS 'The test or distance used: ks, wasserstein, psi, jensenshannon, chisquare, z, or an embedding method.';
COMMENT ON COLUMN ml.data_drift.statistic IS 'The test''s statistic or the distance.';
COMMENT ON COLUMN ml.data_drift.p_value IS 'The test''s p-value, for tests (NULL for distances).';
COMMENT ON COLUMN ml.data_drift.threshold IS 'The bound the statistic or p-value was compared with.';
COMMENT ON COLUMN ml.data_drift.is_drifted IS 'Whether the feature drifted by that bound.';
COMMENT ON COLUMN ml.data_drift.details IS 'What else the check computed (bins, sample sizes, the reason for the method chosen), as JSON.';
COMMENT ON COLUMN ml.data_drift.run_id IS 'The ml.analysis_runs row of the ml.score_drift call that wrote it.';

COMMENT ON TABLE ml.monitoring_alerts IS
  'Alerts opened by alert rules (on predictions and on drift runs), with their status (open, acknowledged, resolved) and who acknowledged them.';
COMMENT ON COLUMN ml.monitoring_alerts.rule_id IS 'The ml.alert_rules row that opened it (NULL once the rule is deleted, or for alerts a client inserted).';
COMMENT ON COLUMN ml.monitoring_alerts.status IS 'open, acknowledged or resolved.';
COMMENT ON COLUMN ml.monitoring_alerts.title IS 'One line saying what happened.';
COMMENT ON COLUMN ml.monitoring_alerts.details IS 'The figures behind the alert, as JSON.';
COMMENT ON COLUMN ml.monitoring_alerts.acknowledged_by IS 'The role that acknowledged the alert, stamped by the database (not the client).';
COMMENT ON TABLE ml.ab_analysis_snapshots IS
  'An experiment''s analysis at a point in time: per-variant statistics of a metric, the lift and its p-value.';
COMMENT ON TABLE ml.ab_assignments IS
  'Which variant each unit (user, session, item) of an experiment was assigned, once per unit.';
COMMENT ON TABLE ml.ab_experiments IS
  'A/B experiments: name, status, variants with their weights, the salt that (hashed with a unit id) assigns each unit deterministically, and the primary metric.';
COMMENT ON TABLE ml.ab_exposures IS
  'Each time a unit was exposed to its variant of an experiment, with the context.';
COMMENT ON TABLE ml.ab_outcomes IS
  'The values of an experiment''s metrics recorded per unit and variant.';
COMMENT ON TABLE ml.ai_learning_memory IS
  'Errors an assistant met (the failed query, the issue) with the fix it learnt and its confidence, for reuse.';
COMMENT ON TABLE ml.batch_job_events IS
  'What happened during a batch job (started, progress, failed, finished), with a message and payload.';
COMMENT ON TABLE ml.batch_jobs IS
  'Batch prediction jobs: the model, input and output, parameters, status, and how many items were processed or failed.';
COMMENT ON TABLE ml.confusion_matrices IS
  'A classifier''s confusion matrix on a dataset: its labels and the matrix of counts.';
COMMENT ON TABLE ml.evaluation_metrics IS
  'One metric of a model (or training run) on a dataset split: name, value and metadata.';
COMMENT ON TABLE ml.feature_importance IS
  'How much each feature matters to a model, by a method (permutation, gain, ...), with its rank.';
COMMENT ON TABLE ml.hyperparameter_studies IS
  'Hyperparameter searches: the objective metric and direction, the search space and sampler, the trial budget, and the best value and parameters found.';
COMMENT ON TABLE ml.ml_anomaly_alerts IS
  'An alert per anomalous prediction (ml.predict_cluster and ml.predict_clusters with log): severity and why, in alert_data, until acknowledged.';
COMMENT ON TABLE ml.model_aliases IS
  'Named pointers to model versions (such as production), which prediction follows when no version is given.';
COMMENT ON TABLE ml.model_comparisons IS
  'A baseline and a candidate model compared on a dataset''s metric: both values, the p-value and the winner.';
COMMENT ON TABLE ml.model_tags IS
  'Key-value tags on model versions.';
COMMENT ON TABLE ml.monitoring_daily_rollups IS
  'Per model and day, from the prediction log: counts of predictions, anomalies and errors, latency percentiles and the mean prediction (ml.rollup_monitoring writes them).';
COMMENT ON TABLE ml.performance_drift IS
  'A model metric compared between a baseline and a current window: both values, the relative change and whether it degraded.';
COMMENT ON TABLE ml.prediction_cache IS
  'Cached predictions by model and input hash, with hits and expiry.';
COMMENT ON TABLE ml.predictions IS
  'Predictions a model made for items (of a batch job or not): input, prediction, confidence and latency.';
COMMENT ON TABLE ml.threshold_analysis IS
  'A classifier''s precision, recall, F1 and rates at each decision threshold on a dataset.';
COMMENT ON TABLE ml.training_artifacts IS
  'Files a training run produced (weights, plots, logs): type, name, URI, size and checksum.';
COMMENT ON TABLE ml.training_events IS
  'What happened during a training run (epochs, steps, checkpoints, errors), with a message and payload.';
COMMENT ON TABLE ml.training_runs IS
  'Training runs of models: hyperparameters, dataset, metrics, progress in epochs, status, timings and error.';
-- @end catalogue_comments
