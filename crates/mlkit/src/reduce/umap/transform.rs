//! New points placed in a fixed UMAP map, as umap-learn 0.5's `UMAP.transform` does it:
//!
//! 1. **Neighbours**: each new point's `n_neighbors` nearest training points (exact, as
//!    umap-learn's search below 4,096 training points).
//! 2. **Memberships** (`smooth_knn_dist` with local connectivity 0, so `ρ = 0`;
//!    `compute_membership_strengths(bipartite=True)`): `exp(−dᵢⱼ / σᵢ)`, with `σᵢ` by
//!    bisection as in the fit.
//! 3. **Initialisation** (`init_graph_transform`): the membership-weighted mean of the
//!    neighbours' map positions, or the position of a training point it coincides with.
//! 4. **Optimisation** (`optimize_layout_euclidean` with the map fixed): memberships below
//!    `max / n_epochs` dropped; `n_epochs` = 100 for batches up to 10,000 points, 30 above, or
//!    a third of the fit's `n_epochs` when it was given; learning rate a quarter of the fit's,
//!    falling linearly; each edge sampled in proportion to its membership, attracting the new
//!    point to the training point, then repelling it from `negative_sample_rate` random
//!    training points, one after another, gradients clipped to ±4; `a`, `b` and the
//!    repulsion strength are the fit's.
//!
//! New points do not interact, so each is optimised on its own, with a generator seeded by
//! the seed and its position in the batch: deterministic whatever the thread count. Like
//! umap-learn's, the result depends on the batch only through the two batch-wide quantities
//! above (the edge cut and the epoch count) and `σ`'s floor (a thousandth of the batch's mean
//! distance). The random negative samples differ from umap-learn's generator, so the
//! coordinates agree with umap-learn's as two of its seeds agree with each other.

use crate::rng::Rng;
use crate::{Exec, Matrix};

/// What a fit leaves for placing new points.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub n_neighbors: usize,
    pub a: f64,
    pub b: f64,
    /// The fit's `n_epochs` when it was given (a third of it is used), else `None`.
    pub n_epochs: Option<usize>,
    /// The fit's learning rate (a quarter of it is used).
    pub learning_rate: f64,
    pub negative_sample_rate: usize,
    pub repulsion_strength: f64,
    pub seed: u64,
}

pub use crate::reduce::map::Map;

/// Points per parallel chunk (fixed: determinism).
const CHUNK: usize = 64;

/// The map coordinates of each row of `x` (`x.rows() × map.c`, row-major); `NaN`s for a row
/// with no distance to the map (a zero vector under cosine).
pub fn transform(map: &Map, x: &Matrix, params: &Params, exec: &Exec) -> Vec<f64> {
    let (c, n, m) = (map.c, map.index.len(), x.rows());
    let k = params.n_neighbors.min(n).max(1);
    if m == 0 || n == 0 {
        return vec![f64::NAN; m * c];
    }
    // 1. Neighbours.
    let found = map.neighbours(x, k, exec);
    // 2. Memberships (umap-learn computes them in float32).
    let dists: Vec<f64> =
        found.iter().flat_map(|f| f.as_ref().map_or(vec![0.0; k], |(_, d)| d.iter().map(|&v| v as f32 as f64).collect())).collect();
    let (rho, sigma) = super::smooth_knn_dist(&dists, k, false);
    let weight = |i: usize, t: usize| -> f64 {
        let dd = dists[i * k + t] - rho[i];
        if dd <= 0.0 || sigma[i] == 0.0 {
            1.0
        } else {
            (-(dd / sigma[i])).exp() as f32 as f64
        }
    };
    let weights: Vec<f64> =
        (0..m).flat_map(|i| (0..k).map(move |t| (i, t))).map(|(i, t)| if found[i].is_some() { weight(i, t) } else { 0.0 }).collect();
    // 4. The batch-wide edge cut and epoch count.
    let n_epochs = match params.n_epochs {
        Some(e) => (e / 3).max(1),
        None if m <= 10_000 => 100,
        None => 30,
    };
    let wmax = weights.iter().copied().fold(0.0, f64::max);
    let cut = wmax / n_epochs as f64;
    let kernel = Kernel { a: params.a, b: params.b, gamma: params.repulsion_strength };
    let alpha0 = params.learning_rate / 4.0;
    let reference: Vec<f32> = map.embedding.iter().map(|&v| v as f32).collect();
    exec.quick_map(m, CHUNK, |rows| {
        let mut out = Vec::with_capacity(rows.len() * c);
        for i in rows {
            let Some((ids, _)) = &found[i] else {
                out.extend(std::iter::repeat_n(f64::NAN, c));
                continue;
            };
            let w = &weights[i * k..(i + 1) * k];
            // 3. The start: a coinciding training point's position, else the weighted mean.
            let mut y = vec![0.0f32; c];
            if let Some(t) = w.iter().position(|&v| v == 1.0) {
                y.copy_from_slice(&reference[ids[t] as usize * c..(ids[t] as usize + 1) * c]);
            } else {
                let total: f64 = w.iter().sum();
                for (t, &j) in ids.iter().enumerate() {
                    for (s, yv) in y.iter_mut().enumerate() {
                        *yv += (w[t] / total * f64::from(reference[j as usize * c + s])) as f32;
                    }
                }
            }
            // 4. The optimisation over the edges kept.
            let edges: Vec<(usize, f64)> =
                ids.iter().zip(w).filter(|(_, &v)| v >= cut && v > 0.0).map(|(&j, &v)| (j as usize, wmax / v)).collect();
            let rate = params.negative_sample_rate as f64;
            let mut next: Vec<f64> = edges.iter().map(|e| e.1).collect();
            let mut next_neg: Vec<f64> = edges.iter().map(|e| e.1 / rate).collect();
            let mut rng = Rng::new(params.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x756d_6170_7472);
            for epoch in 0..n_epochs {
                let alpha = alpha0 * (1.0 - epoch as f64 / n_epochs as f64);
                let ep = epoch as f64;
                for (e, &(j, period)) in edges.iter().enumerate() {
                    if next[e] > ep {
                        continue;
                    }
                    let other = &reference[j * c..(j + 1) * c];
                    let coeff = kernel.attract(dist2(&y, other));
                    for (yv, &o) in y.iter_mut().zip(other) {
                        *yv += (clip(coeff * f64::from(*yv - o)) * alpha) as f32;
                    }
                    next[e] += period;
                    let negatives = ((ep - next_neg[e]) / (period / rate)).max(0.0) as usize;
                    for _ in 0..negatives {
                        let r = rng.below(n);
                        let other = &reference[r * c..(r + 1) * c];
                        let d2 = dist2(&y, other);
                        if d2 > 0.0 {
                            let coeff = kernel.repel(d2);
                            for (yv, &o) in y.iter_mut().zip(other) {
                                *yv += (clip(coeff * f64::from(*yv - o)) * alpha) as f32;
                            }
                        }
                    }
                    next_neg[e] += negatives as f64 * (period / rate);
                }
            }
            out.extend(y.iter().map(|&v| f64::from(v)));
        }
        out
    })
    .concat()
}

