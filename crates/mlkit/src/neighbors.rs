//! Neighbour search: every point within a radius of a point (DBSCAN), and the distance to a
//! point's k-th nearest neighbour (HDBSCAN's core distance).
//!
//! Two strategies, chosen by dimension as scikit-learn's `algorithm="auto"` does:
//!
//! * **k-d tree** (Bentley, 1975) for up to [`TREE_MAX_DIM`] dimensions: points are split
//!   recursively at the median of their widest coordinate into leaves of [`LEAF_SIZE`]; a
//!   query descends into a node only when the node's bounding box can hold an answer.
//! * **Blocked brute force** for wider data (embeddings): distances from a block of query
//!   rows to every point as one matrix product (`f32` SGEMM on data centred on its mean,
//!   [`crate::linalg`]), which is the fastest way to compute many distances at hundreds of
//!   dimensions. The product only *nominates* candidates, with a margin for its rounding.
//!
//! Either way every distance that decides an answer is computed again exactly, in `f64`
//! from the input values, and compared as scikit-learn compares: `distance <= radius`.
//!
//! Metrics: Euclidean, and cosine distance `1 − a·b / (‖a‖ ‖b‖)`, which is searched as the
//! Euclidean distance between the normalised vectors (`‖â − b̂‖² = 2 · cosine distance`).
//! Cosine needs non-zero vectors ([`Error::ZeroVector`]).

use crate::exec::MemoryLimit;
use crate::{Exec, Matrix};

/// Widest data searched with the tree (scikit-learn switches to brute force above 15).
pub const TREE_MAX_DIM: usize = 16;
/// Points per tree leaf.
pub const LEAF_SIZE: usize = 32;
/// Query rows per brute-force block.
const BRUTE_BLOCK: usize = 64;

/// How distance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Euclidean,
    Cosine,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Euclidean => "euclidean",
            Metric::Cosine => "cosine",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "euclidean" | "l2" => Some(Metric::Euclidean),
            "cosine" => Some(Metric::Cosine),
            _ => None,
        }
    }
}

/// Why an index could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Cosine distance is undefined for a zero vector.
    ZeroVector { row: usize },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::ZeroVector { row } => write!(f, "point {row} is a zero vector, which has no cosine distance"),
        }
    }
}

/// A searchable copy of a point set.
pub struct Index {
    n: usize,
    d: usize,
    metric: Metric,
    /// The points in `f64` (normalised for cosine), row-major, in input order: for the
    /// exact distances.
    exact: Vec<f64>,
    strategy: Strategy,
}

enum Strategy {
    Tree(Tree),
    Brute { centred: Vec<f32>, norms: Vec<f32> },
}

impl Index {
    /// Builds the index for `data` under `metric`.
    pub fn new(data: &Matrix, metric: Metric) -> Result<Self, Error> {
        let (n, d) = (data.rows(), data.cols());
        let mut exact: Vec<f64> = data.as_slice().iter().map(|&v| v as f64).collect();
        if metric == Metric::Cosine {
            for (row, r) in exact.chunks_exact_mut(d).enumerate() {
                let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm == 0.0 {
                    return Err(Error::ZeroVector { row });
                }
                r.iter_mut().for_each(|v| *v /= norm);
            }
        }
        let strategy = if d <= TREE_MAX_DIM {
            Strategy::Tree(Tree::build(&exact, n, d))
        } else {
            let mut mean = vec![0.0f64; d];
            for r in exact.chunks_exact(d) {
                mean.iter_mut().zip(r).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
            let centred: Vec<f32> = exact.chunks_exact(d).flat_map(|r| r.iter().zip(&mean).map(|(v, m)| (v - m) as f32)).collect();
            let norms = centred.chunks_exact(d).map(|r| crate::linalg::dot(r, r)).collect();
            Strategy::Brute { centred, norms }
        };
        Ok(Self { n, d, metric, exact, strategy })
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// `"kd_tree"` or `"brute"`.
    pub fn strategy_name(&self) -> &'static str {
        match self.strategy {
            Strategy::Tree(_) => "kd_tree",
            Strategy::Brute { .. } => "brute",
        }
    }

    /// Bytes the index holds.
    pub fn memory_bytes(n: usize, d: usize) -> usize {
        n * d * 8 + if d <= TREE_MAX_DIM { n * d * 8 + n * 4 + (n / LEAF_SIZE + 1) * 2 * (d * 16 + 16) } else { n * d * 4 + n * 4 }
    }

    /// Width of the points.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Point `i` as stored: in `f64`, normalised for cosine.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.exact[i * self.d..(i + 1) * self.d]
    }

