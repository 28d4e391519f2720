//! The model registry's artifacts: what a fitted model stores in `ml.model_registry` so that
//! it can predict later. Documented in docs/models.md.
//!
//! A K-Means artifact (`"format": "pg_mlkit.kmeans.v1"`) holds the centroids and, per
//! cluster, the distribution of the training points' distances to their centroid (101
//! quantiles, 0 % to 100 % in steps of 1 %, plus mean and standard deviation), which is what
//! an anomaly score of a new point is measured against.

use crate::shared::errors::{raise, spi, spi_some, UNIQUE_VIOLATION};
use crate::shared::stored_reduction::{self, StoredReduction};
use mlkit::cluster::placement::{DbscanModel, HdbscanModel, Placement};
use mlkit::neighbors::Metric;
use mlkit::Clustering;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Quantiles kept per cluster: 0 %, 1 %, …, 100 %.
use mlkit::cluster::anomaly::QUANTILES;

/// The K-Means artifact of `result` (which must have centroids and distances) for `dim`-wide
/// data. With `reduction` (a reduction's artifact), a pipeline model: K-Means fitted on the
/// reduction's coordinates (`dim` is their width), predicting new embeddings by reducing them
/// first.
pub fn kmeans_artifact(result: &Clustering, dim: usize, metric: Metric, reduction: Option<Value>) -> Value {
    let centroids = result.centroids.as_deref().unwrap_or_default();
    let distances = result.distances.as_deref().unwrap_or_default();
    let k = centroids.len() / dim.max(1);
    let mut per_cluster: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (&l, &d) in result.labels.iter().zip(distances) {
        if l >= 0 && (l as usize) < k {
            per_cluster[l as usize].push(d as f64);
        }
    }
    let summary: Vec<Value> = per_cluster.iter_mut().map(|v| distance_summary(v)).collect();
    with_reduction(kmeans_artifact_of(centroids, dim, summary, metric), reduction)
}

/// A clustering artifact made a pipeline's: the reduction's artifact as `"reduction"` and
/// the width of the embeddings it takes as `"input_features"`.
pub fn with_reduction(mut a: Value, reduction: Option<Value>) -> Value {
    if let Some(r) = reduction {
        a["input_features"] = r["n_features"].clone();
        a["reduction"] = r;
    }
    a
}

/// The quantile levels a K-Means artifact keeps of each cluster's training distances.
pub fn quantile_levels() -> Vec<f64> {
    mlkit::cluster::anomaly::quantile_levels()
}

/// One cluster's distances as the artifact keeps them ([`mlkit::cluster::anomaly::Summary`]).
fn distance_summary(v: &mut [f64]) -> Value {
    match mlkit::cluster::anomaly::Summary::of(v) {
        None => json!({"count": 0}),
        Some(s) => json!({"count": s.count, "mean": s.mean, "std": s.std, "quantiles": s.quantiles}),
    }
}

/// A K-Means artifact (`pg_mlkit.kmeans.v1`) from centroids (`k × dim`) and one distance
/// summary per cluster (as [`distance_summary`] writes them). Under `metric` cosine the
/// centroids are unit vectors and the distances cosine distances (`1 − cos`, pgvector's `<=>`).
pub fn kmeans_artifact_of(centroids: &[f32], dim: usize, summary: Vec<Value>, metric: Metric) -> Value {
    let k = centroids.len() / dim.max(1);
    json!({
        "format": "pg_mlkit.kmeans.v1",
        "metric": metric.name(),
        "n_clusters": k,
        "n_features": dim,
        "centroids": centroids.chunks(dim.max(1)).map(|c| c.to_vec()).collect::<Vec<_>>(),
        "distances": summary,
    })
}

/// A density clustering's model: what places new points ([`mlkit::cluster::placement`]).
pub enum Placer {
    Dbscan(DbscanModel),
    Hdbscan(HdbscanModel),
}

/// A `λ` as JSON: a number, or `null` for infinity (points at distance 0).
fn lambda_json(l: f64) -> Value {
    if l.is_finite() {
        json!(l)
    } else {
        Value::Null
    }
}

