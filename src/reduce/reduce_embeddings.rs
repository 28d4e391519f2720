//! `ml.reduce_embeddings`, and the reduction stage `ml.cluster_embeddings` runs before it
//! clusters: PCA, t-SNE or UMAP over the embeddings of a table or view, the run recorded in
//! `ml.analysis_runs` (`dim_reduction_*` columns) and every item's coordinates in
//! `ml.embedding_coordinates`. Documented in docs/functions/reduce_embeddings.md.

use crate::runs::{self, implementation, required_name};
use crate::shared::errors::{literal, raise, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED, PROGRAM_LIMIT_EXCEEDED};
use crate::shared::params::{opt, Opt, Options, NULLS};
use crate::shared::progress::ms;
use crate::shared::source::zero_vector_in;
use crate::shared::source::{Read, Source};
use crate::{runs::writer, shared::guc, shared::registry, shared::stored_reduction};
use mlkit::exec::MemoryLimit;
use mlkit::neighbors::{self, Metric};
use mlkit::reduce::{pca, quality, tsne, umap};
use mlkit::{Exec, Matrix};
use pgrx::prelude::*;
use serde_json::{json, Value};
use std::ffi::CStr;
use std::time::Instant;

/// What `params` (or `reduction_params`) may hold, per method: the parser's defaults and
/// `ml.options`' rows.
const RANDOM_STATE: Opt = opt("random_state", "null", "seed, 0 to 2^63-1; drawn when left out and recorded in dim_reduction_params");
const METRIC: Opt = opt("metric", "\"euclidean\"", "\"euclidean\" or \"cosine\"");
pub const PCA_OPTS: &[Opt] = &[
    opt("n_components", "2", "a whole number of components, or the share of variance to keep (0 < n_components < 1), as scikit-learn's"),
    opt("whiten", "false", "divide each coordinate by the square root of its variance"),
    opt("svd_solver", "\"auto\"", "\"auto\" (chosen as scikit-learn 1.5 chooses), \"full\" or \"randomized\" (Halko et al.)"),
    opt("random_state", "null", "seed of the randomized solver; drawn when left out and recorded in dim_reduction_params"),
    NULLS,
];
pub const TSNE_OPTS: &[Opt] = &[
    opt("n_components", "2", "1 to 3 (2 with the FFT method)"),
    opt("perplexity", "30", "below the number of rows; above (rows - 1) / 3 it is lowered to that, as openTSNE does"),
    METRIC,
    opt("learning_rate", "\"auto\"", "\"auto\" (n / exaggeration in each phase, as openTSNE) or a number above 0"),
    opt("early_exaggeration", "12", "the exaggeration of the first phase, 1 to 1000"),
    opt("early_exaggeration_iter", "250", "iterations of the first phase"),
    opt("n_iter", "500", "iterations of the second phase"),
    opt("theta", "0.5", "Barnes-Hut accuracy, 0 to 10"),
    opt("negative_gradient_method", "\"auto\"", "\"bh\" (Barnes-Hut) or \"fft\" (interpolation); \"auto\" chooses as openTSNE by size"),
    RANDOM_STATE,
    NULLS,
];
pub const UMAP_OPTS: &[Opt] = &[
    opt("n_neighbors", "15", "neighbours of the fuzzy graph, the point itself counted as umap-learn's: 2 to rows - 1"),
    opt("n_components", "2", "dimensions of the map"),
    opt("min_dist", "0.1", "how tightly points pack in the map; at most spread"),
    opt("spread", "1.0", "the scale of the embedded points"),
    METRIC,
    opt("n_epochs", "null", "optimisation epochs; left out: 500 up to 10000 rows, else 200 (as umap-learn)"),
    opt("learning_rate", "1.0", "the initial learning rate of the optimisation"),
    opt("negative_sample_rate", "5", "negative samples per positive edge and epoch"),
    opt("repulsion_strength", "1.0", "the weight of the negative samples"),
    RANDOM_STATE,
    NULLS,
];
/// Neighbours trustworthiness is measured with (scikit-learn's `trustworthiness(n_neighbors=10)`).
const TRUST_K: usize = 10;

