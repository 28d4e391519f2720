//! Choosing and running a drift test per column as Evidently's data drift does by default
//! (`get_stattest` with no test named), so that a team moving from Evidently gets the same
//! verdicts:
//!
//! | reference rows | column | distinct values in both samples | test | drift when |
//! |---|---|---|---|---|
//! | ≤ 1000 | numerical | ≤ 2 | two-proportion z | p < 0.05 |
//! | ≤ 1000 | numerical | 3 – 5 | χ² | p < 0.05 |
//! | ≤ 1000 | numerical | > 5 | Kolmogorov–Smirnov | p ≤ 0.05 |
//! | ≤ 1000 | categorical | ≤ 2 | two-proportion z | p < 0.05 |
//! | ≤ 1000 | categorical | > 2 | χ² | p < 0.05 |
//! | > 1000 | numerical | ≤ 5 | Jensen–Shannon distance | ≥ 0.1 |
//! | > 1000 | numerical | > 5 | Wasserstein distance ÷ reference std (at least 0.001) | ≥ 0.1 |
//! | > 1000 | categorical | any | Jensen–Shannon distance | ≥ 0.1 |
//!
//! PSI (drift from 0.1) can be asked for by name. Each test's *drift score* is what Evidently
//! reports: the p-value for the tests, the distance for the distances.

use super::{binning, categorical, divergence, ks, wasserstein};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A column's values, missing values already left out.
#[derive(Debug, Clone)]
pub enum Sample {
    Numbers(Vec<f64>),
    Categories(Vec<String>),
}