impl Placer {
    pub fn model_type(&self) -> &'static str {
        match self {
            Placer::Dbscan(_) => "dbscan",
            Placer::Hdbscan(_) => "hdbscan",
        }
    }

    /// The registry artifact (`pg_mlkit.dbscan.v1`, `pg_mlkit.hdbscan.v1`; docs/models.md).
    pub fn artifact(&self) -> Value {
        match self {
            Placer::Dbscan(m) => json!({
                "format": "pg_mlkit.dbscan.v1",
                "metric": m.metric.name(),
                "n_features": m.dim,
                "eps": m.eps,
                "core_points": m.core_points.chunks(m.dim.max(1)).map(|c| c.to_vec()).collect::<Vec<_>>(),
                "core_labels": m.core_labels,
            }),
            Placer::Hdbscan(m) => json!({
                "format": "pg_mlkit.hdbscan.v1",
                "metric": m.metric.name(),
                "n_features": m.dim,
                "min_samples": m.min_samples,
                "points": m.points.chunks(m.dim.max(1)).map(|c| c.to_vec()).collect::<Vec<_>>(),
                "core_distances": m.core_distances,
                "point_parent": m.point_parent,
                "point_lambda": m.point_lambda.iter().map(|&l| lambda_json(l)).collect::<Vec<_>>(),
                "clusters": m.cluster_parent.iter().map(|(c, (p, l))| json!([c, p, lambda_json(*l)])).collect::<Vec<_>>(),
                "selected": m.cluster_label.iter().map(|(c, l)| json!([c, l, lambda_json(m.max_lambda[c])])).collect::<Vec<_>>(),
            }),
        }
    }

    /// The dimension of the points it places.
    pub fn dim(&self) -> usize {
        match self {
            Placer::Dbscan(m) => m.dim,
            Placer::Hdbscan(m) => m.dim,
        }
    }

    /// Places one point; `None` for a zero vector under cosine.
    pub fn place(&self, x: &[f64]) -> Option<Placement> {
        match self {
            Placer::Dbscan(m) => m.place(x),
            Placer::Hdbscan(m) => m.place(x),
        }
    }
}

