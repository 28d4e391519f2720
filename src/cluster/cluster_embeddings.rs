//! `ml.cluster_embeddings`: read embeddings from a table or view, cluster them, and record
//! the run in `ml.analysis_runs` and one row per item in `ml.cluster_assignments`, all in
//! the caller's transaction. Documented in docs/functions/cluster_embeddings.md.

use crate::runs::{self, implementation, required_name};
use crate::shared::errors::{
    literal, raise, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED, PROGRAM_LIMIT_EXCEEDED,
};
use crate::shared::params::{opt, take_nulls, Nulls, Opt, Options, NULLS};
use crate::shared::progress::ms;
use crate::shared::source::zero_vector_in;
use crate::shared::source::{Read, Source};
use crate::{cluster::scan, runs::writer, shared::guc, shared::registry, shared::stored_reduction};
use mlkit::cluster::Stat;
use mlkit::metrics::Quality;
use mlkit::neighbors;
use mlkit::{dbscan, hdbscan, kmeans, metrics, rng::Rng, Clustering, Exec, Matrix};
use pgrx::prelude::*;
use serde_json::{json, Map, Value};
use std::ffi::CStr;
use std::time::Instant;

/// What `params` may hold, per algorithm: the parser's defaults and `ml.options`' rows.
const RANDOM_STATE: Opt = opt(
    "random_state",
    "null",
    "seed, 0 to 2^63-1; the same seed gives the same result whatever pg_mlkit.threads is; drawn when left out and recorded in clustering_params",
);
const SILHOUETTE_SAMPLE_SIZE: Opt = opt(
    "silhouette_sample_size",
    "1000",
    "points the silhouette is computed on (a seeded sample of the points that are not noise, all of them when there are no more), 0 to 100000; 0 skips it",
);
pub const KMEANS_OPTS: &[Opt] = &[
    opt("n_clusters", "8", "number of clusters, 1 to the number of rows; or a range {\"min\": 2, \"max\": 20}: every k in it is fitted and the best silhouette kept"),
    opt("n_init", "1", "restarts from different seeds, 1 to 1000; the lowest inertia wins"),
    opt("max_iter", "300", "Lloyd iterations per restart at most, 1 to 1000000"),
    opt("tol", "0.0001", "stop when the centres' total squared shift is below tol times the mean per-feature variance"),
    RANDOM_STATE,
    SILHOUETTE_SAMPLE_SIZE,
    opt("engine", "\"memory\"", "\"memory\" reads the rows into this backend; \"scan\" streams them and never holds the table; \"auto\" scans when memory would exceed pg_mlkit.max_memory_mb"),
    opt("batch_size", "null", "with engine \"scan\": mini-batch K-Means (as scikit-learn's MiniBatchKMeans), each step on a seeded sample of about this many rows; left out: full Lloyd passes"),
    opt("metric", "\"euclidean\"", "\"euclidean\", or \"cosine\" for spherical K-Means (memory engine)"),
    opt("init", "null", "the initial centres, a JSON array of n_clusters arrays as wide as the embeddings (scikit-learn's init=ndarray; one k, n_init 1, memory engine); left out: k-means++"),
    NULLS,
];
pub const DBSCAN_OPTS: &[Opt] = &[
    opt("eps", "0.5", "neighbourhood radius; neighbours are at distance <= eps, as scikit-learn's (ml.suggest_eps proposes one)"),
    opt("min_samples", "5", "points a neighbourhood needs, the point itself included, to make a core point"),
    opt("metric", "\"euclidean\"", "\"euclidean\", or \"cosine\" (1 - cos; zero vectors are refused)"),
    opt("random_state", "null", "seed of the silhouette's sample; drawn when left out and recorded in clustering_params"),
    SILHOUETTE_SAMPLE_SIZE,
    NULLS,
];
pub const HDBSCAN_OPTS: &[Opt] = &[
    opt("min_cluster_size", "5", "smallest group that counts as a cluster, 2 or more"),
    opt("min_samples", "null", "k of the core distance, the point itself counted; left out: min_cluster_size"),
    opt("cluster_selection_epsilon", "0", "clusters that split below this distance are kept whole"),
    opt("cluster_selection_method", "\"eom\"", "\"eom\" (excess of mass) or \"leaf\" (the leaves of the condensed tree)"),
    opt("allow_single_cluster", "false", "whether the whole data set may be the one cluster"),
    opt("alpha", "1.0", "distance scaling of the mutual reachability"),
    opt("metric", "\"euclidean\"", "\"euclidean\" or \"cosine\""),
    opt("random_state", "null", "seed of the silhouette's sample; drawn when left out and recorded in clustering_params"),
    SILHOUETTE_SAMPLE_SIZE,
    NULLS,
];
/// A range of k: `params.n_clusters => {"min": .., "max": ..}`.
pub const K_RANGE_OPTS: &[Opt] =
    &[opt("min", "2", "the smallest k tried, 2 or more"), opt("max", "10", "the largest k tried; at most 200 values of k in one sweep")];
/// Exemplars kept per cluster in `ml.cluster_summaries` (the items nearest its centre).
const SUMMARY_EXEMPLARS: usize = 5;

