//! HDBSCAN: hierarchical density-based clustering (Campello, Moulavi & Sander, 2013), as
//! scikit-learn's `sklearn.cluster.HDBSCAN` computes it.
//!
//! 1. **Core distance** of a point: the distance to its `min_samples`-th nearest point,
//!    itself counted first ([`crate::neighbors`]).
//! 2. **Mutual reachability distance** of two points:
//!    `max(core(a), core(b), d(a, b) / alpha)`. Dense regions keep their distances, sparse
//!    points are pushed away from everything.
//! 3. The **minimum spanning tree** of the complete mutual-reachability graph, exactly, by
//!    Prim's algorithm on the data matrix (`O(n²)` distances, no `n²` memory): starting from
//!    point 0, the point nearest to the tree joins it, ties to the lowest index — the same
//!    tree scikit-learn's `mst_from_data_matrix` builds.
//! 4. The edges sorted by weight give the **single-linkage tree**: every merge of two
//!    components, at the distance of the edge that joins them.
//! 5. The tree is **condensed** with `min_cluster_size`: walking down from the root (in
//!    `λ = 1 / distance`), a split where both sides have at least `min_cluster_size` points
//!    makes two new clusters; a smaller side is points *falling out* of the cluster at that
//!    `λ`.
//! 6. Every cluster's **stability** is `Σ (λ_p − λ_birth)` over its points, and clusters are
//!    **selected**: excess of mass (`eom`, the most stable set of non-overlapping clusters) or
//!    the leaves of the condensed tree (`leaf`); `cluster_selection_epsilon` merges clusters
//!    that split below that distance; `allow_single_cluster` lets the root be the answer.
//! 7. **Labels**: a point belongs to the selected cluster it fell out of (else noise, −1).
//!    **Probability** of membership: the point's `λ` over the cluster's largest `λ`.
//!
//! Steps 5–7 transcribe scikit-learn's `_tree.pyx` (condense, stability, `_get_clusters`,
//! `do_labelling`, `get_probabilities`), so labels and probabilities are the same. Where
//! mutual-reachability distances tie, the order of equal-weight merges in step 4 is not
//! defined (NumPy's sort is not stable), and the two can differ on such ties. Memory:
//! `O(n · d)` (an `f64` copy of the data) plus `O(n)` for the trees.

use crate::cluster::placement::HdbscanModel;
use crate::cluster::{Clustering, Stat, NOISE};
use crate::neighbors::{self, Index, Metric};
use crate::{Exec, Matrix, Step};
use std::collections::{BTreeMap, BTreeSet};

/// How clusters are chosen from the condensed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Excess of mass: the most stable clusters.
    Eom,
    /// The leaves of the condensed tree: many small, homogeneous clusters.
    Leaf,
}

impl Selection {
    pub fn name(self) -> &'static str {
        match self {
            Selection::Eom => "eom",
            Selection::Leaf => "leaf",
        }
    }
}

/// What to fit; `Default` gives scikit-learn's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Smallest group of points that counts as a cluster (≥ 2).
    pub min_cluster_size: usize,
    /// `k` of the core distance (≥ 1); `None`: `min_cluster_size`.
    pub min_samples: Option<usize>,
    /// Clusters that split below this distance are kept whole (≥ 0).
    pub cluster_selection_epsilon: f64,
    pub cluster_selection_method: Selection,
    pub allow_single_cluster: bool,
    /// Distance scaling of the mutual reachability (> 0).
    pub alpha: f64,
    pub metric: Metric,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            min_cluster_size: 5,
            min_samples: None,
            cluster_selection_epsilon: 0.0,
            cluster_selection_method: Selection::Eom,
            allow_single_cluster: false,
            alpha: 1.0,
            metric: Metric::Euclidean,
        }
    }
}

impl Params {
    pub fn min_samples(&self) -> usize {
        self.min_samples.unwrap_or(self.min_cluster_size)
    }
}