/// The [`Placer`] a `pg_mlkit.dbscan.v1` or `pg_mlkit.hdbscan.v1` artifact holds, or what is wrong with it.
fn placer_of_artifact(model_type: &str, a: &Value) -> Result<Placer, &'static str> {
    let numbers = |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(Value::as_f64).collect() };
    let lambdas = |v: &Value| -> Option<Vec<f64>> {
        v.as_array()?.iter().map(|x| if x.is_null() { Some(f64::INFINITY) } else { x.as_f64() }).collect()
    };
    let dim = a["n_features"].as_u64().filter(|&d| d > 0).ok_or("n_features")? as usize;
    let metric = match a["metric"].as_str() {
        Some("euclidean") => Metric::Euclidean,
        Some("cosine") => Metric::Cosine,
        _ => return Err("metric"),
    };
    let rows = |v: &Value| -> Option<Vec<f32>> {
        let mut out = vec![];
        for r in v.as_array()? {
            let r = numbers(r)?;
            if r.len() != dim || r.iter().any(|x| x.abs() > f64::from(f32::MAX)) {
                return None;
            }
            out.extend(r.iter().map(|&x| x as f32));
        }
        Some(out)
    };
    let index = |v: &Value| v.as_u64().map(|u| u as usize);
    match (model_type, a["format"].as_str()) {
        ("dbscan", Some("pg_mlkit.dbscan.v1")) => {
            let core_points = rows(&a["core_points"]).ok_or("core_points")?;
            let core_labels: Vec<i32> =
                a["core_labels"].as_array().and_then(|l| l.iter().map(|v| v.as_i64().map(|x| x as i32)).collect()).ok_or("core_labels")?;
            if core_labels.len() * dim != core_points.len() {
                return Err("core_labels");
            }
            Ok(Placer::Dbscan(DbscanModel {
                dim,
                metric,
                eps: a["eps"].as_f64().filter(|e| *e > 0.0).ok_or("eps")?,
                core_points,
                core_labels,
            }))
        }
        ("hdbscan", Some("pg_mlkit.hdbscan.v1")) => {
            let points = rows(&a["points"]).ok_or("points")?;
            let n = points.len() / dim;
            let core_distances = numbers(&a["core_distances"]).filter(|c| c.len() == n).ok_or("core_distances")?;
            let point_parent: Vec<usize> = a["point_parent"]
                .as_array()
                .and_then(|p| p.iter().map(index).collect())
                .filter(|p: &Vec<usize>| p.len() == n)
                .ok_or("point_parent")?;
            let point_lambda = lambdas(&a["point_lambda"]).filter(|l| l.len() == n).ok_or("point_lambda")?;
            let mut cluster_parent = std::collections::BTreeMap::new();
            for c in a["clusters"].as_array().ok_or("clusters")? {
                let (child, parent) = (index(&c[0]).ok_or("clusters")?, index(&c[1]).ok_or("clusters")?);
                let l = lambdas(&json!([c[2]])).ok_or("clusters")?[0];
                cluster_parent.insert(child, (parent, l));
            }
            let (mut cluster_label, mut max_lambda) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
            for c in a["selected"].as_array().ok_or("selected")? {
                let node = index(&c[0]).ok_or("selected")?;
                cluster_label.insert(node, c[1].as_i64().ok_or("selected")? as i32);
                max_lambda.insert(node, lambdas(&json!([c[2]])).ok_or("selected")?[0]);
            }
            let min_samples = index(&a["min_samples"]).filter(|&m| m >= 1).ok_or("min_samples")?;
            if point_parent.iter().any(|&p| p < n) {
                return Err("point_parent");
            }
            Ok(Placer::Hdbscan(HdbscanModel {
                dim,
                metric,
                min_samples,
                points,
                core_distances,
                point_parent,
                point_lambda,
                cluster_parent,
                cluster_label,
                max_lambda,
                root: n,
            }))
        }
        _ => Err("format"),
    }
}

/// Registers a new version of model `name` (the next whole number after the highest
/// numeric version, unless `version` is given) with `artifact`, linked to run `run_id`;
/// returns the version.
#[allow(clippy::too_many_arguments)] // the registry row's columns, each its own argument
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
                c.select(
                    "SELECT EXISTS (SELECT 1 FROM ml.model_registry m
                                     WHERE m.name OPERATOR(pg_catalog.=) $1 AND m.version OPERATOR(pg_catalog.=) $2
                                       AND m.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant())",
                    None,
                    &[name.into(), v.into()],
                ),
                "look up the model",
            );
            if spi(taken.first().get_one::<bool>(), "look up the model").unwrap_or(false) {
                raise(
                    UNIQUE_VIOLATION,
                    format!(
                        "run.model_version {} of model {} is already registered",
                        crate::shared::errors::literal(v),
                        crate::shared::errors::literal(name)
                    ),
                    "Give a new version, or leave model_version out to register the next number.",
                );
            }
        }
        let t = spi(
            c.update(
                "INSERT INTO ml.model_registry (name, version, model_type, implementation, parameters, artifact, metrics, source_run_id)
                 VALUES ($1, coalesce($2, (SELECT (coalesce(pg_catalog.max(m.version::numeric) FILTER (WHERE m.version OPERATOR(pg_catalog.~) '^[0-9]{1,18}$'), 0) + 1)::pg_catalog.text
                                             FROM ml.model_registry m WHERE m.name OPERATOR(pg_catalog.=) $1 AND m.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant())),
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
        spi_some(t.first().get_one::<String>(), "register the model")
    })
}

// ---------------------------------------------------------------------------------------
// Loading a stored K-Means model, with a per-backend cache.