/// Most values of k one sweep may fit.
const MAX_SWEEP: i64 = 200;

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
SET search_path = pg_catalog, pg_temp
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
    params: Option<crate::shared::params::Jsonb>,
    reduction: Option<&str>,
    reduction_params: Option<crate::shared::params::Jsonb>,
    run: Option<crate::shared::params::Jsonb>,
) -> i64 {
    let started = Instant::now();
    let source = source
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, "source must not be NULL", "Pass the table or view to cluster, e.g. 'items'."));
    let embedding_column = required_name("embedding_column", embedding_column);
    let id_column = required_name("id_column", id_column);
    let algorithm =
        algorithm.unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, "algorithm must not be NULL", "Leave algorithm out to use 'kmeans'."));
    let f = "ml.cluster_embeddings";
    let reduction = parse_reduction(reduction, reduction_params.map(|j| j.value(f, "reduction_params")).as_ref());
    let choice = Choice::parse(algorithm, params.map(|j| j.value(f, "params")).as_ref());
    let run = runs::RunOptions::parse(run.map(|j| j.value(f, "run")).as_ref());
    if let (Algorithm::KMeans { params, .. }, true) = (&choice.algorithm, reduction.is_some()) {
        if params.init.is_some() {
            raise(
                FEATURE_NOT_SUPPORTED,
                "params.init does not go with a reduction: the centres would be read in the reduced coordinates",
                "Leave init out when clustering a reduction, or cluster the embeddings themselves.",
            );
        }
    }

    let threads = guc::threads();
    if let (Algorithm::KMeans { params, .. }, true) = (&choice.algorithm, choice.engine != Engine::Memory) {
        if let Some(reason) = scan_reason(&choice, source, &embedding_column, &id_column, reduction.is_some(), threads) {
            return cluster_by_scan(&choice, params, source, &embedding_column, &id_column, &run, &reason, started);
        }
    }
    let plan = |rows: usize, dim: usize| match &reduction {
        None => choice.memory_bytes(rows, dim, threads),
        Some(r) => r.memory_bytes(rows, dim) + choice.memory_bytes(rows, r.output_dim(dim), threads),
    };
    let src = Source::within_memory_limit(source, &embedding_column, &id_column, &plan, choice.nulls);
    let Read { name, qualified, emb, mut progress, read_ms } = src.read_for("ml.cluster_embeddings");
    let x = Matrix::new(&emb.data, emb.ids.len(), emb.dim)
        .unwrap_or_else(|| raise(INVALID_PARAMETER_VALUE, format!("source {name} has no usable rows"), "Cluster a table with embeddings."));
    if let Some(r) = &reduction {
        r.validate(x.rows(), x.cols(), &name);
    }
    choice.validate(x.rows(), &name);
    if run.model_name.is_some() {
        // A stored model keeps the points a density model places among (in the reduced
        // space for a pipeline) and a t-SNE or UMAP map's training points.
        let out_dim = reduction.as_ref().map_or(x.cols(), |r| r.output_dim(x.cols()));
        let values =
            if choice.has_noise() { x.rows() * out_dim } else { 0 } + reduction.as_ref().map_or(0, |r| r.stored_values(x.rows(), x.cols()));
        if values > stored_reduction::MAX_MODEL_POINT_VALUES {
            raise(
                PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "run.model_name: a {} model of source {name} would keep {values} values of its {} training points, more than the {} a stored model may hold",
                    choice.display_name(),
                    x.rows(),
                    stored_reduction::MAX_MODEL_POINT_VALUES
                ),
                "Fit the stored model on a sample of the rows (a view with TABLESAMPLE), or reduce the embeddings with PCA first and store a K-Means pipeline.",
            );
        }
    }
    // What the algorithm may still allocate beyond its plan (DBSCAN's neighbour lists).
    let budget = guc::max_memory_bytes().saturating_sub(plan(x.rows(), x.cols()));

    let mut exec = Exec::new(threads, &mut progress).with_memory_limit(budget);
    // With a reduction, the reduced coordinates are what is clustered.
    let t_reduce = Instant::now();
    let reduced = reduction.as_ref().map(|r| r.fit(&x, &mut exec, &emb.ids, &name));
    let reduce_ms = ms(t_reduce);
    let reduced_data = reduced.as_ref().map(|r| r.as_f32());
    let input = x;
    let x = match (&reduced, &reduced_data) {
        (Some(r), Some(d)) => Matrix::new(d, x.rows(), r.k).unwrap_or(x),
        _ => x,
    };
    let t_fit = Instant::now();
    let (result, sweep, placer) = choice.fit(&x, &mut exec, &emb.ids, &name);
    let fit_ms = ms(t_fit);
    let suggested_eps = choice.explain_noise(&x, &result, &name, &mut exec);

    let t_quality = Instant::now();
    let sample = choice.silhouette_sample(&result.labels);
    // The silhouette by cluster, for the summaries; a sweep has scored the k it kept already.
    let by_cluster = metrics::silhouette_by_cluster(&x, &result.labels, sample.as_deref(), choice.metric(), &mut exec);
    let quality = match &sweep {
        Some((_, kept)) => *kept,
        None => {
            let (davies_bouldin, calinski_harabasz) = metrics::davies_bouldin_and_calinski_harabasz(&x, &result.labels, &mut exec);
            Quality { silhouette: by_cluster.as_ref().map(|b| b.0), davies_bouldin, calinski_harabasz }
        }
    };
    // Centres for the summaries: K-Means's own where they are Euclidean, else the means.
    let centres = result.centroids.as_deref().filter(|_| choice.metric() == mlkit::neighbors::Metric::Euclidean);
    let summaries = mlkit::cluster::summary::summarize(&x, &result.labels, centres, SUMMARY_EXEMPLARS, &mut exec);
    drop(exec);
    let quality_ms = ms(t_quality);

    let mut m = Map::new();
    for (key, stat) in &result.stats {
        m.insert((*key).into(), stat_json(stat));
    }
    m.insert("n_features".into(), json!(emb.dim));
    m.insert("input".into(), src.input_metrics());
    m.insert("n_clusters_found".into(), json!(result.n_clusters()));
    m.insert("cluster_sizes".into(), json!(result.sizes()));
    if choice.has_noise() {
        m.insert("noise_fraction".into(), json!(result.noise() as f64 / x.rows() as f64));
    }
    if let Some(eps) = suggested_eps {
        m.insert("suggested_eps".into(), json!(eps));
    }
    m.insert("silhouette".into(), json!(quality.silhouette));
    m.insert("silhouette_sample_size".into(), json!(sample.as_ref().map_or(quality_rows(&result.labels), Vec::len)));
    m.insert("davies_bouldin".into(), json!(quality.davies_bouldin));
    m.insert("calinski_harabasz".into(), json!(quality.calinski_harabasz));
    if let Some((table, _)) = sweep {
        m.insert("sweep".into(), table);
    }
    match &reduced {
        Some(r) => {
            m.insert("reduction".into(), r.metrics.clone());
            m.insert("timings_ms".into(), json!({"read": read_ms, "reduce": reduce_ms, "cluster": fit_ms, "quality": quality_ms}));
        }
        None => {
            m.insert("timings_ms".into(), json!({"read": read_ms, "cluster": fit_ms, "quality": quality_ms}));
        }
    }
    let metrics = Value::Object(m);
    let used = choice.used_params(&result, x.cols());

    let stage = runs::Stage { name: choice.display_name(), module: choice.module(), params: used.clone() };
    let reduction_stage = reduction.as_ref().zip(reduced.as_ref()).map(|(r, out)| r.stage(out));
    let run_id = runs::insert("clustering", &run, &qualified, x.rows(), Some(&stage), reduction_stage.as_ref(), metrics.clone());
    let t_write = Instant::now();
    writer::write_assignments(run_id, &emb.ids, &result, &mut progress);
    let rows = writer::summary_rows(&summaries, &emb.ids, by_cluster.as_ref().map(|b| b.1.as_slice()));
    writer::write_summaries(run_id, &rows, &mut progress);
    if let Some(r) = &reduced {
        writer::write_coordinates(run_id, &emb.ids, &r.coords, r.k, &mut progress);
    }
    if let Some(model_name) = run.model_name.as_deref() {
        // A pipeline's reduction was fitted on the embeddings as read.
        let reduction_artifact = reduction.as_ref().zip(reduced.as_ref()).map(|(r, out)| r.artifact(out, &input));
        let (model_type, artifact) = match &placer {
            Some(p) => (p.model_type(), registry::with_reduction(p.artifact(), reduction_artifact)),
            None => ("kmeans", registry::kmeans_artifact(&result, x.cols(), choice.metric(), reduction_artifact)),
        };
        let version = registry::register(
            model_name,
            run.model_version.as_deref(),
            model_type,
            &implementation(choice.module()),
            used,
            artifact,
            metrics,
            run_id,
        );
        runs::set_model_version(run_id, &version);
    }
    runs::finish(run_id, ms(started), ms(t_write));
    run_id
}

