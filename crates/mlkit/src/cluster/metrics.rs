//! Internal measures of a clustering's quality, as scikit-learn computes them
//! (`sklearn.metrics`), each from the points and their labels alone:
//!
//! * **Silhouette** (Rousseeuw, 1987), −1 to 1, higher is better. For a point `i` of cluster
//!   `A`: `a(i)` is its mean distance to the other points of `A`, `b(i)` the smallest mean
//!   distance to the points of another cluster, `s(i) = (b − a) / max(a, b)` (0 when `A` is
//!   a single point); the score is the mean of `s(i)`. `O(m² d)` for `m` points, so callers
//!   pass a sample of rows: the score is then computed among the sampled points only, as
//!   `silhouette_score(..., sample_size=m)` does.
//! * **Davies–Bouldin** (1979), ≥ 0, lower is better: the mean over clusters of the worst
//!   ratio `(s_i + s_j) / d(c_i, c_j)`, with `s_i` the mean distance of cluster `i`'s points to
//!   its centroid `c_i`.
//! * **Calinski–Harabasz** (1974), ≥ 0, higher is better: between-cluster dispersion over
//!   within-cluster dispersion, each divided by its degrees of freedom:
//!   `[Σ n_k ‖c_k − c‖² / (k − 1)] / [Σ ‖x − c_{l(x)}‖² / (n − k)]`.
//!
//! Points labelled noise (−1) are left out of all three, as if they were not there. Each is
//! undefined (`None`) unless the remaining points form between 2 and `n − 1` clusters, where
//! scikit-learn raises an error. Everything is computed in `f64`: the silhouette's distances
//! through the norm expansion on data centred on the sample's mean, so points far from the
//! origin lose no precision.

use crate::linalg;
use crate::neighbors::Metric;
use crate::{Exec, Matrix};

/// Rows of the silhouette's distance block per chunk.
const SIL_BLOCK: usize = 64;
/// Rows per chunk of the linear passes.
const CHUNK_ROWS: usize = 8192;

/// The three measures of one clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    pub silhouette: Option<f64>,
    pub davies_bouldin: Option<f64>,
    pub calinski_harabasz: Option<f64>,
}

/// Every measure; the silhouette on the rows `sample` (every row when `None`) by `metric`
/// (scikit-learn's `silhouette_score(X, labels, metric=...)`); Davies–Bouldin and
/// Calinski–Harabasz are Euclidean by definition, as in scikit-learn.
pub fn quality(data: &Matrix, labels: &[i32], sample: Option<&[usize]>, metric: Metric, exec: &mut Exec) -> Quality {
    let (db, ch) = davies_bouldin_and_calinski_harabasz(data, labels, exec);
    Quality { silhouette: silhouette(data, labels, sample, metric, exec), davies_bouldin: db, calinski_harabasz: ch }
}

