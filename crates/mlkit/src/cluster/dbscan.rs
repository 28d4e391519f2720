//! DBSCAN: density-based clustering with noise (Ester, Kriegel, Sander & Xu, 1996).
//!
//! A point's *neighbourhood* is every point within `eps` of it, itself included. A point
//! whose neighbourhood holds at least `min_samples` points is a **core** point. Core points
//! within `eps` of each other belong to the same cluster (clusters are the connected
//! components of the core points' neighbour graph). A non-core point within `eps` of a core
//! point is a **border** point of that point's cluster; every other point is **noise**
//! (label −1).
//!
//! A border point can be within `eps` of core points of several clusters. scikit-learn
//! grows clusters one at a time, from the unlabelled core point with the lowest index, and a
//! border point joins the first cluster that reaches it. This module gives exactly that
//! result without the sequential sweep: clusters are numbered in the order of their
//! lowest-index core point, and a border point joins, among the clusters of its core
//! neighbours, the one with the lowest number. The labels therefore equal scikit-learn's
//! `DBSCAN(...).labels_` exactly, not only up to renumbering, for the same row order.
//!
//! Method: one parallel pass finds every neighbourhood ([`crate::neighbors`]: a k-d tree
//! for up to 16 dimensions, blocked matrix products beyond), stored as sorted lists; a
//! union–find over core–core edges then gives the clusters. Memory: the data's `f64` copy
//! plus 4 bytes per (point, neighbour) pair — so a huge `eps` (every point neighbours every
//! other: `4 n²` bytes) is refused by the memory budget ([`Error::Memory`]) while the
//! lists are being built, rather than exhausting the server.

use crate::cluster::placement::DbscanModel;
use crate::cluster::{Clustering, Stat, NOISE};
use crate::exec::MemoryLimit;
use crate::neighbors::{self, Index, Metric};
use crate::{Exec, Matrix};

/// What to fit; `Default` gives scikit-learn's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Neighbourhood radius (> 0); neighbours are at distance `<= eps`.
    pub eps: f64,
    /// Points a neighbourhood needs, the point itself included, to make a core point (≥ 1).
    pub min_samples: usize,
    pub metric: Metric,
}

impl Default for Params {
    fn default() -> Self {
        Self { eps: 0.5, min_samples: 5, metric: Metric::Euclidean }
    }
}

/// Why a fit could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    NoRows,
    Eps(f64),
    MinSamples(usize),
    Neighbors(neighbors::Error),
    Memory(MemoryLimit),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoRows => write!(f, "there are no points to cluster"),
            Error::Eps(e) => write!(f, "eps must be a finite number > 0, not {e}"),
            Error::MinSamples(m) => write!(f, "min_samples must be at least 1, not {m}"),
            Error::Neighbors(e) => e.fmt(f),
            Error::Memory(e) => e.fmt(f),
        }
    }
}

/// Checks the parameters, as [`fit`] does first.
pub fn validate(params: &Params, n_rows: usize) -> Result<(), Error> {
    if n_rows == 0 {
        return Err(Error::NoRows);
    }
    if !(params.eps.is_finite() && params.eps > 0.0) {
        return Err(Error::Eps(params.eps));
    }
    if params.min_samples == 0 {
        return Err(Error::MinSamples(0));
    }
    Ok(())
}

/// Bytes [`fit`] holds before the neighbour lists: the index and the per-point arrays.
pub fn base_memory_bytes(rows: usize, cols: usize) -> usize {
    Index::memory_bytes(rows, cols) + rows * (8 + 4 + 4 + 1)
}

/// Clusters the rows of `data`. See the module documentation.
pub fn fit(data: &Matrix, params: &Params, exec: &mut Exec) -> Result<Clustering, Error> {
    fit_model(data, params, exec).map(|(c, _)| c)
}

/// [`fit`], with the model that places new points ([`DbscanModel`]: the core points).
pub fn fit_model(data: &Matrix, params: &Params, exec: &mut Exec) -> Result<(Clustering, DbscanModel), Error> {
    validate(params, data.rows())?;
    let n = data.rows();
    let index = Index::new(data, params.metric).map_err(Error::Neighbors)?;
    let (offsets, lists) = neighbors::radius_graph(&index, params.eps, exec).map_err(Error::Memory)?;
    let neighbours = |i: usize| &lists[offsets[i]..offsets[i + 1]];
    let core: Vec<bool> = (0..n).map(|i| neighbours(i).len() >= params.min_samples).collect();

    // Clusters: connected components of the core points.
    let mut uf = UnionFind::new(n);
    for i in 0..n {
        if core[i] {
            for &j in neighbours(i) {
                let j = j as usize;
                if j < i && core[j] {
                    uf.union(i, j);
                }
            }
        }
    }
    // Number the components by their lowest-index core point (scikit-learn's order).
    let mut number = vec![NOISE; n]; // by component root
    let mut labels = vec![NOISE; n];
    let mut next = 0;
    for i in 0..n {
        if core[i] {
            let root = uf.find(i);
            if number[root] == NOISE {
                number[root] = next;
                next += 1;
            }
            labels[i] = number[root];
        }
    }
    // Border points: the lowest-numbered cluster among their core neighbours.
    let mut n_border = 0i64;
    for i in 0..n {
        if !core[i] {
            if let Some(l) = neighbours(i).iter().filter(|&&j| core[j as usize]).map(|&j| labels[j as usize]).min() {
                labels[i] = l;
                n_border += 1;
            }
        }
    }
    let n_core = core.iter().filter(|&&c| c).count() as i64;
    let model = DbscanModel {
        dim: data.cols(),
        metric: params.metric,
        eps: params.eps,
        core_points: (0..n).filter(|&i| core[i]).flat_map(|i| index.row(i).iter().map(|&v| v as f32)).collect(),
        core_labels: (0..n).filter(|&i| core[i]).map(|i| labels[i]).collect(),
    };
    let clustering = Clustering {
        labels,
        stats: vec![
            ("n_core_points", Stat::Int(n_core)),
            ("n_border_points", Stat::Int(n_border)),
            ("mean_neighbours", Stat::Float(lists.len() as f64 / n as f64)),
            ("neighbour_search", Stat::Text(index.strategy_name())),
        ],
        ..Default::default()
    };
    Ok((clustering, model))
}

