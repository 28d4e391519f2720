//! Meta's PDQ perceptual image hash, bit for bit as PyPI `pdqhash` 0.2.8 computes it.
//!
//! PDQ ("Perceptual hash, Discrete cosine transform, Quality metric") turns a picture into
//! 256 bits and a quality from 0 to 100. `pdqhash` 0.2.8 is Cython around Meta's C++ in
//! ThreatExchange (`pdq/cpp`, at commit `4af74a5e`); every step below follows one function
//! of it, in the same `f32` arithmetic and the same order of operations, so the bits are
//! the same, not merely close:
//!
//! 1. **Luminance** (`pdqhash/bindings.pyx`, `compute`). Not the C++
//!    `fillFloatLumaFromRGB`: the binding computes, in NumPy's `float64`,
//!    `R·0.299 + G·0.587 + B·0.114` (added left to right) and rounds it to `f32`.
//! 2. **Too small** (`pdqhashing.cpp`, `pdqHash256FromFloatLuma`): fewer than 5 rows or
//!    columns give the all-zero hash and quality 0.
//! 3. **Blur** (`downscaling.cpp`, `jaroszFilterFloat`): two passes of a box filter along
//!    the rows then along the columns, each a running sum (`box1DFloat`: add the entering
//!    sample, subtract the leaving one, divide by the window's current length, which is
//!    shorter at both ends). The window is `⌈n / 128⌉` samples along a side of `n`
//!    (`computeJaroszFilterWindowSize(n, 64)`): two passes of a tent that wide cover the
//!    `n / 64` samples that become one.
//! 4. **Decimate** (`decimateFloat`): the 64 × 64 samples at the centres,
//!    row `⌊(i + ½)·rows / 64⌋`, column `⌊(j + ½)·cols / 64⌋`. A picture of exactly
//!    64 × 64 skips steps 3 and 4 (`pdqFloat256FromFloatLuma`), except for the dihedral
//!    hashes, whose function always blurs (windows of 1: running sums, which can move the
//!    last bits of the samples).
//! 5. **Quality** (`pdqImageDomainQualityMetric`): the sum over neighbouring pairs of the
//!    64 × 64 samples, down and across, of `|trunc((u − v)·100 / 255)|`, divided by 90
//!    and capped at 100.
//! 6. **DCT** (`dct64To16`): `B = D A Dᵀ` with `D` the 16 × 64 matrix of rows 1 to 16 of
//!    the type-II DCT, `D[i][j] = √(2/64)·cos(π/128·(i + 1)(2j + 1))` (computed in `f64`,
//!    stored as `f32`), as two plain matrix products with sums from `k = 0` up.
//! 7. **Bits** (`pdqBuffer16x16ToBits`): the median of the 256 coefficients by Torben
//!    Mogensen's method (`torben.cpp`), and bit `16i + j` set when `B[i][j]` exceeds it.
//! 8. **Dihedral** (`pdqDihedralHash256esFromFloatLuma`): the hashes of the 8 rotations
//!    and flips of the picture come from the one DCT by transposing and negating
//!    coefficients (`dct16OriginalToRotate90` …), in the order original, rotated 90°,
//!    180°, 270°, flipped in x, in y, about the main diagonal (`FlipPlus1`) and the other
//!    (`FlipMinus1`). There is one quality, the original's.
//!
//! **Bits and hex.** The C++ `Hash256` is 16 words of 16 bits, bit `k` in word `k / 16`;
//! `toHexString` prints words 15 down to 0 as four hex digits each. `pdqhash.compute`
//! returns a 256-element vector whose element `v` is bit `255 − v`, so the vector read
//! from element 0 is that same number, most significant bit first. [`Pdq::hash`] holds it
//! big-endian: byte `b`, bit `7 − t` (from the top) is vector element `8b + t`, that is C++
//! bit `k` is in byte `31 − k / 8`, bit `k % 8`; its 64 hex digits equal `toHexString`
//! and `np.packbits(vector).tobytes().hex()`.
//!
//! **Large pictures.** `pdqhash` hashes the pixels it is given, at any size; the blur is
//! linear in the pixels, about 8 ms a megapixel here. ThreatExchange's own
//! `pdq-photo-hasher` (`pdqio.cpp`, `DOWNSAMPLE_DIMS = 512`) first resizes any picture wider or taller than 512 to
//! 512 × 512 (not keeping the aspect) with CImg's default nearest-neighbour `resize`.
//! [`Prescale::Nearest512`] does that resize (target pixel `x` reads source pixel
//! `⌊x·width / 512⌋`); the hash then is `pdqhash`'s of those resized pixels. The default,
//! [`Prescale::None`], is `pdqhash`'s behaviour.
//!
//! **Decoding.** [`pdq`] decodes PNG and JPEG with [`super::image::decode_rgb`] to the
//! pixels of Pillow's `Image.open(f).convert("RGB")`; PNG gives the same pixels, so the
//! same hash. JPEG decoders differ in their inverse DCT and chroma upsampling, and ours
//! (zune-jpeg) is not Pillow's libjpeg-turbo. Measured on Pillow's quality-90 JPEGs
//! (4:2:0), hashing zune-jpeg's pixels against `pdqhash` on Pillow's: 200 photo-like
//! pictures of 1024 × 768 (`bench/pdq_images.py`), all 200 identical; of the five JPEG
//! fixtures, four identical and a smooth gradient of quality 23 off by 20 bits (a
//! near-flat picture has many coefficients near the median, so any change of a pixel
//! moves bits; PDQ's usual match threshold is 31 bits). The test `jpeg_differs_from_pillow_by_a_few_bits` prints the distances.
//!
//! **Speed.** Single-threaded, 200 JPEGs of 1024 × 768 decoded and hashed: `pdqhash`
//! with Pillow about 17 a second (the decode 10 ms an image, NumPy's luminance and the
//! C++ hash 45 ms); this module 65 to 80 a second (zune-jpeg 6 to 8 ms, the hash 6 to
//! 7 ms), and 95 to 120 a second with [`Prescale::Nearest512`].

