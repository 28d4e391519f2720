//! K-Means over data that is never held: one Lloyd step as a summary that can be built row
//! by row, split anywhere and merged, so that a database (parallel workers, Citus shards)
//! computes it wherever the rows are.
//!
//! For centres `C = c₀ … c_{k−1}` (each `d` long), a [`Step`] of a set of points holds, per
//! centre `j`, the number of points whose nearest centre is `j` and the sum of those points,
//! and the *inertia*: the sum of squared distances of the points to their nearest centres.
//! Two steps of disjoint sets merge by adding everything, so the result does not depend on
//! how the set was split (up to the order of floating-point additions: sums are `f64`).
//! The next centres are `sum_j / count_j` (a centre no point chose keeps its place).
//!
//! Initialisation for such data is k-means‖ (Bahmani et al., 2012, as Spark MLlib): a first
//! centre, then a few rounds that each keep every point with probability
//! `min(1, ℓ · d²(x, C) / ψ)` (`ψ` the current inertia, `ℓ = 2k`), the candidates weighted by
//! how many points are nearest to them, and [`weighted_kmeans`] to reduce them to `k`.
//! The per-point draws come from [`sample_hash`] of the point's id, so they are the same
//! however the scan is split.

use crate::linalg;
use crate::rng::Rng;
use crate::textform::Tokens;

/// The summary of one Lloyd step over some points (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub k: usize,
    pub d: usize,
    pub inertia: f64,
    /// Points per centre (whole numbers kept in `f64`: exact up to 2⁵³).
    pub counts: Vec<f64>,
    /// Sum of the points per centre, `k × d` row-major.
    pub sums: Vec<f64>,
}

/// Why a step, or its text or binary form, is not valid.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Two steps (or a step and centres) of different shapes.
    Shape { k: usize, d: usize, other_k: usize, other_d: usize },
    /// Text that does not parse, with what was expected.
    Text(String),
    /// Binary input of the wrong length.
    Binary { expected: usize, got: usize },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Shape { k, d, other_k, other_d } => {
                write!(f, "a step of {k} centres of {d} dimensions cannot meet one of {other_k} centres of {other_d} dimensions")
            }
            Error::Text(what) => write!(f, "{what}"),
            Error::Binary { expected, got } => write!(f, "binary form of {got} bytes where {expected} were expected"),
        }
    }
}

/// The nearest of the centres (`k × d` row-major) to `x` and the squared distance to it;
/// ties go to the lower index. `centres` must be a non-empty whole number of rows. In `f32`
/// for the fit and the aggregates, in `f64` for prediction.
#[inline]
pub fn nearest<T: linalg::SqDist>(x: &[T], centres: &[T]) -> (usize, T) {
    let d = x.len();
    let mut best = (0, T::INFINITY);
    for (j, c) in centres.chunks_exact(d).enumerate() {
        let s = T::sq_dist(x, c);
        if s < best.1 {
            best = (j, s);
        }
    }
    best
}

impl Step {
    /// The step of no points.
    pub fn empty(k: usize, d: usize) -> Self {
        Self { k, d, inertia: 0.0, counts: vec![0.0; k], sums: vec![0.0; k * d] }
    }

    /// Bytes of a step's binary form (and of its flat layout after a 16-byte header).
    pub fn byte_len(k: usize, d: usize) -> usize {
        8 + 8 * (1 + k + k * d)
    }

    /// Adds one point.
    pub fn add(&mut self, x: &[f32], centres: &[f32]) {
        add_point(&mut self.inertia, &mut self.counts, &mut self.sums, x, centres);
    }

    /// Adds the points of another step of the same shape.
    pub fn merge(&mut self, other: &Step) -> Result<(), Error> {
        if (self.k, self.d) != (other.k, other.d) {
            return Err(Error::Shape { k: self.k, d: self.d, other_k: other.k, other_d: other.d });
        }
        merge_into(&mut self.inertia, &mut self.counts, &mut self.sums, other.inertia, &other.counts, &other.sums);
        Ok(())
    }

    /// Number of points summarised.
    pub fn n(&self) -> f64 {
        self.counts.iter().sum()
    }