/// The silhouette is computed on the points that are not noise; the count of those.
fn quality_rows(labels: &[i32]) -> usize {
    labels.iter().filter(|&&l| l >= 0).count()
}

fn stat_json(s: &Stat) -> Value {
    match s {
        Stat::Int(v) => json!(v),
        Stat::Float(v) => json!(v),
        Stat::Bool(v) => json!(v),
        Stat::Text(v) => json!(v),
    }
}

/// The reduction to run before clustering, if any; `reduction_params` without one is an error.
fn parse_reduction(reduction: Option<&str>, reduction_params: Option<&Value>) -> Option<crate::reduce::reduce_embeddings::Reduction> {
    match reduction {
        None => {
            if reduction_params.is_some_and(|p| p.as_object().is_none_or(|m| !m.is_empty())) {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!(
                        "reduction_params {} was given without a reduction",
                        literal(&reduction_params.map(Value::to_string).unwrap_or_default())
                    ),
                    "Pass reduction => 'pca', 'tsne' or 'umap' with it, or leave reduction_params out.",
                );
            }
            None
        }
        Some(r) => Some(crate::reduce::reduce_embeddings::Reduction::parse(r, reduction_params, "reduction", "reduction_params")),
    }
}

/// The algorithm `algorithm` and `params` ask for, checked, defaults filled in.
struct Choice {
    algorithm: Algorithm,
    /// Where K-Means runs (`params.engine`).
    engine: Engine,
    /// `params.batch_size`: mini-batch K-Means (scan engine only).
    batch_size: Option<usize>,
    /// Seed of the silhouette's sample (and of K-Means).
    seed: u64,
    silhouette_sample: usize,
    /// `params.nulls`: rows without an embedding refused or left out.
    nulls: Nulls,
}

/// `params.engine` of K-Means: in this backend's memory, as passes over the source
/// ([`kmeans_scan`]), or whichever fits `pg_mlkit.max_memory_mb`.
#[derive(Clone, Copy, PartialEq)]
enum Engine {
    Memory,
    Scan,
    Auto,
}

enum Algorithm {
    /// K-Means; `sweep` is a range of k to choose from by silhouette.
    KMeans {
        params: kmeans::Params,
        sweep: Option<(usize, usize)>,
    },
    Dbscan(dbscan::Params),
    Hdbscan(hdbscan::Params),
}