use super::image::{decode_rgb, ImageError, Limits};
use std::sync::OnceLock;

/// A PDQ hash: 256 bits, big-endian as its hex is printed, and its quality, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdq {
    pub hash: [u8; 32],
    pub quality: i32,
}

/// The hashes of the 8 rotations and flips, in [`DIHEDRAL_ORDER`], and the one quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqDihedral {
    pub hashes: [[u8; 32]; 8],
    pub quality: i32,
}

/// The order of [`PdqDihedral::hashes`], `pdqhash.compute_dihedral`'s order.
pub const DIHEDRAL_ORDER: [&str; 8] = ["original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"];

/// What to do to a large picture before hashing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prescale {
    /// Hash every pixel, as `pdqhash` does.
    #[default]
    None,
    /// ThreatExchange's `pdq-photo-hasher`: a picture wider or taller than 512 is first
    /// resized to 512 × 512 by nearest neighbour (CImg's `resize(512, 512)`).
    Nearest512,
}

/// Below this many rows or columns the hash is all zeros (`MIN_HASHABLE_DIM`).
const MIN_HASHABLE_DIM: usize = 5;
/// Box-filter passes along each axis (`PDQ_NUM_JAROSZ_XY_PASSES`).
const JAROSZ_PASSES: usize = 2;
/// The side [`Prescale::Nearest512`] resizes to (`DOWNSAMPLE_DIMS`).
const DOWNSAMPLE_DIMS: usize = 512;

/// The hash of an 8-bit RGB picture (`width × height` pixels of 3 bytes, row-major).
///
/// # Panics
/// When `rgb` does not hold `width × height × 3` bytes.
pub fn pdq_from_rgb(width: usize, height: usize, rgb: &[u8], prescale: Prescale) -> Pdq {
    let (rows, cols, mut luma) = luma_from_rgb(width, height, rgb, prescale);
    let mut scratch = vec![0f32; luma.len()];
    hash_luma(&mut luma, &mut scratch, rows, cols)
}

