//! The `ml.analysis_runs` row every analysis function writes: what `run => '{...}'` may
//! describe, the stage that ran (its name, implementation and every parameter it used), the
//! metrics, and the timings added at the end.

pub mod cluster_keywords;
pub mod compare_runs;
pub mod item_key;
pub mod plot_run;
pub mod writer;

use crate::shared::errors::{raise, spi, spi_some, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::params::{opt, Opt, Options};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;
use std::ffi::CStr;

/// What `run` may hold: the parser's keys and `ml.options`' rows.
pub const RUN_OPTS: &[Opt] = &[
    opt("model_name", "null", "store the fitted model in ml.model_registry under this name (K-Means, DBSCAN, HDBSCAN, PCA, t-SNE, UMAP; with a reduction, a pipeline of both), and record it in the run"),
    opt("model_version", "null", "the stored model's version; left out: the next number"),
    opt("autoencoder_name", "null", "the autoencoder that made the embeddings, recorded in the run"),
    opt("autoencoder_implementation", "null", "its implementation (library, version), recorded in the run"),
    opt("autoencoder_file", "null", "its weights file, recorded in the run"),
    opt("autoencoder_params", "null", "its parameters, a JSON object recorded in the run"),
];

/// The descriptive columns `run` fills.
pub struct RunOptions {
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub autoencoder_name: Option<String>,
    pub autoencoder_implementation: Option<String>,
    pub autoencoder_file: Option<String>,
    pub autoencoder_params: Option<Value>,
}

impl RunOptions {
    pub fn parse(value: Option<&Value>) -> Self {
        let o = Options::new("run", value, RUN_OPTS, "run");
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

/// A stage of a run: grouping (the `clustering_*` columns) or reduction (`dim_reduction_*`).
pub struct Stage<'a> {
    pub name: &'a str,
    /// The `mlkit` module that computed it.
    pub module: &'a str,
    /// Every parameter actually used, defaults and seeds included.
    pub params: Value,
}

/// What the implementation column says: this build and the module.
pub fn implementation(module: &str) -> String {
    format!("pg_mlkit {} mlkit::{module}", env!("CARGO_PKG_VERSION"))
}

/// A column-name argument that must not be NULL. The one quoting rule for names: a column is
/// named by its exact name (`'Embedding'`), or as SQL writes it quoted (`'"Embedding"'`), so
/// the text that names it in a query names it here too; a relation is a `regclass`, which
/// reads its text as SQL does (folded to lower case unless quoted).
pub fn required_name(arg: &str, v: Option<&CStr>) -> String {
    let v = v.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{arg} must not be NULL"), format!("Name the column, or leave {arg} out for its default."))
    });
    let name = v.to_str().map(str::to_owned).unwrap_or_else(|_| {
        raise(INVALID_PARAMETER_VALUE, format!("{arg} is not valid UTF-8"), "Name the column in the database encoding.")
    });
    unquote(&name)
}

/// `"…"` with its doubled quotes undone, when `name` is one quoted identifier; else `name`
/// (the column half of [`required_name`]'s quoting rule).
pub fn unquote(name: &str) -> String {
    let Some(inner) = name.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else { return name.to_string() };
    // Every quote inside must be doubled for this to be one quoted identifier.
    if inner.is_empty() || inner.replace("\"\"", "").contains('"') {
        return name.to_string();
    }
    inner.replace("\"\"", "\"")
}

/// Inserts a completed run and returns its id: `stage` fills the `clustering_*` columns,
/// `reduction` the `dim_reduction_*` ones.
pub fn insert(
    analysis_type: &str,
    run: &RunOptions,
    source: &str,
    rows: usize,
    stage: Option<&Stage>,
    reduction: Option<&Stage>,
    metrics: Value,
) -> i64 {
    Spi::connect_mut(|c| {
        let t = spi(
            c.update(
                "INSERT INTO ml.analysis_runs (
                    analysis_type, model_name, model_version, status, metrics, row_count, source,
                    autoencoder_name, autoencoder_implementation, autoencoder_file, autoencoder_params,
                    clustering_name, clustering_implementation, clustering_params,
                    dim_reduction_name, dim_reduction_implementation, dim_reduction_params)
                 VALUES ($1, $2, $3, 'completed', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                 RETURNING id",
                None,
                &[
                    analysis_type.into(),
                    run.model_name.clone().into(),
                    run.model_version.clone().into(),
                    JsonB(metrics).into(),
                    (rows as i64).into(),
                    source.into(),
                    run.autoencoder_name.clone().into(),
                    run.autoencoder_implementation.clone().into(),
                    run.autoencoder_file.clone().into(),
                    run.autoencoder_params.clone().map(JsonB).into(),
                    stage.map(|s| s.name).into(),
                    stage.map(|s| implementation(s.module)).into(),
                    stage.map(|s| JsonB(s.params.clone())).into(),
                    reduction.map(|s| s.name).into(),
                    reduction.map(|s| implementation(s.module)).into(),
                    reduction.map(|s| JsonB(s.params.clone())).into(),
                ],
            ),
            "record the run",
        );
        spi_some(t.first().get_one::<i64>(), "record the run")
    })
}

pub fn set_model_version(run_id: i64, version: &str) {
    Spi::connect_mut(|c| {
        spi(
            c.update(
                "UPDATE ml.analysis_runs SET model_version = $2 WHERE id = $1 AND tenant_id = ml.current_tenant()",
                None,
                &[run_id.into(), version.into()],
            ),
            "record the model version",
        );
    });
}

/// Records the run's total duration and how long its writes took.
pub fn finish(run_id: i64, total_ms: f64, write_ms: f64) {
    Spi::connect_mut(|c| {
        spi(
            c.update(
                "UPDATE ml.analysis_runs
                    SET duration_ms = $2,
                        metrics = pg_catalog.jsonb_set(metrics, '{timings_ms,write}', pg_catalog.to_jsonb($3::double precision))
                  WHERE id = $1 AND tenant_id = ml.current_tenant()",
                None,
                &[run_id.into(), total_ms.into(), write_ms.into()],
            ),
            "record the run's duration",
        );
    });
}