    /// The next centres: each centre's mean, or `None` for a centre no point chose.
    pub fn means(&self) -> Vec<Option<Vec<f64>>> {
        (0..self.k)
            .map(|j| {
                let c = self.counts[j];
                (c > 0.0).then(|| self.sums[j * self.d..(j + 1) * self.d].iter().map(|s| s / c).collect())
            })
            .collect()
    }

    /// The text form: `{"k": 2, "d": 3, "inertia": …, "counts": […], "sums": […]}` (JSON, every
    /// number printed so that it reads back to the same bits).
    pub fn to_text(&self) -> String {
        let list = crate::textform::join;
        let whole = |v: &[f64]| v.iter().map(|x| format!("{}", *x as u64)).collect::<Vec<_>>().join(",");
        format!(
            "{{\"k\":{},\"d\":{},\"inertia\":{:?},\"counts\":[{}],\"sums\":[{}]}}",
            self.k,
            self.d,
            self.inertia,
            whole(&self.counts),
            list(&self.sums)
        )
    }

    /// Reads [`Step::to_text`]'s form back (whitespace allowed between tokens, keys in that order).
    pub fn from_text(s: &str) -> Result<Self, Error> {
        type Parsed = (f64, f64, f64, Vec<f64>, Vec<f64>);
        let parse = || -> Result<Parsed, String> {
            let mut t = Tokens::new(s);
            t.expect("{")?;
            let k = t.key_number("k")?;
            t.expect(",")?;
            let d = t.key_number("d")?;
            t.expect(",")?;
            let inertia = t.key_number("inertia")?;
            t.expect(",")?;
            t.key("counts")?;
            let counts = t.list()?;
            t.expect(",")?;
            t.key("sums")?;
            let sums = t.list()?;
            t.expect("}")?;
            if !t.done() {
                return Err("text after the closing brace".into());
            }
            Ok((k, d, inertia, counts, sums))
        };
        let (k, d, inertia, counts, sums) = parse().map_err(Error::Text)?;
        let whole = |v: f64, what: &str| {
            if v >= 1.0 && v <= u32::MAX as f64 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(Error::Text(format!("\"{what}\" must be a whole number from 1, not {v}")))
            }
        };
        let (k, d) = (whole(k, "k")?, whole(d, "d")?);
        let step = Self { k, d, inertia, counts, sums };
        step.check()?;
        Ok(step)
    }

    /// The binary form: `k` and `d` as big-endian `u32`, then inertia, counts and sums as
    /// big-endian `f64` ([`Step::byte_len`] bytes).
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::byte_len(self.k, self.d));
        out.extend_from_slice(&(self.k as u32).to_be_bytes());
        out.extend_from_slice(&(self.d as u32).to_be_bytes());
        for v in std::iter::once(&self.inertia).chain(&self.counts).chain(&self.sums) {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// Reads [`Step::to_binary`]'s form back.
    pub fn from_binary(b: &[u8]) -> Result<Self, Error> {
        if b.len() < 8 {
            return Err(Error::Binary { expected: 8, got: b.len() });
        }
        let k = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let d = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let expected = k.checked_mul(d).and_then(|kd| kd.checked_add(k + 1)).and_then(|n| n.checked_mul(8)).and_then(|n| n.checked_add(8));
        if expected != Some(b.len()) || k == 0 || d == 0 {
            return Err(Error::Binary { expected: expected.unwrap_or(usize::MAX), got: b.len() });
        }
        let mut v = b[8..].chunks_exact(8).map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        let inertia = v.next().unwrap_or(0.0);
        let counts: Vec<f64> = v.by_ref().take(k).collect();
        let sums: Vec<f64> = v.collect();
        let step = Self { k, d, inertia, counts, sums };
        step.check()?;
        Ok(step)
    }

    /// Lengths agree with `k` and `d`; counts are whole and not negative; everything finite.
    fn check(&self) -> Result<(), Error> {
        if self.counts.len() != self.k || self.sums.len() != self.k * self.d {
            return Err(Error::Text(format!(
                "{} counts and {} sums do not fit k = {} and d = {} (k counts and k × d sums)",
                self.counts.len(),
                self.sums.len(),
                self.k,
                self.d
            )));
        }
        if self.counts.iter().any(|c| !(c.is_finite() && *c >= 0.0 && c.fract() == 0.0)) {
            return Err(Error::Text("counts must be whole numbers of 0 or more".into()));
        }
        if !(self.inertia.is_finite() && self.inertia >= 0.0) || self.sums.iter().any(|s| !s.is_finite()) {
            return Err(Error::Text("inertia and sums must be finite (inertia 0 or more)".into()));
        }
        Ok(())
    }
}