/// Reduces the embeddings of `source` and returns the id of the new `ml.analysis_runs` row
/// (`analysis_type = 'dim_reduction'`).
///
/// `method` is `'pca'`, `'tsne'` or `'umap'`; `params` its options (unknown keys are errors);
/// `run` the descriptive columns, and with `model_name` a PCA is stored in
/// `ml.model_registry`. Volatile: it writes, and without `random_state` draws a seed (which
/// it records).
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.reduce_embeddings(
    source regclass,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    method text DEFAULT 'pca',
    params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.reduce_embeddings IS
  'Reduces the embeddings of a table or view with PCA, t-SNE or UMAP; records the run in ml.analysis_runs and the coordinates in ml.embedding_coordinates; returns the run id.';
"#
)]
pub fn reduce_embeddings(
    source: Option<pg_sys::Oid>,
    embedding_column: Option<&CStr>,
    id_column: Option<&CStr>,
    method: Option<&str>,
    params: Option<crate::shared::params::Jsonb>,
    run: Option<crate::shared::params::Jsonb>,
) -> i64 {
    let started = Instant::now();
    let source = source
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, "source must not be NULL", "Pass the table or view to reduce, e.g. 'items'."));
    let embedding_column = required_name("embedding_column", embedding_column);
    let id_column = required_name("id_column", id_column);
    let method = method.unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, "method must not be NULL", "Leave method out to use 'pca'."));
    let f = "ml.reduce_embeddings";
    let mut params = params.map(|j| j.value(f, "params"));
    let nulls = crate::shared::params::take_nulls("params", &mut params);
    let reduction = Reduction::parse(method, params.as_ref(), "method", "params");
    let run = runs::RunOptions::parse(run.map(|j| j.value(f, "run")).as_ref());
    let threads = guc::threads();
    let plan = |rows: usize, dim: usize| reduction.memory_bytes(rows, dim);
    let src = Source::within_memory_limit(source, &embedding_column, &id_column, &plan, nulls);
    let Read { name, qualified, emb, mut progress, read_ms } = src.read_for("ml.reduce_embeddings");
    let x = Matrix::new(&emb.data, emb.ids.len(), emb.dim)
        .unwrap_or_else(|| raise(INVALID_PARAMETER_VALUE, format!("source {name} has no usable rows"), "Reduce a table with embeddings."));
    reduction.validate(x.rows(), x.cols(), &name);
    if run.model_name.is_some() {
        reduction.check_stored_size(x.rows(), x.cols(), &name);
    }
    let budget = guc::max_memory_bytes().saturating_sub(plan(x.rows(), x.cols()));
    let t_fit = Instant::now();
    let mut exec = Exec::new(threads, &mut progress).with_memory_limit(budget);
    let reduced = reduction.fit(&x, &mut exec, &emb.ids, &name);
    drop(exec);
    let fit_ms = ms(t_fit);

    let mut metrics = reduced.metrics.clone();
    metrics["n_features"] = json!(emb.dim);
    metrics["input"] = src.input_metrics();
    metrics["timings_ms"] = json!({"read": read_ms, "reduce": fit_ms});
    let stage = reduction.stage(&reduced);
    let run_id = runs::insert("dim_reduction", &run, &qualified, x.rows(), None, Some(&stage), metrics.clone());
    let t_write = Instant::now();
    writer::write_coordinates(run_id, &emb.ids, &reduced.coords, reduced.k, &mut progress);
    if let Some(model_name) = run.model_name.as_deref() {
        let version = registry::register(
            model_name,
            run.model_version.as_deref(),
            reduction.method_name(),
            &implementation(reduction.module()),
            reduced.used.clone(),
            reduction.artifact(&reduced, &x),
            metrics,
            run_id,
        );
        runs::set_model_version(run_id, &version);
    }
    runs::finish(run_id, ms(started), ms(t_write));
    run_id
}

/// A reduction method with its parameters, as parsed from SQL.
pub enum Method {
    Pca(pca::Params),
    Tsne(tsne::Params),
    Umap(umap::Params),
}

/// A reduction to run: the method, and the names of the SQL arguments it came from (for errors).
pub struct Reduction {
    pub method: Method,
    method_arg: &'static str,
    arg: &'static str,
    /// `n_components` as given (checked against the data once it is read).
    components: Option<f64>,
}

/// What a reduction produced.
pub struct Reduced {
    /// `rows × k`, row-major.
    pub coords: Vec<f64>,
    pub k: usize,
    /// The method's own figures (explained variance, KL divergence, trustworthiness, ...).
    pub metrics: Value,
    /// Every parameter used, defaults and seed included.
    pub used: Value,
    pub pca: Option<pca::Pca>,
}

impl Reduced {
    /// The coordinates as `f32`, for clustering.
    pub fn as_f32(&self) -> Vec<f32> {
        self.coords.iter().map(|&v| v as f32).collect()
    }
}

