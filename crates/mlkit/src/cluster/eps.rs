//! Choosing DBSCAN's `eps` from the data: the k-distance curve (Ester et al. 1996, §4.2).
//!
//! For every point, the distance to its `min_samples`-th nearest point, counting the point
//! itself as the first — the radius at which it would just become a core point. Sorted
//! ascending, these distances rise slowly through the dense regions and then sharply at the
//! sparse points; the *knee* where the slope turns is a radius that makes most points core
//! points and leaves the sparse ones as noise. The knee is found as Kneedle finds it
//! (Satopää et al. 2011, without smoothing): with both axes scaled to [0, 1], the point
//! farthest below the chord from the first point to the last, i.e. the largest `x − y`.
//!
//! Large inputs are measured on a seeded sample of query points (their neighbours searched
//! among every point), so the curve's shape, and the knee, cost `sample × n` distances at most.

use crate::neighbors::{Index, Metric};
use crate::rng::Rng;
use crate::{Exec, Matrix};

/// Query points the curve is measured on at most.
pub const MAX_SAMPLE: usize = 10_000;

/// A suggested `eps`, and the curve it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub eps: f64,
    /// Where the knee is on the sorted curve, 0 to 1: the share of points that are core
    /// points at `eps` (about).
    pub knee_quantile: f64,
    /// The sorted k-distances of the sample.
    pub curve: Vec<f64>,
}

/// The knee of an ascending curve: the index of the largest `x − y` with both scaled to
/// [0, 1]; the last point for a straight or concave curve, 0 for fewer than three points.
pub fn knee(sorted: &[f64]) -> usize {
    let n = sorted.len();
    if n < 3 {
        return n.saturating_sub(1);
    }
    let (lo, hi) = (sorted[0], sorted[n - 1]);
    if hi <= lo {
        return n - 1;
    }
    let mut best = (n - 1, 0.0);
    for (i, &d) in sorted.iter().enumerate() {
        let gap = i as f64 / (n - 1) as f64 - (d - lo) / (hi - lo);
        if gap > best.1 {
            best = (i, gap);
        }
    }
    best.0
}

/// The k-distance curve of `data` for `min_samples` (≥ 1) and its knee, on at most
/// [`MAX_SAMPLE`] query points drawn with `seed`.
pub fn suggest(data: &Matrix, min_samples: usize, metric: Metric, seed: u64, exec: &mut Exec) -> Option<Suggestion> {
    let n = data.rows();
    if n == 0 {
        return None;
    }
    let index = Index::new(data, metric).ok()?;
    let k = min_samples.clamp(1, n);
    let queries: Vec<usize> = if n > MAX_SAMPLE {
        let mut s = Rng::new(seed).sample_indices(n, MAX_SAMPLE);
        s.sort_unstable();
        s
    } else {
        (0..n).collect()
    };
    let mut curve = Vec::with_capacity(queries.len());
    exec.for_chunks(
        "k-distances",
        queries.len(),
        256,
        |r| queries[r].iter().flat_map(|&i| index.kth_distances(i..i + 1, k)).collect::<Vec<f64>>(),
        |part| curve.extend(part),
    );
    curve.sort_by(f64::total_cmp);
    let at = knee(&curve);
    Some(Suggestion { eps: curve[at], knee_quantile: at as f64 / (curve.len() - 1).max(1) as f64, curve })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::dbscan;

    #[test]
    fn the_knee_of_a_hockey_stick_is_where_it_turns() {
        let mut curve: Vec<f64> = (0..90).map(|i| 1.0 + i as f64 * 0.01).collect();
        curve.extend((0..10).map(|i| 3.0 + i as f64 * 2.0));
        assert_eq!(knee(&curve), 89);
        assert_eq!(knee(&[1.0, 1.0, 1.0]), 2);
        assert_eq!(knee(&[0.5]), 0);
    }

    #[test]
    fn the_suggested_eps_finds_the_blobs_and_leaves_the_stray_points() {
        // Three tight blobs of 200 points and 20 points scattered far from them.
        let mut rng = Rng::new(7);
        let mut v = Vec::new();
        for c in 0..3 {
            for _ in 0..200 {
                v.push(c as f32 * 50.0 + crate::rng::normal(&mut rng) as f32);
                v.push(crate::rng::normal(&mut rng) as f32);
            }
        }
        for i in 0..20 {
            v.push(-300.0 + i as f32 * 40.0);
            v.push(200.0 + (i % 3) as f32 * 60.0);
        }
        let data = Matrix::new(&v, 620, 2).unwrap();
        let mut quiet = |_| {};
        let mut exec = Exec::new(1, &mut quiet);
        let s = suggest(&data, 5, Metric::Euclidean, 0, &mut exec).unwrap();
        assert!(s.eps > 0.2 && s.eps < 5.0, "{s:?}");
        let fit = dbscan::fit(&data, &dbscan::Params { eps: s.eps, min_samples: 5, metric: Metric::Euclidean }, &mut exec).unwrap();
        assert_eq!(fit.n_clusters(), 3);
        let noise = fit.labels.iter().filter(|&&l| l < 0).count();
        assert!((20..60).contains(&noise), "{noise}");
    }
}
