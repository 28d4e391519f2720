//! `ml.transform` (one embedding) and `ml.transform_table` (every row of a table): a stored
//! reduction applied to new embeddings ([`crate::shared::stored_reduction`]): a PCA as
//! scikit-learn's `PCA.transform` (centred on the training mean, projected on the components,
//! whitened if the model was); a t-SNE map as openTSNE's `transform` and a UMAP map as
//! umap-learn's `transform` (new points placed in the fixed map). Documented in
//! docs/functions/reduce_embeddings.md.

use crate::shared::errors::{literal, raise, ARRAY_SUBSCRIPT_ERROR, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::registry;
use mlkit::{Exec, Matrix};
use pgrx::prelude::*;

/// The coordinates of `embedding` under the stored reduction `model` (version `version`, else
/// the production one, as models are found): `n_components` values. NULL in, NULL out.
#[pg_extern(
    stable,
    parallel_safe,
    sql = r#"
CREATE FUNCTION ml.transform(model text, embedding anycompatible, version text DEFAULT NULL) RETURNS real[]
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.transform(text, anycompatible, text) IS
  'Reduces an embedding with a stored PCA, t-SNE or UMAP model (as scikit-learn''s PCA.transform, openTSNE''s and umap-learn''s transform): its coordinates in the model''s space.';
"#
)]
fn transform(model: Option<&str>, embedding: Option<pgrx::AnyElement>, version: Option<&str>) -> Option<Vec<f32>> {
    let f = "ml.transform";
    let name = model.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: model must not be NULL"), "Name a PCA, t-SNE or UMAP model of ml.model_registry.")
    });
    let (model, found_version) = registry::load_reduction(f, name, version);
    let embedding = embedding?;
    let values = crate::shared::embedding_arg::values(f, "embedding", &embedding, |dim| {
        if dim != model.input_dim() {
            raise(
                ARRAY_SUBSCRIPT_ERROR,
                format!(
                    "{f}: embedding has {dim} dimensions, but model {} version {} was fitted on {}",
                    literal(name),
                    literal(&found_version),
                    model.input_dim()
                ),
                "Transform embeddings of the dimension the model was fitted on.",
            );
        }
    });
    let x: Vec<f32> = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(v) if v.is_finite() && v.abs() <= f64::from(f32::MAX) => v as f32,
            Some(v) => raise(
                INVALID_PARAMETER_VALUE,
                format!("{f}: embedding has {v} at position {}", i + 1),
                "Embeddings must be finite numbers within the range of real.",
            ),
            None => raise(
                NULL_VALUE_NOT_ALLOWED,
                format!("{f}: embedding has a NULL at position {}", i + 1),
                "Every coordinate is needed to project the embedding.",
            ),
        })
        .collect();
    let m = Matrix::new(&x, 1, model.input_dim())?;
    let mut quiet = |_| {};
    let exec = Exec::new(1, &mut quiet);
    let y = model.transform(&m, &exec);
    if y.iter().any(|v| v.is_nan()) {
        zero_vector(f, name, &found_version, None);
    }
    Some(y.into_iter().map(|v| v as f32).collect())
}

/// Every row of `source` reduced by the stored `model`: the set-returning form of
/// [`transform`], one pass over the table (the arithmetic on `pg_mlkit.threads` threads).
/// Rows without an embedding are left out; the rows come back in the source's scan order.
#[pg_extern(
    stable,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.transform_table(
    model text,
    source regclass,
    embedding_column name DEFAULT 'embedding',
    id_column name DEFAULT 'id',
    version text DEFAULT NULL
) RETURNS TABLE (item_id text, coordinates real[])
STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.transform_table(text, regclass, name, name, text) IS
  'Reduces every embedding of a table or view with a stored PCA, t-SNE or UMAP model (as ml.transform, in one pass): one row per item, its id as text and its coordinates.';
"#
)]
#[allow(clippy::type_complexity)]
fn transform_table(
    model: Option<&str>,
    source: Option<pg_sys::Oid>,
    embedding_column: Option<&std::ffi::CStr>,
    id_column: Option<&std::ffi::CStr>,
    version: Option<&str>,
) -> TableIterator<'static, (name!(item_id, String), name!(coordinates, Vec<f32>))> {
    use crate::shared::source::{Read, Source};
    let f = "ml.transform_table";
    let name = model.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: model must not be NULL"), "Name a PCA, t-SNE or UMAP model of ml.model_registry.")
    });
    let source = source
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: source must not be NULL"), "Pass the table or view to project."));
    let embedding_column = crate::runs::required_name("embedding_column", embedding_column);
    let id_column = crate::runs::required_name("id_column", id_column);
    let (model, found_version) = registry::load_reduction(f, name, version);
    let k = model.n_components();
    // The input, its f64 projection, and the result rows.
    let plan = |rows: usize, dim: usize| rows * (dim * 4 + k * 12 + 64);
    let src = Source::within_memory_limit(source, &embedding_column, &id_column, &plan, crate::shared::params::Nulls::Skip);
    let Read { name: display, emb, mut progress, .. } = src.read_for(f);
    if emb.dim != model.input_dim() {
        raise(
            ARRAY_SUBSCRIPT_ERROR,
            format!(
                "{f}: embeddings of source {display} have {} dimensions, but model {} version {} was fitted on {}",
                emb.dim,
                literal(name),
                literal(&found_version),
                model.input_dim()
            ),
            "Transform embeddings of the dimension the model was fitted on.",
        );
    }
    let n = emb.ids.len();
    let coords = match Matrix::new(&emb.data, n, emb.dim) {
        Some(x) => model.transform(&x, &Exec::new(crate::shared::guc::threads(), &mut progress)),
        None => vec![],
    };
    if let Some(i) = (0..n).find(|&i| coords[i * k..(i + 1) * k].iter().any(|v| v.is_nan())) {
        zero_vector(f, name, &found_version, Some(&emb.ids[i]));
    }
    let rows: Vec<(String, Vec<f32>)> =
        emb.ids.into_iter().zip(coords.chunks(k.max(1))).map(|(id, c)| (id, c.iter().map(|&v| v as f32).collect())).collect();
    TableIterator::new(rows)
}

/// The error for a zero embedding, which a map fitted under cosine cannot place.
fn zero_vector(f: &str, name: &str, version: &str, id: Option<&str>) -> ! {
    raise(
        INVALID_PARAMETER_VALUE,
        format!(
            "{f}: embedding{} is a zero vector, which has no cosine distance to the training points of model {} version {}",
            id.map(|i| format!(" of id {}", literal(i))).unwrap_or_default(),
            literal(name),
            literal(version)
        ),
        "A cosine map compares directions: leave zero vectors out of what you transform.",
    )
}