/// Why a fit could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    NoRows,
    MinClusterSize(usize),
    /// `min_samples` is 0 or more than the number of points.
    MinSamples {
        min_samples: usize,
        n_rows: usize,
    },
    Epsilon(f64),
    Alpha(f64),
    Neighbors(neighbors::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoRows => write!(f, "there are no points to cluster"),
            Error::MinClusterSize(m) => write!(f, "min_cluster_size must be at least 2, not {m}"),
            Error::MinSamples { min_samples, n_rows } => {
                write!(f, "min_samples must be between 1 and the number of points ({n_rows}), not {min_samples}")
            }
            Error::Epsilon(e) => write!(f, "cluster_selection_epsilon must be a finite number ≥ 0, not {e}"),
            Error::Alpha(a) => write!(f, "alpha must be a finite number > 0, not {a}"),
            Error::Neighbors(e) => e.fmt(f),
        }
    }
}

/// Checks the parameters, as [`fit`] does first.
pub fn validate(params: &Params, n_rows: usize) -> Result<(), Error> {
    if n_rows == 0 {
        return Err(Error::NoRows);
    }
    if params.min_cluster_size < 2 {
        return Err(Error::MinClusterSize(params.min_cluster_size));
    }
    let m = params.min_samples();
    if m == 0 || m > n_rows {
        return Err(Error::MinSamples { min_samples: m, n_rows });
    }
    if !(params.cluster_selection_epsilon.is_finite() && params.cluster_selection_epsilon >= 0.0) {
        return Err(Error::Epsilon(params.cluster_selection_epsilon));
    }
    if !(params.alpha.is_finite() && params.alpha > 0.0) {
        return Err(Error::Alpha(params.alpha));
    }
    Ok(())
}

/// Bytes [`fit`] holds for `rows × cols` input (the input not counted).
pub fn memory_bytes(rows: usize, cols: usize) -> usize {
    Index::memory_bytes(rows, cols) + rows * (8 + 24 + 24 + 32 * 3 + 16)
}

/// Clusters the rows of `data`. See the module documentation.
pub fn fit(data: &Matrix, params: &Params, exec: &mut Exec) -> Result<Clustering, Error> {
    fit_model(data, params, exec).map(|(c, _)| c)
}

/// [`fit`], with the model that places new points ([`HdbscanModel`]: the prediction data of
/// the `hdbscan` library's `approximate_predict`).
pub fn fit_model(data: &Matrix, params: &Params, exec: &mut Exec) -> Result<(Clustering, HdbscanModel), Error> {
    validate(params, data.rows())?;
    let n = data.rows();
    let index = Index::new(data, params.metric).map_err(Error::Neighbors)?;
    let k = params.min_samples();
    let mut core = Vec::with_capacity(n);
    exec.for_chunks("core distances", n, 256, |rows| index.kth_distances(rows, k), |part| core.extend(part));

    let mst = prim(&index, &core, params.alpha, exec);
    let linkage = single_linkage(n, mst);
    let condensed = condense(&linkage, n, params.min_cluster_size);
    let (labels, probabilities, clusters) = select(&condensed, n, params);
    let n_clusters = labels.iter().copied().max().map_or(0, |m| m + 1);
    let model = prediction_data(data, &index, params, &core, &condensed, &clusters);
    let clustering = Clustering {
        labels,
        probabilities: Some(probabilities),
        stats: vec![
            ("min_samples", Stat::Int(k as i64)),
            ("neighbour_search", Stat::Text(index.strategy_name())),
            ("n_condensed_clusters", Stat::Int(condensed.iter().filter(|r| r.size > 1).count() as i64 + 1)),
            ("n_clusters", Stat::Int(n_clusters as i64)),
        ],
        ..Default::default()
    };
    Ok((clustering, model))
}

