//! `ml.options(function_name)`: every key the `jsonb` arguments of pg_mlkit's functions take,
//! with its default and meaning. The rows are the option lists the parsers check keys against
//! and read their defaults from ([`crate::shared::params::Opt`]), so what this lists is what
//! the functions do. Documented in docs/functions/options.md.

use crate::cluster::cluster_embeddings::{DBSCAN_OPTS, HDBSCAN_OPTS, KMEANS_OPTS, K_RANGE_OPTS};
use crate::duplicates::group_near_duplicates::PARAM_OPTS;
use crate::monitor::score_drift::{COLUMN_OPTS, SCORE_OPTS};
use crate::reduce::reduce_embeddings::{PCA_OPTS, TSNE_OPTS, UMAP_OPTS};
use crate::runs::cluster_keywords::PARAM_OPTS as KEYWORD_OPTS;
use crate::runs::RUN_OPTS;
use crate::shared::errors::{literal, raise, INVALID_PARAMETER_VALUE};
use crate::shared::params::{Opt, NULLS};
use pgrx::prelude::*;
use pgrx::JsonB;

/// One `jsonb` argument of one function, for one choice of algorithm or method (`None`: any).
struct Argument {
    function: &'static str,
    argument: &'static str,
    applies_to: Option<&'static str>,
    opts: &'static [Opt],
    /// Whether the argument takes `"nulls"` (the analysis functions' `params`).
    nulls: bool,
}

const fn arg(function: &'static str, argument: &'static str, applies_to: Option<&'static str>, opts: &'static [Opt]) -> Argument {
    Argument { function, argument, applies_to, opts, nulls: true }
}

/// Every `jsonb` argument of every function, in the order `ml.options` lists them.
const CATALOGUE: &[Argument] = &[
    arg("cluster_embeddings", "params", Some("kmeans"), KMEANS_OPTS),
    arg("cluster_embeddings", "params.n_clusters", Some("kmeans"), K_RANGE_OPTS),
    arg("cluster_embeddings", "params", Some("dbscan"), DBSCAN_OPTS),
    arg("cluster_embeddings", "params", Some("hdbscan"), HDBSCAN_OPTS),
    Argument { nulls: false, ..arg("cluster_embeddings", "reduction_params", Some("pca"), PCA_OPTS) },
    Argument { nulls: false, ..arg("cluster_embeddings", "reduction_params", Some("tsne"), TSNE_OPTS) },
    Argument { nulls: false, ..arg("cluster_embeddings", "reduction_params", Some("umap"), UMAP_OPTS) },
    arg("cluster_embeddings", "run", None, RUN_OPTS),
    arg("reduce_embeddings", "params", Some("pca"), PCA_OPTS),
    arg("reduce_embeddings", "params", Some("tsne"), TSNE_OPTS),
    arg("reduce_embeddings", "params", Some("umap"), UMAP_OPTS),
    arg("reduce_embeddings", "run", None, RUN_OPTS),
    arg("score_drift", "params", None, SCORE_OPTS),
    arg("score_drift", "params.columns.<column>", None, COLUMN_OPTS),
    arg("score_drift", "run", None, RUN_OPTS),
    arg("group_near_duplicates", "params", None, PARAM_OPTS),
    arg("group_near_duplicates", "run", None, RUN_OPTS),
    Argument { nulls: false, ..arg("cluster_keywords", "params", None, KEYWORD_OPTS) },
];

/// The options of `function_name` (with or without `ml.`; NULL: of every function).
#[pg_extern(
    immutable,
    parallel_safe,
    sql = r#"
CREATE FUNCTION ml.options(function_name text DEFAULT NULL)
RETURNS TABLE (function_name text, argument text, applies_to text, key text, default_value jsonb, meaning text)
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.options(text) IS
  'Every key the jsonb arguments (params, reduction_params, run) of a pg_mlkit function take, per algorithm or method, with its default (JSON null: none, or computed as the meaning says) and what it does.';
"#
)]
#[allow(clippy::type_complexity)]
fn options(
    function_name: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(function_name, String),
        name!(argument, String),
        name!(applies_to, Option<String>),
        name!(key, String),
        name!(default_value, JsonB),
        name!(meaning, String),
    ),
> {
    let wanted = function_name.map(|n| {
        let n = n.trim();
        let n = n.strip_prefix("ml.").unwrap_or(n).to_ascii_lowercase();
        if !CATALOGUE.iter().any(|a| a.function == n) {
            let mut names: Vec<&str> = CATALOGUE.iter().map(|a| a.function).collect();
            names.dedup();
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.options: function_name {} is not a pg_mlkit function with jsonb options", literal(function_name.unwrap_or(""))),
                format!("Functions with options: {}; other functions' arguments are listed by \\df+ ml.<name>.", names.join(", ")),
            );
        }
        n
    });
    let mut rows = vec![];
    for a in CATALOGUE.iter().filter(|a| wanted.as_deref().is_none_or(|w| w == a.function)) {
        for o in a.opts.iter().filter(|o| a.nulls || o.key != NULLS.key) {
            let default = serde_json::from_str(o.default).unwrap_or(serde_json::Value::Null);
            rows.push((
                a.function.to_string(),
                a.argument.to_string(),
                a.applies_to.map(str::to_string),
                o.key.to_string(),
                JsonB(default),
                o.meaning.to_string(),
            ));
        }
    }
    TableIterator::new(rows)
}
