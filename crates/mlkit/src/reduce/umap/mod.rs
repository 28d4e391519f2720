//! UMAP (McInnes, Healy & Melville, 2018) as umap-learn 0.5 runs it, with its defaults:
//!
//! 1. **Neighbours**: each point's `n_neighbors` nearest, itself included (exact search
//!    here; umap-learn switches to NN-descent from 4,096 points).
//! 2. **Fuzzy simplicial set** (`smooth_knn_dist`, `compute_membership_strengths`): per point
//!    `ρ` = the distance to its nearest other point and `σ` by bisection so that
//!    `Σⱼ exp(−max(0, dᵢⱼ − ρ) / σ) = log₂ k`; memberships `exp(−(dᵢⱼ − ρ) / σ)`, made
//!    symmetric by the fuzzy union `A + Aᵀ − A ∘ Aᵀ`; edges below `max / n_epochs` dropped.
//! 3. **Initialisation** (`spectral_layout`): the eigenvectors 2 … `dim + 1` of the
//!    normalised graph Laplacian (subspace iteration, tolerance 1e-4 as umap-learn's `eigsh`);
//!    a disconnected graph is laid out component by component around anchors, as
//!    `multi_component_layout`. Scaled to ±10 with noise of 1e-4, then to `[0, 10]`.
//! 4. **Optimisation** (`optimize_layout_euclidean`): `n_epochs` (500 up to 10,000 points,
//!    200 above) of stochastic gradient descent over the edges, each edge sampled in
//!    proportion to its weight, attracting with `−2ab d^{2(b−1)} / (1 + a d^{2b})` and
//!    repelling 5 random points a sample with `2b / ((0.001 + d²)(1 + a d^{2b}))`, gradients
//!    clipped to ±4, the learning rate falling linearly from 1. `a` and `b` fit
//!    `1 / (1 + a x^{2b})` to the `min_dist`/`spread` curve by least squares, as `find_ab_params`.
//!    One departure: a sample's repulsions are all taken at the point where its attraction
//!    left it and then added (umap-learn moves the point after each), so that they are
//!    independent and run side by side instead of as one chain of dependent steps, which
//!    made the optimisation 1.5–1.7× faster; trustworthiness is unchanged within the
//!    seed-to-seed spread (see `bench/reduction_bench.py`).
//!
//! 5. **New points** ([`transform`]): placed in a fitted map as umap-learn's `transform`.
//!
//! Determinism: the optimisation runs in fixed blocks of vertices with generators seeded per
//! block and epoch (see [`optimize`]), so a seed gives the same coordinates whatever the
//! thread count — which umap-learn achieves only by running single-threaded when given a
//! `random_state`.

use crate::exec::MemoryLimit;
use crate::neighbors::{self, Index, Metric};
use crate::reduce::eigen;
use crate::rng::normal;
use crate::rng::Rng;
use crate::{Exec, Matrix, Step};

pub mod transform;

/// What to compute (umap-learn's defaults in [`Params::default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub n_neighbors: usize,
    pub n_components: usize,
    pub min_dist: f64,
    pub spread: f64,
    pub metric: Metric,
    /// `None`: 500 up to 10,000 points, 200 above.
    pub n_epochs: Option<usize>,
    pub learning_rate: f64,
    pub negative_sample_rate: usize,
    pub repulsion_strength: f64,
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            n_components: 2,
            min_dist: 0.1,
            spread: 1.0,
            metric: Metric::Euclidean,
            n_epochs: None,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            seed: 0,
        }
    }
}

/// Working memory of a fit on `rows × dim` input with `n_neighbors`, beyond the input, in
/// bytes: the neighbour index and the fuzzy graph; the `rows × k` result is the caller's.
pub fn memory_bytes(rows: usize, dim: usize, n_neighbors: usize) -> usize {
    crate::neighbors::Index::memory_bytes(rows, dim) + rows * n_neighbors * 80
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// `n_neighbors` below 2 or not below the number of points.
    Neighbours {
        asked: usize,
        points: usize,
    },
    /// `n_components` 0 or above the data's dimension.
    Components {
        asked: usize,
        max: usize,
    },
    /// A parameter outside its range (name, value).
    Range(&'static str, f64),
    Neighbors(neighbors::Error),
    Memory(MemoryLimit),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Neighbours { asked, points } => write!(f, "n_neighbors {asked} for {points} points"),
            Error::Components { asked, max } => write!(f, "{asked} components asked for, at most {max} possible"),
            Error::Range(name, v) => write!(f, "{name} {v} is out of its range"),
            Error::Neighbors(e) => write!(f, "{e:?}"),
            Error::Memory(m) => write!(f, "{m:?}"),
        }
    }
}