use crate::shared::errors::{literal, INVALID_PARAMETER_VALUE, WRONG_OBJECT_TYPE};
use mlkit::cluster::anomaly::{Profile, Thresholds};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A K-Means model ready to predict: its registry row, centroids and distance profiles.
pub struct KMeansModel {
    pub name: String,
    pub version: String,
    pub dim: usize,
    /// `k × dim` centroids, row-major.
    pub centroids: Vec<f64>,
    pub profiles: Vec<Profile>,
    pub thresholds: Thresholds,
    /// Euclidean, or cosine (spherical K-Means: unit centroids, cosine distances).
    pub metric: Metric,
    /// A pipeline model's reduction (K-Means fitted on reduced coordinates): new embeddings
    /// are reduced with it first, and `dim` is the reduced width.
    pub reduction: Option<StoredReduction>,
}

impl KMeansModel {
    /// The width of the embeddings the model predicts: the reduction's input for a pipeline.
    pub fn input_dim(&self) -> usize {
        self.reduction.as_ref().map_or(self.dim, StoredReduction::input_dim)
    }

    /// `rows` embeddings (`rows × input_dim`, row-major) in the space the centroids live in:
    /// projected by the reduction, as the training rows were, or as they are.
    pub fn project(&self, data: &[f32], rows: usize, exec: &mlkit::Exec) -> Vec<f64> {
        match (&self.reduction, mlkit::Matrix::new(data, rows, self.input_dim())) {
            (Some(r), Some(x)) => r.transform(&x, exec),
            _ => data.iter().map(|&v| f64::from(v)).collect(),
        }
    }

    /// The nearest centroid to `x` (in the centroids' space: see [`KMeansModel::project`]) and
    /// the distance to it: Euclidean, or under cosine
    /// `1 − cos(x, c)` (what pgvector's `<=>` returns). `None` for a zero `x` under cosine,
    /// which has no direction.
    pub fn nearest(&self, x: &[f64]) -> Option<(usize, f64)> {
        if self.metric != Metric::Cosine {
            let (c, sq) = mlkit::cluster::lloyd::nearest(x, &self.centroids);
            return Some((c, sq.sqrt()));
        }
        // Scaled first, so that neither 1e-200 nor 1e200 under- or overflows the square.
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if scale == 0.0 {
            return None;
        }
        let norm = scale * x.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt();
        let unit: Vec<f64> = x.iter().map(|v| v / norm).collect();
        let (c, _) = mlkit::cluster::lloyd::nearest(&unit, &self.centroids);
        let centroid = &self.centroids[c * self.dim..(c + 1) * self.dim];
        let (dot, cc) = centroid.iter().zip(&unit).fold((0.0, 0.0), |(d, n), (a, b)| (d + a * b, n + a * a));
        // As pgvector's <=>, within [0, 2] whatever the rounding.
        Some((c, (1.0 - dot / cc.sqrt()).clamp(0.0, 2.0)))
    }
}

thread_local! {
    /// Models this backend has parsed, by tenant and registry row id, each with the exact
    /// stored bytes it was parsed from ([`Stored`]). Every lookup reads the row (with the
    /// caller's privileges, so row-level security still decides what a session can use) and
    /// serves the cached model only when the tenant, id, name, version and the stored bytes of
    /// `artifact` and `parameters` are all the same as when it was parsed: no row version
    /// number (`xmin`, which a dump and restore makes equal across rows and an UPDATE in the
    /// same transaction keeps; `ctid`, which VACUUM reuses) is trusted to say the artifact is
    /// unchanged. Comparing the bytes is a `memcmp` of the compressed value, far cheaper than
    /// parsing it. At most [`CACHED_MODELS`] models are kept; when full, the cache is emptied.
    static CACHE: RefCell<HashMap<CacheKey, (Stored, ClusterModel)>> = RefCell::new(HashMap::new());
}
/// A cached model's tenant and registry id.
type CacheKey = (String, i64);
const CACHED_MODELS: usize = 16;

/// What a cached model was parsed from: the row's name and version and the bytes of its
/// `artifact` and `parameters` exactly as the table stores them (compressed or not; fetched
/// from TOAST, never decompressed). Equal bytes are an equal value.
#[derive(PartialEq, Eq)]
struct Stored {
    name: String,
    version: String,
    artifact: Option<Vec<u8>>,
    parameters: Option<Vec<u8>>,
}

