//! Drift of embedding columns, by Evidently's three methods and their defaults:
//!
//! - **model** (the default): a domain classifier. Reference rows are labelled 1, current
//!   rows 0; a seeded shuffle splits them in halves; a logistic regression learns on one half
//!   to tell the periods apart, and its ROC AUC on the other half is the drift score. Drift
//!   when the AUC exceeds 0.55: the periods are separable. Evidently trains scikit-learn's
//!   `SGDClassifier`; ours is a plain L2-regularised logistic regression by stochastic gradient
//!   descent on standardised components, so scores differ by a few hundredths (0.96 against
//!   0.89 on the digits split by parity) while verdicts agree wherever the periods are not on
//!   the edge of separable.
//! - **distance**: the Euclidean distance between the two mean embeddings; drift above 0.2.
//! - **ratio**: the share of components (coordinates) that drift by the normed Wasserstein
//!   test (≥ 0.1); drift when more than 0.2 of them do.

use super::wasserstein;
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Model,
    Distance,
    Ratio,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Model => "model",
            Method::Distance => "distance",
            Method::Ratio => "ratio",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        [Method::Model, Method::Distance, Method::Ratio].into_iter().find(|m| m.name() == name)
    }

    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Model => 0.55,
            Method::Distance | Method::Ratio => 0.2,
        }
    }
}

/// Embeddings of one period: `rows × dim` values, row-major.
pub struct Embeddings<'a> {
    pub data: &'a [f32],
    pub dim: usize,
}

impl Embeddings<'_> {
    pub fn rows(&self) -> usize {
        self.data.len() / self.dim
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows()).map(|i| f64::from(self.data[i * self.dim + j])).collect()
    }

    fn mean(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.dim];
        for i in 0..self.rows() {
            for (a, &v) in m.iter_mut().zip(self.row(i)) {
                *a += f64::from(v);
            }
        }
        m.iter_mut().for_each(|a| *a /= self.rows() as f64);
        m
    }
}

/// The drift score of `method` (the AUC, the distance or the share).
pub fn score(method: Method, reference: &Embeddings, current: &Embeddings, seed: u64) -> f64 {
    match method {
        Method::Distance => {
            let (a, b) = (reference.mean(), current.mean());
            a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
        }
        Method::Ratio => {
            let drifted = (0..reference.dim)
                .filter(|&j| {
                    let (r, c) = (reference.column(j), current.column(j));
                    let n = r.len() as f64;
                    let mean = r.iter().sum::<f64>() / n;
                    let std = (r.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
                    wasserstein::distance(&r, &c) / std.max(0.001) >= 0.1
                })
                .count();
            drifted as f64 / reference.dim as f64
        }
        Method::Model => domain_classifier_auc(reference, current, seed),
    }
}

/// Whether `score` means drift for `method` at `threshold`.
pub fn drifted(method: Method, score: f64, threshold: f64) -> bool {
    let _ = method;
    score > threshold
}

/// The ROC AUC, on a held-out half, of a logistic regression telling reference rows from
/// current ones.
fn domain_classifier_auc(reference: &Embeddings, current: &Embeddings, seed: u64) -> f64 {
    let dim = reference.dim;
    let rows: Vec<(&[f32], f64)> =
        (0..reference.rows()).map(|i| (reference.row(i), 1.0)).chain((0..current.rows()).map(|i| (current.row(i), 0.0))).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = Rng::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let (train, test) = order.split_at(rows.len() / 2);
    // Standardise with the training half's statistics.
    let mut mean = vec![0.0f64; dim];
    let mut var = vec![0.0f64; dim];
    for &i in train {
        for (m, &v) in mean.iter_mut().zip(rows[i].0) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= train.len().max(1) as f64);
    for &i in train {
        for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(rows[i].0) {
            *s += (f64::from(v) - m).powi(2);
        }
    }
    let scale: Vec<f64> = var.iter().map(|s| 1.0 / (s / train.len().max(1) as f64).sqrt().max(1e-12)).collect();
    let features = |x: &[f32], out: &mut Vec<f64>| {
        out.clear();
        out.extend(x.iter().zip(&mean).zip(&scale).map(|((&v, &m), &s)| (f64::from(v) - m) * s));
    };
    // Logistic regression by SGD: five shuffled epochs, step 0.1/√(1 + epoch), L2 1e-4.
    let (mut w, mut b) = (vec![0.0f64; dim], 0.0f64);
    let mut x = Vec::with_capacity(dim);
    let mut idx = train.to_vec();
    for epoch in 0..5 {
        for i in (1..idx.len()).rev() {
            idx.swap(i, rng.below(i + 1));
        }
        let eta = 0.1 / (1.0 + epoch as f64).sqrt();
        for &i in &idx {
            features(rows[i].0, &mut x);
            let z = b + w.iter().zip(&x).map(|(a, c)| a * c).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let g = p - rows[i].1;
            for (wj, xj) in w.iter_mut().zip(&x) {
                *wj -= eta * (g * xj + 1e-4 * *wj);
            }
            b -= eta * g;
        }
    }
    let mut scored: Vec<(f64, f64)> = test
        .iter()
        .map(|&i| {
            features(rows[i].0, &mut x);
            (b + w.iter().zip(&x).map(|(a, c)| a * c).sum::<f64>(), rows[i].1)
        })
        .collect();
    roc_auc(&mut scored)
}

/// ROC AUC of (score, label ∈ {0, 1}) pairs: the Mann–Whitney statistic with ties averaged.
pub fn roc_auc(scored: &mut [(f64, f64)]) -> f64 {
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut pos) = (0.0, 0.0);
    let mut i = 0;
    while i < scored.len() {
        let mut j = i;
        while j < scored.len() && scored[j].0 == scored[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0;
        for s in &scored[i..j] {
            if s.1 > 0.5 {
                rank_sum += avg_rank;
                pos += 1.0;
            }
        }
        i = j;
    }
    let neg = scored.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: usize, dim: usize, shift: f32, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * dim).map(|_| (rng.next_f64() as f32 - 0.5) + shift).collect()
    }

    #[test]
    fn separable_periods_drift_and_identical_ones_do_not() {
        let (a, b, c) = (blob(400, 8, 0.0, 1), blob(400, 8, 0.0, 2), blob(400, 8, 0.5, 3));
        fn e(d: &[f32]) -> Embeddings<'_> {
            Embeddings { data: d, dim: 8 }
        }
        assert!(score(Method::Model, &e(&a), &e(&b), 42) < 0.55);
        assert!(score(Method::Model, &e(&a), &e(&c), 42) > 0.9);
        assert!(score(Method::Distance, &e(&a), &e(&c), 0) > 1.0);
        assert_eq!(score(Method::Ratio, &e(&a), &e(&c), 0), 1.0);
        assert_eq!(score(Method::Model, &e(&a), &e(&c), 42), score(Method::Model, &e(&a), &e(&c), 42));
    }

    #[test]
    fn auc_counts_ties_as_half() {
        assert_eq!(roc_auc(&mut [(0.1, 0.0), (0.9, 1.0)]), 1.0);
        assert_eq!(roc_auc(&mut [(0.5, 0.0), (0.5, 1.0)]), 0.5);
        assert_eq!(roc_auc(&mut [(0.9, 0.0), (0.1, 1.0)]), 0.0);
    }
}