/// A fitted embedding.
#[derive(Debug, Clone)]
pub struct Umap {
    /// `n × n_components`, row-major.
    pub embedding: Vec<f64>,
    pub n_components: usize,
    pub a: f64,
    pub b: f64,
    pub n_epochs: usize,
    /// Connected components of the neighbour graph.
    pub graph_components: usize,
    /// Edges of the symmetrised graph (after pruning).
    pub edges: usize,
}

/// Embeds the rows of `x`.
pub fn fit(x: &Matrix, params: &Params, exec: &mut Exec) -> Result<Umap, Error> {
    let (n, d) = (x.rows(), x.cols());
    let k = params.n_neighbors;
    if k < 2 || k >= n {
        return Err(Error::Neighbours { asked: k, points: n });
    }
    let dim = params.n_components;
    if dim == 0 || dim > d || dim >= n {
        return Err(Error::Components { asked: dim, max: d.min(n - 1) });
    }
    for (name, v, ok) in [
        ("min_dist", params.min_dist, params.min_dist >= 0.0 && params.min_dist.is_finite()),
        ("spread", params.spread, params.spread > 0.0 && params.spread.is_finite()),
        ("min_dist", params.min_dist, params.min_dist <= params.spread),
        ("learning_rate", params.learning_rate, params.learning_rate > 0.0 && params.learning_rate.is_finite()),
        ("repulsion_strength", params.repulsion_strength, params.repulsion_strength >= 0.0 && params.repulsion_strength.is_finite()),
        ("n_epochs", params.n_epochs.unwrap_or(1) as f64, params.n_epochs.is_none_or(|e| (1..=100_000).contains(&e))),
    ] {
        if !ok {
            return Err(Error::Range(name, v));
        }
    }
    exec.reserve(Index::memory_bytes(n, d) + n * k * 64, "UMAP neighbour index and graph").map_err(Error::Memory)?;

    // 1. Neighbours (itself first, at distance 0).
    let index = Index::new(x, params.metric).map_err(Error::Neighbors)?;
    let mut ids = Vec::with_capacity(n * k);
    let mut dists = Vec::with_capacity(n * k);
    exec.for_chunks(
        "UMAP nearest neighbours",
        n,
        256,
        |rows| {
            let start = rows.start;
            let (i, dd) = index.knn(rows.clone(), k - 1);
            let mut oi = Vec::with_capacity(rows.len() * k);
            let mut od = Vec::with_capacity(rows.len() * k);
            for r in 0..rows.len() {
                oi.push((start + r) as u32);
                od.push(0.0);
                oi.extend_from_slice(&i[r * (k - 1)..(r + 1) * (k - 1)]);
                od.extend_from_slice(&dd[r * (k - 1)..(r + 1) * (k - 1)]);
            }
            (oi, od)
        },
        |(i, dd)| {
            ids.extend(i);
            dists.extend(dd);
        },
    );
    drop(index);

    // 2. The fuzzy simplicial set.
    let (rho, sigma) = smooth_knn_dist(&dists, k, true);
    let mut entries: Vec<(u32, u32, f64)> = Vec::with_capacity(n * k);
    for i in 0..n {
        for t in 0..k {
            let j = ids[i * k + t];
            if j as usize == i {
                continue;
            }
            let dd = dists[i * k + t] - rho[i];
            let v = if dd <= 0.0 || sigma[i] == 0.0 { 1.0 } else { (-(dd / sigma[i])).exp() };
            entries.push((i as u32, j, v));
        }
    }
    drop((ids, dists));
    let mut graph = fuzzy_union(entries, n);
    let n_epochs = params.n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 });
    let wmax = graph.iter().map(|e| e.2).fold(0.0, f64::max);
    let cut = if n_epochs > 10 { wmax / n_epochs as f64 } else { wmax / (if n <= 10_000 { 500.0 } else { 200.0 }) };
    graph.retain(|e| e.2 >= cut && e.2 > 0.0);

    // 3. Initialisation.
    let (init, graph_components) = spectral_layout(x, &graph, n, dim, params.seed, exec);
    let mut rng = Rng::new(params.seed);
    let big = init.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let expansion = if big > 0.0 { 10.0 / big } else { 1.0 };
    let mut y: Vec<f64> = init.iter().map(|v| (v * expansion) as f32 as f64 + 1e-4 * normal(&mut rng)).collect();
    for c in 0..dim {
        let (lo, hi) = y.iter().skip(c).step_by(dim).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        y.iter_mut().skip(c).step_by(dim).for_each(|v| *v = 10.0 * (*v - lo) / span);
    }

    // 4. Optimisation.
    let (a, b) = find_ab_params(params.spread, params.min_dist);
    optimize(&mut y, dim, &graph, n_epochs, a, b, params, params.seed, exec);
    Ok(Umap { embedding: y, n_components: dim, a, b, n_epochs, graph_components, edges: graph.len() })
}

