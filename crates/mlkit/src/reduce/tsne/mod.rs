//! t-SNE (van der Maaten & Hinton, 2008) as openTSNE runs it (Poličar et al., 2024), with
//! openTSNE's defaults:
//!
//! 1. **Affinities** ([`affinity`]): perplexity-calibrated Gaussians over each point's
//!    `3 · perplexity` nearest neighbours (exact search here, where openTSNE uses Annoy
//!    from 1,000 points), symmetrised and normalised.
//! 2. **Initialisation**: the first principal components, scaled so that the first has
//!    standard deviation 1e-4, plus Gaussian jitter of 1 % of that.
//! 3. **Optimisation**: gradient descent with momentum 0.8 and per-coordinate gains
//!    (+0.2 when the gradient turns, ×0.8 + 0.01 otherwise), steps clipped to norm 5, the
//!    embedding re-centred each step; 250 iterations with `P` exaggerated 12-fold, then 500
//!    without. The learning rate is `n / exaggeration` in each phase.
//! 4. **Repulsion**: Barnes–Hut ([`bh`], θ = 0.5) below 10,000 points or in 3-D, FFT
//!    interpolation ([`fft`]) from 10,000 points in 2-D — openTSNE's `"auto"`.
//!
//! The gradient is openTSNE's, without the constant factor 4 (the learning rate absorbs it):
//! `∂/∂yᵢ = Σⱼ pᵢⱼ qᵢⱼ (yᵢ − yⱼ) − Σⱼ qᵢⱼ² (yᵢ − yⱼ) / Z` with `qᵢⱼ = 1 / (1 + ‖yᵢ − yⱼ‖²)`.
//!
//! 5. **New points** ([`transform`]): placed in a fitted map as openTSNE's `transform`.
//!
//! Determinism: every per-point sum is computed by one thread, and the totals are added in
//! point order, so a seed gives the same coordinates whatever the thread count.
//!
//! Memory: the data's neighbour index, `P` (about `2 · 3 · perplexity` entries a point,
//! 12 bytes each), and a few `n × 2` arrays; for the FFT, grids of `(6 b)²` complex numbers
//! (`b ≤ 1000` boxes a side).

pub mod affinity;
pub mod bh;
pub mod fft;
pub mod transform;

use crate::exec::MemoryLimit;
use crate::neighbors::{self, Index, Metric};
use crate::reduce::pca;
use crate::rng::{normal, Rng};
use crate::{Exec, Matrix, Step};

/// How the repulsive forces are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Barnes–Hut below 10,000 points (or in 3-D), FFT interpolation above.
    Auto,
    BarnesHut,
    Fft,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::BarnesHut => "bh",
            Method::Fft => "fft",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Method::Auto),
            "bh" | "barnes-hut" => Some(Method::BarnesHut),
            "fft" | "interpolation" => Some(Method::Fft),
            _ => None,
        }
    }
}

/// What to compute (openTSNE's defaults in [`Params::default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub n_components: usize,
    pub perplexity: f64,
    pub metric: Metric,
    /// `None`: `n / exaggeration` in each phase.
    pub learning_rate: Option<f64>,
    pub early_exaggeration: f64,
    pub early_exaggeration_iter: usize,
    pub n_iter: usize,
    pub momentum: f64,
    pub theta: f64,
    pub method: Method,
    pub max_step_norm: f64,
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            n_components: 2,
            perplexity: 30.0,
            metric: Metric::Euclidean,
            learning_rate: None,
            early_exaggeration: 12.0,
            early_exaggeration_iter: 250,
            n_iter: 500,
            momentum: 0.8,
            theta: 0.5,
            method: Method::Auto,
            max_step_norm: 5.0,
            seed: 0,
        }
    }
}

/// Points from which `Method::Auto` interpolates (openTSNE's threshold).
pub const FFT_FROM: usize = 10_000;
/// FFT grid: at least this many boxes a side, and one box per unit of span.
const MIN_INTERVALS: usize = 50;
const INTS_IN_INTERVAL: f64 = 1.0;
/// KL divergence is evaluated every this many iterations (and at the end).
const KL_EVERY: usize = 50;