/// The 8 dihedral hashes of an 8-bit RGB picture, as `pdqhash.compute_dihedral`.
///
/// # Panics
/// When `rgb` does not hold `width × height × 3` bytes.
pub fn pdq_dihedral_from_rgb(width: usize, height: usize, rgb: &[u8], prescale: Prescale) -> PdqDihedral {
    let (rows, cols, mut luma) = luma_from_rgb(width, height, rgb, prescale);
    let mut scratch = vec![0f32; luma.len()];
    dihedral_luma(&mut luma, &mut scratch, rows, cols)
}

/// Decodes PNG or JPEG bytes within `limits` and hashes them.
pub fn pdq(bytes: &[u8], limits: &Limits, prescale: Prescale) -> Result<Pdq, ImageError> {
    let (rows, cols, mut luma, mut scratch) = decode_luma(bytes, limits, prescale)?;
    Ok(hash_luma(&mut luma, &mut scratch, rows, cols))
}

/// Decodes PNG or JPEG bytes within `limits` and gives the 8 dihedral hashes.
pub fn pdq_dihedral(bytes: &[u8], limits: &Limits, prescale: Prescale) -> Result<PdqDihedral, ImageError> {
    let (rows, cols, mut luma, mut scratch) = decode_luma(bytes, limits, prescale)?;
    Ok(dihedral_luma(&mut luma, &mut scratch, rows, cols))
}

/// The hash as 64 lower-case hex digits, as `toHexString` prints it.
pub fn to_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The decoded picture's luminance and the blur's second buffer, counted against the
/// budget (two `f32` a pixel, after the decoded RGB is given back) and allocated fallibly.
fn decode_luma(bytes: &[u8], limits: &Limits, prescale: Prescale) -> Result<(usize, usize, Vec<f32>, Vec<f32>), ImageError> {
    let image = decode_rgb(bytes, limits)?;
    let (rows, cols) = hashed_size(image.width, image.height, prescale);
    let n = rows * cols;
    let needed = n.saturating_mul(2 * std::mem::size_of::<f32>());
    if needed > limits.max_bytes {
        let (width, height) = (image.width as u64, image.height as u64);
        return Err(ImageError::OverBudget { width, height, needed, limit: limits.max_bytes });
    }
    let mut luma = floats(n)?;
    fill_luma(image.width, image.height, &image.pixels, rows, cols, &mut luma);
    drop(image);
    let scratch = floats(n)?;
    Ok((rows, cols, luma, scratch))
}

/// `n` zeros, or [`ImageError::OutOfMemory`].
fn floats(n: usize) -> Result<Vec<f32>, ImageError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ImageError::OutOfMemory { bytes: n.saturating_mul(4) })?;
    v.resize(n, 0.0);
    Ok(v)
}

/// Rows and columns hashed: the picture's, or 512 × 512 when prescaled.
fn hashed_size(width: usize, height: usize, prescale: Prescale) -> (usize, usize) {
    match prescale {
        Prescale::Nearest512 if width > DOWNSAMPLE_DIMS || height > DOWNSAMPLE_DIMS => (DOWNSAMPLE_DIMS, DOWNSAMPLE_DIMS),
        _ => (height, width),
    }
}

fn luma_from_rgb(width: usize, height: usize, rgb: &[u8], prescale: Prescale) -> (usize, usize, Vec<f32>) {
    assert_eq!(rgb.len(), width * height * 3, "pdq: {width} × {height} RGB pixels need {} bytes", width * height * 3);
    let (rows, cols) = hashed_size(width, height, prescale);
    let mut luma = vec![0f32; rows * cols];
    fill_luma(width, height, rgb, rows, cols, &mut luma);
    (rows, cols, luma)
}

