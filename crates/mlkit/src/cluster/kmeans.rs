//! K-Means clustering.
//!
//! Given `n` points in `d` dimensions and a number `k`, K-Means looks for `k` centres that
//! minimise the *inertia*: the sum over all points of the squared Euclidean distance to
//! the nearest centre. The problem is NP-hard; the standard answer, used here, is:
//!
//! 1. **k-means++ seeding** (Arthur & Vassilvitskii, 2007) with *greedy local trials*: the
//!    first centre is a uniformly random point; each next one is drawn with probability
//!    proportional to a point's squared distance to the nearest centre chosen so far. Like
//!    scikit-learn, `2 + ⌊ln k⌋` candidates are drawn per step and the one that lowers the
//!    potential most is kept — this matters: plain k-means++ gives visibly worse inertia.
//! 2. **Lloyd's iterations**: assign every point to its nearest centre, move every centre
//!    to the mean of its points, repeat until no label changes, or until the centres move
//!    less than `tol` × (mean per-feature variance) in total squared distance, or
//!    `max_iter` is reached. A cluster left with no points gets one: as in scikit-learn, the
//!    empty clusters take the points farthest from their own centres, one each, farthest
//!    first; unlike scikit-learn, a point that is the only member of its cluster is passed
//!    over (taking it would only empty another cluster), and ties go to the lower index.
//! 3. **Restarts**: the whole fit runs `n_init` times from different seeds and the result
//!    with the lowest inertia wins.
//!
//! The assignment step is the hot loop: `n × k` distances per iteration. The first one is a
//! matrix product (see [`crate::linalg`]) on data centred on its mean (for precision). The
//! later ones use **Hamerly's bounds** (Hamerly, 2010), which give exactly Lloyd's
//! assignments while skipping most distances: each point keeps an upper bound `u` on the
//! distance to its centre and a lower bound `l` on the distance to any other. When centres
//! move by `δ`, `u` grows by its centre's `δ` and `l` shrinks by the largest other `δ`; a
//! point whose `u` stays below `max(l, s)` — `s` being half the distance from its centre to
//! the nearest other centre — cannot change cluster and is not looked at again. Once the
//! clusters settle, almost every point is skipped. The bounds only skip work: every point
//! that is looked at gets the nearest centre by exact distance, so the labels are those of
//! textbook Lloyd's iterations, except where two centres are equally near to within `f32`
//! rounding (a unit test compares label for label). Work is split over the threads of the
//! [`Exec`] by rows. Memory: a centred copy of the data, plus `O(n + threads·k·d)`; see
//! [`memory_bytes`].
//!
//! **Spherical K-Means** (`metric: Cosine`, Dhillon & Modha 2001): the rows are scaled to unit
//! length and the same iterations run, each new centre (the mean of its unit rows) scaled back
//! to unit length, so that the nearest centre by Euclidean distance is the nearest by cosine
//! (`‖x̂ − ĉ‖² = 2 (1 − cos(x, c))`). Distances are reported as cosine distances
//! `1 − cos(x, c)` (pgvector's `<=>` to the stored centroid) and the inertia as their sum, the
//! spherical objective. A zero row has no direction and is refused.
//!
//! Given the same data, parameters and `seed`, the result is bit-for-bit the same whatever
//! the number of threads (see [`crate::exec`]). Across machines it is the same only on CPUs
//! with the same vector units (AVX2 and FMA or not): the kernels add in a different order,
//! so the last bits of distances, and rarely a tied label, can differ.

use crate::cluster::{Clustering, Stat};
use crate::linalg::{self, BLOCK_ROWS};
use crate::neighbors::Metric;
use crate::rng::Rng;
use crate::{Exec, Matrix, Step};

/// Rows per parallel chunk: large enough to amortise the hand-over to a worker, small
/// enough to balance two to sixteen threads on 10⁴–10⁶ rows. Fixed, so that results do not
/// depend on the thread count.
pub const CHUNK_ROWS: usize = 4096;

/// What to fit. `Default` gives scikit-learn's defaults (`n_init = 1`, as its `"auto"` does
/// for k-means++ seeding).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `k`, the number of clusters (≥ 1, ≤ number of points).
    pub n_clusters: usize,
    /// Number of full restarts; the lowest inertia wins (≥ 1).
    pub n_init: usize,
    /// Maximum Lloyd iterations per restart (≥ 1).
    pub max_iter: usize,
    /// Relative tolerance on the total squared centre shift (≥ 0).
    pub tol: f64,
    /// Seed of the random stream; same seed, same result.
    pub seed: u64,
    /// Euclidean (K-Means) or cosine (spherical K-Means).
    pub metric: Metric,
    /// Initial centres (`n_clusters × d`, row-major, in the input's coordinates) instead of
    /// k-means++ seeding, as scikit-learn's `init=ndarray`; every restart then starts from
    /// them. Under cosine they are scaled to unit length first.
    pub init: Option<Vec<f32>>,
}

impl Default for Params {
    fn default() -> Self {
        Self { n_clusters: 8, n_init: 1, max_iter: 300, tol: 1e-4, seed: 0, metric: Metric::Euclidean, init: None }
    }
}

