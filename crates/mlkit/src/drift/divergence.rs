//! Population stability index and Jensen–Shannon distance on Evidently's bins
//! ([`super::binning`]).
//!
//! - **PSI** `Σ (rᵢ − cᵢ) ln(rᵢ / cᵢ)` over the bins' shares, empty bins filled first
//!   (Evidently's `psi`; drift from 0.1 by default).
//! - **Jensen–Shannon distance** `√((KL(p‖m) + KL(q‖m)) / 2)`, `m = (p + q)/2`, on the shares
//!   without filling (Evidently's `jensenshannon`, which calls SciPy's
//!   `scipy.spatial.distance.jensenshannon`); natural logarithms unless a base is given.

/// PSI of two share vectors (already filled: no zeros).
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference.iter().zip(current).map(|(&r, &c)| (r - c) * (r / c).ln()).sum()
}

/// SciPy's `rel_entr(x, y)`: `x ln(x/y)`, 0 where `x = 0`, infinite where only `y` is 0.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// SciPy's `jensenshannon(p, q, base)`.
pub fn jensen_shannon(p: &[f64], q: &[f64], base: Option<f64>) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    let (mut left, mut right) = (0.0, 0.0);
    for (&pi, &qi) in p.iter().zip(q) {
        let (pi, qi) = (pi / sp, qi / sq);
        let m = (pi + qi) / 2.0;
        left += rel_entr(pi, m);
        right += rel_entr(qi, m);
    }
    let mut js = left + right;
    if let Some(b) = base {
        js /= b.ln();
    }
    (js / 2.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_shares_are_zero_apart_and_disjoint_ones_are_at_most_apart() {
        let p = [0.2, 0.3, 0.5];
        assert_eq!(psi(&p, &p), 0.0);
        assert_eq!(jensen_shannon(&p, &p, None), 0.0);
        // Disjoint supports: JS distance √ln 2 in nats, 1 in bits.
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0], None) - 2f64.ln().sqrt()).abs() < 1e-15);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0], Some(2.0)) - 1.0).abs() < 1e-15);
    }
}
