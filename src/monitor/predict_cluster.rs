//! Predicting with stored clustering models (K-Means, DBSCAN, HDBSCAN, and pipelines of a
//! reduction then one of them: [`registry::ClusterModel`]), and the prediction log: `ml.predict_cluster`,
//! `ml.predict_clusters`. (`ml.log_prediction`, for any model's predictions, is plain SQL in
//! sql/schema/20_monitoring.sql.) Documented in docs/functions/predict_cluster.md.

use crate::shared::errors::{literal, raise, spi, ARRAY_SUBSCRIPT_ERROR, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::registry::{self, KMeansModel};
use mlkit::cluster::anomaly::Thresholds;
use mlkit::cluster::placement::Placement;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::time::Instant;

/// The outcome of one prediction.
struct Prediction {
    cluster: usize,
    distance: f64,
    score: f64,
}

/// `None` for a zero embedding under a cosine model.
fn predict_one(model: &KMeansModel, x: &[f64]) -> Option<Prediction> {
    let (cluster, distance) = model.nearest(x)?;
    Some(Prediction { cluster, distance, score: model.profiles[cluster].score(distance) })
}

/// `x` in the space of the model's centroids: projected by a pipeline model's reduction.
fn in_model_space(model: &KMeansModel, x: &[f64]) -> Vec<f64> {
    if model.reduction.is_none() {
        return x.to_vec();
    }
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let mut quiet = |_| {};
    model.project(&data, 1, &mlkit::Exec::new(1, &mut quiet))
}

/// `x` placed by a density model (reduced first by a pipeline's reduction); `None` for a
/// zero embedding under cosine (which a map cannot place either).
fn place_one(d: &registry::DensityModel, x: &[f64]) -> Option<Placement> {
    if d.reduction.is_none() {
        return d.placer.place(x);
    }
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let mut quiet = |_| {};
    let y = d.project(&data, 1, &mlkit::Exec::new(1, &mut quiet));
    if y.iter().any(|v| v.is_nan()) {
        return None;
    }
    d.placer.place(&y)
}

/// The error for a zero embedding under a cosine model.
fn zero_embedding(func: &str, model: &KMeansModel, item: Option<&str>) -> ! {
    raise(
        INVALID_PARAMETER_VALUE,
        format!(
            "{func}: embedding{} is a zero vector, which has no cosine distance to the centroids of model {} version {}",
            item.map(|i| format!(" of id {}", literal(i))).unwrap_or_default(),
            literal(&model.name),
            literal(&model.version)
        ),
        "A cosine model compares directions: leave zero vectors out of what you predict.",
    )
}

/// The embedding argument's values, checked against model `name` version `version`, which
/// takes `want` dimensions: the dimension (before a sparsevec is densified), no NULLs, finite
/// values within real's range.
fn embedding_values(func: &str, (name, version, want): (&str, &str, usize), embedding: &pgrx::AnyElement) -> Vec<f64> {
    let values = crate::shared::embedding_arg::values(func, "embedding", embedding, |dim| {
        if dim != want {
            raise(
                ARRAY_SUBSCRIPT_ERROR,
                format!(
                    "{func}: embedding has {dim} dimensions, but model {} version {} was fitted on {}",
                    literal(name),
                    literal(version),
                    want
                ),
                "Embed with the same model the clusters were fitted on, or predict with a model of this dimension.",
            );
        }
    });
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => raise(
                NULL_VALUE_NOT_ALLOWED,
                format!("{func}: embedding has a NULL at position {}", i + 1),
                "Every coordinate is needed to find the nearest centroid.",
            ),
            Some(v) if v.is_nan() => raise(
                INVALID_PARAMETER_VALUE,
                format!("{func}: embedding has {v} at position {}", i + 1),
                "Embeddings must be finite numbers.",
            ),
            Some(v) if v.abs() > f64::from(f32::MAX) => raise(
                pgrx::PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                format!("{func}: embedding has {v:e} at position {}, beyond the range of real", i + 1),
                "Embeddings are fitted and stored as real (single precision): scale the values into its range.",
            ),
            Some(v) => v,
        })
        .collect()
}