/// `pdqhash`'s luminance, `f32(R·0.299 + G·0.587 + B·0.114)` in `f64`, of the picture
/// or of its nearest-neighbour resize to `rows × cols` (CImg: target `x` reads source
/// `⌊x·width / cols⌋`).
fn fill_luma(width: usize, height: usize, rgb: &[u8], rows: usize, cols: usize, luma: &mut [f32]) {
    // The three products of each byte, exactly as NumPy's float64 gives them.
    let weight = |w: f64| -> [f64; 256] { std::array::from_fn(|v| v as f64 * w) };
    let (r, g, b) = (weight(0.299), weight(0.587), weight(0.114));
    let y = |p: &[u8]| (r[usize::from(p[0])] + g[usize::from(p[1])] + b[usize::from(p[2])]) as f32;
    if rows == height && cols == width {
        for (out, p) in luma.iter_mut().zip(rgb.chunks_exact(3)) {
            *out = y(p);
        }
    } else {
        let xs: Vec<usize> = (0..cols).map(|x| x * width / cols).collect();
        for (i, out_row) in luma.chunks_exact_mut(cols).enumerate() {
            let row = &rgb[(i * height / rows) * width * 3..][..width * 3];
            for (out, &x) in out_row.iter_mut().zip(&xs) {
                *out = y(&row[x * 3..x * 3 + 3]);
            }
        }
    }
}

/// `pdqHash256FromFloatLuma`: `luma` is blurred in place, `scratch` is the second buffer.
fn hash_luma(luma: &mut [f32], scratch: &mut [f32], rows: usize, cols: usize) -> Pdq {
    if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM {
        return Pdq { hash: [0; 32], quality: 0 };
    }
    let a = if rows == 64 && cols == 64 {
        // Already 64 × 64 (e.g. video frames scaled by ffmpeg): no blur.
        let mut a = [[0f32; 64]; 64];
        for (row, src) in a.iter_mut().zip(luma.chunks_exact(64)) {
            row.copy_from_slice(src);
        }
        a
    } else {
        blur_and_decimate(luma, scratch, rows, cols)
    };
    let quality = quality(&a);
    let dct = dct64_to_16(&a);
    Pdq { hash: bits(&dct), quality }
}

/// `pdqDihedralHash256esFromFloatLuma`: always blurs, then one DCT, 8 sign patterns.
fn dihedral_luma(luma: &mut [f32], scratch: &mut [f32], rows: usize, cols: usize) -> PdqDihedral {
    if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM {
        return PdqDihedral { hashes: [[0; 32]; 8], quality: 0 };
    }
    let a = blur_and_decimate(luma, scratch, rows, cols);
    let quality = quality(&a);
    let dct = dct64_to_16(&a);
    let hashes = std::array::from_fn(|d| bits(&dihedral(&dct, d)));
    PdqDihedral { hashes, quality }
}

/// `computeJaroszFilterWindowSize(n, 64)`: `⌈n / 128⌉`.
fn window(n: usize) -> usize {
    // `(n + 2·64 − 1) / (2·64)` in the C++.
    n.div_ceil(2 * 64)
}