/// [`Step::add`] on a step held as three parts (a flat layout updated in place).
#[inline]
pub fn add_point(inertia: &mut f64, counts: &mut [f64], sums: &mut [f64], x: &[f32], centres: &[f32]) {
    let d = x.len();
    let (j, s) = nearest(x, centres);
    *inertia += f64::from(s);
    counts[j] += 1.0;
    for (acc, &v) in sums[j * d..(j + 1) * d].iter_mut().zip(x) {
        *acc += f64::from(v);
    }
}

/// [`Step::merge`] on steps held as parts of the same shape.
pub fn merge_into(inertia: &mut f64, counts: &mut [f64], sums: &mut [f64], o_inertia: f64, o_counts: &[f64], o_sums: &[f64]) {
    *inertia += o_inertia;
    counts.iter_mut().zip(o_counts).for_each(|(a, b)| *a += b);
    sums.iter_mut().zip(o_sums).for_each(|(a, b)| *a += b);
}

/// A number in `[0, 1)` drawn from `key` and `seed` alone: the same for the same pair in
/// every process and release (FNV-1a over the bytes, then SplitMix64's finaliser), so a
/// sample taken by `sample_hash(id, seed) < p` is the same however the rows are split.
pub fn sample_hash(key: &[u8], seed: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Restarts of [`weighted_kmeans`]: the candidates are few, so several are cheap.
const LOCAL_RESTARTS: usize = 10;

/// Reduces weighted candidate centres (`m × d`, weights `w`) to `k` centres, as Spark's
/// `LocalKMeans` (weighted k-means++ seeding, then weighted Lloyd iterations, at most
/// `max_iter`, until no centre moves) with two safeguards Spark lacks: each seeding step
/// takes the best of `2 + ⌊ln k⌋` draws (scikit-learn's greedy k-means++), and
/// [`LOCAL_RESTARTS`] restarts keep the lowest weighted inertia. Plain k-means++ on well-separated
/// groups often puts two centres in one group near its last picks (the groups already
/// covered still hold most of the weight). Deterministic for a seed. With `m ≤ k` the
/// candidates are the centres.
pub fn weighted_kmeans(points: &[f32], weights: &[f64], d: usize, k: usize, max_iter: usize, seed: u64) -> Vec<f32> {
    let m = weights.len();
    if m <= k {
        return points.to_vec();
    }
    let mut rng = Rng::new(seed);
    let mut best: Option<(f64, Vec<f32>)> = None;
    for _ in 0..LOCAL_RESTARTS {
        let (inertia, centres) = weighted_lloyd(points, weights, d, weighted_seeding(points, weights, d, k, &mut rng), max_iter);
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centres));
        }
    }
    best.map(|(_, c)| c).unwrap_or_default()
}

/// Greedy weighted k-means++: every next centre is the best of `2 + ⌊ln k⌋` draws with
/// probability `w · D²`, the one that leaves the smallest weighted potential.
fn weighted_seeding(points: &[f32], weights: &[f64], d: usize, k: usize, rng: &mut Rng) -> Vec<f32> {
    let m = weights.len();
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let draw = |rng: &mut Rng, mass: &[f64]| {
        let sum: f64 = mass.iter().sum();
        let mut r = rng.next_f64() * sum;
        for (i, &w) in mass.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        mass.iter().rposition(|&w| w > 0.0).unwrap_or(0)
    };
    let first = draw(rng, weights);
    let mut centres: Vec<f32> = row(first).to_vec();
    let mut dist: Vec<f64> = (0..m).map(|i| f64::from(linalg::sq_dist(row(i), row(first)))).collect();
    let trials = 2 + (k as f64).ln().floor() as usize;
    while centres.len() < k * d {
        let mass: Vec<f64> = dist.iter().zip(weights).map(|(a, w)| a * w).collect();
        let pool: &[f64] = if mass.iter().sum::<f64>() > 0.0 { &mass } else { weights };
        let mut pick: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let c = draw(rng, pool);
            let next: Vec<f64> = (0..m).map(|i| dist[i].min(f64::from(linalg::sq_dist(row(i), row(c))))).collect();
            let potential: f64 = next.iter().zip(weights).map(|(a, w)| a * w).sum();
            if pick.as_ref().is_none_or(|(p, _, _)| potential < *p) {
                pick = Some((potential, c, next));
            }
        }
        if let Some((_, c, next)) = pick {
            centres.extend_from_slice(row(c));
            dist = next;
        }
    }
    centres
}

