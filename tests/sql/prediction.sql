-- Predicting with a stored K-Means model, the prediction log and anomaly alerts.
-- The expected output of this file is what docs/functions/predict_cluster.md shows.

-- Fit and store a model of the digits (10 clusters).
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}',
                             run => '{"model_name": "digits_km"}') AS fit_run \gset

-- One embedding: its cluster, the distance to that centroid, and how unusual the distance is.
SELECT cluster, round(distance::numeric, 4) AS distance, round(anomaly_score::numeric, 4) AS anomaly_score, is_anomaly
  FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5));
-- The same image three times as bright: far out, an anomaly, logged with an alert.
SELECT cluster, round(distance::numeric, 4) AS distance, round(anomaly_score::numeric, 4) AS anomaly_score, is_anomaly
  FROM ml.predict_cluster('digits_km', (SELECT array_agg(v * 3)::real[] FROM unnest((SELECT embedding FROM digits WHERE id = 5)) v),
                          features => '{"source": "camera 7"}');
SELECT model_name, prediction_value, input_features, round(anomaly_score::numeric, 4) AS anomaly_score, is_anomaly, severity
  FROM ml.ml_prediction_log ORDER BY id;
SELECT model_name, severity, alert_data ->> 'reason' AS reason, alert_data -> 'cluster' AS cluster
  FROM ml.ml_anomaly_alerts ORDER BY id;
-- Without logging nothing is written.
SELECT count(*) AS logged_before FROM ml.ml_prediction_log \gset
SELECT cluster FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), log => false);
SELECT count(*) - :logged_before AS logged FROM ml.ml_prediction_log;

-- A whole table: a run, one assignment per item; on the training data it gives back the fit's clusters.
SELECT ml.predict_clusters('digits_km', 'digits', log => false) AS predict_run \gset
SELECT analysis_type, model_name, model_version, row_count, metrics ->> 'items' AS items,
       metrics ->> 'anomalies' AS anomalies, metrics -> 'cluster_sizes' AS cluster_sizes
  FROM ml.analysis_runs WHERE id = :predict_run;
SELECT count(*) AS items, count(*) FILTER (WHERE p.cluster <> f.cluster) AS different_cluster,
       max(abs(p.distance - f.distance)) < 1e-4 AS same_distances
  FROM ml.cluster_assignments p JOIN ml.cluster_assignments f USING (item_id)
 WHERE p.run_id = :predict_run AND f.run_id = :fit_run;
-- A prediction run is plotted as any run: on the principal components of the source it read.
SELECT (xpath('/svg:svg/svg:title/text()', ml.plot_run(:predict_run, source => 'digits')::xml,
              ARRAY[ARRAY['svg', 'http://www.w3.org/2000/svg']]))[1]::text = 'Run ' || :predict_run || ': prediction (model digits_km version 1) of public.digits' AS titled;
-- Rows without an embedding get no prediction (NULL in, NULL out), and the run counts them.
CREATE VIEW digits_gappy AS SELECT id, CASE WHEN id % 100 <> 0 THEN embedding END AS embedding FROM digits;
SELECT ml.predict_clusters('digits_km', 'digits_gappy', log => false) AS gappy_run \gset
SELECT row_count, metrics -> 'input' ->> 'skipped' AS skipped,
       (SELECT count(*) FROM ml.cluster_assignments WHERE run_id = :gappy_run) AS predicted
  FROM ml.analysis_runs WHERE id = :gappy_run;
DROP VIEW digits_gappy;

-- Which version: the one aliased production, else the newest staged production, else the newest.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 3, "random_state": 0}',
                             run => '{"model_name": "digits_km"}') AS fit3 \gset
SELECT cluster, round(distance::numeric, 4) AS distance FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), log => false);  -- version 2: 3 clusters
UPDATE ml.model_registry SET stage = 'production' WHERE name = 'digits_km' AND version = '1';
SELECT cluster, round(distance::numeric, 4) AS distance FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), log => false);  -- version 1
INSERT INTO ml.model_aliases (model_name, alias, model_id)
  SELECT name, 'production', id FROM ml.model_registry WHERE name = 'digits_km' AND version = '2';
SELECT cluster, round(distance::numeric, 4) AS distance FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), log => false);  -- version 2 again
SELECT cluster, round(distance::numeric, 4) AS distance FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), version => '1', log => false);

-- The model is cached per session, and re-read when its registry row changes: move a centroid.
UPDATE ml.model_registry
   SET artifact = jsonb_set(artifact, '{centroids,0}', to_jsonb((SELECT embedding FROM digits WHERE id = 5)))
 WHERE name = 'digits_km' AND version = '2';
SELECT cluster, distance FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), log => false);

-- The anomaly threshold and alert severities are parameters of the model.
UPDATE ml.model_registry SET parameters = parameters || '{"anomaly": {"threshold": 0.5}}'
 WHERE name = 'digits_km' AND version = '1';
SELECT is_anomaly FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), version => '1', log => false);