/// The bytes of a non-null varlena datum as stored: fetched from TOAST when held out of line
/// (still compressed, if it was), else the inline bytes, header included.
///
/// # Safety
/// `datum` is a valid, non-null varlena datum for the duration of the call.
unsafe fn stored_bytes(datum: pg_sys::Datum) -> Vec<u8> {
    // SAFETY: per the contract; detoast_external_attr returns a palloc'd plain (possibly
    // compressed) varlena of VARSIZE_ANY bytes.
    unsafe {
        let mut p = datum.cast_mut_ptr::<pg_sys::varlena>();
        if pgrx::varatt_is_1b_e(p) {
            p = pg_sys::detoast_external_attr(p);
        }
        std::slice::from_raw_parts(p as *const u8, pgrx::varsize_any(p)).to_vec()
    }
}

/// A jsonb column's value as text (`jsonb_out`), for serde_json to parse with errors rather
/// than pgrx's conversion, which panics on what serde_json refuses (nesting past 128 levels,
/// numbers beyond f64 such as 1e400).
///
/// # Safety
/// `datum` is a valid, non-null jsonb datum.
unsafe fn jsonb_text(datum: pg_sys::Datum) -> String {
    // SAFETY: per the contract; jsonb_out detoasts and returns a palloc'd cstring.
    unsafe { pgrx::direct_function_call::<&std::ffi::CStr>(pg_sys::jsonb_out, &[Some(datum)]) }
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The registry row of model `$1`, version `$2` or, if NULL, the version aliased `production`,
/// else the newest version staged `production`, else the newest: id, tenant, version, type,
/// artifact, parameters. The one way every loader finds a model.
const MODEL_LOOKUP: &str = "SELECT r.id, r.tenant_id, r.version, coalesce(r.model_type, ''), r.artifact, r.parameters
   FROM ml.model_registry r
  WHERE r.name OPERATOR(pg_catalog.=) $1 AND ($2::pg_catalog.text IS NULL OR r.version OPERATOR(pg_catalog.=) $2)
    AND r.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
  ORDER BY ($2 IS NULL AND EXISTS (SELECT 1 FROM ml.model_aliases a
                                    WHERE a.model_id OPERATOR(pg_catalog.=) r.id AND a.tenant_id OPERATOR(pg_catalog.=) r.tenant_id
                                      AND a.alias OPERATOR(pg_catalog.=) 'production')) DESC,
           ($2 IS NULL AND r.stage OPERATOR(pg_catalog.=) 'production') DESC,
           r.id DESC
  LIMIT 1";

/// The error for a model name or version that is not there.
fn missing_model(func: &str, name: &str, version: Option<&str>) -> ! {
    match version {
        Some(v) => raise(
            INVALID_PARAMETER_VALUE,
            format!("{func}: model {} has no version {}", literal(name), literal(v)),
            "List the versions with SELECT version FROM ml.model_registry WHERE name = '...', or leave version out for the production one.",
        ),
        None => raise(
            INVALID_PARAMETER_VALUE,
            format!("{func}: model {} does not exist", literal(name)),
            "Fit one with ml.cluster_embeddings or ml.reduce_embeddings(..., run => '{\"model_name\": \"...\"}'); names are case-sensitive.",
        ),
    }
}

/// A stored reduction (`ml.reduce_embeddings(..., run => '{"model_name": ...}')`: a PCA, a
/// t-SNE or a UMAP map), found as [`load_kmeans`] finds a model; its version too, for messages.
pub fn load_reduction(func: &str, name: &str, version: Option<&str>) -> (StoredReduction, String) {
    crate::shared::citus::refuse_model_lookup_in_task(func);
    let found = Spi::connect(|c| {
        let t = spi(c.select(MODEL_LOOKUP, None, &[name.into(), version.into()]), "look up the model");
        if t.is_empty() {
            return None;
        }
        let row = t.first();
        let found_version = spi_some(row.get::<String>(3), "look up the model");
        let model_type = spi_some(row.get::<String>(4), "look up the model");
        let artifact = spi(row.get::<JsonB>(5), "read the model").map(|j| j.0);
        Some((found_version, model_type, artifact))
    });
    let Some((found_version, model_type, artifact)) = found else { missing_model(func, name, version) };
    if !["pca", "tsne", "umap"].contains(&model_type.as_str()) {
        raise(
            WRONG_OBJECT_TYPE,
            format!(
                "{func}: model {} version {} is a {} model, not a reduction",
                literal(name),
                literal(&found_version),
                if model_type.is_empty() { "untyped" } else { &model_type }
            ),
            "Transform with a PCA, t-SNE or UMAP model that ml.reduce_embeddings(..., run => '{\"model_name\": ...}') stored; predict clusters with ml.predict_cluster.",
        );
    }
    let bad = |what: &str| -> ! {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{func}: the artifact of model {} version {} has no valid {what}", literal(name), literal(&found_version)),
            "Re-fit the model with ml.reduce_embeddings; the artifact's layout is in docs/models.md.",
        )
    };
    let a = artifact.unwrap_or_else(|| bad("artifact"));
    let r = stored_reduction::of_artifact(&a).unwrap_or_else(|what| bad(what));
    if r.model_type() != model_type {
        bad("format");
    }
    (r, found_version)
}