impl Choice {
    fn parse(algorithm: &str, params: Option<&Value>) -> Self {
        let mut params = params.cloned();
        let nulls = take_nulls("params", &mut params);
        let params = params.as_ref();
        let name = algorithm.to_ascii_lowercase();
        let (keys, owner) = match name.as_str() {
            "kmeans" | "k-means" => (KMEANS_OPTS, "K-Means"),
            "dbscan" => (DBSCAN_OPTS, "DBSCAN"),
            "hdbscan" => (HDBSCAN_OPTS, "HDBSCAN"),
            _ => raise(
                INVALID_PARAMETER_VALUE,
                format!("algorithm {} is not a clustering algorithm pg_mlkit knows", literal(algorithm)),
                "Use algorithm => 'kmeans', 'dbscan' or 'hdbscan'.",
            ),
        };
        let o = Options::new("params", params, keys, owner);
        let seed = crate::shared::params::random_state(&o, "clustering_params");
        let silhouette_sample = o.integer("silhouette_sample_size", 0, 100_000) as usize;
        let metric = || crate::shared::params::metric(&o, "params");
        let mut engine = Engine::Memory;
        let mut batch_size = None;
        let algorithm = match name.as_str() {
            "dbscan" => Algorithm::Dbscan(dbscan::Params {
                eps: o.positive("eps"),
                min_samples: o.integer("min_samples", 1, i32::MAX as i64) as usize,
                metric: metric(),
            }),
            "hdbscan" => {
                let method = o.text_or_default("cluster_selection_method");
                let min_cluster_size = o.integer_or(
                    "min_cluster_size",
                    2,
                    i32::MAX as i64,
                    "A cluster needs at least 2 points: pass min_cluster_size of 2 or more (default 5).",
                ) as usize;
                Algorithm::Hdbscan(hdbscan::Params {
                    min_cluster_size,
                    min_samples: o.integer_opt("min_samples", 1, i32::MAX as i64).map(|n| n as usize),
                    cluster_selection_epsilon: o.non_negative("cluster_selection_epsilon"),
                    cluster_selection_method: match method.as_str() {
                        "eom" => hdbscan::Selection::Eom,
                        "leaf" => hdbscan::Selection::Leaf,
                        _ => raise(
                            INVALID_PARAMETER_VALUE,
                            format!("params.cluster_selection_method must be 'eom' or 'leaf', not {}", literal(&method)),
                            "Leave it out for 'eom' (excess of mass), or pass 'leaf' for the leaves of the condensed tree.",
                        ),
                    },
                    allow_single_cluster: o.boolean("allow_single_cluster"),
                    alpha: o.positive("alpha"),
                    metric: metric(),
                })
            }
            _ => {
                let (n_clusters, sweep) = match o.get("n_clusters") {
                    Some(Value::Object(range)) => {
                        let r = Options::new("params.n_clusters", Some(&Value::Object(range.clone())), K_RANGE_OPTS, "k range");
                        let (min, max) = (r.integer("min", 2, i32::MAX as i64), r.integer("max", 2, i32::MAX as i64));
                        if min > max {
                            raise(
                                INVALID_PARAMETER_VALUE,
                                format!("params.n_clusters range has min {min} above max {max}"),
                                "Pass a range like {\"min\": 2, \"max\": 20}.",
                            );
                        }
                        if max - min + 1 > MAX_SWEEP {
                            raise(
                                INVALID_PARAMETER_VALUE,
                                format!(
                                    "params.n_clusters range {min} to {max} holds {} values of k, more than {MAX_SWEEP}",
                                    max - min + 1
                                ),
                                "Sweep a narrower range, or several ranges in separate runs.",
                            );
                        }
                        (min as usize, Some((min as usize, max as usize)))
                    }
                    Some(v) if !v.is_number() => {
                        // A list of two numbers is a range written another way: show it as one.
                        let example = match v.as_array().map(|a| a.iter().filter_map(Value::as_i64).collect::<Vec<_>>()) {
                            Some(a) if a.len() == 2 => format!("{{\"n_clusters\": {{\"min\": {}, \"max\": {}}}}}", a[0], a[1]),
                            _ => "{\"n_clusters\": {\"min\": 2, \"max\": 15}}".to_string(),
                        };
                        raise(
                            INVALID_PARAMETER_VALUE,
                            format!("params.n_clusters must be a number of clusters or a range of them, not {}", literal(&v.to_string())),
                            format!("Pass {{\"n_clusters\": 8}} for 8 clusters, or {example} to try every k in the range and keep the best silhouette."),
                        )
                    }
                    _ => (o.integer("n_clusters", 1, i32::MAX as i64) as usize, None),
                };
                engine = match o.text("engine").as_deref() {
                    None | Some("memory") => Engine::Memory,
                    Some("scan") => Engine::Scan,
                    Some("auto") => Engine::Auto,
                    Some(other) => raise(
                        INVALID_PARAMETER_VALUE,
                        format!("params.engine must be 'memory', 'scan' or 'auto', not {}", literal(other)),
                        "Leave engine out to cluster in memory; 'scan' never holds the table; 'auto' scans when memory would not do.",
                    ),
                };
                batch_size = o.integer_opt("batch_size", 1, i32::MAX as i64).map(|n| n as usize);
                if batch_size.is_some() && engine != Engine::Scan {
                    raise(
                        FEATURE_NOT_SUPPORTED,
                        "params.batch_size (mini-batch K-Means) needs params.engine 'scan'",
                        "Add \"engine\": \"scan\", or leave batch_size out: in memory, full Lloyd steps are fast.",
                    );
                }
                let metric = metric();
                if metric == mlkit::neighbors::Metric::Cosine && engine == Engine::Scan {
                    raise(
                        FEATURE_NOT_SUPPORTED,
                        "params.engine 'scan' does not support params.metric 'cosine'",
                        "Cluster in memory (leave engine out), or store unit-length embeddings (pgvector's l2_normalize()) and scan those with the Euclidean metric.",
                    );
                }
                let n_init = o.integer("n_init", 1, 1000) as usize;
                let init = o.get("init").map(|v| initial_centres(v, n_clusters, sweep.is_some(), n_init, engine));
                Algorithm::KMeans {
                    params: kmeans::Params {
                        n_clusters,
                        n_init,
                        max_iter: o.integer("max_iter", 1, 1_000_000) as usize,
                        tol: o.number("tol", 0.0, 1e12),
                        seed,
                        metric,
                        init,
                    },
                    sweep,
                }
            }
        };
        Self { algorithm, engine, batch_size, seed, silhouette_sample, nulls }
    }

