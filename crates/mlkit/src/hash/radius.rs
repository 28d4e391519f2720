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
//!
//! Longer codes — a 256-bit PDQ hash, the 768 bits of pgvector's `binary_quantize()` of an
//! embedding — are [`Bits`], indexed the same way by [`WideIndex`] with bands of at most 16
//! bits (so `m ≥ L/16`). [`Code`] is what the grouping needs of either: a distance, an index,
//! a search.

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

/// A binary code a radius search can index: a 64-bit hash ([`MultiIndex`]) or a longer
/// bit string ([`Bits`], [`WideIndex`]). Codes compare (for sorting and deduplication) by
/// their bits, most significant first.
pub trait Code: Ord + Clone + Send + Sync {
    type Index: Sync;
    /// Searches per parallel chunk (and between progress steps, where interrupts are
    /// checked): a search of a long code at a large radius probes many keys.
    const SEARCHES_PER_CHUNK: usize;
    /// Hamming distance (codes of one length).
    fn distance(&self, other: &Self) -> u32;
    /// A search structure over `codes` for searches of radius `radius`.
    fn index(codes: &[Self], radius: u32) -> Self::Index;
    /// Calls `f(i, distance)` once for every indexed code within the radius of `query`.
    fn search(index: &Self::Index, query: &Self, f: impl FnMut(usize, u32));
}

impl Code for u64 {
    type Index = MultiIndex;
    const SEARCHES_PER_CHUNK: usize = 1024;
    fn distance(&self, other: &Self) -> u32 {
        (self ^ other).count_ones()
    }
    fn index(codes: &[Self], radius: u32) -> MultiIndex {
        MultiIndex::new(codes, radius)
    }
    fn search(index: &MultiIndex, query: &Self, f: impl FnMut(usize, u32)) {
        index.search(*query, f)
    }
}

/// A bit string of any length (`bit(n)`, `bit varying`) as 64-bit words: bit 0 is the most
/// significant bit of the first word, as PostgreSQL stores bits; the last word is padded
/// with zeros. Codes of one index have one length.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bits {
    words: Box<[u64]>,
    len: u32,
}

impl Bits {
    /// The first `len` bits of `bytes` (most significant bit of each byte first), or `None`
    /// when `bytes` holds fewer.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Option<Bits> {
        if bytes.len() * 8 < len || len > u32::MAX as usize {
            return None;
        }
        let mut words = vec![0u64; len.div_ceil(64)].into_boxed_slice();
        for i in 0..len {
            if bytes[i / 8] >> (7 - i % 8) & 1 == 1 {
                words[i / 64] |= 1 << (63 - i % 64);
            }
        }
        Some(Bits { words, len: len as u32 })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `i` (0 = first).
    pub fn bit(&self, i: usize) -> bool {
        self.words[i / 64] >> (63 - i % 64) & 1 == 1
    }

    /// As a 64-bit hash, when it has exactly 64 bits (the first bit the most significant).
    pub fn as_u64(&self) -> Option<u64> {
        (self.len == 64).then(|| self.words[0])
    }

    /// The bits of band `band` of `bands` (bits `band`, `band + bands`, …), packed, first
    /// bit lowest.
    fn band_value(&self, band: usize, bands: usize) -> u32 {
        let mut v = 0u32;
        for (k, i) in (band..self.len()).step_by(bands).enumerate() {
            v |= (self.bit(i) as u32) << k;
        }
        v
    }
}

/// The SQL index scheme for bit strings (`ml.hash_bands(bit varying)`): `m` bands of at most
/// 16 bits (at least 5, at most one per bit), bit `i` to band `i mod m`; band `j`'s key is
/// `(j + 1) · 2¹⁶ + value`, apart from the 64-bit scheme's keys. Hashes within `r` share a
/// key among those `probe_keys` lists for `⌊r/m⌋` flips per band.
///
/// The second split (`ml.hash_blocks`) cuts the same string into `m` runs of consecutive bits
/// instead. Each split alone is exact; two strings within `r` share a key in both, while two
/// unrelated ones rarely do in either, so intersecting the candidates of both (two indexes, a
/// BitmapAnd) leaves about `(candidates / n)²·n` of them to check.
pub mod bit_index {
    use super::{for_each_within, Bits};

