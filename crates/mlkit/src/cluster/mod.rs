//! Clustering: the algorithms, their quality measures, and the result every algorithm
//! returns, so that the SQL layer writes runs the same way whatever computed them. Adding an
//! algorithm is a module here that ends in a [`Clustering`].

pub mod anomaly;
pub mod compare;
pub mod dbscan;
pub mod eps;
pub mod hdbscan;
pub mod kmeans;
pub mod lloyd;
pub mod metrics;
pub mod placement;
pub mod summary;

/// Noise, in [`Clustering::labels`].
pub const NOISE: i32 = -1;

/// One value an algorithm reports about its fit (`n_iter`, `inertia`, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Stat {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'static str),
}

/// A clustering of `n` points.
#[derive(Debug, Clone, Default)]
pub struct Clustering {
    /// Cluster of every point, numbered from 0; [`NOISE`] (-1) where the method leaves a
    /// point out.
    pub labels: Vec<i32>,
    /// Euclidean distance of every point to its cluster's centre, for methods with centres.
    pub distances: Option<Vec<f32>>,
    /// Strength of every point's membership in its cluster, 0 to 1 (0 for noise), for
    /// methods that have one.
    pub probabilities: Option<Vec<f64>>,
    /// How much of an outlier every point is, for methods that have a score.
    pub outlier_scores: Option<Vec<f64>>,
    /// The fitted centres, `k × d` row-major, for methods with centres: what a stored model
    /// predicts with.
    pub centroids: Option<Vec<f32>>,
    /// What the fit reports about itself, in the order it reports it.
    pub stats: Vec<(&'static str, Stat)>,
}

impl Clustering {
    /// Number of clusters found (noise not counted).
    pub fn n_clusters(&self) -> usize {
        self.labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize)
    }

    /// Points per cluster, indexed by cluster number.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0usize; self.n_clusters()];
        for &l in &self.labels {
            if l >= 0 {
                sizes[l as usize] += 1;
            }
        }
        sizes
    }

    /// Points labelled noise.
    pub fn noise(&self) -> usize {
        self.labels.iter().filter(|&&l| l == NOISE).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_noise() {
        let c = Clustering { labels: vec![0, 1, -1, 1, 2, -1], ..Default::default() };
        assert_eq!(c.n_clusters(), 3);
        assert_eq!(c.sizes(), vec![1, 2, 1]);
        assert_eq!(c.noise(), 2);
        assert_eq!(Clustering { labels: vec![-1, -1], ..Default::default() }.n_clusters(), 0);
    }
}