    /// The distance the clusters are measured by.
    fn metric(&self) -> mlkit::neighbors::Metric {
        match &self.algorithm {
            Algorithm::KMeans { params, .. } => params.metric,
            Algorithm::Dbscan(p) => p.metric,
            Algorithm::Hdbscan(p) => p.metric,
        }
    }

    fn display_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::KMeans { .. } => "K-Means",
            Algorithm::Dbscan(_) => "DBSCAN",
            Algorithm::Hdbscan(_) => "HDBSCAN",
        }
    }

    /// The `mlkit` module that computes it.
    fn module(&self) -> &'static str {
        match self.algorithm {
            Algorithm::KMeans { .. } => "kmeans",
            Algorithm::Dbscan(_) => "dbscan",
            Algorithm::Hdbscan(_) => "hdbscan",
        }
    }

    /// When DBSCAN or HDBSCAN found no cluster or left more than half the points as noise: a
    /// NOTICE that says so, with the `eps` the k-distance curve suggests
    /// ([`mlkit::cluster::eps`]), which is returned for the run's metrics.
    fn explain_noise(&self, x: &Matrix, result: &mlkit::cluster::Clustering, name: &str, exec: &mut Exec) -> Option<f64> {
        let (min_samples, metric, now) = match &self.algorithm {
            Algorithm::Dbscan(p) => (p.min_samples, p.metric, format!("eps {} and min_samples {}", p.eps, p.min_samples)),
            Algorithm::Hdbscan(p) => {
                let m = p.min_samples.unwrap_or(p.min_cluster_size);
                (m, p.metric, format!("min_cluster_size {}", p.min_cluster_size))
            }
            Algorithm::KMeans { .. } => return None,
        };
        let (n, noise, found) = (x.rows(), result.noise(), result.n_clusters());
        if found > 0 && noise * 2 <= n {
            return None;
        }
        let s = mlkit::cluster::eps::suggest(x, min_samples, metric, self.seed, exec)?;
        let what = if found == 0 {
            "found no cluster: every point is noise".to_string()
        } else {
            format!("left {noise} of {n} points ({:.0} %) as noise", 100.0 * noise as f64 / n as f64)
        };
        let hint = match &self.algorithm {
            Algorithm::Dbscan(_) => format!(
                "The k-distance curve of source {name} turns at eps = {:.6} (ml.suggest_eps): try params => '{{\"eps\": {:.6}, \"min_samples\": {min_samples}}}'.",
                s.eps, s.eps
            ),
            _ => format!(
                "Try a smaller min_cluster_size, or cluster_selection_epsilon near {:.6}, where the k-distance curve of source {name} turns (ml.suggest_eps).",
                s.eps
            ),
        };
        crate::shared::errors::notice(format!("{} with {now} {what}", self.display_name()), hint);
        Some(s.eps)
    }

    fn has_noise(&self) -> bool {
        !matches!(self.algorithm, Algorithm::KMeans { .. })
    }

    /// Bytes the whole call plans to hold for `rows × dim` input: the dense matrix, the ids
    /// and their uniqueness check, the algorithm's working memory, the quality metrics'
    /// sample and blocks, and one write batch.
    fn memory_bytes(&self, rows: usize, dim: usize, threads: usize) -> usize {
        let input = rows * dim * 4 + rows * (48 + 40);
        let algorithm = match &self.algorithm {
            Algorithm::KMeans { params, sweep } => {
                let k = sweep.map_or(params.n_clusters, |(_, max)| max).min(rows);
                // A sweep keeps the best fit so far beside the current one.
                kmeans::memory_bytes(rows, dim, k, threads, params.metric) + sweep.map_or(0, |_| rows * 12 + k * dim * 4)
            }
            Algorithm::Dbscan(_) => dbscan::base_memory_bytes(rows, dim),
            Algorithm::Hdbscan(_) => hdbscan::memory_bytes(rows, dim),
        };
        let s = self.silhouette_sample.min(rows);
        let quality = rows * 4 + s * dim * 8 + threads * mlkit::exec::WAVE_CHUNKS * 64 * s * 8;
        input + algorithm + quality + writer::BATCH_ROWS * 80
    }

    /// Checks the parameters against the rows read.
    fn validate(&self, rows: usize, name: &str) {
        match &self.algorithm {
            Algorithm::KMeans { params, sweep } => {
                let k = sweep.map_or(params.n_clusters, |(_, max)| max);
                if let Err(e) = kmeans::validate(&kmeans::Params { n_clusters: k, ..params.clone() }, rows) {
                    report_kmeans_error(e, &[], name, sweep.is_some());
                }
            }
            Algorithm::Dbscan(p) => {
                if let Err(e) = dbscan::validate(p, rows) {
                    raise(INVALID_PARAMETER_VALUE, format!("DBSCAN on source {name}: {e}"), "Check params.");
                }
            }
            Algorithm::Hdbscan(p) => match hdbscan::validate(p, rows) {
                Err(hdbscan::Error::MinSamples { min_samples, n_rows }) => raise(
                    INVALID_PARAMETER_VALUE,
                    format!("params.min_samples must be between 1 and the number of rows of source {name} ({n_rows}), not {min_samples}"),
                    "min_samples defaults to min_cluster_size: lower it, or cluster more rows.",
                ),
                Err(e) => raise(INVALID_PARAMETER_VALUE, format!("HDBSCAN on source {name}: {e}"), "Check params."),
                Ok(()) => {}
            },
        }
    }

    /// Runs the algorithm; for a k sweep, also the sweep's table and the kept k's quality.
    /// A density algorithm also returns the model that places new points.
    #[allow(clippy::type_complexity)]
    fn fit(
        &self,
        x: &Matrix,
        exec: &mut Exec,
        ids: &[String],
        name: &str,
    ) -> (Clustering, Option<(Value, Quality)>, Option<registry::Placer>) {
        match &self.algorithm {
            Algorithm::KMeans { params, sweep: None } => {
                let fit = kmeans::fit(x, params, exec).unwrap_or_else(|e| report_kmeans_error(e, ids, name, false));
                (fit.into_clustering(), None, None)
            }
            Algorithm::KMeans { params, sweep: Some(range) } => {
                let swept = kmeans::sweep(x, params, *range, |labels| self.silhouette_sample(labels), exec)
                    .unwrap_or_else(|e| report_kmeans_error(e, ids, name, true));
                let table = swept
                    .rows
                    .iter()
                    .map(|r| {
                        json!({
                            "n_clusters": r.n_clusters,
                            "inertia": r.inertia.as_ref().map(stat_json),
                            "silhouette": r.quality.silhouette,
                            "davies_bouldin": r.quality.davies_bouldin,
                            "calinski_harabasz": r.quality.calinski_harabasz,
                        })
                    })
                    .collect();
                (swept.best, Some((Value::Array(table), swept.quality)), None)
            }
            Algorithm::Dbscan(p) => {
                let (fit, model) = dbscan::fit_model(x, p, exec).unwrap_or_else(|e| match e {
                    dbscan::Error::Memory(m) => raise(
                        PROGRAM_LIMIT_EXCEEDED,
                        format!(
                            "DBSCAN on source {name} with params.eps {}: {m} that pg_mlkit.max_memory_mb ({} MB) leaves after the input",
                            p.eps,
                            guc::max_memory_bytes() >> 20
                        ),
                        "eps is so large that most points neighbour most others: lower eps, or raise pg_mlkit.max_memory_mb if the server has the memory.",
                    ),
                    dbscan::Error::Neighbors(neighbors::Error::ZeroVector { row }) => zero_vector(ids, row, name),
                    other => raise(INVALID_PARAMETER_VALUE, format!("DBSCAN on source {name}: {other}"), "Check params."),
                });
                (fit, None, Some(registry::Placer::Dbscan(model)))
            }
            Algorithm::Hdbscan(p) => {
                let (fit, model) = hdbscan::fit_model(x, p, exec).unwrap_or_else(|e| match e {
                    hdbscan::Error::Neighbors(neighbors::Error::ZeroVector { row }) => zero_vector(ids, row, name),
                    other => raise(INVALID_PARAMETER_VALUE, format!("HDBSCAN on source {name}: {other}"), "Check params."),
                });
                (fit, None, Some(registry::Placer::Hdbscan(model)))
            }
        }
    }

    /// The rows the silhouette is computed on: a sample drawn from the seed among the
    /// points that are not noise, or `None` for all of them (when there are no more than
    /// `silhouette_sample_size`), or an empty sample when the size is 0.
    fn silhouette_sample(&self, labels: &[i32]) -> Option<Vec<usize>> {
        let kept: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] >= 0).collect();
        if self.silhouette_sample >= kept.len() {
            return None;
        }
        let picks = Rng::new(self.seed ^ 0x5111_0badu64).sample_indices(kept.len(), self.silhouette_sample);
        Some(picks.into_iter().map(|i| kept[i]).collect())
    }

    /// Every parameter the run used, defaults and seed included.
    fn used_params(&self, result: &Clustering, dim: usize) -> Value {
        match &self.algorithm {
            Algorithm::KMeans { params, sweep } => {
                let mut used = json!({
                    "n_clusters": result.centroids.as_ref().map_or(params.n_clusters, |c| c.len() / dim.max(1)),
                    "n_init": params.n_init,
                    "max_iter": params.max_iter,
                    "tol": params.tol,
                    "random_state": self.seed,
                    "silhouette_sample_size": self.silhouette_sample,
                    "init": if params.init.is_some() { "given" } else { "k-means++" },
                    "algorithm": if params.metric == mlkit::neighbors::Metric::Cosine { "spherical lloyd" } else { "lloyd" },
                    "metric": params.metric.name(),
                });
                if let Some((min, max)) = sweep {
                    used["n_clusters_range"] = json!({"min": min, "max": max});
                }
                used
            }
            Algorithm::Dbscan(p) => json!({
                "eps": p.eps,
                "min_samples": p.min_samples,
                "metric": p.metric.name(),
                "random_state": self.seed,
                "silhouette_sample_size": self.silhouette_sample,
            }),
            Algorithm::Hdbscan(p) => json!({
                "min_cluster_size": p.min_cluster_size,
                "min_samples": p.min_samples(),
                "cluster_selection_epsilon": p.cluster_selection_epsilon,
                "cluster_selection_method": p.cluster_selection_method.name(),
                "allow_single_cluster": p.allow_single_cluster,
                "alpha": p.alpha,
                "metric": p.metric.name(),
                "random_state": self.seed,
                "silhouette_sample_size": self.silhouette_sample,
            }),
        }
    }
}