    /// Largest flips per band a probe enumerates (1 + 16 + 120 keys per band).
    pub const MAX_FLIPS: u32 = 2;

    /// How a string's bits are dealt to its bands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Split {
        /// Bit `i` to band `i mod m` (`ml.hash_bands`).
        Interleaved,
        /// Band `j` is bits `⌊j·L/m⌋ .. ⌊(j+1)·L/m⌋` (`ml.hash_blocks`).
        Blocks,
    }

    /// Bands for codes of `len` bits.
    pub fn bands(len: usize) -> usize {
        len.div_ceil(16).max(5).min(len).max(1)
    }

    /// The largest radius probes cover for codes of `len` bits.
    pub fn max_radius(len: usize) -> u32 {
        (MAX_FLIPS + 1) * bands(len) as u32 - 1
    }

    fn key(band: usize, value: u32) -> i32 {
        ((band as i32 + 1) << 16) | value as i32
    }

    /// Band `j` of `m` of `code` under `split`: its value and its number of bits.
    fn band(code: &Bits, split: Split, j: usize, m: usize) -> (u32, u32) {
        match split {
            Split::Interleaved => (code.band_value(j, m), (code.len() - j).div_ceil(m) as u32),
            Split::Blocks => {
                let (start, end) = (j * code.len() / m, (j + 1) * code.len() / m);
                let value = (start..end).enumerate().fold(0u32, |v, (k, i)| v | (code.bit(i) as u32) << k);
                (value, (end - start) as u32)
            }
        }
    }

    /// The index keys of `code`.
    pub fn keys(code: &Bits) -> Vec<i32> {
        keys_of(code, Split::Interleaved)
    }

    /// The index keys of `code` under `split`.
    pub fn keys_of(code: &Bits, split: Split) -> Vec<i32> {
        let m = bands(code.len());
        (0..m).map(|j| key(j, band(code, split, j, m).0)).collect()
    }

    /// The keys a code within `radius` of `code` has at least one of (`radius` at most
    /// [`max_radius`]).
    pub fn probe_keys(code: &Bits, radius: u32) -> Vec<i32> {
        probe_keys_of(code, radius, Split::Interleaved)
    }

    /// [`probe_keys`] under `split`.
    pub fn probe_keys_of(code: &Bits, radius: u32, split: Split) -> Vec<i32> {
        let m = bands(code.len());
        let flips = radius / m as u32;
        let mut out = Vec::new();
        for j in 0..m {
            let (value, bits) = band(code, split, j, m);
            for_each_within(value, bits, flips, &mut |v| out.push(key(j, v)));
        }
        out
    }
}

impl Code for Bits {
    type Index = WideIndex;
    const SEARCHES_PER_CHUNK: usize = 8;
    fn distance(&self, other: &Self) -> u32 {
        self.words.iter().zip(other.words.iter()).map(|(a, b)| (a ^ b).count_ones()).sum()
    }
    fn index(codes: &[Self], radius: u32) -> WideIndex {
        WideIndex::new(codes, radius)
    }
    fn search(index: &WideIndex, query: &Self, f: impl FnMut(usize, u32)) {
        index.search(query, f)
    }
}

/// Multi-index hashing over [`Bits`] of one length `L`: `m` bands of at most 16 bits (bit `i`
/// to band `i mod m`), each a table of the codes by band value. A search probes every band
/// value within `⌊r/m⌋` flips of the query's in every band, then checks each candidate (once)
/// by its full distance.
pub struct WideIndex {
    codes: Vec<Bits>,
    radius: u32,
    flips: u32,
    bands: Vec<(u32, Vec<u32>, Vec<u32>)>,
}

