//! The first Wasserstein (earth mover's) distance between two one-dimensional samples, as
//! SciPy's `scipy.stats.wasserstein_distance(u, v)` computes it: the area between the two
//! empirical CDFs, `Σ |U(xᵢ) − V(xᵢ)| (xᵢ₊₁ − xᵢ)` over the sorted pooled values.

/// The distance; both samples non-empty and finite.
pub fn distance(u: &[f64], v: &[f64]) -> f64 {
    let mut us = u.to_vec();
    let mut vs = v.to_vec();
    us.sort_unstable_by(f64::total_cmp);
    vs.sort_unstable_by(f64::total_cmp);
    let mut all: Vec<f64> = us.iter().chain(&vs).copied().collect();
    all.sort_unstable_by(f64::total_cmp);
    let (nu, nv) = (us.len() as f64, vs.len() as f64);
    let (mut iu, mut iv) = (0, 0);
    let mut total = 0.0;
    for w in all.windows(2) {
        // How many of each sample are ≤ this pooled value (searchsorted, side="right").
        while iu < us.len() && us[iu] <= w[0] {
            iu += 1;
        }
        while iv < vs.len() && vs[iv] <= w[0] {
            iv += 1;
        }
        total += (iu as f64 / nu - iv as f64 / nv).abs() * (w[1] - w[0]);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scipys_documented_examples() {
        assert_eq!(distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]), 5.0);
        assert_eq!(distance(&[1.0, 2.0], &[2.0, 1.0]), 0.0);
        assert!((distance(&[0.0], &[1.0, 2.0]) - 1.5).abs() < 1e-15);
    }
}
