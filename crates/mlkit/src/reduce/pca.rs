//! Principal component analysis, as scikit-learn's `PCA` defines it: the data centred on its
//! mean, the components the leading eigenvectors of its covariance (the right singular
//! vectors of the centred data), `explained_variance` the eigenvalues (variance with
//! `n − 1`), each component's sign chosen as scikit-learn's `svd_flip` chooses it (the
//! largest-magnitude coordinate positive), and with `whiten` coordinates divided by the square
//! root of their variance.
//!
//! Two solvers, chosen as scikit-learn's `svd_solver="auto"` chooses (1.5 and later):
//!
//! * **covariance** (scikit-learn's `covariance_eigh`, and what we run for `full`): the
//!   `d × d` covariance, accumulated by SGEMM over blocks of rows (each block's sum in `f32`,
//!   the blocks added in `f64`), then its eigenvectors — all of them by Jacobi for up to 200
//!   features, the leading `k` by subspace iteration otherwise ([`eigen`]; for a variance
//!   share, 32, 64, … of them until they explain it). For `d ≤ 1000` and `n ≥ 10 d`, and whenever a variance share is asked.
//! * **randomized** (Halko, Martinsson & Tropp, 2011; scikit-learn's `randomized_svd`): a
//!   random block of `k + 10` directions, refined by power iterations `Q ← orth(Mᵀ M Q)`
//!   (7 when `k < min(n, d) / 10`, else 4) on the centred data `M`, and a Rayleigh–Ritz
//!   step. It never forms the covariance or the SVD of the data: each iteration is two passes
//!   of `n d (k + 10)` multiply-adds. For wider data when `k < 0.8 min(n, d)`.
//!
//! Memory: the covariance (`8 d²` bytes) or the block (`8 d (k + 10)`), and one `f32`
//! block of 1,024 rows a thread; the data are read in place.

use super::eigen;
use crate::exec::MemoryLimit;
use crate::{Exec, Matrix};

/// How many components to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Components {
    /// Exactly this many.
    Count(usize),
    /// As many as explain more than this share of the variance (0 < share < 1), as
    /// scikit-learn's fractional `n_components`.
    Variance(f64),
}

/// Which decomposition to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    Auto,
    /// From the covariance (scikit-learn's `full` and `covariance_eigh`).
    Covariance,
    Randomized,
}

impl Solver {
    pub fn name(self) -> &'static str {
        match self {
            Solver::Auto => "auto",
            Solver::Covariance => "covariance_eigh",
            Solver::Randomized => "randomized",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Solver::Auto),
            "full" | "covariance_eigh" | "covariance" => Some(Solver::Covariance),
            "randomized" => Some(Solver::Randomized),
            _ => None,
        }
    }
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub components: Components,
    pub whiten: bool,
    pub solver: Solver,
    /// Seeds the randomized solver's starting block (and the subspace iteration's).
    pub seed: u64,
}

impl Params {
    pub fn count(k: usize) -> Self {
        Self { components: Components::Count(k), whiten: false, solver: Solver::Auto, seed: 0 }
    }
}

/// A fitted PCA.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    pub mean: Vec<f64>,
    /// `k × d`, row-major: component `c` is row `c`.
    pub components: Vec<f64>,
    pub explained_variance: Vec<f64>,
    pub explained_variance_ratio: Vec<f64>,
    pub whiten: bool,
    pub dim: usize,
    /// The solver that ran.
    pub solver: Solver,
}

/// Working memory of a fit on `rows × dim` input beyond the input, in bytes: the covariance
/// (`dim × dim` f64) and a block of the projection passes; the `rows × k` result is the caller's.
pub fn memory_bytes(_rows: usize, dim: usize) -> usize {
    8 * dim * dim + 4 * 1024 * dim * 4
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// More components than `min(rows, features)`, or none.
    ComponentCount {
        asked: usize,
        max: usize,
    },
    /// A variance share outside (0, 1), or with the randomized solver.
    VarianceShare(f64),
    /// Fewer than two rows.
    TooFewRows(usize),
    Memory(MemoryLimit),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::ComponentCount { asked, max } => write!(f, "{asked} components asked for, at most {max} possible"),
            Error::VarianceShare(v) => write!(f, "a share of variance of {v} (it must be between 0 and 1, with a full solver)"),
            Error::TooFewRows(n) => write!(f, "{n} rows, fewer than the 2 it needs"),
            Error::Memory(m) => write!(f, "{m:?}"),
        }
    }
}