impl WideIndex {
    /// Indexes `codes` (all of one length) for searches of radius `radius`.
    pub fn new(codes: &[Bits], radius: u32) -> WideIndex {
        assert!(codes.len() < u32::MAX as usize, "WideIndex: too many codes");
        let len = codes.first().map_or(0, Bits::len).max(1);
        assert!(codes.iter().all(|c| c.len() == codes[0].len()), "WideIndex: codes of one length");
        let n = codes.len() as f64;
        let bits = |j: usize, m: usize| (len - j.min(len)).div_ceil(m) as u32;
        let cost = |m: usize| {
            let s = radius / m as u32;
            (0..m).map(|j| binomial_sum(bits(j, m), s) * (8.0 + n / f64::from(1u32 << bits(j, m)))).sum::<f64>()
        };
        // Enough bands that a search flips at most two bits per band (probes stay bounded).
        let (lowest, highest) = Self::band_range(len);
        let lowest = lowest.max((radius as usize + 1).div_ceil(3)).min(highest);
        let m = (lowest..=highest).min_by(|&a, &b| cost(a).total_cmp(&cost(b))).unwrap_or(lowest);
        let bands = (0..m)
            .map(|j| {
                let b = bits(j, m);
                let values: Vec<u32> = codes.iter().map(|c| c.band_value(j, m)).collect();
                let mut offsets = vec![0u32; (1usize << b) + 1];
                for &v in &values {
                    offsets[v as usize + 1] += 1;
                }
                for v in 0..(1usize << b) {
                    offsets[v + 1] += offsets[v];
                }
                let mut fill = offsets.clone();
                let mut ids = vec![0u32; codes.len()];
                for (i, &v) in values.iter().enumerate() {
                    ids[fill[v as usize] as usize] = i as u32;
                    fill[v as usize] += 1;
                }
                (b, offsets, ids)
            })
            .collect();
        WideIndex { codes: codes.to_vec(), radius, flips: radius / m as u32, bands }
    }

    /// The numbers of bands tried for codes of `len` bits: enough that no band has more
    /// than 16 bits, up to four times that (at least 64), at most one per bit.
    fn band_range(len: usize) -> (usize, usize) {
        let lowest = len.div_ceil(16).max(1);
        (lowest, len.min((lowest * 4).max(64)).max(lowest))
    }

    /// Bytes an index of `n` codes of `len` bits takes at most: the codes, the band tables
    /// (2¹⁶ + 1 offsets for each of the fewest bands, fewer for more) and one id per code
    /// per band.
    pub fn memory_bytes(n: usize, len: usize) -> usize {
        let (lowest, highest) = Self::band_range(len.max(1));
        n * (len.div_ceil(64) * 8 + 40) + lowest * ((1 << 16) + 1) * 4 + highest * n * 4
    }

