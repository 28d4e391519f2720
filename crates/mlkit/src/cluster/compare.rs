//! How alike two clusterings of the same items are: the pair-counting adjusted Rand index,
//! the information-theoretic scores (mutual information, its normalised and adjusted forms,
//! homogeneity, completeness and V-measure), all from one contingency table, as
//! scikit-learn's `sklearn.metrics.cluster` computes them.
//!
//! The table counts, for every label `i` of the first clustering and `j` of the second, the
//! items labelled `i` by the first and `j` by the second. Every score below is a function of
//! it alone, so two runs of a million items compare as fast as their table is small.
//! Noise (-1) is a label like any other, as it is for scikit-learn.

use crate::drift::special::ln_gamma;
use crate::{Progress, Step};

/// The contingency table of two labellings: `counts[i][j]` items have label `rows[i]` in the
/// first and `columns[j]` in the second; labels sorted, every row and column non-empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Contingency {
    pub rows: Vec<i64>,
    pub columns: Vec<i64>,
    pub counts: Vec<Vec<u64>>,
}

impl Contingency {
    /// The table of `(first label, second label, items)` cells, in any order; cells of the
    /// same pair are added, empty ones ignored.
    pub fn from_cells(cells: &[(i64, i64, u64)]) -> Self {
        let mut rows: Vec<i64> = cells.iter().filter(|c| c.2 > 0).map(|c| c.0).collect();
        let mut columns: Vec<i64> = cells.iter().filter(|c| c.2 > 0).map(|c| c.1).collect();
        rows.sort_unstable();
        rows.dedup();
        columns.sort_unstable();
        columns.dedup();
        let mut counts = vec![vec![0u64; columns.len()]; rows.len()];
        for &(a, b, n) in cells.iter().filter(|c| c.2 > 0) {
            let (i, j) = (rows.binary_search(&a).unwrap_or(0), columns.binary_search(&b).unwrap_or(0));
            counts[i][j] += n;
        }
        Contingency { rows, columns, counts }
    }

    /// The table of two labellings of the same items, item by item.
    pub fn of_labels(first: &[i64], second: &[i64]) -> Self {
        assert_eq!(first.len(), second.len(), "two labellings of the same items");
        let cells: Vec<(i64, i64, u64)> = first.iter().zip(second).map(|(&a, &b)| (a, b, 1)).collect();
        Self::from_cells(&cells)
    }

    /// The number of items.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    fn row_sums(&self) -> Vec<u64> {
        self.counts.iter().map(|r| r.iter().sum()).collect()
    }

    fn column_sums(&self) -> Vec<u64> {
        (0..self.columns.len()).map(|j| self.counts.iter().map(|r| r[j]).sum()).collect()
    }

    fn cells(&self) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
        self.counts.iter().enumerate().flat_map(|(i, r)| r.iter().enumerate().filter(|c| *c.1 > 0).map(move |(j, &n)| (i, j, n)))
    }
}

/// Every score of one comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub adjusted_rand: f64,
    pub adjusted_mutual_info: f64,
    pub normalized_mutual_info: f64,
    pub mutual_info: f64,
    pub homogeneity: f64,
    pub completeness: f64,
    pub v_measure: f64,
}

/// All the scores of `t`, the first labelling taken as the truth (homogeneity: each of the
/// second's clusters holds items of one first label; completeness: the converse).
pub fn agreement(t: &Contingency, progress: &mut dyn Progress) -> Agreement {
    let mi = mutual_info(t);
    let (h_first, h_second) = (entropy(&t.row_sums()), entropy(&t.column_sums()));
    let homogeneity = if h_first == 0.0 { 1.0 } else { mi / h_first };
    let completeness = if h_second == 0.0 { 1.0 } else { mi / h_second };
    let v_measure = if homogeneity + completeness == 0.0 { 0.0 } else { 2.0 * homogeneity * completeness / (homogeneity + completeness) };
    // Both labellings a single label (or none): identical, as scikit-learn scores them.
    let trivial = t.rows.len() == t.columns.len() && t.rows.len() <= 1;
    let mean_entropy = (h_first + h_second) / 2.0;
    let normalized_mutual_info = if trivial {
        1.0
    } else if mi == 0.0 {
        0.0
    } else {
        mi / mean_entropy
    };
    let adjusted_mutual_info = if trivial {
        1.0
    } else {
        let emi = expected_mutual_info(t, progress);
        let d = mean_entropy - emi;
        let d = if d < 0.0 { d.min(-f64::EPSILON) } else { d.max(f64::EPSILON) };
        (mi - emi) / d
    };
    Agreement {
        adjusted_rand: adjusted_rand(t),
        adjusted_mutual_info,
        normalized_mutual_info,
        mutual_info: mi,
        homogeneity,
        completeness,
        v_measure,
    }
}

