//! The unnormalised type-II discrete cosine transform, `y[k] = 2 Σ x[n] cos(πk(2n+1)/2N)`,
//! computed in exactly the floating-point operations that `scipy.fftpack.dct` performs.
//!
//! Why exactly: a perceptual hash keeps one bit per coefficient, "above the median or not".
//! Many real images (flat backgrounds, symmetric graphics, gradients) have coefficients that
//! are mathematically equal, often zero, and then the last bit of rounding decides the hash.
//! SciPy's pocketfft gets those zeros exactly; a textbook `Σ x cos` does not. So this module
//! follows pocketfft's algorithm step for step (for lengths that are powers of two, which is
//! every size imagehash's defaults use):
//!
//! 1. Fold the input (`x[0]` and `x[N-1]` doubled; neighbouring pairs turned into differences
//!    and sums) so that a real backward FFT of length N yields the DCT up to a twiddle.
//! 2. The backward real FFT (FFTPACK's half-complex layout) as passes of radix 2 and 4: the
//!    factor 2 first when N is not a power of four, then 4s.
//! 3. Rotate each pair `(k, N-k)` by the twiddle `cos(2π(k+1)/4N)`.
//!
//! The twiddles are computed as pocketfft computes them: sines and cosines of angles in the
//! first octant only, then products of a fine and a coarse table. Rust's `sin` and `cos` call
//! the same C library (glibc) that SciPy's wheels use.

use std::f64::consts::{PI, SQRT_2};

/// A prepared transform of one length.
#[derive(Debug, Clone)]
pub struct Dct2 {
    n: usize,
    /// `cos(2π(i+1)/4N)` for i in 0..N.
    twiddle: Vec<f64>,
    /// The FFT's radices in the order the backward transform applies them, with their twiddles.
    passes: Vec<Pass>,
}

#[derive(Debug, Clone)]
struct Pass {
    radix: usize,
    l1: usize,
    ido: usize,
    tw: Vec<f64>,
}

impl Dct2 {
    /// Prepares the transform of length `n`; `None` unless `n` is a power of two ≥ 2.
    pub fn new(n: usize) -> Option<Dct2> {
        if n < 2 || !n.is_power_of_two() {
            return None;
        }
        let quarter = Twiddles::new(4 * n);
        let twiddle = (0..n).map(|i| quarter.get(i + 1).0).collect();
        // Radices: 4 while 4 divides, a 2 for the rest, and the 2 moved to the front.
        let mut radices = vec![];
        let mut len = n;
        while len.is_multiple_of(4) {
            radices.push(4);
            len /= 4;
        }
        if len.is_multiple_of(2) {
            radices.push(2);
            let last = radices.len() - 1;
            radices.swap(0, last);
        }
        let full = Twiddles::new(n);
        let mut passes = vec![];
        let mut l1 = 1;
        for (k, &radix) in radices.iter().enumerate() {
            let ido = n / (l1 * radix);
            let mut tw = vec![0.0; (radix - 1) * (ido - 1)];
            if k + 1 < radices.len() {
                for j in 1..radix {
                    for i in 1..=(ido - 1) / 2 {
                        let (re, im) = full.get(j * l1 * i);
                        tw[(j - 1) * (ido - 1) + 2 * i - 2] = re;
                        tw[(j - 1) * (ido - 1) + 2 * i - 1] = im;
                    }
                }
            }
            passes.push(Pass { radix, l1, ido, tw });
            l1 *= radix;
        }
        Some(Dct2 { n, twiddle, passes })
    }

    /// The length this transform was prepared for.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether it was prepared for length 0 (it never is: lengths are those of hash inputs).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Transforms `c` (of the prepared length) in place; `scratch` is any buffer of that length.
    pub fn apply(&self, c: &mut [f64], scratch: &mut [f64]) {
        let n = self.n;
        assert!(c.len() == n && scratch.len() == n, "Dct2::apply: buffers of length {n}");
        c[0] *= 2.0;
        c[n - 1] *= 2.0;
        let mut k = 1;
        while k < n - 1 {
            let t = c[k + 1];
            c[k + 1] -= c[k];
            c[k] += t;
            k += 2;
        }
        self.backward_fft(c, scratch);
        let half = n.div_ceil(2);
        for k in 1..half {
            let kc = n - k;
            let t1 = self.twiddle[k - 1] * c[kc] + self.twiddle[kc - 1] * c[k];
            let t2 = self.twiddle[k - 1] * c[k] - self.twiddle[kc - 1] * c[kc];
            c[k] = 0.5 * (t1 + t2);
            c[kc] = 0.5 * (t1 - t2);
        }
        c[half] *= self.twiddle[half - 1];
    }

