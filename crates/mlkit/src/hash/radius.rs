//! Every 64-bit hash within Hamming distance `r` of a query, without comparing against all
//! of them: multi-index hashing (Norouzi, Punjani & Fleet, 2012).
//!
//! Split the 64 bits into `m` bands. If two hashes differ in at most `r` bits, then by the
//! pigeonhole principle some band differs in at most `s = ⌊r/m⌋` bits. So for each band we
//! look up every band value within `s` flips of the query's, collect the hashes filed under
//! them, and check each candidate's full distance. Bits are dealt to bands round-robin
//! (bit `i` to band `i mod m`) so that correlated neighbouring bits — a perceptual hash's
//! low frequencies — are spread over all bands.
//!
//! `m` is chosen per index from the data size and radius: more bands mean shorter bands,
//! fewer probes each but fuller buckets. The SQL index scheme (`ml.hash_bands`) is the
//! same idea with `m = 5` fixed, so that `r ≤ 4` needs exact band matches only.

use super::hamming::distance_u64;

/// The bits of `hash` that belong to band `band` of `bands` (at least 3, so that a band fits
/// in 32 bits), packed, lowest bit first.
pub fn band_value(hash: u64, band: usize, bands: usize) -> u32 {
    let mut v = 0u32;
    let mut out_bit = 0;
    let mut bit = band;
    while bit < 64 {
        v |= (((hash >> bit) & 1) as u32) << out_bit;
        out_bit += 1;
        bit += bands;
    }
    v
}

/// How many bits band `band` of `bands` has.
pub fn band_bits(band: usize, bands: usize) -> u32 {
    ((64 - band).div_ceil(bands)) as u32
}

/// Calls `f` with every value within `flips` bit flips of `value` (of `bits` bits).
pub fn for_each_within(value: u32, bits: u32, flips: u32, f: &mut impl FnMut(u32)) {
    fn rec(v: u32, from: u32, bits: u32, left: u32, f: &mut impl FnMut(u32)) {
        f(v);
        if left == 0 {
            return;
        }
        for b in from..bits {
            rec(v ^ (1 << b), b + 1, bits, left - 1, f);
        }
    }
    rec(value, 0, bits, flips, f)
}

fn binomial_sum(n: u32, k: u32) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for i in 0..k.min(n) {
        term = term * f64::from(n - i) / f64::from(i + 1);
        sum += term;
    }
    sum
}

struct Band {
    bits: u32,
    /// `ids[offsets[v] .. offsets[v + 1]]` are the hashes whose band value is `v`.
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

/// A radius-`r` search structure over a fixed set of hashes.
pub struct MultiIndex<'a> {
    hashes: &'a [u64],
    radius: u32,
    flips: u32,
    bands: Vec<Band>,
    seen: Vec<u32>,
    stamp: u32,
}

impl<'a> MultiIndex<'a> {
    /// Indexes `hashes` for searches of radius `radius` (at most 64) .
    pub fn new(hashes: &'a [u64], radius: u32) -> MultiIndex<'a> {
        assert!(hashes.len() < u32::MAX as usize, "MultiIndex: too many hashes");
        let radius = radius.min(64);
        let n = hashes.len() as f64;
        // Bands of at most 22 bits (a direct offset table of 4M entries at most).
        let m = (3..=8usize)
            .min_by(|&a, &b| {
                let cost = |m: usize| {
                    let s = radius / m as u32;
                    (0..m).map(|j| binomial_sum(band_bits(j, m), s) * (1.0 + n / f64::from(1u32 << band_bits(j, m)))).sum::<f64>()
                };
                cost(a).total_cmp(&cost(b))
            })
            .expect("a non-empty range");
        let bands = (0..m)
            .map(|j| {
                let bits = band_bits(j, m);
                let mut offsets = vec![0u32; (1usize << bits) + 1];
                for &h in hashes {
                    offsets[band_value(h, j, m) as usize + 1] += 1;
                }
                for v in 0..(1usize << bits) {
                    offsets[v + 1] += offsets[v];
                }
                let mut fill = offsets.clone();
                let mut ids = vec![0u32; hashes.len()];
                for (i, &h) in hashes.iter().enumerate() {
                    let v = band_value(h, j, m) as usize;
                    ids[fill[v] as usize] = i as u32;
                    fill[v] += 1;
                }
                Band { bits, offsets, ids }
            })
            .collect();
        MultiIndex { hashes, radius, flips: radius / m as u32, bands, seen: vec![0; hashes.len()], stamp: 0 }
    }

    /// Calls `f(i, distance)` once for every indexed hash `i` within the radius of `query`,
    /// in no particular order.
    pub fn search(&mut self, query: u64, mut f: impl FnMut(usize, u32)) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
        let m = self.bands.len();
        let (hashes, radius, stamp, seen) = (self.hashes, self.radius, self.stamp, &mut self.seen);
        for (j, band) in self.bands.iter().enumerate() {
            for_each_within(band_value(query, j, m), band.bits, self.flips, &mut |v| {
                let (lo, hi) = (band.offsets[v as usize] as usize, band.offsets[v as usize + 1] as usize);
                for &i in &band.ids[lo..hi] {
                    let i = i as usize;
                    if seen[i] != stamp {
                        seen[i] = stamp;
                        let d = distance_u64(query, hashes[i]);
                        if d <= radius {
                            f(i, d);
                        }
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_partition_the_bits() {
        for m in 3..=8 {
            let total: u32 = (0..m).map(|j| band_bits(j, m)).sum();
            assert_eq!(total, 64);
            assert_eq!((0..m).map(|j| band_value(u64::MAX, j, m).count_ones()).sum::<u32>(), 64);
        }
        let mut count = 0;
        for_each_within(0, 13, 2, &mut |_| count += 1);
        assert_eq!(count, 1 + 13 + 78);
    }

    #[test]
    fn finds_exactly_what_a_full_scan_finds() {
        // Clustered hashes: 200 centres, members a few random bit flips away.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let centres: Vec<u64> = (0..200).map(|_| rnd()).collect();
        let hashes: Vec<u64> = (0..5000)
            .map(|i| {
                let mut h = centres[i % 200];
                for _ in 0..(rnd() % 8) {
                    h ^= 1 << (rnd() % 64);
                }
                h
            })
            .collect();
        for radius in [0, 3, 4, 7, 12] {
            let mut index = MultiIndex::new(&hashes, radius);
            for q in hashes.iter().step_by(97).copied().chain([rnd()]) {
                let mut found = vec![];
                index.search(q, |i, d| found.push((i, d)));
                found.sort();
                let scan: Vec<(usize, u32)> =
                    hashes.iter().enumerate().map(|(i, &h)| (i, distance_u64(q, h))).filter(|&(_, d)| d <= radius).collect();
                assert_eq!(found, scan, "radius {radius}");
            }
        }
    }
}