/// umap-learn's `smooth_knn_dist` (bandwidth 1): `ρ` and `σ` per point, with local
/// connectivity 1 (`ρ` the distance to the nearest other point) when `connect_nearest`, else 0
/// (`ρ = 0`, as `transform` calls it). The first neighbour of each row is left out of the
/// bisection's sum, as umap-learn's (in a fit it is the point itself).
fn smooth_knn_dist(dists: &[f64], k: usize, connect_nearest: bool) -> (Vec<f64>, Vec<f64>) {
    let n = dists.len() / k;
    let target = (k as f64).log2();
    let mean_all = dists.iter().sum::<f64>() / dists.len() as f64;
    let mut rho = vec![0.0; n];
    let mut sigma = vec![0.0; n];
    for i in 0..n {
        let row = &dists[i * k..(i + 1) * k];
        rho[i] = if connect_nearest { row.iter().copied().find(|&v| v > 0.0).unwrap_or(0.0) } else { 0.0 };
        let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..64 {
            let mut psum = 0.0;
            for &v in &row[1..] {
                let dd = v - rho[i];
                psum += if dd > 0.0 { (-(dd / mid)).exp() } else { 1.0 };
            }
            if (psum - target).abs() < 1e-5 {
                break;
            }
            if psum > target {
                hi = mid;
                mid = (lo + hi) / 2.0;
            } else {
                lo = mid;
                mid = if hi.is_infinite() { mid * 2.0 } else { (lo + hi) / 2.0 };
            }
        }
        let mean_i = row.iter().sum::<f64>() / k as f64;
        sigma[i] = if rho[i] > 0.0 { mid.max(1e-3 * mean_i) } else { mid.max(1e-3 * mean_all) };
    }
    (rho, sigma)
}

/// The fuzzy union `A + Aᵀ − A ∘ Aᵀ` of directed memberships, as edges `(row, col, w)`
/// sorted by row then column (both directions present).
fn fuzzy_union(entries: Vec<(u32, u32, f64)>, n: usize) -> Vec<(u32, u32, f64)> {
    let mut both: Vec<(u32, u32, f64)> = Vec::with_capacity(entries.len() * 2);
    for &(i, j, v) in &entries {
        both.push((i, j, v));
        both.push((j, i, v));
    }
    drop(entries);
    both.sort_unstable_by(|p, q| (p.0, p.1).cmp(&(q.0, q.1)).then(p.2.total_cmp(&q.2)));
    let mut out: Vec<(u32, u32, f64)> = Vec::with_capacity(both.len());
    let mut t = 0;
    while t < both.len() {
        let (i, j, v) = both[t];
        if t + 1 < both.len() && both[t + 1].0 == i && both[t + 1].1 == j {
            let w = both[t + 1].2;
            out.push((i, j, v + w - v * w));
            t += 2;
        } else {
            out.push((i, j, v));
            t += 1;
        }
    }
    debug_assert!(out.iter().all(|e| (e.0 as usize) < n));
    out
}