    /// Calls `f(i, distance)` once for every indexed code within the radius of `query`, in
    /// no particular order.
    pub fn search(&self, query: &Bits, mut f: impl FnMut(usize, u32)) {
        let m = self.bands.len();
        let mut candidates = Vec::new();
        let mut probes = Vec::new();
        for (j, (bits, offsets, ids)) in self.bands.iter().enumerate() {
            probes.clear();
            for_each_within(query.band_value(j, m), *bits, self.flips, &mut |v| probes.push(v));
            for &v in &probes {
                candidates.extend_from_slice(&ids[offsets[v as usize] as usize..offsets[v as usize + 1] as usize]);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for i in candidates {
            let d = self.codes[i as usize].distance(query);
            if d <= self.radius {
                f(i as usize, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hamming::distance_u64;

    /// Marsaglia's xorshift64: a cheap deterministic stream for test data.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn bit_index_keys_find_every_code_within_the_radius() {
        let mut rnd = xorshift(0x1234_5678_9abc_def1u64);
        for len in [7usize, 100, 256, 768] {
            let base: Vec<u8> = (0..len.div_ceil(8)).map(|_| rnd() as u8).collect();
            let q = Bits::from_bytes(&base, len).unwrap();
            for radius in [0, 3, bit_index::max_radius(len).min(len as u32)] {
                let probe = bit_index::probe_keys(&q, radius);
                for _ in 0..200 {
                    let mut b = base.clone();
                    for _ in 0..(rnd() % (u64::from(radius) + 1)) {
                        let bit = (rnd() as usize) % len;
                        b[bit / 8] ^= 0x80 >> (bit % 8);
                    }
                    let c = Bits::from_bytes(&b, len).unwrap();
                    if c.distance(&q) <= radius {
                        assert!(bit_index::keys(&c).iter().any(|k| probe.contains(k)), "len {len} radius {radius}");
                    }
                }
            }
        }
    }

    #[test]
    fn wide_index_finds_exactly_what_a_full_scan_finds() {
        let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15u64);
        for len in [64usize, 100, 256, 768] {
            let centres: Vec<Vec<u8>> = (0..40).map(|_| (0..len.div_ceil(8)).map(|_| rnd() as u8).collect()).collect();
            let codes: Vec<Bits> = (0..1500)
                .map(|i| {
                    let mut b = centres[i % 40].clone();
                    for _ in 0..(rnd() % 30) {
                        let bit = (rnd() as usize) % len;
                        b[bit / 8] ^= 0x80 >> (bit % 8);
                    }
                    Bits::from_bytes(&b, len).unwrap()
                })
                .collect();
            for radius in [0, 5, 17, 40] {
                let index = WideIndex::new(&codes, radius);
                for q in codes.iter().step_by(113) {
                    let mut found = vec![];
                    index.search(q, |i, d| found.push((i, d)));
                    found.sort();
                    let scan: Vec<(usize, u32)> =
                        codes.iter().enumerate().map(|(i, c)| (i, c.distance(q))).filter(|&(_, d)| d <= radius).collect();
                    assert_eq!(found, scan, "len {len}, radius {radius}");
                }
            }
        }
        // 64 bits read as a bit string are the u64 of the same bits, first bit most significant.
        let b = Bits::from_bytes(&0x8000_0000_0000_0001u64.to_be_bytes(), 64).unwrap();
        assert_eq!(b.as_u64(), Some(0x8000_0000_0000_0001));
        assert!(b.bit(0) && b.bit(63) && !b.bit(1));
        assert_eq!(Bits::from_bytes(&[0xff], 9), None);
    }

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
        let mut rnd = xorshift(0x2545_f491_4f6c_dd1du64);
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

    #[test]
    fn both_splits_find_every_code_within_the_radius() {
        use super::bit_index::{keys_of, probe_keys_of, Split};
        let mut rng = crate::rng::Rng::new(7);
        for len in [64usize, 100, 256, 768] {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len.div_ceil(8)).map(|_| rng.next_u64() as u8).collect();
                let a = Bits::from_bytes(&bytes, len).unwrap();
                let r = (rng.next_u64() % (super::bit_index::max_radius(len) as u64 + 1)) as u32;
                // A code exactly r bits away, and one r + 1 away.
                let mut near = bytes.clone();
                let mut flipped = std::collections::HashSet::new();
                while flipped.len() < r as usize {
                    let i = (rng.next_u64() % len as u64) as usize;
                    if flipped.insert(i) {
                        near[i / 8] ^= 0x80 >> (i % 8);
                    }
                }
                let b = Bits::from_bytes(&near, len).unwrap();
                for split in [Split::Interleaved, Split::Blocks] {
                    let probes = probe_keys_of(&a, r, split);
                    assert!(keys_of(&b, split).iter().any(|k| probes.contains(k)), "{len} bits, r {r}, {split:?}");
                }
                if len == 256 {
                    // Block j is bits 16j .. 16j + 15, the first the lowest bit of its value.
                    let block3 = (0..16).fold(0i32, |v, k| v | (a.bit(48 + k) as i32) << k);
                    assert_eq!(keys_of(&a, Split::Blocks)[3], (4 << 16) | block3);
                }
            }
        }
    }
}