/// `jaroszFilterFloat` (in place, `scratch` the second buffer) then `decimateFloat`.
fn blur_and_decimate(luma: &mut [f32], scratch: &mut [f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
    let (along_rows, along_cols) = (window(cols), window(rows));
    for _ in 0..JAROSZ_PASSES {
        box_along_rows(luma, scratch, cols, along_rows);
        box_along_columns(scratch, luma, rows, cols, along_cols);
    }
    let mut a = [[0f32; 64]; 64];
    for (i, row) in a.iter_mut().enumerate() {
        let ii = ((i as f64 + 0.5) * rows as f64 / 64.0) as usize;
        for (j, out) in row.iter_mut().enumerate() {
            let jj = ((j as f64 + 0.5) * cols as f64 / 64.0) as usize;
            *out = luma[ii * cols + jj];
        }
    }
    a
}

/// `box1DFloat` along one row: a running sum over a window of `full` samples centred on
/// each output (shortened at the ends), divided by the samples it holds.
fn box_1d(input: &[f32], output: &mut [f32], full: usize) {
    let n = input.len();
    let half = (full + 2) / 2; // 7 → 4, 8 → 5
    let (phase1, phase2, phase3, phase4) = (half - 1, full - half + 1, n - full, half - 1);
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    let mut sum = 0f32;
    let mut size = 0usize;
    // 1: the first samples, no output yet.
    for _ in 0..phase1 {
        sum += input[ri];
        size += 1;
        ri += 1;
    }
    // 2: a growing window.
    for _ in 0..phase2 {
        sum += input[ri];
        size += 1;
        output[oi] = sum / size as f32;
        ri += 1;
        oi += 1;
    }
    // 3: the full window, adding then subtracting.
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / size as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    // 4: a shrinking window.
    for _ in 0..phase4 {
        sum -= input[li];
        size -= 1;
        output[oi] = sum / size as f32;
        li += 1;
        oi += 1;
    }
}

/// `boxAlongRowsFloat`: [`box_1d`] along every row. (Running eight rows' sums side by
/// side, to break the chain of dependent additions, was slower at 1024 columns: rows
/// 4 KB apart contend for the same cache sets.)
fn box_along_rows(input: &[f32], output: &mut [f32], cols: usize, full: usize) {
    for (src, dst) in input.chunks_exact(cols).zip(output.chunks_exact_mut(cols)) {
        box_1d(src, dst, full);
    }
}

/// `boxAlongColsFloat`: [`box_1d`] down every column. The columns are independent, so
/// they run side by side, a row at a time (one running sum per column, each sum seeing
/// the same operations in the same order as in `box1DFloat`), which reads memory in order.
fn box_along_columns(input: &[f32], output: &mut [f32], rows: usize, cols: usize, full: usize) {
    let half = (full + 2) / 2;
    let (phase1, phase2, phase3, phase4) = (half - 1, full - half + 1, rows - full, half - 1);
    let row = |i: usize| &input[i * cols..(i + 1) * cols];
    let mut sum = vec![0f32; cols];
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    let mut size = 0usize;
    for _ in 0..phase1 {
        sum.iter_mut().zip(row(ri)).for_each(|(s, &x)| *s += x);
        size += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        size += 1;
        let d = size as f32;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for ((s, &x), o) in sum.iter_mut().zip(row(ri)).zip(out) {
            *s += x;
            *o = *s / d;
        }
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        let d = size as f32;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for (((s, &x), &y), o) in sum.iter_mut().zip(row(ri)).zip(row(li)).zip(out) {
            *s += x;
            *s -= y;
            *o = *s / d;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        size -= 1;
        let d = size as f32;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for ((s, &y), o) in sum.iter_mut().zip(row(li)).zip(out) {
            *s -= y;
            *o = *s / d;
        }
        li += 1;
        oi += 1;
    }
}

/// `pdqImageDomainQualityMetric`: the count of significant gradients, 0 to 100.
fn quality(a: &[[f32; 64]; 64]) -> i32 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut sum = 0i32;
    for i in 0..63 {
        for j in 0..64 {
            sum += step(a[i][j], a[i + 1][j]).abs();
        }
    }
    for row in a {
        for j in 0..63 {
            sum += step(row[j], row[j + 1]).abs();
        }
    }
    (sum / 90).min(100)
}

/// `dct_matrix_64`: rows 1 to 16 of the 64-point type-II DCT, `f32`.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                (f64::from(scale) * ((std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64).cos()) as f32
            })
        })
    })
}

