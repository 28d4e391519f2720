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

COMMENT ON COLUMN ml.tenant_access.role_name IS 'The role granted (and its members), by name; ''public'' is PUBLIC, every role.';
COMMENT ON COLUMN ml.tenant_access.tenant IS 'The tenant, as sessions name it in the app.tenant setting.';
COMMENT ON COLUMN ml.tenant_access.granted IS 'Whether the grant is in force; false once revoked (the row stays, so that a dump keeps the revocation).';
COMMENT ON COLUMN ml.tenant_access.granted_by IS 'The role that last granted or revoked it (current_user of ml.grant_tenant or ml.revoke_tenant); pg_mlkit for the built-in grant of ''default'' to PUBLIC, a note for the grants the 0.3.0 upgrade made.';
COMMENT ON COLUMN ml.tenant_access.granted_at IS 'When it was last granted or revoked.';

COMMENT ON COLUMN ml.tenant_grants.role IS 'The role granted the tenant, with its members; PUBLIC for every role.';
COMMENT ON COLUMN ml.tenant_grants.tenant IS 'The tenant the role may work in (the app.tenant setting).';
COMMENT ON COLUMN ml.tenant_grants.granted_by IS 'The role that granted it; pg_mlkit for the built-in grant of ''default'' to PUBLIC.';
COMMENT ON COLUMN ml.tenant_grants.granted_at IS 'When it was granted.';

COMMENT ON COLUMN ml.analysis_runs.id IS 'The run''s id: what pg_mlkit''s analysis functions and ml.load_analysis_run return, and the run_id of the rows that belong to the run.';
COMMENT ON COLUMN ml.analysis_runs.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.analysis_runs.run_timestamp IS 'When the run ran: the time of the transaction for pg_mlkit''s own runs, or the time ml.load_analysis_run was given.';
COMMENT ON COLUMN ml.analysis_runs.analysis_type IS 'What kind of analysis: clustering, dim_reduction, duplicate_detection, drift or prediction for pg_mlkit''s own runs, or any type a client records (object_detection, ...).';
COMMENT ON COLUMN ml.analysis_runs.model_name IS 'The model the run stored (run.model_name), predicted with (ml.predict_clusters) or checked for drift, or that a client recorded; NULL if none.';
COMMENT ON COLUMN ml.analysis_runs.model_version IS 'That model''s version: the version registered (run.model_version, or the number pg_mlkit gave it) or predicted with; NULL if none.';
COMMENT ON COLUMN ml.analysis_runs.status IS 'pending, running, completed or failed; pg_mlkit''s own runs are written when they complete, so they are completed.';
COMMENT ON COLUMN ml.analysis_runs.metrics IS 'What the run measured, as JSON; its keys depend on the analysis (clustering: n_clusters_found, cluster_sizes, silhouette, ...; drift: columns, drifted_columns, drift_share, dataset_drift), with timings_ms for pg_mlkit''s runs.';
COMMENT ON COLUMN ml.analysis_runs.row_count IS 'How many items the run analysed (rows clustered, reduced, predicted or hashed; rows skipped for a NULL embedding not counted); for a drift run, the number of columns compared.';
COMMENT ON COLUMN ml.analysis_runs.duration_ms IS 'The run''s wall time, in milliseconds: for pg_mlkit''s runs from the call''s start to its last write (metrics.timings_ms breaks it down).';
COMMENT ON COLUMN ml.analysis_runs.error IS 'What went wrong, for a failed run a client recorded; NULL for pg_mlkit''s own runs, which are not written when they fail.';
COMMENT ON COLUMN ml.analysis_runs.autoencoder_name IS 'The autoencoder (or other model) that made the embeddings, as run.autoencoder_name or ml.load_analysis_run names it; NULL when not given.';
COMMENT ON COLUMN ml.analysis_runs.autoencoder_implementation IS 'What implements that autoencoder (e.g. a Python class path), as the caller gives it; NULL when not given.';
COMMENT ON COLUMN ml.analysis_runs.autoencoder_file IS 'The file of that autoencoder''s weights, as the caller gives it; NULL when not given.';
COMMENT ON COLUMN ml.analysis_runs.autoencoder_params IS 'That autoencoder''s parameters (architecture, training, ...), as a JSON object the caller gives; NULL when not given.';
COMMENT ON COLUMN ml.analysis_runs.dim_reduction_name IS 'The dimensionality reduction the run used: pca, tsne or umap for pg_mlkit''s runs, or the caller''s name; NULL when the run had none.';
COMMENT ON COLUMN ml.analysis_runs.dim_reduction_implementation IS 'What computed the reduction: ''pg_mlkit <version> mlkit::<module>'' for pg_mlkit''s runs, or the caller''s text; NULL when the run had none.';
COMMENT ON COLUMN ml.analysis_runs.dim_reduction_params IS 'Every parameter the reduction actually used, defaults and the random seed included; NULL when the run had none.';
COMMENT ON COLUMN ml.analysis_runs.clustering_name IS 'The grouping stage: K-Means, DBSCAN or HDBSCAN for a clustering run; pg_mlkit''s other runs name their stage here too (near_duplicates, data_drift, kmeans_predict); NULL for a run without one.';
COMMENT ON COLUMN ml.analysis_runs.clustering_implementation IS 'What computed that stage: ''pg_mlkit <version> mlkit::<module>'' for pg_mlkit''s runs, or the caller''s text; NULL for a run without one.';
COMMENT ON COLUMN ml.analysis_runs.created_at IS 'When the row was inserted.';

