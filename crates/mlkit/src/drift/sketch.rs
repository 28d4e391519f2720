//! A mergeable quantile sketch with a rank-error bound it carries with it, for KS and
//! Wasserstein on columns too large to sort in one place.
//!
//! It is a hierarchy of compactors (Manku, Rajagopalan & Lindsay 1998; the deterministic form
//! of KLL, Karnin, Lang & Liberty 2016, with every level of capacity `k`). Level `h` holds
//! values that each stand for `2^h` values of the input. A level that reaches `k` values is
//! *compacted*: sorted, and every other value (alternately the odd and the even positions,
//! level by level) moves up one level, the rest are dropped; an odd value out stays. For any
//! `x`, a compaction at level `h` changes the estimated number of values `≤ x` by at most
//! `2^h`. The sketch adds up `2^h` for every compaction it (or any sketch merged into it)
//! performed: that sum, `err`, bounds the rank error of every query, deterministically.
//! A level compacts at most `n / (k·2^h)` times, so `err ≤ (n / k) · ⌈log₂(n / k) + 1⌉`:
//! with the default `k = 4096`, about 0.5 % of `n` at 100 M values, typically far less.
//!
//! Merging two sketches concatenates their levels and compacts what overflows; `err` adds up.
//! So the bound holds for any split of the input, in any order of merges.
//!
//! From two sketches: the KS statistic `sup |F₁ − F₂|` within `ε₁ + ε₂` of the exact one
//! (`εᵢ = errᵢ / nᵢ`), and the Wasserstein-1 distance `∫ |F₁ − F₂|` within
//! `(ε₁ + ε₂) · (max − min)`. Count, minimum, maximum, sum and sum of squares are kept exactly
//! (sums in `f64`), for the mean and standard deviation Evidently normalises by.

use crate::textform::{join, Tokens};

/// Default capacity per level.
pub const DEFAULT_K: usize = 4096;
/// Smallest and largest capacity accepted.
pub const MIN_K: usize = 8;
pub const MAX_K: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    pub k: usize,
    pub n: u64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub sum_sq: f64,
    /// The rank-error bound: `Σ 2^h` over all compactions.
    pub err: f64,
    /// Values per level (level `h` weighs `2^h`), and each level's compaction count (its parity
    /// chooses which positions move up next time).
    pub levels: Vec<Vec<f64>>,
    pub compactions: Vec<u64>,
}

/// Why bytes are not a sketch.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