/// What [`HdbscanModel::place`] needs (the `hdbscan` library's `PredictionData`): the points
/// as measured, their core distances, each point's row of the condensed tree, the cluster tree,
/// and for every selected cluster (and the clusters below it) its label and largest `λ`.
fn prediction_data(data: &Matrix, index: &Index, params: &Params, core: &[f64], tree: &[Row], clusters: &[usize]) -> HdbscanModel {
    let n = data.rows();
    let (mut point_parent, mut point_lambda) = (vec![n; n], vec![0.0; n]);
    let mut cluster_parent = BTreeMap::new();
    let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut death: BTreeMap<usize, f64> = BTreeMap::new();
    for r in tree {
        if r.child < n {
            (point_parent[r.child], point_lambda[r.child]) = (r.parent, r.lambda);
        } else {
            cluster_parent.insert(r.child, (r.parent, r.lambda));
            children.entry(r.parent).or_default().push(r.child);
        }
        let d = death.entry(r.parent).or_insert(f64::NEG_INFINITY);
        *d = d.max(r.lambda);
    }
    let (mut cluster_label, mut max_lambda) = (BTreeMap::new(), BTreeMap::new());
    for (label, &c) in clusters.iter().enumerate() {
        let top = death.get(&c).copied().unwrap_or(0.0);
        let mut stack = vec![c];
        while let Some(x) = stack.pop() {
            cluster_label.insert(x, label as i32);
            max_lambda.insert(x, top);
            stack.extend(children.get(&x).into_iter().flatten().copied());
        }
    }
    HdbscanModel {
        dim: data.cols(),
        metric: params.metric,
        min_samples: params.min_samples(),
        points: (0..n).flat_map(|i| index.row(i).iter().map(|&v| v as f32)).collect(),
        core_distances: core.to_vec(),
        point_parent,
        point_lambda,
        cluster_parent,
        cluster_label,
        max_lambda,
        root: n,
    }
}

/// One edge of the minimum spanning tree.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Edge {
    from: usize,
    to: usize,
    weight: f64,
}

/// Points per block of the points outside the tree.
const BLOCK: usize = 256;

/// A block of points not yet in the tree, stored so that one step of Prim's algorithm
/// streams through them: coordinates coordinate-major (`coords[t * BLOCK + p]`), and for
/// every point its index, core distance, distance to the tree and nearest tree point.
struct Outside {
    len: usize,
    point: Vec<u32>,
    core: Vec<f64>,
    best: Vec<f64>,
    /// `u64`, as wide as `best`, so that the update loop vectorises.
    source: Vec<u64>,
    coords: Vec<f64>,
}

impl Outside {
    fn new(d: usize) -> Self {
        Self {
            len: 0,
            point: vec![0; BLOCK],
            core: vec![0.0; BLOCK],
            best: vec![f64::INFINITY; BLOCK],
            source: vec![0; BLOCK],
            coords: vec![0.0; d * BLOCK],
        }
    }

    /// Appends a point.
    fn push(&mut self, point: u32, core: f64, row: &[f64]) {
        let p = self.len;
        (self.point[p], self.core[p], self.best[p], self.source[p]) = (point, core, f64::INFINITY, 0);
        for (t, &v) in row.iter().enumerate() {
            self.coords[t * BLOCK + p] = v;
        }
        self.len += 1;
    }

    /// Removes the point at position `p`; the block's last point takes its place.
    fn remove(&mut self, p: usize) {
        let last = self.len - 1;
        if p != last {
            self.point[p] = self.point[last];
            self.core[p] = self.core[last];
            self.best[p] = self.best[last];
            self.source[p] = self.source[last];
            for t in 0..self.coords.len() / BLOCK {
                self.coords[t * BLOCK + p] = self.coords[t * BLOCK + last];
            }
        }
        self.len -= 1;
    }

