//! `ml.cluster_embeddings`: read embeddings from a table or view, cluster them, and record
//! the run in `ml.analysis_runs` and one row per item in `ml.cluster_assignments`, all in
//! the caller's transaction. Documented in docs/functions/cluster_embeddings.md.

use crate::errors::{literal, raise, spi, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::params::Options;
use crate::progress::Reporter;
use crate::source::{Embeddings, Source};
use crate::guc;
use mlkit::{kmeans, rng::Rng, silhouette, Matrix};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::ffi::CStr;
use std::time::Instant;

/// Keys `params` may hold for K-Means.
const KMEANS_KEYS: &[&str] = &["n_clusters", "n_init", "max_iter", "tol", "random_state", "silhouette_sample_size"];
/// Keys `run` may hold.
const RUN_KEYS: &[&str] = &[
    "model_name",
    "model_version",
    "autoencoder_name",
    "autoencoder_implementation",
    "autoencoder_file",
    "autoencoder_params",
];
/// Points the silhouette is computed on when `silhouette_sample_size` is not given.
const DEFAULT_SILHOUETTE_SAMPLE: i64 = 1000;

/// Clusters the embeddings of `source` and returns the id of the new `ml.analysis_runs` row.
///
/// `embedding_column` may be `real[]`, `double precision[]`, `numeric[]`, an integer array, or
/// any type that casts to `real[]` (pgvector's `vector` does); `id_column` may be of any type
/// and is recorded as text. `params` holds the algorithm's options (unknown keys are errors),
/// `run` the descriptive columns of the run. Volatile: it writes, and without
/// `random_state` draws a seed (which it records).
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.cluster_embeddings(
    source regclass,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    algorithm text DEFAULT 'kmeans',
    params jsonb DEFAULT '{}',
    reduction text DEFAULT NULL,
    reduction_params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.cluster_embeddings IS
  'Clusters the embeddings of a table or view and records the run in ml.analysis_runs and ml.cluster_assignments; returns the run id.';
"#
)]
#[allow(clippy::too_many_arguments)]
pub fn cluster_embeddings(
    source: Option<pg_sys::Oid>,
    embedding_column: Option<&CStr>,
    id_column: Option<&CStr>,
    algorithm: Option<&str>,
    params: Option<JsonB>,
    reduction: Option<&str>,
    reduction_params: Option<JsonB>,
    run: Option<JsonB>,
) -> i64 {
    let started = Instant::now();
    let source = source.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, "source must not be NULL", "Pass the table or view to cluster, e.g. 'items'.")
    });
    let embedding_column = required_name("embedding_column", embedding_column);
    let id_column = required_name("id_column", id_column);
    let algorithm = algorithm.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, "algorithm must not be NULL", "Leave algorithm out to use 'kmeans'.")
    });
    check_algorithm(algorithm);
    check_reduction(reduction, reduction_params.as_ref().map(|j| &j.0));
    let kmeans_options = KMeansOptions::parse(params.as_ref().map(|j| &j.0));
    let run = RunOptions::parse(run.as_ref().map(|j| &j.0));

    let threads = guc::threads();
    let k = kmeans_options.params.n_clusters;
    let sample = kmeans_options.silhouette_sample;
    let plan = move |rows: usize, dim: usize| {
        let ids = rows * 48;
        let s = sample.min(rows);
        // n_clusters beyond the row count is refused after reading, not planned for.
        rows * dim * 4 + ids + kmeans::memory_bytes(rows, dim, k.min(rows), threads) + s * dim * 4 + threads * 256 * s * 4
    };
    let src = Source {
        relation: source,
        embedding_column: &embedding_column,
        id_column: &id_column,
        plan_bytes: &plan,
        limit_bytes: guc::max_memory_bytes(),
    };
    let name = src.display_name();
    let mut progress = Reporter::new(format!("ml.cluster_embeddings({name})"));

    let t_read = Instant::now();
    let emb = src.read(&name, &mut progress);
    let read_ms = ms(t_read);

    let mut params = kmeans_options.params.clone();
    params.threads = threads;
    let x = Matrix::new(&emb.data, emb.ids.len(), emb.dim).unwrap_or_else(|| {
        raise(INVALID_PARAMETER_VALUE, format!("source {name} has no usable rows"), "Cluster a table with embeddings.")
    });
    if let Err(e) = kmeans::validate(&params, x.rows()) {
        report_kmeans_error(e, &name);
    }
    let t_fit = Instant::now();
    let fit = kmeans::fit(&x, &params, &mut progress).unwrap_or_else(|e| report_kmeans_error(e, &name));
    let fit_ms = ms(t_fit);

    let t_sil = Instant::now();
    let (silhouette, sample_used) = silhouette_on_sample(&x, &fit.labels, sample, params.seed, threads, &mut progress);
    let sil_ms = ms(t_sil);

    let metrics = json!({
        "inertia": fit.inertia,
        "n_iter": fit.n_iter,
        "converged": fit.converged,
        "best_init": fit.best_init,
        "n_features": emb.dim,
        "cluster_sizes": fit.sizes,
        "silhouette": silhouette,
        "silhouette_sample_size": sample_used,
        "timings_ms": {"read": read_ms, "cluster": fit_ms, "silhouette": sil_ms},
    });
    let used = json!({
        "n_clusters": params.n_clusters,
        "n_init": params.n_init,
        "max_iter": params.max_iter,
        "tol": params.tol,
        "random_state": params.seed,
        "silhouette_sample_size": sample,
        "init": "k-means++",
        "algorithm": "lloyd",
    });
    let run_id = write_run(&run, &name, x.rows(), metrics, used);
    write_assignments(run_id, &emb, &fit);
    finish_run(run_id, ms(started));
    run_id
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