/// A stored DBSCAN or HDBSCAN model ready to place points.
pub struct DensityModel {
    pub name: String,
    pub version: String,
    pub placer: Placer,
    /// A pipeline model's reduction: new embeddings are reduced with it, then placed.
    pub reduction: Option<StoredReduction>,
}

impl DensityModel {
    /// The width of the embeddings the model places: the reduction's input for a pipeline.
    pub fn input_dim(&self) -> usize {
        self.reduction.as_ref().map_or(self.placer.dim(), StoredReduction::input_dim)
    }

    /// `rows` embeddings (`rows × input_dim`) in the space the model's points live in.
    pub fn project(&self, data: &[f32], rows: usize, exec: &mlkit::Exec) -> Vec<f64> {
        match (&self.reduction, mlkit::Matrix::new(data, rows, self.input_dim())) {
            (Some(r), Some(x)) => r.transform(&x, exec),
            _ => data.iter().map(|&v| f64::from(v)).collect(),
        }
    }
}

/// A stored clustering model of any algorithm.
#[derive(Clone)]
pub enum ClusterModel {
    KMeans(Rc<KMeansModel>),
    Density(Rc<DensityModel>),
}

/// The K-Means model `name`, version `version` or, if NULL, the version aliased `production`,
/// else the newest version staged `production`, else the newest version.
pub fn load_kmeans(func: &str, name: &str, version: Option<&str>) -> Rc<KMeansModel> {
    match load_clustering(func, name, version) {
        ClusterModel::KMeans(m) => m,
        ClusterModel::Density(d) => raise(
            WRONG_OBJECT_TYPE,
            format!(
                "{func}: model {} version {} is a {} model, not a K-Means clustering model",
                literal(name),
                literal(&d.version),
                d.placer.model_type()
            ),
            "Only K-Means models have centroids; predict with ml.predict_cluster, which takes every clustering model.",
        ),
    }
}