/// Why a fit could not start.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// There are no points.
    NoRows,
    /// `n_clusters` is zero or more than the number of points.
    ClusterCount { n_clusters: usize, n_rows: usize },
    /// `n_init` or `max_iter` is zero.
    ZeroIterations { name: &'static str },
    /// `tol` is negative or not finite.
    Tolerance(f64),
    /// A coordinate is NaN or infinite.
    NotFinite { row: usize, col: usize },
    /// Under the cosine metric, a row is all zeros.
    ZeroVector { row: usize },
    /// The initial centres are not `n_clusters` rows of the data's width of finite numbers
    /// (or, under cosine, one of them is all zeros).
    Init { reason: String },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoRows => write!(f, "there are no points to cluster"),
            Error::ClusterCount { n_clusters, n_rows } => {
                write!(f, "n_clusters must be between 1 and the number of points ({n_rows}), not {n_clusters}")
            }
            Error::ZeroIterations { name } => write!(f, "{name} must be at least 1"),
            Error::Tolerance(t) => write!(f, "tol must be a finite number ≥ 0, not {t}"),
            Error::NotFinite { row, col } => write!(f, "point {row} has a NaN or infinite value at position {col}"),
            Error::ZeroVector { row } => write!(f, "point {row} is a zero vector, which has no cosine distance"),
            Error::Init { reason } => write!(f, "the initial centres {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// A fitted model and what the fit found.
#[derive(Debug, Clone)]
pub struct Fit {
    /// `k × d` centres, row-major, in the input's coordinates.
    pub centroids: Vec<f32>,
    /// Cluster of every point, `0..k`.
    pub labels: Vec<u32>,
    /// Exact Euclidean distance of every point to its centre.
    pub distances: Vec<f32>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// Points per cluster.
    pub sizes: Vec<usize>,
    /// Lloyd iterations of the winning restart.
    pub n_iter: usize,
    /// Whether the winning restart stopped before `max_iter`.
    pub converged: bool,
    /// Which restart won (0-based).
    pub best_init: usize,
}

/// Bytes of working memory [`fit`] allocates for `rows × cols` input (the input itself not
/// counted): the centred copy, norms, labels and distances, one candidate buffer for
/// seeding, per-thread sums and the dot-product blocks; under cosine also the unit-length
/// copy of the rows.
pub fn memory_bytes(rows: usize, cols: usize, n_clusters: usize, threads: usize, metric: Metric) -> usize {
    let trials = local_trials(n_clusters);
    let unit = if metric == Metric::Cosine { rows * cols * 4 } else { 0 };
    unit + rows * cols * 4
        + rows * (4 + 4 + 4 + 4 + 12 + 8)
        + rows * trials * 4
        + threads * crate::exec::WAVE_CHUNKS * (n_clusters * cols * 8 + BLOCK_ROWS * n_clusters.max(trials) * 4)
        + 3 * n_clusters * cols * 4
}

/// Checks the parameters against a data set of `n_rows` points, as [`fit`] does first.
pub fn validate(params: &Params, n_rows: usize) -> Result<(), Error> {
    if n_rows == 0 {
        return Err(Error::NoRows);
    }
    if params.n_clusters == 0 || params.n_clusters > n_rows {
        return Err(Error::ClusterCount { n_clusters: params.n_clusters, n_rows });
    }
    if params.n_init == 0 {
        return Err(Error::ZeroIterations { name: "n_init" });
    }
    if params.max_iter == 0 {
        return Err(Error::ZeroIterations { name: "max_iter" });
    }
    if !(params.tol.is_finite() && params.tol >= 0.0) {
        return Err(Error::Tolerance(params.tol));
    }
    if let Some(init) = &params.init {
        if init.iter().any(|v| !v.is_finite()) {
            return Err(Error::Init { reason: "hold a NaN or infinite value".into() });
        }
        if init.is_empty() || !init.len().is_multiple_of(params.n_clusters) {
            return Err(Error::Init { reason: format!("are {} numbers, not {} rows of equal width", init.len(), params.n_clusters) });
        }
    }
    Ok(())
}

/// Fits K-Means to the rows of `data`. See the module documentation for the method.
pub fn fit(data: &Matrix, params: &Params, exec: &mut Exec) -> Result<Fit, Error> {
    validate(params, data.rows())?;
    if let Some(pos) = data.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(Error::NotFinite { row: pos / data.cols(), col: pos % data.cols() });
    }
    let (n, d, k) = (data.rows(), data.cols(), params.n_clusters);
    let cosine = params.metric == Metric::Cosine;
    let unit;
    let data = if cosine {
        unit = unit_rows(data)?;
        &Matrix::new(&unit, n, d).expect("the input's shape")
    } else {
        data
    };
    let given = match &params.init {
        None => None,
        Some(init) if init.len() != k * d => {
            return Err(Error::Init { reason: format!("are {} wide, but the data is {d} wide", init.len() / k) })
        }
        Some(init) if cosine => {
            let m = Matrix::new(init, k, d).expect("k × d centres");
            Some(unit_rows(&m).map_err(|e| match e {
                Error::ZeroVector { row } => Error::Init { reason: format!("have a zero vector as centre {row}") },
                other => other,
            })?)
        }
        Some(init) => Some(init.clone()),
    };

    // Centre the data: distances do not change, the expansion in the hot loop gets precise.
    let (centred, mean) = centre(data);
    let x = Matrix::new(&centred, n, d).expect("centred copy has the input's shape");
    let x_norms = linalg::sq_norms(&x);
    let tol = params.tol * mean_variance(&x);

    let mut master = Rng::new(params.seed);
    let mut best: Option<(Lloyd, usize)> = None;
    for init in 0..params.n_init {
        let mut rng = Rng::new(master.next_u64());
        let seeds = match &given {
            // In the centred coordinates, as the data.
            Some(c) => c.chunks_exact(d).flat_map(|r| r.iter().zip(&mean).map(|(v, m)| (f64::from(*v) - m) as f32)).collect(),
            None => kmeans_plusplus(&x, k, &mut rng, init, exec),
        };
        let run = lloyd(&x, &x_norms, seeds, params.max_iter, tol, init, cosine.then_some(&mean[..]), exec);
        if best.as_ref().is_none_or(|(b, _)| run.inertia < b.inertia) {
            best = Some((run, init));
        }
    }
    let (run, best_init) = best.expect("n_init ≥ 1 was checked");

    let mut centroids = run.centers;
    for c in centroids.chunks_exact_mut(d) {
        for (v, m) in c.iter_mut().zip(&mean) {
            *v = (*v as f64 + m) as f32;
        }
    }
    let mut sizes = vec![0usize; k];
    for &l in &run.labels {
        sizes[l as usize] += 1;
    }
    // Under cosine, ‖x̂ − ĉ‖² = 2 (1 − cos): half of it is the cosine distance.
    let (distances, inertia) = if cosine {
        (run.sq_dist.iter().map(|v| v / 2.0).collect(), run.inertia / 2.0)
    } else {
        (run.sq_dist.iter().map(|v| v.sqrt()).collect(), run.inertia)
    };
    Ok(Fit { centroids, distances, labels: run.labels, inertia, sizes, n_iter: run.n_iter, converged: run.converged, best_init })
}

impl Fit {
    /// The common result: labels, distances, centroids and what the fit reports.
    pub fn into_clustering(self) -> Clustering {
        Clustering {
            labels: self.labels.iter().map(|&l| l as i32).collect(),
            distances: Some(self.distances),
            centroids: Some(self.centroids),
            stats: vec![
                ("inertia", Stat::Float(self.inertia)),
                ("n_iter", Stat::Int(self.n_iter as i64)),
                ("converged", Stat::Bool(self.converged)),
                ("best_init", Stat::Int(self.best_init as i64)),
            ],
            ..Default::default()
        }
    }
}

/// Nearest centre of every row of `data` among the `centroids` (`k × d`, row-major), and the
/// exact Euclidean distance to it: what a fitted model predicts for new points.
/// `None` when `centroids` is empty or not a whole number of rows of the data's width.
pub fn predict(data: &Matrix, centroids: &[f32], exec: &mut Exec) -> Option<(Vec<u32>, Vec<f32>)> {
    if centroids.is_empty() || !centroids.len().is_multiple_of(data.cols()) {
        return None;
    }
    let c = Matrix::new(centroids, centroids.len() / data.cols(), data.cols())?;
    let norms = linalg::sq_norms(data);
    let mut points = vec![Point::default(); data.rows()];
    assign(data, &norms, &c, exec, &mut points, false);
    let labels = labels_of(&points);
    let dist = exact_sq_distances(data, &c, &labels, exec).into_iter().map(f32::sqrt).collect();
    Some((labels, dist))
}

/// `2 + ⌊ln k⌋`, scikit-learn's number of greedy candidates per seeding step.
fn local_trials(k: usize) -> usize {
    2 + (k.max(1) as f64).ln().floor() as usize
}

/// The rows of `data` scaled to unit Euclidean length; a zero row is an error.
fn unit_rows(data: &Matrix) -> Result<Vec<f32>, Error> {
    let mut out = data.as_slice().to_vec();
    for (row, r) in out.chunks_exact_mut(data.cols().max(1)).enumerate() {
        let norm = r.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(Error::ZeroVector { row });
        }
        r.iter_mut().for_each(|v| *v = (f64::from(*v) / norm) as f32);
    }
    Ok(out)
}