/// Distinct labels `≥ 0` and every label's index among them (`None` for noise).
fn renumber(labels: &[i32]) -> (usize, Vec<Option<usize>>) {
    let mut distinct: Vec<i32> = labels.iter().copied().filter(|&l| l >= 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let index = labels.iter().map(|&l| if l < 0 { None } else { distinct.binary_search(&l).ok() }).collect();
    (distinct.len(), index)
}

/// The mean silhouette of the non-noise rows among `sample` (all rows when `None`), with
/// Euclidean distances or cosine distances `1 − cos`.
pub fn silhouette(data: &Matrix, labels: &[i32], sample: Option<&[usize]>, metric: Metric, exec: &mut Exec) -> Option<f64> {
    silhouette_by_cluster(data, labels, sample, metric, exec).map(|(mean, _)| mean)
}

/// One cluster's silhouette: `(label, mean silhouette of its sampled points, sampled points)`.
pub type ClusterSilhouette = (i32, f64, usize);

/// [`silhouette`], and the mean silhouette of each cluster's sampled points (scikit-learn's
/// `silhouette_samples` averaged per label), in label order.
pub fn silhouette_by_cluster(
    data: &Matrix,
    labels: &[i32],
    sample: Option<&[usize]>,
    metric: Metric,
    exec: &mut Exec,
) -> Option<(f64, Vec<ClusterSilhouette>)> {
    let rows: Vec<usize> = match sample {
        Some(s) => s.iter().copied().filter(|&i| labels[i] >= 0).collect(),
        None => (0..data.rows()).filter(|&i| labels[i] >= 0).collect(),
    };
    let m = rows.len();
    let sub: Vec<i32> = rows.iter().map(|&i| labels[i]).collect();
    let (k, ids) = renumber(&sub);
    if k < 2 || k >= m {
        return None;
    }
    let mut distinct: Vec<i32> = sub.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let ids: Vec<usize> = ids.into_iter().map(|i| i.expect("noise was filtered out")).collect();
    let mut sizes = vec![0usize; k];
    ids.iter().for_each(|&l| sizes[l] += 1);

    // The sampled points in f64: centred on their mean (Euclidean), or scaled to unit length
    // (cosine: then `1 − x̂·ŷ` is the distance).
    let d = data.cols();
    let cosine = metric == Metric::Cosine;
    let mut mean = vec![0.0f64; d];
    if !cosine {
        for &i in &rows {
            mean.iter_mut().zip(data.row(i)).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|v| *v /= m as f64);
    }
    let mut pts = Vec::with_capacity(m * d);
    for &i in &rows {
        let start = pts.len();
        pts.extend(data.row(i).iter().zip(&mean).map(|(&v, c)| v as f64 - c));
        if cosine {
            let norm = pts[start..].iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                pts[start..].iter_mut().for_each(|v| *v /= norm);
            }
        }
    }
    let norms: Vec<f64> = pts.chunks_exact(d).map(|r| r.iter().map(|v| v * v).sum()).collect();

    let work = |r: std::ops::Range<usize>| {
        let mut dist = vec![0.0f64; r.len() * m];
        linalg::dot_block_f64(&pts[r.start * d..r.end * d], &pts, d, &mut dist);
        let mut per_cluster = vec![0.0f64; k];
        let mut sum = 0.0f64;
        let mut by_cluster = vec![0.0f64; k];
        for (row, i) in dist.chunks_exact(m).zip(r) {
            per_cluster.iter_mut().for_each(|v| *v = 0.0);
            for (j, &dot) in row.iter().enumerate() {
                if j != i {
                    per_cluster[ids[j]] += if cosine { (1.0 - dot).max(0.0) } else { (norms[i] + norms[j] - 2.0 * dot).max(0.0).sqrt() };
                }
            }
            let own = ids[i];
            if sizes[own] == 1 {
                continue; // s(i) = 0
            }
            let a = per_cluster[own] / (sizes[own] - 1) as f64;
            let b = (0..k).filter(|&c| c != own).map(|c| per_cluster[c] / sizes[c] as f64).fold(f64::INFINITY, f64::min);
            let denom = a.max(b);
            if denom > 0.0 {
                sum += (b - a) / denom;
                by_cluster[own] += (b - a) / denom;
            }
        }
        (sum, by_cluster)
    };
    let (mut total, mut cluster_sums) = (0.0f64, vec![0.0f64; k]);
    exec.for_chunks("silhouette", m, SIL_BLOCK, work, |(part, parts)| {
        total += part;
        cluster_sums.iter_mut().zip(parts).for_each(|(t, p)| *t += p);
    });
    let per_cluster = (0..k).map(|c| (distinct[c], cluster_sums[c] / sizes[c] as f64, sizes[c])).collect();
    Some((total / m as f64, per_cluster))
}

