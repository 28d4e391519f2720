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

#[cfg(test)]
mod tests {
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