    /// Lowers every point's distance to the tree by the new member `cur` (its coordinates
    /// `q`, its core distance `cur_core`); returns the nearest point as `(distance, point,
    /// position)`, ties to the lowest point index.
    fn step(&mut self, q: &[f64], cur: u32, cur_core: f64, alpha: f64, cosine: bool) -> (f64, u32, usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { self.step_avx2(q, cur, cur_core, alpha, cosine) };
        }
        self.step_portable(q, cur, cur_core, alpha, cosine)
    }

    /// [`Outside::step_portable`] compiled for AVX2 (not FMA: a fused multiply-add would
    /// round differently from scikit-learn's distance).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_avx2(&mut self, q: &[f64], cur: u32, cur_core: f64, alpha: f64, cosine: bool) -> (f64, u32, usize) {
        self.step_portable(q, cur, cur_core, alpha, cosine)
    }

    #[inline(always)]
    fn step_portable(&mut self, q: &[f64], cur: u32, cur_core: f64, alpha: f64, cosine: bool) -> (f64, u32, usize) {
        let m = self.len;
        let mut acc = [0.0f64; BLOCK];
        let acc = &mut acc[..m];
        // Σ (x_t − q_t)², summed in coordinate order (as scikit-learn's Euclidean metric).
        for (t, &qt) in q.iter().enumerate() {
            for (a, &x) in acc.iter_mut().zip(&self.coords[t * BLOCK..t * BLOCK + m]) {
                let v = x - qt;
                *a += v * v;
            }
        }
        // The distances, branch-free so that the loops vectorise.
        if cosine {
            acc.iter_mut().for_each(|a| *a /= 2.0);
        } else {
            acc.iter_mut().for_each(|a| *a = a.sqrt());
        }
        if alpha != 1.0 {
            acc.iter_mut().for_each(|a| *a /= alpha);
        }
        let cur = cur as u64;
        let mut lowest = f64::INFINITY;
        for (((a, b), s), c) in acc.iter().zip(&mut self.best[..m]).zip(&mut self.source[..m]).zip(&self.core[..m]) {
            let mr = a.max(cur_core).max(*c);
            let better = mr < *b;
            *b = if better { mr } else { *b };
            *s = if better { cur } else { *s };
            lowest = if *b < lowest { *b } else { lowest };
        }
        // The lowest point index among those at that distance.
        let mut nearest = (lowest, u32::MAX, usize::MAX);
        for p in 0..m {
            if self.best[p] == lowest && self.point[p] < nearest.1 {
                nearest = (lowest, self.point[p], p);
            }
        }
        nearest
    }
}

/// One step's news for the lanes: the newest tree point, and where the previous step's
/// chosen point was (its lane removes it).
#[derive(Debug, Clone, Copy)]
struct Round {
    current: usize,
    remove: Option<(usize, usize, usize)>,
}

/// A lane's nearest outside point: `(distance, point, block, position, source)`.
type Nearest = (f64, u32, usize, usize, u64);

/// Prim's algorithm on the implicit complete mutual-reachability graph. The outside points
/// are dealt to one lane per thread, block by block; every step each lane lowers its points'
/// distances to the tree and names its nearest, and the nearest of all joins the tree.
fn prim(index: &Index, core: &[f64], alpha: f64, exec: &mut Exec) -> Vec<Edge> {
    let (n, d) = (index.len(), index.dim());
    let cosine = matches!(index.metric(), Metric::Cosine);
    // Below this many points a second lane costs more in waiting than it saves.
    let lanes_wanted = if n < 4 * BLOCK { 1 } else { exec.cores() };
    let mut lanes: Vec<(usize, Vec<Outside>)> = (0..lanes_wanted).map(|l| (l, Vec::new())).collect();
    for (b, start) in (1..n).step_by(BLOCK).enumerate() {
        let mut blk = Outside::new(d);
        for p in start..(start + BLOCK).min(n) {
            blk.push(p as u32, core[p], index.row(p));
        }
        lanes[b % lanes_wanted].1.push(blk);
    }
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    if n < 2 {
        return edges;
    }
    exec.lockstep(
        &mut lanes,
        Round { current: 0, remove: None },
        |(me, blocks), round| {
            if let Some((lane, b, pos)) = round.remove {
                if lane == *me {
                    blocks[b].remove(pos);
                    if blocks[b].len == 0 {
                        blocks.swap_remove(b);
                    }
                }
            }
            let (q, cur_core) = (index.row(round.current), core[round.current]);
            let mut best: Nearest = (f64::INFINITY, u32::MAX, usize::MAX, usize::MAX, 0);
            for (i, blk) in blocks.iter_mut().enumerate() {
                let (v, pt, pos) = blk.step(q, round.current as u32, cur_core, alpha, cosine);
                if v < best.0 || (v == best.0 && pt < best.1) {
                    best = (v, pt, i, pos, blk.source[pos]);
                }
            }
            best
        },
        |found, exec| {
            // The nearest of the lanes' nearest, ties to the lowest point index.
            let mut choice = None;
            for (lane, x) in found.into_iter().enumerate() {
                if x.1 != u32::MAX && choice.is_none_or(|(_, c): (usize, Nearest)| x.0 < c.0 || (x.0 == c.0 && x.1 < c.1)) {
                    choice = Some((lane, x));
                }
            }
            let (lane, (weight, point, b, pos, source)) = choice?;
            edges.push(Edge { from: source as usize, to: point as usize, weight });
            if edges.len() % 256 == 0 || edges.len() + 1 == n {
                exec.step(Step::Pass { what: "minimum spanning tree", done: edges.len(), total: n - 1 });
            }
            (edges.len() + 1 < n).then_some(Round { current: point as usize, remove: Some((lane, b, pos)) })
        },
    );
    edges
}