    /// The metric's distance between two indexed points, exactly.
    pub fn distance(&self, i: usize, j: usize) -> f64 {
        self.distance_of(sq(self.row(i), self.row(j)))
    }

    /// The metric's distance from a squared Euclidean distance between stored rows.
    pub fn distance_of(&self, sq: f64) -> f64 {
        match self.metric {
            Metric::Euclidean => sq.sqrt(),
            // Unit vectors: ‖a − b‖² = 2 − 2 cos.
            Metric::Cosine => (sq / 2.0).max(0.0),
        }
    }

    /// The largest squared Euclidean distance between stored rows that can be within
    /// `radius` (with a margin, for candidates).
    fn sq_bound(&self, radius: f64) -> f64 {
        let r2 = match self.metric {
            Metric::Euclidean => radius * radius,
            Metric::Cosine => 2.0 * radius,
        };
        r2 * (1.0 + 1e-9) + 1e-12
    }

    /// For every row in `rows`, the points within `radius` of it (itself included), in no
    /// particular order: appended to `out`, with `offsets` marking where each row's list ends.
    pub fn radius_neighbors(&self, rows: std::ops::Range<usize>, radius: f64, out: &mut Vec<u32>, offsets: &mut Vec<usize>) {
        let bound = self.sq_bound(radius);
        match &self.strategy {
            Strategy::Tree(tree) => {
                for i in rows {
                    tree.within(self.row(i), bound, &mut |j, sq| {
                        if self.distance_of(sq) <= radius {
                            out.push(j);
                        }
                    });
                    offsets.push(out.len());
                }
            }
            Strategy::Brute { centred, norms } => {
                let mut dots = Vec::new();
                self.brute_blocks(centred, norms, rows, &mut dots, |i, approx| {
                    // f32 expansion error is below 1e-5 of the norms involved.
                    for (j, &a) in approx.iter().enumerate() {
                        if (a as f64) <= bound + 1e-5 * (norms[i] as f64 + norms[j] as f64) && self.distance(i, j) <= radius {
                            out.push(j as u32);
                        }
                    }
                    offsets.push(out.len());
                });
            }
        }
    }

    /// For every row in `rows`, the distance to its `k`-th nearest point, counting the point
    /// itself as the first (scikit-learn's `kneighbors(X)[0][:, k-1]`). `k ≥ 1`.
    pub fn kth_distances(&self, rows: std::ops::Range<usize>, k: usize) -> Vec<f64> {
        let k = k.clamp(1, self.n.max(1));
        let mut out = Vec::with_capacity(rows.len());
        match &self.strategy {
            Strategy::Tree(tree) => {
                let mut heap = Vec::with_capacity(k + 1);
                for i in rows {
                    heap.clear();
                    tree.nearest(self.row(i), k, &mut heap);
                    // heap: the k smallest squared distances, a max-heap: the k-th is on top.
                    out.push(self.distance_of(heap[0].0));
                }
            }
            Strategy::Brute { centred, norms } => {
                let mut dots = Vec::new();
                let mut cand: Vec<(f32, u32)> = Vec::new();
                let mut exact: Vec<f64> = Vec::new();
                self.brute_blocks(centred, norms, rows, &mut dots, |i, approx| {
                    cand.clear();
                    cand.extend(approx.iter().enumerate().map(|(j, &a)| (a, j as u32)));
                    cand.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                    let kth_approx = cand[k - 1].0 as f64;
                    // Every point whose approximate distance could be the true k-th smallest.
                    let slack = 1e-5 * (2.0 * norms[i] as f64 + kth_approx.abs()) + 1e-9;
                    exact.clear();
                    exact.extend(
                        approx
                            .iter()
                            .enumerate()
                            .filter(|&(_, &a)| (a as f64) <= kth_approx + slack)
                            .map(|(j, _)| sq(self.row(i), self.row(j))),
                    );
                    exact.select_nth_unstable_by(k - 1, f64::total_cmp);
                    out.push(self.distance_of(exact[k - 1]));
                });
            }
        }
        out
    }