/// Weighted Lloyd iterations from `centres`; returns the weighted inertia and the centres.
fn weighted_lloyd(points: &[f32], weights: &[f64], d: usize, mut centres: Vec<f32>, max_iter: usize) -> (f64, Vec<f32>) {
    let k = centres.len() / d;
    let row = |i: usize| &points[i * d..(i + 1) * d];
    for _ in 0..max_iter.max(1) {
        let mut step = Step::empty(k, d);
        for (i, &w) in weights.iter().enumerate() {
            let (j, s) = nearest(row(i), &centres);
            step.inertia += f64::from(s) * w;
            step.counts[j] += w;
            for (acc, &v) in step.sums[j * d..(j + 1) * d].iter_mut().zip(row(i)) {
                *acc += f64::from(v) * w;
            }
        }
        let mut moved = false;
        for (j, mean) in step.means().into_iter().enumerate() {
            if let Some(mean) = mean {
                for (c, v) in centres[j * d..(j + 1) * d].iter_mut().zip(mean) {
                    let v = v as f32;
                    moved |= *c != v;
                    *c = v;
                }
            }
        }
        if !moved {
            break;
        }
    }
    // The inertia of the final centres.
    let final_inertia: f64 = weights.iter().enumerate().map(|(i, &w)| f64::from(nearest(row(i), &centres).1) * w).sum();
    (final_inertia, centres)
}

/// Moves `centres` (`k × d`) by one step over their rows: Lloyd's update, each centre to the
/// mean of its rows; or, given how many rows each centre has seen so far (`seen`, updated
/// here), a mini-batch step towards the batch's mean by count / seen (Sculley 2010, as
/// scikit-learn). A centre that no row chose stays. Returns the squared shift of all centres.
pub fn update_centres(centres: &mut [f32], step: &Step, mut seen: Option<&mut [f64]>) -> f64 {
    let d = step.d;
    let mut shift = 0.0f64;
    for j in 0..step.k {
        let cj = step.counts[j];
        if cj == 0.0 {
            continue;
        }
        let rate = match seen.as_deref_mut() {
            Some(seen) => {
                seen[j] += cj;
                cj / seen[j]
            }
            None => 1.0,
        };
        for (t, c) in centres[j * d..(j + 1) * d].iter_mut().enumerate() {
            let mean = step.sums[j * d + t] / cj;
            let m = (f64::from(*c) + rate * (mean - f64::from(*c))) as f32;
            shift += f64::from(*c - m).powi(2);
            *c = m;
        }
    }
    shift
}

/// Batches without improvement after which mini-batch K-Means stops (scikit-learn's
/// `max_no_improvement`).
pub const MAX_NO_IMPROVEMENT: usize = 10;

/// scikit-learn's stopping rule for mini-batch K-Means: the batches' inertia per row, smoothed
/// by an exponentially weighted average, has not improved for [`MAX_NO_IMPROVEMENT`] batches.
#[derive(Debug, Clone)]
pub struct MiniBatchStop {
    ewa: f64,
    best: f64,
    no_improvement: usize,
}

impl Default for MiniBatchStop {
    fn default() -> Self {
        MiniBatchStop { ewa: f64::NAN, best: f64::INFINITY, no_improvement: 0 }
    }
}