/// One merge of the single-linkage tree (scipy's format): nodes `< n` are points, node
/// `n + i` is the cluster made by merge `i`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Merge {
    left: usize,
    right: usize,
    distance: f64,
    size: usize,
}

/// The single-linkage tree of the spanning tree's edges, lightest first.
fn single_linkage(n: usize, mut mst: Vec<Edge>) -> Vec<Merge> {
    mst.sort_by(|a, b| a.weight.total_cmp(&b.weight));
    let mut parent = vec![usize::MAX; 2 * n.max(1) - 1];
    let mut size: Vec<usize> = (0..2 * n.max(1) - 1).map(|i| usize::from(i < n)).collect();
    let find = |parent: &mut Vec<usize>, mut x: usize| {
        let start = x;
        while parent[x] != usize::MAX {
            x = parent[x];
        }
        // Path compression.
        let mut p = start;
        while parent[p] != usize::MAX && parent[p] != x {
            let next = parent[p];
            parent[p] = x;
            p = next;
        }
        x
    };
    let mut out = Vec::with_capacity(mst.len());
    for (i, e) in mst.iter().enumerate() {
        let (a, b) = (find(&mut parent, e.from), find(&mut parent, e.to));
        let node = n + i;
        out.push(Merge { left: a, right: b, distance: e.weight, size: size[a] + size[b] });
        parent[a] = node;
        parent[b] = node;
        size[node] = size[a] + size[b];
    }
    out
}

/// One row of the condensed tree: `child` (a point `< n` or a cluster `≥ n`) leaves
/// cluster `parent` at `lambda`; `size` is 1 for a point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    parent: usize,
    child: usize,
    lambda: f64,
    size: usize,
}

/// scikit-learn's `_condense_tree`.
fn condense(linkage: &[Merge], n: usize, min_cluster_size: usize) -> Vec<Row> {
    if n < 2 {
        return Vec::new();
    }
    let root = 2 * linkage.len();
    let count = |node: usize| if node >= n { linkage[node - n].size } else { 1 };
    // Every point below `node`, pushed to `rows` as falling out of `parent` at `lambda`;
    // marks the subtree's nodes as done.
    let fall_out = |node: usize, parent: usize, lambda: f64, rows: &mut Vec<Row>, ignore: &mut Vec<bool>| {
        let mut stack = vec![node];
        while let Some(x) = stack.pop() {
            ignore[x] = true;
            if x < n {
                rows.push(Row { parent, child: x, lambda, size: 1 });
            } else {
                let m = &linkage[x - n];
                stack.push(m.right);
                stack.push(m.left);
            }
        }
    };
    let mut relabel = vec![0usize; root + 1];
    relabel[root] = n;
    let mut next_label = n + 1;
    let mut ignore = vec![false; root + 1];
    let mut rows = Vec::with_capacity(n);
    // Breadth first from the root, as scikit-learn walks it.
    let mut queue = std::collections::VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        if ignore[node] || node < n {
            continue;
        }
        let m = linkage[node - n];
        queue.push_back(m.left);
        queue.push_back(m.right);
        let lambda = if m.distance > 0.0 { 1.0 / m.distance } else { f64::INFINITY };
        let (lc, rc) = (count(m.left), count(m.right));
        let me = relabel[node];
        if lc >= min_cluster_size && rc >= min_cluster_size {
            relabel[m.left] = next_label;
            rows.push(Row { parent: me, child: next_label, lambda, size: lc });
            next_label += 1;
            relabel[m.right] = next_label;
            rows.push(Row { parent: me, child: next_label, lambda, size: rc });
            next_label += 1;
        } else if lc < min_cluster_size && rc < min_cluster_size {
            fall_out(m.left, me, lambda, &mut rows, &mut ignore);
            fall_out(m.right, me, lambda, &mut rows, &mut ignore);
        } else if lc < min_cluster_size {
            relabel[m.right] = me;
            fall_out(m.left, me, lambda, &mut rows, &mut ignore);
        } else {
            relabel[m.left] = me;
            fall_out(m.right, me, lambda, &mut rows, &mut ignore);
        }
    }
    rows
}