impl Sample {
    pub fn len(&self) -> usize {
        match self {
            Sample::Numbers(v) => v.len(),
            Sample::Categories(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A number as a category (ordered numerically; `-0.0` and `0.0` one value).
#[derive(Debug, Clone, Copy)]
struct NumKey(f64);

impl PartialEq for NumKey {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for NumKey {}
impl PartialOrd for NumKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for NumKey {
    fn cmp(&self, o: &Self) -> Ordering {
        let norm = |v: f64| if v == 0.0 { 0.0 } else { v };
        norm(self.0).total_cmp(&norm(o.0))
    }
}
impl Hash for NumKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (if self.0 == 0.0 { 0u64 } else { self.0.to_bits() }).hash(h)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Ks,
    Wasserstein,
    Psi,
    JensenShannon,
    ChiSquare,
    Z,
}

impl Method {
    /// Evidently's name of the test.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Wasserstein => "wasserstein",
            Method::Psi => "psi",
            Method::JensenShannon => "jensenshannon",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        [Method::Ks, Method::Wasserstein, Method::Psi, Method::JensenShannon, Method::ChiSquare, Method::Z]
            .into_iter()
            .find(|m| m.name() == name)
    }

    /// Whether the drift score is a p-value (drift when small) rather than a distance.
    pub fn is_p_value(self) -> bool {
        matches!(self, Method::Ks | Method::ChiSquare | Method::Z)
    }

    pub fn default_threshold(self) -> f64 {
        if self.is_p_value() {
            0.05
        } else {
            0.1
        }
    }

    /// Whether the test applies to a column of this kind.
    pub fn accepts(self, sample: &Sample) -> bool {
        !(matches!(sample, Sample::Categories(_)) && matches!(self, Method::Ks | Method::Wasserstein))
    }
}

/// Distinct values of both samples together.
pub fn distinct_values(reference: &Sample, current: &Sample) -> usize {
    match (reference, current) {
        (Sample::Numbers(a), Sample::Numbers(b)) => a.iter().chain(b).map(|&v| NumKey(v)).collect::<std::collections::HashSet<_>>().len(),
        (Sample::Categories(a), Sample::Categories(b)) => a.iter().chain(b).collect::<std::collections::HashSet<_>>().len(),
        _ => 0,
    }
}

/// Evidently's default test for a column.
pub fn choose(reference: &Sample, current: &Sample) -> Method {
    let n_values = distinct_values(reference, current);
    let numerical = matches!(reference, Sample::Numbers(_));
    if reference.len() <= 1000 {
        match (numerical, n_values) {
            (_, 0..=2) => Method::Z,
            (true, 3..=5) | (false, _) => Method::ChiSquare,
            (true, _) => Method::Ks,
        }
    } else {
        choose_large(numerical, n_values)
    }
}

/// Evidently's default test for a column whose reference has more than 1,000 rows (the only
/// case the sketch engine meets): Wasserstein for numbers of more than 5 distinct values,
/// Jensen–Shannon otherwise.
pub fn choose_large(numerical: bool, n_values: usize) -> Method {
    if numerical && n_values > 5 {
        Method::Wasserstein
    } else {
        Method::JensenShannon
    }
}

/// One column's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub method: Method,
    /// The test's own statistic (KS D, χ², z, or the distance).
    pub statistic: f64,
    pub p_value: Option<f64>,
    /// What Evidently reports and compares with the threshold.
    pub drift_score: f64,
    pub threshold: f64,
    pub drifted: bool,
}

/// Runs `method` on the two samples (both of one kind, non-empty).
pub fn run(method: Method, reference: &Sample, current: &Sample, threshold: f64) -> Outcome {
    run_in(method, reference, current, threshold, &mut |_| {})
}

/// [`run`], telling `progress` how far a long computation (KS's exact p-value) is.
pub fn run_in(method: Method, reference: &Sample, current: &Sample, threshold: f64, progress: &mut dyn crate::Progress) -> Outcome {
    let (statistic, p_value) = match (reference, current) {
        (Sample::Numbers(r), Sample::Numbers(c)) => {
            let keys = |v: &[f64]| v.iter().map(|&x| NumKey(x)).collect::<Vec<_>>();
            match method {
                Method::Ks => {
                    let t = ks::ks_2samp_in(r, c, ks::Alternative::TwoSided, ks::Method::Auto, progress);
                    (t.statistic, Some(t.pvalue))
                }
                Method::Wasserstein => {
                    let n = r.len() as f64;
                    let mean = r.iter().sum::<f64>() / n;
                    let std = (r.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
                    (wasserstein::distance(r, c) / std.max(0.001), None)
                }
                Method::Psi => {
                    let (a, b) = binning::binned_numbers(r, c, true);
                    (divergence::psi(&a, &b), None)
                }
                Method::JensenShannon => {
                    let (a, b) = binning::binned_numbers(r, c, false);
                    (divergence::jensen_shannon(&a, &b, None), None)
                }
                Method::ChiSquare => {
                    let (s, p) = categorical::chi_square(&keys(r), &keys(c));
                    (s, Some(p))
                }
                Method::Z => {
                    let (z, p) = categorical::z_test(&keys(r), &keys(c));
                    (z, Some(p))
                }
            }
        }
        (Sample::Categories(r), Sample::Categories(c)) => match method {
            Method::Psi => {
                let (a, b) = binning::binned_categories(r, c, true);
                (divergence::psi(&a, &b), None)
            }
            Method::JensenShannon | Method::Ks | Method::Wasserstein => {
                let (a, b) = binning::binned_categories(r, c, false);
                (divergence::jensen_shannon(&a, &b, None), None)
            }
            Method::ChiSquare => {
                let (s, p) = categorical::chi_square(r, c);
                (s, Some(p))
            }
            Method::Z => {
                let (z, p) = categorical::z_test(r, c);
                (z, Some(p))
            }
        },
        _ => (f64::NAN, None),
    };
    let drift_score = p_value.unwrap_or(statistic);
    Outcome { method, statistic, p_value, drift_score, threshold, drifted: drifted(method, drift_score, threshold) }
}

/// Evidently's verdict for a drift score: KS's p-value at most the threshold, χ²'s and z's
/// below it, a distance at least the threshold.
pub fn drifted(method: Method, drift_score: f64, threshold: f64) -> bool {
    match method {
        Method::Ks => drift_score <= threshold,
        Method::ChiSquare | Method::Z => drift_score < threshold,
        _ => drift_score >= threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidently_defaults_by_size_kind_and_distinct_values() {
        let nums = |n: usize, distinct: usize| Sample::Numbers((0..n).map(|i| (i % distinct) as f64).collect());
        let cats = |n: usize, distinct: usize| Sample::Categories((0..n).map(|i| format!("c{}", i % distinct)).collect());
        assert_eq!(choose(&nums(100, 2), &nums(50, 2)), Method::Z);
        assert_eq!(choose(&nums(100, 5), &nums(50, 5)), Method::ChiSquare);
        assert_eq!(choose(&nums(100, 50), &nums(50, 50)), Method::Ks);
        assert_eq!(choose(&cats(1000, 7), &cats(50, 7)), Method::ChiSquare);
        assert_eq!(choose(&cats(1001, 2), &cats(50, 2)), Method::JensenShannon);
        assert_eq!(choose(&nums(1001, 5), &nums(50, 5)), Method::JensenShannon);
        assert_eq!(choose(&nums(1001, 6), &nums(50, 6)), Method::Wasserstein);
        let r = run(Method::Ks, &nums(100, 50), &nums(100, 50), 0.05);
        assert!(!r.drifted && r.p_value == Some(1.0));
    }
}
