//! The perceptual hashes of Python's `imagehash` 4.3, with its default sizes, bit for bit.
//!
//! Each hash shrinks the grey image with Pillow's Lanczos filter ([`super::resample`]) and
//! keeps one bit per cell, read row by row, the first bit the most significant:
//!
//! - **aHash** (`average_hash`): 8×8 pixels; a bit is set where the pixel is brighter than the
//!   mean of all 64.
//! - **dHash** (`dhash`): 9 columns × 8 rows; a bit is set where a pixel is brighter than its
//!   left neighbour.
//! - **pHash** (`phash`): 32×32 pixels, a 2-D type-II DCT (columns first, then rows, as
//!   `scipy.fftpack.dct` applied on axis 0 then axis 1), the top-left 8×8 frequencies; a bit
//!   is set where the coefficient exceeds their median (the mean of the 32nd and 33rd).
//!
//! The 64 bits are returned as a `u64`; imagehash's hex string is that number in hex.

use super::dct::Dct2;
use super::image::Grey;
use super::resample::lanczos_resize;

/// Bits of a row-major 8×8 boolean grid, first cell most significant.
fn pack(bits: impl Iterator<Item = bool>) -> u64 {
    bits.fold(0u64, |acc, b| (acc << 1) | u64::from(b))
}

/// imagehash's `average_hash(image)`.
pub fn ahash(img: &Grey) -> u64 {
    let small = lanczos_resize(&img.pixels, img.width, img.height, 8, 8);
    // pixel > sum / 64, compared exactly as 64 · pixel > sum.
    let sum: u32 = small.iter().map(|&p| u32::from(p)).sum();
    pack(small.iter().map(|&p| 64 * u32::from(p) > sum))
}

/// imagehash's `dhash(image)`.
pub fn dhash(img: &Grey) -> u64 {
    let small = lanczos_resize(&img.pixels, img.width, img.height, 9, 8);
    pack(small.chunks_exact(9).flat_map(|row| row.windows(2).map(|p| p[1] > p[0])))
}

/// imagehash's `phash(image)`.
pub fn phash(img: &Grey) -> u64 {
    const N: usize = 32;
    let small = lanczos_resize(&img.pixels, img.width, img.height, N, N);
    let dct = Dct2::new(N).expect("32 is a power of two");
    let mut m: Vec<f64> = small.iter().map(|&p| f64::from(p)).collect();
    let (mut line, mut scratch) = ([0.0f64; N], [0.0f64; N]);
    // Axis 0: each column.
    for x in 0..N {
        for y in 0..N {
            line[y] = m[y * N + x];
        }
        dct.apply(&mut line, &mut scratch);
        for y in 0..N {
            m[y * N + x] = line[y];
        }
    }
    // Axis 1: each row, only the 8 rows that are kept.
    let mut low = [0.0f64; 64];
    for y in 0..8 {
        line.copy_from_slice(&m[y * N..][..N]);
        dct.apply(&mut line, &mut scratch);
        low[y * 8..][..8].copy_from_slice(&line[..8]);
    }
    let mut sorted = low;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    pack(low.iter().map(|&c| c > median))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Grey {
        let pixels = (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        Grey { width, height, pixels }
    }

    #[test]
    fn a_flat_image_hashes_as_imagehash_says() {
        // imagehash on Image.new("L", (50, 40), 90): phash 8000000000000000, the others 0.
        let img = grey(50, 40, |_, _| 90);
        assert_eq!(phash(&img), 0x8000_0000_0000_0000);
        assert_eq!(dhash(&img), 0);
        assert_eq!(ahash(&img), 0);
    }

    #[test]
    fn a_left_to_right_ramp_sets_every_dhash_bit_and_the_right_half_of_ahash() {
        let img = grey(90, 80, |x, _| (x * 255 / 89) as u8);
        assert_eq!(dhash(&img), u64::MAX);
        assert_eq!(ahash(&img), 0x0f0f_0f0f_0f0f_0f0f);
    }
}
