//! pg_mlkit's algorithms, free of PostgreSQL.
//!
//! Every module takes plain slices (row-major `f32` matrices through [`Matrix`]) and returns
//! plain results or a typed error. Nothing here allocates through PostgreSQL, raises a
//! PostgreSQL error, or checks for interrupts itself: long loops call the caller's
//! [`Progress`] hook between units of work, on the calling thread, and the SQL layer checks
//! for interrupts there. Worker threads spawned here only ever touch their own slices.

pub mod kmeans;
pub mod linalg;
pub mod matrix;
pub mod parallel;
pub mod rng;
pub mod silhouette;

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
    /// A pairwise pass over a block of rows finished.
    Rows { done: usize, total: usize },
}
