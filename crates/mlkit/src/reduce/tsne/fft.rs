//! FFT-accelerated interpolation of t-SNE's repulsive forces in 2-D (FIt-SNE: Linderman et
//! al., 2019), as openTSNE's `estimate_negative_gradient_fft_2d` computes it.
//!
//! The embedding's bounding square is cut into `b × b` boxes (`b = max(50, span)`, rounded
//! up to an FFT-friendly size), each with `3 × 3` equispaced interpolation nodes. The
//! kernel sums every point needs,
//!
//! `φ_t(yᵢ) = Σⱼ K(yᵢ, yⱼ) v_t(yⱼ)` with `K = (1 + ‖yᵢ − yⱼ‖²)⁻²` and `v = (1, y₁, y₂, ‖y‖²)`,
//!
//! are approximated by (1) spreading each point's `v` onto the nodes of its box with
//! Lagrange weights, (2) the kernel between all pairs of nodes — a Toeplitz matrix, applied
//! as a circular convolution by FFT — and (3) interpolating the result back at the points.
//! From the four sums come `Z = Σᵢ [(1 + ‖yᵢ‖²) φ₀ − 2 yᵢ·(φ₁, φ₂) + φ₃] − n` and each
//! point's repulsion `(yᵢ φ₀ − (φ₁, φ₂)) / Z`.
//!
//! The four convolutions run as two complex ones (two real terms as the real and imaginary
//! parts of one input: the kernel is real, so they do not mix).

use crate::Exec;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Interpolation nodes per box side.
const NODES: usize = 3;

/// FFT-friendly box counts (2^a 3^b 5^c 7^d 11^e 13^f, e + f ≤ 1), as openTSNE's list.
const SIZES: [usize; 206] = [
    20, 21, 22, 24, 25, 26, 27, 28, 30, 32, 33, 35, 36, 39, 40, 42, 44, 45, 48, 49, 50, 52, 54, 55, 56, 60, 63, 64, 65, 66, 70, 72, 75, 77,
    78, 80, 81, 84, 88, 90, 91, 96, 98, 99, 100, 104, 105, 108, 110, 112, 117, 120, 125, 126, 128, 130, 132, 135, 140, 144, 147, 150, 154,
    156, 160, 162, 165, 168, 175, 176, 180, 182, 189, 192, 195, 196, 198, 200, 208, 210, 216, 220, 224, 225, 231, 234, 240, 243, 245, 250,
    252, 256, 260, 264, 270, 273, 275, 280, 288, 294, 297, 300, 308, 312, 315, 320, 324, 325, 330, 336, 343, 350, 351, 352, 360, 364, 375,
    378, 384, 385, 390, 392, 396, 400, 405, 416, 420, 432, 440, 441, 448, 450, 455, 462, 468, 480, 486, 490, 495, 500, 504, 512, 520, 525,
    528, 539, 540, 546, 550, 560, 567, 576, 585, 588, 594, 600, 616, 624, 625, 630, 637, 640, 648, 650, 660, 672, 675, 686, 693, 700, 702,
    704, 720, 728, 729, 735, 750, 756, 768, 770, 780, 784, 792, 800, 810, 819, 825, 832, 840, 864, 875, 880, 882, 891, 896, 900, 910, 924,
    936, 945, 960, 972, 975, 980, 990, 1000,
];

/// Boxes per side for an embedding spanning `span`.
pub fn boxes_for(span: f64, min_intervals: usize, ints_in_interval: f64) -> usize {
    let want = (min_intervals as f64).max(span / ints_in_interval) as usize;
    SIZES.iter().copied().find(|&s| s >= want).unwrap_or(1000)
}

/// FFT plans, kept across iterations (the grid size changes rarely).
pub struct Plans {
    planner: FftPlanner<f64>,
    size: usize,
    forward: Option<Arc<dyn Fft<f64>>>,
    inverse: Option<Arc<dyn Fft<f64>>>,
}

impl Default for Plans {
    fn default() -> Self {
        Self { planner: FftPlanner::new(), size: 0, forward: None, inverse: None }
    }
}

impl Plans {
    fn get(&mut self, size: usize) -> (Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>) {
        if self.size != size || self.forward.is_none() {
            self.forward = Some(self.planner.plan_fft_forward(size));
            self.inverse = Some(self.planner.plan_fft_inverse(size));
            self.size = size;
        }
        (self.forward.clone().expect("planned above"), self.inverse.clone().expect("planned above"))
    }
}