/// The adjusted Rand index (Hubert and Arabie): the Rand index of agreeing pairs, rescaled so
/// that chance scores 0 and identical clusterings 1; from the pair confusion matrix in exact
/// integers, as `sklearn.metrics.adjusted_rand_score`.
pub fn adjusted_rand(t: &Contingency) -> f64 {
    let n = t.total() as i128;
    let sum_squares: i128 = t.cells().map(|(_, _, c)| (c as i128) * (c as i128)).sum();
    let (rows, columns) = (t.row_sums(), t.column_sums());
    // Pairs together in both, in the first only, in the second only, in neither (each
    // counted twice, as scikit-learn's pair_confusion_matrix counts them).
    let tp = sum_squares - n;
    let second_only: i128 = t.cells().map(|(_, j, c)| c as i128 * columns[j] as i128).sum::<i128>() - sum_squares;
    let first_only: i128 = t.cells().map(|(i, _, c)| c as i128 * rows[i] as i128).sum::<i128>() - sum_squares;
    let tn = n * n - second_only - first_only - sum_squares;
    let (fp, fn_) = (second_only, first_only);
    if fn_ == 0 && fp == 0 {
        return 1.0;
    }
    2.0 * (tp * tn - fn_ * fp) as f64 / ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn)) as f64
}

/// The entropy (natural logarithm) of a labelling with these label sizes.
pub fn entropy(sizes: &[u64]) -> f64 {
    let sizes: Vec<f64> = sizes.iter().filter(|&&s| s > 0).map(|&s| s as f64).collect();
    if sizes.len() <= 1 {
        return 0.0;
    }
    let total: f64 = sizes.iter().sum();
    -sizes.iter().map(|&s| (s / total) * (s.ln() - total.ln())).sum::<f64>()
}

/// The mutual information of the two labellings (natural logarithm), term by term as
/// `sklearn.metrics.mutual_info_score` sums it.
pub fn mutual_info(t: &Contingency) -> f64 {
    let (rows, columns) = (t.row_sums(), t.column_sums());
    if rows.len() == 1 || columns.len() == 1 {
        return 0.0;
    }
    let n = t.total() as f64;
    let (ln_rows, ln_columns) = (rows.iter().sum::<u64>() as f64, columns.iter().sum::<u64>() as f64);
    let (ln_rows, ln_columns) = (ln_rows.ln(), ln_columns.ln());
    let sum: f64 = t
        .cells()
        .map(|(i, j, c)| {
            let c = c as f64;
            let share = c / n;
            let outer = rows[i] as f64 * columns[j] as f64;
            let term = share * (c.ln() - n.ln()) + share * (-outer.ln() + ln_rows + ln_columns);
            if term.abs() < f64::EPSILON {
                0.0
            } else {
                term
            }
        })
        .sum();
    sum.max(0.0)
}