/// Working memory of a fit on `rows × dim` input with `perplexity`, beyond the input, in bytes:
/// the neighbour index, the sparse affinities (3 × perplexity neighbours a point) and the
/// optimizer's per-point state; the `rows × k` result is the caller's.
pub fn memory_bytes(rows: usize, dim: usize, perplexity: f64) -> usize {
    crate::neighbors::Index::memory_bytes(rows, dim) + rows * (3.0 * perplexity) as usize * 40 + rows * 64
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// `n_components` outside 1..=3 (2 for the FFT method), or more than the data has.
    Components {
        asked: usize,
        max: usize,
    },
    /// A perplexity that is not positive, or not below the number of points.
    Perplexity {
        asked: f64,
        points: usize,
    },
    /// Fewer than 4 points.
    TooFewPoints(usize),
    /// A parameter outside its range (name, value).
    Range(&'static str, f64),
    Neighbors(neighbors::Error),
    Memory(MemoryLimit),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Components { asked, max } => write!(f, "{asked} components asked for, at most {max} possible"),
            Error::Perplexity { asked, points } => write!(f, "perplexity {asked} for {points} points"),
            Error::TooFewPoints(n) => write!(f, "{n} points, fewer than the 4 it needs"),
            Error::Range(name, v) => write!(f, "{name} {v} is out of its range"),
            Error::Neighbors(e) => write!(f, "{e:?}"),
            Error::Memory(m) => write!(f, "{m:?}"),
        }
    }
}

/// A fitted embedding.
#[derive(Debug, Clone)]
pub struct Tsne {
    /// `n × n_components`, row-major.
    pub embedding: Vec<f64>,
    pub n_components: usize,
    /// KL(P ‖ Q) of the final embedding.
    pub kl_divergence: f64,
    /// The method that ran (`bh` or `fft`).
    pub method: Method,
    pub effective_perplexity: f64,
    pub neighbours: usize,
    /// Learning rates of the two phases.
    pub learning_rates: (f64, f64),
}

