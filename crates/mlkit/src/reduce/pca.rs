//! Principal component analysis, as scikit-learn's `PCA` defines it: the data centred on its
//! mean, the components the leading eigenvectors of its covariance (the right singular
//! vectors of the centred data), `explained_variance` the eigenvalues (variance with
//! `n − 1`), each component's sign chosen as scikit-learn's `svd_flip` chooses it (the
//! largest-magnitude coordinate positive), and with `whiten` coordinates divided by the square
//! root of their variance.
//!
//! This module computes the exact decomposition from the `d × d` covariance, for data of up
//! to a few hundred features; wide data (1,536-dimensional embeddings) needs the randomized
//! method that is still to come.

use super::eigen;
use crate::Matrix;

/// How many components to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Components {
    /// Exactly this many.
    Count(usize),
    /// As many as explain more than this share of the variance (0 < share < 1), as
    /// scikit-learn's fractional `n_components`.
    Variance(f64),
}

/// A fitted PCA.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    pub mean: Vec<f64>,
    /// `k × d`, row-major: component `c` is row `c`.
    pub components: Vec<f64>,
    pub explained_variance: Vec<f64>,
    pub explained_variance_ratio: Vec<f64>,
    pub whiten: bool,
    pub dim: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// More components than `min(rows, features)`, or none.
    ComponentCount { asked: usize, max: usize },
    /// A variance share outside (0, 1).
    VarianceShare(f64),
    /// Fewer than two rows.
    TooFewRows(usize),
}

impl Pca {
    /// The first `k` coordinates of every row of `x` (`rows × k`, row-major).
    pub fn transform(&self, x: &Matrix) -> Vec<f64> {
        let k = self.explained_variance.len();
        let mut out = Vec::with_capacity(x.rows() * k);
        for i in 0..x.rows() {
            let row = x.row(i);
            for c in 0..k {
                let comp = &self.components[c * self.dim..(c + 1) * self.dim];
                let mut v: f64 = comp.iter().zip(row).zip(&self.mean).map(|((w, &xv), m)| w * (f64::from(xv) - m)).sum();
                if self.whiten {
                    v /= self.explained_variance[c].sqrt();
                }
                out.push(v);
            }
        }
        out
    }
}

/// Fits a PCA of `x` keeping `components`.
pub fn fit(x: &Matrix, components: Components, whiten: bool) -> Result<Pca, Error> {
    let (n, d) = (x.rows(), x.cols());
    if n < 2 {
        return Err(Error::TooFewRows(n));
    }
    let max = n.min(d);
    if let Components::Count(k) = components {
        if k == 0 || k > max {
            return Err(Error::ComponentCount { asked: k, max });
        }
    }
    if let Components::Variance(s) = components {
        if !(s > 0.0 && s < 1.0) {
            return Err(Error::VarianceShare(s));
        }
    }
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(x.row(i)) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = vec![0.0f64; d * d];
    let mut centred = vec![0.0f64; d];
    for i in 0..n {
        for ((c, &v), m) in centred.iter_mut().zip(x.row(i)).zip(&mean) {
            *c = f64::from(v) - m;
        }
        for a in 0..d {
            let ca = centred[a];
            for b in a..d {
                cov[a * d + b] += ca * centred[b];
            }
        }
    }
    for a in 0..d {
        for b in a..d {
            cov[a * d + b] /= (n - 1) as f64;
            cov[b * d + a] = cov[a * d + b];
        }
    }
    let total: f64 = (0..d).map(|a| cov[a * d + a]).sum();
    let (values, vectors) = eigen::symmetric(&cov, d);
    let values: Vec<f64> = values.into_iter().map(|v| v.max(0.0)).collect();
    let ratio: Vec<f64> = values.iter().map(|v| if total > 0.0 { v / total } else { 0.0 }).collect();
    let k = match components {
        Components::Count(k) => k,
        Components::Variance(share) => {
            // scikit-learn: the number of components whose cumulative ratio first exceeds the share.
            let mut cum = 0.0;
            let mut k = 0;
            for r in &ratio {
                cum += r;
                k += 1;
                if cum > share {
                    break;
                }
            }
            k.min(max)
        }
    };
    let mut comps = vectors[..k * d].to_vec();
    // svd_flip: make the largest-magnitude coordinate of every component positive.
    for c in 0..k {
        let row = &mut comps[c * d..(c + 1) * d];
        let big = row.iter().copied().fold(0.0f64, |acc, v| if v.abs() > acc.abs() { v } else { acc });
        if big < 0.0 {
            row.iter_mut().for_each(|v| *v = -*v);
        }
    }
    Ok(Pca {
        mean,
        components: comps,
        explained_variance: values[..k].to_vec(),
        explained_variance_ratio: ratio[..k].to_vec(),
        whiten,
        dim: d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_dominant_direction_and_its_variance() {
        // Points along (3, 4)/5 with small noise across: one component explains nearly all.
        let mut data = vec![];
        for i in 0..200 {
            let t = (i as f64 - 100.0) / 10.0;
            let e = if i % 2 == 0 { 0.01 } else { -0.01 };
            data.push((0.6 * t - 0.8 * e) as f32);
            data.push((0.8 * t + 0.6 * e) as f32);
        }
        let x = Matrix::new(&data, 200, 2).unwrap();
        let p = fit(&x, Components::Count(2), false).unwrap();
        assert!((p.components[0].abs() - 0.6).abs() < 1e-4 && (p.components[1].abs() - 0.8).abs() < 1e-4, "{p:?}");
        assert!(p.explained_variance_ratio[0] > 0.999);
        assert_eq!(fit(&x, Components::Variance(0.99), false).unwrap().explained_variance.len(), 1);
        // Whitened coordinates have unit variance.
        let w = fit(&x, Components::Count(1), true).unwrap().transform(&x);
        let var = w.iter().map(|v| v * v).sum::<f64>() / 199.0;
        assert!((var - 1.0).abs() < 1e-6, "{var}");
        assert_eq!(fit(&x, Components::Count(3), false).unwrap_err(), Error::ComponentCount { asked: 3, max: 2 });
    }
}
