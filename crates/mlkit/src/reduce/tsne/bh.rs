//! The Barnes–Hut approximation of t-SNE's repulsive forces (van der Maaten, 2014), as
//! openTSNE's `quad_tree.pyx` and `estimate_negative_gradient_bh` compute it.
//!
//! The embedding is split into a quadtree (an octree in 3-D) of square cells, down to one
//! point a leaf (points closer than 1e-6 share a leaf). A point sees a cell as a single body
//! at the cell's centre of mass when the cell is small against its distance,
//! `side / distance < θ`; otherwise it looks inside. For each point this yields
//! `Σ_cells count · q` (its share of the normalisation `Z`) and
//! `Σ_cells count · q² (y − centre)` (its unnormalised repulsion), with
//! `q = 1 / (1 + ‖y − centre‖²)`.

/// Distances below this count as the point itself (and the epsilon added to distances).
const EPSILON: f64 = f64::EPSILON;
/// Points within this of each other in every coordinate share a leaf.
const SAME: f64 = 1e-6;

#[derive(Debug, Clone, Copy)]
struct Node<const D: usize> {
    com: [f64; D],
    count: u32,
    /// Side of the cell.
    length: f64,
    /// Index of the first of the `2^dim` children, 0 for a leaf.
    children: u32,
}

/// A space-partitioning tree over `D`-dimensional points (`D` 1 to 3).
pub struct Tree<const D: usize> {
    nodes: Vec<Node<D>>,
    /// The points in the order of the leaves: nearby points are near each other here, and
    /// visiting them in this order keeps the tree's hot nodes in cache.
    pub order: Vec<u32>,
}