fn metric_of(o: &Options, arg: &str) -> Metric {
    crate::shared::params::metric(o, arg)
}

fn seed_of(o: &Options) -> u64 {
    crate::shared::params::random_state(o, "dim_reduction_params")
}

impl Reduction {
    /// Parses `method` and `params` (named `method_arg` and `arg` in errors).
    pub fn parse(method: &str, params: Option<&Value>, method_arg: &'static str, arg: &'static str) -> Self {
        let m = method.to_ascii_lowercase();
        let (method, components) = match m.as_str() {
            "pca" => {
                let o = Options::new(arg, params, PCA_OPTS, "PCA");
                let components = components_of(&o, arg, true);
                let solver = o.text("svd_solver").map_or(pca::Solver::Auto, |s| {
                    pca::Solver::parse(&s.to_ascii_lowercase()).unwrap_or_else(|| {
                        raise(
                            INVALID_PARAMETER_VALUE,
                            format!("{arg}.svd_solver {} is not a solver pg_mlkit knows", literal(&s)),
                            "Use 'auto' (the default), 'full' or 'randomized'.",
                        )
                    })
                });
                let c = components.unwrap_or(o.default_integer("n_components") as f64);
                if c < 1.0 && solver == pca::Solver::Randomized {
                    raise(
                        INVALID_PARAMETER_VALUE,
                        format!("{arg}.n_components {c} (a share of variance) cannot be used with {arg}.svd_solver 'randomized'"),
                        "A share of variance needs every eigenvalue: use svd_solver 'full' or 'auto', or ask for a whole number of components.",
                    );
                }
                let p = pca::Params {
                    components: if c < 1.0 { pca::Components::Variance(c) } else { pca::Components::Count(c as usize) },
                    whiten: o.boolean("whiten"),
                    solver,
                    seed: seed_of(&o),
                };
                (Method::Pca(p), components)
            }
            "tsne" | "t-sne" => {
                let o = Options::new(arg, params, TSNE_OPTS, "t-SNE");
                let components = components_of(&o, arg, false);
                let d = tsne::Params::default();
                let method = o.text("negative_gradient_method").map_or(tsne::Method::Auto, |s| {
                    tsne::Method::parse(&s.to_ascii_lowercase()).unwrap_or_else(|| {
                        raise(
                            INVALID_PARAMETER_VALUE,
                            format!("{arg}.negative_gradient_method {} is not one pg_mlkit knows", literal(&s)),
                            "Use 'auto' (the default), 'bh' or 'fft'.",
                        )
                    })
                });
                let learning_rate = match o.get("learning_rate") {
                    Some(Value::String(s)) if s == "auto" => None,
                    Some(_) => o.positive_opt("learning_rate"),
                    None => None,
                };
                let p = tsne::Params {
                    n_components: components.unwrap_or(o.default_integer("n_components") as f64) as usize,
                    perplexity: o.positive("perplexity"),
                    metric: metric_of(&o, arg),
                    learning_rate,
                    early_exaggeration: o.number("early_exaggeration", 1.0, 1000.0),
                    early_exaggeration_iter: o.integer("early_exaggeration_iter", 0, 100_000) as usize,
                    n_iter: o.integer("n_iter", 0, 100_000) as usize,
                    theta: o.number("theta", 0.0, 10.0),
                    method,
                    seed: seed_of(&o),
                    ..d
                };
                (Method::Tsne(p), components)
            }
            "umap" => {
                let o = Options::new(arg, params, UMAP_OPTS, "UMAP");
                let components = components_of(&o, arg, false);
                let p = umap::Params {
                    n_neighbors: o.integer_or("n_neighbors", 2, 10_000, "n_neighbors counts the point itself, as umap-learn's: at least 2.")
                        as usize,
                    n_components: components.unwrap_or(o.default_integer("n_components") as f64) as usize,
                    min_dist: o.non_negative("min_dist"),
                    spread: o.positive("spread"),
                    metric: metric_of(&o, arg),
                    n_epochs: o.integer_opt("n_epochs", 1, 100_000).map(|n| n as usize),
                    learning_rate: o.positive("learning_rate"),
                    negative_sample_rate: o.integer("negative_sample_rate", 0, 1000) as usize,
                    repulsion_strength: o.non_negative("repulsion_strength"),
                    seed: seed_of(&o),
                };
                if p.min_dist > p.spread {
                    raise(
                        INVALID_PARAMETER_VALUE,
                        format!("{arg}.min_dist {} is above {arg}.spread {}", p.min_dist, p.spread),
                        "min_dist must not exceed spread (umap-learn's defaults: min_dist 0.1, spread 1.0).",
                    );
                }
                (Method::Umap(p), components)
            }
            _ => raise(
                INVALID_PARAMETER_VALUE,
                format!("{method_arg} {} is not a dimensionality reduction pg_mlkit knows", literal(method)),
                "Use 'pca', 'tsne' or 'umap'.",
            ),
        };
        Self { method, method_arg, arg, components }
    }

