//! Pillow's Lanczos resize of an 8-bit grey image (`Image.resize(size, Image.LANCZOS)`),
//! reproduced to the bit.
//!
//! Pillow resamples in two separable passes, horizontal then vertical, each output pixel a
//! weighted sum of the input pixels under the filter `sinc(x)·sinc(x/3)` for |x| < 3,
//! stretched by the scale factor when shrinking. The weights are computed in `f64`,
//! normalised to sum to one, then rounded to 22-bit fixed point; the sums are integers,
//! rounded and clamped to 0..=255 after each pass. Reproducing that — the same bounds, the
//! same rounding, the intermediate clamp — is what makes our hashes equal imagehash's.

use std::f64::consts::PI;

/// Fixed-point fraction bits: 32 bits less 8 for the pixel and 2 for overshoot.
const PRECISION_BITS: u32 = 32 - 8 - 2;
const LANCZOS_SUPPORT: f64 = 3.0;

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let x = x * PI;
    x.sin() / x
}

fn lanczos(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The weights of one pass: output pixel `i` reads inputs `first[i] .. first[i] + count[i]`
/// with weights `weights[i * stride ..]`.
struct Weights {
    first: Vec<usize>,
    count: Vec<usize>,
    stride: usize,
    weights: Vec<i32>,
}

impl Weights {
    fn new(in_size: usize, out_size: usize) -> Weights {
        let scale = in_size as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = LANCZOS_SUPPORT * filterscale;
        let stride = support.ceil() as usize * 2 + 1;
        let (mut first, mut count) = (Vec::with_capacity(out_size), Vec::with_capacity(out_size));
        let mut weights = vec![0i32; out_size * stride];
        let mut k = vec![0.0f64; stride];
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // C's (int) cast truncates toward zero; negative starts are clamped to 0 anyway.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
            let mut ww = 0.0;
            for (x, kx) in k.iter_mut().enumerate().take(xmax) {
                let w = lanczos(((x + xmin) as f64 - center + 0.5) * ss);
                *kx = w;
                ww += w;
            }
            for (x, kx) in k.iter().enumerate().take(xmax) {
                let w = if ww != 0.0 { kx / ww } else { *kx };
                let fixed = w * f64::from(1u32 << PRECISION_BITS);
                weights[xx * stride + x] = if w < 0.0 { (-0.5 + fixed) as i32 } else { (0.5 + fixed) as i32 };
            }
            first.push(xmin);
            count.push(xmax);
        }
        Weights { first, count, stride, weights }
    }

    /// One output pixel from the inputs `pixel(first ..)`.
    #[inline]
    fn apply(&self, i: usize, pixel: impl Fn(usize) -> u8) -> u8 {
        let k = &self.weights[i * self.stride..][..self.count[i]];
        let mut ss: i32 = 1 << (PRECISION_BITS - 1);
        for (x, &w) in k.iter().enumerate() {
            ss = ss.wrapping_add(i32::from(pixel(self.first[i] + x)).wrapping_mul(w));
        }
        (ss >> PRECISION_BITS).clamp(0, 255) as u8
    }
}

/// Resizes a `width × height` grey image (row-major) to `out_w × out_h`.
///
/// The pass order is Pillow 13's: horizontal first, unless the height shrinks by more than
/// twice as many pixels as the width does. (Older Pillow always went horizontal first; the
/// order changes the intermediate rounding, so very tall images hash a bit or two apart.)
pub fn lanczos_resize(pixels: &[u8], width: usize, height: usize, out_w: usize, out_h: usize) -> Vec<u8> {
    assert_eq!(pixels.len(), width * height, "lanczos_resize: pixels do not match the size");
    assert!(width > 0 && height > 0 && out_w > 0 && out_h > 0, "lanczos_resize: empty image");
    let (need_h, need_v) = (width != out_w, height != out_h);
    let (dh, dw) = (height as i64 - out_h as i64, width as i64 - out_w as i64);
    let horizontal_first = !(dh > 0 && dh > dw * 2);
    if horizontal_first {
        let mut rows = (0, height);
        let vert = need_v.then(|| Weights::new(height, out_h));
        if let Some(v) = &vert {
            // The horizontal pass only computes the rows the vertical pass will read.
            rows = (v.first[0], v.first[out_h - 1] + v.count[out_h - 1]);
        }
        let tmp = if need_h { horizontal(pixels, width, rows, out_w) } else { pixels.to_vec() };
        match vert {
            Some(v) => vertical(&tmp, out_w, rows.0, &v),
            None => tmp,
        }
    } else {
        let tmp = vertical(pixels, width, 0, &Weights::new(height, out_h));
        if need_h {
            horizontal(&tmp, width, (0, out_h), out_w)
        } else {
            tmp
        }
    }
}

/// Rows `rows.0 .. rows.1` of `pixels` (width `width`) resampled to width `out_w`.
fn horizontal(pixels: &[u8], width: usize, rows: (usize, usize), out_w: usize) -> Vec<u8> {
    let w = Weights::new(width, out_w);
    let mut out = vec![0u8; out_w * (rows.1 - rows.0)];
    for (y, out_row) in (rows.0..rows.1).zip(out.chunks_exact_mut(out_w)) {
        let row = &pixels[y * width..][..width];
        for (xx, o) in out_row.iter_mut().enumerate() {
            *o = w.apply(xx, |x| row[x]);
        }
    }
    out
}

/// `pixels` (width `width`, its first row being source row `row0`) resampled vertically.
fn vertical(pixels: &[u8], width: usize, row0: usize, v: &Weights) -> Vec<u8> {
    let out_h = v.first.len();
    let mut out = vec![0u8; width * out_h];
    for yy in 0..out_h {
        for xx in 0..width {
            out[yy * width + xx] = v.apply(yy, |y| pixels[(y - row0) * width + xx]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_image_stays_flat_at_any_size() {
        let img = vec![173u8; 97 * 61];
        for (w, h) in [(32, 32), (9, 8), (8, 8), (200, 130), (97, 8), (8, 61)] {
            assert!(lanczos_resize(&img, 97, 61, w, h).iter().all(|&p| p == 173), "{w}×{h}");
        }
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point_and_cover_the_filter() {
        for (n_in, n_out) in [(1000, 32), (33, 32), (32, 9), (5, 32)] {
            let w = Weights::new(n_in, n_out);
            for i in 0..n_out {
                let sum: i32 = w.weights[i * w.stride..][..w.count[i]].iter().sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() <= w.count[i] as i32, "{n_in}->{n_out} at {i}: {sum}");
                assert!(w.first[i] + w.count[i] <= n_in);
            }
        }
    }

    #[test]
    fn lanczos_overshoots_at_a_hard_edge_and_is_clamped() {
        // Half black, half white: the ringing of the filter must be clamped, not wrap.
        let (w, h) = (64, 4);
        let img: Vec<u8> = (0..w * h).map(|i| if i % w < w / 2 { 0 } else { 255 }).collect();
        let out = lanczos_resize(&img, w, h, 7, 4);
        assert_eq!(out[0], 0);
        assert_eq!(out[6], 255);
    }
}