/// Cluster selection, labelling and probabilities: scikit-learn's `_compute_stability`,
/// `_get_clusters`, `do_labelling` and `get_probabilities`.
fn select(tree: &[Row], n: usize, params: &Params) -> (Vec<i32>, Vec<f64>, Vec<usize>) {
    if tree.is_empty() {
        return (vec![NOISE; n], vec![0.0; n], vec![]);
    }
    let root = n; // the smallest cluster id
    let eps = params.cluster_selection_epsilon;
    // Parent and λ of every child.
    let mut parent_of = BTreeMap::new();
    let mut lambda_of = vec![0.0f64; tree.iter().map(|r| r.child).max().unwrap_or(0).max(root) + 1];
    for r in tree {
        parent_of.insert(r.child, r.parent);
        lambda_of[r.child] = r.lambda;
    }
    let max_parent = tree.iter().map(|r| r.parent).max().unwrap_or(root);
    // Stability of every cluster.
    let mut birth = vec![0.0f64; lambda_of.len().max(max_parent + 1)];
    for r in tree.iter().filter(|r| r.child >= n) {
        birth[r.child] = r.lambda;
    }
    birth[root] = 0.0;
    let mut stability: BTreeMap<usize, f64> = (root..=max_parent).map(|c| (c, 0.0)).collect();
    for r in tree {
        *stability.entry(r.parent).or_insert(0.0) += (r.lambda - birth[r.parent]) * r.size as f64;
    }
    // The cluster tree: rows whose child is a cluster.
    let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for r in tree.iter().filter(|r| r.size > 1) {
        children.entry(r.parent).or_default().push(r.child);
    }
    let has_cluster_tree = tree.iter().any(|r| r.size > 1);
    let descendants = |c: usize| {
        let mut out = Vec::new();
        let mut stack = vec![c];
        while let Some(x) = stack.pop() {
            out.push(x);
            if let Some(ch) = children.get(&x) {
                stack.extend(ch.iter().copied());
            }
        }
        out
    };
    // Candidate clusters, the root only when a single cluster is allowed.
    let mut node_list: Vec<usize> = stability.keys().copied().rev().collect();
    if !params.allow_single_cluster {
        node_list.pop();
    }
    let mut is_cluster: BTreeMap<usize, bool> = node_list.iter().map(|&c| (c, true)).collect();

    match params.cluster_selection_method {
        Selection::Eom => {
            for &node in &node_list {
                let sub: f64 = children.get(&node).map_or(0.0, |ch| ch.iter().map(|c| stability[c]).sum());
                if sub > stability[&node] {
                    is_cluster.insert(node, false);
                    stability.insert(node, sub);
                } else {
                    for d in descendants(node) {
                        if d != node {
                            is_cluster.insert(d, false);
                        }
                    }
                }
            }
            if eps != 0.0 && has_cluster_tree {
                let eom: BTreeSet<usize> = is_cluster.iter().filter(|(_, &v)| v).map(|(&c, _)| c).collect();
                let selected = if eom.len() == 1 && eom.contains(&root) {
                    if params.allow_single_cluster {
                        eom
                    } else {
                        BTreeSet::new()
                    }
                } else {
                    epsilon_search(&eom, &parent_of, &lambda_of, &descendants, root, eps, params.allow_single_cluster)
                };
                for (c, v) in is_cluster.iter_mut() {
                    *v = selected.contains(c);
                }
            }
        }
        Selection::Leaf => {
            let leaves: BTreeSet<usize> = if has_cluster_tree {
                descendants(root).into_iter().filter(|c| !children.contains_key(c)).collect()
            } else {
                BTreeSet::new()
            };
            if leaves.is_empty() {
                is_cluster.values_mut().for_each(|v| *v = false);
                is_cluster.insert(root, true);
            }
            let selected = if eps != 0.0 {
                epsilon_search(&leaves, &parent_of, &lambda_of, &descendants, root, eps, params.allow_single_cluster)
            } else {
                leaves
            };
            for (c, v) in is_cluster.iter_mut() {
                *v = selected.contains(c);
            }
        }
    }
    let clusters: Vec<usize> = is_cluster.iter().filter(|(_, &v)| v).map(|(&c, _)| c).collect(); // sorted
    let label_of = |c: usize| clusters.binary_search(&c).ok().map(|i| i as i32);

    // Labels: walk up from each point to the nearest selected cluster, or the root.
    let root_max_lambda = tree.iter().filter(|r| r.parent == root).map(|r| r.lambda).fold(f64::NEG_INFINITY, f64::max);
    let mut labels = vec![NOISE; n];
    for (p, label) in labels.iter_mut().enumerate() {
        let Some(&first) = parent_of.get(&p) else { continue };
        let mut c = first;
        while c != root && label_of(c).is_none() {
            c = parent_of[&c];
        }
        *label = if c != root {
            label_of(c).unwrap_or(NOISE)
        } else if clusters.len() == 1 && params.allow_single_cluster {
            let keep = if eps != 0.0 { lambda_of[p] >= 1.0 / eps } else { lambda_of[p] >= root_max_lambda };
            if keep {
                label_of(root).unwrap_or(NOISE)
            } else {
                NOISE
            }
        } else {
            NOISE
        };
    }
    // Probabilities: λ of the point over the largest λ in its cluster.
    let mut death = vec![0.0f64; max_parent + 1];
    for r in tree {
        death[r.parent] = death[r.parent].max(r.lambda);
    }
    let mut probabilities = vec![0.0f64; n];
    for r in tree.iter().filter(|r| r.child < n) {
        let l = labels[r.child];
        if l == NOISE {
            continue;
        }
        let max_lambda = death[clusters[l as usize]];
        probabilities[r.child] = if max_lambda == 0.0 || r.lambda.is_infinite() { 1.0 } else { r.lambda.min(max_lambda) / max_lambda };
    }
    (labels, probabilities, clusters)
}

