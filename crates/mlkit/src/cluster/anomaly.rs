//! How unusual a new point is for the cluster it falls in: its distance to the centroid,
//! placed within the distances of that cluster's training points.
//!
//! A fitted model keeps, per cluster, 101 quantiles of the training distances (0 %, 1 %, …,
//! 100 %). The **anomaly score** of a distance `d` is its percentile rank among them, as a
//! fraction: interpolated linearly between neighbouring quantiles, 0 at or below the smallest
//! training distance, 0.5 at the median, 1 at the largest. Beyond the largest it grows on:
//! `1 + (d − q₁₀₀) / (q₁₀₀ − q₅₀)`, one more for every further median-to-maximum span. So 0.99
//! means "farther out than 99 % of the cluster's training points", 1.5 "half a span beyond
//! the farthest of them".

/// The distances of one cluster's training points to its centroid, by their quantiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Quantiles 0 %, 1 %, …, 100 %, non-decreasing.
    pub quantiles: Vec<f64>,
}

impl Profile {
    /// The anomaly score of distance `d` (see the module documentation).
    pub fn score(&self, d: f64) -> f64 {
        let q = &self.quantiles;
        let steps = (q.len() - 1) as f64;
        let (first, last) = (q[0], q[q.len() - 1]);
        if d <= first {
            return 0.0;
        }
        if d > last {
            let median = q[q.len() / 2];
            let span = if last > median { last - median } else { f64::MIN_POSITIVE };
            return 1.0 + (d - last) / span;
        }
        // The last quantile not above d (q[i] ≤ d ≤ q[i+1]).
        let i = q.partition_point(|&v| v <= d).saturating_sub(1).min(q.len() - 2);
        let (lo, hi) = (q[i], q[i + 1]);
        let frac = if hi > lo { (d - lo) / (hi - lo) } else { 1.0 };
        (i as f64 + frac) / steps
    }
}

/// Where scores become anomalies and how severe they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A score at or above this is an anomaly (default 0.99).
    pub anomaly: f64,
    /// Alert severities: below `medium` an anomaly is `low`, then `medium`, `high`, `critical`.
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { anomaly: 0.99, medium: 1.0, high: 1.25, critical: 1.5 }
    }
}

impl Thresholds {
    pub fn is_anomaly(&self, score: f64) -> bool {
        score >= self.anomaly
    }

    /// The prediction log's severity: `normal`, `warning` (an anomaly), `critical`.
    pub fn log_severity(&self, score: f64) -> &'static str {
        if score >= self.critical {
            "critical"
        } else if score >= self.anomaly {
            "warning"
        } else {
            "normal"
        }
    }

    /// An alert's severity (for anomalies): `low`, `medium`, `high`, `critical`.
    pub fn alert_severity(&self, score: f64) -> &'static str {
        if score >= self.critical {
            "critical"
        } else if score >= self.high {
            "high"
        } else if score >= self.medium {
            "medium"
        } else {
            "low"
        }
    }
}

/// How many quantiles a [`Profile`] keeps: 0 %, 1 %, …, 100 %.
pub const QUANTILES: usize = 101;

/// The evenly spaced quantile levels (0, 1/(QUANTILES − 1), …, 1) a profile keeps.
pub fn quantile_levels() -> Vec<f64> {
    (0..QUANTILES).map(|i| i as f64 / (QUANTILES - 1) as f64).collect()
}

/// One cluster's training distances summarised: count, mean, population standard deviation
/// and the quantiles at [`quantile_levels`].
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub quantiles: Vec<f64>,
}

impl Summary {
    /// The summary of `distances` (sorted in place); `None` when there are none. Quantiles
    /// interpolate linearly between order statistics, as NumPy's default and PostgreSQL's
    /// `percentile_cont` do, so a summary computed in SQL is the same.
    pub fn of(distances: &mut [f64]) -> Option<Summary> {
        distances.sort_by(f64::total_cmp);
        let n = distances.len();
        if n == 0 {
            return None;
        }
        let mean = distances.iter().sum::<f64>() / n as f64;
        let std = (distances.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let quantiles = quantile_levels()
            .into_iter()
            .map(|level| {
                let pos = level * (n - 1) as f64;
                let (lo, frac) = (pos.floor() as usize, pos.fract());
                let hi = (lo + 1).min(n - 1);
                distances[lo] + (distances[hi] - distances[lo]) * frac
            })
            .collect();
        Some(Summary { count: n, mean, std, quantiles })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn summaries_interpolate_quantiles_as_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0, 0.01, 0.5, 1]) = [1, 1.03, 2.5, 4]
        let s = Summary::of(&mut [4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.count, s.mean), (4, 2.5));
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.quantiles.len(), QUANTILES);
        assert_eq!((s.quantiles[0], s.quantiles[50], s.quantiles[100]), (1.0, 2.5, 4.0));
        assert!((s.quantiles[1] - 1.03).abs() < 1e-12);
        assert!(Summary::of(&mut []).is_none());
    }

    use super::*;

    #[test]
    fn scores_are_percentile_ranks_inside_and_spans_beyond() {
        let p = Profile { quantiles: (0..=100).map(|i| i as f64 / 10.0).collect() };
        assert_eq!(p.score(0.0), 0.0);
        assert_eq!(p.score(5.0), 0.5);
        assert!((p.score(9.95) - 0.995).abs() < 1e-12);
        assert_eq!(p.score(10.0), 1.0);
        assert_eq!(p.score(15.0), 2.0); // one median-to-max span (5) beyond the max
        let t = Thresholds::default();
        assert_eq!((t.log_severity(0.5), t.log_severity(0.995), t.log_severity(1.6)), ("normal", "warning", "critical"));
        assert_eq!(
            (t.alert_severity(0.995), t.alert_severity(1.1), t.alert_severity(1.3), t.alert_severity(2.0)),
            ("low", "medium", "high", "critical")
        );
    }

    #[test]
    fn a_cluster_of_identical_points_flags_any_distance_beyond_them() {
        let p = Profile { quantiles: vec![0.0; 101] };
        assert_eq!(p.score(0.0), 0.0);
        assert!(p.score(1e-9) > 1.5);
    }
}