/// `params.init`: `k` initial centres as a JSON array of arrays of numbers, for one fit of
/// one k in memory.
fn initial_centres(v: &Value, k: usize, sweep: bool, n_init: usize, engine: Engine) -> Vec<f32> {
    let refuse = |what: &str, hint: &str| -> ! { raise(FEATURE_NOT_SUPPORTED, format!("params.init does not go with {what}"), hint) };
    if sweep {
        refuse("a range of n_clusters", "Give one n_clusters with its initial centres.");
    }
    if n_init > 1 {
        refuse("n_init above 1", "Every restart would start from the same centres: leave n_init out.");
    }
    if engine == Engine::Scan {
        refuse("params.engine 'scan'", "The scan engine seeds with k-means||: leave init out, or cluster in memory.");
    }
    let bad = |why: String| -> ! {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("params.init {why}"),
            "Pass an array of n_clusters arrays of numbers, e.g. [[0, 1], [1, 0]].",
        )
    };
    let rows = v.as_array().unwrap_or_else(|| bad("must be a JSON array of centres".into()));
    if rows.len() != k {
        bad(format!("has {} centre{}, but params.n_clusters is {k}", rows.len(), if rows.len() == 1 { "" } else { "s" }));
    }
    let mut out = Vec::new();
    let mut width = None;
    for (j, r) in rows.iter().enumerate() {
        let r = r.as_array().unwrap_or_else(|| bad(format!("centre {j} is not an array of numbers")));
        if r.is_empty() {
            bad(format!("centre {j} is empty"));
        }
        if *width.get_or_insert(r.len()) != r.len() {
            bad(format!("centre {j} has {} numbers, centre 0 has {}", r.len(), width.unwrap_or(0)));
        }
        for x in r {
            let f = x.as_f64().filter(|f| f.is_finite() && f.abs() <= f32::MAX as f64);
            out.push(f.unwrap_or_else(|| bad(format!("centre {j} holds {x}, which is not a finite real"))) as f32);
        }
    }
    out
}