impl MiniBatchStop {
    /// Takes a batch of `rows` rows with `inertia`, out of `total` rows; true when it is time
    /// to stop.
    pub fn stalled(&mut self, inertia: f64, rows: f64, total: f64) -> bool {
        let per_row = inertia / rows.max(1.0);
        let alpha = (rows * 2.0 / (total + 1.0)).min(1.0);
        self.ewa = if self.ewa.is_nan() { per_row } else { self.ewa * (1.0 - alpha) + per_row * alpha };
        if self.ewa < self.best {
            (self.best, self.no_improvement) = (self.ewa, 0);
        } else {
            self.no_improvement += 1;
        }
        self.no_improvement >= MAX_NO_IMPROVEMENT
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_is_the_same_in_single_and_double_precision() {
        let centres = [0.0f32, 0.0, 3.0, 4.0, 3.0, 4.0];
        assert_eq!(super::nearest(&[2.9f32, 4.2], &centres).0, 1, "ties go to the lower index");
        let (j, s) = super::nearest(&[2.9f64, 4.2], &centres.map(f64::from));
        assert_eq!(j, 1);
        assert!((s - 0.05).abs() < 1e-12, "{s}");
        let (j, s) = super::nearest(&[0.1f32, 0.0], &centres);
        assert_eq!((j, s), (0, 0.1f32 * 0.1));
    }

    #[test]
    fn lloyd_moves_centres_to_means_and_mini_batch_by_count_over_seen() {
        let step = Step { k: 2, d: 1, inertia: 0.0, counts: vec![2.0, 0.0], sums: vec![6.0, 0.0] };
        let mut c = vec![0.0f32, 9.0];
        assert_eq!(update_centres(&mut c, &step, None), 9.0);
        assert_eq!(c, vec![3.0, 9.0]);
        // Seen 2 before, 2 now: a step of 2 / 4 towards the batch mean 3.
        let (mut c, mut seen) = (vec![1.0f32, 9.0], vec![2.0, 5.0]);
        update_centres(&mut c, &step, Some(&mut seen));
        assert_eq!((c, seen), (vec![2.0, 9.0], vec![4.0, 5.0]));
    }

    #[test]
    fn mini_batch_stops_after_ten_batches_without_improvement() {
        let mut s = MiniBatchStop::default();
        assert!(!s.stalled(100.0, 10.0, 1000.0));
        for i in 0..MAX_NO_IMPROVEMENT - 1 {
            assert!(!s.stalled(200.0, 10.0, 1000.0), "stopped after {} batches", i + 1);
        }
        assert!(s.stalled(200.0, 10.0, 1000.0));
        let mut s = MiniBatchStop::default();
        for i in 0..30 {
            assert!(!s.stalled(100.0 - i as f64, 10.0, 1000.0));
        }
    }

    use super::*;

    fn points(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * d).map(|i| (rng.next_f64() as f32) * 4.0 + if (i / d) % 3 == 0 { 10.0 } else { 0.0 }).collect()
    }

    #[test]
    fn a_split_and_merged_step_equals_the_whole() {
        let (n, d) = (500, 5);
        let x = points(n, d, 1);
        let centres: Vec<f32> = x[..3 * d].to_vec();
        let mut whole = Step::empty(3, d);
        for r in x.chunks_exact(d) {
            whole.add(r, &centres);
        }
        let (mut a, mut b) = (Step::empty(3, d), Step::empty(3, d));
        for (i, r) in x.chunks_exact(d).enumerate() {
            if i % 7 < 3 {
                a.add(r, &centres)
            } else {
                b.add(r, &centres)
            }
        }
        a.merge(&b).unwrap();
        assert_eq!(a.counts, whole.counts);
        assert_eq!(a.n(), n as f64);
        for (p, q) in a.sums.iter().zip(&whole.sums) {
            assert!((p - q).abs() <= 1e-9 * q.abs().max(1.0));
        }
        assert!((a.inertia - whole.inertia).abs() <= 1e-9 * whole.inertia);
        // The inertia is the sum of squared distances to the nearest centre.
        let direct: f64 = x.chunks_exact(d).map(|r| f64::from(nearest(r, &centres).1)).sum();
        assert!((whole.inertia - direct).abs() <= 1e-9 * direct);
        assert!(a.merge(&Step::empty(2, d)).is_err());
    }