COMMENT ON COLUMN ml.cluster_assignments.run_id IS 'The ml.analysis_runs row of the run (deleting the run deletes its assignments).';
COMMENT ON COLUMN ml.cluster_assignments.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';

COMMENT ON COLUMN ml.cluster_summaries.run_id IS 'The ml.analysis_runs row of the clustering run (deleting the run deletes its summaries).';
COMMENT ON COLUMN ml.cluster_summaries.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';

COMMENT ON COLUMN ml.duplicate_assignments.run_id IS 'The ml.analysis_runs row of the duplicate-detection run (deleting the run deletes its rows).';
COMMENT ON COLUMN ml.duplicate_assignments.item_id IS 'The item''s id in the source, as text (ids of any type are accepted).';
COMMENT ON COLUMN ml.duplicate_assignments.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.duplicate_assignments.exact_group_confidence IS 'high for an exact duplicate (byte-identical: same SHA-256), as ml.group_near_duplicates writes it; NULL when the item has no exact duplicate.';

COMMENT ON COLUMN ml.embedding_coordinates.run_id IS 'The ml.analysis_runs row of the run that reduced the embeddings (deleting the run deletes its coordinates).';
COMMENT ON COLUMN ml.embedding_coordinates.item_id IS 'The item''s id in the source, as text (ids of any type are accepted).';
COMMENT ON COLUMN ml.embedding_coordinates.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';

COMMENT ON COLUMN ml.run_points.run_id IS 'The ml.analysis_runs row of the run; filter on it to read one run through the primary keys.';
COMMENT ON COLUMN ml.run_points.item_id IS 'The item''s id in the source, as text.';
COMMENT ON COLUMN ml.run_points.cluster IS 'The item''s cluster from 0, -1 for noise (ml.cluster_assignments); NULL for an item the run only reduced.';
COMMENT ON COLUMN ml.run_points.distance IS 'Distance to the cluster''s centroid, where the algorithm has centroids (ml.cluster_assignments.distance); NULL for an item the run only reduced.';
COMMENT ON COLUMN ml.run_points.coords IS 'The item''s reduced coordinates (ml.embedding_coordinates); NULL when the run had no reduction.';
COMMENT ON COLUMN ml.run_points.tenant_id IS 'The tenant the item''s rows belong to.';
COMMENT ON COLUMN ml.run_points.probability IS 'Strength of the item''s membership in its cluster, 0 to 1, where the algorithm gives one (HDBSCAN); else NULL.';
COMMENT ON COLUMN ml.run_points.outlier_score IS 'How much of an outlier the item is, where the algorithm gives a score (ml.predict_clusters: the anomaly score); else NULL.';

COMMENT ON COLUMN ml.ai_learning_memory.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.ai_learning_memory.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ai_learning_memory.error_type IS 'The kind of error met, as the assistant classifies it (up to 50 characters); rows are looked up by it.';
COMMENT ON COLUMN ml.ai_learning_memory.user_intent IS 'What the user asked for when the error happened.';
COMMENT ON COLUMN ml.ai_learning_memory.failed_query IS 'The query that failed.';
COMMENT ON COLUMN ml.ai_learning_memory.specific_issue IS 'What exactly was wrong with it.';
COMMENT ON COLUMN ml.ai_learning_memory.suggested_fix IS 'The fix learnt for it.';
COMMENT ON COLUMN ml.ai_learning_memory.confidence IS 'How sure the assistant is of the fix, from 0 to 1.';
COMMENT ON COLUMN ml.ai_learning_memory.learning_context IS 'What else was known when the fix was learnt, as JSON; NULL if nothing.';
COMMENT ON COLUMN ml.ai_learning_memory.active IS 'Whether the lesson is in use; false retires it without deleting it (the lookup index covers active rows only).';
COMMENT ON COLUMN ml.ai_learning_memory.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN ml.ai_learning_memory.updated_at IS 'When the row was last updated (kept by a trigger).';

COMMENT ON COLUMN ml.ml_prediction_log.id IS 'The row''s id (generated; unique per tenant); alerts refer to it (details.prediction_log_id, alert_data.prediction_log_id).';
COMMENT ON COLUMN ml.ml_prediction_log.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ml_prediction_log.active IS 'Whether the row counts: ml.rollup_monitoring rolls up active rows only, so false leaves a row out of the rollups without deleting it.';
COMMENT ON COLUMN ml.ml_prediction_log.created_at IS 'When the prediction was logged (ml.log_prediction may give another time); ml.rollup_monitoring groups rows by its day.';
COMMENT ON COLUMN ml.ml_prediction_log.updated_at IS 'When the row was last updated (kept by a trigger).';

COMMENT ON COLUMN ml.ml_anomaly_alerts.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.ml_anomaly_alerts.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ml_anomaly_alerts.model_name IS 'The model whose prediction was an anomaly.';
COMMENT ON COLUMN ml.ml_anomaly_alerts.severity IS 'low, medium, high or critical, from the anomaly score and the model''s alert thresholds (parameters.anomaly: medium 1.0, high 1.25, critical 1.5 by default).';
COMMENT ON COLUMN ml.ml_anomaly_alerts.alert_data IS 'Why it is an anomaly, as JSON: reason, model name and version, cluster, distance, anomaly score and threshold, the cluster''s training distance median, 99th percentile and maximum, prediction_log_id (and item_id for ml.predict_clusters).';
COMMENT ON COLUMN ml.ml_anomaly_alerts.acknowledged IS 'Whether someone has acknowledged the alert; set by the client (false when raised).';
COMMENT ON COLUMN ml.ml_anomaly_alerts.acknowledged_by IS 'The role that acknowledged the alert, stamped by the database (not the client); NULL until acknowledged.';
COMMENT ON COLUMN ml.ml_anomaly_alerts.acknowledged_at IS 'When the alert was acknowledged, as the client sets it; NULL until acknowledged.';
COMMENT ON COLUMN ml.ml_anomaly_alerts.active IS 'Whether the row is current; false retires it without deleting it (pg_mlkit writes the default, true, and does not read it).';
COMMENT ON COLUMN ml.ml_anomaly_alerts.created_at IS 'When the alert was raised.';
COMMENT ON COLUMN ml.ml_anomaly_alerts.updated_at IS 'When the row was last updated (kept by a trigger).';