/// scikit-learn's `epsilon_search`: leaves born below `eps` are replaced by the nearest
/// ancestor born above it.
fn epsilon_search(
    leaves: &BTreeSet<usize>,
    parent_of: &BTreeMap<usize, usize>,
    lambda_of: &[f64],
    descendants: &dyn Fn(usize) -> Vec<usize>,
    root: usize,
    eps: f64,
    allow_single_cluster: bool,
) -> BTreeSet<usize> {
    let mut selected = BTreeSet::new();
    let mut processed = BTreeSet::new();
    for &leaf in leaves {
        if 1.0 / lambda_of[leaf] < eps {
            if !processed.contains(&leaf) {
                // traverse_upwards
                let mut node = leaf;
                let chosen = loop {
                    let parent = parent_of[&node];
                    if parent == root {
                        break if allow_single_cluster { parent } else { node };
                    }
                    if 1.0 / lambda_of[parent] > eps {
                        break parent;
                    }
                    node = parent;
                };
                selected.insert(chosen);
                for d in descendants(chosen) {
                    if d != chosen {
                        processed.insert(d);
                    }
                }
            }
        } else {
            selected.insert(leaf);
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec() -> Exec<'static> {
        Exec::new(2, Box::leak(Box::new(|_| {})))
    }

    fn blobs(seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(seed);
        let mut data = Vec::new();
        for (cx, cy, spread, count) in [(0.0, 0.0, 0.3, 120), (4.0, 0.0, 0.6, 120), (0.0, 5.0, 1.0, 80)] {
            for _ in 0..count {
                data.push(cx + spread * (rng.next_f64() as f32 * 2.0 - 1.0));
                data.push(cy + spread * (rng.next_f64() as f32 * 2.0 - 1.0));
            }
        }
        for _ in 0..30 {
            data.push(rng.next_f64() as f32 * 16.0 - 8.0);
            data.push(rng.next_f64() as f32 * 16.0 - 8.0);
        }
        data
    }

    #[test]
    fn prim_gives_a_minimum_spanning_tree() {
        // Compare the total weight with Kruskal's on the full graph.
        let data = blobs(3);
        let n = data.len() / 2;
        let x = Matrix::new(&data, n, 2).unwrap();
        let index = Index::new(&x, Metric::Euclidean).unwrap();
        let core = index.kth_distances(0..n, 5);
        let mst = prim(&index, &core, 1.0, &mut exec());
        assert_eq!(mst.len(), n - 1);
        let mut all = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                all.push((index.distance(i, j).max(core[i]).max(core[j]), i, j));
            }
        }
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut uf = crate::dbscan::UnionFind::new(n);
        let mut kruskal = 0.0;
        for (w, i, j) in all {
            if uf.find(i) != uf.find(j) {
                uf.union(i, j);
                kruskal += w;
            }
        }
        let ours: f64 = mst.iter().map(|e| e.weight).sum();
        assert!((ours - kruskal).abs() < 1e-9 * kruskal, "{ours} vs {kruskal}");
    }

    #[test]
    fn finds_the_three_blobs_and_the_noise() {
        let data = blobs(4);
        let n = data.len() / 2;
        let x = Matrix::new(&data, n, 2).unwrap();
        let fit = fit(&x, &Params { min_cluster_size: 15, ..Params::default() }, &mut exec()).unwrap();
        assert_eq!(fit.n_clusters(), 3, "{:?}", fit.sizes());
        // Points generated in the same blob share a label (the cores of the blobs at least).
        let probs = fit.probabilities.as_ref().unwrap();
        assert!(probs.iter().zip(&fit.labels).all(|(&p, &l)| (l == NOISE) == (p == 0.0) && (0.0..=1.0).contains(&p)));
        assert!(fit.noise() > 0 && fit.noise() < 60, "noise {}", fit.noise());
        // The same result whatever the thread count.
        let serial = super::fit(&x, &Params { min_cluster_size: 15, ..Params::default() }, &mut Exec::new(1, &mut |_| {})).unwrap();
        assert_eq!(serial.labels, fit.labels);
        assert_eq!(serial.probabilities, fit.probabilities);
    }

    #[test]
    fn selection_options_behave() {
        let data = blobs(5);
        let n = data.len() / 2;
        let x = Matrix::new(&data, n, 2).unwrap();
        let run = |p: Params| fit(&x, &p, &mut exec()).unwrap();
        let eom = run(Params { min_cluster_size: 10, ..Params::default() });
        let leaf = run(Params { min_cluster_size: 10, cluster_selection_method: Selection::Leaf, ..Params::default() });
        assert!(leaf.n_clusters() >= eom.n_clusters());
        // A huge epsilon merges everything that splits below it.
        let merged =
            run(Params { min_cluster_size: 10, cluster_selection_epsilon: 100.0, allow_single_cluster: true, ..Params::default() });
        assert_eq!(merged.n_clusters(), 1);
    }

    #[test]
    fn rejects_bad_parameters() {
        let data = [0.0f32; 8];
        let x = Matrix::new(&data, 4, 2).unwrap();
        let bad = |p: Params| fit(&x, &p, &mut exec()).unwrap_err();
        assert_eq!(bad(Params { min_cluster_size: 1, ..Params::default() }), Error::MinClusterSize(1));
        assert_eq!(
            bad(Params { min_cluster_size: 2, min_samples: Some(5), ..Params::default() }),
            Error::MinSamples { min_samples: 5, n_rows: 4 }
        );
        assert_eq!(bad(Params { min_cluster_size: 2, alpha: 0.0, ..Params::default() }), Error::Alpha(0.0));
    }
}