fn required_name(arg: &str, v: Option<&CStr>) -> String {
    let v = v.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{arg} must not be NULL"), format!("Name the column, or leave {arg} out for its default."))
    });
    v.to_str().map(str::to_owned).unwrap_or_else(|_| {
        raise(INVALID_PARAMETER_VALUE, format!("{arg} is not valid UTF-8"), "Name the column in the database encoding.")
    })
}

fn check_algorithm(algorithm: &str) {
    match algorithm.to_ascii_lowercase().as_str() {
        "kmeans" | "k-means" => {}
        "dbscan" => raise(
            FEATURE_NOT_SUPPORTED,
            format!("algorithm {} is not available in this version of pg_mlkit", literal(algorithm)),
            "Use algorithm => 'kmeans'.",
        ),
        _ => raise(
            INVALID_PARAMETER_VALUE,
            format!("algorithm {} is not a clustering algorithm pg_mlkit knows", literal(algorithm)),
            "Use algorithm => 'kmeans'.",
        ),
    }
}

fn check_reduction(reduction: Option<&str>, reduction_params: Option<&Value>) {
    match reduction.map(|r| r.to_ascii_lowercase()) {
        None => {
            if reduction_params.is_some_and(|p| p.as_object().is_none_or(|m| !m.is_empty())) {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("reduction_params {} was given without a reduction", literal(&reduction_params.map(Value::to_string).unwrap_or_default())),
                    "Leave reduction_params out when reduction is NULL.",
                );
            }
        }
        Some(r) if ["pca", "tsne", "t-sne"].contains(&r.as_str()) => raise(
            FEATURE_NOT_SUPPORTED,
            format!("reduction {} is not available in this version of pg_mlkit", literal(reduction.unwrap_or(""))),
            "Pass reduction => NULL (the default) to cluster the embeddings as they are.",
        ),
        Some(_) => raise(
            INVALID_PARAMETER_VALUE,
            format!("reduction {} is not a dimensionality reduction pg_mlkit knows", literal(reduction.unwrap_or(""))),
            "Pass reduction => NULL (the default).",
        ),
    }
}

/// The K-Means options of `params`, defaults filled in.
struct KMeansOptions {
    params: kmeans::Params,
    silhouette_sample: usize,
}

impl KMeansOptions {
    fn parse(value: Option<&Value>) -> Self {
        let o = Options::new("params", value, KMEANS_KEYS, "K-Means");
        let seed = match o.get("random_state") {
            None => fresh_seed(),
            Some(_) => o.integer_or(
                "random_state",
                0,
                0,
                i64::MAX,
                "Pass a seed of 0 or more, or leave random_state out to draw one (it is recorded in clustering_params).",
            ) as u64,
        };
        Self {
            params: kmeans::Params {
                n_clusters: o.integer("n_clusters", 8, 1, i32::MAX as i64) as usize,
                n_init: o.integer("n_init", 1, 1, 1000) as usize,
                max_iter: o.integer("max_iter", 300, 1, 1_000_000) as usize,
                tol: o.number("tol", 1e-4, 0.0, 1e12),
                seed,
                threads: 1,
            },
            silhouette_sample: o.integer("silhouette_sample_size", DEFAULT_SILHOUETTE_SAMPLE, 0, 100_000) as usize,
        }
    }
}