/// Scales a centre (in the centred coordinates, `mean` away from the original ones) to unit
/// length in the original ones: spherical K-Means' step after each mean. False when the mean
/// of the cluster's unit rows is zero (they cancel out, e.g. two opposite rows): it has no
/// direction, and the caller keeps the previous centre.
fn to_unit_sphere(c: &mut [f32], mean: &[f64]) -> bool {
    let norm = c.iter().zip(mean).map(|(v, m)| (f64::from(*v) + m).powi(2)).sum::<f64>().sqrt();
    if norm <= 1e-12 {
        return false;
    }
    for (v, m) in c.iter_mut().zip(mean) {
        *v = ((f64::from(*v) + m) / norm - m) as f32;
    }
    true
}

fn centre(data: &Matrix) -> (Vec<f32>, Vec<f64>) {
    let (n, d) = (data.rows(), data.cols());
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(data.row(i)) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        out.extend(data.row(i).iter().zip(&mean).map(|(v, m)| (*v as f64 - m) as f32));
    }
    (out, mean)
}

/// Mean over features of each feature's variance, for data already centred.
fn mean_variance(x: &Matrix) -> f64 {
    let total: f64 = x.as_slice().iter().map(|v| (*v as f64) * (*v as f64)).sum();
    total / (x.rows() as f64 * x.cols() as f64)
}

/// Greedy k-means++: returns `k × d` initial centres.
fn kmeans_plusplus(x: &Matrix, k: usize, rng: &mut Rng, init: usize, exec: &mut Exec) -> Vec<f32> {
    let (n, d) = (x.rows(), x.cols());
    let trials = local_trials(k);
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend_from_slice(x.row(first));

    // Squared distance of every point to its nearest chosen centre.
    let mut closest = vec![0.0f32; n];
    distances_to(x, &[first], exec, &mut closest);
    let mut potential: f64 = closest.iter().map(|&v| v as f64).sum();
    let mut cumulative = vec![0.0f64; n];
    let mut candidate_dist = vec![0.0f32; n * trials];

    for c in 1..k {
        exec.step(Step::Seeding { init, centers: c });
        let mut acc = 0.0f64;
        for (cum, &v) in cumulative.iter_mut().zip(&closest) {
            acc += v as f64;
            *cum = acc;
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.next_f64() * potential;
                cumulative.partition_point(|&cum| cum < target).min(n - 1)
            })
            .collect();
        // Distance of every point to every candidate, each already lowered to `closest`.
        distances_to(x, &candidates, exec, &mut candidate_dist);
        let mut potentials = vec![0.0f64; trials];
        exec.for_chunks(
            "k-means++ seeding",
            n,
            CHUNK_ROWS,
            |rows| {
                let mut pot = vec![0.0f64; trials];
                for i in rows {
                    for t in 0..trials {
                        pot[t] += candidate_dist[i * trials + t].min(closest[i]) as f64;
                    }
                }
                pot
            },
            |part| potentials.iter_mut().zip(part).for_each(|(a, b)| *a += b),
        );
        let best = (0..trials).min_by(|&a, &b| potentials[a].total_cmp(&potentials[b])).unwrap_or(0);
        potential = potentials[best];
        for (i, cl) in closest.iter_mut().enumerate() {
            *cl = cl.min(candidate_dist[i * trials + best]);
        }
        centers.extend_from_slice(x.row(candidates[best]));
    }
    centers
}

/// Squared distances of every row of `x` to the rows `targets` of `x`, into `out` (`n × targets`).
///
/// Computed directly, not through SGEMM: with a handful of targets, packing the data for a
/// matrix product costs more than the product itself (measured: 3× the kernel's time).
fn distances_to(x: &Matrix, targets: &[usize], exec: &mut Exec, out: &mut [f32]) {
    let t = targets.len();
    let work = |rows: std::ops::Range<usize>, chunk: &mut [f32]| {
        for (i, dst) in rows.zip(chunk.chunks_exact_mut(t)) {
            let row = x.row(i);
            for (o, &target) in dst.iter_mut().zip(targets) {
                *o = linalg::sq_dist(row, x.row(target));
            }
        }
    };
    exec.for_chunks_mut("k-means++ seeding", x.rows(), CHUNK_ROWS, out, t, work, |_| {});
}