fn zero_vector(ids: &[String], row: usize, name: &str) -> ! {
    zero_vector_in(ids, row, name, "params.metric")
}

fn report_kmeans_error(e: kmeans::Error, ids: &[String], name: &str, sweep: bool) -> ! {
    match e {
        kmeans::Error::ZeroVector { row } => zero_vector(ids, row, name),
        kmeans::Error::Init { reason } => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.init of K-Means on source {name}: the initial centres {reason}"),
            "Pass params.n_clusters centres, each as wide as the embeddings, of finite numbers (and none all zeros under cosine).",
        ),
        kmeans::Error::ClusterCount { n_clusters, n_rows } if sweep => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.n_clusters range goes up to {n_clusters}, more than the number of rows of source {name} ({n_rows})"),
            "Lower the range's max.",
        ),
        kmeans::Error::ClusterCount { n_clusters, n_rows } => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.n_clusters must be between 1 and the number of rows of source {name} ({n_rows}), not {n_clusters}"),
            "Ask for fewer clusters, or cluster more rows.",
        ),
        other => raise(INVALID_PARAMETER_VALUE, format!("K-Means on source {name}: {other}"), "Check params."),
    }
}

/// Whether K-Means runs as passes over the source, and why (recorded in the run's params):
/// always for `engine = 'scan'`; for `'auto'` when the in-memory plan for the source's row
/// count and dimension would exceed `pg_mlkit.max_memory_mb`.
fn scan_reason(
    choice: &Choice,
    source: pg_sys::Oid,
    embedding_column: &str,
    id_column: &str,
    reduction: bool,
    threads: usize,
) -> Option<String> {
    let Algorithm::KMeans { sweep, params } = &choice.algorithm else { return None };
    let refuse =
        |what: &str, hint: &str| -> ! { raise(FEATURE_NOT_SUPPORTED, format!("params.engine 'scan' does not support {what}"), hint) };
    if choice.engine == Engine::Scan {
        if reduction {
            refuse("a reduction", "Reduce a sample with ml.reduce_embeddings, or cluster without a reduction.");
        }
        if sweep.is_some() {
            refuse("a range of n_clusters", "Run one call per k, or sweep k in memory on a sample.");
        }
        if params.n_init > 1 {
            refuse("n_init above 1", "k-means|| initialisation runs once; leave n_init out.");
        }
        return Some("requested".into());
    }
    // What only the memory engine does: 'auto' keeps it in memory.
    if reduction || sweep.is_some() || params.n_init > 1 || params.init.is_some() || params.metric == mlkit::neighbors::Metric::Cosine {
        return None;
    }
    let src = Source::scanned(source, embedding_column, id_column, choice.nulls);
    let name = src.display_name();
    let parts = src.scan_parts(&name);
    let query = format!(
        "SELECT pg_catalog.count(*), (SELECT pg_catalog.cardinality({e}) FROM {f} WHERE {e} IS NOT NULL LIMIT 1) FROM {f}",
        e = parts.embedding,
        f = parts.from
    );
    let (rows, dim) = Spi::connect(|c| {
        let t = crate::shared::errors::spi(c.select(&query, None, &[]), "size the source");
        let row = t.first();
        (
            crate::shared::errors::spi_some(row.get::<i64>(1), "size the source") as usize,
            // NULL when no row has an embedding: nothing to plan for.
            crate::shared::errors::spi(row.get::<i32>(2), "size the source").unwrap_or(0) as usize,
        )
    });
    let planned = choice.memory_bytes(rows, dim, threads);
    let limit = guc::max_memory_bytes();
    (planned > limit).then(|| {
        format!(
            "auto: in memory, {rows} rows of {dim} dimensions would need {} MB, over pg_mlkit.max_memory_mb ({} MB)",
            planned >> 20,
            limit >> 20
        )
    })
}