/// Rows per block of the SGEMM passes (fixed: the sums add up in the same order for any
/// thread count).
const BLOCK: usize = 1024;

impl Pca {
    /// The `k` coordinates of every row of `x` (`rows × k`, row-major).
    pub fn transform(&self, x: &Matrix, exec: &Exec) -> Vec<f64> {
        let k = self.explained_variance.len();
        let d = self.dim;
        let comps: Vec<f32> = self.components.iter().map(|&v| v as f32).collect();
        let Some(cm) = Matrix::new(&comps, k, d) else { return vec![] };
        let scale: Vec<f64> = self.explained_variance.iter().map(|v| if self.whiten && *v > 0.0 { 1.0 / v.sqrt() } else { 1.0 }).collect();
        exec.quick_map(x.rows(), BLOCK, |rows| {
            let block = centred_block(x, &self.mean, rows.clone());
            let bm = Matrix::new(&block, rows.len(), d).expect("a rows × d block");
            let mut out = vec![0.0f32; rows.len() * k];
            crate::linalg::dot_block(&bm, &cm, &mut out);
            out.iter().enumerate().map(|(t, &v)| v as f64 * scale[t % k]).collect::<Vec<f64>>()
        })
        .concat()
    }
}

/// Rows `rows` of `x` minus `mean`, in `f32`.
fn centred_block(x: &Matrix, mean: &[f64], rows: std::ops::Range<usize>) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * x.cols());
    for i in rows {
        out.extend(x.row(i).iter().zip(mean).map(|(&v, m)| (f64::from(v) - m) as f32));
    }
    out
}

