//! Placing new points in a fitted density clustering, without refitting it.
//!
//! **DBSCAN** ([`DbscanModel`]): a new point joins the cluster of the nearest core point
//! within `eps` (the rule that made the training border points members), else it is noise.
//! Only the core points and their labels are kept.
//!
//! **HDBSCAN** ([`HdbscanModel`]): the `hdbscan` library's `approximate_predict`
//! (`hdbscan/prediction.py`, McInnes & Healy). The new point's `2 · min_samples` nearest
//! training points are found; its core distance is the distance to the one at position
//! `min_samples` (0-based) of that list; its mutual reachability distance to each neighbour is
//! `max(core(neighbour), core(point), d)`, and it attaches to the first neighbour (by raw
//! distance) with the smallest, at `λ = 1 / that distance`. It then sits where that neighbour
//! sits in the condensed tree — or, if it joins later than the neighbour left its cluster
//! (smaller `λ`), in the nearest ancestor cluster that was still alive at `λ`. Its label is
//! that cluster's selected cluster (noise if none), its probability `min(λ, λ_max) / λ_max`
//! with `λ_max` the largest `λ` of the selected cluster's points. Kept: the training points,
//! their core distances, every point's row of the condensed tree (the cluster it fell out of,
//! and when), the cluster tree, and the selected clusters.
//!
//! Both search the training points exhaustively: `O(n · d)` per new point.

use crate::cluster::NOISE;
use crate::neighbors::Metric;
use std::collections::BTreeMap;

/// Where a new point lands: its cluster (or [`NOISE`]), the strength of its membership (0 to
/// 1; HDBSCAN's probability, 1 for a DBSCAN member, 0 for noise) and the distance that
/// decided it (to the nearest core point for DBSCAN; the mutual reachability distance to
/// the neighbour it attaches to for HDBSCAN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub label: i32,
    pub probability: f64,
    pub distance: f64,
}

/// `x` as the training rows were measured: unit length under cosine (`None` for a zero
/// vector, which has no direction).
fn prepared(x: &[f64], metric: Metric) -> Option<Vec<f64>> {
    match metric {
        Metric::Euclidean => Some(x.to_vec()),
        Metric::Cosine => {
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            (norm > 0.0).then(|| x.iter().map(|v| v / norm).collect())
        }
    }
}

/// The metric's distance between a prepared point and a stored row.
fn distance(metric: Metric, x: &[f64], row: &[f32]) -> f64 {
    let sq: f64 = x.iter().zip(row).map(|(a, &b)| (a - f64::from(b)).powi(2)).sum();
    match metric {
        Metric::Euclidean => sq.sqrt(),
        // Unit vectors: ‖a − b‖² = 2 − 2 cos.
        Metric::Cosine => (sq / 2.0).max(0.0),
    }
}

/// A fitted DBSCAN's core points, enough to place new points.
#[derive(Debug, Clone, PartialEq)]
pub struct DbscanModel {
    pub dim: usize,
    pub metric: Metric,
    pub eps: f64,
    /// `cores × dim`, row-major, as measured (unit length under cosine).
    pub core_points: Vec<f32>,
    pub core_labels: Vec<i32>,
}

impl DbscanModel {
    /// The cluster of the nearest core point (the lowest index among equals) if it is within
    /// `eps`, else noise; the distance to that core point either way (infinite for a model
    /// without core points). `None` for a zero vector under cosine.
    pub fn place(&self, x: &[f64]) -> Option<Placement> {
        let x = prepared(x, self.metric)?;
        let mut best: Option<(f64, usize)> = None;
        for (i, row) in self.core_points.chunks(self.dim.max(1)).enumerate() {
            let d = distance(self.metric, &x, row);
            if best.is_none_or(|(b, _)| d < b) {
                best = Some((d, i));
            }
        }
        Some(match best {
            Some((d, i)) if d <= self.eps => Placement { label: self.core_labels[i], probability: 1.0, distance: d },
            Some((d, _)) => Placement { label: NOISE, probability: 0.0, distance: d },
            None => Placement { label: NOISE, probability: 0.0, distance: f64::INFINITY },
        })
    }
}

/// A fitted HDBSCAN's prediction data (the `hdbscan` library's `PredictionData`).
#[derive(Debug, Clone, PartialEq)]
pub struct HdbscanModel {
    pub dim: usize,
    pub metric: Metric,
    pub min_samples: usize,
    /// `n × dim`, row-major, as measured (unit length under cosine).
    pub points: Vec<f32>,
    pub core_distances: Vec<f64>,
    /// Every training point's row of the condensed tree: the cluster it fell out of, and `λ`.
    pub point_parent: Vec<usize>,
    pub point_lambda: Vec<f64>,
    /// The cluster tree: every cluster but the root, with its parent and the `λ` it was born at.
    pub cluster_parent: BTreeMap<usize, (usize, f64)>,
    /// The label of every selected cluster and of the clusters below it.
    pub cluster_label: BTreeMap<usize, i32>,
    /// The largest `λ` of the points of each selected cluster, for it and the clusters below.
    pub max_lambda: BTreeMap<usize, f64>,
    /// The root of the condensed tree (`n`).
    pub root: usize,
}