/// Lagrange weights of the nodes `h/2, 3h/2, 5h/2` (h = 1/3) at `x` in `[0, 1]`.
fn lagrange(x: f64) -> [f64; NODES] {
    let h = 1.0 / NODES as f64;
    let t: [f64; NODES] = std::array::from_fn(|i| h / 2.0 + i as f64 * h);
    std::array::from_fn(|j| {
        let mut num = 1.0;
        let mut den = 1.0;
        for k in 0..NODES {
            if k != j {
                num *= x - t[k];
                den *= t[j] - t[k];
            }
        }
        num / den
    })
}

/// Adds each point's repulsion to `force` (`n × 2`) and returns `Z`.
pub fn repulse(y: &[f64], force: &mut [f64], min_intervals: usize, ints_in_interval: f64, plans: &mut Plans, exec: &Exec) -> f64 {
    let n = y.len() / 2;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in y {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let b = boxes_for(hi - lo, min_intervals, ints_in_interval);
    let width = (hi - lo) / b as f64;
    let m = b * NODES; // nodes per side
    let size = 2 * m; // the circulant embedding

    // Each point's box and Lagrange weights along x and y.
    let mut place = Vec::with_capacity(n);
    for p in y.chunks_exact(2) {
        let bx = (((p[0] - lo) / width) as usize).min(b - 1);
        let by = (((p[1] - lo) / width) as usize).min(b - 1);
        let wx = lagrange((p[0] - (lo + bx as f64 * width)) / width);
        let wy = lagrange((p[1] - (lo + by as f64 * width)) / width);
        place.push((bx, by, wx, wy));
    }

    // (1) Spread v = (1, y1, y2, |y|²) onto the nodes: terms 0/1 in one complex grid,
    // 2/3 in the other; node (gx, gy) at row gx, column gy.
    let mut g1 = vec![Complex::new(0.0, 0.0); size * size];
    let mut g2 = vec![Complex::new(0.0, 0.0); size * size];
    for (p, &(bx, by, wx, wy)) in y.chunks_exact(2).zip(&place) {
        let v = [1.0, p[0], p[1], p[0] * p[0] + p[1] * p[1]];
        for (ix, wxi) in wx.iter().enumerate() {
            for (iy, wyi) in wy.iter().enumerate() {
                let w = wxi * wyi;
                let at = (bx * NODES + ix) * size + by * NODES + iy;
                g1[at] += Complex::new(w * v[0], w * v[1]);
                g2[at] += Complex::new(w * v[2], w * v[3]);
            }
        }
    }

    // (2) The kernel between nodes, embedded in a circulant of side 2m.
    let spacing = width / NODES as f64;
    let mut kernel = vec![Complex::new(0.0, 0.0); size * size];
    for i in 0..m {
        for j in 0..m {
            let (di, dj) = (i as f64 * spacing, j as f64 * spacing);
            let q = 1.0 / (1.0 + di * di + dj * dj);
            let k = Complex::new(q * q, 0.0);
            for (r, c) in [(m + i, m + j), (m - i, m + j), (m + i, m - j), (m - i, m - j)] {
                kernel[r * size + c] = k;
            }
        }
    }
    let (fwd, inv) = plans.get(size);
    // Inputs are zero outside their first m rows; only rows m.. of the outputs are read.
    fft2(&mut kernel, size, &fwd, exec, 0..size, false);
    fft2(&mut g1, size, &fwd, exec, 0..m, false);
    fft2(&mut g2, size, &fwd, exec, 0..m, false);
    for ((a, c), k) in g1.iter_mut().zip(g2.iter_mut()).zip(&kernel) {
        *a *= k;
        *c *= k;
    }
    fft2(&mut g1, size, &inv, exec, m..size, true);
    fft2(&mut g2, size, &inv, exec, m..size, true);
    let scale = 1.0 / (size * size) as f64;

    // (3) Interpolate the four sums back at every point; the node (gx, gy) sum sits at
    // (m + gx, m + gy) of the convolution.
    let phi = exec.quick_map(n, 4096, |rows| {
        let mut out = Vec::with_capacity(rows.len());
        for i in rows {
            let (bx, by, wx, wy) = place[i];
            let mut f = [0.0f64; 4];
            for (ix, wxi) in wx.iter().enumerate() {
                for (iy, wyi) in wy.iter().enumerate() {
                    let w = wxi * wyi * scale;
                    let at = (m + bx * NODES + ix) * size + m + by * NODES + iy;
                    f[0] += w * g1[at].re;
                    f[1] += w * g1[at].im;
                    f[2] += w * g2[at].re;
                    f[3] += w * g2[at].im;
                }
            }
            out.push(f);
        }
        out
    });
    let mut z = 0.0;
    let mut i = 0;
    for part in &phi {
        for f in part {
            let (y1, y2) = (y[2 * i], y[2 * i + 1]);
            z += (1.0 + y1 * y1 + y2 * y2) * f[0] - 2.0 * (y1 * f[1] + y2 * f[2]) + f[3];
            i += 1;
        }
    }
    z -= n as f64;
    let mut i = 0;
    for part in &phi {
        for f in part {
            force[2 * i] -= (y[2 * i] * f[0] - f[1]) / (z + f64::EPSILON);
            force[2 * i + 1] -= (y[2 * i + 1] * f[0] - f[2]) / (z + f64::EPSILON);
            i += 1;
        }
    }
    z
}

/// In-place 2-D FFT of a `size × size` grid: the rows `rows` (the others are zero on the
/// way in, or not needed on the way out), then every column.
fn fft2(grid: &mut [Complex<f64>], size: usize, fft: &Arc<dyn Fft<f64>>, exec: &Exec, rows: std::ops::Range<usize>, columns_first: bool) {
    let row_pass = |grid: &mut [Complex<f64>]| {
        exec.quick_map_mut(&mut grid[rows.start * size..rows.end * size], size * 32, |_, chunk| {
            let mut scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
            for row in chunk.chunks_exact_mut(size) {
                fft.process_with_scratch(row, &mut scratch);
            }
        });
    };
    if !columns_first {
        row_pass(grid);
    }
    // Columns, a block of them at a time: gathered into contiguous rows, transformed,
    // scattered back (no full transposes).
    const COLS: usize = 16;
    let g: &[Complex<f64>] = grid;
    let blocks = exec.quick_map(size.div_ceil(COLS), 4, |bs| {
        let mut out = Vec::with_capacity(bs.len());
        let mut scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        for blk in bs {
            let (c0, c1) = (blk * COLS, ((blk + 1) * COLS).min(size));
            let w = c1 - c0;
            let mut buf = vec![Complex::new(0.0, 0.0); w * size];
            for r in 0..size {
                for (t, v) in g[r * size + c0..r * size + c1].iter().enumerate() {
                    buf[t * size + r] = *v;
                }
            }
            for col in buf.chunks_exact_mut(size) {
                fft.process_with_scratch(col, &mut scratch);
            }
            out.push((c0, w, buf));
        }
        out
    });
    for (c0, w, buf) in blocks.into_iter().flatten() {
        for r in 0..size {
            for t in 0..w {
                grid[r * size + c0 + t] = buf[t * size + r];
            }
        }
    }
    if columns_first {
        row_pass(grid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interpolated Z and forces agree with the exact sums to interpolation accuracy.
    #[test]
    fn interpolation_matches_exact_sums() {
        let mut none = |_| {};
        let exec = Exec::new(1, &mut none);
        let mut rng = crate::rng::Rng::new(3);
        let n = 300;
        let y: Vec<f64> = (0..2 * n).map(|_| rng.next_f64() * 20.0 - 10.0).collect();
        let mut force = vec![0.0; 2 * n];
        let z = repulse(&y, &mut force, 50, 1.0, &mut Plans::default(), &exec);
        let mut exact_z = 0.0;
        let mut exact_f = vec![0.0; 2 * n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let (dx, dy) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
                    let q = 1.0 / (1.0 + dx * dx + dy * dy);
                    exact_z += q;
                    exact_f[2 * i] -= q * q * dx;
                    exact_f[2 * i + 1] -= q * q * dy;
                }
            }
        }
        assert!((z - exact_z).abs() < 1e-3 * exact_z, "Z {z} vs {exact_z}");
        let scale = exact_f.iter().map(|v| v.abs()).fold(0.0, f64::max) / exact_z;
        for i in 0..2 * n {
            assert!((force[i] - exact_f[i] / exact_z).abs() < 1e-2 * scale, "force {i}: {} vs {}", force[i], exact_f[i] / exact_z);
        }
    }
}