    /// The run's `dim_reduction_*` columns for what this reduction produced.
    pub fn stage(&self, reduced: &Reduced) -> runs::Stage<'static> {
        runs::Stage { name: self.name(), module: self.module(), params: reduced.used.clone() }
    }

    /// Refuses a stored model that would keep more than
    /// [`stored_reduction::MAX_MODEL_POINT_VALUES`] values of its training data (a map keeps
    /// its points and their coordinates; a PCA nothing of them).
    pub fn check_stored_size(&self, rows: usize, dim: usize, name: &str) {
        let values = self.stored_values(rows, dim);
        if values > stored_reduction::MAX_MODEL_POINT_VALUES {
            raise(
                PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "run.model_name: a {} map of source {name} would keep its {rows} training points ({values} values with their coordinates), more than the {} a stored model may hold",
                    self.name(),
                    stored_reduction::MAX_MODEL_POINT_VALUES
                ),
                "Fit the stored map on a sample of the rows (a view with TABLESAMPLE), or store a PCA, which keeps no training points.",
            );
        }
    }

    /// Values a stored model of this reduction keeps of its training data.
    pub fn stored_values(&self, rows: usize, dim: usize) -> usize {
        match self.method {
            Method::Pca(_) => 0,
            _ => rows * (dim + self.output_dim(dim)),
        }
    }

    /// The registry artifact of what this reduction produced from `x` (docs/models.md).
    pub fn artifact(&self, reduced: &Reduced, x: &Matrix) -> Value {
        match &self.method {
            Method::Pca(_) => reduced.pca.as_ref().map_or(Value::Null, stored_reduction::pca_artifact),
            Method::Tsne(p) => stored_reduction::tsne_artifact(x, p.metric, &reduced.coords, reduced.k),
            Method::Umap(p) => {
                let (a, b) = umap::find_ab_params(p.spread, p.min_dist);
                let placing = umap::transform::Params {
                    n_neighbors: p.n_neighbors,
                    a,
                    b,
                    n_epochs: p.n_epochs,
                    learning_rate: p.learning_rate,
                    negative_sample_rate: p.negative_sample_rate,
                    repulsion_strength: p.repulsion_strength,
                    seed: p.seed,
                };
                stored_reduction::umap_artifact(x, p.metric, &reduced.coords, reduced.k, &placing)
            }
        }
    }

    /// The method's name: pca, tsne or umap.
    pub fn method_name(&self) -> &'static str {
        self.name()
    }

    fn name(&self) -> &'static str {
        match self.method {
            Method::Pca(_) => "pca",
            Method::Tsne(_) => "tsne",
            Method::Umap(_) => "umap",
        }
    }

    pub fn module(&self) -> &'static str {
        match self.method {
            Method::Pca(_) => "reduce::pca",
            Method::Tsne(_) => "reduce::tsne",
            Method::Umap(_) => "reduce::umap",
        }
    }

    /// Coordinates kept per row.
    pub fn output_dim(&self, dim: usize) -> usize {
        match &self.method {
            Method::Pca(p) => match p.components {
                pca::Components::Count(k) => k,
                pca::Components::Variance(_) => dim,
            },
            Method::Tsne(p) => p.n_components,
            Method::Umap(p) => p.n_components,
        }
    }

    /// Working memory beyond the input, in bytes (documented in docs/functions/reduce_embeddings.md).
    pub fn memory_bytes(&self, rows: usize, dim: usize) -> usize {
        let k = self.output_dim(dim);
        let out = rows * k * 8 * 2;
        out + match &self.method {
            Method::Pca(_) => pca::memory_bytes(rows, dim),
            Method::Tsne(p) => tsne::memory_bytes(rows, dim, p.perplexity),
            Method::Umap(p) => umap::memory_bytes(rows, dim, p.n_neighbors),
        }
    }

    /// Checks the parameters against the data read: `rows` points of `dim` features.
    pub fn validate(&self, rows: usize, dim: usize, name: &str) {
        let arg = self.arg;
        let max_k = match &self.method {
            Method::Pca(_) => rows.min(dim),
            Method::Tsne(p) => {
                (if p.method == tsne::Method::Fft || (p.method == tsne::Method::Auto && rows >= tsne::FFT_FROM) { 2 } else { 3 }).min(dim)
            }
            Method::Umap(_) => dim.min(rows.saturating_sub(1)),
        };
        let min_rows = match self.method {
            Method::Pca(_) => 2,
            Method::Tsne(_) => 4,
            Method::Umap(_) => 3,
        };
        if rows < min_rows {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("source {name} has {rows} rows; {} needs at least {min_rows}", self.name()),
                "Reduce a table with more rows.",
            );
        }
        if let Some(c) = self.components {
            if c >= 1.0 && c as usize > max_k {
                let why = match self.method {
                    Method::Pca(_) => format!("at most min(rows, features) = {max_k}"),
                    Method::Tsne(_) if max_k < 3 && dim >= 3 => {
                        "at most 2 with the FFT method (from 10,000 rows), 3 with Barnes–Hut".into()
                    }
                    _ => format!("at most {max_k} for {dim}-dimensional embeddings"),
                };
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{arg}.n_components {c} is too large for source {name} ({rows} rows of {dim} features): {why}"),
                    "Ask for fewer components.",
                );
            }
        }
        match &self.method {
            Method::Tsne(p) if p.perplexity >= rows as f64 => raise(
                INVALID_PARAMETER_VALUE,
                format!("{arg}.perplexity {} is not below the number of rows of source {name} ({rows})", p.perplexity),
                "Lower perplexity (the default is 30; above (rows − 1) / 3 it is lowered to that, as openTSNE does).",
            ),
            Method::Tsne(p) if p.method == tsne::Method::Fft && p.n_components != 2 => raise(
                INVALID_PARAMETER_VALUE,
                format!("{arg}.negative_gradient_method 'fft' works in 2 dimensions, not {arg}.n_components {}", p.n_components),
                "Use negative_gradient_method 'bh' for 1 or 3 components.",
            ),
            Method::Umap(p) if p.n_neighbors >= rows => raise(
                INVALID_PARAMETER_VALUE,
                format!("{arg}.n_neighbors {} is not below the number of rows of source {name} ({rows})", p.n_neighbors),
                "Lower n_neighbors (the default is 15).",
            ),
            _ => {}
        }
    }

    fn memory_error(&self, name: &str, m: MemoryLimit) -> ! {
        raise(
            PROGRAM_LIMIT_EXCEEDED,
            format!(
                "{} {} on source {name}: {m} that pg_mlkit.max_memory_mb ({} MB) leaves after the input",
                self.method_arg,
                literal(self.name()),
                guc::max_memory_bytes() >> 20
            ),
            "Reduce a sample of the rows (through a view), or raise pg_mlkit.max_memory_mb if the server has the memory.",
        )
    }

    /// Runs the reduction.
    pub fn fit(&self, x: &Matrix, exec: &mut Exec, ids: &[String], name: &str) -> Reduced {
        let arg = self.arg;
        let neighbor_error = |e: neighbors::Error| -> ! {
            match e {
                neighbors::Error::ZeroVector { row } => zero_vector_in(ids, row, name, &format!("{arg}.metric")),
            }
        };
        match &self.method {
            Method::Pca(p) => {
                let fit = pca::fit(x, p, exec).unwrap_or_else(|e| match e {
                    pca::Error::Memory(m) => self.memory_error(name, m),
                    other => raise(INVALID_PARAMETER_VALUE, format!("PCA of source {name}: {other}"), format!("Check {arg}.n_components.")),
                });
                let coords = fit.transform(x, exec);
                let k = fit.explained_variance.len();
                let used = json!({
                    "n_components": match p.components { pca::Components::Count(k) => json!(k), pca::Components::Variance(s) => json!(s) },
                    "n_components_kept": k,
                    "whiten": p.whiten,
                    "svd_solver": fit.solver.name(),
                    "random_state": p.seed,
                });
                let metrics = json!({
                    "n_components": k,
                    "explained_variance_ratio": fit.explained_variance_ratio,
                    "explained_variance": fit.explained_variance,
                    "explained_variance_ratio_total": fit.explained_variance_ratio.iter().sum::<f64>(),
                });
                Reduced { coords, k, metrics, used, pca: Some(fit) }
            }
            Method::Tsne(p) => {
                let fit = tsne::fit(x, p, exec).unwrap_or_else(|e| match e {
                    tsne::Error::Memory(m) => self.memory_error(name, m),
                    tsne::Error::Neighbors(n) => neighbor_error(n),
                    other => raise(INVALID_PARAMETER_VALUE, format!("t-SNE of source {name}: {other}"), format!("Check {arg}.")),
                });
                let rows = quality::sample_rows(x.rows(), p.seed);
                let trust = quality::trustworthiness(x, &fit.embedding, fit.n_components, &rows, TRUST_K, p.metric, exec);
                let used = json!({
                    "n_components": fit.n_components,
                    "perplexity": p.perplexity,
                    "effective_perplexity": fit.effective_perplexity,
                    "n_neighbors": fit.neighbours,
                    "metric": p.metric.name(),
                    "learning_rate": match p.learning_rate { Some(l) => json!(l), None => json!("auto") },
                    "learning_rates": {"early_exaggeration": fit.learning_rates.0, "final": fit.learning_rates.1},
                    "early_exaggeration": p.early_exaggeration,
                    "early_exaggeration_iter": p.early_exaggeration_iter,
                    "n_iter": p.n_iter,
                    "momentum": p.momentum,
                    "max_step_norm": p.max_step_norm,
                    "theta": p.theta,
                    "negative_gradient_method": fit.method.name(),
                    "initialization": "pca",
                    "random_state": p.seed,
                });
                let metrics = json!({
                    "n_components": fit.n_components,
                    "kl_divergence": fit.kl_divergence,
                    "trustworthiness": trust,
                    "trustworthiness_k": TRUST_K,
                    "trustworthiness_sample_size": rows.len(),
                });
                Reduced { k: fit.n_components, coords: fit.embedding, metrics, used, pca: None }
            }
            Method::Umap(p) => {
                let fit = umap::fit(x, p, exec).unwrap_or_else(|e| match e {
                    umap::Error::Memory(m) => self.memory_error(name, m),
                    umap::Error::Neighbors(n) => neighbor_error(n),
                    other => raise(INVALID_PARAMETER_VALUE, format!("UMAP of source {name}: {other}"), format!("Check {arg}.")),
                });
                let rows = quality::sample_rows(x.rows(), p.seed);
                let trust = quality::trustworthiness(x, &fit.embedding, fit.n_components, &rows, TRUST_K, p.metric, exec);
                let used = json!({
                    "n_neighbors": p.n_neighbors,
                    "n_components": fit.n_components,
                    "min_dist": p.min_dist,
                    "spread": p.spread,
                    "metric": p.metric.name(),
                    "n_epochs": fit.n_epochs,
                    "learning_rate": p.learning_rate,
                    "negative_sample_rate": p.negative_sample_rate,
                    "repulsion_strength": p.repulsion_strength,
                    "a": fit.a,
                    "b": fit.b,
                    "init": "spectral",
                    "random_state": p.seed,
                });
                let metrics = json!({
                    "n_components": fit.n_components,
                    "graph_components": fit.graph_components,
                    "graph_edges": fit.edges,
                    "trustworthiness": trust,
                    "trustworthiness_k": TRUST_K,
                    "trustworthiness_sample_size": rows.len(),
                });
                Reduced { k: fit.n_components, coords: fit.embedding, metrics, used, pca: None }
            }
        }
    }
}

/// `n_components` as given: a whole number ≥ 1, or (PCA only) a share of variance in (0, 1).
fn components_of(o: &Options, arg: &str, share_allowed: bool) -> Option<f64> {
    let v = o.get("n_components")?;
    let x = v.as_f64().unwrap_or_else(|| {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{arg}.n_components must be a number, not {}", literal(&v.to_string())),
            "Write it as a JSON number, e.g. {\"n_components\": 2}.",
        )
    });
    let whole = x.fract() == 0.0 && (1.0..=100_000.0).contains(&x);
    let share = share_allowed && x > 0.0 && x < 1.0;
    if !whole && !share {
        raise(
            INVALID_PARAMETER_VALUE,
            format!(
                "{arg}.n_components must be {}, not {}",
                if share_allowed {
                    "a whole number of 1 or more, or a share of variance between 0 and 1"
                } else {
                    "a whole number of 1 or more"
                },
                v
            ),
            if share_allowed {
                "E.g. {\"n_components\": 50}, or {\"n_components\": 0.95} to keep 95 % of the variance."
            } else {
                "E.g. {\"n_components\": 2}."
            },
        );
    }
    Some(x)
}