COMMENT ON COLUMN ml.model_registry.id IS 'The model version''s id (generated; unique per tenant): what aliases, tags, evaluations and other tables refer to as model_id.';
COMMENT ON COLUMN ml.model_registry.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.model_registry.implementation IS 'What fitted the model: ''pg_mlkit <version> mlkit::<module>'' for pg_mlkit''s models, or any text for models registered elsewhere.';
COMMENT ON COLUMN ml.model_registry.description IS 'A description of the model, free text; pg_mlkit leaves it NULL.';
COMMENT ON COLUMN ml.model_registry.created_by IS 'The role that registered the version, stamped by the database on insert and never changed (the owner of the table may write any value).';
COMMENT ON COLUMN ml.model_registry.created_at IS 'When the version was registered.';
COMMENT ON COLUMN ml.model_registry.updated_at IS 'When the row was last updated (kept by a trigger).';

COMMENT ON COLUMN ml.model_tags.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.model_tags.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.model_tags.model_id IS 'The ml.model_registry row (model version) tagged; deleting it deletes its tags.';
COMMENT ON COLUMN ml.model_tags.key IS 'The tag''s key, unique per model version.';
COMMENT ON COLUMN ml.model_tags.value IS 'The tag''s value; NULL for a tag without one.';
COMMENT ON COLUMN ml.model_tags.created_at IS 'When the tag was added.';

COMMENT ON COLUMN ml.model_aliases.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.model_aliases.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.model_aliases.model_name IS 'The name of the model the alias belongs to (each alias is unique per name); meant to be model_id''s name, which is not checked: prediction finds aliases by model_id.';
COMMENT ON COLUMN ml.model_aliases.alias IS 'The alias, e.g. production: a model looked up without a version (ml.predict_cluster, ml.centroids, ...) is the version aliased production, if there is one.';
COMMENT ON COLUMN ml.model_aliases.model_id IS 'The ml.model_registry row (model version) the alias points to; deleting it deletes the alias.';
COMMENT ON COLUMN ml.model_aliases.created_at IS 'When the alias was created.';
COMMENT ON COLUMN ml.model_aliases.updated_at IS 'When the row was last updated, e.g. pointed to another version (kept by a trigger).';

COMMENT ON COLUMN ml.model_stage_transitions.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.model_stage_transitions.tenant_id IS 'The tenant the row belongs to: the model''s; row-level security lets a session read only its tenant''s rows.';
COMMENT ON COLUMN ml.model_stage_transitions.model_id IS 'The ml.model_registry row whose stage changed; NULL once that model version is deleted (model_name and model_version keep what it was).';
COMMENT ON COLUMN ml.model_stage_transitions.from_stage IS 'The stage before the change: none, staging, production or archived.';
COMMENT ON COLUMN ml.model_stage_transitions.to_stage IS 'The stage after the change: none, staging, production or archived.';
COMMENT ON COLUMN ml.model_stage_transitions.changed_by IS 'The role that changed the stage (current_user, set by the registry''s trigger).';
COMMENT ON COLUMN ml.model_stage_transitions.reason IS 'Why the stage changed; NULL in the rows the registry''s trigger writes (only the owner of the table may write one).';
COMMENT ON COLUMN ml.model_stage_transitions.transitioned_at IS 'When the stage changed (the time of the transaction that changed it).';
COMMENT ON COLUMN ml.model_stage_transitions.model_name IS 'The model''s name at the change, kept when the model is deleted.';
COMMENT ON COLUMN ml.model_stage_transitions.model_version IS 'The model''s version at the change, kept when the model is deleted.';

COMMENT ON COLUMN ml.hyperparameter_studies.id IS 'The study''s id (generated; unique per tenant): what training runs refer to as study_id.';
COMMENT ON COLUMN ml.hyperparameter_studies.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.hyperparameter_studies.name IS 'The study''s name, unique per tenant.';
COMMENT ON COLUMN ml.hyperparameter_studies.model_name IS 'The model the study tunes; NULL if not given.';
COMMENT ON COLUMN ml.hyperparameter_studies.objective_metric IS 'The metric the search optimises.';
COMMENT ON COLUMN ml.hyperparameter_studies.direction IS 'Whether the objective is to be minimised or maximised: minimize or maximize.';
COMMENT ON COLUMN ml.hyperparameter_studies.search_space IS 'The hyperparameters searched and their ranges or choices, as JSON, in the client''s format.';
COMMENT ON COLUMN ml.hyperparameter_studies.sampler IS 'The search algorithm that proposes trials, by name; NULL if not given.';
COMMENT ON COLUMN ml.hyperparameter_studies.max_trials IS 'The trial budget: at most this many trials; NULL if not given.';
COMMENT ON COLUMN ml.hyperparameter_studies.status IS 'pending, running, completed, failed or cancelled, as the client running the study sets it.';
COMMENT ON COLUMN ml.hyperparameter_studies.best_value IS 'The best objective value found so far; NULL before any.';
COMMENT ON COLUMN ml.hyperparameter_studies.best_params IS 'The hyperparameters that gave best_value, as JSON; NULL before any.';
COMMENT ON COLUMN ml.hyperparameter_studies.created_at IS 'When the study was created.';
COMMENT ON COLUMN ml.hyperparameter_studies.completed_at IS 'When the study ended; NULL while it has not.';