/// Davies–Bouldin and Calinski–Harabasz of the non-noise rows.
pub fn davies_bouldin_and_calinski_harabasz(data: &Matrix, labels: &[i32], exec: &mut Exec) -> (Option<f64>, Option<f64>) {
    let (k, ids) = renumber(labels);
    let n = ids.iter().filter(|i| i.is_some()).count();
    if k < 2 || k >= n {
        return (None, None);
    }
    let d = data.cols();
    // Pass 1: per-cluster sums and counts, chunk by chunk, merged in order.
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    exec.for_chunks(
        "quality metrics",
        data.rows(),
        CHUNK_ROWS,
        |r| {
            let mut s = vec![0.0f64; k * d];
            let mut c = vec![0usize; k];
            for i in r {
                if let Some(l) = ids[i] {
                    c[l] += 1;
                    s[l * d..(l + 1) * d].iter_mut().zip(data.row(i)).for_each(|(a, &v)| *a += v as f64);
                }
            }
            (s, c)
        },
        |(s, c)| {
            sums.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            counts.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        },
    );
    let centroids: Vec<f64> = (0..k * d).map(|t| sums[t] / counts[t / d] as f64).collect();
    let mean: Vec<f64> = (0..d).map(|t| (0..k).map(|l| sums[l * d + t]).sum::<f64>() / n as f64).collect();

    // Pass 2: per-cluster sum of distances (Davies–Bouldin) and of squared distances
    // (Calinski–Harabasz) to the centroid.
    let mut dist_sum = vec![0.0f64; k];
    let mut intra = 0.0f64;
    exec.for_chunks(
        "quality metrics",
        data.rows(),
        CHUNK_ROWS,
        |r| {
            let mut ds = vec![0.0f64; k];
            let mut sq = 0.0f64;
            for i in r {
                if let Some(l) = ids[i] {
                    let c = &centroids[l * d..(l + 1) * d];
                    let s: f64 = data.row(i).iter().zip(c).map(|(&v, &m)| (v as f64 - m).powi(2)).sum();
                    ds[l] += s.sqrt();
                    sq += s;
                }
            }
            (ds, sq)
        },
        |(ds, sq)| {
            dist_sum.iter_mut().zip(ds).for_each(|(a, b)| *a += b);
            intra += sq;
        },
    );

    let extra: f64 = (0..k).map(|l| counts[l] as f64 * (0..d).map(|t| (centroids[l * d + t] - mean[t]).powi(2)).sum::<f64>()).sum();
    let ch = if intra == 0.0 { 1.0 } else { extra * (n - k) as f64 / (intra * (k - 1) as f64) };

    let spread: Vec<f64> = (0..k).map(|l| dist_sum[l] / counts[l] as f64).collect();
    let centre_dist =
        |a: usize, b: usize| -> f64 { (0..d).map(|t| (centroids[a * d + t] - centroids[b * d + t]).powi(2)).sum::<f64>().sqrt() };
    // scikit-learn returns 0 when all spreads, or all centroid distances, are (close to) zero.
    let spreads_zero = spread.iter().all(|x| x.abs() <= 1e-8);
    let centres_zero = (0..k).all(|a| (0..k).all(|b| centre_dist(a, b) <= 1e-8));
    let db = if spreads_zero || centres_zero {
        0.0
    } else {
        (0..k)
            .map(|a| {
                (0..k)
                    .filter(|&b| b != a)
                    .map(|b| {
                        let cd = centre_dist(a, b);
                        if cd == 0.0 {
                            0.0
                        } else {
                            (spread[a] + spread[b]) / cd
                        }
                    })
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .sum::<f64>()
            / k as f64
    };
    (Some(db), Some(ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec() -> Exec<'static> {
        Exec::new(1, Box::leak(Box::new(|_| {})))
    }

    #[test]
    fn silhouette_matches_a_hand_computed_value() {
        // Two clusters on a line: {0, 1} and {4}. s(0) = (4 - 1) / 4, s(1) = (3 - 1) / 3, s(4) = 0.
        let data = [0.0f32, 1.0, 4.0];
        let x = Matrix::new(&data, 3, 1).unwrap();
        let s = silhouette(&x, &[0, 0, 1], None, Metric::Euclidean, &mut exec()).unwrap();
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12, "{s}");
        // Noise is left out: the same points plus a noise point give the same value.
        let data = [0.0f32, 1.0, 4.0, 100.0];
        let x = Matrix::new(&data, 4, 1).unwrap();
        let t = silhouette(&x, &[0, 0, 1, -1], None, Metric::Euclidean, &mut exec()).unwrap();
        assert!((s - t).abs() < 1e-12);
    }

    #[test]
    fn silhouette_keeps_its_precision_far_from_the_origin() {
        // The same configuration shifted by 10⁵ in every coordinate (exactly, in f32) gives the same score.
        let base: Vec<f32> = (0..200).map(|i| ((i * 37) % 101) as f32 + if i % 2 == 0 { 0.0 } else { 60.0 }).collect();
        let labels: Vec<i32> = (0..100).map(|i| (i % 2) as i32).collect();
        let x = Matrix::new(&base, 100, 2).unwrap();
        let near = silhouette(&x, &labels, None, Metric::Euclidean, &mut exec()).unwrap();
        let far_data: Vec<f32> = base.iter().map(|v| v + 100_000.0).collect();
        let far = silhouette(&Matrix::new(&far_data, 100, 2).unwrap(), &labels, None, Metric::Euclidean, &mut exec()).unwrap();
        assert!((near - far).abs() < 1e-6 * near.abs(), "{near} vs {far}");
    }

    #[test]
    fn cosine_silhouette_by_hand() {
        // Directions 0°, 10° (cluster 0) and 90° (cluster 1), at different lengths.
        let (c, s) = (10f64.to_radians().cos(), 10f64.to_radians().sin());
        let data = [1.0, 0.0, 5.0 * c as f32, 5.0 * s as f32, 0.0, 3.0];
        let x = Matrix::new(&data, 3, 2).unwrap();
        let d01 = 1.0 - c;
        let (d02, d12) = (1.0, 1.0 - s);
        let s0 = (d02 - d01) / d02;
        let s1 = (d12 - d01) / d12;
        let got = silhouette(&x, &[0, 0, 1], None, Metric::Cosine, &mut exec()).unwrap();
        assert!((got - (s0 + s1) / 3.0).abs() < 1e-6, "{got}");
    }

    #[test]
    fn undefined_cases_are_none() {
        let data = [0.0f32, 1.0, 4.0];
        let x = Matrix::new(&data, 3, 1).unwrap();
        assert!(silhouette(&x, &[0, 0, 0], None, Metric::Euclidean, &mut exec()).is_none());
        assert!(silhouette(&x, &[0, 1, 2], None, Metric::Euclidean, &mut exec()).is_none());
        assert!(silhouette(&x, &[0, 1, 0], Some(&[0, 2]), Metric::Euclidean, &mut exec()).is_none());
        assert_eq!(davies_bouldin_and_calinski_harabasz(&x, &[0, -1, 0], &mut exec()), (None, None));
    }

    #[test]
    fn davies_bouldin_and_calinski_harabasz_by_hand() {
        // Clusters {0, 2} (centroid 1, spread 1) and {10, 12} (centroid 11, spread 1).
        let data = [0.0f32, 2.0, 10.0, 12.0];
        let x = Matrix::new(&data, 4, 1).unwrap();
        let (db, ch) = davies_bouldin_and_calinski_harabasz(&x, &[0, 0, 1, 1], &mut exec());
        assert!((db.unwrap() - 0.2).abs() < 1e-12);
        // between: 2·25 + 2·25 = 100 over 1; within: 4 over 2 → 50.
        assert!((ch.unwrap() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn threads_do_not_change_the_values() {
        let mut rng = crate::rng::Rng::new(3);
        let n = 3000;
        let data: Vec<f32> = (0..n * 4).map(|_| rng.next_f64() as f32).collect();
        let labels: Vec<i32> = (0..n).map(|i| (i % 3) as i32 - (i % 7 == 0) as i32).collect();
        let x = Matrix::new(&data, n, 4).unwrap();
        let a = quality(&x, &labels, None, Metric::Euclidean, &mut exec());
        let b = quality(&x, &labels, None, Metric::Euclidean, &mut Exec::new(2, &mut |_| {}));
        assert_eq!(a, b);
    }
}
