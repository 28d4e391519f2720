//! A fitted map — a t-SNE or UMAP embedding with the training points it was fitted on — and
//! what placing new points in it starts from: each new point's nearest training points.
//! Used by [`super::tsne::transform`] and [`super::umap::transform`].

use crate::neighbors::Index;
use crate::{Exec, Matrix};

/// A fitted map: the training points (searchable, under the metric of the fit) and their
/// coordinates.
pub struct Map<'a> {
    pub index: &'a Index,
    /// `index.len() × c` map coordinates, row-major.
    pub embedding: &'a [f64],
    pub c: usize,
}

/// Points per parallel chunk of the searches (fixed: determinism).
const CHUNK: usize = 64;

impl Map<'_> {
    /// For each row of `x`, its `k` nearest training points, nearest first (indices and
    /// distances); `None` for a row with no distance to them (a zero vector under cosine).
    pub fn neighbours(&self, x: &Matrix, k: usize, exec: &Exec) -> Vec<Option<(Vec<u32>, Vec<f64>)>> {
        exec.quick_map(x.rows(), CHUNK, |rows| {
            rows.map(|i| self.index.query(&x.row(i).iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), k)).collect::<Vec<_>>()
        })
        .concat()
    }
}
