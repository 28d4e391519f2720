//! The model registry's artifacts: what a fitted model stores in `ml.model_registry` so that
//! it can predict later. Documented in docs/models.md.
//!
//! A K-Means artifact (`"format": "pg_mlkit.kmeans.v1"`) holds the centroids and, per
//! cluster, the distribution of the training points' distances to their centroid (101
//! quantiles, 0 % to 100 % in steps of 1 %, plus mean and standard deviation), which is what
//! an anomaly score of a new point is measured against.

use crate::errors::{raise, spi, UNIQUE_VIOLATION};
use mlkit::Clustering;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Quantiles kept per cluster: 0 %, 1 %, …, 100 %.
const QUANTILES: usize = 101;

/// The K-Means artifact of `result` (which must have centroids and distances) for `dim`-wide
/// data.
pub fn kmeans_artifact(result: &Clustering, dim: usize) -> Value {
    let centroids = result.centroids.as_deref().unwrap_or_default();
    let distances = result.distances.as_deref().unwrap_or_default();
    let k = centroids.len() / dim.max(1);
    let mut per_cluster: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (&l, &d) in result.labels.iter().zip(distances) {
        if l >= 0 && (l as usize) < k {
            per_cluster[l as usize].push(d as f64);
        }
    }
    let summary: Vec<Value> = per_cluster
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n == 0 {
                return json!({"count": 0});
            }
            let mean = v.iter().sum::<f64>() / n as f64;
            let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            // Linear interpolation between order statistics (NumPy's default quantile).
            let q: Vec<f64> = (0..QUANTILES)
                .map(|i| {
                    let pos = i as f64 / (QUANTILES - 1) as f64 * (n - 1) as f64;
                    let (lo, frac) = (pos.floor() as usize, pos.fract());
                    let hi = (lo + 1).min(n - 1);
                    v[lo] + (v[hi] - v[lo]) * frac
                })
                .collect();
            json!({"count": n, "mean": mean, "std": std, "quantiles": q})
        })
        .collect();
    json!({
        "format": "pg_mlkit.kmeans.v1",
        "metric": "euclidean",
        "n_clusters": k,
        "n_features": dim,
        "centroids": centroids.chunks(dim.max(1)).map(|c| c.to_vec()).collect::<Vec<_>>(),
        "distances": summary,
    })
}

/// Registers a new version of model `name` (the next whole number after the highest
/// numeric version, unless `version` is given) with `artifact`, linked to run `run_id`;
/// returns the version.
pub fn register(
    name: &str,
    version: Option<&str>,
    model_type: &str,
    implementation: &str,
    parameters: Value,
    artifact: Value,
    metrics: Value,
    run_id: i64,
) -> String {
    Spi::connect_mut(|c| {
        if let Some(v) = version {
            let taken = spi(
                c.select("SELECT EXISTS (SELECT 1 FROM ml.model_registry WHERE name = $1 AND version = $2)", None, &[name.into(), v.into()]),
                "look up the model",
            );
            if spi(taken.first().get_one::<bool>(), "look up the model").unwrap_or(false) {
                raise(
                    UNIQUE_VIOLATION,
                    format!("run.model_version {} of model {} is already registered", crate::errors::literal(v), crate::errors::literal(name)),
                    "Give a new version, or leave model_version out to register the next number.",
                );
            }
        }
        let t = spi(
            c.update(
                "INSERT INTO ml.model_registry (name, version, model_type, implementation, parameters, artifact, metrics, source_run_id)
                 VALUES ($1, coalesce($2, (SELECT (coalesce(max(version::numeric) FILTER (WHERE version ~ '^[0-9]{1,18}$'), 0) + 1)::text
                                             FROM ml.model_registry WHERE name = $1)),
                         $3, $4, $5, $6, $7, $8)
                 RETURNING version",
                None,
                &[
                    name.into(),
                    version.into(),
                    model_type.into(),
                    implementation.into(),
                    JsonB(parameters).into(),
                    JsonB(artifact).into(),
                    JsonB(metrics).into(),
                    run_id.into(),
                ],
            ),
            "register the model",
        );
        spi(t.first().get_one::<String>(), "register the model").unwrap_or_default()
    })
}
