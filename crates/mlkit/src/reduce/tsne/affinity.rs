//! t-SNE's input similarities, as openTSNE computes them (`affinity.PerplexityBasedNN`,
//! `_tsne.compute_gaussian_perplexity`):
//!
//! 1. each point's `k = min(n − 1, ⌊3 · perplexity⌋)` nearest neighbours;
//! 2. a Gaussian over those neighbours, `p(j|i) ∝ exp(−τᵢ dᵢⱼ² / 2)`, with the precision `τᵢ`
//!    found by bisection so that the distribution's perplexity `exp(H)` is the one asked for
//!    (to 1e-8 in entropy, at most 200 steps);
//! 3. the joint `P = (P_cond + P_condᵀ) / 2`, normalised to sum 1.
//!
//! `P` is sparse: about `2 k` entries a row, kept as CSR.

use crate::Exec;

/// A sparse matrix in compressed rows: row `i` holds `indices[indptr[i]..indptr[i + 1]]`
/// with `values` at the same positions, columns ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
}

impl Csr {
    /// Row `i`: `(columns, values)`.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[r.clone()], &self.values[r])
    }
}

/// The perplexity openTSNE actually uses: at most `(n − 1) / 3`, so that three times it
/// neighbours exist.
pub fn effective_perplexity(perplexity: f64, n: usize) -> f64 {
    perplexity.min((n.saturating_sub(1)) as f64 / 3.0)
}

/// Neighbours searched for a perplexity: `min(n − 1, ⌊3 · perplexity⌋)`.
pub fn neighbours_for(perplexity: f64, n: usize) -> usize {
    ((3.0 * perplexity) as usize).min(n.saturating_sub(1)).max(1)
}

/// `p(j|i)` for each row of `distances` (`k` per row), each row summing to 1.
pub fn conditional(distances: &[f64], k: usize, perplexity: f64, exec: &Exec) -> Vec<f64> {
    let n = distances.len() / k.max(1);
    let target = perplexity.ln();
    let parts = exec.quick_map(n, 256, |rows| {
        let mut out = Vec::with_capacity(rows.len() * k);
        let mut p = vec![0.0f64; k];
        for i in rows {
            let d = &distances[i * k..(i + 1) * k];
            let (mut tau, mut lo, mut hi) = (1.0f64, f64::NEG_INFINITY, f64::INFINITY);
            for _ in 0..200 {
                let st = tau.sqrt();
                let mut sum = 0.0;
                for (pj, &dj) in p.iter_mut().zip(d) {
                    *pj = st * (-dj * dj * tau * 0.5).exp();
                    sum += *pj;
                }
                sum += f64::EPSILON;
                let spd: f64 = p.iter().zip(d).map(|(pj, dj)| pj / sum * dj * dj).sum();
                let entropy = tau * 0.5 * spd + sum.ln() - tau.ln() * 0.5;
                let diff = entropy - target;
                if diff.abs() <= 1e-8 {
                    break;
                }
                if diff > 0.0 {
                    lo = tau;
                    tau = if hi.is_infinite() { tau * 2.0 } else { (tau + hi) * 0.5 };
                } else {
                    hi = tau;
                    tau = if lo.is_infinite() { tau / 2.0 } else { (tau + lo) * 0.5 };
                }
            }
            // openTSNE normalises by the plain sum (without the epsilon).
            let total: f64 = p.iter().sum();
            out.extend(p.iter().map(|v| if total > 0.0 { v / total } else { 1.0 / k as f64 }));
        }
        out
    });
    parts.concat()
}

/// The joint `P = (C + Cᵀ) / 2`, normalised to sum 1, from the conditional rows `cond`
/// over the neighbour lists `ids` (`k` per row).
pub fn joint(ids: &[u32], cond: &[f64], n: usize, k: usize) -> Csr {
    // Every (i, j, c) lands in row i and, mirrored, in row j.
    let mut count = vec![0usize; n + 1];
    for (t, &j) in ids.iter().enumerate() {
        count[t / k] += 1;
        count[j as usize] += 1;
    }
    let mut start = vec![0usize; n + 1];
    for i in 0..n {
        start[i + 1] = start[i] + count[i];
    }
    let mut fill = start.clone();
    let mut cols = vec![0u32; start[n]];
    let mut vals = vec![0.0f64; start[n]];
    for (t, (&j, &c)) in ids.iter().zip(cond).enumerate() {
        let i = t / k;
        cols[fill[i]] = j;
        vals[fill[i]] = c / 2.0;
        fill[i] += 1;
        cols[fill[j as usize]] = i as u32;
        vals[fill[j as usize]] = c / 2.0;
        fill[j as usize] += 1;
    }
    // Sort each row by column and add up the entries that met twice.
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity(start[n]);
    let mut values = Vec::with_capacity(start[n]);
    let mut row: Vec<(u32, f64)> = Vec::new();
    indptr.push(0);
    for i in 0..n {
        row.clear();
        row.extend(cols[start[i]..start[i + 1]].iter().copied().zip(vals[start[i]..start[i + 1]].iter().copied()));
        row.sort_unstable_by_key(|e| e.0);
        for &(c, v) in &row {
            if indices.len() > indptr[i] && *indices.last().unwrap_or(&u32::MAX) == c {
                *values.last_mut().expect("a value for every index") += v;
            } else {
                indices.push(c);
                values.push(v);
            }
        }
        indptr.push(indices.len());
    }
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| *v /= total);
    }
    Csr { indptr, indices, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_rows_reach_the_perplexity() {
        let mut none = |_| {};
        let exec = Exec::new(1, &mut none);
        let d: Vec<f64> = (0..90).map(|j| 1.0 + j as f64 * 0.1).collect();
        let p = conditional(&d, 90, 30.0, &exec);
        let h: f64 = -p.iter().filter(|&&v| v > 0.0).map(|v| v * v.ln()).sum::<f64>();
        assert!((h.exp() - 30.0).abs() < 1e-5, "perplexity {}", h.exp());
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn joint_is_symmetric_and_sums_to_one() {
        // Three points, two neighbours each, with uneven conditionals.
        let ids = [1, 2, 0, 2, 1, 0];
        let cond = [0.7, 0.3, 0.6, 0.4, 0.9, 0.1];
        let p = joint(&ids, &cond, 3, 2);
        let get = |i: usize, j: u32| {
            let (c, v) = p.row(i);
            c.iter().position(|&x| x == j).map(|t| v[t]).unwrap_or(0.0)
        };
        assert!((p.values.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for i in 0..3 {
            for j in 0..3u32 {
                assert!((get(i, j) - get(j as usize, i as u32)).abs() < 1e-15);
            }
        }
        assert!((get(0, 1) - (0.7 + 0.6) / 2.0 / 3.0).abs() < 1e-12);
    }
}