/// `ml.cluster_embeddings` with the scan engine: the same run and assignment rows as in
/// memory, K-Means computed by [`kmeans_scan`]; the quality measures on a seeded sample.
#[allow(clippy::too_many_arguments)]
fn cluster_by_scan(
    choice: &Choice,
    params: &kmeans::Params,
    source: pg_sys::Oid,
    embedding_column: &str,
    id_column: &str,
    run: &runs::RunOptions,
    reason: &str,
    started: Instant,
) -> i64 {
    let src = Source::scanned(source, embedding_column, id_column, choice.nulls);
    let (name, qualified) = (src.display_name(), src.qualified_name());
    let parts = src.scan_parts(&name);
    let sample = choice.silhouette_sample;
    let mut progress = crate::shared::progress::Reporter::new(format!("ml.cluster_embeddings({name})"));
    let p = scan::Params {
        n_clusters: params.n_clusters,
        max_iter: params.max_iter,
        tol: params.tol,
        seed: choice.seed,
        quality_sample: sample,
        limit_bytes: guc::max_memory_bytes(),
        batch_size: choice.batch_size,
    };
    let t_fit = Instant::now();
    let fit = scan::fit(&parts, &p, &name, &mut progress);
    let fit_ms = ms(t_fit);

    let t_quality = Instant::now();
    let (quality, by_cluster) = match Matrix::new(&fit.sample, fit.sample_labels.len(), fit.dim) {
        Some(x) => {
            let mut exec = Exec::new(guc::threads(), &mut progress);
            let by_cluster = metrics::silhouette_by_cluster(&x, &fit.sample_labels, None, mlkit::neighbors::Metric::Euclidean, &mut exec);
            let (davies_bouldin, calinski_harabasz) = metrics::davies_bouldin_and_calinski_harabasz(&x, &fit.sample_labels, &mut exec);
            (Quality { silhouette: by_cluster.as_ref().map(|b| b.0), davies_bouldin, calinski_harabasz }, by_cluster)
        }
        None => (Quality { silhouette: None, davies_bouldin: None, calinski_harabasz: None }, None),
    };
    let quality_ms = ms(t_quality);
    let k = fit.sizes.len();
    let metrics = json!({
        "inertia": fit.inertia,
        "n_iter": fit.n_iter,
        "converged": fit.converged,
        "n_features": fit.dim,
        "input": src.input_metrics(),
        "n_clusters_found": fit.sizes.iter().filter(|&&s| s > 0).count(),
        "cluster_sizes": fit.sizes,
        "silhouette": quality.silhouette,
        "davies_bouldin": quality.davies_bouldin,
        "calinski_harabasz": quality.calinski_harabasz,
        "silhouette_sample_size": fit.sample_labels.len(),
        "quality_on_sample": true,
        "timings_ms": {"cluster": fit_ms, "init": fit.init_ms, "steps": fit.step_ms, "quality": quality_ms},
    });
    let used = json!({
        "n_clusters": k,
        "n_init": 1,
        "max_iter": params.max_iter,
        "tol": params.tol,
        "random_state": choice.seed,
        "silhouette_sample_size": sample,
        "init": "k-means||",
        "init_rounds": scan::INIT_ROUNDS,
        "oversampling_factor": scan::OVERSAMPLING,
        "algorithm": if choice.batch_size.is_some() { "minibatch" } else { "lloyd" },
        "batch_size": choice.batch_size,
        "engine": "scan",
        "engine_reason": reason,
    });
    let stage = runs::Stage { name: choice.display_name(), module: "lloyd", params: used.clone() };
    let run_id = runs::insert("clustering", run, &qualified, fit.rows, Some(&stage), None, metrics.clone());
    let t_write = Instant::now();
    writer::write_assignments_by_scan(&parts, run_id, &fit.centroids, fit.dim);
    let rows = writer::summary_rows_from_assignments(run_id, &fit.centroids, fit.dim, by_cluster.as_ref().map(|b| b.1.as_slice()));
    writer::write_summaries(run_id, &rows, &mut progress);
    if let Some(model_name) = run.model_name.as_deref() {
        let artifact =
            registry::kmeans_artifact_of(&fit.centroids, fit.dim, scan::distance_summaries(run_id, k), mlkit::neighbors::Metric::Euclidean);
        let version = registry::register(
            model_name,
            run.model_version.as_deref(),
            "kmeans",
            &implementation("lloyd"),
            used,
            artifact,
            metrics,
            run_id,
        );
        runs::set_model_version(run_id, &version);
    }
    runs::finish(run_id, ms(started), ms(t_write));
    run_id
}