COMMENT ON COLUMN ml.training_runs.id IS 'The training run''s id (generated; unique per tenant): what artifacts, events and evaluation metrics refer to.';
COMMENT ON COLUMN ml.training_runs.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.training_runs.model_id IS 'The ml.model_registry row (model version) the run trained; NULL if none, or once that version is deleted.';
COMMENT ON COLUMN ml.training_runs.study_id IS 'The ml.hyperparameter_studies row the run is a trial of; NULL if none, or once the study is deleted.';
COMMENT ON COLUMN ml.training_runs.run_name IS 'A name for the run; NULL if not given.';
COMMENT ON COLUMN ml.training_runs.status IS 'queued, running, completed, failed or cancelled, as the client running the training sets it.';
COMMENT ON COLUMN ml.training_runs.hyperparameters IS 'The hyperparameters the run trained with, as JSON.';
COMMENT ON COLUMN ml.training_runs.dataset_name IS 'The dataset trained on; NULL if not given.';
COMMENT ON COLUMN ml.training_runs.dataset_version IS 'The version of that dataset; NULL if not given.';
COMMENT ON COLUMN ml.training_runs.dataset_rows IS 'How many rows (examples) the dataset had; NULL if not given.';
COMMENT ON COLUMN ml.training_runs.dataset_info IS 'What else describes the dataset (source, splits, features, ...), as JSON; NULL if nothing.';
COMMENT ON COLUMN ml.training_runs.metrics IS 'The run''s metrics (losses, scores), as JSON.';
COMMENT ON COLUMN ml.training_runs.epochs_total IS 'How many epochs the run is to train; NULL if not given.';
COMMENT ON COLUMN ml.training_runs.epochs_completed IS 'How many epochs it has completed; NULL if not given.';
COMMENT ON COLUMN ml.training_runs.started_at IS 'When training started; NULL while queued.';
COMMENT ON COLUMN ml.training_runs.finished_at IS 'When training ended (completed, failed or cancelled); NULL until then.';
COMMENT ON COLUMN ml.training_runs.duration_ms IS 'How long training took, in milliseconds, as the client recorded it.';
COMMENT ON COLUMN ml.training_runs.error IS 'What went wrong, for a failed run; else NULL.';
COMMENT ON COLUMN ml.training_runs.created_by IS 'The role that created the run, stamped by the database on insert and never changed (the owner of the table may write any value).';
COMMENT ON COLUMN ml.training_runs.created_at IS 'When the row was inserted.';

COMMENT ON COLUMN ml.training_artifacts.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.training_artifacts.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.training_artifacts.run_id IS 'The ml.training_runs row that produced it; deleting the run deletes its artifacts.';
COMMENT ON COLUMN ml.training_artifacts.artifact_type IS 'What it is: model, checkpoint, metrics, plot, log or other.';
COMMENT ON COLUMN ml.training_artifacts.name IS 'The artifact''s name.';
COMMENT ON COLUMN ml.training_artifacts.uri IS 'Where the file is stored (a path or URI; the database holds only the reference); NULL if not given.';
COMMENT ON COLUMN ml.training_artifacts.size_bytes IS 'The file''s size, in bytes; NULL if not given.';
COMMENT ON COLUMN ml.training_artifacts.checksum IS 'A checksum of the file, to verify it, in the writer''s choice of algorithm; NULL if not given.';
COMMENT ON COLUMN ml.training_artifacts.metadata IS 'What else describes the artifact, as JSON.';
COMMENT ON COLUMN ml.training_artifacts.created_at IS 'When the row was inserted.';

COMMENT ON COLUMN ml.training_events.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.training_events.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.training_events.run_id IS 'The ml.training_runs row the event belongs to; deleting the run deletes its events.';
COMMENT ON COLUMN ml.training_events.event_type IS 'What happened (epoch, step, checkpoint, error, ...), as the client names it.';
COMMENT ON COLUMN ml.training_events.epoch IS 'The epoch the event happened in; NULL if not given.';
COMMENT ON COLUMN ml.training_events.step IS 'The training step the event happened at; NULL if not given.';
COMMENT ON COLUMN ml.training_events.message IS 'What happened, in words; NULL if not given.';
COMMENT ON COLUMN ml.training_events.payload IS 'The event''s figures (loss, metrics, ...), as JSON; NULL if none.';
COMMENT ON COLUMN ml.training_events.created_at IS 'When the event was recorded.';

COMMENT ON COLUMN ml.evaluation_metrics.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.evaluation_metrics.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.evaluation_metrics.model_id IS 'The ml.model_registry row (model version) evaluated; deleting it deletes its metrics.';
COMMENT ON COLUMN ml.evaluation_metrics.training_run_id IS 'The ml.training_runs row the metric belongs to; NULL if none, or once that run is deleted.';
COMMENT ON COLUMN ml.evaluation_metrics.dataset_name IS 'The dataset evaluated on; NULL if not given.';
COMMENT ON COLUMN ml.evaluation_metrics.split IS 'Which part of the data: train, validation, test or production; NULL if not given.';
COMMENT ON COLUMN ml.evaluation_metrics.metric_name IS 'The metric (accuracy, auc, rmse, ...), as the client names it.';
COMMENT ON COLUMN ml.evaluation_metrics.metric_value IS 'The metric''s value.';
COMMENT ON COLUMN ml.evaluation_metrics.metadata IS 'What else describes the evaluation, as JSON.';
COMMENT ON COLUMN ml.evaluation_metrics.evaluated_at IS 'When the model was evaluated.';