/// umap-learn's `find_ab_params`: least squares of `1 / (1 + a x^{2b})` against
/// `1` below `min_dist` and `exp(−(x − min_dist) / spread)` above, on 300 points of `[0, 3 spread]`
/// (Levenberg–Marquardt from `a = b = 1`, as SciPy's `curve_fit`).
pub fn find_ab_params(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * spread * i as f64 / 299.0).collect();
    let ys: Vec<f64> = xs.iter().map(|&x| if x < min_dist { 1.0 } else { (-(x - min_dist) / spread).exp() }).collect();
    let cost = |a: f64, b: f64| xs.iter().zip(&ys).map(|(&x, &y)| (1.0 / (1.0 + a * x.powf(2.0 * b)) - y).powi(2)).sum::<f64>();
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut c = cost(a, b);
    for _ in 0..500 {
        // Normal equations of the Gauss–Newton step, damped.
        let (mut jj, mut jr) = ([0.0f64; 3], [0.0f64; 2]);
        for (&x, &y) in xs.iter().zip(&ys) {
            let p = if x > 0.0 { x.powf(2.0 * b) } else { 0.0 };
            let f = 1.0 / (1.0 + a * p);
            let da = -p * f * f;
            let db = if x > 0.0 { -a * p * 2.0 * x.ln() * f * f } else { 0.0 };
            let r = f - y;
            jj[0] += da * da;
            jj[1] += da * db;
            jj[2] += db * db;
            jr[0] += da * r;
            jr[1] += db * r;
        }
        let (m00, m01, m11) = (jj[0] * (1.0 + lambda), jj[1], jj[2] * (1.0 + lambda));
        let det = m00 * m11 - m01 * m01;
        if det.abs() < 1e-300 {
            break;
        }
        let sa = -(m11 * jr[0] - m01 * jr[1]) / det;
        let sb = -(m00 * jr[1] - m01 * jr[0]) / det;
        let nc = cost(a + sa, b + sb);
        if nc < c {
            let done = (c - nc) <= 1e-15 * c.max(1e-300) && sa.abs() < 1e-12 && sb.abs() < 1e-12;
            a += sa;
            b += sb;
            c = nc;
            lambda = (lambda / 10.0).max(1e-12);
            if done {
                break;
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
        }
    }
    (a, b)
}

/// Spectral initialisation, per connected component; returns `n × dim` and the component count.
fn spectral_layout(x: &Matrix, graph: &[(u32, u32, f64)], n: usize, dim: usize, seed: u64, exec: &mut Exec) -> (Vec<f64>, usize) {
    // Connected components by union–find.
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for &(i, j, _) in graph {
        let (a, b) = (find(&mut parent, i as usize), find(&mut parent, j as usize));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut label = vec![usize::MAX; n];
    let mut count = 0;
    for i in 0..n {
        if label[roots[i]] == usize::MAX {
            label[roots[i]] = count;
            count += 1;
        }
    }
    let comp: Vec<usize> = (0..n).map(|i| label[roots[i]]).collect();
    let mut out = vec![0.0; n * dim];
    if count == 1 {
        let all: Vec<usize> = (0..n).collect();
        let e = spectral_of(graph, &all, n, dim, seed, exec);
        out.copy_from_slice(&e);
        return (out, 1);
    }
    // Several components (multi_component_layout): anchors for the components, each laid
    // out within half the distance to its nearest anchor.
    let anchors = component_anchors(x, &comp, count, dim);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &c) in comp.iter().enumerate() {
        members[c].push(i);
    }
    // The components' spectral embeddings: the largest (if it holds most points) here, with
    // every thread on its products; the others at once, one component a task, each on one
    // thread (a cancel is noticed between them).
    let spectral = |m: &[usize]| m.len() > 2 * dim;
    let giant = (0..count).find(|&c| 2 * members[c].len() > n && spectral(&members[c]));
    let mut embedded: Vec<Option<Vec<f64>>> = vec![None; count];
    if let Some(c) = giant {
        embedded[c] = Some(spectral_of(graph, &members[c], n, dim, seed, exec));
    }
    let rest: Vec<usize> = (0..count).filter(|&c| Some(c) != giant && spectral(&members[c])).collect();
    let mut done = Vec::with_capacity(rest.len());
    exec.for_chunks(
        "UMAP spectral initialisation",
        rest.len(),
        1,
        |r| {
            let mut quiet = |_| {};
            let mut one = Exec::new(1, &mut quiet);
            r.map(|t| spectral_of(graph, &members[rest[t]], n, dim, seed, &mut one)).collect::<Vec<_>>()
        },
        |e| done.extend(e),
    );
    for (&c, e) in rest.iter().zip(done) {
        embedded[c] = Some(e);
    }
    let mut rng = Rng::new(seed ^ 0x636f_6d70);
    for (c, m) in members.iter().enumerate() {
        let me = &anchors[c * dim..(c + 1) * dim];
        let range = (0..count)
            .filter(|&o| o != c)
            .map(|o| anchors[o * dim..(o + 1) * dim].iter().zip(me).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt())
            .fold(f64::INFINITY, f64::min)
            / 2.0;
        let local: Vec<f64> = match embedded[c].take() {
            None => (0..m.len() * dim).map(|_| (rng.next_f64() * 2.0 - 1.0) * range).collect(),
            Some(e) => {
                let big = e.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                e.iter().map(|v| if big > 0.0 { v * range / big } else { 0.0 }).collect()
            }
        };
        for (r, &i) in m.iter().enumerate() {
            for t in 0..dim {
                out[i * dim + t] = local[r * dim + t] + me[t];
            }
        }
    }
    (out, count)
}

