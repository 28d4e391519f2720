//! Hamming distance: the number of bit positions in which two equal-length bit strings differ.
//!
//! The count is `popcount(a XOR b)`. x86-64's baseline instruction set has no population-count
//! instruction, so an ordinary build computes it with a dozen shifts and masks; CPUs since
//! 2008 have `POPCNT`. [`has_popcnt`] checks for it once at run time (the standard library
//! caches the answer) and the slice kernel below is compiled twice, with and without it.

/// Distance between two 64-bit hashes.
#[inline]
pub fn distance_u64(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Whether this CPU counts bits in hardware.
#[inline]
pub fn has_popcnt() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Distance between two byte strings of the same length, or `None` when the lengths differ.
pub fn distance_bytes(a: &[u8], b: &[u8]) -> Option<u64> {
    if a.len() != b.len() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if has_popcnt() {
        // SAFETY: the CPU has POPCNT, checked just above.
        return Some(unsafe { bytes_popcnt(a, b) });
    }
    Some(bytes_portable(a, b))
}

/// The probability that two independent uniformly random strings of `bits` bits are within
/// Hamming distance `radius`: `P(Binomial(bits, ½) ≤ radius)`. What a radius search returns of
/// unrelated hashes; the planner's estimate for `ml.hash_within`. Summed in log space, so any
/// length works.
pub fn random_within_probability(bits: u32, radius: u32) -> f64 {
    if radius >= bits {
        return 1.0;
    }
    let n = f64::from(bits);
    // ln C(n, k) - n ln 2, term by term: C(n, k+1) = C(n, k) (n - k) / (k + 1).
    let (mut log_term, mut total) = (-n * std::f64::consts::LN_2, 0.0);
    for k in 0..=radius {
        total += log_term.exp();
        log_term += ((n - f64::from(k)) / f64::from(k + 1)).ln();
    }
    total.min(1.0)
}

/// Distances from `query` to every hash in `hashes`, written to `out` (same length).
pub fn distances_u64(query: u64, hashes: &[u64], out: &mut [u32]) {
    assert_eq!(hashes.len(), out.len(), "distances_u64: one output per hash");
    #[cfg(target_arch = "x86_64")]
    if has_popcnt() {
        // SAFETY: the CPU has POPCNT, checked just above.
        unsafe { many_popcnt(query, hashes, out) };
        return;
    }
    many_portable(query, hashes, out)
}

macro_rules! kernels {
    ($bytes:ident, $many:ident) => {
        fn $bytes(a: &[u8], b: &[u8]) -> u64 {
            let mut total = 0u64;
            let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
            for (x, y) in (&mut ca).zip(&mut cb) {
                let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
                let y = u64::from_le_bytes(y.try_into().expect("8 bytes"));
                total += u64::from((x ^ y).count_ones());
            }
            for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
                total += u64::from((x ^ y).count_ones());
            }
            total
        }
        fn $many(query: u64, hashes: &[u64], out: &mut [u32]) {
            for (h, o) in hashes.iter().zip(out.iter_mut()) {
                *o = (query ^ h).count_ones();
            }
        }
    };
}

kernels!(bytes_portable, many_portable);

#[cfg(target_arch = "x86_64")]
mod hw {
    // The same source, compiled with POPCNT enabled.
    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn bytes_popcnt(a: &[u8], b: &[u8]) -> u64 {
        inner_bytes(a, b)
    }
    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn many_popcnt(query: u64, hashes: &[u64], out: &mut [u32]) {
        inner_many(query, hashes, out)
    }
    kernels!(inner_bytes, inner_many);
}
#[cfg(target_arch = "x86_64")]
use hw::{bytes_popcnt, many_popcnt};

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[u8], b: &[u8]) -> u64 {
        a.iter().zip(b).map(|(x, y)| (0..8).filter(|i| (x ^ y) >> i & 1 == 1).count() as u64).sum()
    }

    #[test]
    fn bytes_match_a_bit_by_bit_count_at_every_length() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state & 0xff) as u8
        };
        for len in 0..40 {
            let a: Vec<u8> = (0..len).map(|_| next()).collect();
            let b: Vec<u8> = (0..len).map(|_| next()).collect();
            assert_eq!(distance_bytes(&a, &b), Some(naive(&a, &b)));
            assert_eq!(bytes_portable(&a, &b), naive(&a, &b));
        }
        assert_eq!(distance_bytes(&[1, 2], &[1]), None);
    }

    #[test]
    fn sixty_four_bit_distances_include_the_sign_bit() {
        assert_eq!(distance_u64(0, u64::MAX), 64);
        assert_eq!(distance_u64(1 << 63, 0), 1);
        let hashes = [0u64, 1, 3, u64::MAX, 0x8000_0000_0000_0001];
        let mut out = [0u32; 5];
        distances_u64(1, &hashes, &mut out);
        assert_eq!(out, [1, 0, 1, 63, 1]);
        let mut portable = [0u32; 5];
        many_portable(1, &hashes, &mut portable);
        assert_eq!(out, portable);
    }

    #[test]
    fn random_within_probability_is_the_binomial_tail() {
        // P(Bin(4, 1/2) <= 1) = (1 + 4) / 16.
        assert!((random_within_probability(4, 1) - 5.0 / 16.0).abs() < 1e-15);
        assert_eq!(random_within_probability(64, 64), 1.0);
        // Symmetric about n/2: P(X <= 127) + P(X <= 128) = 1 for n = 256... within rounding.
        let a = random_within_probability(256, 127);
        let b = random_within_probability(256, 128);
        assert!((a + b - 1.0).abs() < 1e-12, "{a} + {b}");
        // PDQ's threshold: scipy.stats.binom.cdf(31, 256, 0.5) = 8.283676586985015e-38.
        let p = random_within_probability(256, 31);
        assert!((p / 8.283676586985015e-38 - 1.0).abs() < 1e-9, "{p}");
    }
}