    /// For every row `i` in `rows`, its `k` nearest *other* points, nearest first (ties by
    /// index): `rows.len() × k` indices and distances, row-major. `k < len()`.
    ///
    /// The k-nearest-neighbour graph of t-SNE's affinities and UMAP's fuzzy set.
    pub fn knn(&self, rows: std::ops::Range<usize>, k: usize) -> (Vec<u32>, Vec<f64>) {
        let k = k.min(self.n.saturating_sub(1));
        let mut ids = Vec::with_capacity(rows.len() * k);
        let mut dists = Vec::with_capacity(rows.len() * k);
        let mut found: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        let mut keep = |i: usize, found: &mut Vec<(f64, u32)>| {
            found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // The point itself, or, among duplicates of it, the farthest-sorted one.
            let me = found.iter().position(|&(_, j)| j as usize == i).unwrap_or(found.len().saturating_sub(1));
            found.remove(me);
            for &(d, j) in found.iter().take(k) {
                ids.push(j);
                dists.push(self.distance_of(d));
            }
        };
        match &self.strategy {
            Strategy::Tree(tree) => {
                for i in rows {
                    found.clear();
                    tree.nearest(self.row(i), k + 1, &mut found);
                    keep(i, &mut found);
                }
            }
            Strategy::Brute { centred, norms } => {
                let mut dots = Vec::new();
                let mut cand: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
                self.brute_blocks(centred, norms, rows, &mut dots, |i, approx| {
                    // The k + 1 smallest approximate distances (the point itself among them).
                    // Blocks of SCAN values whose smallest cannot enter are skipped whole.
                    cand.clear();
                    for (b, block) in approx.chunks(SCAN).enumerate() {
                        if cand.len() > k && smallest(block) >= cand[0].0 {
                            continue;
                        }
                        for (o, &a) in block.iter().enumerate() {
                            if cand.len() <= k || a < cand[0].0 {
                                keep_smallest(&mut cand, k + 1, (a, (b * SCAN + o) as u32));
                            }
                        }
                    }
                    let last = cand[0].0 as f64;
                    let slack = 1e-5 * (2.0 * norms[i] as f64 + last.abs()) + 1e-9;
                    found.clear();
                    for (b, block) in approx.chunks(SCAN).enumerate() {
                        if (smallest(block) as f64) <= last + slack {
                            found.extend(
                                block
                                    .iter()
                                    .enumerate()
                                    .filter(|&(_, &a)| (a as f64) <= last + slack)
                                    .map(|(o, _)| (sq(self.row(i), self.row(b * SCAN + o)), (b * SCAN + o) as u32)),
                            );
                        }
                    }
                    keep(i, &mut found);
                });
            }
        }
        (ids, dists)
    }