/// Anchors for `count` components: unit vectors ±eᵢ while there are few (umap-learn's
/// `component_layout`), otherwise the components' centroids on their first principal axes,
/// scaled to ±1.
fn component_anchors(x: &Matrix, comp: &[usize], count: usize, dim: usize) -> Vec<f64> {
    if count <= 2 * dim {
        let mut a = vec![0.0; count * dim];
        for c in 0..count {
            a[c * dim + c % dim] = if c < dim { 1.0 } else { -1.0 };
        }
        return a;
    }
    let d = x.cols();
    let mut cent = vec![0.0f64; count * d];
    let mut size = vec![0usize; count];
    for (i, &c) in comp.iter().enumerate() {
        size[c] += 1;
        cent[c * d..(c + 1) * d].iter_mut().zip(x.row(i)).for_each(|(s, &v)| *s += f64::from(v));
    }
    for c in 0..count {
        cent[c * d..(c + 1) * d].iter_mut().for_each(|v| *v /= size[c] as f64);
    }
    let cf: Vec<f32> = cent.iter().map(|&v| v as f32).collect();
    let m = Matrix::new(&cf, count, d).expect("count × d centroids");
    let mut none = |_| {};
    let mut exec = Exec::new(1, &mut none);
    let coords = match crate::reduce::pca::fit(&m, &crate::reduce::pca::Params::count(dim.min(count.min(d))), &mut exec) {
        Ok(p) => p.transform(&m, &exec),
        Err(_) => vec![0.0; count * dim],
    };
    let kdim = coords.len() / count;
    let big = coords.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut a = vec![0.0; count * dim];
    for c in 0..count {
        for t in 0..kdim.min(dim) {
            a[c * dim + t] = if big > 0.0 { coords[c * kdim + t] / big } else { 0.0 };
        }
    }
    a
}

/// Subspace iterations at most for the spectral initialisation: the layout only seeds the
/// optimisation, which does not need converged eigenvectors (umap-learn's `eigsh` stops at a
/// tolerance of 1e-4, as we do when we get there first).
const SPECTRAL_ITERATIONS: usize = 100;

/// Eigenvectors 2 … dim + 1 of the normalised Laplacian of the subgraph on `members`
/// (`members.len() × dim`): the leading ones of `(I + D^{-1/2} W D^{-1/2}) / 2` once the
/// known first, `D^{1/2} 1`, is projected out.
fn spectral_of(graph: &[(u32, u32, f64)], members: &[usize], n: usize, dim: usize, seed: u64, exec: &mut Exec) -> Vec<f64> {
    let m = members.len();
    let mut local = vec![usize::MAX; n];
    for (r, &i) in members.iter().enumerate() {
        local[i] = r;
    }
    // CSR of the subgraph in local numbering (graph is sorted by row).
    let mut indptr = vec![0usize; m + 1];
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    let mut deg = vec![0.0f64; m];
    let mut row_entries: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m];
    for &(i, j, w) in graph {
        let (a, b) = (local[i as usize], local[j as usize]);
        if a != usize::MAX && b != usize::MAX {
            row_entries[a].push((b, w));
            deg[a] += w;
        }
    }
    for (r, es) in row_entries.iter().enumerate() {
        for &(c, w) in es {
            cols.push(c);
            vals.push(w / (deg[r] * deg[c]).sqrt().max(f64::MIN_POSITIVE));
        }
        indptr[r + 1] = cols.len();
    }
    let norm0 = deg.iter().sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    let v0: Vec<f64> = deg.iter().map(|d| d.sqrt() / norm0).collect();
    let block = (dim + 8).min(m.saturating_sub(1)).max(dim);
    let (_, vecs) = eigen::leading_op(m, dim, block, SPECTRAL_ITERATIONS, 1e-4, seed, exec, |q, out, exec| {
        // One vector of the block per task.
        let mut pairs: Vec<(&[f64], &mut [f64])> = q.chunks_exact(m).zip(out.chunks_exact_mut(m)).collect();
        exec.quick_map_mut(&mut pairs, 1, |_, pair| {
            let (qr, or) = &mut pair[0];
            let proj: f64 = qr.iter().zip(&v0).map(|(a, b)| a * b).sum();
            for r in 0..m {
                let mut s = 0.0;
                for t in indptr[r]..indptr[r + 1] {
                    s += vals[t] * (qr[cols[t]] - proj * v0[cols[t]]);
                }
                let own = qr[r] - proj * v0[r];
                or[r] = 0.5 * (own + s);
            }
            let p2: f64 = or.iter().zip(&v0).map(|(a, b)| a * b).sum();
            or.iter_mut().zip(&v0).for_each(|(o, v)| *o -= p2 * v);
        });
    });
    let mut out = vec![0.0; m * dim];
    for t in 0..dim {
        for r in 0..m {
            out[r * dim + t] = vecs[t * m + r];
        }
    }
    out
}

