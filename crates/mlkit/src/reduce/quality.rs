//! How well an embedding keeps neighbourhoods: trustworthiness (Venna & Kaski, 2001), as
//! scikit-learn's `sklearn.manifold.trustworthiness` computes it,
//!
//! `T(k) = 1 − 2 / (n k (2n − 3k − 1)) · Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) − k)`,
//!
//! where `Uᵢ` are the `k` nearest neighbours of `i` in the embedding that are not among its
//! `k` nearest in the input, and `r(i, j)` is `j`'s rank among `i`'s neighbours in the input.
//! It needs every input distance from each point, so on large data it is computed on a
//! seeded sample ([`SAMPLE`] points), as `trustworthiness(X[sample], Y[sample])` would be.

use crate::neighbors::{sq, Metric};
use crate::rng::Rng;
use crate::{Exec, Matrix};

/// Points on which trustworthiness is measured when there are more.
pub const SAMPLE: usize = 2000;

/// The rows trustworthiness is measured on: all of them, or a seeded sample of [`SAMPLE`], sorted.
pub fn sample_rows(n: usize, seed: u64) -> Vec<usize> {
    if n <= SAMPLE {
        return (0..n).collect();
    }
    let mut s = Rng::new(seed ^ 0x7275_7374).sample_indices(n, SAMPLE);
    s.sort_unstable();
    s
}

/// Trustworthiness of `y` (`n × c`, row-major) for the rows `rows` of `x`, with `k` neighbours.
/// Rows are scored in parallel chunks (a pass of `exec`, so a cancel can stop it).
pub fn trustworthiness(x: &Matrix, y: &[f64], c: usize, rows: &[usize], k: usize, metric: Metric, exec: &mut Exec) -> f64 {
    let s = rows.len();
    if s < 3 || k == 0 || 2 * s < 3 * k + 2 {
        return f64::NAN;
    }
    let input: Vec<Vec<f64>> = rows
        .iter()
        .map(|&i| {
            let r: Vec<f64> = x.row(i).iter().map(|&v| f64::from(v)).collect();
            if metric == Metric::Cosine {
                let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
                r.iter().map(|v| v / norm).collect()
            } else {
                r
            }
        })
        .collect();
    let mut total = 0.0f64;
    let input = &input;
    exec.for_chunks(
        "trustworthiness",
        s,
        64,
        |chunk| {
            let mut total = 0.0f64;
            let mut dist = vec![0.0f64; s];
            let mut order: Vec<(f64, usize)> = Vec::with_capacity(s);
            for a in chunk {
                // The k nearest in the embedding.
                let ya = &y[rows[a] * c..(rows[a] + 1) * c];
                order.clear();
                order.extend((0..s).filter(|&b| b != a).map(|b| (sq(ya, &y[rows[b] * c..(rows[b] + 1) * c]), b)));
                order.select_nth_unstable_by(k - 1, |p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
                // Their ranks in the input (1 = nearest, ties by index as a stable argsort):
                // one more than the points before them, counted rather than sorted.
                for (b, d) in dist.iter_mut().enumerate() {
                    *d = if b == a { f64::INFINITY } else { sq(&input[a], &input[b]) };
                }
                for &(_, b) in &order[..k] {
                    let db = dist[b];
                    let rank = 1 + dist.iter().enumerate().filter(|&(q, &dq)| q != a && (dq < db || (dq == db && q < b))).count();
                    if rank > k {
                        total += (rank - k) as f64;
                    }
                }
            }
            total
        },
        |part| total += part,
    );
    let (n, k) = (s as f64, k as f64);
    1.0 - total * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_perfect_and_a_shuffle_is_not() {
        let x: Vec<f32> = (0..200).map(|i| ((i * 37) % 101) as f32).collect();
        let m = Matrix::new(&x, 100, 2).unwrap();
        let y: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let rows: Vec<usize> = (0..100).collect();
        let mut none = |_| {};
        let mut exec = Exec::new(2, &mut none);
        assert!((trustworthiness(&m, &y, 2, &rows, 5, Metric::Euclidean, &mut exec) - 1.0).abs() < 1e-12);
        let mut rng = Rng::new(1);
        let random: Vec<f64> = (0..200).map(|_| rng.next_f64()).collect();
        let t = trustworthiness(&m, &random, 2, &rows, 5, Metric::Euclidean, &mut exec);
        assert!(t < 0.7, "{t}");
    }
}