/// The state one Lloyd run ends in.
struct Lloyd {
    centers: Vec<f32>,
    labels: Vec<u32>,
    sq_dist: Vec<f32>,
    inertia: f64,
    n_iter: usize,
    converged: bool,
}

/// Per-chunk partial sums of an assignment step, for the new centres.
struct Sums {
    sums: Vec<f64>,
    counts: Vec<usize>,
}

impl Sums {
    fn zero(k: usize, d: usize) -> Self {
        Self { sums: vec![0.0; k * d], counts: vec![0; k] }
    }

    fn add_row(&mut self, cluster: usize, row: &[f32]) {
        self.counts[cluster] += 1;
        let d = row.len();
        for (acc, v) in self.sums[cluster * d..(cluster + 1) * d].iter_mut().zip(row) {
            *acc += *v as f64;
        }
    }

    /// Moves one point's contribution from cluster `from` to cluster `to`.
    fn move_row(&mut self, from: usize, to: usize, row: &[f32]) {
        let d = row.len();
        self.counts[from] -= 1;
        self.counts[to] += 1;
        for (t, &v) in row.iter().enumerate() {
            self.sums[from * d + t] -= v as f64;
            self.sums[to * d + t] += v as f64;
        }
    }

    fn merge(&mut self, other: Sums) {
        self.sums.iter_mut().zip(other.sums).for_each(|(a, b)| *a += b);
        self.counts.iter_mut().zip(other.counts).for_each(|(a, b)| *a += b);
    }
}

/// A point's cluster and Hamerly's bounds (Euclidean, not squared).
#[derive(Debug, Clone, Copy, Default)]
struct Point {
    label: u32,
    /// Upper bound on the distance to the point's own centre.
    upper: f32,
    /// Lower bound on the distance to every other centre.
    lower: f32,
}

fn labels_of(points: &[Point]) -> Vec<u32> {
    points.iter().map(|p| p.label).collect()
}

#[allow(clippy::too_many_arguments)]
fn lloyd(
    x: &Matrix,
    x_norms: &[f32],
    mut centers: Vec<f32>,
    max_iter: usize,
    tol: f64,
    init: usize,
    spherical: Option<&[f64]>,
    exec: &mut Exec,
) -> Lloyd {
    let (n, d) = (x.rows(), x.cols());
    let k = centers.len() / d;
    let mut points = vec![Point::default(); n];
    let mut strict = false;
    let mut iterations = 0;
    let mut shift_small = false;

    // Per-cluster sums of the points, kept up to date as points change cluster.
    let mut totals = Sums::zero(k, d);
    for iteration in 1..=max_iter {
        iterations = iteration;
        let c = Matrix::new(&centers, k, d).expect("k × d centres");
        // Labels by the current centres: all distances the first time, bounds afterwards.
        // `changed` is None the first time: every point got its first label.
        let changed = if iteration == 1 {
            totals = assign(x, x_norms, &c, exec, &mut points, true).expect("sums were asked for");
            None
        } else {
            let changes = hamerly_step(x, &c, exec, &mut points);
            for &(i, from, to) in &changes {
                totals.move_row(from as usize, to as usize, x.row(i as usize));
            }
            Some(changes.len())
        };
        let mut relocated;
        let Sums { sums, counts } = if totals.counts.contains(&0) {
            // Relocation moves this iteration's centres only; the running sums stay exact.
            relocated = Sums { sums: totals.sums.clone(), counts: totals.counts.clone() };
            let labels = labels_of(&points);
            let exact = exact_sq_distances(x, &c, &labels, exec);
            relocate_empty_clusters(x, &labels, &exact, &mut relocated.sums, &mut relocated.counts, d);
            &relocated
        } else {
            &totals
        };

        let mut shift = 0.0f64;
        let mut moved = vec![0.0f32; k];
        let mut new_centers = vec![0.0f32; k * d];
        for j in 0..k {
            let (old, new) = (&centers[j * d..(j + 1) * d], &mut new_centers[j * d..(j + 1) * d]);
            if counts[j] == 0 {
                // Only possible when fewer distinct points than clusters exist: keep the centre.
                new.copy_from_slice(old);
                continue;
            }
            for t in 0..d {
                new[t] = (sums[j * d + t] / counts[j] as f64) as f32;
            }
            if let Some(mean) = spherical {
                if !to_unit_sphere(new, mean) {
                    new.copy_from_slice(old);
                }
            }
            let sq = linalg::sq_dist(old, new);
            moved[j] = sq.sqrt();
            shift += sq as f64;
        }
        centers = new_centers;
        loosen_bounds(&mut points, &moved);
        exec.step(Step::Iteration { init, iteration, changed: changed.unwrap_or(n) });

        if changed == Some(0) {
            // No label changed, so the centres just computed are the ones before: converged.
            strict = true;
            break;
        }
        if shift <= tol {
            shift_small = true;
            break;
        }
    }
    let c = Matrix::new(&centers, k, d).expect("k × d centres");
    if !strict {
        // The last centre update moved the centres: label the points by the final ones.
        hamerly_step(x, &c, exec, &mut points);
    }
    let labels = labels_of(&points);
    let sq_dist = exact_sq_distances(x, &c, &labels, exec);
    let inertia = sq_dist.iter().map(|&v| v as f64).sum();
    Lloyd { centers, labels, sq_dist, inertia, n_iter: iterations, converged: strict || shift_small }
}

/// After the centres moved by `moved`, keeps the bounds valid: `u += δ(own)`,
/// `l -= max δ(other)`.
fn loosen_bounds(points: &mut [Point], moved: &[f32]) {
    let (mut first, mut second, mut arg) = (0.0f32, 0.0f32, usize::MAX);
    for (j, &m) in moved.iter().enumerate() {
        if m > first {
            (second, first, arg) = (first, m, j);
        } else if m > second {
            second = m;
        }
    }
    for p in points {
        p.upper += moved[p.label as usize];
        p.lower -= if p.label as usize == arg { second } else { first };
    }
}