/// Vertex blocks of the optimisation: fixed, so that the result does not depend on the
/// thread count.
const SGD_BLOCKS: usize = 64;

/// One block of head vertices and the edges that start at them, with their sampling state.
struct Block {
    /// First vertex of the block; its positions are `pos` (`len × dim`).
    first: usize,
    pos: Vec<f32>,
    /// The block's edges (indices into the graph) and their next sampling epochs.
    edges: std::ops::Range<usize>,
    next: Vec<f64>,
    next_neg: Vec<f64>,
}

/// What an epoch's block did to other vertices: `(vertex, move)` pairs, applied after the epoch.
struct Moves {
    vertex: Vec<u32>,
    delta: Vec<f32>,
}

/// The gradient coefficients of umap-learn's `optimize_layout_euclidean`.
struct Kernel {
    a: f32,
    b: f32,
    gamma: f32,
    pow: PowTable,
}

impl Kernel {
    /// Attraction along an edge at squared distance `d2 > 0`: `−2ab d^{2(b−1)} / (1 + a d^{2b})`.
    #[inline(always)]
    fn attract(&self, d2: f32) -> f32 {
        let pb = self.pow.get(d2);
        -2.0 * self.a * self.b * (pb / d2) / (self.a * pb + 1.0)
    }

    /// Repulsion from a negative sample at squared distance `d2 > 0`: `2γb / ((0.001 + d²)(1 + a d^{2b}))`.
    #[inline(always)]
    fn repel(&self, d2: f32) -> f32 {
        2.0 * self.gamma * self.b / ((0.001 + d2) * (self.a * self.pow.get(d2) + 1.0))
    }
}

/// `x^b` for positive `f32` `x` and a fixed `b`, from two small tables: with `x = 2^e · m`,
/// `m ∈ [1, 2)`, it is `2^{eb} · m^b`, the first looked up by `e`, the second interpolated
/// linearly between 256 mantissa steps (relative error at most `|b(b−1)| / 8 · 256⁻²`, below
/// 4e-6 for `b` in (0, 2]).
/// This replaces `powf`, which took a third of the optimisation's time; every sample needs one.
struct PowTable {
    scale: Vec<f32>,
    mantissa: Vec<f32>,
}

impl PowTable {
    const STEPS: usize = 256;

    fn new(b: f32) -> Self {
        let b = f64::from(b);
        let scale = (0..256).map(|e| (((e as f64) - 127.0) * b).exp2().min(f64::from(f32::MAX)) as f32).collect();
        let mantissa = (0..=Self::STEPS).map(|i| (1.0 + i as f64 / Self::STEPS as f64).powf(b) as f32).collect();
        Self { scale, mantissa }
    }

    #[inline(always)]
    fn get(&self, x: f32) -> f32 {
        let bits = x.to_bits();
        let e = ((bits >> 23) & 0xff) as usize;
        let i = ((bits >> 15) & 0xff) as usize;
        let f = (bits & 0x7fff) as f32 * (1.0 / 32768.0);
        let (lo, hi) = (self.mantissa[i], self.mantissa[i + 1]);
        self.scale[e] * (lo + (hi - lo) * f)
    }
}

/// One epoch's shared inputs: the graph, sampling periods, and every vertex as the epoch began.
struct Sweep<'a> {
    graph: &'a [(u32, u32, f64)],
    eps: &'a [f64],
    eps_neg: &'a [f64],
    snapshot: &'a [f32],
    n: usize,
    dim: usize,
    alpha: f32,
    epoch: usize,
    kernel: &'a Kernel,
}