/// The transpose of a `rows × cols` row-major block.
fn transposed(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

/// Fits a PCA of `x`.
pub fn fit(x: &Matrix, params: &Params, exec: &mut Exec) -> Result<Pca, Error> {
    let (n, d) = (x.rows(), x.cols());
    if n < 2 {
        return Err(Error::TooFewRows(n));
    }
    let max = n.min(d);
    match params.components {
        Components::Count(k) if k == 0 || k > max => return Err(Error::ComponentCount { asked: k, max }),
        Components::Variance(s) if !(s > 0.0 && s < 1.0) || params.solver == Solver::Randomized => return Err(Error::VarianceShare(s)),
        _ => {}
    }
    let solver = match (params.solver, params.components) {
        (Solver::Auto, Components::Variance(_)) => Solver::Covariance,
        (Solver::Auto, _) if d <= 1000 && n >= 10 * d => Solver::Covariance,
        (Solver::Auto, _) if n.max(d) <= 500 => Solver::Covariance,
        (Solver::Auto, Components::Count(k)) if (k as f64) < 0.8 * max as f64 => Solver::Randomized,
        (Solver::Auto, _) => Solver::Covariance,
        (s, _) => s,
    };
    // The mean, in f64, from per-block sums added in block order.
    let mut mean = vec![0.0f64; d];
    exec.for_chunks(
        "PCA mean",
        n,
        BLOCK,
        |rows| {
            let mut s = vec![0.0f64; d];
            for i in rows {
                s.iter_mut().zip(x.row(i)).for_each(|(a, &v)| *a += f64::from(v));
            }
            s
        },
        |s| mean.iter_mut().zip(s).for_each(|(m, v)| *m += v),
    );
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let (values, vectors, total) = match solver {
        Solver::Randomized => {
            let Components::Count(k) = params.components else { unreachable!("variance shares were refused above") };
            randomized(x, &mean, k, params.seed, exec)?
        }
        _ => covariance_eigen(x, &mean, params.components, params.seed, exec)?,
    };
    let values: Vec<f64> = values.into_iter().map(|v| v.max(0.0)).collect();
    let ratio: Vec<f64> = values.iter().map(|v| if total > 0.0 { v / total } else { 0.0 }).collect();
    let k = match params.components {
        Components::Count(k) => k,
        Components::Variance(share) => {
            // scikit-learn: the number of components whose cumulative ratio first exceeds the share.
            let mut cum = 0.0;
            let mut k = 0;
            for r in &ratio {
                cum += r;
                k += 1;
                if cum > share {
                    break;
                }
            }
            k.min(max)
        }
    };
    let mut comps = vectors[..k * d].to_vec();
    // svd_flip: make the largest-magnitude coordinate of every component positive.
    for c in 0..k {
        let row = &mut comps[c * d..(c + 1) * d];
        let big = row.iter().copied().fold(0.0f64, |acc, v| if v.abs() > acc.abs() { v } else { acc });
        if big < 0.0 {
            row.iter_mut().for_each(|v| *v = -*v);
        }
    }
    Ok(Pca {
        mean,
        components: comps,
        explained_variance: values[..k].to_vec(),
        explained_variance_ratio: ratio[..k].to_vec(),
        whiten: params.whiten,
        dim: d,
        solver,
    })
}

/// Eigenvalues (variances) and eigenvectors of the covariance, and the total variance.
fn covariance_eigen(
    x: &Matrix,
    mean: &[f64],
    components: Components,
    seed: u64,
    exec: &mut Exec,
) -> Result<(Vec<f64>, Vec<f64>, f64), Error> {
    let (n, d) = (x.rows(), x.cols());
    exec.reserve(8 * d * d + 4 * d * d * 2 * exec.threads(), "PCA covariance").map_err(Error::Memory)?;
    let mut cov = vec![0.0f64; d * d];
    exec.for_chunks(
        "PCA covariance",
        n,
        BLOCK,
        |rows| {
            let r = rows.len();
            let bt = transposed(&centred_block(x, mean, rows), r, d);
            let bm = Matrix::new(&bt, d, r).expect("a d × rows block");
            let mut out = vec![0.0f32; d * d];
            crate::linalg::dot_block(&bm, &bm, &mut out);
            out
        },
        |part| cov.iter_mut().zip(part).for_each(|(c, v)| *c += f64::from(v)),
    );
    for a in 0..d {
        for b in 0..a {
            let m = (cov[a * d + b] + cov[b * d + a]) / 2.0 / (n - 1) as f64;
            cov[a * d + b] = m;
            cov[b * d + a] = m;
        }
        cov[a * d + a] /= (n - 1) as f64;
    }
    let total: f64 = (0..d).map(|a| cov[a * d + a]).sum();
    let (values, vectors) = match components {
        _ if d <= 200 => eigen::symmetric(&cov, d),
        Components::Count(k) => eigen::leading(&cov, d, k, (2 * k).max(k + 20), 2000, seed, exec),
        // A share: the leading 32, 64, … eigenpairs until they explain more than it.
        Components::Variance(share) => {
            let mut k = 32.min(d);
            loop {
                let (values, vectors) = eigen::leading(&cov, d, k, (2 * k).max(k + 20), 2000, seed, exec);
                if k == d || values.iter().sum::<f64>() > share * total {
                    break (values, vectors);
                }
                k = (2 * k).min(d);
            }
        }
    };
    Ok((values, vectors, total))
}

/// The leading `k` variances and directions by randomized subspace iteration, and the total variance.
fn randomized(x: &Matrix, mean: &[f64], k: usize, seed: u64, exec: &mut Exec) -> Result<(Vec<f64>, Vec<f64>, f64), Error> {
    let (n, d) = (x.rows(), x.cols());
    let l = (k + 10).min(d);
    exec.reserve(8 * d * l * 4 + 4 * BLOCK * (d + l) * 3 * exec.threads(), "randomized PCA block").map_err(Error::Memory)?;
    let iterations = if (k as f64) < 0.1 * n.min(d) as f64 { 7 } else { 4 };
    let mut rng = crate::rng::Rng::new(seed);
    let mut q: Vec<f64> = (0..l * d).map(|_| crate::rng::normal(&mut rng)).collect();
    eigen::orthonormalize(&mut q, d);
    let mut total = 0.0;
    // One pass: Z = Q Mᵀ M (l × d), from blocks B of M: Y = B Qᵀ, Z += Yᵀ B.
    let pass = |q: &[f64], exec: &mut Exec, total: &mut f64| -> Vec<f64> {
        let qf: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        let qm = Matrix::new(&qf, l, d).expect("an l × d block");
        let mut z = vec![0.0f64; l * d];
        let mut sum_sq = 0.0;
        exec.for_chunks(
            "randomized PCA",
            n,
            BLOCK,
            |rows| {
                let r = rows.len();
                let b = centred_block(x, mean, rows);
                let bm = Matrix::new(&b, r, d).expect("a rows × d block");
                let mut y = vec![0.0f32; r * l];
                crate::linalg::dot_block(&bm, &qm, &mut y);
                let (yt, bt) = (transposed(&y, r, l), transposed(&b, r, d));
                let mut zc = vec![0.0f32; l * d];
                crate::linalg::dot_block(&Matrix::new(&yt, l, r).expect("l × rows"), &Matrix::new(&bt, d, r).expect("d × rows"), &mut zc);
                let ss: f64 = b.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
                (zc, ss)
            },
            |(zc, ss)| {
                z.iter_mut().zip(zc).for_each(|(a, v)| *a += f64::from(v));
                sum_sq += ss;
            },
        );
        *total = sum_sq / (n - 1) as f64;
        z
    };
    for _ in 0..iterations {
        let z = pass(&q, exec, &mut total);
        q = z;
        eigen::orthonormalize(&mut q, d);
    }
    let z = pass(&q, exec, &mut total);
    // Rayleigh–Ritz: T = Z Qᵀ = Q Mᵀ M Qᵀ (l × l); its eigenpairs give σ² and V = Wᵀ Q.
    let mut t = vec![0.0; l * l];
    crate::linalg::dot_block_f64(&z, &q, d, &mut t);
    eigen::symmetrize(&mut t, l);
    let (vals, w) = eigen::symmetric(&t, l);
    let mut vectors = vec![0.0; k * d];
    for r in 0..k {
        for s in 0..l {
            let c = w[r * l + s];
            vectors[r * d..(r + 1) * d].iter_mut().zip(&q[s * d..(s + 1) * d]).for_each(|(v, qs)| *v += c * qs);
        }
    }
    let values = vals[..k].iter().map(|v| v / (n - 1) as f64).collect();
    Ok((values, vectors, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_dominant_direction_and_its_variance() {
        // Points along (3, 4)/5 with small noise across: one component explains nearly all.
        let mut data = vec![];
        for i in 0..200 {
            let t = (i as f64 - 100.0) / 10.0;
            let e = if i % 2 == 0 { 0.01 } else { -0.01 };
            data.push((0.6 * t - 0.8 * e) as f32);
            data.push((0.8 * t + 0.6 * e) as f32);
        }
        let x = Matrix::new(&data, 200, 2).unwrap();
        let mut none = |_| {};
        let mut exec = Exec::new(1, &mut none);
        let p = fit(&x, &Params::count(2), &mut exec).unwrap();
        assert!((p.components[0].abs() - 0.6).abs() < 1e-4 && (p.components[1].abs() - 0.8).abs() < 1e-4, "{p:?}");
        assert!(p.explained_variance_ratio[0] > 0.999);
        assert_eq!(
            fit(&x, &Params { components: Components::Variance(0.99), ..Params::count(1) }, &mut exec).unwrap().explained_variance.len(),
            1
        );
        // Whitened coordinates have unit variance.
        let w = fit(&x, &Params { whiten: true, ..Params::count(1) }, &mut exec).unwrap().transform(&x, &exec);
        let var = w.iter().map(|v| v * v).sum::<f64>() / 199.0;
        assert!((var - 1.0).abs() < 1e-5, "{var}");
        assert_eq!(fit(&x, &Params::count(3), &mut exec).unwrap_err(), Error::ComponentCount { asked: 3, max: 2 });
    }

    /// The randomized solver finds the same leading components as the covariance on data
    /// with a decaying spectrum.
    #[test]
    fn randomized_matches_covariance() {
        let (n, d) = (3000, 300);
        let mut rng = crate::rng::Rng::new(5);
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let z: Vec<f64> = (0..d).map(|_| crate::rng::normal(&mut rng)).collect();
            for j in 0..d {
                // Coordinate j mixes the latent z with a spectrum decaying as 1/(1+j).
                data.push((z[j] * 10.0 / (1.0 + j as f64) + 0.1 * z[(j * 7) % d]) as f32);
            }
        }
        let x = Matrix::new(&data, n, d).unwrap();
        let mut none = |_| {};
        let mut exec = Exec::new(2, &mut none);
        let a = fit(&x, &Params { solver: Solver::Covariance, ..Params::count(5) }, &mut exec).unwrap();
        let b = fit(&x, &Params { solver: Solver::Randomized, ..Params::count(5) }, &mut exec).unwrap();
        for c in 0..5 {
            assert!((a.explained_variance[c] - b.explained_variance[c]).abs() < 1e-4 * a.explained_variance[c]);
            let dot: f64 = (0..d).map(|j| a.components[c * d + j] * b.components[c * d + j]).sum();
            assert!(dot > 1.0 - 1e-6, "component {c}: {dot}");
        }
        assert!((a.explained_variance_ratio[0] - b.explained_variance_ratio[0]).abs() < 1e-5);
    }
}