    #[test]
    fn text_and_binary_forms_round_trip_exactly() {
        let d = 3;
        let x = points(50, d, 2);
        let mut s = Step::empty(2, d);
        for r in x.chunks_exact(d) {
            s.add(r, &x[..2 * d]);
        }
        s.sums[0] = 1e-300;
        s.sums[1] = 0.1 + 0.2;
        assert_eq!(Step::from_text(&s.to_text()).unwrap(), s);
        assert_eq!(Step::from_binary(&s.to_binary()).unwrap(), s);
        assert_eq!(s.to_binary().len(), Step::byte_len(2, 3));
        let spaced = s.to_text().replace(',', " , ").replace(':', " : ");
        assert_eq!(Step::from_text(&spaced).unwrap(), s);
        for bad in [
            "",
            "{}",
            "{\"k\":0,\"d\":1,\"inertia\":0,\"counts\":[],\"sums\":[]}",
            "{\"k\":1,\"d\":1,\"inertia\":0,\"counts\":[1],\"sums\":[]}",
        ] {
            assert!(Step::from_text(bad).is_err(), "{bad}");
        }
        assert!(Step::from_text("{\"k\":1,\"d\":1,\"inertia\":0,\"counts\":[-1],\"sums\":[2]}").is_err());
        assert!(Step::from_binary(&s.to_binary()[..20]).is_err());
        let mut huge = s.to_binary();
        huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Step::from_binary(&huge).is_err());
    }

    #[test]
    fn sample_hash_is_uniform_and_seeded() {
        let n = 20_000;
        let v: Vec<f64> = (0..n).map(|i| sample_hash(format!("id-{i}").as_bytes(), 7)).collect();
        assert!(v.iter().all(|&x| (0.0..1.0).contains(&x)));
        let below = v.iter().filter(|&&x| x < 0.1).count() as f64 / n as f64;
        assert!((below - 0.1).abs() < 0.01, "{below}");
        assert_eq!(sample_hash(b"a", 1), sample_hash(b"a", 1));
        assert_ne!(sample_hash(b"a", 1), sample_hash(b"a", 2));
        assert_ne!(sample_hash(b"a", 1), sample_hash(b"b", 1));
    }

    #[test]
    fn weighted_kmeans_finds_the_heavy_groups() {
        // Two tight pairs of candidates and one heavy single one.
        let pts = vec![0.0, 0.0, 0.02, 0.0, 10.0, 10.0, 10.02, 10.0, 20.0, 0.0];
        let w = vec![5.0, 5.0, 5.0, 5.0, 100.0];
        let c = weighted_kmeans(&pts, &w, 2, 3, 30, 3);
        let mut rows: Vec<(i32, i32)> = c.chunks_exact(2).map(|r| ((r[0] * 10.0).round() as i32, (r[1] * 10.0).round() as i32)).collect();
        rows.sort();
        assert_eq!(rows, vec![(0, 0), (100, 100), (200, 0)]);
    }

    /// Candidates of 16 separated groups in 128-D: every group gets a centre (plain
    /// k-means++ misses one for many seeds here).
    #[test]
    fn weighted_kmeans_covers_every_separated_group() {
        let (k, d) = (16, 128);
        for seed in 0..20 {
            let mut rng = Rng::new(100 + seed);
            let centres: Vec<f32> = (0..k * d).map(|_| (rng.next_f64() * 200.0 - 100.0) as f32).collect();
            let (mut pts, mut w) = (Vec::new(), Vec::new());
            // Equal groups of 12,500 points, each seen through 1 to 6 candidates that split
            // its weight unevenly (as k-means‖'s draws do).
            for b in 0..k {
                let parts: Vec<f64> = (0..1 + rng.below(6)).map(|_| 0.05 + rng.next_f64()).collect();
                let total: f64 = parts.iter().sum();
                for p in parts {
                    pts.extend((0..d).map(|t| centres[b * d + t] + (rng.next_f64() * 40.0 - 20.0) as f32));
                    w.push(12_500.0 * p / total);
                }
            }
            let c = weighted_kmeans(&pts, &w, d, k, 30, seed);
            let found: std::collections::HashSet<usize> = c.chunks_exact(d).map(|r| nearest(r, &centres).0).collect();
            assert_eq!(found.len(), k, "seed {seed}");
        }
    }
}