-- Any embedding type a client sends (double precision[] here, numeric[] too), and NULL in,
-- NULL out, with nothing logged: a LATERAL join over rows with missing embeddings keeps them.
SELECT count(*) AS logged_before FROM ml.ml_prediction_log \gset
SELECT d.id, p.cluster IS NOT NULL AS predicted, p.cluster = q.cluster AS same_as_real
  FROM (SELECT id, CASE WHEN id <> 3 THEN embedding::float8[] END AS e FROM digits WHERE id <= 4) d,
       LATERAL ml.predict_cluster('digits_km', d.e, log => false) p,
       LATERAL ml.predict_cluster('digits_km', (SELECT embedding FROM digits x WHERE x.id = d.id), log => false) q
 ORDER BY d.id;
SELECT p.cluster = q.cluster AS numeric_same_as_real
  FROM ml.predict_cluster('digits_km', (SELECT embedding::numeric[] FROM digits WHERE id = 7), log => false) p,
       ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 7), log => false) q;
SELECT * FROM ml.predict_cluster('digits_km', NULL::real[]);
SELECT count(*) - :logged_before AS logged_for_null FROM ml.ml_prediction_log;

-- Any other model's predictions go to the same log.
SELECT ml.log_prediction('fraud_v2', 1, input_features => '{"amount": 912.5}', anomaly_score => 0.97,
                         is_anomaly => true, severity => 'warning', response_time_ms => 4) > 0 AS logged;
SELECT model_name, prediction_value, input_features, anomaly_score, is_anomaly, severity, response_time_ms
  FROM ml.ml_prediction_log WHERE model_name = 'fraud_v2';

-- Bad input: SQLSTATE, message naming argument and value, hint; nothing written.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set ON_ERROR_STOP 0
SELECT count(*) AS logged_before FROM ml.ml_prediction_log \gset
SELECT * FROM ml.predict_cluster('no_such_model', '{1, 2}');
SELECT * FROM ml.predict_cluster('digits_km', '{1, 2}');
SELECT * FROM ml.predict_cluster('digits_km', (SELECT embedding FROM digits WHERE id = 5), version => '9');
SELECT * FROM ml.predict_cluster('digits_km', array_fill(NULL::real, ARRAY[64]));
SELECT * FROM ml.predict_cluster('digits_km', array_fill('NaN'::real, ARRAY[64]));
INSERT INTO ml.model_registry (name, version, model_type) VALUES ('fraud_v2', '1', 'xgboost');
SELECT * FROM ml.predict_cluster('fraud_v2', '{1, 2}');
CREATE TABLE narrow AS SELECT 1 AS id, '{1, 2}'::real[] AS embedding;
SELECT ml.predict_clusters('digits_km', 'narrow');
SELECT ml.log_prediction(NULL, 1);
SELECT ml.log_prediction('m', 'NaN');
SELECT ml.log_prediction('m', 1, severity => 'high');
SELECT ml.log_prediction('m', 1, response_time_ms => -3);
\set ON_ERROR_STOP 1
SELECT count(*) - :logged_before AS logged FROM ml.ml_prediction_log;
DROP TABLE narrow;

-- A model's centroids as rows (ml.centroids): by model (and version) or by the run that
-- stored it; each K-Means centroid is the mean of its cluster's training rows.
SELECT c.cluster, cardinality(c.centroid) AS dims, s.rows,
       (SELECT max(abs(c.centroid[i] - s.mean[i])) < 1e-3 FROM generate_subscripts(c.centroid, 1) i) AS is_the_mean
  FROM ml.centroids('digits_km', version => '1') c
  JOIN (SELECT a.cluster, count(*) AS rows,
               (SELECT array_agg(avg ORDER BY i) FROM (SELECT i, avg(d.embedding[i]) FROM digits d
                  JOIN ml.cluster_assignments b ON b.run_id = :fit_run AND b.item_id = d.id::text AND b.cluster = a.cluster,
                  generate_series(1, 64) i GROUP BY i) m) AS mean
          FROM ml.cluster_assignments a WHERE a.run_id = :fit_run GROUP BY a.cluster) s USING (cluster)
 ORDER BY c.cluster;
SELECT cluster, pg_typeof(centroid) AS type, (SELECT array_agg(round(v::numeric, 4)) FROM unnest(centroid[1:3]) v) AS first_three
  FROM ml.centroids(:fit_run, NULL::double precision[]) WHERE cluster < 3;
\set ON_ERROR_STOP 0
SELECT * FROM ml.centroids('digits_km', NULL::point);
SELECT * FROM ml.centroids(0);
\set ON_ERROR_STOP 1

-- A pipeline model: a PCA to 16 components, then K-Means on them, stored as one model.
-- Predicting projects each new embedding with the stored PCA, then assigns it: on the
-- training rows it gives back the fit's clusters and distances.
SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}', reduction => 'pca',
                             reduction_params => '{"n_components": 16}', run => '{"model_name": "digits_pca_km"}') AS pipe_run \gset
