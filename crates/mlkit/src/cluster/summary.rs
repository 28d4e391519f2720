//! What each cluster of a run looks like: its size, its centre (the algorithm's, or the mean
//! of its points), how far its points lie from it (mean and largest Euclidean distance), and
//! its exemplars, the points nearest the centre. For every algorithm, so that a DBSCAN run
//! is described as a K-Means run is. Noise (-1) gets its size only.

use crate::cluster::NOISE;
use crate::{Exec, Matrix, Step};

/// One cluster of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub cluster: i32,
    pub size: usize,
    /// `None` for noise.
    pub centroid: Option<Vec<f32>>,
    pub mean_distance: Option<f64>,
    pub max_distance: Option<f64>,
    /// Row indices of up to `exemplars` points nearest the centre, nearest first (ties by index).
    pub exemplars: Vec<usize>,
}

/// The summary of every cluster of `labels` over `data`, in label order (noise first). The
/// centres are `centroids` (`k × d`, the algorithm's own, as K-Means has) or else each
/// cluster's mean. Two passes over the rows; memory `k × d` and one distance a row.
pub fn summarize(data: &Matrix, labels: &[i32], centroids: Option<&[f32]>, exemplars: usize, exec: &mut Exec) -> Vec<Summary> {
    let (n, d) = (data.rows(), data.cols());
    let k = labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize);
    let mut sizes = vec![0usize; k];
    let mut sums = vec![0.0f64; k * d];
    let mut noise = 0usize;
    for (i, &l) in labels.iter().enumerate() {
        if l == NOISE {
            noise += 1;
            continue;
        }
        let l = l as usize;
        sizes[l] += 1;
        sums[l * d..(l + 1) * d].iter_mut().zip(data.row(i)).for_each(|(s, &v)| *s += f64::from(v));
        if i % 65_536 == 0 {
            exec.step(Step::Pass { what: "cluster summaries", done: i, total: n });
        }
    }
    let centre: Vec<f64> = match centroids {
        Some(c) if c.len() == k * d => c.iter().map(|&v| f64::from(v)).collect(),
        _ => (0..k * d).map(|j| if sizes[j / d.max(1)] > 0 { sums[j] / sizes[j / d.max(1)] as f64 } else { 0.0 }).collect(),
    };
    let distance: Vec<f64> = exec
        .quick_map(n, 8192, |r| {
            r.map(|i| {
                let l = labels[i];
                if l < 0 {
                    return f64::NAN;
                }
                let c = &centre[l as usize * d..(l as usize + 1) * d];
                data.row(i).iter().zip(c).map(|(&v, &m)| (f64::from(v) - m) * (f64::from(v) - m)).sum::<f64>().sqrt()
            })
            .collect::<Vec<f64>>()
        })
        .concat();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        if l >= 0 {
            members[l as usize].push(i);
        }
    }
    let mut out = Vec::with_capacity(k + 1);
    if noise > 0 {
        out.push(Summary { cluster: NOISE, size: noise, centroid: None, mean_distance: None, max_distance: None, exemplars: vec![] });
    }
    for (c, rows) in members.iter_mut().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let dist = |i: &usize| distance[*i];
        let mean = rows.iter().map(dist).sum::<f64>() / rows.len() as f64;
        let max = rows.iter().map(dist).fold(0.0, f64::max);
        rows.sort_by(|a, b| distance[*a].total_cmp(&distance[*b]).then(a.cmp(b)));
        out.push(Summary {
            cluster: c as i32,
            size: rows.len(),
            centroid: Some(centre[c * d..(c + 1) * d].iter().map(|&v| v as f32).collect()),
            mean_distance: Some(mean),
            max_distance: Some(max),
            exemplars: rows.iter().take(exemplars).copied().collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cluster_is_described_and_noise_is_counted() {
        let v = [0.0f32, 0.0, 2.0, 0.0, 1.0, 0.0, 10.0, 10.0, 12.0, 10.0, 50.0, 50.0];
        let data = Matrix::new(&v, 6, 2).unwrap();
        let mut quiet = |_| {};
        let mut exec = Exec::new(1, &mut quiet);
        let s = summarize(&data, &[0, 0, 0, 1, 1, -1], None, 2, &mut exec);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].cluster, s[0].size, s[0].centroid.is_none()), (-1, 1, true));
        assert_eq!(s[1].centroid, Some(vec![1.0, 0.0]));
        assert_eq!((s[1].mean_distance, s[1].max_distance), (Some(2.0 / 3.0), Some(1.0)));
        assert_eq!(s[1].exemplars, vec![2, 0]);
        assert_eq!(s[2].centroid, Some(vec![11.0, 10.0]));
        // The algorithm's own centres, when it has them.
        let s = summarize(&data, &[0, 0, 0, 1, 1, -1], Some(&[0.0, 0.0, 10.0, 10.0]), 1, &mut exec);
        assert_eq!((s[1].max_distance, s[1].exemplars.clone()), (Some(2.0), vec![0]));
    }
}