COMMENT ON COLUMN ml.confusion_matrices.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.confusion_matrices.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.confusion_matrices.model_id IS 'The ml.model_registry row (model version) evaluated; deleting it deletes its matrices.';
COMMENT ON COLUMN ml.confusion_matrices.dataset_name IS 'The dataset evaluated on; NULL if not given.';
COMMENT ON COLUMN ml.confusion_matrices.labels IS 'The class labels, in the order of the matrix''s rows and columns.';
COMMENT ON COLUMN ml.confusion_matrices.matrix IS 'The counts, a square two-dimensional array with one row and one column per label, in the order of labels (which axis is the true label is the writer''s convention).';
COMMENT ON COLUMN ml.confusion_matrices.evaluated_at IS 'When the model was evaluated.';

COMMENT ON COLUMN ml.threshold_analysis.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.threshold_analysis.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.threshold_analysis.model_id IS 'The ml.model_registry row (model version) evaluated; deleting it deletes its rows.';
COMMENT ON COLUMN ml.threshold_analysis.dataset_name IS 'The dataset evaluated on; NULL if not given.';
COMMENT ON COLUMN ml.threshold_analysis.threshold IS 'The decision threshold the figures of this row are for.';
COMMENT ON COLUMN ml.threshold_analysis.precision IS 'Precision at the threshold, 0 to 1.';
COMMENT ON COLUMN ml.threshold_analysis.recall IS 'Recall at the threshold, 0 to 1.';
COMMENT ON COLUMN ml.threshold_analysis.f1 IS 'F1 score (harmonic mean of precision and recall) at the threshold, 0 to 1.';
COMMENT ON COLUMN ml.threshold_analysis.fpr IS 'False positive rate at the threshold, 0 to 1.';
COMMENT ON COLUMN ml.threshold_analysis.tpr IS 'True positive rate at the threshold, 0 to 1.';
COMMENT ON COLUMN ml.threshold_analysis.support IS 'The number of examples behind the figures, as the writer counts them; NULL if not given.';
COMMENT ON COLUMN ml.threshold_analysis.evaluated_at IS 'When the model was evaluated.';

COMMENT ON COLUMN ml.feature_importance.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.feature_importance.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.feature_importance.model_id IS 'The ml.model_registry row (model version) the importance is of; deleting it deletes its rows.';
COMMENT ON COLUMN ml.feature_importance.feature_name IS 'The feature.';
COMMENT ON COLUMN ml.feature_importance.importance IS 'How much the feature matters, on the method''s scale (higher is more important).';
COMMENT ON COLUMN ml.feature_importance.method IS 'How the importance was measured (permutation, gain, ...); NULL if not given.';
COMMENT ON COLUMN ml.feature_importance.rank IS 'The feature''s rank among the model''s features, 1 for the most important; NULL if not given.';
COMMENT ON COLUMN ml.feature_importance.evaluated_at IS 'When the importance was measured.';

COMMENT ON COLUMN ml.model_comparisons.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.model_comparisons.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.model_comparisons.baseline_model_id IS 'The ml.model_registry row (model version) compared against; deleting it deletes the comparison.';
COMMENT ON COLUMN ml.model_comparisons.candidate_model_id IS 'The ml.model_registry row (model version) compared with the baseline, another than it; deleting it deletes the comparison.';
COMMENT ON COLUMN ml.model_comparisons.dataset_name IS 'The dataset both were evaluated on; NULL if not given.';
COMMENT ON COLUMN ml.model_comparisons.metric_name IS 'The metric compared.';
COMMENT ON COLUMN ml.model_comparisons.baseline_value IS 'The baseline''s value of the metric; NULL if not given.';
COMMENT ON COLUMN ml.model_comparisons.candidate_value IS 'The candidate''s value of the metric; NULL if not given.';
COMMENT ON COLUMN ml.model_comparisons.p_value IS 'The p-value of the test of the difference, 0 to 1; NULL if no test was made.';
COMMENT ON COLUMN ml.model_comparisons.winner IS 'baseline, candidate or tie; NULL if not decided.';
COMMENT ON COLUMN ml.model_comparisons.details IS 'What else the comparison computed (the test, sample sizes, ...), as JSON.';
COMMENT ON COLUMN ml.model_comparisons.compared_at IS 'When the models were compared.';