SELECT model_type, artifact ->> 'input_features' AS input_features, artifact ->> 'n_features' AS n_features,
       artifact -> 'reduction' ->> 'format' AS reduction
  FROM ml.model_registry WHERE name = 'digits_pca_km';
SELECT ml.predict_clusters('digits_pca_km', 'digits', log => false) AS pipe_predict \gset
SELECT count(*) AS items, count(*) FILTER (WHERE p.cluster <> f.cluster) AS different_cluster,
       max(abs(p.distance - f.distance)) < 1e-4 AS same_distances
  FROM ml.cluster_assignments p JOIN ml.cluster_assignments f USING (item_id)
 WHERE p.run_id = :pipe_predict AND f.run_id = :pipe_run;
-- One embedding at a time gives the same answer.
SELECT p.cluster = a.cluster AS same_cluster, abs(p.distance - a.distance) < 1e-6 AS same_distance
  FROM ml.predict_cluster('digits_pca_km', (SELECT embedding FROM digits WHERE id = 7), log => false) p,
       ml.cluster_assignments a WHERE a.run_id = :pipe_predict AND a.item_id = '7';
-- The model takes what it was fitted on, the 64 pixels, not the 16 components.
\set ON_ERROR_STOP 0
SELECT * FROM ml.predict_cluster('digits_pca_km', array_fill(0::real, ARRAY[16]), log => false);
\set ON_ERROR_STOP 1

-- Any reduction and any algorithm make a pipeline: UMAP to 2-D, then HDBSCAN. A training
-- digit predicted through it is placed in the map again (as umap-learn's transform places a
-- new point), then in the clusters (as approximate_predict): nearly always where the fit put it.
SELECT ml.cluster_embeddings('digits', algorithm => 'hdbscan', params => '{"min_cluster_size": 20}', reduction => 'umap',
                             reduction_params => '{"random_state": 3}', run => '{"model_name": "digits_umap_hdb"}') AS umap_pipe_run \gset
SELECT model_type, artifact ->> 'input_features' AS input_features, artifact ->> 'n_features' AS n_features,
       artifact -> 'reduction' ->> 'format' AS reduction
  FROM ml.model_registry WHERE name = 'digits_umap_hdb';
SELECT ml.predict_clusters('digits_umap_hdb', 'digits', log => false) AS umap_pipe_predict \gset
SELECT count(*) AS items, avg((p.cluster = f.cluster)::int) >= 0.9 AS mostly_where_the_fit_put_them
  FROM ml.cluster_assignments p JOIN ml.cluster_assignments f USING (item_id)
 WHERE p.run_id = :umap_pipe_predict AND f.run_id = :umap_pipe_run;

-- DBSCAN and HDBSCAN models place new points: DBSCAN in the cluster of the nearest core point
-- within eps (else noise), HDBSCAN as the hdbscan library's approximate_predict, with a
-- probability. Two tight groups and a stray point; a model of each.
CREATE TABLE groups2 (id int PRIMARY KEY, embedding real[]);
INSERT INTO groups2 VALUES (1, '{0,0}'), (2, '{0.1,0}'), (3, '{0,0.1}'), (4, '{0.1,0.1}'), (5, '{0.05,0.05}'),
                           (6, '{5,5}'), (7, '{5.1,5}'), (8, '{5,5.1}'), (9, '{5.1,5.1}'), (10, '{5.05,5.05}'), (11, '{9,0}');
SELECT ml.cluster_embeddings('groups2', algorithm => 'dbscan', params => '{"eps": 0.5, "min_samples": 3}',
                             run => '{"model_name": "groups_db"}') IS NOT NULL AS stored,
       ml.cluster_embeddings('groups2', algorithm => 'hdbscan', params => '{"min_cluster_size": 3}',
                             run => '{"model_name": "groups_hdb"}') IS NOT NULL AS stored_too;
SELECT name, model_type, artifact ->> 'format' AS format FROM ml.model_registry WHERE name LIKE 'groups_%' ORDER BY name;
SELECT m.model, p.point, c.cluster, round(c.distance::numeric, 4) AS distance, round(c.probability::numeric, 4) AS probability, c.is_anomaly
  FROM (VALUES ('groups_db'), ('groups_hdb')) m(model),
       (VALUES ('{0.2,0.2}'::real[]), ('{5.3,5.2}'), ('{3,3}')) p(point),
       ml.predict_cluster(m.model, p.point, log => false) c
 ORDER BY 1, 2;
-- A table: one run, the probability of each item kept.
SELECT ml.predict_clusters('groups_hdb', 'groups2', log => false) AS hdb_run \gset
SELECT item_id, cluster, round(probability::numeric, 4) AS probability FROM ml.cluster_assignments
 WHERE run_id = :hdb_run ORDER BY item_id::int;
\set ON_ERROR_STOP 0
SELECT * FROM ml.centroids('groups_hdb');
\set ON_ERROR_STOP 1
DROP TABLE groups2;