/// The clustering model (K-Means, DBSCAN or HDBSCAN) `name`, found as [`load_kmeans`] finds one.
pub fn load_clustering(func: &str, name: &str, version: Option<&str>) -> ClusterModel {
    enum Found {
        Missing,
        WrongType(String, String),
        Cached(ClusterModel),
        Parse { key: CacheKey, stored: Stored, model_type: String, artifact: Option<String>, parameters: Option<String> },
    }
    crate::shared::citus::refuse_model_lookup_in_task(func);
    let found = Spi::connect(|c| {
        let t = spi(c.select(MODEL_LOOKUP, None, &[name.into(), version.into()]), "look up the model");
        if t.is_empty() {
            return Found::Missing;
        }
        let row = t.first();
        let id = spi_some(row.get::<i64>(1), "look up the model");
        let tenant = spi_some(row.get::<String>(2), "look up the model");
        let found_version = spi_some(row.get::<String>(3), "look up the model");
        let model_type = spi_some(row.get::<String>(4), "look up the model");
        if !["kmeans", "dbscan", "hdbscan"].contains(&model_type.as_str()) {
            return Found::WrongType(found_version, model_type);
        }
        // The two jsonb columns, read as stored bytes (and as text only to parse them).
        let jsonb = |i: usize| -> Option<pg_sys::Datum> {
            let oid = spi(row.column_type_oid(i), "read the model");
            if oid != pgrx::PgOid::BuiltIn(pgrx::PgBuiltInOids::JSONBOID) {
                raise(
                    crate::shared::errors::DATATYPE_MISMATCH,
                    format!("{func}: column {i} of ml.model_registry's row is not jsonb"),
                    "The registry's schema was altered; reinstall pg_mlkit.",
                );
            }
            spi(row.get_datum_by_ordinal(i), "read the model")
        };
        let (artifact, parameters) = (jsonb(5), jsonb(6));
        // SAFETY: non-null varlena datums of the current SPI tuple, valid until SPI ends.
        let stored = Stored {
            name: name.to_string(),
            version: found_version,
            artifact: artifact.map(|d| unsafe { stored_bytes(d) }),
            parameters: parameters.map(|d| unsafe { stored_bytes(d) }),
        };
        let key = (tenant, id);
        if let Some(m) = CACHE.with(|c| c.borrow().get(&key).filter(|(s, _)| *s == stored).map(|(_, m)| m.clone())) {
            return Found::Cached(m);
        }
        // SAFETY: as above; jsonb datums.
        let (artifact, parameters) = unsafe { (artifact.map(|d| jsonb_text(d)), parameters.map(|d| jsonb_text(d))) };
        Found::Parse { key, stored, model_type, artifact, parameters }
    });
    let (key, stored, model_type, artifact, parameters) = match found {
        Found::Cached(m) => return m,
        Found::Parse { key, stored, model_type, artifact, parameters } => (key, stored, model_type, artifact, parameters),
        Found::WrongType(found_version, model_type) => raise(
            WRONG_OBJECT_TYPE,
            format!(
                "{func}: model {} version {} is a {} model, not a clustering model",
                literal(name),
                literal(&found_version),
                if model_type.is_empty() { "untyped" } else { &model_type }
            ),
            "Predict clusters with a model that ml.cluster_embeddings stored (K-Means, DBSCAN or HDBSCAN); project with ml.transform.",
        ),
        Found::Missing => missing_model(func, name, version),
    };
    let parse = |what: &str, text: Option<String>| -> Option<Value> {
        text.map(|t| {
            serde_json::from_str(&t).unwrap_or_else(|e| {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{func}: the {what} of model {} version {} could not be read: {e}", literal(name), literal(&stored.version)),
                    "Re-fit the model with ml.cluster_embeddings; a stored model is JSON nested at most 128 levels, with numbers that fit a double precision (docs/models.md).",
                )
            })
        })
    };
    let (artifact, parameters) = (parse("artifact", artifact), parse("parameters", parameters));
    let model = if model_type == "kmeans" {
        ClusterModel::KMeans(Rc::new(parse_kmeans(func, name, &stored.version, artifact, parameters)))
    } else {
        let placer = artifact.as_ref().ok_or("artifact").and_then(|a| placer_of_artifact(&model_type, a)).unwrap_or_else(|what| {
            raise(
                crate::shared::errors::DATATYPE_MISMATCH,
                format!(
                    "{func}: the artifact of {} model {} version {} has no valid {what}",
                    model_type,
                    literal(name),
                    literal(&stored.version)
                ),
                "Re-fit the model with ml.cluster_embeddings; docs/models.md describes the format.",
            )
        });
        let reduction = artifact.as_ref().and_then(|a| a.get("reduction")).filter(|r| !r.is_null()).map(|r| {
            stored_reduction::of_artifact(r).ok().filter(|p| p.n_components() == placer.dim()).unwrap_or_else(|| {
                raise(
                    crate::shared::errors::DATATYPE_MISMATCH,
                    format!(
                        "{func}: the artifact of {} model {} version {} has no valid reduction",
                        model_type,
                        literal(name),
                        literal(&stored.version)
                    ),
                    "Re-fit the model with ml.cluster_embeddings; docs/models.md describes the format.",
                )
            })
        });
        ClusterModel::Density(Rc::new(DensityModel { name: name.to_string(), version: stored.version.clone(), placer, reduction }))
    };
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHED_MODELS {
            c.clear();
        }
        c.insert(key, (stored, model.clone()));
    });
    model
}

