//! Evidently's tests for categorical columns, on the category keys of two samples:
//!
//! - **χ² test** (`chisquare`): expected counts are the reference counts scaled to the
//!   current sample's size, `Σ (observed − expected)² / expected` over the categories of
//!   either sample, p-value from χ² with (categories − 1) degrees of freedom (SciPy's
//!   `chisquare`). A category absent from the reference makes the statistic infinite and the
//!   p-value 0, as in SciPy.
//! - **Two-proportion z-test** (`z`): the smallest category (in sort order) against all the
//!   others; `z = (p₁ − p₂) / √(P(1 − P)(1/n₁ + 1/n₂))` with the pooled share `P`, two-sided
//!   p-value `2 (1 − Φ(|z|))`. Two samples of one and the same single value give p = 1.

use super::special::{chi2_sf, normal_cdf};
use std::collections::HashMap;
use std::hash::Hash;

/// (statistic, p-value) of the χ² test.
pub fn chi_square<K: Hash + Eq + Ord + Clone>(reference: &[K], current: &[K]) -> (f64, f64) {
    let mut keys: Vec<&K> = reference.iter().chain(current).collect();
    keys.sort();
    keys.dedup();
    let (rc, cc) = (counts(reference), counts(current));
    let k_norm = current.len() as f64 / reference.len() as f64;
    let mut stat = 0.0;
    for k in &keys {
        let expected = rc.get(k).copied().unwrap_or(0) as f64 * k_norm;
        let observed = cc.get(k).copied().unwrap_or(0) as f64;
        stat += (observed - expected) * (observed - expected) / expected;
    }
    let df = keys.len() as f64 - 1.0;
    let p = if df <= 0.0 { f64::NAN } else { chi2_sf(stat, df) };
    (stat, p)
}

fn counts<K: Hash + Eq>(sample: &[K]) -> HashMap<&K, usize> {
    let mut m: HashMap<&K, usize> = HashMap::new();
    for k in sample {
        *m.entry(k).or_default() += 1;
    }
    m
}

/// (z, p-value) of the two-proportion z-test.
pub fn z_test<K: Hash + Eq + Ord + Clone>(reference: &[K], current: &[K]) -> (f64, f64) {
    let first = reference.iter().chain(current).min().expect("non-empty samples");
    let single = |s: &[K]| s.iter().all(|k| k == &s[0]);
    if single(reference) && single(current) && reference[0] == current[0] {
        return (0.0, 1.0);
    }
    let (n1, n2) = (reference.len() as f64, current.len() as f64);
    let others = |s: &[K]| s.iter().filter(|k| *k != first).count() as f64;
    let (p1, p2) = (others(reference) / n1, others(current) / n2);
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    (z, 2.0 * (1.0 - normal_cdf(z.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_samples_do_not_drift_and_disjoint_ones_do() {
        let a = ["x", "y", "y", "z"];
        let (stat, p) = chi_square(&a, &a);
        assert_eq!(stat, 0.0);
        assert!((p - 1.0).abs() < 1e-15);
        assert_eq!(chi_square(&["x"], &["y"]), (f64::INFINITY, 0.0));
        assert_eq!(z_test(&["a", "a"], &["a"]), (0.0, 1.0));
        let (z, p) = z_test(&["a", "a", "a", "a"], &["b", "b", "b", "b"]);
        assert!(z < -2.8 && p < 0.01, "{z} {p}");
    }
}