/// Embeds the rows of `x`.
pub fn fit(x: &Matrix, params: &Params, exec: &mut Exec) -> Result<Tsne, Error> {
    let n = x.rows();
    let c = params.n_components;
    if n < 4 {
        return Err(Error::TooFewPoints(n));
    }
    let method = match params.method {
        Method::Auto if n >= FFT_FROM && c == 2 => Method::Fft,
        Method::Auto => Method::BarnesHut,
        m => m,
    };
    let max_c = if method == Method::Fft { 2 } else { 3 }.min(x.cols());
    // The FFT interpolation is two-dimensional only.
    if c == 0 || c > max_c || (method == Method::Fft && c != 2) {
        return Err(Error::Components { asked: c, max: max_c });
    }
    if params.perplexity.is_nan() || params.perplexity <= 0.0 || params.perplexity >= n as f64 || !params.perplexity.is_finite() {
        return Err(Error::Perplexity { asked: params.perplexity, points: n });
    }
    for (name, v, ok) in [
        ("theta", params.theta, params.theta >= 0.0 && params.theta.is_finite()),
        ("early_exaggeration", params.early_exaggeration, params.early_exaggeration >= 1.0 && params.early_exaggeration.is_finite()),
        ("learning_rate", params.learning_rate.unwrap_or(1.0), params.learning_rate.is_none_or(|l| l > 0.0 && l.is_finite())),
        ("momentum", params.momentum, (0.0..1.0).contains(&params.momentum)),
        ("max_step_norm", params.max_step_norm, params.max_step_norm > 0.0),
    ] {
        if !ok {
            return Err(Error::Range(name, v));
        }
    }
    let perplexity = affinity::effective_perplexity(params.perplexity, n);
    let k = affinity::neighbours_for(perplexity, n);
    exec.reserve(Index::memory_bytes(n, x.cols()) + n * k * 40, "t-SNE neighbour index and affinities").map_err(Error::Memory)?;

    // 1. Affinities.
    let index = Index::new(x, params.metric).map_err(Error::Neighbors)?;
    let mut ids = Vec::with_capacity(n * k);
    let mut dists = Vec::with_capacity(n * k);
    exec.for_chunks(
        "t-SNE nearest neighbours",
        n,
        256,
        |rows| index.knn(rows, k),
        |(i, d)| {
            ids.extend(i);
            dists.extend(d);
        },
    );
    drop(index);
    let cond = affinity::conditional(&dists, k, perplexity, exec);
    let p = affinity::joint(&ids, &cond, n, k);
    drop((ids, dists, cond));

    // 2. Initialisation: PCA, rescaled to std 1e-4 along the first axis, jittered.
    let init = pca::fit(x, &pca::Params { seed: params.seed, ..pca::Params::count(c) }, exec).map_err(|e| match e {
        pca::Error::Memory(m) => Error::Memory(m),
        _ => Error::Components { asked: c, max: max_c },
    })?;
    let mut y = init.transform(x, exec);
    let sd0 = std_of(&y, c, 0);
    let scale = if sd0 > 0.0 { 1e-4 / sd0 } else { 1.0 };
    y.iter_mut().for_each(|v| *v *= scale);
    let jitter = std_of(&y, c, 0) * 0.01;
    let mut rng = Rng::new(params.seed);
    for v in y.iter_mut() {
        *v += jitter * normal(&mut rng);
    }

    // 3. Optimisation.
    let total = params.early_exaggeration_iter + params.n_iter;
    let mut opt = Optimizer::new(n, c, method, params.theta);
    let lr1 = params.learning_rate.unwrap_or(n as f64 / params.early_exaggeration);
    let lr2 = params.learning_rate.unwrap_or(n as f64);
    let mut kl = None;
    for it in 0..total {
        let early = it < params.early_exaggeration_iter;
        let (exaggeration, lr) = if early { (params.early_exaggeration, lr1) } else { (1.0, lr2) };
        let eval = (it + 1) % KL_EVERY == 0;
        let err = opt.step(&mut y, &p, exaggeration, lr, params.momentum, params.max_step_norm, eval, exec);
        if let Some(e) = err {
            kl = Some(e);
        }
        exec.step(Step::Optimize { what: "t-SNE", iteration: it + 1, total, loss: kl });
    }
    let mut force = vec![0.0; n * c];
    let z = opt.repulsion(&y, &mut force, exec);
    let kl_divergence = kl_of(&y, c, &p, 1.0, z, exec);
    Ok(Tsne {
        embedding: y,
        n_components: c,
        kl_divergence,
        method,
        effective_perplexity: perplexity,
        neighbours: k,
        learning_rates: (lr1, lr2),
    })
}

