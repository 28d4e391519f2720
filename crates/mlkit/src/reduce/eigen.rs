//! Eigenvalues and eigenvectors of a real symmetric matrix.
//!
//! * [`symmetric`]: all of them, by the cyclic Jacobi method: plane rotations, each zeroing
//!   one off-diagonal entry, swept over all pairs until the off-diagonal mass vanishes. Slow
//!   for large matrices (about 10 n³ operations) but simple and accurate to the last digits;
//!   meant for matrices up to a few hundred rows.
//! * [`leading`]: the `k` largest of a positive semi-definite matrix, by block subspace
//!   iteration with Rayleigh–Ritz projections (Golub & Van Loan, 8.2.4 and 8.1.14): a block
//!   of `k + p` orthonormal vectors is multiplied by the matrix and re-orthonormalised until
//!   the leading `k` Ritz pairs stop moving. `n² (k + p)` operations an iteration.

use crate::{Exec, Step};

/// Eigen-decomposition of the symmetric `n × n` matrix `a` (row-major): eigenvalues in
/// descending order and the matching unit eigenvectors as the rows of the second result.
pub fn symmetric(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n, "eigen::symmetric: an n × n matrix");
    let mut m = a.to_vec();
    let mut v: Vec<f64> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    let norm: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m[i * n + j].powi(2)).sum();
        if off.sqrt() <= 1e-15 * norm.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                // The rotation angle that zeroes a[p][q] (Golub & Van Loan, 8.5.2).
                let tau = (aqq - app) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * akp - s * akq;
                    m[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * apk - s * aqk;
                    m[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let vectors = order.iter().flat_map(|&i| (0..n).map(move |k| (k, i))).map(|(k, i)| v[k * n + i]).collect();
    (values, vectors)
}

/// The `k` largest eigenvalues (descending) and their unit eigenvectors (rows) of the
/// positive semi-definite `n × n` matrix `a`, with a block of `block ≥ k` vectors, iterated
/// until every leading Ritz pair's residual `‖A v − λ v‖` is below `1e-10 · λ₁` (at most
/// `max_iter` times). `seed` fixes the starting block.
pub fn leading(a: &[f64], n: usize, k: usize, block: usize, max_iter: usize, seed: u64, exec: &mut Exec) -> (Vec<f64>, Vec<f64>) {
    leading_op(n, k, block, max_iter, 1e-10, seed, exec, |q, out, _| crate::linalg::dot_block_f64(q, a, n, out))
}

/// [`leading`] for a matrix given as an operator: `apply(q, out, exec)` writes `A q_r` into row `r`
/// of `out` for every row `q_r` (`n` long) of `q`, with `exec` to spread that over its threads.
/// Stops when residuals are below `tol · λ₁`.
/// Each iteration is reported to `exec`'s progress hook (where a cancel can stop it).
#[allow(clippy::too_many_arguments)]
pub fn leading_op(
    n: usize,
    k: usize,
    block: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    exec: &mut Exec,
    mut apply: impl FnMut(&[f64], &mut [f64], &Exec),
) -> (Vec<f64>, Vec<f64>) {
    let l = block.clamp(k, n);
    let mut rng = crate::rng::Rng::new(seed);
    // The block as l rows of n (row-major), orthonormalised.
    let mut q: Vec<f64> = (0..l * n).map(|_| crate::rng::normal(&mut rng)).collect();
    orthonormalize(&mut q, n);
    let mut aq = vec![0.0; l * n];
    let mut av = vec![0.0; l * n];
    let mut values = vec![0.0; l];
    let mut vectors = vec![0.0; l * n];
    for iteration in 0..max_iter.max(1) {
        exec.step(Step::Optimize { what: "eigenvectors", iteration: iteration + 1, total: max_iter.max(1), loss: None });
        apply(&q, &mut aq, exec);
        // Rayleigh–Ritz: T = Qᵀ A Q (l × l), T = W Λ Wᵀ, Ritz vectors V = W Q.
        let mut t = vec![0.0; l * l];
        crate::linalg::dot_block_f64(&q, &aq, n, &mut t);
        symmetrize(&mut t, l);
        let (vals, w) = symmetric(&t, l);
        values = vals;
        // V = W Q and A V = W (A Q).
        for r in 0..l {
            let (v, avr) = (&mut vectors[r * n..(r + 1) * n], &mut av[r * n..(r + 1) * n]);
            v.iter_mut().for_each(|x| *x = 0.0);
            avr.iter_mut().for_each(|x| *x = 0.0);
            for s in 0..l {
                let c = w[r * l + s];
                for ((x, y), (&qs, &aqs)) in v.iter_mut().zip(avr.iter_mut()).zip(q[s * n..(s + 1) * n].iter().zip(&aq[s * n..(s + 1) * n]))
                {
                    *x += c * qs;
                    *y += c * aqs;
                }
            }
        }
        let top = values[0].abs().max(f64::MIN_POSITIVE);
        let converged = (0..k).all(|r| {
            let res: f64 =
                vectors[r * n..(r + 1) * n].iter().zip(&av[r * n..(r + 1) * n]).map(|(v, av)| (av - values[r] * v).powi(2)).sum();
            res.sqrt() <= tol * top
        });
        if converged {
            break;
        }
        q.copy_from_slice(&av);
        orthonormalize(&mut q, n);
    }
    (values[..k].to_vec(), vectors[..k * n].to_vec())
}

/// Replaces the `l × l` matrix `t` by `(t + tᵀ) / 2`: a product that is symmetric in exact
/// arithmetic, made exactly symmetric for [`symmetric`].
pub fn symmetrize(t: &mut [f64], l: usize) {
    for i in 0..l {
        for j in 0..i {
            let m = (t[i * l + j] + t[j * l + i]) / 2.0;
            t[i * l + j] = m;
            t[j * l + i] = m;
        }
    }
}

/// Orthonormalises the rows (each `n` long) of `q` by modified Gram–Schmidt, twice
/// ("twice is enough": Parlett). A row that vanishes is replaced by a unit vector.
pub fn orthonormalize(q: &mut [f64], n: usize) {
    let l = q.len() / n;
    for _ in 0..2 {
        for r in 0..l {
            let (done, rest) = q.split_at_mut(r * n);
            let row = &mut rest[..n];
            for s in 0..r {
                let prev = &done[s * n..(s + 1) * n];
                let d: f64 = prev.iter().zip(row.iter()).map(|(a, b)| a * b).sum();
                row.iter_mut().zip(prev).for_each(|(x, p)| *x -= d * p);
            }
            let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 1e-300 {
                row.iter_mut().for_each(|x| *x /= norm);
            } else {
                row.iter_mut().enumerate().for_each(|(i, x)| *x = if i == r % n { 1.0 } else { 0.0 });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_pairs_match_the_full_decomposition() {
        let n = 40;
        // A = B Bᵀ with a decaying spectrum.
        let b: Vec<f64> = (0..n * n).map(|k| ((k * 7919 % 101) as f64 / 101.0 - 0.5) / (1.0 + (k % n) as f64)).collect();
        let mut a = vec![0.0; n * n];
        crate::linalg::dot_block_f64(&b, &b, n, &mut a);
        let (vals, vecs) = symmetric(&a, n);
        let mut none = |_| {};
        let (lv, lw) = leading(&a, n, 5, 15, 500, 1, &mut Exec::new(1, &mut none));
        for e in 0..5 {
            assert!((lv[e] - vals[e]).abs() < 1e-9 * vals[0], "value {e}: {} vs {}", lv[e], vals[e]);
            let dot: f64 = (0..n).map(|i| lw[e * n + i] * vecs[e * n + i]).sum();
            assert!((dot.abs() - 1.0).abs() < 1e-8, "vector {e}: {dot}");
        }
    }

    #[test]
    fn decomposes_and_reconstructs_a_symmetric_matrix() {
        let n = 5;
        let a: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                1.0 / (1.0 + i as f64 + j as f64) + if i == j { 2.0 } else { 0.0 }
            })
            .collect();
        let (vals, vecs) = symmetric(&a, n);
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
        // A v = λ v for every pair, and the vectors are orthonormal.
        for e in 0..n {
            let v = &vecs[e * n..(e + 1) * n];
            for i in 0..n {
                let av: f64 = (0..n).map(|j| a[i * n + j] * v[j]).sum();
                assert!((av - vals[e] * v[i]).abs() < 1e-12, "eigenpair {e}");
            }
            for f in 0..n {
                let dot: f64 = (0..n).map(|k| v[k] * vecs[f * n + k]).sum();
                assert!((dot - if e == f { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