    /// The real backward FFT of a half-complex sequence, unnormalised.
    fn backward_fft(&self, c: &mut [f64], scratch: &mut [f64]) {
        let mut in_c = true;
        for p in &self.passes {
            let (src, dst): (&[f64], &mut [f64]) = if in_c { (&*c, &mut *scratch) } else { (&*scratch, &mut *c) };
            match p.radix {
                4 => radb4(p.ido, p.l1, src, dst, &p.tw),
                _ => radb2(p.ido, p.l1, src, dst, &p.tw),
            }
            in_c = !in_c;
        }
        if !in_c {
            c.copy_from_slice(scratch);
        }
    }
}

/// Radix-2 backward pass: `cc` is (ido, 2, l1), `ch` is (ido, l1, 2).
fn radb2(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let cc_at = |a: usize, b: usize, c: usize| cc[a + ido * (b + 2 * c)];
    let ch_at = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    for k in 0..l1 {
        let (x, y) = (cc_at(0, 0, k), cc_at(ido - 1, 1, k));
        ch[ch_at(0, k, 0)] = x + y;
        ch[ch_at(0, k, 1)] = x - y;
    }
    if ido.is_multiple_of(2) {
        for k in 0..l1 {
            ch[ch_at(ido - 1, k, 0)] = 2.0 * cc_at(ido - 1, 0, k);
            ch[ch_at(ido - 1, k, 1)] = -2.0 * cc_at(0, 1, k);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            ch[ch_at(i - 1, k, 0)] = cc_at(i - 1, 0, k) + cc_at(ic - 1, 1, k);
            let tr2 = cc_at(i - 1, 0, k) - cc_at(ic - 1, 1, k);
            let ti2 = cc_at(i, 0, k) + cc_at(ic, 1, k);
            ch[ch_at(i, k, 0)] = cc_at(i, 0, k) - cc_at(ic, 1, k);
            let (wr, wi) = (wa[i - 2], wa[i - 1]);
            ch[ch_at(i, k, 1)] = wr * ti2 + wi * tr2;
            ch[ch_at(i - 1, k, 1)] = wr * tr2 - wi * ti2;
        }
    }
}

/// Radix-4 backward pass: `cc` is (ido, 4, l1), `ch` is (ido, l1, 4).
fn radb4(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let cc_at = |a: usize, b: usize, c: usize| cc[a + ido * (b + 4 * c)];
    let ch_at = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let wa_at = |x: usize, i: usize| wa[i + x * (ido - 1)];
    for k in 0..l1 {
        let (tr2, tr1) = (cc_at(0, 0, k) + cc_at(ido - 1, 3, k), cc_at(0, 0, k) - cc_at(ido - 1, 3, k));
        let tr3 = 2.0 * cc_at(ido - 1, 1, k);
        let tr4 = 2.0 * cc_at(0, 2, k);
        ch[ch_at(0, k, 0)] = tr2 + tr3;
        ch[ch_at(0, k, 2)] = tr2 - tr3;
        ch[ch_at(0, k, 3)] = tr1 + tr4;
        ch[ch_at(0, k, 1)] = tr1 - tr4;
    }
    if ido.is_multiple_of(2) {
        for k in 0..l1 {
            let (ti1, ti2) = (cc_at(0, 3, k) + cc_at(0, 1, k), cc_at(0, 3, k) - cc_at(0, 1, k));
            let (tr2, tr1) = (cc_at(ido - 1, 0, k) + cc_at(ido - 1, 2, k), cc_at(ido - 1, 0, k) - cc_at(ido - 1, 2, k));
            ch[ch_at(ido - 1, k, 0)] = tr2 + tr2;
            ch[ch_at(ido - 1, k, 1)] = SQRT_2 * (tr1 - ti1);
            ch[ch_at(ido - 1, k, 2)] = ti2 + ti2;
            ch[ch_at(ido - 1, k, 3)] = -SQRT_2 * (tr1 + ti1);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (tr2, tr1) = (cc_at(i - 1, 0, k) + cc_at(ic - 1, 3, k), cc_at(i - 1, 0, k) - cc_at(ic - 1, 3, k));
            let (ti1, ti2) = (cc_at(i, 0, k) + cc_at(ic, 3, k), cc_at(i, 0, k) - cc_at(ic, 3, k));
            let (tr4, ti3) = (cc_at(i, 2, k) + cc_at(ic, 1, k), cc_at(i, 2, k) - cc_at(ic, 1, k));
            let (tr3, ti4) = (cc_at(i - 1, 2, k) + cc_at(ic - 1, 1, k), cc_at(i - 1, 2, k) - cc_at(ic - 1, 1, k));
            ch[ch_at(i - 1, k, 0)] = tr2 + tr3;
            let cr3 = tr2 - tr3;
            ch[ch_at(i, k, 0)] = ti2 + ti3;
            let ci3 = ti2 - ti3;
            let (cr4, cr2) = (tr1 + tr4, tr1 - tr4);
            let (ci2, ci4) = (ti1 + ti4, ti1 - ti4);
            for (x, ci, cr) in [(0, ci2, cr2), (1, ci3, cr3), (2, ci4, cr4)] {
                let (wr, wi) = (wa_at(x, i - 2), wa_at(x, i - 1));
                ch[ch_at(i, k, x + 1)] = wr * ci + wi * cr;
                ch[ch_at(i - 1, k, x + 1)] = wr * cr - wi * ci;
            }
        }
    }
}

