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
    /// Which bits of a hash belong to this band.
    mask: u64,
    /// `hashes[offsets[v] .. offsets[v + 1]]` are the hashes whose band value is `v`, and
    /// `ids[..]` their indexes: a bucket is read front to back, never by pointer chasing.
    offsets: Vec<u32>,
    hashes: Vec<u64>,
    ids: Vec<u32>,
}

/// A radius-`r` search structure over a fixed set of hashes; searches share it read-only, so
/// any number of threads may search at once.
pub struct MultiIndex {
    radius: u32,
    flips: u32,
    bands: Vec<Band>,
}

impl MultiIndex {
    /// Indexes `hashes` for searches of radius `radius` (at most 64).
    pub fn new(hashes: &[u64], radius: u32) -> MultiIndex {
        assert!(hashes.len() < u32::MAX as usize, "MultiIndex: too many hashes");
        let radius = radius.min(64);
        let n = hashes.len() as f64;
        // The work of one search: for each band, every probe costs a jump to a bucket (about
        // eight candidate checks' worth of time) and then a check per hash in the bucket.
        // Bands have 8 to 22 bits (a direct offset table of at most 4M entries).
        let cost = |m: usize| {
            let s = radius / m as u32;
            (0..m).map(|j| binomial_sum(band_bits(j, m), s) * (8.0 + n / f64::from(1u32 << band_bits(j, m)))).sum::<f64>()
        };
        let m = (3..=8usize).min_by(|&a, &b| cost(a).total_cmp(&cost(b))).expect("a non-empty range");
        Self::with_bands(hashes, radius, m)
    }

    /// Indexes `hashes` with `m` bands (3 to 8) rather than the number [`MultiIndex::new`]
    /// estimates to be fastest.
    pub fn with_bands(hashes: &[u64], radius: u32, m: usize) -> MultiIndex {
        assert!((3..=8).contains(&m), "MultiIndex: 3 to 8 bands");
        let radius = radius.min(64);
        let bands = (0..m)
            .map(|j| {
                let bits = band_bits(j, m);
                let mask = (j..64).step_by(m).fold(0u64, |acc, b| acc | 1 << b);
                let mut offsets = vec![0u32; (1usize << bits) + 1];
                for &h in hashes {
                    offsets[band_value(h, j, m) as usize + 1] += 1;
                }
                for v in 0..(1usize << bits) {
                    offsets[v + 1] += offsets[v];
                }
                let mut fill = offsets.clone();
                let (mut ids, mut sorted) = (vec![0u32; hashes.len()], vec![0u64; hashes.len()]);
                for (i, &h) in hashes.iter().enumerate() {
                    let v = band_value(h, j, m) as usize;
                    ids[fill[v] as usize] = i as u32;
                    sorted[fill[v] as usize] = h;
                    fill[v] += 1;
                }
                Band { bits, mask, offsets, hashes: sorted, ids }
            })
            .collect();
        MultiIndex { radius, flips: radius / m as u32, bands }
    }

    /// Calls `f(i, distance)` once for every indexed hash `i` within the radius of `query`,
    /// in no particular order.
    pub fn search(&self, query: u64, mut f: impl FnMut(usize, u32)) {
        #[cfg(target_arch = "x86_64")]
        if super::hamming::has_popcnt() {
            // SAFETY: the CPU has POPCNT, checked just above.
            unsafe { self.search_popcnt(query, &mut f) };
            return;
        }
        self.search_with(query, &mut f)
    }

    /// [`MultiIndex::search`] compiled with the POPCNT instruction.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn search_popcnt(&self, query: u64, f: &mut dyn FnMut(usize, u32)) {
        self.search_with(query, f)
    }

    #[inline(always)]
    fn search_with(&self, query: u64, f: &mut dyn FnMut(usize, u32)) {
        let m = self.bands.len();
        let mut probes = Vec::with_capacity(64);
        for (j, band) in self.bands.iter().enumerate() {
            probes.clear();
            for_each_within(band_value(query, j, m), band.bits, self.flips, &mut |v| probes.push(v));
            let earlier = &self.bands[..j];
            for &v in &probes {
                let (lo, hi) = (band.offsets[v as usize] as usize, band.offsets[v as usize + 1] as usize);
                for (&h, &i) in band.hashes[lo..hi].iter().zip(&band.ids[lo..hi]) {
                    let x = query ^ h;
                    let d = x.count_ones();
                    // Reported once: by the first band in which it is within the flips.
                    if d <= self.radius && earlier.iter().all(|e| (x & e.mask).count_ones() > self.flips) {
                        f(i as usize, d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hamming::distance_u64;

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
            let index = MultiIndex::new(&hashes, radius);
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
