//! New points placed in a fixed t-SNE map, as openTSNE's `TSNEEmbedding.transform` does it
//! (Poličar et al., 2024, "Embedding to reference t-SNE space"), with its defaults:
//!
//! 1. **Frame**: the map is centred on the middle of its range (openTSNE shifts the reference
//!    embedding in place; here the shift is undone at the end, so the coordinates are in the
//!    stored map's frame and differ from openTSNE's by that shift only).
//! 2. **Affinities** to the map's training points: each new point's `⌊3 · perplexity⌋`
//!    nearest training points (perplexity 5: 15) and a perplexity-calibrated Gaussian over
//!    them, each row summing to 1 (openTSNE's `to_new`, point-wise normalisation, not
//!    symmetrised).
//! 3. **Initialisation** (`"median"`): the coordinate-wise median of the map positions of the
//!    first `k = 25` of those neighbours (all 15 at the default perplexity).
//! 4. **Optimisation**: 250 iterations of openTSNE's gradient descent (momentum 0.8, gains,
//!    learning rate 0.1, `P` exaggerated 1.5-fold, each point's gradient clipped to norm
//!    0.25) where only the new points move: attraction `Σⱼ pᵢⱼ qᵢⱼ (yᵢ − yⱼ)` to its
//!    neighbours, repulsion `Σⱼ qᵢⱼ² (yᵢ − yⱼ) / Zᵢ` from every map point by Barnes–Hut
//!    (θ = 0.5) over the map, normalised per point (`Zᵢ = Σⱼ qᵢⱼ`) as openTSNE's
//!    `pairwise_normalization=False`. New points do not interact, so each is optimised on its
//!    own — a batch gives the same coordinates as its points one at a time (openTSNE switches
//!    to FFT interpolation for batches from 10,000 points; here Barnes–Hut always).
//!
//! Memory: the map's neighbour index and tree, and `15 + 8` numbers per new point.

use super::{affinity, bh};
use crate::{Exec, Matrix};

/// How new points are placed (openTSNE's `transform` defaults in [`Params::default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub perplexity: f64,
    /// Neighbours whose median places a point before the optimisation.
    pub k: usize,
    pub learning_rate: f64,
    pub exaggeration: f64,
    pub n_iter: usize,
    pub momentum: f64,
    pub max_grad_norm: f64,
    pub theta: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self { perplexity: 5.0, k: 25, learning_rate: 0.1, exaggeration: 1.5, n_iter: 250, momentum: 0.8, max_grad_norm: 0.25, theta: 0.5 }
    }
}

pub use crate::reduce::map::Map;

/// Points per parallel chunk (fixed: determinism).
const CHUNK: usize = 64;

/// The map coordinates of each row of `x` (`x.rows() × map.c`, row-major); `NaN`s for a row
/// that has no distance to the map (a zero vector under cosine).
pub fn transform(map: &Map, x: &Matrix, params: &Params, exec: &Exec) -> Vec<f64> {
    let c = map.c;
    let n = map.index.len();
    let m = x.rows();
    if m == 0 || n == 0 {
        return vec![f64::NAN; m * c];
    }
    // 1. The frame: centred on the middle of the map's range.
    let mut shift = vec![0.0; c];
    for (t, s) in shift.iter_mut().enumerate() {
        let (lo, hi) = map.embedding.iter().skip(t).step_by(c).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        *s = (hi + lo) / 2.0;
    }
    let reference: Vec<f64> = map.embedding.chunks_exact(c).flat_map(|r| r.iter().zip(&shift).map(|(v, s)| v - s)).collect();
    // 2. Neighbours and affinities.
    let k = ((3.0 * params.perplexity) as usize).min(n).max(1);
    let perplexity = if params.perplexity > k as f64 { k as f64 / 3.0 } else { params.perplexity };
    let found = map.neighbours(x, k, exec);
    let dists: Vec<f64> = found.iter().flat_map(|f| f.as_ref().map_or(vec![0.0; k], |(_, dd)| dd.clone())).collect();
    let p = affinity::conditional(&dists, k, perplexity, exec);
    drop(dists);
    // 3–4. Each point: median start, then gradient descent against the fixed map.
    let out = match c {
        1 => place::<1>(&reference, &found, &p, k, params, exec),
        2 => place::<2>(&reference, &found, &p, k, params, exec),
        _ => place::<3>(&reference, &found, &p, k, params, exec),
    };
    out.chunks_exact(c).flat_map(|r| r.iter().zip(&shift).map(|(v, s)| v + s).collect::<Vec<_>>()).collect()
}