/// Population standard deviation of column `col` of an `n × c` array.
fn std_of(y: &[f64], c: usize, col: usize) -> f64 {
    let n = (y.len() / c).max(1) as f64;
    let mean = y.iter().skip(col).step_by(c).sum::<f64>() / n;
    (y.iter().skip(col).step_by(c).map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// Points per parallel chunk of the force computations (fixed: determinism).
const CHUNK: usize = 512;

/// Gradient descent with momentum and gains, as openTSNE's `gradient_descent`.
struct Optimizer {
    c: usize,
    method: Method,
    theta: f64,
    update: Vec<f64>,
    gains: Vec<f64>,
    plans: fft::Plans,
}

impl Optimizer {
    fn new(n: usize, c: usize, method: Method, theta: f64) -> Self {
        Self { c, method, theta, update: vec![0.0; n * c], gains: vec![1.0; n * c], plans: fft::Plans::default() }
    }

    /// The normalised repulsion into `force`; returns `Z`.
    fn repulsion(&mut self, y: &[f64], force: &mut [f64], exec: &Exec) -> f64 {
        let c = self.c;
        match self.method {
            Method::Fft => fft::repulse(y, force, MIN_INTERVALS, INTS_IN_INTERVAL, &mut self.plans, exec),
            _ => {
                let z = match c {
                    1 => barnes_hut::<1>(y, force, self.theta, exec),
                    2 => barnes_hut::<2>(y, force, self.theta, exec),
                    _ => barnes_hut::<3>(y, force, self.theta, exec),
                };
                force.iter_mut().for_each(|f| *f /= z + f64::EPSILON);
                z
            }
        }
    }

    /// One step; returns the KL divergence of the embedding before the step when `eval`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        y: &mut [f64],
        p: &affinity::Csr,
        exaggeration: f64,
        lr: f64,
        momentum: f64,
        max_step: f64,
        eval: bool,
        exec: &Exec,
    ) -> Option<f64> {
        let c = self.c;
        let n = y.len() / c;
        let mut grad = vec![0.0; n * c];
        let z = self.repulsion(y, &mut grad, exec);
        // Attraction: Σⱼ exaggeration · pᵢⱼ qᵢⱼ (yᵢ − yⱼ).
        match c {
            1 => attract::<1>(y, p, exaggeration, &mut grad, exec),
            2 => attract::<2>(y, p, exaggeration, &mut grad, exec),
            _ => attract::<3>(y, p, exaggeration, &mut grad, exec),
        }
        let kl = eval.then(|| kl_of(y, c, p, exaggeration, z, exec));
        for (((u, g), gain), _) in self.update.iter_mut().zip(&grad).zip(self.gains.iter_mut()).zip(0..) {
            // numpy's sign: a zero update differs in sign from any non-zero gradient.
            if sign(*u) != sign(*g) {
                *gain += 0.2;
            } else {
                *gain = *gain * 0.8 + 0.01;
            }
            *u = momentum * *u - lr * *gain * g;
        }
        for u in self.update.chunks_exact_mut(c) {
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > max_step {
                u.iter_mut().for_each(|v| *v = *v / norm * max_step);
            }
        }
        let mut mean = [0.0f64; 3];
        for (yi, u) in y.chunks_exact_mut(c).zip(self.update.chunks_exact(c)) {
            for t in 0..c {
                yi[t] += u[t];
                mean[t] += yi[t];
            }
        }
        for yi in y.chunks_exact_mut(c) {
            for t in 0..c {
                yi[t] -= mean[t] / n as f64;
            }
        }
        kl
    }
}

/// Adds `Σⱼ exaggeration · pᵢⱼ qᵢⱼ (yᵢ − yⱼ)` to every point's gradient.
fn attract<const D: usize>(y: &[f64], p: &affinity::Csr, exaggeration: f64, grad: &mut [f64], exec: &Exec) {
    exec.quick_map_mut(grad, CHUNK * D, |start, out| {
        for (r, g) in out.chunks_exact_mut(D).enumerate() {
            let i = start / D + r;
            let yi: [f64; D] = std::array::from_fn(|t| y[i * D + t]);
            let (cols, vals) = p.row(i);
            let mut acc = [0.0f64; D];
            for (&j, &pij) in cols.iter().zip(vals) {
                let j = j as usize;
                let mut diff = [0.0f64; D];
                let mut d2 = 0.0;
                for t in 0..D {
                    diff[t] = yi[t] - y[j * D + t];
                    d2 += diff[t] * diff[t];
                }
                let w = pij / (1.0 + d2);
                for t in 0..D {
                    acc[t] += w * diff[t];
                }
            }
            for t in 0..D {
                g[t] += exaggeration * acc[t];
            }
        }
    });
}

/// The unnormalised Barnes–Hut repulsion of every point into `force`; returns `Z`. Points
/// are visited in the tree's leaf order, in fixed chunks, and `Z` summed in that order.
fn barnes_hut<const D: usize>(y: &[f64], force: &mut [f64], theta: f64, exec: &Exec) -> f64 {
    let tree = bh::Tree::<D>::build(y);
    let parts = exec.quick_map(tree.order.len(), CHUNK, |rows| {
        let mut stack = Vec::new();
        let mut z = 0.0;
        let mut f = Vec::with_capacity(rows.len() * D);
        for &i in &tree.order[rows] {
            let i = i as usize;
            let mut fi = [0.0; D];
            z += tree.repulse(&y[i * D..(i + 1) * D], theta, &mut fi, &mut stack);
            f.extend_from_slice(&fi);
        }
        (z, f)
    });
    let mut z = 0.0;
    let mut at = 0;
    for (zp, f) in parts {
        z += zp;
        for fi in f.chunks_exact(D) {
            let i = tree.order[at] as usize;
            force[i * D..(i + 1) * D].copy_from_slice(fi);
            at += 1;
        }
    }
    z
}

fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// KL(P ‖ Q) with `P` exaggerated by `exaggeration`, corrected back as openTSNE reports it.
fn kl_of(y: &[f64], c: usize, p: &affinity::Csr, exaggeration: f64, z: f64, exec: &Exec) -> f64 {
    let n = y.len() / c;
    let parts = exec.quick_map(n, CHUNK, |rows| {
        let (mut kl, mut sum_p) = (0.0, 0.0);
        for i in rows {
            let (cols, vals) = p.row(i);
            for (&j, &pij) in cols.iter().zip(vals) {
                let pij = pij * exaggeration;
                let d2: f64 = (0..c).map(|t| (y[i * c + t] - y[j as usize * c + t]).powi(2)).sum();
                let q = 1.0 / (1.0 + d2);
                kl += pij * ((pij / (q + f64::EPSILON)) + f64::EPSILON).ln();
                sum_p += pij;
            }
        }
        (kl, sum_p)
    });
    let (kl, sum_p) = parts.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let kl = kl + sum_p * (z + f64::EPSILON).ln();
    if exaggeration != 1.0 {
        kl / exaggeration - exaggeration.ln()
    } else {
        kl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn blobs(n: usize, d: usize, centers: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let means: Vec<f64> = (0..centers * d).map(|_| rng.next_f64() * 40.0 - 20.0).collect();
        let mut x = Vec::with_capacity(n * d);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let c = i % centers;
            labels.push(c);
            for t in 0..d {
                x.push((means[c * d + t] + normal(&mut rng)) as f32);
            }
        }
        (x, labels)
    }

    #[test]
    fn separates_blobs_and_is_deterministic_across_threads() {
        let (x, labels) = blobs(600, 10, 4, 1);
        let m = Matrix::new(&x, 600, 10).unwrap();
        let params = Params { n_iter: 200, ..Params::default() };
        let mut none = |_| {};
        let a = fit(&m, &params, &mut Exec::new(1, &mut none)).unwrap();
        let mut none2 = |_| {};
        let b = fit(&m, &params, &mut Exec::new(2, &mut none2)).unwrap();
        assert_eq!(a.embedding, b.embedding, "same seed, same coordinates, whatever the threads");
        // Every point's nearest embedded neighbour is from its own blob.
        let y = &a.embedding;
        for i in 0..600 {
            let nn = (0..600).filter(|&j| j != i).min_by(|&j, &k| {
                let dj = (y[2 * i] - y[2 * j]).powi(2) + (y[2 * i + 1] - y[2 * j + 1]).powi(2);
                let dk = (y[2 * i] - y[2 * k]).powi(2) + (y[2 * i + 1] - y[2 * k + 1]).powi(2);
                dj.total_cmp(&dk)
            });
            assert_eq!(labels[nn.unwrap()], labels[i]);
        }
        assert!(a.kl_divergence > 0.0 && a.kl_divergence < 3.0, "{}", a.kl_divergence);
        assert_eq!(
            fit(&m, &Params { perplexity: 600.0, ..params.clone() }, &mut Exec::new(1, &mut none)).unwrap_err(),
            Error::Perplexity { asked: 600.0, points: 600 }
        );
    }

    #[test]
    fn fft_and_barnes_hut_agree_on_quality() {
        let (x, _) = blobs(800, 8, 5, 2);
        let m = Matrix::new(&x, 800, 8).unwrap();
        let mut none = |_| {};
        let bh = fit(&m, &Params { method: Method::BarnesHut, ..Params::default() }, &mut Exec::new(1, &mut none)).unwrap();
        let ff = fit(&m, &Params { method: Method::Fft, ..Params::default() }, &mut Exec::new(1, &mut none)).unwrap();
        assert!((bh.kl_divergence - ff.kl_divergence).abs() < 0.05 * bh.kl_divergence, "{} vs {}", bh.kl_divergence, ff.kl_divergence);
    }
}