/// Half the distance from every centre to its nearest other centre (infinite for k = 1).
/// `O(k² d)`: with thousands of wide centres this is seconds of work, so it runs in
/// reported chunks like every other pass.
fn half_separation(centers: &Matrix, exec: &mut Exec) -> Vec<f32> {
    let k = centers.rows();
    let mut out = vec![0.0f32; k];
    let work = |rows: std::ops::Range<usize>, chunk: &mut [f32]| {
        for (j, o) in rows.zip(chunk.iter_mut()) {
            *o = (0..k)
                .filter(|&other| other != j)
                .map(|other| linalg::sq_dist(centers.row(j), centers.row(other)).sqrt() / 2.0)
                .fold(f32::INFINITY, f32::min);
        }
    };
    exec.for_chunks_mut("centre-to-centre distances", k, 16, &mut out, 1, work, |_| {});
    out
}

/// One Hamerly assignment: re-examines only the points whose bounds allow a change of
/// cluster. Returns the points that changed, as `(point, old cluster, new cluster)`, in
/// point order.
fn hamerly_step(x: &Matrix, centers: &Matrix, exec: &mut Exec, points: &mut [Point]) -> Vec<(u32, u32, u32)> {
    let half = half_separation(centers, exec);
    let mut changes = Vec::new();
    let work = |rows: std::ops::Range<usize>, chunk: &mut [Point]| {
        let mut changed = Vec::new();
        for (i, p) in rows.zip(chunk.iter_mut()) {
            let a = p.label as usize;
            let m = half[a].max(p.lower);
            if p.upper > m {
                let row = x.row(i);
                p.upper = linalg::sq_dist(row, centers.row(a)).sqrt();
                if p.upper > m {
                    let (best, best_sq, second_sq) = nearest_two(row, centers);
                    if best != a {
                        changed.push((i as u32, a as u32, best as u32));
                        p.label = best as u32;
                    }
                    p.upper = best_sq.sqrt();
                    p.lower = second_sq.sqrt();
                }
            }
        }
        changed
    };
    exec.for_chunks_mut("Lloyd iteration", x.rows(), CHUNK_ROWS, points, 1, work, |part| changes.extend(part));
    changes
}

/// The nearest centre of `row` and the squared distances to the nearest and second nearest.
fn nearest_two(row: &[f32], centers: &Matrix) -> (usize, f32, f32) {
    let (mut best, mut best_sq, mut second_sq) = (0usize, f32::INFINITY, f32::INFINITY);
    for j in 0..centers.rows() {
        let sq = linalg::sq_dist(row, centers.row(j));
        if sq < best_sq {
            (second_sq, best_sq, best) = (best_sq, sq, j);
        } else if sq < second_sq {
            second_sq = sq;
        }
    }
    (best, best_sq, second_sq)
}

/// Labels every row of `x` with its nearest centre, all `n × k` distances through SGEMM,
/// and sets Hamerly's bounds from the nearest and second nearest distances. With
/// `want_sums`, also returns the per-cluster sums and counts.
fn assign(x: &Matrix, x_norms: &[f32], centers: &Matrix, exec: &mut Exec, points: &mut [Point], want_sums: bool) -> Option<Sums> {
    let (n, d, k) = (x.rows(), x.cols(), centers.rows());
    let c_norms = linalg::sq_norms(centers);
    let mut total = want_sums.then(|| Sums::zero(k, d));
    let work = |rows: std::ops::Range<usize>, chunk: &mut [Point]| {
        let mut dots = vec![0.0f32; BLOCK_ROWS * k];
        let mut part = want_sums.then(|| Sums::zero(k, d));
        for start in (rows.start..rows.end).step_by(BLOCK_ROWS) {
            let end = (start + BLOCK_ROWS).min(rows.end);
            let block = x.row_range(start, end);
            let dots = &mut dots[..(end - start) * k];
            linalg::dot_block(&block, centers, dots);
            for (r, row_dots) in dots.chunks_exact(k).enumerate() {
                let i = start + r;
                let (mut best, mut best_val, mut second_val) = (0usize, f32::INFINITY, f32::INFINITY);
                for (j, &dp) in row_dots.iter().enumerate() {
                    let v = c_norms[j] - 2.0 * dp;
                    if v < best_val {
                        (second_val, best_val, best) = (best_val, v, j);
                    } else if v < second_val {
                        second_val = v;
                    }
                }
                chunk[i - rows.start] = Point {
                    label: best as u32,
                    upper: (x_norms[i] + best_val).max(0.0).sqrt(),
                    lower: (x_norms[i] + second_val).max(0.0).sqrt(),
                };
                if let Some(p) = part.as_mut() {
                    p.add_row(best, x.row(i));
                }
            }
        }
        part
    };
    exec.for_chunks_mut("assigning points", n, CHUNK_ROWS, points, 1, work, |part| {
        if let (Some(t), Some(p)) = (total.as_mut(), part) {
            t.merge(p);
        }
    });
    total
}

/// Gives every empty cluster one of the points farthest from their centres, taking that
/// point out of its old cluster's sums: farthest point first (ties: lower index), one point
/// per empty cluster, passing over points that are alone in their cluster. The labels are
/// left as they are; the next assignment step relabels by the moved centres.
fn relocate_empty_clusters(x: &Matrix, labels: &[u32], dist: &[f32], sums: &mut [f64], counts: &mut [usize], d: usize) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&j| counts[j] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let mut empty = empty.into_iter().peekable();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_unstable_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    for far in order {
        let Some(&j) = empty.peek() else { break };
        let old = labels[far] as usize;
        if counts[old] <= 1 {
            continue;
        }
        let row = x.row(far);
        for t in 0..d {
            sums[old * d + t] -= row[t] as f64;
            sums[j * d + t] = row[t] as f64;
        }
        counts[old] -= 1;
        counts[j] = 1;
        empty.next();
    }
}

/// Exact squared distance of every row to its labelled centre.
fn exact_sq_distances(x: &Matrix, centers: &Matrix, labels: &[u32], exec: &mut Exec) -> Vec<f32> {
    let mut out = vec![0.0f32; x.rows()];
    let work = |rows: std::ops::Range<usize>, chunk: &mut [f32]| {
        for (i, o) in rows.zip(chunk.iter_mut()) {
            *o = linalg::sq_dist(x.row(i), centers.row(labels[i] as usize));
        }
    };
    exec.for_chunks_mut("distances to the centres", x.rows(), CHUNK_ROWS, &mut out, 1, work, |_| {});
    out
}