/// umap-learn's `rdist`: the squared Euclidean distance.
fn dist2(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum()
}

fn clip(v: f64) -> f64 {
    v.clamp(-4.0, 4.0)
}

/// The gradient coefficients of `optimize_layout_euclidean`, in `f64` (the fit's tables are
/// for its many more samples).
struct Kernel {
    a: f64,
    b: f64,
    gamma: f64,
}

impl Kernel {
    fn attract(&self, d2: f64) -> f64 {
        if d2 > 0.0 {
            -2.0 * self.a * self.b * d2.powf(self.b - 1.0) / (self.a * d2.powf(self.b) + 1.0)
        } else {
            0.0
        }
    }

    fn repel(&self, d2: f64) -> f64 {
        2.0 * self.gamma * self.b / ((0.001 + d2) * (self.a * d2.powf(self.b) + 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::{Index, Metric};

    #[test]
    fn training_points_land_near_themselves_and_single_points_are_deterministic() {
        let mut rng = Rng::new(3);
        let (n, d) = (240, 4);
        let data: Vec<f32> = (0..n * d).map(|i| ((i / d) % 3) as f32 * 8.0 + crate::rng::normal(&mut rng) as f32).collect();
        let x = Matrix::new(&data, n, d).unwrap();
        let mut quiet = |_| {};
        let mut exec = Exec::new(2, &mut quiet);
        let params = super::super::Params::default();
        let fit = super::super::fit(&x, &params, &mut exec).unwrap();
        let index = Index::new(&x, Metric::Euclidean).unwrap();
        let map = Map { index: &index, embedding: &fit.embedding, c: 2 };
        let tp = Params {
            n_neighbors: 15,
            a: fit.a,
            b: fit.b,
            n_epochs: None,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            seed: 42,
        };
        // Slightly moved training points: each lands in its own blob's part of the map.
        let moved: Vec<f32> = data.iter().map(|v| v + 0.05).collect();
        let probe = Matrix::new(&moved, n, d).unwrap();
        let y = transform(&map, &probe, &tp, &exec);
        let centre = |rows: &mut dyn Iterator<Item = usize>, e: &[f64]| {
            let v: Vec<usize> = rows.collect();
            let s = v.iter().fold([0.0, 0.0], |a, &i| [a[0] + e[i * 2], a[1] + e[i * 2 + 1]]);
            [s[0] / v.len() as f64, s[1] / v.len() as f64]
        };
        for i in 0..n {
            let dist_to = |b: usize| {
                let c = centre(&mut (0..n).filter(|&j| j % 3 == b), &fit.embedding);
                ((y[i * 2] - c[0]).powi(2) + (y[i * 2 + 1] - c[1]).powi(2)).sqrt()
            };
            let own = dist_to(i % 3);
            assert!((0..3).all(|b| own <= dist_to(b)), "point {i} left its blob");
        }
        let again = transform(&map, &probe, &tp, &exec);
        assert_eq!(y, again);
    }
}