    /// The `k` indexed points nearest to `q`, a point from outside the index (`dim()` values),
    /// nearest first (ties by index): indices and distances. `None` for a zero vector under
    /// cosine. Exact: the tree's search, or a scan of every point.
    ///
    /// Where new points meet a fitted map (t-SNE's and UMAP's `transform`).
    pub fn query(&self, q: &[f64], k: usize) -> Option<(Vec<u32>, Vec<f64>)> {
        let k = k.min(self.n);
        let mut q = q.to_vec();
        if self.metric == Metric::Cosine {
            let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm == 0.0 {
                return None;
            }
            q.iter_mut().for_each(|v| *v /= norm);
        }
        let mut found: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        match &self.strategy {
            Strategy::Tree(tree) => tree.nearest(&q, k, &mut found),
            Strategy::Brute { .. } => {
                for (j, r) in self.exact.chunks_exact(self.d).enumerate() {
                    keep_smallest(&mut found, k, (sq(&q, r), j as u32));
                }
            }
        }
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Some((found.iter().map(|f| f.1).collect(), found.iter().map(|f| self.distance_of(f.0)).collect()))
    }

    /// Calls `each(i, approx)` for every row `i` of `rows` with its approximate squared
    /// distances to all points (`f32`, clamped at 0).
    fn brute_blocks(
        &self,
        centred: &[f32],
        norms: &[f32],
        rows: std::ops::Range<usize>,
        dots: &mut Vec<f32>,
        each: impl FnMut(usize, &[f32]),
    ) {
        self.brute_blocks_from(centred, norms, rows, 0, dots, each)
    }

    /// [`Index::brute_blocks`] against the points `cols_from..` only: `approx[k]` is the
    /// distance to point `cols_from + k`.
    fn brute_blocks_from(
        &self,
        centred: &[f32],
        norms: &[f32],
        rows: std::ops::Range<usize>,
        cols_from: usize,
        dots: &mut Vec<f32>,
        mut each: impl FnMut(usize, &[f32]),
    ) {
        let Some(all) = Matrix::new(centred, self.n, self.d) else {
            return;
        };
        let cols = all.row_range(cols_from, self.n);
        let width = self.n - cols_from;
        if width == 0 {
            return;
        }
        for start in rows.clone().step_by(BRUTE_BLOCK) {
            let end = (start + BRUTE_BLOCK).min(rows.end);
            dots.resize((end - start) * width, 0.0);
            crate::linalg::sq_dist_block(&all.row_range(start, end), &norms[start..end], &cols, &norms[cols_from..], dots);
            for (r, approx) in dots.chunks_exact(width).enumerate() {
                each(start + r, approx);
            }
        }
    }

    /// Brute force only, half the work: for every row `i` of `rows`, the points `j ≥ i`
    /// within `radius`, as pairs `(i, j)`. `None` for the tree.
    fn upper_pairs(&self, rows: std::ops::Range<usize>, radius: f64) -> Option<Vec<(u32, u32)>> {
        let Strategy::Brute { centred, norms } = &self.strategy else {
            return None;
        };
        let bound = self.sq_bound(radius);
        let mut out = Vec::new();
        let mut dots = Vec::new();
        self.brute_blocks_from(centred, norms, rows.clone(), rows.start, &mut dots, |i, approx| {
            for (k, &a) in approx.iter().enumerate() {
                let j = rows.start + k;
                if j >= i && (a as f64) <= bound + 1e-5 * (norms[i] as f64 + norms[j] as f64) && self.distance(i, j) <= radius {
                    out.push((i as u32, j as u32));
                }
            }
        });
        Some(out)
    }
}

/// Candidates scanned as a block by the brute-force k-NN before any is looked at singly.
const SCAN: usize = 32;

/// The smallest of `block` (not NaN: distances are clamped at 0), in a form the compiler
/// vectorises.
fn smallest(block: &[f32]) -> f32 {
    block.iter().fold(f32::INFINITY, |m, &a| if a < m { a } else { m })
}