impl HdbscanModel {
    /// `approximate_predict` of one point. `None` for a zero vector under cosine.
    pub fn place(&self, x: &[f64]) -> Option<Placement> {
        let x = prepared(x, self.metric)?;
        let n = self.core_distances.len();
        if self.cluster_label.is_empty() || n == 0 {
            return Some(Placement { label: NOISE, probability: 0.0, distance: f64::INFINITY });
        }
        // The 2 · min_samples nearest training points, by raw distance.
        let k = (2 * self.min_samples).min(n);
        let mut near: Vec<(f64, usize)> =
            self.points.chunks(self.dim.max(1)).enumerate().map(|(i, row)| (distance(self.metric, &x, row), i)).collect();
        if k < n {
            near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            near.truncate(k);
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let own_core = near[self.min_samples.min(near.len() - 1)].0;
        // The first neighbour with the smallest mutual reachability distance.
        let (mut reach, mut neighbour) = (f64::INFINITY, near[0].1);
        for &(d, i) in &near {
            let m = d.max(own_core).max(self.core_distances[i]);
            if m < reach {
                (reach, neighbour) = (m, i);
            }
        }
        let lambda = if reach > 0.0 { 1.0 / reach } else { f64::MAX };
        // Where the neighbour sits, or the nearest ancestor still alive at λ.
        let mut cluster = self.point_parent[neighbour];
        if self.point_lambda[neighbour] > lambda {
            while cluster > self.root {
                match self.cluster_parent.get(&cluster) {
                    Some(&(parent, born)) if born >= lambda => cluster = parent,
                    _ => break,
                }
            }
        }
        let Some(&label) = self.cluster_label.get(&cluster) else {
            return Some(Placement { label: NOISE, probability: 0.0, distance: reach });
        };
        let max_lambda = self.max_lambda.get(&cluster).copied().unwrap_or(0.0);
        let probability = if max_lambda > 0.0 { lambda.min(max_lambda) / max_lambda } else { 1.0 };
        Some(Placement { label, probability, distance: reach })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbscan_places_within_eps_of_a_core_point_else_noise() {
        let m =
            DbscanModel { dim: 2, metric: Metric::Euclidean, eps: 1.0, core_points: vec![0.0, 0.0, 10.0, 0.0], core_labels: vec![0, 1] };
        assert_eq!(m.place(&[0.5, 0.0]).unwrap(), Placement { label: 0, probability: 1.0, distance: 0.5 });
        assert_eq!(m.place(&[9.2, 0.0]).unwrap().label, 1);
        assert_eq!(m.place(&[5.0, 0.0]).unwrap().label, NOISE);
        let c = DbscanModel { metric: Metric::Cosine, ..m };
        assert!(c.place(&[0.0, 0.0]).is_none());
    }

    /// Two tight groups of 20 on a line: a point near a group joins it, one far from both is
    /// noise, and a training point lands in its own cluster with its own probability.
    #[test]
    fn hdbscan_places_near_points_in_their_group_and_far_ones_nowhere() {
        use crate::cluster::hdbscan;
        let mut data = vec![];
        for i in 0..20 {
            data.extend([(i as f32) * 0.01, 0.0]);
        }
        for i in 0..20 {
            data.extend([10.0 + (i as f32) * 0.013, 0.0]);
        }
        let x = crate::Matrix::new(&data, 40, 2).unwrap();
        let p = hdbscan::Params { min_cluster_size: 5, ..hdbscan::Params::default() };
        let (fit, model) = hdbscan::fit_model(&x, &p, &mut crate::Exec::new(1, &mut |_| {})).unwrap();
        assert_eq!(fit.n_clusters(), 2);
        assert_eq!(model.place(&[0.05, 0.0]).unwrap().label, fit.labels[0]);
        assert_eq!(model.place(&[10.1, 0.0]).unwrap().label, fit.labels[39]);
        let far = model.place(&[5.0, 40.0]).unwrap();
        assert!(far.probability < 0.01, "{far:?}");
        let own = model.place(&[0.1, 0.0]).unwrap();
        assert_eq!(own.label, fit.labels[10]);
        assert!(own.probability > 0.0 && own.probability <= 1.0);
    }
}
