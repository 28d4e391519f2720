//! `ml.transform`: a stored PCA applied to a new embedding, as scikit-learn's
//! `PCA.transform` (centred on the training mean, projected on the components, whitened if the
//! model was). Documented in docs/functions/reduce_embeddings.md.

use crate::shared::errors::{literal, raise, ARRAY_SUBSCRIPT_ERROR, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::registry;
use mlkit::{Exec, Matrix};
use pgrx::prelude::*;

/// The coordinates of `embedding` in the stored PCA `model` (version `version`, else the
/// production one, as models are found): `n_components` values. NULL in, NULL out.
#[pg_extern(
    stable,
    parallel_safe,
    sql = r#"
CREATE FUNCTION ml.transform(model text, embedding anycompatible, version text DEFAULT NULL) RETURNS real[]
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.transform(text, anycompatible, text) IS
  'Projects an embedding with a stored PCA model (as scikit-learn''s PCA.transform): its coordinates on the model''s components.';
"#
)]
fn transform(model: Option<&str>, embedding: Option<pgrx::AnyElement>, version: Option<&str>) -> Option<Vec<f32>> {
    let f = "ml.transform";
    let name = model
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: model must not be NULL"), "Name a PCA model of ml.model_registry."));
    let (pca, found_version) = registry::load_pca(f, name, version);
    let embedding = embedding?;
    let values = crate::shared::embedding_arg::values(f, "embedding", &embedding, |dim| {
        if dim != pca.dim {
            raise(
                ARRAY_SUBSCRIPT_ERROR,
                format!(
                    "{f}: embedding has {dim} dimensions, but model {} version {} was fitted on {}",
                    literal(name),
                    literal(&found_version),
                    pca.dim
                ),
                "Transform embeddings of the dimension the PCA was fitted on.",
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
    let m = Matrix::new(&x, 1, pca.dim)?;
    let mut quiet = |_| {};
    let exec = Exec::new(1, &mut quiet);
    Some(pca.transform(&m, &exec).into_iter().map(|v| v as f32).collect())
}