/// A seed for a run without `random_state`: below 2³¹, so it reads back exactly anywhere.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    Rng::new(nanos ^ ((std::process::id() as u64) << 32)).next_u64() >> 33
}

/// The descriptive columns `run` fills.
struct RunOptions {
    model_name: Option<String>,
    model_version: Option<String>,
    autoencoder_name: Option<String>,
    autoencoder_implementation: Option<String>,
    autoencoder_file: Option<String>,
    autoencoder_params: Option<Value>,
}

impl RunOptions {
    fn parse(value: Option<&Value>) -> Self {
        let o = Options::new("run", value, RUN_KEYS, "run");
        Self {
            model_name: o.text("model_name"),
            model_version: o.text("model_version"),
            autoencoder_name: o.text("autoencoder_name"),
            autoencoder_implementation: o.text("autoencoder_implementation"),
            autoencoder_file: o.text("autoencoder_file"),
            autoencoder_params: o.object("autoencoder_params"),
        }
    }
}

fn report_kmeans_error(e: kmeans::Error, name: &str) -> ! {
    match e {
        kmeans::Error::ClusterCount { n_clusters, n_rows } => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.n_clusters must be between 1 and the number of rows of source {name} ({n_rows}), not {n_clusters}"),
            "Ask for fewer clusters, or cluster more rows.",
        ),
        other => raise(INVALID_PARAMETER_VALUE, format!("K-Means on source {name}: {other}"), "Check params."),
    }
}

/// The silhouette on a random sample of `sample` points (all points when there are fewer),
/// drawn from the run's seed; `(None, m)` when undefined (one cluster in the sample).
fn silhouette_on_sample(
    x: &Matrix,
    labels: &[u32],
    sample: usize,
    seed: u64,
    threads: usize,
    progress: &mut Reporter,
) -> (Option<f64>, usize) {
    if sample == 0 {
        return (None, 0);
    }
    if sample >= x.rows() {
        return (silhouette::score(x, labels, None, threads, progress), x.rows());
    }
    let rows = Rng::new(seed ^ 0x5111_0badu64).sample_indices(x.rows(), sample);
    (silhouette::score(x, labels, Some(&rows), threads, progress), sample)
}

fn write_run(run: &RunOptions, source: &str, rows: usize, metrics: Value, used: Value) -> i64 {
    Spi::connect_mut(|c| {
        let t = spi(
            c.update(
                "INSERT INTO ml.analysis_runs (
                    analysis_type, model_name, model_version, status, metrics, row_count, source,
                    autoencoder_name, autoencoder_implementation, autoencoder_file, autoencoder_params,
                    clustering_name, clustering_implementation, clustering_params)
                 VALUES ('clustering', $1, $2, 'completed', $3, $4, $5, $6, $7, $8, $9,
                         'K-Means', 'pg_mlkit ' || $10 || ' mlkit::kmeans', $11)
                 RETURNING id",
                None,
                &[
                    run.model_name.clone().into(),
                    run.model_version.clone().into(),
                    JsonB(metrics).into(),
                    (rows as i64).into(),
                    source.into(),
                    run.autoencoder_name.clone().into(),
                    run.autoencoder_implementation.clone().into(),
                    run.autoencoder_file.clone().into(),
                    run.autoencoder_params.clone().map(JsonB).into(),
                    env!("CARGO_PKG_VERSION").into(),
                    JsonB(used).into(),
                ],
            ),
            "record the run",
        );
        spi(t.first().get_one::<i64>(), "record the run").unwrap_or_default()
    })
}

fn write_assignments(run_id: i64, emb: &Embeddings, fit: &kmeans::Fit) {
    let clusters: Vec<i32> = fit.labels.iter().map(|&l| l as i32).collect();
    let distances: Vec<f64> = fit.distances.iter().map(|&d| d as f64).collect();
    Spi::connect_mut(|c| {
        spi(
            c.update(
                "INSERT INTO ml.cluster_assignments (run_id, item_id, cluster, distance)
                 SELECT $1, u.item_id, u.cluster, u.distance
                   FROM unnest($2::text[], $3::int4[], $4::float8[]) AS u(item_id, cluster, distance)",
                None,
                &[run_id.into(), emb.ids.clone().into(), clusters.into(), distances.into()],
            ),
            "record the cluster assignments",
        );
    });
}

fn finish_run(run_id: i64, total_ms: f64) {
    Spi::connect_mut(|c| {
        spi(
            c.update(
                "UPDATE ml.analysis_runs SET duration_ms = $2 WHERE id = $1",
                None,
                &[run_id.into(), total_ms.into()],
            ),
            "record the run's duration",
        );
    });
}