/// Logs placements by a density model (DBSCAN, HDBSCAN): the cluster as the value, `1 −
/// probability` as the anomaly score, noise as an anomaly of severity warning. (Alerts are
/// K-Means' own: its thresholds are on distance profiles a density model does not keep.)
fn log_placements(name: &str, placed: &[Placement], features: &[Value], response_ms: Option<i32>) {
    let values: Vec<f64> = placed.iter().map(|p| f64::from(p.label)).collect();
    let scores: Vec<f64> = placed.iter().map(|p| 1.0 - p.probability).collect();
    let noise: Vec<bool> = placed.iter().map(|p| p.label < 0).collect();
    let severity: Vec<String> = noise.iter().map(|&n| if n { "warning" } else { "normal" }.to_string()).collect();
    let features: Vec<JsonB> = features.iter().map(|f| JsonB(f.clone())).collect();
    Spi::connect_mut(|c| {
        spi(
            c.update(
                "INSERT INTO ml.ml_prediction_log (model_name, prediction_value, input_features, anomaly_score, is_anomaly, severity, response_time_ms)
                 SELECT $1, u.v, u.f, u.s, u.a, u.sev, $7 FROM unnest($2::double precision[], $3::pg_catalog.jsonb[], $4::double precision[], $5::boolean[], $6::pg_catalog.text[]) AS u(v, f, s, a, sev)",
                None,
                &[name.into(), values.into(), features.into(), scores.into(), noise.into(), severity.into(), response_ms.into()],
            ),
            "log the predictions",
        );
    });
}

/// Why a prediction is an anomaly, for `ml_anomaly_alerts.alert_data`.
fn alert_data(model: &KMeansModel, p: &Prediction, t: &Thresholds, log_id: Option<i64>, item: Option<&str>) -> Value {
    let q = &model.profiles[p.cluster].quantiles;
    json!({
        "reason": format!(
            "distance {:.6} to cluster {}'s centroid is beyond {:.1} % of its training points' distances (anomaly score {:.4} ≥ threshold {})",
            p.distance, p.cluster, (p.score.min(1.0) * 100.0), p.score, t.anomaly
        ),
        "model_name": model.name,
        "model_version": model.version,
        "cluster": p.cluster,
        "distance": p.distance,
        "anomaly_score": p.score,
        "threshold": t.anomaly,
        "training_distance_median": q[q.len() / 2],
        "training_distance_p99": q[q.len() * 99 / 100],
        "training_distance_max": q[q.len() - 1],
        "prediction_log_id": log_id,
        "item_id": item,
    })
}

/// Assigns `embedding` to the nearest centroid of a stored K-Means model, scores how unusual
/// its distance is for that cluster, and (with `log`) records it in `ml.ml_prediction_log` —
/// and in `ml.ml_anomaly_alerts` when it is an anomaly.
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.predict_cluster(
    model text,
    embedding anycompatible,
    version text DEFAULT NULL,
    log boolean DEFAULT true,
    features jsonb DEFAULT NULL
) RETURNS TABLE (cluster integer, distance double precision, anomaly_score double precision, is_anomaly boolean,
                probability double precision)
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.predict_cluster IS
  'Assigns an embedding to a cluster of a stored model: the nearest centroid of a K-Means model (with an anomaly score), the cluster of a DBSCAN core point within eps, or HDBSCAN''s approximate_predict (with a probability), after a pipeline model''s reduction; logs the prediction unless log is false.';
"#
)]
#[allow(clippy::type_complexity)]
fn predict_cluster(
    model: Option<&str>,
    embedding: Option<pgrx::AnyElement>,
    version: Option<&str>,
    log: Option<bool>,
    features: Option<crate::shared::params::Jsonb>,
) -> TableIterator<
    'static,
    (
        name!(cluster, Option<i32>),
        name!(distance, Option<f64>),
        name!(anomaly_score, Option<f64>),
        name!(is_anomaly, Option<bool>),
        name!(probability, Option<f64>),
    ),