fn parse_kmeans(func: &str, name: &str, version: &str, artifact: Option<Value>, parameters: Option<Value>) -> KMeansModel {
    let broken = |why: &str| -> ! {
        raise(
            crate::shared::errors::DATATYPE_MISMATCH,
            format!(
                "{func}: the artifact of model {} version {} is not a pg_mlkit.kmeans.v1 artifact: {why}",
                literal(name),
                literal(version)
            ),
            "Re-fit the model with ml.cluster_embeddings; docs/models.md describes the format.",
        )
    };
    let a = artifact.unwrap_or_else(|| broken("it is NULL"));
    if a.get("format").and_then(Value::as_str) != Some("pg_mlkit.kmeans.v1") {
        broken("its format is not pg_mlkit.kmeans.v1");
    }
    let dim =
        a.get("n_features").and_then(Value::as_u64).filter(|&d| d > 0).unwrap_or_else(|| broken("n_features is missing or 0")) as usize;
    let mut centroids = Vec::new();
    for c in a.get("centroids").and_then(Value::as_array).unwrap_or_else(|| broken("centroids are missing")) {
        let row = c.as_array().unwrap_or_else(|| broken("a centroid is not an array"));
        if row.len() != dim {
            broken("a centroid has the wrong length");
        }
        centroids.extend(row.iter().map(|v| {
            v.as_f64()
                .filter(|f| f.abs() <= f64::from(f32::MAX))
                .unwrap_or_else(|| broken("a centroid holds a non-number or a number beyond real's range"))
        }));
    }
    let k = centroids.len() / dim.max(1);
    let dists = a.get("distances").and_then(Value::as_array).unwrap_or_else(|| broken("distances are missing"));
    if dists.len() != k || k == 0 {
        broken("there is not one distance profile per centroid");
    }
    let profiles = dists
        .iter()
        .map(|d| {
            let q: Vec<f64> =
                d.get("quantiles").and_then(Value::as_array).map(|q| q.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
            // An empty cluster has no training distances: every distance is beyond them.
            Profile { quantiles: if q.len() >= 2 { q } else { vec![0.0; QUANTILES] } }
        })
        .collect();
    let mut thresholds = Thresholds::default();
    if let Some(t) = parameters.as_ref().and_then(|p| p.get("anomaly")) {
        for (key, slot) in [
            ("threshold", &mut thresholds.anomaly),
            ("medium", &mut thresholds.medium),
            ("high", &mut thresholds.high),
            ("critical", &mut thresholds.critical),
        ] {
            if let Some(v) = t.get(key).and_then(Value::as_f64) {
                *slot = v;
            }
        }
    }
    let metric = match a.get("metric").and_then(Value::as_str) {
        None | Some("euclidean") => Metric::Euclidean,
        Some("cosine") => Metric::Cosine,
        Some(_) => broken("its metric is neither 'euclidean' nor 'cosine'"),
    };
    if metric == Metric::Cosine && centroids.chunks(dim).any(|c| (c.iter().map(|v| v * v).sum::<f64>().sqrt() - 1.0).abs() > 1e-3) {
        broken("its metric is cosine but a centroid is not a unit vector");
    }
    let reduction = a.get("reduction").filter(|r| !r.is_null()).map(|r| {
        let p = stored_reduction::of_artifact(r).unwrap_or_else(|what| broken(&format!("its reduction has no valid {what}")));
        if p.n_components() != dim {
            broken("its reduction's coordinates are not as many as the centroids'");
        }
        p
    });
    KMeansModel { name: name.to_string(), version: version.to_string(), dim, centroids, profiles, thresholds, metric, reduction }
}
