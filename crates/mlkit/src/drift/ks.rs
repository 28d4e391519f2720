//! The two-sample Kolmogorov–Smirnov test as SciPy's `scipy.stats.ks_2samp` computes it.
//!
//! The statistic is the largest gap between the two empirical CDFs (evaluated at every pooled
//! value, ties counted on the right): `D = max |F₁ − F₂|` two-sided, `max (F₁ − F₂)` for
//! `greater`, `max (F₂ − F₁)` for `less`. The p-value is
//!
//! - **exact** (`auto` when neither sample has more than 10,000 values): the share of the
//!   `C(n₁+n₂, n₁)` equally likely orderings whose lattice path leaves the band the statistic
//!   draws (Hodges, 1958). Two-sided with unequal sizes uses Viehmann's recursion for
//!   `1 − p` (2021), which stays accurate for tiny p; equal sizes have closed forms.
//! - **asymptotic** otherwise: the Kolmogorov distribution with `n = round(n₁n₂/(n₁+n₂))`
//!   ([`super::kolmogorov::kolmogorov_sf`]) two-sided, Hodges' approximation one-sided.
//!
//! When the exact computation would overflow, the asymptotic one is used, as in SciPy.
//!
//! The exact p-value costs up to `O(n₁·n₂)` (one-sided, unequal sizes: `O(n²)` binomials), so
//! [`ks_2samp_in`] tells a [`Progress`] hook how far it is, on the calling thread, often
//! enough (every few milliseconds) that the PostgreSQL hook's cancel check stops it promptly.

use super::kolmogorov::kolmogorov_sf;
use super::special::ln_gamma;
use crate::{Progress, Step};

/// What the exact computation reports itself as.
const EXACT_PASS: &str = "exact Kolmogorov-Smirnov p-value";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    TwoSided,
    Less,
    Greater,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Auto,
    Exact,
    Asymptotic,
}

/// Largest sample size for which `Method::Auto` computes the exact p-value.
pub const MAX_AUTO_N: usize = 10_000;

/// The test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    pub statistic: f64,
    pub pvalue: f64,
    /// The pooled value at which the statistic is attained.
    pub location: f64,
    /// +1 when the first sample's CDF is above there, −1 when below.
    pub sign: i32,
    /// Whether the p-value is exact.
    pub exact: bool,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Runs the test on two non-empty samples of finite values.
pub fn ks_2samp(data1: &[f64], data2: &[f64], alternative: Alternative, method: Method) -> KsResult {
    ks_2samp_in(data1, data2, alternative, method, &mut |_| {})
}

