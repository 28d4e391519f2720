//! Dense kernels shared by the algorithms: squared norms and blocked squared-Euclidean
//! distances through SGEMM, using ‖x − c‖² = ‖x‖² − 2·x·c + ‖c‖².
//!
//! The expansion turns the distance loop into a matrix product (≈ 10× faster than a
//! naive loop at 128+ dimensions) at the price of cancellation when points sit close
//! together far from the origin; callers centre their data first, and results are clamped
//! at zero. Where an exact value is stored (distance to the centroid), use [`sq_dist`].

use crate::Matrix;

/// Rows of the left operand handled per SGEMM call: keeps the dot-product block in cache.
pub const BLOCK_ROWS: usize = 256;

/// ‖row‖² for every row.
pub fn sq_norms(m: &Matrix) -> Vec<f32> {
    (0..m.rows()).map(|i| dot(m.row(i), m.row(i))).collect()
}

/// Dot product. Uses AVX2 and FMA when the CPU has them (checked once, at run time: the
/// default x86-64 target only assumes SSE2), else a portable loop LLVM vectorises.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { x86::dot(a, b) };
    }
    portable::dot(a, b)
}

/// Exact squared Euclidean distance (no expansion, no cancellation); AVX2 + FMA when available.
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { x86::sq_dist(a, b) };
    }
    portable::sq_dist(a, b)
}

/// A float type whose exact squared Euclidean distance the kernels can take: `f32` through
/// [`sq_dist`]'s vector loop, `f64` (prediction, which scores in double precision) by a plain
/// loop.
pub trait SqDist: Copy + PartialOrd {
    const INFINITY: Self;
    fn sq_dist(a: &[Self], b: &[Self]) -> Self;
}

impl SqDist for f32 {
    const INFINITY: f32 = f32::INFINITY;
    #[inline]
    fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
        sq_dist(a, b)
    }
}

impl SqDist for f64 {
    const INFINITY: f64 = f64::INFINITY;
    #[inline]
    fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn avx2_fma() -> bool {
    // std caches the CPUID answer; this is a load and a test.
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

mod portable {
    /// Eight independent accumulators, so that LLVM vectorises the loop.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ca.zip(cb) {
            for j in 0..8 {
                acc[j] += x[j] * y[j];
            }
        }
        acc.iter().sum::<f32>() + tail
    }

    pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
        for (x, y) in ca.zip(cb) {
            for j in 0..8 {
                let d = x[j] - y[j];
                acc[j] += d * d;
            }
        }
        acc.iter().sum::<f32>() + tail
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Sums the eight lanes.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_hadd_ps(s, s);
        _mm_cvtss_f32(_mm_hadd_ps(s, s))
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `a` and `b` must have the same length.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)), acc1);
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
        let mut total = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            total += a[i] * b[i];
            i += 1;
        }
        total
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `a` and `b` must have the same length.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            i += 16;
        }
        if i + 8 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            i += 8;
        }
        let mut total = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            let d = a[i] - b[i];
            total += d * d;
            i += 1;
        }
        total
    }
}

/// `out[i * b.rows() + j] = a.row(i) · b.row(j)`, i.e. `out = a · bᵀ`, row-major.
pub fn dot_block(a: &Matrix, b: &Matrix, out: &mut [f32]) {
    assert_eq!(a.cols(), b.cols());
    assert_eq!(out.len(), a.rows() * b.rows());
    let (m, k, n) = (a.rows(), a.cols(), b.rows());
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the pointers cover exactly m×k, k×n (as bᵀ via strides) and m×n elements,
    // which the asserts above guarantee; `out` is exclusively borrowed.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_slice().as_ptr(),
            k as isize,
            1,
            b.as_slice().as_ptr(),
            1,
            k as isize,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `out = a · bᵀ` in `f64`, all three row-major with `k` columns for `a` and `b`
/// (`a`: `m × k`, `b`: `n × k`, `out`: `m × n`).
pub fn dot_block_f64(a: &[f64], b: &[f64], k: usize, out: &mut [f64]) {
    let (m, n) = (a.len() / k.max(1), b.len() / k.max(1));
    assert_eq!(out.len(), m * n);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // SAFETY: as in `dot_block`: the slices hold exactly m×k, n×k and m×n values.
    unsafe {
        matrixmultiply::dgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, 0.0, out.as_mut_ptr(), n as isize, 1);
    }
}

/// Squared distances from every row of `a` to every row of `b`, in `out` (`a.rows() × b.rows()`),
/// given their precomputed squared norms. Values are clamped at zero.
pub fn sq_dist_block(a: &Matrix, a_norms: &[f32], b: &Matrix, b_norms: &[f32], out: &mut [f32]) {
    dot_block(a, b, out);
    let n = b.rows();
    for (i, row) in out.chunks_exact_mut(n.max(1)).enumerate().take(a.rows()) {
        let an = a_norms[i];
        for (j, v) in row.iter_mut().enumerate() {
            *v = (an + b_norms[j] - 2.0 * *v).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_portable_kernels_agree() {
        for n in [0, 1, 7, 8, 15, 16, 17, 64, 129, 1536] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 31 % 17) as f32) * 0.25 - 2.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32) * 0.5 - 3.0).collect();
            let (d, p) = (sq_dist(&a, &b), portable::sq_dist(&a, &b));
            assert!((d - p).abs() <= 1e-4 * p.max(1.0), "sq_dist n={n}: {d} vs {p}");
            let (d, p) = (dot(&a, &b), portable::dot(&a, &b));
            assert!((d - p).abs() <= 1e-4 * p.abs().max(1.0), "dot n={n}: {d} vs {p}");
        }
    }

    #[test]
    fn block_distances_match_exact_ones() {
        let a: Vec<f32> = (0..7 * 13).map(|i| ((i * 37 % 11) as f32) - 5.0).collect();
        let b: Vec<f32> = (0..3 * 13).map(|i| ((i * 17 % 7) as f32) * 0.5).collect();
        let (a, b) = (Matrix::new(&a, 7, 13).unwrap(), Matrix::new(&b, 3, 13).unwrap());
        let mut out = vec![0.0; 21];
        sq_dist_block(&a, &sq_norms(&a), &b, &sq_norms(&b), &mut out);
        for i in 0..7 {
            for j in 0..3 {
                let exact = sq_dist(a.row(i), b.row(j));
                assert!((out[i * 3 + j] - exact).abs() <= 1e-3 * exact.max(1.0), "{i},{j}");
            }
        }
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
    }
}