/// Union–find with path halving and union by size.
pub(crate) struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub(crate) fn new(n: usize) -> Self {
        Self { parent: (0..n as u32).collect(), size: vec![1; n] }
    }

    pub(crate) fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let grand = self.parent[self.parent[x] as usize];
            self.parent[x] = grand;
            x = grand as usize;
        }
        x
    }

    pub(crate) fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a as u32;
        self.size[a] += self.size[b];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's `dbscan_inner`, transcribed: the sequential sweep with a stack.
    fn reference(data: &[f32], d: usize, eps: f64, min_samples: usize) -> Vec<i32> {
        let n = data.len() / d;
        let dist = |i: usize, j: usize| (0..d).map(|t| (data[i * d + t] as f64 - data[j * d + t] as f64).powi(2)).sum::<f64>().sqrt();
        let nb: Vec<Vec<usize>> = (0..n).map(|i| (0..n).filter(|&j| dist(i, j) <= eps).collect()).collect();
        let core: Vec<bool> = nb.iter().map(|v| v.len() >= min_samples).collect();
        let mut labels = vec![-1i32; n];
        let mut label = 0;
        for start in 0..n {
            if labels[start] != -1 || !core[start] {
                continue;
            }
            let mut stack = Vec::new();
            let mut i = start;
            loop {
                if labels[i] == -1 {
                    labels[i] = label;
                    if core[i] {
                        for &j in &nb[i] {
                            if labels[j] == -1 {
                                stack.push(j);
                            }
                        }
                    }
                }
                match stack.pop() {
                    Some(j) => i = j,
                    None => break,
                }
            }
            label += 1;
        }
        labels
    }

    #[test]
    fn equals_the_sequential_sweep_label_for_label() {
        let mut rng = crate::rng::Rng::new(5);
        // Blobs of different density plus scattered noise: plenty of border points.
        let mut data = Vec::new();
        for (cx, cy, spread, count) in [(0.0, 0.0, 0.5, 150), (3.0, 0.0, 0.8, 150), (0.0, 4.0, 1.5, 100)] {
            for _ in 0..count {
                data.push(cx + spread * (rng.next_f64() as f32 * 2.0 - 1.0));
                data.push(cy + spread * (rng.next_f64() as f32 * 2.0 - 1.0));
            }
        }
        for _ in 0..100 {
            data.push(rng.next_f64() as f32 * 12.0 - 6.0);
            data.push(rng.next_f64() as f32 * 12.0 - 6.0);
        }
        let x = Matrix::new(&data, data.len() / 2, 2).unwrap();
        for (eps, min_samples) in [(0.3, 5), (0.5, 10), (0.8, 4), (0.2, 1)] {
            let p = Params { eps, min_samples, metric: Metric::Euclidean };
            let got = fit(&x, &p, &mut Exec::new(2, &mut |_| {})).unwrap();
            assert_eq!(got.labels, reference(&data, 2, eps, min_samples), "eps={eps} min_samples={min_samples}");
        }
    }

    #[test]
    fn a_huge_eps_is_refused_by_the_budget() {
        let data: Vec<f32> = (0..4000).map(|i| i as f32).collect();
        let x = Matrix::new(&data, 2000, 2).unwrap();
        let p = Params { eps: 1e9, ..Params::default() };
        let mut hook = |_| {};
        let mut exec = Exec::new(1, &mut hook).with_memory_limit(1 << 20);
        assert!(matches!(fit(&x, &p, &mut exec), Err(Error::Memory(_))));
    }

    #[test]
    fn rejects_bad_parameters() {
        let data = [0.0f32, 1.0];
        let x = Matrix::new(&data, 1, 2).unwrap();
        let mut hook = |_| {};
        let mut exec = Exec::new(1, &mut hook);
        assert_eq!(fit(&x, &Params { eps: 0.0, ..Params::default() }, &mut exec).unwrap_err(), Error::Eps(0.0));
        assert_eq!(fit(&x, &Params { min_samples: 0, ..Params::default() }, &mut exec).unwrap_err(), Error::MinSamples(0));
        // One point with min_samples 1 is its own cluster.
        assert_eq!(fit(&x, &Params { min_samples: 1, ..Params::default() }, &mut exec).unwrap().labels, vec![0]);
    }
}