/// [`ks_2samp`], telling `progress` how far the exact p-value is (a cancel raised there
/// unwinds out of it: nothing is held but plain buffers).
pub fn ks_2samp_in(data1: &[f64], data2: &[f64], alternative: Alternative, method: Method, progress: &mut dyn Progress) -> KsResult {
    // -0.0 and 0.0 are one value (`+ 0.0` makes every zero positive): the merge below compares
    // with `total_cmp`, which orders -0.0 before 0.0 and would step the ECDFs between them.
    let mut a: Vec<f64> = data1.iter().map(|&v| v + 0.0).collect();
    let mut b: Vec<f64> = data2.iter().map(|&v| v + 0.0).collect();
    a.sort_unstable_by(f64::total_cmp);
    b.sort_unstable_by(f64::total_cmp);
    let (n1, n2) = (a.len(), b.len());
    // ECDF differences at every distinct pooled value, by merging the sorted samples. SciPy
    // evaluates them at data1's values then data2's and takes the first extreme in that order:
    // so among equal extremes a value of the first sample wins over one only in the second,
    // and a smaller value over a larger.
    let (mut min_v, mut min_at, mut min_first) = (f64::INFINITY, 0.0, false);
    let (mut max_v, mut max_at, mut max_first) = (f64::NEG_INFINITY, 0.0, false);
    let (mut i, mut j) = (0, 0);
    while i < n1 || j < n2 {
        let x = if j == n2 || (i < n1 && a[i].total_cmp(&b[j]).is_le()) { a[i] } else { b[j] };
        let in_first = i < n1 && a[i].total_cmp(&x).is_eq();
        while i < n1 && a[i].total_cmp(&x).is_le() {
            i += 1;
        }
        while j < n2 && b[j].total_cmp(&x).is_le() {
            j += 1;
        }
        let diff = i as f64 / n1 as f64 - j as f64 / n2 as f64;
        if diff < min_v || (diff == min_v && in_first && !min_first) {
            (min_v, min_at, min_first) = (diff, x, in_first);
        }
        if diff > max_v || (diff == max_v && in_first && !max_first) {
            (max_v, max_at, max_first) = (diff, x, in_first);
        }
    }
    let min_s = (-min_v).clamp(0.0, 1.0);
    let (mut d, location, sign) = if alternative == Alternative::Less || (alternative == Alternative::TwoSided && min_s > max_v) {
        (min_s, min_at, -1)
    } else {
        (max_v, max_at, 1)
    };
    let g = gcd(n1 as u64, n2 as u64);
    let mut exact = match method {
        Method::Auto => n1.max(n2) <= MAX_AUTO_N,
        Method::Exact => ((n1 as u64 / g) as f64) < i32::MAX as f64 / ((n2 as u64 / g) as f64),
        Method::Asymptotic => false,
    };
    let mut prob = f64::NAN;
    if exact {
        match exact_prob(n1 as u64, n2 as u64, g, d, alternative, progress) {
            Some((dd, p)) => {
                d = dd;
                prob = p;
            }
            None => exact = false,
        }
    }
    if !exact {
        let (m, n) = if n1 >= n2 { (n1 as f64, n2 as f64) } else { (n2 as f64, n1 as f64) };
        let en = m * n / (m + n);
        prob = if alternative == Alternative::TwoSided {
            asymptotic_two_sided(d, n1, n2)
        } else {
            let z = en.sqrt() * d;
            (-2.0 * z * z - 2.0 * z * (m + 2.0 * n) / (m * n * (m + n)).sqrt() / 3.0).exp()
        };
    }
    KsResult { statistic: d, pvalue: prob.clamp(0.0, 1.0), location, sign, exact }
}