/// The mutual information two labellings of these row and column sizes share by chance,
/// averaged over every pairing (Vinh, Epps and Bailey 2010), summed in log space as
/// scikit-learn's `expected_mutual_information` sums it. Costs one step for every cell and
/// every cell count the sizes allow, `Σᵢⱼ min(aᵢ, bⱼ)`.
pub fn expected_mutual_info(t: &Contingency, progress: &mut dyn Progress) -> f64 {
    let (a, b) = (t.row_sums(), t.column_sums());
    if a.len() == 1 || b.len() == 1 {
        return 0.0;
    }
    let n = t.total();
    let nf = n as f64;
    let max = a.iter().chain(&b).copied().max().unwrap_or(0) as usize;
    let ln_n = nf.ln();
    // ln k! for every count k up to the largest label's size, once; the four factorials of
    // n minus something, once a cell or once a step.
    let ln_fact: Vec<f64> = (0..=max).map(|k| ln_gamma(k as f64 + 1.0)).collect();
    let ln_fact_n = |k: u64| ln_gamma(k as f64 + 1.0);
    let ln_nij: Vec<f64> = (0..=max).map(|k| ln_n + (k.max(1) as f64).ln()).collect();
    let mut emi = 0.0;
    for (i, &ai) in a.iter().enumerate() {
        for &bj in &b {
            let start = 1.max((ai + bj).saturating_sub(n));
            let end = ai.min(bj);
            let (ln_a, ln_b) = ((ai as f64).ln(), (bj as f64).ln());
            let fixed = ln_fact[ai as usize] + ln_fact[bj as usize] + ln_fact_n(n - ai) + ln_fact_n(n - bj) - ln_fact_n(n);
            for nij in start..=end {
                let term2 = ln_nij[nij as usize] - ln_a - ln_b;
                let gln = fixed
                    - ln_fact[nij as usize]
                    - ln_fact[(ai - nij) as usize]
                    - ln_fact[(bj - nij) as usize]
                    - ln_fact_n(n + nij - ai - bj);
                emi += nij as f64 / nf * term2 * gln.exp();
            }
        }
        progress.step(Step::Pass { what: "expected mutual information", done: i + 1, total: a.len() });
    }
    emi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(a: &[i64], b: &[i64]) -> Agreement {
        agreement(&Contingency::of_labels(a, b), &mut |_| {})
    }

    #[test]
    fn identical_clusterings_agree_whatever_their_names() {
        let s = scores(&[0, 0, 1, 1, 2, 2], &[5, 5, 3, 3, -1, -1]);
        for v in [s.adjusted_rand, s.adjusted_mutual_info, s.normalized_mutual_info, s.homogeneity, s.completeness, s.v_measure] {
            assert!((v - 1.0).abs() < 1e-12, "{s:?}");
        }
    }

    #[test]
    fn scores_are_scikit_learns() {
        // scikit-learn 1.9.1: adjusted_rand_score, adjusted_mutual_info_score, normalized_mutual_info_score,
        // homogeneity_completeness_v_measure of these two labellings.
        let a = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
        let b = [0, 0, 1, 1, 1, 2, 2, 2, 0, -1];
        let s = scores(&a, &b);
        let close = |x: f64, y: f64| assert!((x - y).abs() < 1e-12, "{x} != {y}");
        close(s.adjusted_rand, 0.07407407407407407);
        close(s.adjusted_mutual_info, 0.12300591114600623);
        close(s.normalized_mutual_info, 0.42954169878661974);
        close(s.homogeneity, 0.47390691116168715);
        close(s.completeness, 0.3927720022793675);
        close(s.v_measure, 0.4295416987866198);
    }

    #[test]
    fn one_cluster_against_many_is_complete_but_not_homogeneous() {
        let s = scores(&[0, 0, 0, 0], &[0, 1, 2, 3]);
        assert_eq!((s.homogeneity, s.adjusted_rand, s.normalized_mutual_info), (1.0, 0.0, 0.0));
        assert_eq!(s.completeness, 0.0);
        let trivial = scores(&[3, 3, 3], &[1, 1, 1]);
        assert_eq!((trivial.adjusted_rand, trivial.adjusted_mutual_info, trivial.normalized_mutual_info), (1.0, 1.0, 1.0));
    }

    #[test]
    fn the_table_adds_cells_and_sorts_labels() {
        let t = Contingency::from_cells(&[(2, 0, 3), (-1, 0, 1), (2, 0, 2), (0, 7, 0)]);
        assert_eq!(t.rows, vec![-1, 2]);
        assert_eq!(t.columns, vec![0]);
        assert_eq!(t.counts, vec![vec![1], vec![5]]);
        assert_eq!(t.total(), 6);
    }
}