impl Sweep<'_> {
    /// Samples the edges of one block due this epoch: attract the head to the tail, then
    /// repel it from the due number of random vertices. `D` is the dimension when known at
    /// compile time, 0 otherwise.
    fn block<const D: usize>(&self, blk: &mut Block, mut rng: Rng) -> Moves {
        let dim = if D > 0 { D } else { self.dim };
        let (alpha, ep, k_) = (self.alpha, self.epoch as f64, self.kernel);
        let clip = |v: f32| v.clamp(-4.0, 4.0);
        let mut mv = Moves { vertex: Vec::with_capacity(blk.edges.len()), delta: Vec::with_capacity(blk.edges.len() * dim) };
        let mut cur_buf = vec![0.0f32; dim];
        let cur = &mut cur_buf[..dim];
        let mut push_buf = vec![0.0f32; dim];
        let push = &mut push_buf[..dim];
        let (lo, hi) = (blk.first, blk.first + blk.pos.len() / dim);
        for (t_e, e) in blk.edges.clone().enumerate() {
            if blk.next[t_e] > ep {
                continue;
            }
            let (j, k) = (self.graph[e].0 as usize, self.graph[e].1 as usize);
            let own = (j - blk.first) * dim;
            let pos = &blk.pos;
            // Another vertex: as it stands if in this block, else as the epoch began.
            let at = |v: usize| -> &[f32] {
                if v >= lo && v < hi {
                    &pos[(v - lo) * dim..(v - lo + 1) * dim]
                } else {
                    &self.snapshot[v * dim..(v + 1) * dim]
                }
            };
            cur.copy_from_slice(&pos[own..own + dim]);
            let tk = at(k);
            let d2: f32 = cur.iter().zip(tk).map(|(c, t)| (c - t) * (c - t)).sum();
            let coeff = if d2 > 0.0 { k_.attract(d2) } else { 0.0 };
            mv.vertex.push(k as u32);
            for (c, t) in cur.iter_mut().zip(tk) {
                let g = clip(coeff * (*c - t)) * alpha;
                *c += g;
                mv.delta.push(-g);
            }
            blk.next[t_e] += self.eps[e];
            let negatives = ((ep - blk.next_neg[t_e]) / self.eps_neg[e]).max(0.0) as usize;
            // The repulsions are all taken at the position the attraction left (umap-learn moves
            // the point between them): independent of each other, they run side by side.
            push.iter_mut().for_each(|p| *p = 0.0);
            for _ in 0..negatives {
                let k = rng.below(self.n);
                let tk = at(k);
                let d2: f32 = cur.iter().zip(tk).map(|(c, t)| (c - t) * (c - t)).sum();
                if d2 > 0.0 {
                    let coeff = k_.repel(d2);
                    for ((p, c), t) in push.iter_mut().zip(cur.iter()).zip(tk) {
                        *p += clip(coeff * (c - t)) * alpha;
                    }
                }
            }
            cur.iter_mut().zip(push.iter()).for_each(|(c, p)| *c += p);
            blk.pos[own..own + dim].copy_from_slice(cur);
            blk.next_neg[t_e] += negatives as f64 * self.eps_neg[e];
        }
        mv
    }
}