> {
    let started = Instant::now();
    let f = "ml.predict_cluster";
    let name = model
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: model must not be NULL"), "Name a model of ml.model_registry."));
    let model = registry::load_clustering(f, name, version);
    // NULL in, NULL out (and nothing logged), so that a NULL embedding leaves its row in a
    // LATERAL join over a table instead of aborting it; the model is still looked up first,
    // so a misspelt name is an error on every row.
    let Some(embedding) = embedding else {
        return TableIterator::once((None, None, None, None, None));
    };
    let m = match model {
        registry::ClusterModel::KMeans(m) => m,
        registry::ClusterModel::Density(d) => {
            let x = embedding_values(f, (&d.name, &d.version, d.input_dim()), &embedding);
            let p = place_one(&d, &x).unwrap_or_else(|| {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!(
                        "{f}: embedding is a zero vector, which has no cosine distance to the points of model {} version {}",
                        literal(&d.name),
                        literal(&d.version)
                    ),
                    "A cosine model compares directions: leave zero vectors out of what you predict.",
                )
            });
            let noise = p.label < 0;
            if log.unwrap_or(true) {
                let features = features.map(|j| j.value(f, "features")).unwrap_or_else(
                    || json!({"model_version": d.version, "n_features": d.input_dim(), "norm": x.iter().map(|v| v * v).sum::<f64>().sqrt()}),
                );
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                log_placements(name, &[p], &[features], Some(elapsed.round() as i32));
            }
            let distance = Some(p.distance).filter(|d| d.is_finite());
            return TableIterator::once((Some(p.label), distance, Some(1.0 - p.probability), Some(noise), Some(p.probability)));
        }
    };
    let x = embedding_values(f, (&m.name, &m.version, m.input_dim()), &embedding);
    let y = in_model_space(&m, &x);
    let p = if y.iter().any(|v| v.is_nan()) { None } else { predict_one(&m, &y) };
    let p = p.unwrap_or_else(|| zero_embedding(f, &m, None));
    let t = m.thresholds;
    let anomaly = t.is_anomaly(p.score);
    if log.unwrap_or(true) {
        let features = features.map(|j| j.value(f, "features")).unwrap_or_else(
            || json!({"model_version": m.version, "n_features": m.input_dim(), "norm": x.iter().map(|v| v * v).sum::<f64>().sqrt()}),
        );
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        Spi::connect_mut(|c| {
            let t_log = spi(
                c.update(
                    "INSERT INTO ml.ml_prediction_log (model_name, prediction_value, input_features, anomaly_score, is_anomaly, severity, response_time_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    None,
                    &[
                        name.into(),
                        (p.cluster as f64).into(),
                        JsonB(features).into(),
                        p.score.into(),
                        anomaly.into(),
                        t.log_severity(p.score).into(),
                        (elapsed.round() as i32).into(),
                    ],
                ),
                "log the prediction",
            );
            let log_id = spi(t_log.first().get_one::<i64>(), "log the prediction");
            if anomaly {
                spi(
                    c.update(
                        "INSERT INTO ml.ml_anomaly_alerts (model_name, severity, alert_data) VALUES ($1, $2, $3)",
                        None,
                        &[name.into(), t.alert_severity(p.score).into(), JsonB(alert_data(&m, &p, &t, log_id, None)).into()],
                    ),
                    "raise the anomaly alert",
                );
            }
        });
    }
    TableIterator::once((Some(p.cluster as i32), Some(p.distance), Some(p.score), Some(anomaly), None))
}

