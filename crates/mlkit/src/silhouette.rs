//! The silhouette coefficient (Rousseeuw, 1987), a measure of how well points sit in their
//! clusters, between −1 (wrong cluster) and 1 (tight, well separated).
//!
//! For a point `i` in cluster `A`: `a(i)` is its mean distance to the other points of `A`,
//! `b(i)` the smallest mean distance to the points of any other cluster, and
//! `s(i) = (b − a) / max(a, b)` (0 when `A` has a single point). The score is the mean of
//! `s(i)`. It costs `O(m² · d)` for `m` points, so callers pass a sample of rows; the score
//! is then computed among the sampled points only, as scikit-learn's `silhouette_score`
//! with `sample_size` does. Memory: `O(m · k + threads · 256 · m)`.

use crate::linalg::{self, BLOCK_ROWS};
use crate::parallel::for_chunks;
use crate::{Matrix, Progress, Step};

/// Mean silhouette of the rows `sample` of `data` (all rows when `sample` is `None`) under
/// `labels`. `None` when the sampled points fall into fewer than 2 clusters, or every
/// point is its own cluster — the score is undefined there.
pub fn score(
    data: &Matrix,
    labels: &[u32],
    sample: Option<&[usize]>,
    threads: usize,
    progress: &mut dyn Progress,
) -> Option<f64> {
    let rows: Vec<usize> = match sample {
        Some(s) => s.to_vec(),
        None => (0..data.rows()).collect(),
    };
    let m = rows.len();
    // Renumber the sampled labels 0..k.
    let mut ids: Vec<u32> = rows.iter().map(|&i| labels[i]).collect();
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let k = distinct.len();
    if k < 2 || k >= m {
        return None;
    }
    for l in ids.iter_mut() {
        *l = distinct.binary_search(l).expect("label was collected") as u32;
    }
    let mut sizes = vec![0usize; k];
    ids.iter().for_each(|&l| sizes[l as usize] += 1);

    let d = data.cols();
    let points: Vec<f32> = rows.iter().flat_map(|&i| data.row(i).iter().copied()).collect();
    let pts = Matrix::new(&points, m, d).expect("sampled rows");
    let norms = linalg::sq_norms(&pts);

    let mut total = 0.0f64;
    // Rows in chunks of whole blocks; the caller's hook runs between groups of chunks.
    let chunk_rows = BLOCK_ROWS * 4;
    let group = chunk_rows * threads.max(1);
    for start in (0..m).step_by(group) {
        let end = (start + group).min(m);
        let work = |r: std::ops::Range<usize>| {
            let mut sum = 0.0f64;
            let mut dist = vec![0.0f32; BLOCK_ROWS * m];
            let mut per_cluster = vec![0.0f64; k];
            for b in (start + r.start..start + r.end).step_by(BLOCK_ROWS) {
                let e = (b + BLOCK_ROWS).min(start + r.end);
                let block = pts.row_range(b, e);
                let dist = &mut dist[..(e - b) * m];
                linalg::sq_dist_block(&block, &norms[b..e], &pts, &norms, dist);
                for (r_i, row) in dist.chunks_exact(m).enumerate() {
                    let i = b + r_i;
                    per_cluster.iter_mut().for_each(|v| *v = 0.0);
                    for (j, &sq) in row.iter().enumerate() {
                        if j != i {
                            per_cluster[ids[j] as usize] += (sq as f64).sqrt();
                        }
                    }
                    let own = ids[i] as usize;
                    if sizes[own] == 1 {
                        continue; // s(i) = 0
                    }
                    let a = per_cluster[own] / (sizes[own] - 1) as f64;
                    let b_min = (0..k)
                        .filter(|&c| c != own)
                        .map(|c| per_cluster[c] / sizes[c] as f64)
                        .fold(f64::INFINITY, f64::min);
                    let denom = a.max(b_min);
                    if denom > 0.0 {
                        sum += (b_min - a) / denom;
                    }
                }
            }
            sum
        };
        for_chunks(end - start, chunk_rows, threads, work, |part| total += part);
        progress.step(Step::Rows { done: end, total: m });
    }
    Some(total / m as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_value() {
        // Two clusters on a line: {0, 1} and {4}. Hand computation:
        // s(0) = (4 - 1) / 4 = 0.75, s(1) = (3 - 1) / 3 = 2/3, s(4) = 0 (singleton).
        let data = [0.0f32, 1.0, 4.0];
        let x = Matrix::new(&data, 3, 1).unwrap();
        let s = score(&x, &[0, 0, 1], None, 1, &mut |_| {}).unwrap();
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-6, "{s}");
    }

    #[test]
    fn undefined_cases_are_none() {
        let data = [0.0f32, 1.0, 4.0];
        let x = Matrix::new(&data, 3, 1).unwrap();
        assert!(score(&x, &[0, 0, 0], None, 1, &mut |_| {}).is_none());
        assert!(score(&x, &[0, 1, 2], None, 1, &mut |_| {}).is_none());
        assert!(score(&x, &[0, 1, 0], Some(&[0, 2]), 1, &mut |_| {}).is_none());
    }

    #[test]
    fn threads_do_not_change_the_value() {
        let mut rng = crate::rng::Rng::new(3);
        let n = 3000;
        let data: Vec<f32> = (0..n * 4).map(|_| rng.next_f64() as f32).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let x = Matrix::new(&data, n, 4).unwrap();
        let a = score(&x, &labels, None, 1, &mut |_| {}).unwrap();
        let b = score(&x, &labels, None, 2, &mut |_| {}).unwrap();
        assert_eq!(a, b);
    }
}