/// Adds `v` to `heap`, a binary max-heap (by value, then index) of at most `k` entries, the
/// `k` smallest seen: kept by hand because std's `BinaryHeap` wants a total order. Ties are
/// broken by index, so the same entries are kept every time.
fn keep_smallest<T: PartialOrd + Copy>(heap: &mut Vec<(T, u32)>, k: usize, v: (T, u32)) {
    let gt = |a: (T, u32), b: (T, u32)| a.0 > b.0 || (a.0 == b.0 && a.1 > b.1);
    if heap.len() < k {
        heap.push(v);
        let mut i = heap.len() - 1;
        while i > 0 && gt(heap[i], heap[(i - 1) / 2]) {
            heap.swap(i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
    } else if gt(heap[0], v) {
        heap[0] = v;
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut big = i;
            if l < heap.len() && gt(heap[l], heap[big]) {
                big = l;
            }
            if r < heap.len() && gt(heap[r], heap[big]) {
                big = r;
            }
            if big == i {
                break;
            }
            heap.swap(i, big);
            i = big;
        }
    }
}

/// Σ (a − b)², in order.
#[inline]
pub fn sq(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..4 {
            let t = x[j] - y[j];
            acc[j] += t * t;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// A k-d tree over `f64` points.
struct Tree {
    d: usize,
    /// The points in tree order.
    pts: Vec<f64>,
    /// The input index of every point in tree order.
    idx: Vec<u32>,
    nodes: Vec<Node>,
}

struct Node {
    start: usize,
    end: usize,
    /// Bounding box: `d` minima then `d` maxima.
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// Children, for inner nodes.
    children: Option<(usize, usize)>,
}

impl Tree {
    fn build(data: &[f64], n: usize, d: usize) -> Self {
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut nodes = Vec::new();
        if n > 0 {
            Self::split(data, d, &mut order, 0, n, &mut nodes);
        }
        let pts = order.iter().flat_map(|&i| data[i as usize * d..(i as usize + 1) * d].iter().copied()).collect();
        Tree { d, pts, idx: order, nodes }
    }

    /// Builds the node for `order[start..end]` and its subtree; returns its index.
    fn split(data: &[f64], d: usize, order: &mut [u32], start: usize, end: usize, nodes: &mut Vec<Node>) -> usize {
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for &i in &order[start..end] {
            let row = &data[i as usize * d..(i as usize + 1) * d];
            for t in 0..d {
                lo[t] = lo[t].min(row[t]);
                hi[t] = hi[t].max(row[t]);
            }
        }
        let me = nodes.len();
        nodes.push(Node { start, end, lo, hi, children: None });
        if end - start <= LEAF_SIZE {
            return me;
        }
        let node = &nodes[me];
        let dim = (0..d).max_by(|&a, &b| (node.hi[a] - node.lo[a]).total_cmp(&(node.hi[b] - node.lo[b]))).unwrap_or(0);
        if node.hi[dim] - node.lo[dim] <= 0.0 {
            return me; // all points identical: one leaf
        }
        let mid = (start + end) / 2;
        order[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
            data[a as usize * d + dim].total_cmp(&data[b as usize * d + dim]).then(a.cmp(&b))
        });
        let left = Self::split(data, d, order, start, mid, nodes);
        let right = Self::split(data, d, order, mid, end, nodes);
        nodes[me].children = Some((left, right));
        me
    }

    /// Squared distance from `q` to the node's box.
    fn box_sq(&self, node: &Node, q: &[f64]) -> f64 {
        let mut s = 0.0;
        for t in 0..self.d {
            let v = q[t];
            let gap = if v < node.lo[t] {
                node.lo[t] - v
            } else if v > node.hi[t] {
                v - node.hi[t]
            } else {
                0.0
            };
            s += gap * gap;
        }
        s
    }

    /// Calls `found(index, squared distance)` for every point whose squared distance to `q`
    /// is at most `bound`.
    fn within(&self, q: &[f64], bound: f64, found: &mut impl FnMut(u32, f64)) {
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id];
            if self.box_sq(node, q) > bound {
                continue;
            }
            match node.children {
                Some((l, r)) => {
                    stack.push(r);
                    stack.push(l);
                }
                None => {
                    for p in node.start..node.end {
                        let s = sq(q, &self.pts[p * self.d..(p + 1) * self.d]);
                        if s <= bound {
                            found(self.idx[p], s);
                        }
                    }
                }
            }
        }
    }

    /// The `k` smallest squared distances from `q`, into `heap` (a max-heap, unsorted).
    fn nearest(&self, q: &[f64], k: usize, heap: &mut Vec<(f64, u32)>) {
        let worst = |h: &Vec<(f64, u32)>| if h.len() < k { f64::INFINITY } else { h[0].0 };
        // Depth first, nearer child first; nodes farther than the current k-th are skipped.
        let mut stack = vec![(0usize, 0.0f64)];
        while let Some((id, dist)) = stack.pop() {
            if dist > worst(heap) {
                continue;
            }
            let node = &self.nodes[id];
            match node.children {
                Some((l, r)) => {
                    let (dl, dr) = (self.box_sq(&self.nodes[l], q), self.box_sq(&self.nodes[r], q));
                    if dl <= dr {
                        stack.push((r, dr));
                        stack.push((l, dl));
                    } else {
                        stack.push((l, dl));
                        stack.push((r, dr));
                    }
                }
                None => {
                    for p in node.start..node.end {
                        keep_smallest(heap, k, (sq(q, &self.pts[p * self.d..(p + 1) * self.d]), self.idx[p]));
                    }
                }
            }
        }
    }
}