/// Predicts every row of a table or view with a stored K-Means model: one
/// `ml.analysis_runs` row (`analysis_type = 'prediction'`), one `ml.cluster_assignments` row
/// per item (cluster, distance, anomaly score as `outlier_score`), and with `log` one
/// `ml.ml_prediction_log` row per item and an `ml.ml_anomaly_alerts` row per anomaly.
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.predict_clusters(
    model text,
    source regclass,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    version text DEFAULT NULL,
    log boolean DEFAULT true
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.predict_clusters IS
  'Assigns every row of a table or view to the clusters of a stored model (K-Means with anomaly scores, DBSCAN, HDBSCAN with probabilities, or a pipeline of a reduction then one of them); records a run, and logs each prediction unless log is false.';
"#
)]
fn predict_clusters(
    model: Option<&str>,
    source: Option<pg_sys::Oid>,
    embedding_column: Option<&std::ffi::CStr>,
    id_column: Option<&std::ffi::CStr>,
    version: Option<&str>,
    log: Option<bool>,
) -> i64 {
    use crate::runs::{self, required_name};
    use crate::shared::progress::ms;
    use crate::shared::source::Read;
    use crate::shared::source::Source;
    use crate::{runs::writer, shared::guc};
    let started = Instant::now();
    let f = "ml.predict_clusters";
    let name = model
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: model must not be NULL"), "Name a model of ml.model_registry."));
    let source = source
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: source must not be NULL"), "Pass the table or view to predict."));
    let embedding_column = required_name("embedding_column", embedding_column);
    let id_column = required_name("id_column", id_column);
    let m = match registry::load_clustering(f, name, version) {
        registry::ClusterModel::KMeans(m) => m,
        registry::ClusterModel::Density(d) => return predict_clusters_density(&d, source, &embedding_column, &id_column, log, started),
    };
    let plan = |rows: usize, dim: usize| rows * (dim * 4 + 64);
    // NULL in, NULL out: a row without an embedding gets no prediction (counted).
    let src = Source::within_memory_limit(source, &embedding_column, &id_column, &plan, crate::shared::params::Nulls::Skip);
    let Read { name: display, qualified, emb, mut progress, .. } = src.read_for(f);
    if emb.dim != m.input_dim() {
        raise(
            ARRAY_SUBSCRIPT_ERROR,
            format!(
                "{f}: embeddings of source {display} have {} dimensions, but model {} version {} was fitted on {}",
                emb.dim,
                literal(name),
                literal(&m.version),
                m.input_dim()
            ),
            "Predict with a model fitted on embeddings of this dimension.",
        );
    }
    let n = emb.ids.len();
    let mut exec = mlkit::Exec::new(guc::threads(), &mut progress);
    // A pipeline model's reduction first: the rows in the centroids' space (`m.dim` wide).
    let projected = m.project(&emb.data, n, &exec);
    if m.metric == mlkit::neighbors::Metric::Cosine {
        if let Some(i) = (0..n).find(|&i| projected[i * m.dim..(i + 1) * m.dim].iter().all(|&v| v == 0.0)) {
            zero_embedding(f, &m, Some(&emb.ids[i]));
        }
    }
    // A map under cosine cannot place a zero vector either.
    if let Some(i) = (0..n).find(|&i| projected[i * m.dim..(i + 1) * m.dim].iter().any(|v| v.is_nan())) {
        zero_embedding(f, &m, Some(&emb.ids[i]));
    }
    let (mut labels, mut distances, mut scores) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let model_ref: &KMeansModel = &m;
    exec.for_chunks(
        "predicting",
        n,
        2048,
        |r| r.map(|i| predict_one(model_ref, &projected[i * model_ref.dim..(i + 1) * model_ref.dim])).collect::<Vec<_>>(),
        |chunk| {
            // Zero rows were refused above, and only they have no nearest centroid.
            for p in chunk.into_iter().flatten() {
                labels.push(p.cluster as i32);
                distances.push(p.distance);
                scores.push(p.score);
            }
        },
    );
    let t = m.thresholds;
    let anomalies = scores.iter().filter(|&&s| t.is_anomaly(s)).count();
    let mut sizes = vec![0usize; m.profiles.len()];
    labels.iter().for_each(|&l| sizes[l as usize] += 1);
    let metrics = json!({
        "items": n,
        "input": src.input_metrics(),
        "anomalies": anomalies,
        "anomaly_rate": anomalies as f64 / n as f64,
        "mean_anomaly_score": scores.iter().sum::<f64>() / n as f64,
        "cluster_sizes": sizes,
    });
    let run_opts = runs::RunOptions {
        model_name: Some(name.to_string()),
        model_version: Some(m.version.clone()),
        autoencoder_name: None,
        autoencoder_implementation: None,
        autoencoder_file: None,
        autoencoder_params: None,
    };
    let stage = runs::Stage {
        name: "kmeans_predict",
        module: "cluster::anomaly",
        params: json!({"model": name, "version": m.version, "anomaly_threshold": t.anomaly, "alert_medium": t.medium, "alert_high": t.high, "alert_critical": t.critical}),
    };
    let run_id = runs::insert("prediction", &run_opts, &qualified, n, Some(&stage), None, metrics);
    let t_write = Instant::now();
    let rows = writer::AssignmentRows { labels: &labels, distances: Some(&distances), probabilities: None, outlier_scores: Some(&scores) };
    writer::write_assignment_rows(run_id, &emb.ids, &rows, &mut progress);
    if log.unwrap_or(true) {
        log_batch(name, &m, run_id, &emb.ids, &labels, &distances, &scores, &mut progress);
    }
    runs::finish(run_id, ms(started), ms(t_write));
    run_id
}

