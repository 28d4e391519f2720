//! Evidently's binning (`get_binned_data`), which PSI and its Jensen–Shannon distance
//! compare instead of raw values:
//!
//! - A numerical column whose *reference* sample has more than 20 distinct values is cut into
//!   equal-width bins over both samples together, as many as Sturges' rule gives
//!   (`numpy.histogram_bin_edges(both, bins="sturges")`: width `(max − min) / (log₂ N + 1)`,
//!   `⌈(max − min) / width⌉` bins, edges `min + i·step`, the last edge exactly `max`). Each
//!   bin counts `edge_i ≤ x < edge_{i+1}`, the last one also `x = max` (`numpy.histogram`).
//! - Any other column gets one bin per distinct value of either sample.
//!
//! Each sample's counts are divided by its size. For PSI, empty bins are then filled (the
//! *empty-bin rule*): zeros become a millionth of the smallest non-zero share when that share
//! is at most 0.0001, else 0.0001 — per sample, so that the logarithms stay finite.

use std::collections::HashMap;
use std::hash::Hash;

/// More distinct reference values than this make a numerical column binned by Sturges' rule.
pub const DISTINCT_FOR_HISTOGRAM: usize = 20;

/// A float as a hashable category key (`-0.0` and `0.0` are one value, as in pandas).
fn key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// Shares of `reference` and `current` per bin of a numerical column.
pub fn binned_numbers(reference: &[f64], current: &[f64], fill_empty: bool) -> (Vec<f64>, Vec<f64>) {
    let distinct: std::collections::HashSet<u64> = reference.iter().map(|&v| key(v)).collect();
    let (mut r, mut c) = if distinct.len() > DISTINCT_FOR_HISTOGRAM {
        let edges = sturges_edges(reference, current);
        (histogram(reference, &edges), histogram(current, &edges))
    } else {
        let keys: Vec<u64> = reference.iter().chain(current).map(|&v| key(v)).collect();
        let ref_keys: Vec<u64> = reference.iter().map(|&v| key(v)).collect();
        let cur_keys: Vec<u64> = current.iter().map(|&v| key(v)).collect();
        shares_per_value(&ref_keys, &cur_keys, keys)
    };
    if fill_empty {
        fill_empty_bins(&mut r);
        fill_empty_bins(&mut c);
    }
    (r, c)
}

/// Shares of `reference` and `current` per category.
pub fn binned_categories<K: Hash + Eq + Ord + Clone>(reference: &[K], current: &[K], fill_empty: bool) -> (Vec<f64>, Vec<f64>) {
    let all: Vec<K> = reference.iter().chain(current).cloned().collect();
    let (mut r, mut c) = shares_per_value(reference, current, all);
    if fill_empty {
        fill_empty_bins(&mut r);
        fill_empty_bins(&mut c);
    }
    (r, c)
}

/// Per distinct value of either sample (in sorted order): its share of each sample.
fn shares_per_value<K: Hash + Eq + Ord + Clone>(reference: &[K], current: &[K], mut keys: Vec<K>) -> (Vec<f64>, Vec<f64>) {
    keys.sort();
    keys.dedup();
    let index: HashMap<&K, usize> = keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let count = |sample: &[K]| {
        let mut n = vec![0usize; keys.len()];
        for k in sample {
            n[index[k]] += 1;
        }
        n.into_iter().map(|c| c as f64 / sample.len() as f64).collect::<Vec<f64>>()
    };
    (count(reference), count(current))
}

/// Sturges' equal-width bin edges over both samples, as NumPy computes them.
pub fn sturges_edges(a: &[f64], b: &[f64]) -> Vec<f64> {
    let all = a.iter().chain(b);
    let (min, max) = all.clone().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    sturges_edges_of(min, max, (a.len() + b.len()) as f64)
}

/// [`sturges_edges`] from what it depends on: the smallest and largest value and the count.
pub fn sturges_edges_of(min: f64, max: f64, n: f64) -> Vec<f64> {
    let width = (max - min) / (n.log2() + 1.0);
    let (first, last) = if min == max { (min - 0.5, max + 0.5) } else { (min, max) };
    let bins = if width > 0.0 { ((last - first) / width).ceil() as usize } else { 1 };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    edges[bins] = last;
    edges
}

/// `numpy.histogram(sample, edges)[0] / len(sample)`.
pub fn histogram(sample: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut sorted = sample.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let below = |e: f64| sorted.partition_point(|&v| v < e);
    let at_most = |e: f64| sorted.partition_point(|&v| v <= e);
    let bins = edges.len() - 1;
    (0..bins)
        .map(|i| {
            let hi = if i + 1 == bins { at_most(edges[i + 1]) } else { below(edges[i + 1]) };
            (hi - below(edges[i])) as f64 / sample.len() as f64
        })
        .collect()
}

/// Evidently's empty-bin rule (see the module documentation).
pub fn fill_empty_bins(shares: &mut [f64]) {
    let smallest = shares.iter().copied().filter(|&s| s != 0.0).fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return;
    }
    let fill = if smallest <= 0.0001 { smallest / 1_000_000.0 } else { 0.0001 };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = fill;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_on_a_hundred_points_makes_eight_bins_that_hold_everything() {
        let a: Vec<f64> = (0..60).map(f64::from).collect();
        let b: Vec<f64> = (0..40).map(|i| f64::from(i) * 1.5).collect();
        let edges = sturges_edges(&a, &b);
        // NumPy: log2(100) + 1 = 7.64 → width 59/7.64, 8 bins.
        assert_eq!(edges.len(), 9);
        assert_eq!((edges[0], edges[8]), (0.0, 59.0));
        let total: f64 = histogram(&a, &edges).iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn few_distinct_values_get_a_bin_each_and_empty_bins_are_filled() {
        let (r, c) = binned_numbers(&[1.0, 1.0, 2.0, -0.0], &[0.0, 3.0], true);
        // keys 0, 1, 2, 3
        assert_eq!(r, vec![0.25, 0.5, 0.25, 0.0001]);
        assert_eq!(c, vec![0.5, 0.0001, 0.0001, 0.5]);
        let (r, _) = binned_categories(&["a", "b"], &["c"], false);
        assert_eq!(r, vec![0.5, 0.5, 0.0]);
    }
}