impl<const D: usize> Tree<D> {
    /// Builds the tree over `y` (`n × D`, row-major).
    pub fn build(y: &[f64]) -> Self {
        let dim = D;
        let n = y.len() / dim;
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for p in y.chunks_exact(dim) {
            for d in 0..dim {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let mut center = [0.0; 3];
        let mut length = 0.0f64;
        for d in 0..dim {
            center[d] = (hi[d] + lo[d]) / 2.0;
            length = length.max(hi[d] - lo[d]);
        }
        let mut tree = Tree { nodes: Vec::with_capacity(2 * n + 1), order: Vec::new() };
        tree.nodes.push(Node { com: [0.0; D], count: 0, length, children: 0 });
        let mut order: Vec<u32> = (0..n as u32).collect();
        tree.fill(0, y, &mut order, center, length, 0);
        tree.order = order;
        tree
    }

    /// Fills node `id` with the points `order` inside the cell at `center` of side `length`.
    fn fill(&mut self, id: usize, y: &[f64], order: &mut [u32], center: [f64; 3], length: f64, depth: usize) {
        let dim = D;
        let mut com = [0.0; D];
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for &i in order.iter() {
            let p = &y[i as usize * dim..(i as usize + 1) * dim];
            for d in 0..dim {
                com[d] += p[d];
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let count = order.len();
        for c in com.iter_mut().take(dim) {
            *c /= count.max(1) as f64;
        }
        self.nodes[id].com = com;
        self.nodes[id].count = count as u32;
        let same = (0..dim).all(|d| hi[d] - lo[d] < SAME);
        if count <= 1 || same || depth > 64 {
            return;
        }
        let first = self.nodes.len();
        let kids = 1usize << dim;
        for _ in 0..kids {
            self.nodes.push(Node { com: [0.0; D], count: 0, length: length / 2.0, children: 0 });
        }
        self.nodes[id].children = first as u32;
        // Order the points by child: child index bit d set when coordinate d is above the
        // centre. Partition on the highest bit first, then within each part on the next.
        let mut bounds = [0usize; 9];
        let mut parts = 1;
        bounds[1] = order.len();
        for d in (0..dim).rev() {
            let mut next = [0usize; 9];
            for p in 0..parts {
                let (a, b) = (bounds[p], bounds[p + 1]);
                let mid = partition(&mut order[a..b], |i| y[i as usize * dim + d] > center[d]);
                next[2 * p] = a;
                next[2 * p + 1] = a + mid;
            }
            parts *= 2;
            next[parts] = order.len();
            bounds = next;
        }
        // `bounds` now cut `order` into runs sorted by (bit dim−1, …, bit 0): child index order.
        for c in 0..kids {
            let mut cc = center;
            for d in 0..dim {
                cc[d] += if c & (1 << d) != 0 { length / 4.0 } else { -length / 4.0 };
            }
            let (a, b) = (bounds[c], bounds[c + 1]);
            if b > a {
                self.fill(first + c, y, &mut order[a..b], cc, length / 2.0, depth + 1);
            }
        }
    }

    /// Adds the repulsion on the point `p` to `force` and returns its share of `Z`.
    pub fn repulse(&self, p: &[f64], theta: f64, force: &mut [f64], stack: &mut Vec<u32>) -> f64 {
        let dim = D;
        let mut sum_q = 0.0;
        stack.clear();
        stack.push(0);
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id as usize];
            if node.count == 0 {
                continue;
            }
            let leaf = node.children == 0;
            if leaf && (0..dim).all(|d| (node.com[d] - p[d]).abs() < EPSILON) {
                continue;
            }
            let mut dist = EPSILON;
            for d in 0..dim {
                let t = node.com[d] - p[d];
                dist += t * t;
            }
            if leaf || node.length * node.length < theta * theta * dist {
                let q = 1.0 / (1.0 + dist);
                let c = node.count as f64;
                sum_q += c * q;
                let qq = c * q * q;
                for d in 0..dim {
                    force[d] -= qq * (p[d] - node.com[d]);
                }
            } else {
                let first = node.children;
                for c in (0..(1u32 << dim)).rev() {
                    if self.nodes[(first + c) as usize].count > 0 {
                        stack.push(first + c);
                    }
                }
            }
        }
        sum_q
    }
}

/// Moves the items for which `above` holds to the end; returns how many are not.
fn partition(items: &mut [u32], above: impl Fn(u32) -> bool) -> usize {
    let mut first = 0;
    for i in 0..items.len() {
        if !above(items[i]) {
            items.swap(first, i);
            first += 1;
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With θ = 0 the tree visits every point: the sums are the exact ones.
    #[test]
    fn theta_zero_is_exact() {
        let y: Vec<f64> = (0..40).map(|i| ((i * 37 % 23) as f64) * 0.3 - 3.0 + (i as f64) * 0.01).collect();
        let tree = Tree::<2>::build(&y);
        let mut stack = vec![];
        for i in 0..20 {
            let p = &y[2 * i..2 * i + 2];
            let (mut f, mut exact_f) = ([0.0; 2], [0.0; 2]);
            let z = tree.repulse(p, 0.0, &mut f, &mut stack);
            let mut exact_z = 0.0;
            for j in 0..20 {
                if j == i {
                    continue;
                }
                let (dx, dy) = (p[0] - y[2 * j], p[1] - y[2 * j + 1]);
                let q = 1.0 / (1.0 + dx * dx + dy * dy);
                exact_z += q;
                exact_f[0] -= q * q * dx;
                exact_f[1] -= q * q * dy;
            }
            assert!((z - exact_z).abs() < 1e-9 * exact_z, "{z} vs {exact_z}");
            assert!((f[0] - exact_f[0]).abs() < 1e-9 && (f[1] - exact_f[1]).abs() < 1e-9);
        }
        // θ = 0.5 stays close.
        let mut f = [0.0; 2];
        let z = tree.repulse(&y[0..2], 0.5, &mut f, &mut stack);
        let mut g = [0.0; 2];
        let z0 = tree.repulse(&y[0..2], 0.0, &mut g, &mut stack);
        assert!((z - z0).abs() < 0.05 * z0);
    }
}