/// Logs a run's predictions, and its anomalies as alerts, in batches.
#[allow(clippy::too_many_arguments)]
fn log_batch(
    name: &str,
    m: &KMeansModel,
    run_id: i64,
    ids: &[String],
    labels: &[i32],
    distances: &[f64],
    scores: &[f64],
    progress: &mut crate::shared::progress::Reporter,
) {
    let t = m.thresholds;
    crate::runs::writer::in_batches(ids.len(), "the prediction log", progress, |c, r| {
        let features: Vec<JsonB> =
            r.clone().map(|i| JsonB(json!({"item_id": ids[i], "run_id": run_id, "model_version": m.version}))).collect();
        let values: Vec<f64> = labels[r.clone()].iter().map(|&l| f64::from(l)).collect();
        let flags: Vec<bool> = scores[r.clone()].iter().map(|&s| t.is_anomaly(s)).collect();
        let sev: Vec<String> = scores[r.clone()].iter().map(|&s| t.log_severity(s).to_string()).collect();
        let logged = spi(
            c.update(
                "INSERT INTO ml.ml_prediction_log (model_name, prediction_value, input_features, anomaly_score, is_anomaly, severity)
                 SELECT $1, u.v, u.f, u.s, u.a, u.sev FROM unnest($2::double precision[], $3::pg_catalog.jsonb[], $4::double precision[], $5::boolean[], $6::pg_catalog.text[]) AS u(v, f, s, a, sev)
                 RETURNING id",
                None,
                &[name.into(), values.into(), features.into(), scores[r.clone()].to_vec().into(), flags.clone().into(), sev.into()],
            ),
            "log the predictions",
        );
        let log_ids: Vec<i64> = logged.map(|row| crate::shared::errors::spi_some(row.get::<i64>(1), "log the predictions")).collect();
        let (mut sevs, mut data) = (Vec::new(), Vec::new());
        for (k, i) in r.clone().enumerate() {
            if flags[k] {
                let p = Prediction { cluster: labels[i] as usize, distance: distances[i], score: scores[i] };
                sevs.push(t.alert_severity(p.score).to_string());
                data.push(JsonB(alert_data(m, &p, &t, log_ids.get(k).copied(), Some(&ids[i]))));
            }
        }
        if !sevs.is_empty() {
            spi(
                c.update(
                    "INSERT INTO ml.ml_anomaly_alerts (model_name, severity, alert_data) SELECT $1, u.s, u.d FROM unnest($2::pg_catalog.text[], $3::pg_catalog.jsonb[]) AS u(s, d)",
                    None,
                    &[name.into(), sevs.into(), data.into()],
                ),
                "raise the anomaly alerts",
            );
        }
    });
}

