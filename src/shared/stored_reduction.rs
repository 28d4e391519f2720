//! A stored reduction: a PCA, a t-SNE map or a UMAP map, as `ml.reduce_embeddings(...,
//! run => '{"model_name": ...}')` keeps it in `ml.model_registry` and as a pipeline model's
//! `"reduction"` holds it. What `ml.transform` applies and what a pipeline projects with.
//! The artifact formats are in docs/models.md.
//!
//! - `pg_mlkit.pca.v1`: mean and components; new embeddings are projected
//!   (`mlkit::reduce::pca`, as scikit-learn's `PCA.transform`).
//! - `pg_mlkit.tsne.v1`, `pg_mlkit.umap.v1`: the training points and their map
//!   coordinates; new embeddings are placed in the fixed map (`mlkit::reduce::tsne::transform`
//!   as openTSNE's `transform`, `mlkit::reduce::umap::transform` as umap-learn's), which
//!   needs the training points: at most [`MAX_MODEL_POINT_VALUES`] stored values.

use mlkit::neighbors::{Index, Metric};
use mlkit::reduce::{pca, tsne, umap};
use mlkit::{Exec, Matrix};
use serde_json::{json, Value};

/// Most values (rows × (dimensions + map coordinates)) a stored model may keep of its
/// training points: DBSCAN and HDBSCAN models, t-SNE and UMAP maps (about 10 bytes each as
/// JSON).
pub const MAX_MODEL_POINT_VALUES: usize = 2_000_000;

/// A map's training points and coordinates.
pub struct Map {
    pub index: Index,
    /// `rows × c`, row-major.
    pub embedding: Vec<f64>,
    pub c: usize,
}

/// A reduction ready to apply to new embeddings.
pub enum StoredReduction {
    Pca(pca::Pca),
    Tsne(Map),
    Umap(Map, umap::transform::Params),
}

impl StoredReduction {
    pub fn model_type(&self) -> &'static str {
        match self {
            StoredReduction::Pca(_) => "pca",
            StoredReduction::Tsne(_) => "tsne",
            StoredReduction::Umap(..) => "umap",
        }
    }

    /// The width of the embeddings it takes.
    pub fn input_dim(&self) -> usize {
        match self {
            StoredReduction::Pca(p) => p.dim,
            StoredReduction::Tsne(m) | StoredReduction::Umap(m, _) => m.index.dim(),
        }
    }

    /// The coordinates it gives each embedding.
    pub fn n_components(&self) -> usize {
        match self {
            StoredReduction::Pca(p) => p.explained_variance.len(),
            StoredReduction::Tsne(m) | StoredReduction::Umap(m, _) => m.c,
        }
    }

    /// `x`'s rows (`input_dim` wide) in the reduced space: `rows × n_components`, row-major;
    /// `NaN`s for a row a map cannot place (a zero vector under cosine).
    pub fn transform(&self, x: &Matrix, exec: &Exec) -> Vec<f64> {
        match self {
            StoredReduction::Pca(p) => p.transform(x, exec),
            StoredReduction::Tsne(m) => {
                let map = tsne::transform::Map { index: &m.index, embedding: &m.embedding, c: m.c };
                tsne::transform::transform(&map, x, &tsne::transform::Params::default(), exec)
            }
            StoredReduction::Umap(m, params) => {
                let map = umap::transform::Map { index: &m.index, embedding: &m.embedding, c: m.c };
                umap::transform::transform(&map, x, params, exec)
            }
        }
    }
}

/// A PCA's registry artifact: mean and components (rows), enough to project new embeddings
/// as `(x − mean) · componentsᵀ` (divided by `sqrt(explained_variance)` when `whiten`).
pub fn pca_artifact(p: &pca::Pca) -> Value {
    json!({
        "format": "pg_mlkit.pca.v1",
        "n_features": p.dim,
        "n_components": p.explained_variance.len(),
        "whiten": p.whiten,
        "mean": p.mean,
        "components": p.components.chunks(p.dim.max(1)).map(|c| c.to_vec()).collect::<Vec<_>>(),
        "explained_variance": p.explained_variance,
        "explained_variance_ratio": p.explained_variance_ratio,
    })
}

/// A t-SNE map's artifact: the training points `x` (under `metric`) and their coordinates.
pub fn tsne_artifact(x: &Matrix, metric: Metric, embedding: &[f64], c: usize) -> Value {
    let p = tsne::transform::Params::default();
    json!({
        "format": "pg_mlkit.tsne.v1",
        "metric": metric.name(),
        "n_features": x.cols(),
        "n_components": c,
        "transform": {"perplexity": p.perplexity, "k": p.k, "learning_rate": p.learning_rate, "exaggeration": p.exaggeration,
                      "n_iter": p.n_iter, "momentum": p.momentum, "max_grad_norm": p.max_grad_norm, "theta": p.theta},
        "points": rows_json(x.as_slice(), x.cols()),
        "embedding": embedding.chunks(c.max(1)).map(|r| r.to_vec()).collect::<Vec<_>>(),
    })
}