/// Runs [`Index::radius_neighbors`] over every point in parallel chunks and returns the lists
/// as CSR (`offsets[i]..offsets[i + 1]` in `neighbors`), each list sorted. Stops with the
/// budget's error as soon as the lists outgrow [`Exec::memory_limit`].
pub fn radius_graph(index: &Index, radius: f64, exec: &mut Exec) -> Result<(Vec<usize>, Vec<u32>), MemoryLimit> {
    const CHUNK: usize = 256;
    let n = index.len();
    let limit = exec.memory_limit();
    if matches!(index.strategy, Strategy::Brute { .. }) {
        return symmetric_radius_graph(index, radius, exec);
    }
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0usize);
    let mut neighbors: Vec<u32> = Vec::new();
    exec.try_for_chunks(
        "neighbourhoods",
        n,
        CHUNK,
        |rows| {
            let mut out = Vec::new();
            let mut ends = Vec::with_capacity(rows.len());
            index.radius_neighbors(rows, radius, &mut out, &mut ends);
            (out, ends)
        },
        |(out, ends)| {
            let mut prev = 0;
            for e in ends {
                let start = neighbors.len();
                neighbors.extend_from_slice(&out[prev..e]);
                neighbors[start..].sort_unstable();
                offsets.push(neighbors.len());
                prev = e;
            }
            let needed = neighbors.len() * 4 + (n + 1) * 8;
            if needed > limit {
                return Err(MemoryLimit { needed, limit, what: "the neighbour lists" });
            }
            Ok(())
        },
    )?;
    Ok((offsets, neighbors))
}

