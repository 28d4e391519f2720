//! `ml.suggest_eps`: an `eps` for DBSCAN read off the source's k-distance curve
//! ([`mlkit::cluster::eps`]). Documented in docs/functions/cluster_embeddings.md.

use crate::shared::errors::{raise, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::guc;
use crate::shared::params::Nulls;
use crate::shared::source::{Read, Source};
use mlkit::neighbors::Metric;
use mlkit::{Exec, Matrix};
use pgrx::prelude::*;

/// The knee of the source's k-distance curve for `min_samples` (the distance of each point to
/// its `min_samples`-th nearest point, itself counted, as DBSCAN counts it), measured on at
/// most 10,000 points drawn with a fixed seed; rows without an embedding are left out.
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.suggest_eps(
    source regclass,
    min_samples integer DEFAULT 5,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    metric text DEFAULT 'euclidean'
) RETURNS TABLE (eps double precision, min_samples integer, knee_quantile double precision, points_measured integer)
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.suggest_eps IS
  'An eps for DBSCAN: the knee of the source''s k-distance curve for min_samples (Kneedle), with the share of points below it.';
"#
)]
#[allow(clippy::type_complexity)]
fn suggest_eps(
    source: Option<pg_sys::Oid>,
    min_samples: Option<i32>,
    embedding_column: Option<&std::ffi::CStr>,
    id_column: Option<&std::ffi::CStr>,
    metric: Option<&str>,
) -> TableIterator<'static, (name!(eps, f64), name!(min_samples, i32), name!(knee_quantile, f64), name!(points_measured, i32))> {
    let f = "ml.suggest_eps";
    let source = source
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: source must not be NULL"), "Pass the table or view to measure."));
    let min_samples = match min_samples {
        Some(m) if m >= 1 => m,
        other => raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: min_samples must be 1 or more, not {}", other.map_or("NULL".into(), |m| m.to_string())),
            "Pass the min_samples you will give DBSCAN (default 5).",
        ),
    };
    let metric = match metric.map(Metric::parse) {
        None => Metric::Euclidean,
        Some(Some(m @ (Metric::Euclidean | Metric::Cosine))) => m,
        Some(_) => raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: metric must be 'euclidean' or 'cosine', not {}", crate::shared::errors::literal(metric.unwrap_or(""))),
            "Use the metric you will give DBSCAN.",
        ),
    };
    let embedding_column = crate::runs::required_name("embedding_column", embedding_column);
    let id_column = crate::runs::required_name("id_column", id_column);
    let plan = |rows: usize, dim: usize| rows * dim * 12 + mlkit::neighbors::Index::memory_bytes(rows, dim);
    let src = Source::within_memory_limit(source, &embedding_column, &id_column, &plan, Nulls::Skip);
    let Read { name, emb, mut progress, .. } = src.read_for(f);
    let x = Matrix::new(&emb.data, emb.ids.len(), emb.dim).unwrap_or_else(|| {
        raise(INVALID_PARAMETER_VALUE, format!("{f}: source {name} has no usable rows"), "Measure a table with embeddings.")
    });
    let mut exec = Exec::new(guc::threads(), &mut progress);
    let s = mlkit::cluster::eps::suggest(&x, min_samples as usize, metric, 0, &mut exec).unwrap_or_else(|| {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: source {name} has no embeddings to measure with metric {}", metric.name()),
            "A cosine metric needs non-zero vectors.",
        )
    });
    TableIterator::once((s.eps, min_samples, s.knee_quantile, s.curve.len() as i32))
}
