//! Eigenvalues and eigenvectors of a real symmetric matrix by the cyclic Jacobi method: plane
//! rotations, each zeroing one off-diagonal entry, swept over all pairs until the
//! off-diagonal mass vanishes. Slow for large matrices (about 10 n³ operations) but simple
//! and accurate to the last digits; meant for matrices up to a few hundred rows (a covariance
//! of few features, or the small projected matrix of a randomized method).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomposes_and_reconstructs_a_symmetric_matrix() {
        let n = 5;
        let a: Vec<f64> = (0..n * n).map(|k| {
            let (i, j) = (k / n, k % n);
            1.0 / (1.0 + i as f64 + j as f64) + if i == j { 2.0 } else { 0.0 }
        }).collect();
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