/// [`radius_graph`] by brute force, using the symmetry of distance: each block of rows is
/// compared with itself and the rows after it only (half the distances), and every pair
/// found is entered in both lists.
fn symmetric_radius_graph(index: &Index, radius: f64, exec: &mut Exec) -> Result<(Vec<usize>, Vec<u32>), MemoryLimit> {
    const CHUNK: usize = 128;
    let n = index.len();
    let limit = exec.memory_limit();
    let mut parts: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut pairs = 0usize;
    // The pairs, then (at the end) the lists: 8 bytes a pair, and 4 a list entry.
    let needed = |pairs: usize| pairs * 8 + 2 * pairs * 4 + (n + 1) * 8;
    exec.try_for_chunks(
        "neighbourhoods",
        n,
        CHUNK,
        |rows| index.upper_pairs(rows, radius).unwrap_or_default(),
        |part| {
            pairs += part.len();
            parts.push(part);
            if needed(pairs) > limit {
                return Err(MemoryLimit { needed: needed(pairs), limit, what: "the neighbour lists" });
            }
            Ok(())
        },
    )?;
    let mut offsets = vec![0usize; n + 1];
    for &(i, j) in parts.iter().flatten() {
        offsets[i as usize + 1] += 1;
        if i != j {
            offsets[j as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut neighbors = vec![0u32; offsets[n]];
    for part in parts {
        for (i, j) in part {
            neighbors[fill[i as usize]] = j;
            fill[i as usize] += 1;
            if i != j {
                neighbors[fill[j as usize]] = i;
                fill[j as usize] += 1;
            }
        }
    }
    for i in 0..n {
        neighbors[offsets[i]..offsets[i + 1]].sort_unstable();
    }
    Ok((offsets, neighbors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn points(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * d).map(|_| (rng.next_f64() * 10.0) as f32).collect()
    }

    fn naive_within(data: &[f32], d: usize, i: usize, r: f64, metric: Metric) -> Vec<u32> {
        let n = data.len() / d;
        let row = |j: usize| data[j * d..(j + 1) * d].iter().map(|&v| v as f64).collect::<Vec<_>>();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        (0..n)
            .filter(|&j| {
                let (a, b) = (row(i), row(j));
                let dist = match metric {
                    Metric::Euclidean => sq(&a, &b).sqrt(),
                    Metric::Cosine => 1.0 - a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() / (norm(&a) * norm(&b)),
                };
                dist <= r
            })
            .map(|j| j as u32)
            .collect()
    }

    #[test]
    fn tree_and_brute_force_find_exactly_the_naive_neighbours() {
        for (d, r, metric) in
            [(3, 1.5, Metric::Euclidean), (20, 12.0, Metric::Euclidean), (4, 0.05, Metric::Cosine), (24, 0.12, Metric::Cosine)]
        {
            let data = points(700, d, d as u64);
            let x = Matrix::new(&data, 700, d).unwrap();
            let index = Index::new(&x, metric).unwrap();
            assert_eq!(index.strategy_name(), if d <= TREE_MAX_DIM { "kd_tree" } else { "brute" });
            let mut hook = |_| {};
            let mut exec = Exec::new(2, &mut hook);
            let (offsets, lists) = radius_graph(&index, r, &mut exec).unwrap();
            let mut total = 0;
            for i in 0..700 {
                let got = &lists[offsets[i]..offsets[i + 1]];
                let want = naive_within(&data, d, i, r, metric);
                assert_eq!(got, &want[..], "d={d} {metric:?} point {i}");
                total += got.len();
            }
            assert!(total > 2 * 700, "the radius should give real neighbourhoods (d={d}): {total}");
        }
    }

    #[test]
    fn kth_distances_match_sorting() {
        for d in [2, 5, 30] {
            let data = points(500, d, 7 + d as u64);
            let x = Matrix::new(&data, 500, d).unwrap();
            let index = Index::new(&x, Metric::Euclidean).unwrap();
            for k in [1, 2, 5, 17] {
                let got = index.kth_distances(0..500, k);
                for i in (0..500).step_by(37) {
                    let mut all: Vec<f64> = (0..500).map(|j| index.distance(i, j)).collect();
                    all.sort_by(f64::total_cmp);
                    assert_eq!(got[i], all[k - 1], "d={d} k={k} i={i}");
                }
            }
            assert!(index.kth_distances(0..3, 1).iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn zero_vectors_have_no_cosine() {
        let data = [1.0f32, 0.0, 0.0, 0.0];
        assert_eq!(Index::new(&Matrix::new(&data, 2, 2).unwrap(), Metric::Cosine).err(), Some(Error::ZeroVector { row: 1 }));
    }
}