/// `e^{2πi·idx/n}` as pocketfft tabulates it: a fine table `v1` of the first `mask + 1`
/// angles and a coarse table `v2` of multiples of `mask + 1`, multiplied on lookup; each entry
/// from a sine or cosine of an angle no larger than π/4.
struct Twiddles {
    n: usize,
    shift: u32,
    mask: usize,
    v1: Vec<(f64, f64)>,
    v2: Vec<(f64, f64)>,
}

impl Twiddles {
    fn new(n: usize) -> Twiddles {
        // π/4n; exact for the powers of two used here, as pocketfft's long-double quotient is.
        let ang = 0.25 * PI / n as f64;
        let nval = (n + 2) / 2;
        let mut shift = 1;
        while (1usize << shift) * (1usize << shift) < nval {
            shift += 1;
        }
        let mask = (1usize << shift) - 1;
        let v1 = (0..=mask).map(|i| if i == 0 { (1.0, 0.0) } else { octant(i, n, ang) }).collect();
        let v2 = (0..nval.div_ceil(mask + 1)).map(|i| if i == 0 { (1.0, 0.0) } else { octant(i * (mask + 1), n, ang) }).collect();
        Twiddles { n, shift, mask, v1, v2 }
    }

    fn get(&self, idx: usize) -> (f64, f64) {
        let (i, sign) = if 2 * idx <= self.n { (idx, 1.0) } else { (self.n - idx, -1.0) };
        let (a, b) = (self.v1[i & self.mask], self.v2[i >> self.shift]);
        (a.0 * b.0 - a.1 * b.1, sign * (a.0 * b.1 + a.1 * b.0))
    }
}

/// `e^{2πi·x/n}` from a sine or cosine of at most π/4, by the octant `x` falls in.
fn octant(x: usize, n: usize, ang: f64) -> (f64, f64) {
    let x = x << 3;
    let at = |v: usize| v as f64 * ang;
    if x < 4 * n {
        if x < 2 * n {
            if x < n {
                (at(x).cos(), at(x).sin())
            } else {
                (at(2 * n - x).sin(), at(2 * n - x).cos())
            }
        } else {
            let x = x - 2 * n;
            if x < n {
                (-at(x).sin(), at(x).cos())
            } else {
                (-at(2 * n - x).cos(), at(2 * n - x).sin())
            }
        }
    } else {
        let x = 8 * n - x;
        if x < 2 * n {
            if x < n {
                (at(x).cos(), -at(x).sin())
            } else {
                (at(2 * n - x).sin(), -at(2 * n - x).cos())
            }
        } else {
            let x = x - 2 * n;
            if x < n {
                (-at(x).sin(), -at(x).cos())
            } else {
                (-at(2 * n - x).cos(), -at(2 * n - x).sin())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textbook(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        (0..n).map(|k| 2.0 * (0..n).map(|i| x[i] * (PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64).cos()).sum::<f64>()).collect()
    }

    #[test]
    fn equals_the_definition_at_every_power_of_two() {
        for n in [2, 4, 8, 16, 32, 64, 128] {
            let dct = Dct2::new(n).unwrap();
            let x: Vec<f64> = (0..n).map(|i| ((i * 37 + 11) % 256) as f64).collect();
            let (mut c, mut s) = (x.clone(), vec![0.0; n]);
            dct.apply(&mut c, &mut s);
            for (a, b) in c.iter().zip(textbook(&x)) {
                assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "n={n}: {a} vs {b}");
            }
        }
        assert!(Dct2::new(12).is_none() && Dct2::new(1).is_none());
    }

    #[test]
    fn a_constant_has_exactly_zero_cosine_terms() {
        // What SciPy returns, and what the textbook sum misses by rounding.
        let dct = Dct2::new(32).unwrap();
        let (mut c, mut s) = (vec![77.0; 32], vec![0.0; 32]);
        dct.apply(&mut c, &mut s);
        assert_eq!(c[0], 2.0 * 77.0 * 32.0);
        assert!(c[1..].iter().all(|&v| v == 0.0), "{c:?}");
    }
}