/// NumPy's `round`: halves to even.
/// SciPy's large-sample two-sided p-value of a statistic `d` between samples of `n1` and `n2`
/// values: the Kolmogorov–Smirnov distribution at `round(n1·n2 / (n1 + n2))`.
pub fn asymptotic_two_sided(d: f64, n1: usize, n2: usize) -> f64 {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    kolmogorov_sf(round_half_even(m * n / (m + n)) as u64, d).clamp(0.0, 1.0)
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// The exact p-value, with the statistic snapped to the lattice; `None` if it overflows.
fn exact_prob(n1: u64, n2: u64, g: u64, d: f64, alternative: Alternative, progress: &mut dyn Progress) -> Option<(f64, f64)> {
    let lcm = (n1 / g) * n2;
    let h = round_half_even(d * lcm as f64) as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = match alternative {
        Alternative::TwoSided if n1 == n2 => prob_outside_square(n1, h),
        Alternative::TwoSided => outer_prob_inside(n1, n2, g, h, progress),
        _ if n1 == n2 => (0..h).map(|j| (n1 - j) as f64 / (n1 + j + 1) as f64).product(),
        _ => {
            // Past about 1,000 values in all, C(n₁+n₂, n₁) overflows and the p-value is the
            // asymptotic one whatever the paths: count them (O(n²)) only when they can be used.
            let total = binom(n1 + n2, n1);
            if !total.is_finite() {
                return None;
            }
            let paths = paths_outside(n1, n2, g, h, progress)?;
            if paths > total {
                return None;
            }
            paths / total
        }
    };
    (0.0..=1.0).contains(&p).then_some((d, p))
}

/// `P(D ≥ h/n)` for two samples of size `n`: `2 Σₖ (−1)ᵏ⁻¹ C(2n, n − kh) / C(2n, n)`, the
/// ratios evaluated by a Horner-like scheme that avoids the cancellation.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h as i64 {
            p1 = (n as i64 - k * h as i64 - j) as f64 * p1 / (n as i64 + k * h as i64 + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// Two-sided, unequal sizes: the probability that a random lattice path from (0, 0) to
/// (m, n) leaves the band `|x/m − y/n| < h/lcm`, by Viehmann's recursion on `1 − p`: each
/// point's value is the chance that a path to it has already left the band, the weighted mean
/// of its two predecessors' (`(i·left + j·below) / (i + j)`); points outside the band are 1.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64, progress: &mut dyn Progress) -> f64 {
    let (m, n) = if m < n { (n as i64, m as i64) } else { (m as i64, n as i64) };
    let (mg, ng, h) = (m / g as i64, n / g as i64, h as i64);
    let ceil_div = |a: i64, b: i64| -(-a).div_euclid(b);
    // Column i holds rows minj .. maxj (inside the band); the previous column is in `prev`.
    let (mut minj, mut maxj) = (0i64, ceil_div(h, mg).min(n + 1));
    let mut prev: Vec<f64> = vec![0.0; maxj as usize];
    let mut prev_min = 0i64;
    let mut col: Vec<f64> = Vec::new();
    for i in 1..=m {
        // A column is at most n + 1 points: 64 of them are well under a millisecond.
        if i % 64 == 0 {
            progress.step(Step::Pass { what: EXACT_PASS, done: i as usize, total: m as usize });
        }
        let lo = ((ng * i - h).div_euclid(mg) + 1).clamp(0, n);
        let hi = ceil_div(ng * i + h, mg).min(n + 1);
        if hi <= lo {
            return 1.0;
        }
        col.clear();
        // Below the band in this column: the path has left it.
        let mut val = if lo == 0 { 0.0 } else { 1.0 };
        for j in lo..hi {
            let left = if j >= prev_min && j < prev_min + prev.len() as i64 { prev[(j - prev_min) as usize] } else { 1.0 };
            val = (left * i as f64 + val * j as f64) / (i + j) as f64;
            col.push(val);
        }
        (minj, maxj) = (lo, hi);
        std::mem::swap(&mut prev, &mut col);
        prev_min = minj;
    }
    prev[(maxj - minj - 1) as usize]
}

/// `C(n, k)` as a float (SciPy's `binom` for integers: a product for small `k`, else through
/// the log-gamma function).
fn binom(n: u64, k: u64) -> f64 {
    let k = k.min(n - k);
    if k < 20 {
        let (mut num, mut den) = (1.0f64, 1.0f64);
        for i in 1..=k {
            num *= (i + n - k) as f64;
            den *= i as f64;
            if num.abs() > 1e50 {
                num /= den;
                den = 1.0;
            }
        }
        return num / den;
    }
    (ln_gamma((n + 1) as f64) - ln_gamma((k + 1) as f64) - ln_gamma((n - k + 1) as f64)).exp()
}

/// One-sided, unequal sizes: the number of lattice paths from (0, 0) to (m, n) that reach
/// `m·y ≤ n·x − h·g` (Hodges); `None` on overflow.
fn paths_outside(m: u64, n: u64, g: u64, h: u64, progress: &mut dyn Progress) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let lxj = n as i64 + (mg as i64 - h as i64).div_euclid(mg as i64);
    if lxj <= 0 {
        return Some(binom(m + n, n));
    }
    let lxj = lxj as usize;
    let xj: Vec<u64> = (0..lxj as u64).map(|j| (h + mg * j).div_ceil(ng)).collect();
    let mut b = vec![0.0; lxj];
    b[0] = 1.0;
    for j in 1..lxj {
        // Row j costs j binomials (a few microseconds each at most): report every 16 rows.
        if j % 16 == 0 {
            progress.step(Step::Pass { what: EXACT_PASS, done: j, total: lxj });
        }
        let mut bj = binom(xj[j] + j as u64, j as u64);
        for i in 0..j {
            bj -= binom(xj[j] - xj[i] + (j - i) as u64, (j - i) as u64) * b[i];
        }
        b[j] = bj;
    }
    let mut paths = 0.0;
    for j in 0..lxj {
        if xj[j] > m {
            continue;
        }
        paths += b[j] * binom((m - xj[j]) + (n - j as u64), n - j as u64);
    }
    paths.is_finite().then_some(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_p_one_and_disjoint_ones_tiny_p() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let r = ks_2samp(&a, &a, Alternative::TwoSided, Method::Auto);
        assert_eq!((r.statistic, r.pvalue), (0.0, 1.0));
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0], Alternative::TwoSided, Method::Auto);
        assert_eq!(r.statistic, 1.0);
        // All 35 orderings but the two extreme ones stay inside: p = 2/35.
        assert!((r.pvalue - 2.0 / 35.0).abs() < 1e-15, "{r:?}");
    }

    #[test]
    fn signed_zeros_are_one_value_as_in_scipy() {
        // scipy.stats.ks_2samp 1.x on these arrays (and on the same with 0 for -0).
        let r = ks_2samp(
            &[-1.0, -1.0, 1.0, 1.0, -1.0, -0.0],
            &[-1.0, 2.0, -1.0, 0.0, 2.0, 1.0, 0.0, -0.0, 1.0],
            Alternative::TwoSided,
            Method::Auto,
        );
        assert!((r.statistic - 0.2777777777777778).abs() < 1e-15, "{r:?}");
        assert!((r.pvalue - 0.8977022977022977).abs() < 1e-12, "{r:?}");
        let r = ks_2samp(&[0.0, -0.0, 1.0, 2.0], &[-0.0, 0.0, 0.0, 3.0], Alternative::TwoSided, Method::Auto);
        assert_eq!((r.statistic, r.pvalue), (0.25, 1.0));
    }

    /// Two samples of `n1` and `n2` values, interleaved but shifted so that D is moderate.
    fn shifted(n1: usize, n2: usize) -> (Vec<f64>, Vec<f64>) {
        ((0..n1).map(|i| i as f64 / n1 as f64).collect(), (0..n2).map(|i| i as f64 / n2 as f64 + 0.01).collect())
    }

    #[test]
    fn the_exact_p_value_reports_progress_and_can_be_cancelled() {
        for alternative in [Alternative::Greater, Alternative::Less, Alternative::TwoSided] {
            // One-sided, the path count is used only while C(n₁+n₂, n₁) is finite.
            let (a, b) = match alternative {
                Alternative::TwoSided => shifted(3000, 2999),
                Alternative::Greater => shifted(500, 499),
                // The first sample's CDF below the second's: D > 0 for 'less'.
                Alternative::Less => {
                    let (a, b) = shifted(499, 500);
                    (b, a)
                }
            };
            let mut steps = 0usize;
            let r = ks_2samp_in(&a, &b, alternative, Method::Exact, &mut |s: Step| {
                assert!(matches!(s, Step::Pass { what: EXACT_PASS, .. }));
                steps += 1;
            });
            assert!(r.exact, "{alternative:?}: {r:?}");
            assert!(steps > 10, "{alternative:?}: {steps} progress reports");
            // The same as without a hook.
            assert_eq!(r, ks_2samp(&a, &b, alternative, Method::Exact));
            // A hook that cancels (as PostgreSQL's does, by unwinding) stops it at its first report.
            let mut calls = 0usize;
            let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                ks_2samp_in(&a, &b, alternative, Method::Exact, &mut |_| {
                    calls += 1;
                    panic!("cancelled");
                })
            }));
            assert!(stopped.is_err());
            assert_eq!(calls, 1);
        }
    }

    #[test]
    fn one_sided_exact_that_would_overflow_is_asymptotic_at_once() {
        // C(16000 + 15999, 15999) overflows: the asymptotic p-value, without the O(n²) count.
        let (a, b) = shifted(16_000, 15_999);
        let started = std::time::Instant::now();
        let r = ks_2samp_in(&a, &b, Alternative::Greater, Method::Exact, &mut |_| panic!("no exact computation expected"));
        assert!(!r.exact && r.pvalue > 0.0 && r.pvalue <= 1.0, "{r:?}");
        assert!(started.elapsed().as_secs_f64() < 1.0);
        assert_eq!(r, ks_2samp(&a, &b, Alternative::Greater, Method::Asymptotic));
    }
}
