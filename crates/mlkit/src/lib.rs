//! pg_mlkit's algorithms, free of PostgreSQL.
//!
//! Every module takes plain slices (row-major `f32` matrices through [`Matrix`]) and returns
//! plain results or a typed error. Nothing here allocates through PostgreSQL, raises a
//! PostgreSQL error, or checks for interrupts itself: long loops tell the caller's
//! [`Progress`] hook how far they are, on the calling thread, through the execution context
//! [`Exec`], and the SQL layer checks for interrupts there. Worker threads only ever touch
//! their own slices.
//!
//! | module | what |
//! |---|---|
//! | [`cluster`] | the result every clustering algorithm returns, and the algorithms: |
//! | [`cluster::kmeans`] | K-Means: greedy k-means++ seeding, Lloyd's iterations with Hamerly's bounds |
//! | [`cluster::dbscan`] | DBSCAN, labels as scikit-learn's |
//! | [`cluster::hdbscan`] | HDBSCAN, labels and membership probabilities as scikit-learn's |
//! | [`cluster::metrics`] | silhouette, Davies–Bouldin, Calinski–Harabasz |
//! | [`drift`] | drift statistics equal to SciPy's and Evidently's: Wasserstein, PSI, Jensen–Shannon, χ², z |
//! | [`hash`] | Hamming distance, imagehash's perceptual hashes, duplicate groups |
//! | [`neighbors`] | radius and k-nearest-neighbour search: a k-d tree, or blocked brute force |
//! | [`reduce`] | dimensionality reduction: PCA, t-SNE, UMAP, and trustworthiness |
//! | [`text`] | clusters that name themselves: scikit-learn's tokenizer, BERTopic's c-TF-IDF |
//! | [`plot`] | the SVG scatter of a run |
//! | [`exec`] | threads, progress, cancellation, memory budget |
//! | [`linalg`], [`matrix`], [`rng`] | kernels, the input shape, the seeded generator |

// The numerical kernels index several arrays by one loop variable, as the formulas they follow
// do; an iterator over one of them would hide that.
#![allow(clippy::needless_range_loop)]

pub mod cluster;
pub mod drift;
pub mod exec;
pub mod hash;
pub mod linalg;
pub mod matrix;
pub mod neighbors;
pub mod plot;
pub mod reduce;
pub mod rng;
pub mod text;
pub mod textform;
pub mod vector_formats;

pub use cluster::{dbscan, hdbscan, kmeans, metrics, Clustering};
pub use exec::Exec;
pub use matrix::Matrix;

/// Called by long-running algorithms between units of work, always on the calling thread.
///
/// The PostgreSQL layer uses it to check for query cancel and `statement_timeout` (which
/// unwinds out of the algorithm); a standalone caller can pass `&mut |_| {}`.
pub trait Progress {
    fn step(&mut self, what: Step);
}

impl<F: FnMut(Step)> Progress for F {
    fn step(&mut self, what: Step) {
        self(what)
    }
}

/// What a [`Progress`] hook is told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// K-Means seeding chose `centers` of the wanted centers in restart `init` (0-based).
    Seeding { init: usize, centers: usize },
    /// K-Means restart `init` finished Lloyd iteration `iteration` (1-based), in which
    /// `changed` points changed cluster (all of them in the first).
    Iteration { init: usize, iteration: usize, changed: usize },
    /// An optimisation named `what` (t-SNE, UMAP) finished `iteration` of its `total`
    /// iterations; `loss` is its objective when last evaluated (t-SNE's KL divergence).
    Optimize { what: &'static str, iteration: usize, total: usize, loss: Option<f64> },
    /// A parallel pass named `what` has handled `done` of its `total` rows.
    Pass { what: &'static str, done: usize, total: usize },
}