/// `dct64To16`: `B = (D A) Dᵀ`, each sum from `k = 0` up.
fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for (trow, drow) in t.iter_mut().zip(d) {
        // Row by row of A, so that the 64 sums of the row of T run side by side.
        for (&dk, arow) in drow.iter().zip(a) {
            for (s, &x) in trow.iter_mut().zip(arow) {
                *s += dk * x;
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (brow, trow) in b.iter_mut().zip(&t) {
        for (out, drow) in brow.iter_mut().zip(d) {
            let mut s = 0f32;
            for (&x, &y) in trow.iter().zip(drow) {
                s += x * y;
            }
            *out = s;
        }
    }
    b
}

/// The DCT of dihedral transform `which` ([`DIHEDRAL_ORDER`]) of the picture, from the
/// original's (`dct16OriginalToRotate90` …): some coefficients negated, some transposed.
fn dihedral(a: &[[f32; 16]; 16], which: usize) -> [[f32; 16]; 16] {
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let v = a[i][j];
            let (odd_i, odd_j, odd_ij) = (i & 1 == 1, j & 1 == 1, (i + j) & 1 == 1);
            match which {
                0 => b[i][j] = v,
                1 => b[j][i] = if odd_j { v } else { -v },
                2 => b[i][j] = if odd_ij { -v } else { v },
                3 => b[j][i] = if odd_i { v } else { -v },
                4 => b[i][j] = if odd_i { v } else { -v },
                5 => b[i][j] = if odd_j { v } else { -v },
                6 => b[j][i] = v,
                _ => b[j][i] = if odd_ij { -v } else { v },
            }
        }
    }
    b
}

/// `pdqBuffer16x16ToBits`: bit `16i + j` when `B[i][j]` exceeds the median, stored as
/// the module doc says (bit `k` in byte `31 − k / 8`, bit `k % 8`).
fn bits(b: &[[f32; 16]; 16]) -> [u8; 32] {
    let flat: [f32; 256] = std::array::from_fn(|k| b[k / 16][k % 16]);
    let median = torben(&flat);
    let mut hash = [0u8; 32];
    for (k, &v) in flat.iter().enumerate() {
        if v > median {
            hash[31 - k / 8] |= 1 << (k % 8);
        }
    }
    hash
}