COMMENT ON COLUMN ml.batch_jobs.id IS 'The job''s id (generated; unique per tenant): what its predictions and events refer to as batch_job_id.';
COMMENT ON COLUMN ml.batch_jobs.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.batch_jobs.model_id IS 'The ml.model_registry row (model version) that predicts; NULL if not given, or once that version is deleted.';
COMMENT ON COLUMN ml.batch_jobs.name IS 'A name for the job; NULL if not given.';
COMMENT ON COLUMN ml.batch_jobs.status IS 'queued, running, completed, failed or cancelled, as the client running the job sets it.';
COMMENT ON COLUMN ml.batch_jobs.input_source IS 'Where the job reads its items from (a relation, a file, a URI), as the client names it; NULL if not given.';
COMMENT ON COLUMN ml.batch_jobs.output_target IS 'Where the job writes its predictions, as the client names it; NULL if not given.';
COMMENT ON COLUMN ml.batch_jobs.parameters IS 'The job''s parameters, as JSON.';
COMMENT ON COLUMN ml.batch_jobs.total_items IS 'How many items the job has to process; NULL if not known.';
COMMENT ON COLUMN ml.batch_jobs.processed_items IS 'How many items it has processed so far.';
COMMENT ON COLUMN ml.batch_jobs.failed_items IS 'How many items failed.';
COMMENT ON COLUMN ml.batch_jobs.error IS 'What went wrong, for a failed job; else NULL.';
COMMENT ON COLUMN ml.batch_jobs.created_at IS 'When the job was created (queued).';
COMMENT ON COLUMN ml.batch_jobs.started_at IS 'When the job started; NULL while queued.';
COMMENT ON COLUMN ml.batch_jobs.finished_at IS 'When the job ended (completed, failed or cancelled); NULL until then.';

COMMENT ON COLUMN ml.predictions.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.predictions.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.predictions.model_id IS 'The ml.model_registry row (model version) that predicted; NULL if not given, or once that version is deleted.';
COMMENT ON COLUMN ml.predictions.batch_job_id IS 'The ml.batch_jobs row the prediction was made in; NULL for one made outside a batch job. Deleting the job deletes its predictions.';
COMMENT ON COLUMN ml.predictions.item_id IS 'The id of the item predicted, as text; NULL if not given.';
COMMENT ON COLUMN ml.predictions.input IS 'What was predicted from, as JSON; NULL if not kept.';
COMMENT ON COLUMN ml.predictions.prediction IS 'What the model predicted, as JSON.';
COMMENT ON COLUMN ml.predictions.confidence IS 'How confident the model is of the prediction, 0 to 1; NULL if it gives no confidence.';
COMMENT ON COLUMN ml.predictions.latency_ms IS 'How long the prediction took, in milliseconds; NULL if not measured.';
COMMENT ON COLUMN ml.predictions.created_at IS 'When the prediction was recorded.';

COMMENT ON COLUMN ml.prediction_cache.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.prediction_cache.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.prediction_cache.model_id IS 'The ml.model_registry row (model version) whose prediction is cached; deleting it deletes its cache.';
COMMENT ON COLUMN ml.prediction_cache.input_hash IS 'A hash of the input, computed by the client; with model_id, the key of the cache (one entry per model and input).';
COMMENT ON COLUMN ml.prediction_cache.prediction IS 'The cached prediction, as JSON.';
COMMENT ON COLUMN ml.prediction_cache.hits IS 'How many times the cached prediction was served, as the client counts it.';
COMMENT ON COLUMN ml.prediction_cache.created_at IS 'When the prediction was cached.';
COMMENT ON COLUMN ml.prediction_cache.last_hit_at IS 'When the cached prediction was last served; NULL if never.';
COMMENT ON COLUMN ml.prediction_cache.expires_at IS 'When the entry expires; NULL for no expiry. Nothing in pg_mlkit removes expired entries.';

COMMENT ON COLUMN ml.batch_job_events.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.batch_job_events.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.batch_job_events.batch_job_id IS 'The ml.batch_jobs row the event belongs to; deleting the job deletes its events.';
COMMENT ON COLUMN ml.batch_job_events.event_type IS 'What happened (started, progress, failed, finished, ...), as the client names it.';
COMMENT ON COLUMN ml.batch_job_events.message IS 'What happened, in words; NULL if not given.';
COMMENT ON COLUMN ml.batch_job_events.payload IS 'The event''s figures, as JSON; NULL if none.';
COMMENT ON COLUMN ml.batch_job_events.created_at IS 'When the event was recorded.';

COMMENT ON COLUMN ml.ab_experiments.id IS 'The experiment''s id (generated; unique per tenant): what its assignments, exposures, outcomes and snapshots refer to as experiment_id.';
COMMENT ON COLUMN ml.ab_experiments.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ab_experiments.name IS 'The experiment''s name, unique per tenant.';
COMMENT ON COLUMN ml.ab_experiments.description IS 'What the experiment tests, free text; NULL if not given.';
COMMENT ON COLUMN ml.ab_experiments.status IS 'draft, running, paused or completed, as the client sets it.';
COMMENT ON COLUMN ml.ab_experiments.variants IS 'The variants and their weights, as a JSON array of at least two elements, in the client''s format.';
COMMENT ON COLUMN ml.ab_experiments.salt IS 'The string hashed with a unit''s id, against the variant weights, to assign the unit its variant deterministically (by the client; pg_mlkit has no assignment function); a random MD5 (hex) by default.';
COMMENT ON COLUMN ml.ab_experiments.primary_metric IS 'The metric that decides the experiment (a metric_name of ml.ab_outcomes); NULL if not given.';
COMMENT ON COLUMN ml.ab_experiments.started_at IS 'When the experiment started; NULL before.';
COMMENT ON COLUMN ml.ab_experiments.ended_at IS 'When the experiment ended; NULL before.';
COMMENT ON COLUMN ml.ab_experiments.created_at IS 'When the row was inserted.';

COMMENT ON COLUMN ml.ab_assignments.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.ab_assignments.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ab_assignments.experiment_id IS 'The ml.ab_experiments row; deleting the experiment deletes its assignments.';
COMMENT ON COLUMN ml.ab_assignments.unit_id IS 'The unit assigned (a user, session, item, ...), by its id as text; one assignment per unit and experiment.';
COMMENT ON COLUMN ml.ab_assignments.variant IS 'The variant the unit was assigned, by name.';
COMMENT ON COLUMN ml.ab_assignments.assigned_at IS 'When the unit was assigned.';