/// A UMAP map's artifact: the training points, their coordinates and what places new ones.
pub fn umap_artifact(x: &Matrix, metric: Metric, embedding: &[f64], c: usize, p: &umap::transform::Params) -> Value {
    json!({
        "format": "pg_mlkit.umap.v1",
        "metric": metric.name(),
        "n_features": x.cols(),
        "n_components": c,
        "n_neighbors": p.n_neighbors,
        "a": p.a,
        "b": p.b,
        "n_epochs": p.n_epochs,
        "learning_rate": p.learning_rate,
        "negative_sample_rate": p.negative_sample_rate,
        "repulsion_strength": p.repulsion_strength,
        "transform_seed": p.seed,
        "points": rows_json(x.as_slice(), x.cols()),
        "embedding": embedding.chunks(c.max(1)).map(|r| r.to_vec()).collect::<Vec<_>>(),
    })
}

fn rows_json(data: &[f32], dim: usize) -> Vec<Vec<f32>> {
    data.chunks(dim.max(1)).map(|r| r.to_vec()).collect()
}

/// The reduction an artifact holds (by its `format`), or the name of the part that is
/// missing or malformed.
pub fn of_artifact(a: &Value) -> Result<StoredReduction, &'static str> {
    match a["format"].as_str() {
        Some("pg_mlkit.pca.v1") => pca_of_artifact(a).map(StoredReduction::Pca),
        Some("pg_mlkit.tsne.v1") => Ok(StoredReduction::Tsne(map_of_artifact(a)?)),
        Some("pg_mlkit.umap.v1") => {
            let map = map_of_artifact(a)?;
            let count = |k: &'static str| a[k].as_u64().map(|v| v as usize).ok_or(k);
            let number = |k: &'static str| a[k].as_f64().filter(|v| v.is_finite()).ok_or(k);
            let params = umap::transform::Params {
                n_neighbors: count("n_neighbors").and_then(|k| if k >= 1 { Ok(k) } else { Err("n_neighbors") })?,
                a: number("a")?,
                b: number("b")?,
                n_epochs: if a["n_epochs"].is_null() { None } else { Some(count("n_epochs")?) },
                learning_rate: number("learning_rate")?,
                negative_sample_rate: count("negative_sample_rate")?,
                repulsion_strength: number("repulsion_strength")?,
                seed: a["transform_seed"].as_u64().ok_or("transform_seed")?,
            };
            Ok(StoredReduction::Umap(map, params))
        }
        _ => Err("format"),
    }
}

fn numbers(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(Value::as_f64).collect()
}

/// `rows × width` numbers within real's range, from an array of arrays.
fn matrix(v: &Value, width: usize) -> Option<Vec<f64>> {
    let mut out = vec![];
    for r in v.as_array()? {
        let r = numbers(r)?;
        if r.len() != width || r.iter().any(|x| !x.is_finite() || x.abs() > f64::from(f32::MAX)) {
            return None;
        }
        out.extend(r);
    }
    Some(out)
}

fn map_of_artifact(a: &Value) -> Result<Map, &'static str> {
    let dim = a["n_features"].as_u64().filter(|&d| d > 0).ok_or("n_features")? as usize;
    let c = a["n_components"].as_u64().filter(|&d| (1..=3).contains(&d)).ok_or("n_components")? as usize;
    let metric = match a["metric"].as_str() {
        Some("euclidean") => Metric::Euclidean,
        Some("cosine") => Metric::Cosine,
        _ => return Err("metric"),
    };
    let points: Vec<f32> = matrix(&a["points"], dim).ok_or("points")?.into_iter().map(|v| v as f32).collect();
    let embedding = matrix(&a["embedding"], c).ok_or("embedding")?;
    if points.is_empty() || embedding.len() / c != points.len() / dim {
        return Err("embedding");
    }
    let x = Matrix::new(&points, points.len() / dim, dim).ok_or("points")?;
    let index = Index::new(&x, metric).map_err(|_| "points")?;
    Ok(Map { index, embedding, c })
}

/// The PCA a `pg_mlkit.pca.v1` artifact holds, or the name of the part that is missing or
/// malformed.
fn pca_of_artifact(a: &Value) -> Result<pca::Pca, &'static str> {
    let dim = a["n_features"].as_u64().filter(|&d| d > 0).ok_or("n_features")? as usize;
    let mean = numbers(&a["mean"]).filter(|m| m.len() == dim).ok_or("mean")?;
    let rows: Vec<Vec<f64>> = a["components"].as_array().and_then(|r| r.iter().map(numbers).collect()).ok_or("components")?;
    if rows.is_empty() || rows.iter().any(|r| r.len() != dim) {
        return Err("components");
    }
    let explained_variance = numbers(&a["explained_variance"]).filter(|v| v.len() == rows.len()).ok_or("explained_variance")?;
    let explained_variance_ratio = numbers(&a["explained_variance_ratio"]).unwrap_or_default();
    Ok(pca::Pca {
        mean,
        components: rows.concat(),
        explained_variance,
        explained_variance_ratio,
        whiten: a["whiten"].as_bool().unwrap_or(false),
        dim,
        solver: pca::Solver::Covariance,
    })
}