impl Sketch {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            sum_sq: 0.0,
            err: 0.0,
            levels: vec![Vec::new()],
            compactions: vec![0],
        }
    }

    /// Adds one finite value (NaN and infinities are the caller's to leave out).
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.sum += x;
        self.sum_sq += x * x;
        self.levels[0].push(x);
        if self.levels[0].len() >= self.k {
            self.compress();
        }
    }

    /// Merges `other` (same or different `k`: the result keeps this one's).
    pub fn merge(&mut self, other: &Sketch) {
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.err += other.err;
        for (h, level) in other.levels.iter().enumerate() {
            if h >= self.levels.len() {
                self.levels.push(Vec::new());
                self.compactions.push(0);
            }
            self.levels[h].extend_from_slice(level);
            self.compactions[h] += other.compactions.get(h).copied().unwrap_or(0);
        }
        self.compress();
    }

    /// Compacts every level that is full, bottom up.
    fn compress(&mut self) {
        let mut h = 0;
        while h < self.levels.len() {
            if self.levels[h].len() >= self.k {
                let mut level = std::mem::take(&mut self.levels[h]);
                level.sort_by(f64::total_cmp);
                let offset = (self.compactions[h] % 2) as usize;
                // An odd value out (the largest) stays at this level.
                let keep = if level.len() % 2 == 1 { level.pop() } else { None };
                let up: Vec<f64> = level.iter().skip(offset).step_by(2).copied().collect();
                self.levels[h].extend(keep);
                self.compactions[h] += 1;
                self.err += (1u64 << h.min(62)) as f64;
                if h + 1 == self.levels.len() {
                    self.levels.push(Vec::new());
                    self.compactions.push(0);
                }
                self.levels[h + 1].extend(up);
            }
            h += 1;
        }
    }

    /// The relative rank error bound `err / n` (0 for an empty sketch).
    pub fn epsilon(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.err / self.n as f64
        }
    }

    /// Every stored value with its weight, sorted by value.
    fn weighted(&self) -> Vec<(f64, f64)> {
        let mut all: Vec<(f64, f64)> =
            self.levels.iter().enumerate().flat_map(|(h, l)| l.iter().map(move |&v| (v, (1u64 << h.min(62)) as f64))).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        all
    }

    /// Estimated fraction of values `≤ x`, within [`Sketch::epsilon`] of the true one.
    pub fn cdf(&self, x: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let w: f64 =
            self.levels.iter().enumerate().map(|(h, l)| l.iter().filter(|&&v| v <= x).count() as f64 * (1u64 << h.min(62)) as f64).sum();
        (w / self.total_weight()).clamp(0.0, 1.0)
    }

    fn total_weight(&self) -> f64 {
        self.levels.iter().enumerate().map(|(h, l)| l.len() as f64 * (1u64 << h.min(62)) as f64).sum()
    }

    /// The `q`-quantile (`0 ≤ q ≤ 1`): the smallest stored value whose estimated rank
    /// reaches `q · n`; the exact minimum and maximum at the ends. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        if q <= 0.0 {
            return Some(self.min);
        }
        if q >= 1.0 {
            return Some(self.max);
        }
        let all = self.weighted();
        let target = q * self.total_weight();
        let mut acc = 0.0;
        for (v, w) in &all {
            acc += w;
            if acc >= target {
                return Some(*v);
            }
        }
        Some(self.max)
    }

    /// Mean and population standard deviation, from the exact sums.
    pub fn mean_std(&self) -> (f64, f64) {
        let n = self.n as f64;
        let mean = self.sum / n;
        (mean, (self.sum_sq / n - mean * mean).max(0.0).sqrt())
    }

    /// The text form: `{"k": …, "n": …, "min": …, "max": …, "sum": …, "sum_sq": …, "err": …,
    /// "compactions": […], "levels": [[…], …]}` (JSON; numbers read back to the same bits).
    pub fn to_text(&self) -> String {
        let levels: Vec<String> = self.levels.iter().map(|l| format!("[{}]", join(l))).collect();
        let compactions: Vec<String> = self.compactions.iter().map(|c| c.to_string()).collect();
        format!(
            "{{\"k\":{},\"n\":{},\"min\":{:?},\"max\":{:?},\"sum\":{:?},\"sum_sq\":{:?},\"err\":{:?},\"compactions\":[{}],\"levels\":[{}]}}",
            self.k,
            self.n,
            self.min,
            self.max,
            self.sum,
            self.sum_sq,
            self.err,
            compactions.join(","),
            levels.join(",")
        )
    }

    /// Reads [`Sketch::to_text`]'s form back, checked as [`Sketch::from_bytes`] checks.
    pub fn from_text(s: &str) -> Result<Self, Invalid> {
        let parse = || -> Result<Sketch, String> {
            let mut t = Tokens::new(s);
            t.expect("{")?;
            let num = |t: &mut Tokens, key: &str, first: bool| -> Result<f64, String> {
                if !first {
                    t.expect(",")?;
                }
                t.key_number(key)
            };
            let k = num(&mut t, "k", true)?;
            let n = num(&mut t, "n", false)?;
            let (min, max) = (num(&mut t, "min", false)?, num(&mut t, "max", false)?);
            let (sum, sum_sq, err) = (num(&mut t, "sum", false)?, num(&mut t, "sum_sq", false)?, num(&mut t, "err", false)?);
            t.expect(",")?;
            t.key("compactions")?;
            let compactions = t.list()?;
            t.expect(",")?;
            t.key("levels")?;
            let levels = t.lists()?;
            t.expect("}")?;
            if !t.done() {
                return Err("text after the closing brace".into());
            }
            let whole = |v: f64| v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(63);
            if !whole(k) || !whole(n) || !compactions.iter().all(|&c| whole(c)) || compactions.len() != levels.len() {
                return Err("k, n and the compaction counts must be whole numbers, one count per level".into());
            }
            Ok(Sketch {
                k: k as usize,
                n: n as u64,
                min,
                max,
                sum,
                sum_sq,
                err,
                levels,
                compactions: compactions.into_iter().map(|c| c as u64).collect(),
            })
        };
        let s = parse().map_err(Invalid)?;
        // The same checks as the binary form.
        Sketch::from_bytes(&s.to_bytes())
    }

    /// Bytes of the flat form: 8 header fields, then per level its length and compaction
    /// count, then its values (all little-endian `f64`/`u64`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 16 * self.levels.len() + 8 * self.levels.iter().map(Vec::len).sum::<usize>());
        for v in [self.k as u64, self.n, self.levels.len() as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.min, self.max, self.sum, self.sum_sq, self.err] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (l, c) in self.levels.iter().zip(&self.compactions) {
            out.extend_from_slice(&(l.len() as u64).to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
            for v in l {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`Sketch::to_bytes`]'s form, checking every length and value.
    pub fn from_bytes(b: &[u8]) -> Result<Self, Invalid> {
        let mut words = b.chunks_exact(8).map(|c| [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        if !b.len().is_multiple_of(8) || b.len() < 64 {
            return Err(Invalid(format!("{} bytes is not a whole sketch", b.len())));
        }
        let mut u = || words.next().map(u64::from_le_bytes).ok_or_else(|| Invalid("the sketch ends early".into()));
        let (k, n, nlevels) = (u()? as usize, u()?, u()? as usize);
        let f: Vec<f64> = (0..5).map(|_| u().map(f64::from_bits)).collect::<Result<_, _>>()?;
        if !(MIN_K..=MAX_K).contains(&k) || nlevels == 0 || nlevels > 64 {
            return Err(Invalid(format!("k = {k} or {nlevels} levels out of range")));
        }
        let mut s = Sketch { k, n, min: f[0], max: f[1], sum: f[2], sum_sq: f[3], err: f[4], levels: Vec::new(), compactions: Vec::new() };
        let mut weight = 0u128;
        for h in 0..nlevels {
            let len = u()? as usize;
            let c = u()?;
            if len > 2 * k {
                return Err(Invalid(format!("level {h} holds {len} values, more than 2k")));
            }
            // Level 0 is compacted as soon as it reaches k values, and the flat form keeps
            // room for k − 1 of them: a longer one is no sketch this code could have built.
            if h == 0 && len >= k {
                return Err(Invalid(format!("level 0 holds {len} values, k = {k} or more")));
            }
            let l: Vec<f64> = (0..len).map(|_| u().map(f64::from_bits)).collect::<Result<_, _>>()?;
            if l.iter().any(|v| !v.is_finite()) {
                return Err(Invalid("a stored value is not finite".into()));
            }
            weight += (len as u128) << h;
            s.levels.push(l);
            s.compactions.push(c);
        }
        if words.next().is_some() {
            return Err(Invalid("bytes after the last level".into()));
        }
        let plausible = weight <= u128::from(n) && (n == 0 || weight > 0) && s.err >= 0.0 && s.err.is_finite();
        if !plausible || (n > 0 && !(s.min.is_finite() && s.max.is_finite() && s.min <= s.max)) {
            return Err(Invalid("the counts, bounds or error do not agree".into()));
        }
        Ok(s)
    }
}

/// The flat form an aggregate keeps its state in: [`Sketch::to_bytes`]'s words with room for
/// `k` values on level 0 after its length and compaction count, so that adding a value is a
/// few stores in place ([`add_in_place`]) rather than a rebuild. Little-endian 8-byte words:
/// `k, n, levels, min, max, sum, sum_sq, err`, level 0's length and compaction count, `k`
/// slots for its values, then each higher level's length, compaction count and values.
pub mod flat {
    use super::{Invalid, Sketch, MAX_K, MIN_K};

    /// Words before level 0's values.
    pub const HEADER_WORDS: usize = 10;
    const N: usize = 1;
    const MIN: usize = 3;
    const MAX: usize = 4;
    const SUM: usize = 5;
    const SUM_SQ: usize = 6;
    const LEN0: usize = 8;

    /// The words of `s`'s flat form.
    pub fn words(s: &Sketch) -> Vec<u64> {
        let upper: usize = s.levels.iter().skip(1).map(|l| 2 + l.len()).sum();
        let mut w: Vec<u64> = Vec::with_capacity(HEADER_WORDS + s.k + upper);
        w.extend([s.k as u64, s.n, s.levels.len() as u64]);
        w.extend([s.min, s.max, s.sum, s.sum_sq, s.err].map(f64::to_bits));
        w.extend([s.levels[0].len() as u64, s.compactions[0]]);
        w.extend(s.levels[0].iter().map(|v| v.to_bits()));
        w.resize(HEADER_WORDS + s.k, 0);
        for (l, c) in s.levels.iter().zip(&s.compactions).skip(1) {
            w.extend([l.len() as u64, *c]);
            w.extend(l.iter().map(|v| v.to_bits()));
        }
        w
    }

    /// Bytes of the flat form of a sketch of capacity `k` whose higher levels hold `upper` words.
    pub fn byte_len(k: usize, upper: usize) -> usize {
        8 * (HEADER_WORDS + k + upper)
    }

    fn word(b: &[u8], i: usize) -> Option<u64> {
        b.get(8 * i..8 * i + 8).map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
    }

    fn put(b: &mut [u8], i: usize, v: u64) {
        b[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// The sketch of flat bytes, every length and value checked (as [`Sketch::from_bytes`]).
    pub fn read(b: &[u8]) -> Result<Sketch, Invalid> {
        let Some(k) = word(b, 0).map(|k| k as usize) else { return Err(Invalid("too short".into())) };
        if !(MIN_K..=MAX_K).contains(&k) {
            return Err(Invalid(format!("k = {k}")));
        }
        let len0 = word(b, LEN0).unwrap_or(u64::MAX) as usize;
        if len0 >= k || b.len() < 8 * (HEADER_WORDS + k) {
            return Err(Invalid("level 0 is longer than k".into()));
        }
        // The canonical form is the flat one without level 0's spare room.
        let mut canon = Vec::with_capacity(b.len());
        canon.extend_from_slice(&b[..8 * (HEADER_WORDS + len0)]);
        canon.extend_from_slice(&b[8 * (HEADER_WORDS + k)..]);
        Sketch::from_bytes(&canon)
    }

    /// Adds finite `x` to the flat sketch `b` in place, exactly as [`Sketch::add`] would, when
    /// level 0 has room for it without a compaction; `false` (and `b` untouched) when it has
    /// not or `b` is not a well-formed flat sketch, and the caller rebuilds through [`read`].
    pub fn add_in_place(b: &mut [u8], x: f64) -> bool {
        let (Some(k), Some(len0)) = (word(b, 0).map(|k| k as usize), word(b, LEN0).map(|l| l as usize)) else { return false };
        if !(MIN_K..=MAX_K).contains(&k) || b.len() < 8 * (HEADER_WORDS + k) || len0 + 1 >= k {
            return false;
        }
        let f = |b: &[u8], i: usize| f64::from_bits(word(b, i).unwrap_or(0));
        let n = word(b, N).unwrap_or(0);
        let (min, max, sum, sum_sq) = (f(b, MIN).min(x), f(b, MAX).max(x), f(b, SUM) + x, f(b, SUM_SQ) + x * x);
        put(b, N, n + 1);
        put(b, MIN, min.to_bits());
        put(b, MAX, max.to_bits());
        put(b, SUM, sum.to_bits());
        put(b, SUM_SQ, sum_sq.to_bits());
        put(b, HEADER_WORDS + len0, x.to_bits());
        put(b, LEN0, len0 as u64 + 1);
        true
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::rng::Rng;

        fn bytes(s: &Sketch) -> Vec<u8> {
            words(s).iter().flat_map(|w| w.to_le_bytes()).collect()
        }

        #[test]
        fn adding_in_place_is_adding_to_the_sketch() {
            let mut rng = Rng::new(7);
            let mut s = Sketch::new(16);
            let mut b = bytes(&s);
            for i in 0..200 {
                let x = crate::rng::normal(&mut rng) * 3.0;
                s.add(x);
                if !add_in_place(&mut b, x) {
                    // Level 0 was full: rebuilt from the sketch, as the aggregate does.
                    let mut t = read(&b).unwrap();
                    t.add(x);
                    b = bytes(&t);
                }
                assert_eq!(read(&b).unwrap(), s, "after {} values", i + 1);
            }
            assert!(s.levels.len() > 2, "compactions happened");
        }

        #[test]
        fn damaged_flat_forms_are_refused_and_never_written_to() {
            let mut b = bytes(&Sketch::new(8));
            assert!(read(&b[..40]).is_err());
            let mut short = b[..8 * HEADER_WORDS].to_vec();
            assert!(!add_in_place(&mut short, 1.0));
            put(&mut b, LEN0, 8);
            let before = b.clone();
            assert!(!add_in_place(&mut b, 1.0) && b == before);
            assert!(read(&b).is_err());
            put(&mut b, 0, 4);
            assert!(read(&b).is_err());
        }
    }
}

/// KS statistic between the sketches' CDFs (the sup is taken over every stored value, where
/// the step functions change) and its error bound `ε₁ + ε₂`.
pub fn ks(a: &Sketch, b: &Sketch) -> (f64, f64) {
    let mut xs: Vec<f64> = a.levels.iter().chain(&b.levels).flatten().copied().collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (wa, wb) = (cumulative(a), cumulative(b));
    let d = xs.iter().map(|&x| (at(&wa, x) - at(&wb, x)).abs()).fold(0.0, f64::max);
    (d, a.epsilon() + b.epsilon())
}

/// Wasserstein-1 distance between the sketches' distributions (`∫ |F₁ − F₂| dx` over the
/// stored values, the exact minimum and maximum included) and its error bound
/// `(ε₁ + ε₂) · (max − min)`.
pub fn wasserstein(a: &Sketch, b: &Sketch) -> (f64, f64) {
    let mut xs: Vec<f64> =
        a.levels.iter().chain(&b.levels).flatten().copied().chain([a.min, a.max, b.min, b.max]).filter(|v| v.is_finite()).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (wa, wb) = (cumulative(a), cumulative(b));
    let mut w = 0.0;
    for pair in xs.windows(2) {
        w += (at(&wa, pair[0]) - at(&wb, pair[0])).abs() * (pair[1] - pair[0]);
    }
    let span = xs.last().zip(xs.first()).map_or(0.0, |(hi, lo)| hi - lo);
    (w, (a.epsilon() + b.epsilon()) * span)
}

/// Sorted values with the cumulative share of the weight at each.
fn cumulative(s: &Sketch) -> Vec<(f64, f64)> {
    let all = s.weighted();
    let total: f64 = all.iter().map(|p| p.1).sum();
    let mut acc = 0.0;
    all.into_iter()
        .map(|(v, w)| {
            acc += w;
            (v, acc / total)
        })
        .collect()
}

/// The step CDF at `x`: the share of the weight at values `≤ x`.
fn at(c: &[(f64, f64)], x: f64) -> f64 {
    let i = c.partition_point(|p| p.0 <= x);
    if i == 0 {
        0.0
    } else {
        c[i - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn a_full_level_0_is_refused_in_both_forms() {
        let mut s = Sketch::new(MIN_K);
        (0..5).for_each(|i| s.add(f64::from(i)));
        assert!(Sketch::from_bytes(&s.to_bytes()).is_ok());
        // Level 0 holding k values (what no add or merge leaves behind).
        let mut full = s.clone();
        full.levels[0] = (0..MIN_K).map(|i| i as f64).collect();
        full.n = MIN_K as u64;
        let e = Sketch::from_bytes(&full.to_bytes()).unwrap_err();
        assert!(e.0.contains("level 0"), "{e:?}");
        assert!(Sketch::from_text(&full.to_text()).is_err());
    }

    fn exact_cdf(sorted: &[f64], x: f64) -> f64 {
        sorted.partition_point(|&v| v <= x) as f64 / sorted.len() as f64
    }

    #[test]
    fn rank_error_stays_within_the_carried_bound_for_any_split() {
        let mut rng = Rng::new(3);
        let n = 200_000;
        let data: Vec<f64> = (0..n).map(|i| rng.next_f64().powi(3) * 100.0 + (i % 7) as f64).collect();
        let mut sorted = data.clone();
        sorted.sort_by(f64::total_cmp);
        let k = 256;
        // Serial, and split in 7 uneven parts merged in a tree.
        let mut whole = Sketch::new(k);
        data.iter().for_each(|&x| whole.add(x));
        let mut parts: Vec<Sketch> = (0..7).map(|_| Sketch::new(k)).collect();
        for (i, &x) in data.iter().enumerate() {
            parts[(i * 31 + i / 1000) % 7].add(x);
        }
        let mut merged = parts.pop().unwrap();
        while let Some(p) = parts.pop() {
            let mut q = p;
            q.merge(&merged);
            merged = q;
        }
        for s in [&whole, &merged] {
            assert_eq!(s.n, n as u64);
            assert!(s.epsilon() > 0.0 && s.epsilon() < 0.05, "{}", s.epsilon());
            let worst = (0..=1000)
                .map(|i| sorted[0] + (sorted[n - 1] - sorted[0]) * i as f64 / 1000.0)
                .map(|x| (s.cdf(x) - exact_cdf(&sorted, x)).abs())
                .fold(0.0, f64::max);
            assert!(worst <= s.epsilon(), "observed {worst} > bound {}", s.epsilon());
            assert_eq!((s.min, s.max), (sorted[0], sorted[n - 1]));
            let q = s.quantile(0.5).unwrap();
            assert!((exact_cdf(&sorted, q) - 0.5).abs() <= s.epsilon() + 1.0 / n as f64);
        }
    }

    #[test]
    fn ks_and_wasserstein_are_within_their_bounds_of_the_exact_values() {
        let mut rng = Rng::new(9);
        let a: Vec<f64> = (0..50_000).map(|_| rng.next_f64() * 10.0).collect();
        let b: Vec<f64> = (0..80_000).map(|_| rng.next_f64() * 10.0 + 0.7).collect();
        let (mut sa, mut sb) = (Sketch::new(128), Sketch::new(128));
        a.iter().for_each(|&x| sa.add(x));
        b.iter().for_each(|&x| sb.add(x));
        let (d, bound) = ks(&sa, &sb);
        let exact_d =
            crate::drift::ks::ks_2samp(&a, &b, crate::drift::ks::Alternative::TwoSided, crate::drift::ks::Method::Asymptotic).statistic;
        assert!((d - exact_d).abs() <= bound, "{d} vs {exact_d} ± {bound}");
        let (w, wbound) = wasserstein(&sa, &sb);
        let exact_w = crate::drift::wasserstein::distance(&a, &b);
        assert!((w - exact_w).abs() <= wbound, "{w} vs {exact_w} ± {wbound}");
        // Small inputs are kept whole: exact answers.
        let (mut s1, mut s2) = (Sketch::new(64), Sketch::new(64));
        [1.0, 2.0, 3.0].iter().for_each(|&x| s1.add(x));
        [2.0, 3.0, 4.0, 5.0].iter().for_each(|&x| s2.add(x));
        assert_eq!(ks(&s1, &s2), (0.5, 0.0));
    }

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let mut s = Sketch::new(16);
        (0..1000).for_each(|i| s.add(i as f64 * 0.5));
        let b = s.to_bytes();
        assert_eq!(Sketch::from_bytes(&b).unwrap(), s);
        assert!(Sketch::from_bytes(&b[..b.len() - 8]).is_err());
        assert_eq!(Sketch::from_text(&s.to_text()).unwrap(), s);
        assert!(Sketch::from_text(&s.to_text().replace("\"n\":1000", "\"n\":3")).is_err());
        let mut bad = b.clone();
        bad[0..8].copy_from_slice(&3u64.to_le_bytes());
        assert!(Sketch::from_bytes(&bad).is_err());
        let mut bad = b;
        bad[8..16].copy_from_slice(&1u64.to_le_bytes());
        assert!(Sketch::from_bytes(&bad).is_err());
    }
}