COMMENT ON COLUMN ml.ab_exposures.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.ab_exposures.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ab_exposures.experiment_id IS 'The ml.ab_experiments row; deleting the experiment deletes its exposures.';
COMMENT ON COLUMN ml.ab_exposures.unit_id IS 'The unit exposed, by its id as text.';
COMMENT ON COLUMN ml.ab_exposures.variant IS 'The variant it was exposed to, by name.';
COMMENT ON COLUMN ml.ab_exposures.context IS 'Where and how the exposure happened, as JSON; NULL if not given.';
COMMENT ON COLUMN ml.ab_exposures.exposed_at IS 'When the unit was exposed.';

COMMENT ON COLUMN ml.ab_outcomes.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.ab_outcomes.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ab_outcomes.experiment_id IS 'The ml.ab_experiments row; deleting the experiment deletes its outcomes.';
COMMENT ON COLUMN ml.ab_outcomes.unit_id IS 'The unit the outcome is of, by its id as text.';
COMMENT ON COLUMN ml.ab_outcomes.variant IS 'The unit''s variant, by name.';
COMMENT ON COLUMN ml.ab_outcomes.metric_name IS 'The metric recorded.';
COMMENT ON COLUMN ml.ab_outcomes.value IS 'The metric''s value for the unit.';
COMMENT ON COLUMN ml.ab_outcomes.recorded_at IS 'When the outcome was recorded.';

COMMENT ON COLUMN ml.ab_analysis_snapshots.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.ab_analysis_snapshots.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.ab_analysis_snapshots.experiment_id IS 'The ml.ab_experiments row analysed; deleting the experiment deletes its snapshots.';
COMMENT ON COLUMN ml.ab_analysis_snapshots.metric_name IS 'The metric analysed.';
COMMENT ON COLUMN ml.ab_analysis_snapshots.variant_stats IS 'The metric''s statistics per variant, as JSON in the client''s format.';
COMMENT ON COLUMN ml.ab_analysis_snapshots.lift IS 'The lift of the metric (a variant''s change over the control), as the analysis computed it; NULL if not computed.';
COMMENT ON COLUMN ml.ab_analysis_snapshots.p_value IS 'The p-value of the difference between the variants, 0 to 1; NULL if not computed.';
COMMENT ON COLUMN ml.ab_analysis_snapshots.computed_at IS 'When the analysis was computed.';

COMMENT ON COLUMN ml.alert_rules.id IS 'The rule''s id (generated; unique per tenant): what its alerts refer to as rule_id.';
COMMENT ON COLUMN ml.alert_rules.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); a rule watches only its tenant''s predictions and drift runs.';
COMMENT ON COLUMN ml.alert_rules.name IS 'The rule''s name, unique per tenant; it begins the title of every alert the rule opens.';
COMMENT ON COLUMN ml.alert_rules.threshold IS 'The number metric is compared with (not NaN).';
COMMENT ON COLUMN ml.alert_rules.enabled IS 'Whether the rule is evaluated; a disabled rule opens no alerts.';
COMMENT ON COLUMN ml.alert_rules.created_at IS 'When the rule was created.';
COMMENT ON COLUMN ml.alert_rules.updated_at IS 'When the row was last updated (kept by a trigger).';

COMMENT ON COLUMN ml.data_drift.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.data_drift.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.data_drift.model_id IS 'The ml.model_registry row (model version) whose data was checked, where the writer gives one; ml.score_drift leaves it NULL (it records model_name). NULL once that version is deleted.';
COMMENT ON COLUMN ml.data_drift.model_name IS 'The model whose data was checked: run.model_name of the ml.score_drift call; NULL if not given.';
COMMENT ON COLUMN ml.data_drift.reference_size IS 'How many values of the column the reference sample had (missing values, NULL or NaN, left out).';
COMMENT ON COLUMN ml.data_drift.current_size IS 'How many values of the column the current sample had (missing values, NULL or NaN, left out).';
COMMENT ON COLUMN ml.data_drift.reference_window IS 'The time range of the reference sample, where the writer records it; ml.score_drift, which compares two relations, leaves it NULL.';
COMMENT ON COLUMN ml.data_drift.current_window IS 'The time range of the current sample, where the writer records it; ml.score_drift, which compares two relations, leaves it NULL.';
COMMENT ON COLUMN ml.data_drift.computed_at IS 'When the check was made.';

COMMENT ON COLUMN ml.performance_drift.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.performance_drift.tenant_id IS 'The tenant the row belongs to (default ml.current_tenant() of the writing session); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.performance_drift.model_id IS 'The ml.model_registry row (model version) checked; NULL if not given, or once that version is deleted.';
COMMENT ON COLUMN ml.performance_drift.model_name IS 'The model checked, by name; NULL if not given.';
COMMENT ON COLUMN ml.performance_drift.metric_name IS 'The model metric compared.';
COMMENT ON COLUMN ml.performance_drift.baseline_value IS 'The metric''s value in the baseline; NULL if not given.';
COMMENT ON COLUMN ml.performance_drift.current_value IS 'The metric''s value in the current window; NULL if not given.';
COMMENT ON COLUMN ml.performance_drift.relative_change IS 'The change from baseline_value to current_value relative to baseline_value, as the writer computed it; NULL if not given.';
COMMENT ON COLUMN ml.performance_drift.is_degraded IS 'Whether the model got worse by the metric, as the writer judged it; NULL if not judged.';
COMMENT ON COLUMN ml.performance_drift.window_start IS 'The start of the time window the check measured; NULL if not given.';
COMMENT ON COLUMN ml.performance_drift.window_end IS 'The end of the time window the check measured; NULL if not given.';
COMMENT ON COLUMN ml.performance_drift.details IS 'What else the check computed, as JSON.';
COMMENT ON COLUMN ml.performance_drift.computed_at IS 'When the check was made.';