/// `torben`: the median without sorting (Torben Mogensen's method, N. Devillard's code):
/// halve the range of values until at most half lie on either side of the guess.
fn torben(m: &[f32]) -> f32 {
    let n = m.len();
    let (mut min, mut max) = (m[0], m[0]);
    for &x in &m[1..] {
        if x < min {
            min = x;
        }
        if x > max {
            max = x;
        }
    }
    let half = n.div_ceil(2);
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0, 0, 0);
        let (mut max_lt_guess, mut min_gt_guess) = (min, max);
        for &x in m {
            if x < guess {
                less += 1;
                if x > max_lt_guess {
                    max_lt_guess = x;
                }
            } else if x > guess {
                greater += 1;
                if x < min_gt_guess {
                    min_gt_guess = x;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_lt_guess
            } else if less + equal >= half {
                guess
            } else {
                min_gt_guess
            };
        } else if less > greater {
            max = max_lt_guess;
        } else {
            min = min_gt_guess;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `tests/fixtures/pdq/`, made by its `make_fixtures.py` with `pdqhash` 0.2.8.
    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pdq")
    }

    /// What `expected.json` says of one image.
    struct Expected {
        name: String,
        hash: String,
        quality: i32,
        dihedral: Vec<String>,
        dihedral_quality: i32,
        hash_512: Option<String>,
        quality_512: Option<i32>,
    }

    /// The value of `"key": ` in one line of `expected.json` (one image a line).
    fn field<'a>(line: &'a str, key: &str) -> &'a str {
        let start = line.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
        let rest = &line[start..];
        let end = if rest.starts_with('[') { rest.find(']').unwrap() + 1 } else { rest.find([',', '}']).unwrap() };
        &rest[..end]
    }

    fn expected() -> Vec<Expected> {
        let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
        assert!(text.starts_with("{\"pdqhash\": \"0.2.8\""));
        let unquote = |s: &str| s.trim_matches('"').to_string();
        text.lines()
            .filter(|l| l.starts_with(" \""))
            .map(|l| Expected {
                name: unquote(&l[1..l.find(": {").unwrap()]),
                hash: unquote(field(l, "hash")),
                quality: field(l, "quality").parse().unwrap(),
                dihedral: field(l, "dihedral").trim_matches(['[', ']']).split(", ").map(unquote).collect(),
                dihedral_quality: field(l, "dihedral_quality").parse().unwrap(),
                hash_512: Some(field(l, "hash_512")).filter(|s| *s != "null").map(unquote),
                quality_512: field(l, "quality_512").parse().ok(),
            })
            .collect()
    }

    fn hamming(a: &str, b: &str) -> u32 {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        a.chunks(2)
            .zip(b.chunks(2))
            .map(|(x, y)| {
                let p = |c: &[u8]| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap();
                (p(x) ^ p(y)).count_ones()
            })
            .sum()
    }

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(fixtures().join(name)).unwrap()
    }

    #[test]
    fn png_fixtures_are_bit_identical_to_pdqhash() {
        let limits = Limits::pixels(1 << 24);
        let mut checked = 0;
        for e in expected().iter().filter(|e| e.name.ends_with(".png")) {
            let bytes = read(&e.name);
            let p = pdq(&bytes, &limits, Prescale::None).unwrap();
            assert_eq!((to_hex(&p.hash), p.quality), (e.hash.clone(), e.quality), "{}", e.name);
            let d = pdq_dihedral(&bytes, &limits, Prescale::None).unwrap();
            let hexes: Vec<String> = d.hashes.iter().map(to_hex).collect();
            assert_eq!((hexes, d.quality), (e.dihedral.clone(), e.dihedral_quality), "{}", e.name);
            let p512 = pdq(&bytes, &limits, Prescale::Nearest512).unwrap();
            match (&e.hash_512, e.quality_512) {
                (Some(h), Some(q)) => assert_eq!((to_hex(&p512.hash), p512.quality), (h.clone(), q), "{} at 512", e.name),
                _ => assert_eq!(p512, p, "{}: no side over 512, no resize", e.name),
            }
            checked += 1;
        }
        assert_eq!(checked, 20);
    }

    #[test]
    fn jpeg_differs_from_pillow_by_a_few_bits() {
        let limits = Limits::pixels(1 << 24);
        let mut report = Vec::new();
        for e in expected().iter().filter(|e| e.name.ends_with(".jpg")) {
            let p = pdq(&read(&e.name), &limits, Prescale::None).unwrap();
            let distance = hamming(&to_hex(&p.hash), &e.hash);
            report.push((e.name.clone(), distance, p.quality, e.quality));
        }
        eprintln!("PDQ of zune-jpeg's pixels vs pdqhash of Pillow's (bits, our quality, theirs): {report:?}");
        assert_eq!(report.len(), 5);
        for (name, distance, ours, theirs) in report {
            // PDQ's own threshold for a match is 31 bits; a low-quality (near-flat) picture
            // has many coefficients near the median and moves more.
            let bound = if theirs >= 50 { 16 } else { 31 };
            assert!(distance <= bound, "{name}: {distance} bits from Pillow's pixels");
            assert!(ours.abs_diff(theirs) <= 5, "{name}: quality {ours} vs {theirs}");
        }
    }

    #[test]
    fn rgb_entry_points_agree_with_the_decoding_ones() {
        let bytes = read("odd_65x63.png");
        let image = decode_rgb(&bytes, &Limits::pixels(1 << 20)).unwrap();
        let from_rgb = pdq_from_rgb(image.width, image.height, &image.pixels, Prescale::None);
        assert_eq!(from_rgb, pdq(&bytes, &Limits::pixels(1 << 20), Prescale::None).unwrap());
        let d = pdq_dihedral_from_rgb(image.width, image.height, &image.pixels, Prescale::None);
        assert_eq!(d.hashes[0], from_rgb.hash);
        assert_eq!(d.quality, from_rgb.quality);
    }

    #[test]
    fn hashing_is_within_the_memory_budget() {
        let bytes = read("photo_640x480.png");
        // Decoding needs about 3 bytes a pixel; hashing two floats a pixel.
        let limits = Limits { max_pixels: 1 << 20, max_bytes: 640 * 480 * 8 - 1 };
        assert!(matches!(pdq(&bytes, &limits, Prescale::None), Err(ImageError::OverBudget { needed, .. }) if needed == 640 * 480 * 8));
        let limits = Limits { max_pixels: 1 << 20, max_bytes: 640 * 480 * 8 };
        assert!(pdq(&bytes, &limits, Prescale::None).is_ok());
        assert_eq!(pdq(b"nope", &limits, Prescale::None), Err(ImageError::Unrecognised));
    }

    #[test]
    fn torben_is_the_median() {
        assert_eq!(torben(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(torben(&[4.0, 1.0, 3.0, 2.0]), 2.0); // the lower of the middle two
        assert_eq!(torben(&[5.0; 7]), 5.0);
    }

    #[test]
    fn hex_is_the_vector_read_most_significant_first() {
        // C++ bit k = 16i + j; bit 255 is vector element 0, the first hex digit's top bit.
        let mut b = [[0f32; 16]; 16];
        b[15][15] = 1.0;
        let h = bits(&b);
        assert_eq!(to_hex(&h), format!("8{}", "0".repeat(63)));
        b[15][15] = 0.0;
        b[0][0] = 1.0;
        assert_eq!(to_hex(&bits(&b)), format!("{}1", "0".repeat(63)));
    }

    /// Throughput against `pdqhash` with Pillow's decoding: `PDQ_BENCH_DIR=/path/to/jpegs
    /// cargo test -p mlkit --release pdq_bench -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn pdq_bench() {
        let Ok(dir) = std::env::var("PDQ_BENCH_DIR") else { return };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "png"))
            .collect();
        files.sort();
        let data: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        let limits = Limits::pixels(1 << 26);
        for prescale in [Prescale::None, Prescale::Nearest512] {
            let start = std::time::Instant::now();
            let mut decode = std::time::Duration::ZERO;
            let mut acc = 0u32;
            for bytes in &data {
                let t = std::time::Instant::now();
                let image = decode_rgb(bytes, &limits).unwrap();
                decode += t.elapsed();
                let p = pdq_from_rgb(image.width, image.height, &image.pixels, prescale);
                acc ^= u32::from(p.hash[0]);
            }
            let total = start.elapsed();
            eprintln!(
                "{prescale:?}: {} images in {:.3} s ({:.1} images/s; decode {:.3} s, hash {:.3} s) [{acc}]",
                data.len(),
                total.as_secs_f64(),
                data.len() as f64 / total.as_secs_f64(),
                decode.as_secs_f64(),
                (total - decode).as_secs_f64()
            );
        }
        // `bench/pdq_images.py`'s hashes of Pillow's pixels: how far zune-jpeg's move them.
        let Ok(tsv) = std::fs::read_to_string(std::path::Path::new(&dir).join("pdqhash.tsv")) else { return };
        let mut histogram = std::collections::BTreeMap::new();
        for line in tsv.lines() {
            let mut cols = line.split('\t');
            let (name, hex) = (cols.next().unwrap(), cols.next().unwrap());
            let p = pdq(&std::fs::read(std::path::Path::new(&dir).join(name)).unwrap(), &limits, Prescale::None).unwrap();
            *histogram.entry(hamming(&to_hex(&p.hash), hex)).or_insert(0) += 1;
        }
        eprintln!("Hamming distance to pdqhash on Pillow's pixels: count {histogram:?}");
    }
}