/// The median of `v` as numpy's (the mean of the two middle values for an even count).
fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.len() % 2 == 1 {
        v[h]
    } else {
        (v[h - 1] + v[h]) / 2.0
    }
}

fn place<const D: usize>(
    reference: &[f64],
    found: &[Option<(Vec<u32>, Vec<f64>)>],
    p: &[f64],
    k: usize,
    params: &Params,
    exec: &Exec,
) -> Vec<f64> {
    let tree = bh::Tree::<D>::build(reference);
    exec.quick_map(found.len(), CHUNK, |rows| {
        let mut out = Vec::with_capacity(rows.len() * D);
        let mut stack = Vec::new();
        let mut column = Vec::with_capacity(k);
        for i in rows {
            let Some((ids, _)) = &found[i] else {
                out.extend([f64::NAN; D]);
                continue;
            };
            let pi = &p[i * k..(i + 1) * k];
            let mut y = [0.0f64; D];
            for (t, yt) in y.iter_mut().enumerate() {
                column.clear();
                column.extend(ids.iter().take(params.k.max(1)).map(|&j| reference[j as usize * D + t]));
                *yt = median(&mut column);
            }
            let (mut update, mut gains) = ([0.0f64; D], [1.0f64; D]);
            for _ in 0..params.n_iter {
                let mut force = [0.0f64; D];
                let z = tree.repulse(&y, params.theta, &mut force, &mut stack);
                let mut grad: [f64; D] = std::array::from_fn(|t| force[t] / (z + f64::EPSILON));
                for (&j, &pij) in ids.iter().zip(pi) {
                    let r = &reference[j as usize * D..(j as usize + 1) * D];
                    let d2: f64 = (0..D).map(|t| (y[t] - r[t]) * (y[t] - r[t])).sum();
                    let w = params.exaggeration * pij / (1.0 + d2);
                    for t in 0..D {
                        grad[t] += w * (y[t] - r[t]);
                    }
                }
                let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
                let coeff = params.max_grad_norm / (norm + 1e-6);
                if coeff < 1.0 {
                    grad.iter_mut().for_each(|g| *g *= coeff);
                }
                for t in 0..D {
                    if super::sign(update[t]) != super::sign(grad[t]) {
                        gains[t] += 0.2;
                    } else {
                        gains[t] = gains[t] * 0.8 + 0.01;
                    }
                    update[t] = params.momentum * update[t] - params.learning_rate * gains[t] * grad[t];
                    y[t] += update[t];
                }
            }
            out.extend(y);
        }
        out
    })
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::{Index, Metric};

    #[test]
    fn a_training_point_lands_near_its_own_position_and_batches_equal_single_points() {
        let (data, _) = super::super::tests::blobs(300, 5, 3, 7);
        let x = Matrix::new(&data, 300, 5).unwrap();
        let mut quiet = |_| {};
        let mut exec = Exec::new(2, &mut quiet);
        let fit = super::super::fit(&x, &super::super::Params::default(), &mut exec).unwrap();
        let index = Index::new(&x, Metric::Euclidean).unwrap();
        let map = Map { index: &index, embedding: &fit.embedding, c: 2 };
        let probe = Matrix::new(&data[..50], 10, 5).unwrap();
        let all = transform(&map, &probe, &Params::default(), &exec);
        let span = fit.embedding.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 0..10 {
            let own = &fit.embedding[i * 2..i * 2 + 2];
            let dist = ((all[i * 2] - own[0]).powi(2) + (all[i * 2 + 1] - own[1]).powi(2)).sqrt();
            assert!(dist < 0.1 * span, "point {i} moved {dist} of {span}");
            let one = transform(&map, &Matrix::new(&data[i * 5..i * 5 + 5], 1, 5).unwrap(), &Params::default(), &exec);
            assert_eq!(&one[..], &all[i * 2..i * 2 + 2]);
        }
    }
}