COMMENT ON COLUMN ml.monitoring_alerts.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.monitoring_alerts.tenant_id IS 'The tenant the row belongs to: its rule''s (default ml.current_tenant()); row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.monitoring_alerts.model_name IS 'The model of the prediction or drift run that fired the rule; NULL if that had none.';
COMMENT ON COLUMN ml.monitoring_alerts.severity IS 'low, medium, high or critical: the severity of the rule that opened it.';
COMMENT ON COLUMN ml.monitoring_alerts.triggered_at IS 'When the alert was opened; a rule opens no new alert within its cooldown of the last one.';
COMMENT ON COLUMN ml.monitoring_alerts.acknowledged_at IS 'When the alert was acknowledged, as the client sets it; NULL until then.';
COMMENT ON COLUMN ml.monitoring_alerts.resolved_at IS 'When the alert was resolved, as the client sets it; NULL until then.';

COMMENT ON COLUMN ml.monitoring_daily_rollups.id IS 'The row''s id (generated; unique per tenant).';
COMMENT ON COLUMN ml.monitoring_daily_rollups.tenant_id IS 'The tenant the row belongs to: the tenant of the predictions rolled up; row-level security lets a session read and write only its tenant''s rows.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.model_name IS 'The model whose predictions are rolled up (ml.ml_prediction_log.model_name).';
COMMENT ON COLUMN ml.monitoring_daily_rollups.day IS 'The day rolled up, from midnight to midnight in the time zone of the session that ran ml.rollup_monitoring.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.prediction_count IS 'Predictions the model logged that day (active rows of the log).';
COMMENT ON COLUMN ml.monitoring_daily_rollups.anomaly_count IS 'Of those, how many were anomalies (is_anomaly).';
COMMENT ON COLUMN ml.monitoring_daily_rollups.error_count IS 'Failed predictions: always 0 from ml.rollup_monitoring, since the prediction log has no column for failures.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.latency_p50_ms IS 'The median response_time_ms of the day''s predictions, in milliseconds (interpolated); NULL if none has a response time.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.latency_p95_ms IS 'The 95th percentile of response_time_ms, in milliseconds (interpolated); NULL if no prediction has a response time.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.latency_p99_ms IS 'The 99th percentile of response_time_ms, in milliseconds (interpolated); NULL if no prediction has a response time.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.mean_prediction IS 'The mean prediction_value of the day''s predictions.';
COMMENT ON COLUMN ml.monitoring_daily_rollups.metrics IS 'More figures, as JSON: anomaly_rate, mean_anomaly_score and the count per severity (normal, warning, critical).';
-- @end catalogue_comments

-- @begin run_view_comments (the columns of ml.runs and ml.run_sweep: the 0.3.0 upgrade includes it after run_views, which creates them)
COMMENT ON COLUMN ml.runs.id IS 'The run''s id (ml.analysis_runs.id).';
COMMENT ON COLUMN ml.runs.run_timestamp IS 'When the run ran.';
COMMENT ON COLUMN ml.runs.analysis_type IS 'What kind of analysis: clustering, dim_reduction, duplicate_detection, drift, prediction, or a type a client recorded.';
COMMENT ON COLUMN ml.runs.status IS 'pending, running, completed or failed.';
COMMENT ON COLUMN ml.runs.source IS 'The relation the run read, when a pg_mlkit function ran it.';
COMMENT ON COLUMN ml.runs.row_count IS 'How many items the run analysed (for a drift run, how many columns it compared).';
COMMENT ON COLUMN ml.runs.noise_fraction IS 'The share of items left as noise, 0 to 1 (metrics.noise_fraction): DBSCAN and HDBSCAN runs; else NULL.';
COMMENT ON COLUMN ml.runs.silhouette IS 'The clustering''s mean silhouette on the run''s silhouette sample, -1 to 1 (metrics.silhouette); NULL for runs without one.';
COMMENT ON COLUMN ml.runs.duration_ms IS 'The run''s wall time, in milliseconds.';
COMMENT ON COLUMN ml.runs.error IS 'What went wrong, for a failed run a client recorded; else NULL.';

COMMENT ON COLUMN ml.run_sweep.run_id IS 'The ml.analysis_runs row of the K-Means run that swept a range of k.';
COMMENT ON COLUMN ml.run_sweep.k IS 'The number of clusters tried.';
COMMENT ON COLUMN ml.run_sweep.inertia IS 'The fit''s inertia at this k: the sum of squared Euclidean distances of the items to their centroids (under the cosine metric, the sum of cosine distances).';
COMMENT ON COLUMN ml.run_sweep.silhouette IS 'The mean silhouette at this k, on the run''s silhouette sample, -1 to 1 (higher is better); the run keeps the k with the best.';
COMMENT ON COLUMN ml.run_sweep.davies_bouldin IS 'The Davies-Bouldin index at this k (lower is better).';
COMMENT ON COLUMN ml.run_sweep.calinski_harabasz IS 'The Calinski-Harabasz index at this k (higher is better).';
COMMENT ON COLUMN ml.run_sweep.kept IS 'Whether this is the k the run kept (its clustering_params.n_clusters).';
-- @end run_view_comments