/// Stochastic gradient descent over the edges, as umap-learn's `optimize_layout_euclidean`, in
/// `f32` as umap-learn's (its embedding is `float32`).
///
/// Parallel and still deterministic: the head vertices are cut into [`SGD_BLOCKS`] fixed
/// blocks that run at once. Within an epoch a block moves its own vertices as it goes, reads
/// every other vertex as the epoch began, and records the moves of the tails it pulls;
/// those are applied after the epoch, block by block. Negative samples come from a generator
/// seeded by (seed, epoch, block). So every epoch's result depends on the seed only, as with
/// umap-learn's single-threaded `random_state` runs, whose sequential updates this replaces
/// by epoch-stale reads of other blocks (as umap-learn's own parallel mode reads whatever
/// other threads have written).
#[allow(clippy::too_many_arguments)]
fn optimize(
    y64: &mut [f64],
    dim: usize,
    graph: &[(u32, u32, f64)],
    n_epochs: usize,
    a: f64,
    b: f64,
    params: &Params,
    seed: u64,
    exec: &mut Exec,
) {
    let n = y64.len() / dim;
    let mut y: Vec<f32> = y64.iter().map(|&v| v as f32).collect();
    let (a, b) = (a as f32, b as f32);
    let wmax = graph.iter().map(|e| e.2).fold(0.0, f64::max);
    let eps: Vec<f64> = graph.iter().map(|e| if e.2 > 0.0 { wmax / e.2 } else { f64::INFINITY }).collect();
    let rate = params.negative_sample_rate as f64;
    let eps_neg: Vec<f64> = eps.iter().map(|e| e / rate).collect();
    let gamma = params.repulsion_strength as f32;
    // Blocks of consecutive head vertices; the graph is sorted by head.
    let per = n.div_ceil(SGD_BLOCKS).max(1);
    let mut blocks = Vec::new();
    let mut e0 = 0;
    for first in (0..n).step_by(per) {
        let last = (first + per).min(n);
        let mut e1 = e0;
        while e1 < graph.len() && (graph[e1].0 as usize) < last {
            e1 += 1;
        }
        blocks.push(Block {
            first,
            pos: y[first * dim..last * dim].to_vec(),
            edges: e0..e1,
            next: eps[e0..e1].to_vec(),
            next_neg: eps_neg[e0..e1].to_vec(),
        });
        e0 = e1;
    }
    let kernel = Kernel { a, b, gamma, pow: PowTable::new(b) };
    for epoch in 0..n_epochs {
        let alpha = (params.learning_rate * (1.0 - epoch as f64 / n_epochs as f64)) as f32;
        let snapshot: &[f32] = &y;
        let sweep = Sweep { graph, eps: &eps, eps_neg: &eps_neg, snapshot, n, dim, alpha, epoch, kernel: &kernel };
        let moves = exec.quick_map_mut(&mut blocks, 1, |at, bs| {
            let rng = Rng::new(seed ^ ((epoch as u64) << 32) ^ ((at as u64) << 8) ^ 0x756d_6170);
            // The common low dimensions get loops the compiler unrolls.
            match dim {
                2 => sweep.block::<2>(&mut bs[0], rng),
                3 => sweep.block::<3>(&mut bs[0], rng),
                _ => sweep.block::<0>(&mut bs[0], rng),
            }
        });
        for blk in &blocks {
            y[blk.first * dim..blk.first * dim + blk.pos.len()].copy_from_slice(&blk.pos);
        }
        for mv in &moves {
            for (r, &k) in mv.vertex.iter().enumerate() {
                for t in 0..dim {
                    y[k as usize * dim + t] += mv.delta[r * dim + t];
                }
            }
        }
        for blk in blocks.iter_mut() {
            let len = blk.pos.len();
            blk.pos.copy_from_slice(&y[blk.first * dim..blk.first * dim + len]);
        }
        exec.step(Step::Optimize { what: "UMAP", iteration: epoch + 1, total: n_epochs, loss: None });
    }
    for (o, v) in y64.iter_mut().zip(&y) {
        *o = f64::from(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_table_matches_powf() {
        for b in [0.5f32, 0.8950608, 1.0, 1.3, 2.0] {
            let t = PowTable::new(b);
            let mut x = 1e-12f32;
            while x < 1e12 {
                let (want, got) = (f64::from(x).powf(f64::from(b)), f64::from(t.get(x)));
                assert!((got - want).abs() <= 4e-6 * want, "{x}^{b}: {got} vs {want}");
                x *= 1.0137;
            }
        }
    }

    #[test]
    fn ab_params_match_umap_learn() {
        // umap-learn: find_ab_params(1.0, 0.1) = (1.5769434603113077, 0.8950608779109733).
        let (a, b) = find_ab_params(1.0, 0.1);
        assert!((a - 1.5769434603113077).abs() < 1e-4 && (b - 0.8950608779109733).abs() < 1e-4, "{a} {b}");
    }

    #[test]
    fn separates_blobs_deterministically() {
        let mut rng = Rng::new(4);
        let (n, d) = (600, 8);
        let mut x = Vec::new();
        for i in 0..n {
            for t in 0..d {
                x.push(((i % 3) as f64 * 10.0 * ((t == i % 3) as u8 as f64) + normal(&mut rng)) as f32);
            }
        }
        let m = Matrix::new(&x, n, d).unwrap();
        let p = Params { n_epochs: Some(100), ..Params::default() };
        let mut none = |_| {};
        let a = fit(&m, &p, &mut Exec::new(1, &mut none)).unwrap();
        let mut none2 = |_| {};
        let b = fit(&m, &p, &mut Exec::new(2, &mut none2)).unwrap();
        assert_eq!(a.embedding, b.embedding);
        let rows: Vec<usize> = (0..n).collect();
        let t = crate::reduce::quality::trustworthiness(&m, &a.embedding, 2, &rows, 10, Metric::Euclidean, &mut Exec::new(1, &mut none));
        assert!(t > 0.85, "trustworthiness {t}");
        assert_eq!(
            fit(&m, &Params { n_neighbors: 1, ..p.clone() }, &mut Exec::new(1, &mut none)).unwrap_err(),
            Error::Neighbours { asked: 1, points: n }
        );
    }
}