/// [`predict_clusters`] with a DBSCAN or HDBSCAN model: each row placed
/// ([`mlkit::cluster::placement`]), its probability kept in `ml.cluster_assignments`.
fn predict_clusters_density(
    d: &registry::DensityModel,
    source: pg_sys::Oid,
    embedding_column: &str,
    id_column: &str,
    log: Option<bool>,
    started: Instant,
) -> i64 {
    use crate::runs::{self, writer};
    use crate::shared::progress::ms;
    use crate::shared::source::{Read, Source};
    let f = "ml.predict_clusters";
    let dim = d.input_dim();
    let plan = |rows: usize, dim: usize| rows * (dim * 4 + 64);
    let src = Source::within_memory_limit(source, embedding_column, id_column, &plan, crate::shared::params::Nulls::Skip);
    let Read { name: display, qualified, emb, mut progress, .. } = src.read_for(f);
    if emb.dim != dim {
        raise(
            ARRAY_SUBSCRIPT_ERROR,
            format!(
                "{f}: embeddings of source {display} have {} dimensions, but model {} version {} was fitted on {dim}",
                emb.dim,
                literal(&d.name),
                literal(&d.version)
            ),
            "Predict with a model fitted on embeddings of this dimension.",
        );
    }
    let n = emb.ids.len();
    let mut placed: Vec<Option<Placement>> = Vec::with_capacity(n);
    let mut exec = mlkit::Exec::new(crate::shared::guc::threads(), &mut progress);
    // A pipeline's reduction first: the rows in the space of the model's points.
    let projected = d.project(&emb.data, n, &exec);
    let width = d.placer.dim();
    exec.for_chunks(
        "placing",
        n,
        256,
        |r| {
            r.map(|i| {
                let x = &projected[i * width..(i + 1) * width];
                if x.iter().any(|v| v.is_nan()) {
                    None
                } else {
                    d.placer.place(x)
                }
            })
            .collect::<Vec<_>>()
        },
        |chunk| placed.extend(chunk),
    );
    drop(exec);
    if let Some(i) = placed.iter().position(Option::is_none) {
        raise(
            INVALID_PARAMETER_VALUE,
            format!(
                "{f}: embedding of id {} is a zero vector, which has no cosine distance to the points of model {} version {}",
                literal(&emb.ids[i]),
                literal(&d.name),
                literal(&d.version)
            ),
            "A cosine model compares directions: leave zero vectors out of what you predict.",
        );
    }
    let placed: Vec<Placement> = placed.into_iter().flatten().collect();
    let labels: Vec<i32> = placed.iter().map(|p| p.label).collect();
    let distances: Vec<f64> = placed.iter().map(|p| p.distance).collect();
    let probabilities: Vec<f64> = placed.iter().map(|p| p.probability).collect();
    let noise = labels.iter().filter(|&&l| l < 0).count();
    let k = labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize);
    let mut sizes = vec![0usize; k];
    labels.iter().filter(|&&l| l >= 0).for_each(|&l| sizes[l as usize] += 1);
    let metrics = json!({
        "items": n,
        "input": src.input_metrics(),
        "noise": noise,
        "noise_fraction": if n > 0 { noise as f64 / n as f64 } else { 0.0 },
        "mean_probability": if n > 0 { probabilities.iter().sum::<f64>() / n as f64 } else { 0.0 },
        "cluster_sizes": sizes,
    });
    let run_opts = runs::RunOptions {
        model_name: Some(d.name.clone()),
        model_version: Some(d.version.clone()),
        autoencoder_name: None,
        autoencoder_implementation: None,
        autoencoder_file: None,
        autoencoder_params: None,
    };
    let model_type = d.placer.model_type();
    let stage = runs::Stage {
        name: if model_type == "dbscan" { "dbscan_predict" } else { "hdbscan_approximate_predict" },
        module: "cluster::placement",
        params: json!({"model": d.name, "version": d.version}),
    };
    let run_id = runs::insert("prediction", &run_opts, &qualified, n, Some(&stage), None, metrics);
    let t_write = Instant::now();
    let rows =
        writer::AssignmentRows { labels: &labels, distances: Some(&distances), probabilities: Some(&probabilities), outlier_scores: None };
    writer::write_assignment_rows(run_id, &emb.ids, &rows, &mut progress);
    if log.unwrap_or(true) {
        let features: Vec<Value> = emb.ids.iter().map(|id| json!({"item_id": id, "run_id": run_id, "model_version": d.version})).collect();
        for (chunk, feats) in placed.chunks(5000).zip(features.chunks(5000)) {
            pgrx::check_for_interrupts!();
            log_placements(&d.name, chunk, feats, None);
        }
    }
    runs::finish(run_id, ms(started), ms(t_write));
    run_id
}