/// One k of a [`sweep`]: its inertia and quality.
#[derive(Debug, Clone)]
pub struct SweepRow {
    pub n_clusters: usize,
    pub inertia: Option<Stat>,
    pub quality: crate::metrics::Quality,
}

/// The outcome of a [`sweep`]: the kept fit, its quality, and every k tried.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub best: Clustering,
    pub quality: crate::metrics::Quality,
    pub rows: Vec<SweepRow>,
}

/// Fits every k of `min..=max` and keeps the one of best silhouette (ties and undefined
/// scores keep the smaller k), each scored on the points `sample` picks from its labels (all
/// points when it returns `None`).
pub fn sweep(
    data: &Matrix,
    params: &Params,
    (min, max): (usize, usize),
    sample: impl Fn(&[i32]) -> Option<Vec<usize>>,
    exec: &mut Exec,
) -> Result<Sweep, Error> {
    let mut rows = Vec::new();
    let mut best: Option<(f64, Clustering, crate::metrics::Quality)> = None;
    for k in min..=max {
        let fit = fit(data, &Params { n_clusters: k, ..params.clone() }, exec)?.into_clustering();
        let picked = sample(&fit.labels);
        let q = crate::metrics::quality(data, &fit.labels, picked.as_deref(), params.metric, exec);
        let inertia = fit.stats.iter().find(|(name, _)| *name == "inertia").map(|(_, s)| s.clone());
        rows.push(SweepRow { n_clusters: k, inertia, quality: q });
        let score = q.silhouette.unwrap_or(f64::NEG_INFINITY);
        if best.as_ref().is_none_or(|(b, _, _)| score > *b) {
            best = Some((score, fit, q));
        }
    }
    let (_, best, quality) = best.ok_or(Error::NoRows)?;
    Ok(Sweep { best, quality, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` points around each of `centres` (each `d` wide), with uniform noise of ±`spread`.
    #[test]
    fn spherical_k_means_is_a_fixed_point_of_the_cosine_objective() {
        // Directions, not positions: rows at very different lengths along 4 directions in 6-D.
        let dirs: [&[f32]; 4] = [
            &[1.0, 0.0, 0.0, 0.2, 0.0, 0.0],
            &[0.0, 1.0, 0.0, 0.0, 0.3, 0.0],
            &[0.0, 0.0, 1.0, 0.0, 0.0, 0.1],
            &[-1.0, -1.0, 0.0, 0.0, 0.0, 1.0],
        ];
        let mut data = blobs(&dirs, 150, 0.25, 5);
        let mut rng = Rng::new(9);
        for r in data.chunks_exact_mut(6) {
            let scale = 0.1 + 50.0 * rng.next_f64() as f32;
            r.iter_mut().for_each(|v| *v *= scale);
        }
        let (n, d, k) = (600, 6, 4);
        let x = Matrix::new(&data, n, d).unwrap();
        let params = Params { n_clusters: k, seed: 2, tol: 0.0, metric: Metric::Cosine, ..Params::default() };
        let fit = fit(&x, &params, &mut Exec::new(2, &mut quiet())).unwrap();
        assert!(fit.converged);
        let cos = |a: &[f32], b: &[f32]| {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            let na: f64 = a.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            dot / (na * nb)
        };
        let centroids: Vec<&[f32]> = fit.centroids.chunks_exact(d).collect();
        let mut objective = 0.0;
        for (i, row) in data.chunks_exact(d).enumerate() {
            // Every row is labelled with its most similar centroid, at the cosine distance reported.
            let best = (0..k).max_by(|&a, &b| cos(row, centroids[a]).total_cmp(&cos(row, centroids[b]))).unwrap();
            assert_eq!(fit.labels[i] as usize, best, "row {i}");
            let dist = 1.0 - cos(row, centroids[best]);
            assert!((f64::from(fit.distances[i]) - dist).abs() < 1e-5, "row {i}: {} vs {dist}", fit.distances[i]);
            objective += dist;
            // The rows of one direction share a cluster.
            assert_eq!(fit.labels[i], fit.labels[i % 4]);
        }
        assert!((fit.inertia - objective).abs() < 1e-4 * objective.max(1.0), "{} vs {objective}", fit.inertia);
        // Each centroid is the unit-length mean of its rows' unit vectors.
        for (j, c) in centroids.iter().enumerate() {
            let norm: f64 = c.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "centroid {j} has length {norm}");
            let mut mean = vec![0.0f64; d];
            for (_, row) in data.chunks_exact(d).enumerate().filter(|(i, _)| fit.labels[*i] as usize == j) {
                let nr: f64 = row.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
                mean.iter_mut().zip(row).for_each(|(m, v)| *m += f64::from(*v) / nr);
            }
            let nm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
            for t in 0..d {
                assert!((mean[t] / nm - f64::from(c[t])).abs() < 1e-5, "centroid {j}");
            }
        }
        // Two opposite rows in one cluster: their mean has no direction, the centre stays a
        // unit vector (the previous one).
        let opposite = [1.0f32, 0.0, -1.0, 0.0];
        let one = Params { n_clusters: 1, ..params.clone() };
        let f = super::fit(&Matrix::new(&opposite, 2, 2).unwrap(), &one, &mut Exec::new(1, &mut quiet())).unwrap();
        let norm: f32 = f.centroids.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{:?}", f.centroids);
        // A zero row has no direction and is refused.
        let mut zero = data.clone();
        zero[6..12].fill(0.0);
        let err = super::fit(&Matrix::new(&zero, n, d).unwrap(), &params, &mut Exec::new(1, &mut quiet())).unwrap_err();
        assert_eq!(err, Error::ZeroVector { row: 1 });
    }

    #[test]
    fn given_initial_centres_replace_seeding() {
        // Two blobs; start from two points of the first blob: Lloyd must still split them,
        // and from the same start every seed gives the same fit.
        let data = blobs(&[&[0.0, 0.0], &[10.0, 10.0]], 100, 1.0, 3);
        let x = Matrix::new(&data, 200, 2).unwrap();
        let init = vec![data[0], data[1], data[4], data[5]];
        let params = Params { n_clusters: 2, tol: 0.0, init: Some(init.clone()), ..Params::default() };
        let a = fit(&x, &params, &mut Exec::new(1, &mut quiet())).unwrap();
        let b = fit(&x, &Params { seed: 99, ..params.clone() }, &mut Exec::new(2, &mut quiet())).unwrap();
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centroids, b.centroids);
        for i in 0..200 {
            assert_eq!(a.labels[i], a.labels[i % 2], "row {i}");
        }
        assert_ne!(a.labels[0], a.labels[1]);
        // Centres of the wrong width, a non-finite centre, and a zero centre under cosine.
        let wide = Params { init: Some(vec![0.0; 6]), ..params.clone() };
        assert!(matches!(fit(&x, &wide, &mut Exec::new(1, &mut quiet())), Err(Error::Init { .. })));
        let nan = Params { init: Some(vec![f32::NAN, 0.0, 1.0, 1.0]), ..params.clone() };
        assert!(matches!(validate(&nan, 200), Err(Error::Init { .. })));
        let zero = Params { init: Some(vec![0.0, 0.0, 1.0, 1.0]), metric: Metric::Cosine, ..params };
        let shifted: Vec<f32> = data.iter().map(|v| v + 20.0).collect();
        let err = fit(&Matrix::new(&shifted, 200, 2).unwrap(), &zero, &mut Exec::new(1, &mut quiet())).unwrap_err();
        assert!(matches!(err, Error::Init { .. }), "{err:?}");
    }

    pub(crate) fn blobs(centres: &[&[f32]], per: usize, spread: f32, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        for _ in 0..per {
            for c in centres {
                out.extend(c.iter().map(|v| v + spread * (2.0 * rng.next_f64() as f32 - 1.0)));
            }
        }
        out
    }

    fn quiet() -> impl FnMut(Step) {
        |_| {}
    }

    #[test]
    fn a_sweep_keeps_the_k_of_best_silhouette() {
        let data = blobs(&[&[0.0, 0.0], &[10.0, 0.0], &[0.0, 10.0]], 100, 0.5, 3);
        let x = Matrix::new(&data, 300, 2).unwrap();
        let p = Params { seed: 1, ..Params::default() };
        let s = sweep(&x, &p, (2, 5), |_| None, &mut Exec::new(1, &mut quiet())).unwrap();
        assert_eq!(s.rows.iter().map(|r| r.n_clusters).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        let best = s.rows.iter().max_by(|a, b| a.quality.silhouette.partial_cmp(&b.quality.silhouette).unwrap()).unwrap();
        assert_eq!(best.n_clusters, 3);
        assert_eq!(s.best.labels.iter().max(), Some(&2));
        assert_eq!(s.quality.silhouette, best.quality.silhouette);
    }

    #[test]
    fn finds_well_separated_blobs() {
        let centres: [&[f32]; 3] = [&[0.0, 0.0], &[10.0, 10.0], &[-10.0, 10.0]];
        let data = blobs(&centres, 100, 1.0, 3);
        let x = Matrix::new(&data, 300, 2).unwrap();
        let fit = fit(&x, &Params { n_clusters: 3, seed: 1, ..Params::default() }, &mut Exec::new(1, &mut quiet())).unwrap();
        assert_eq!(fit.sizes.iter().copied().collect::<std::collections::BTreeSet<_>>().len(), 1);
        assert!(fit.sizes.iter().all(|&s| s == 100));
        // Points generated around the same centre share a label.
        for i in 0..300 {
            assert_eq!(fit.labels[i], fit.labels[i % 3]);
        }
        for c in centres {
            let nearest = fit.centroids.chunks(2).map(|m| linalg::sq_dist(m, c)).fold(f32::INFINITY, f32::min);
            assert!(nearest < 0.1, "no centroid near {c:?}");
        }
        assert!(fit.converged);
        let recomputed: f64 = fit.distances.iter().map(|&v| (v as f64).powi(2)).sum();
        assert!((recomputed - fit.inertia).abs() < 1e-3 * fit.inertia);
    }

    #[test]
    fn same_seed_same_result_other_seed_other_start() {
        let centres: [&[f32]; 4] = [&[0.0, 0.0, 0.0], &[3.0, 0.0, 1.0], &[0.0, 3.0, 2.0], &[3.0, 3.0, 3.0]];
        let data = blobs(&centres, 5000, 2.0, 9);
        let x = Matrix::new(&data, 20_000, 3).unwrap();
        let p = Params { n_clusters: 4, seed: 7, ..Params::default() };
        let a = fit(&x, &p, &mut Exec::new(2, &mut quiet())).unwrap();
        let b = fit(&x, &p, &mut Exec::new(2, &mut quiet())).unwrap();
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centroids, b.centroids);
        assert_eq!(a.inertia, b.inertia);
        // Bit-for-bit the same whatever the thread count.
        for threads in [1, 3] {
            let other = fit(&x, &p, &mut Exec::new(threads, &mut quiet())).unwrap();
            assert_eq!(a.labels, other.labels);
            assert_eq!(a.centroids, other.centroids);
            assert_eq!(a.inertia, other.inertia);
        }
    }

    #[test]
    fn more_restarts_never_worse() {
        let centres: [&[f32]; 5] = [&[0.0, 0.0], &[2.0, 0.0], &[0.0, 2.0], &[2.0, 2.0], &[1.0, 1.0]];
        let data = blobs(&centres, 200, 1.2, 11);
        let x = Matrix::new(&data, 1000, 2).unwrap();
        let one = fit(&x, &Params { n_clusters: 5, n_init: 1, seed: 5, ..Params::default() }, &mut Exec::new(1, &mut quiet())).unwrap();
        let ten = fit(&x, &Params { n_clusters: 5, n_init: 10, seed: 5, ..Params::default() }, &mut Exec::new(1, &mut quiet())).unwrap();
        // Restart 0 of both runs is the same run, so ten restarts can only do as well or better.
        assert!(ten.inertia <= one.inertia);
    }

    #[test]
    fn rejects_bad_input() {
        let data = [0.0f32, 1.0, 2.0, 3.0];
        let x = Matrix::new(&data, 2, 2).unwrap();
        let p = |k| Params { n_clusters: k, ..Params::default() };
        assert_eq!(fit(&x, &p(0), &mut Exec::new(1, &mut quiet())).unwrap_err(), Error::ClusterCount { n_clusters: 0, n_rows: 2 });
        assert_eq!(fit(&x, &p(3), &mut Exec::new(1, &mut quiet())).unwrap_err(), Error::ClusterCount { n_clusters: 3, n_rows: 2 });
        assert_eq!(
            fit(&x, &Params { n_init: 0, ..p(1) }, &mut Exec::new(1, &mut quiet())).unwrap_err(),
            Error::ZeroIterations { name: "n_init" }
        );
        assert_eq!(fit(&x, &Params { tol: -1.0, ..p(1) }, &mut Exec::new(1, &mut quiet())).unwrap_err(), Error::Tolerance(-1.0));
        let nan = [0.0f32, 1.0, f32::NAN, 3.0];
        let x = Matrix::new(&nan, 2, 2).unwrap();
        assert_eq!(fit(&x, &p(1), &mut Exec::new(1, &mut quiet())).unwrap_err(), Error::NotFinite { row: 1, col: 0 });
        let empty: [f32; 0] = [];
        let x = Matrix::new(&empty, 0, 2).unwrap();
        assert_eq!(fit(&x, &p(1), &mut Exec::new(1, &mut quiet())).unwrap_err(), Error::NoRows);
    }

    #[test]
    fn duplicate_points_and_k_equal_n() {
        // Fewer distinct points than clusters: no panic, every point at distance zero.
        let data = [1.0f32, 1.0, 1.0, 1.0, 5.0, 5.0];
        let x = Matrix::new(&data, 3, 2).unwrap();
        let fit = fit(&x, &Params { n_clusters: 3, ..Params::default() }, &mut Exec::new(1, &mut quiet())).unwrap();
        assert_eq!(fit.inertia, 0.0);
        assert_eq!(fit.sizes.iter().sum::<usize>(), 3);
    }

    #[test]
    fn progress_is_reported_on_the_calling_thread() {
        let data = blobs(&[&[0.0], &[5.0]], 3000, 0.5, 2);
        let x = Matrix::new(&data, 6000, 1).unwrap();
        let me = std::thread::current().id();
        let mut steps = 0;
        let mut hook = |_s: Step| {
            assert_eq!(std::thread::current().id(), me);
            steps += 1;
        };
        fit(&x, &Params { n_clusters: 2, ..Params::default() }, &mut Exec::new(2, &mut hook)).unwrap();
        assert!(steps >= 2);
    }

    /// Textbook Lloyd with every distance computed, same stopping rules: the reference the
    /// bounded version must match label for label.
    fn naive_lloyd(x: &Matrix, mut centers: Vec<f32>, max_iter: usize, tol: f64) -> (Vec<u32>, usize) {
        let (n, d) = (x.rows(), x.cols());
        let k = centers.len() / d;
        let nearest = |centers: &[f32], i: usize| {
            (0..k)
                .min_by(|&a, &b| {
                    linalg::sq_dist(x.row(i), &centers[a * d..(a + 1) * d])
                        .total_cmp(&linalg::sq_dist(x.row(i), &centers[b * d..(b + 1) * d]))
                })
                .unwrap() as u32
        };
        let mut old = vec![u32::MAX; n];
        for it in 1..=max_iter {
            let labels: Vec<u32> = (0..n).map(|i| nearest(&centers, i)).collect();
            let mut new = centers.clone();
            let mut shift = 0.0;
            for j in 0..k {
                let members: Vec<usize> = (0..n).filter(|&i| labels[i] == j as u32).collect();
                for t in 0..d {
                    let m = members.iter().map(|&i| x.row(i)[t] as f64).sum::<f64>() / members.len() as f64;
                    shift += (m - centers[j * d + t] as f64).powi(2);
                    new[j * d + t] = m as f32;
                }
            }
            centers = new;
            if labels == old || shift <= tol {
                let final_labels = (0..n).map(|i| nearest(&centers, i)).collect();
                return (final_labels, it);
            }
            old = labels;
        }
        ((0..n).map(|i| nearest(&centers, i)).collect(), max_iter)
    }

    #[test]
    fn bounded_iterations_match_textbook_lloyd() {
        // Overlapping blobs, so that points keep changing cluster for many iterations.
        let centres: [&[f32]; 5] = [&[0.0, 0.0, 0.0], &[2.0, 1.0, 0.0], &[1.0, 2.0, 1.0], &[0.0, 1.0, 2.0], &[2.0, 2.0, 2.0]];
        let data = blobs(&centres, 1200, 1.5, 21);
        let x = Matrix::new(&data, 6000, 3).unwrap();
        let norms = linalg::sq_norms(&x);
        let start: Vec<f32> = [0usize, 1, 2, 3, 4].iter().flat_map(|&i| x.row(i * 7).to_vec()).collect();
        let ours = lloyd(&x, &norms, start.clone(), 300, 0.0, 0, None, &mut Exec::new(2, &mut quiet()));
        let (reference, iterations) = naive_lloyd(&x, start, 300, 0.0);
        assert!(iterations > 5, "the test data should need several iterations, took {iterations}");
        let differing = ours.labels.iter().zip(&reference).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "labels differ from textbook Lloyd for {differing} points");
        assert_eq!(ours.n_iter, iterations);
    }

    #[test]
    fn predict_agrees_with_fit() {
        let data = blobs(&[&[0.0, 0.0], &[8.0, 8.0]], 50, 1.0, 4);
        let x = Matrix::new(&data, 100, 2).unwrap();
        let f = fit(&x, &Params { n_clusters: 2, ..Params::default() }, &mut Exec::new(1, &mut quiet())).unwrap();
        let (labels, dist) = predict(&x, &f.centroids, &mut Exec::new(1, &mut quiet())).unwrap();
        assert!(predict(&x, &f.centroids[..3], &mut Exec::new(1, &mut quiet())).is_none());
        assert_eq!(labels, f.labels);
        for (a, b) in dist.iter().zip(&f.distances) {
            assert!((a - b).abs() < 1e-4);
        }
    }
}
