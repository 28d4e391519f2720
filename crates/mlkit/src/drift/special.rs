//! The special functions the drift tests' p-values need, in `f64`, accurate to about 1e-14
//! relative over the ranges the tests use:
//!
//! - `erfc`, by its Taylor series near zero and its continued fraction beyond;
//! - the normal distribution's CDF, arranged as SciPy's `ndtr` arranges it (so that a caller
//!   that computes `1 - Φ(z)` loses the same digits SciPy's callers lose);
//! - the regularised upper incomplete gamma function `Q(a, x)`, by its series or its
//!   continued fraction (whichever converges fast at `x`), and with it the χ² survival
//!   function.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

extern "C" {
    /// C99's `lgamma` from the system's maths library (which Rust's standard library links).
    fn lgamma(x: f64) -> f64;
}

/// `ln |Γ(x)|`, from the C library.
pub fn ln_gamma(x: f64) -> f64 {
    // SAFETY: lgamma reads its argument only; the sign it may store in `signgam` is unused.
    unsafe { lgamma(x) }
}

/// `erf(x)` for `|x| < 0.5` by its Taylor series: `2/√π Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n+1))`.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let (mut term, mut sum) = (x, x);
    for n in 1..60 {
        term *= -x2 / n as f64;
        let add = term / (2 * n + 1) as f64;
        sum += add;
        if add.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    sum * 2.0 / PI.sqrt()
}

/// `b₀ + a₁/(b₁ + a₂/(b₂ + …))`, the terms `(aᵢ, bᵢ)` given by `term(i)`, evaluated by the
/// modified Lentz method until a step changes the value by less than a rounding.
fn continued_fraction(b0: f64, term: impl Fn(usize) -> (f64, f64)) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut f = guard(b0);
    let (mut c, mut d) = (f, 0.0);
    for i in 1..100_000 {
        let (a, b) = term(i);
        d = 1.0 / guard(b + a * d);
        c = guard(b + a / c);
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    f
}

/// `erfc(x)` for `x ≥ 0.5` by the continued fraction
/// `e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))`.
fn erfc_fraction(x: f64) -> f64 {
    (-x * x).exp() / (continued_fraction(x, |k| (k as f64 / 2.0, x)) * PI.sqrt())
}

/// The complementary error function.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() < 0.5 {
        1.0 - erf_series(x)
    } else if x > 0.0 {
        if x > 27.3 {
            0.0
        } else {
            erfc_fraction(x)
        }
    } else {
        2.0 - erfc(-x)
    }
}

/// The error function.
pub fn erf(x: f64) -> f64 {
    if x.abs() < 0.5 {
        erf_series(x)
    } else {
        1.0 - erfc(x)
    }
}

/// The standard normal CDF Φ(a), arranged as SciPy's `ndtr`: `½ + ½ erf(a/√2)` near zero,
/// `½ erfc(|a|/√2)` in the tails (subtracted from one on the right).
pub fn normal_cdf(a: f64) -> f64 {
    let x = a * FRAC_1_SQRT_2;
    let z = x.abs();
    if z < FRAC_1_SQRT_2 {
        0.5 + 0.5 * erf(x)
    } else {
        let y = 0.5 * erfc(z);
        if x > 0.0 {
            1.0 - y
        } else {
            y
        }
    }
}

/// The regularised upper incomplete gamma function `Q(a, x) = Γ(a, x) / Γ(a)`, `a > 0`, `x ≥ 0`.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x.is_nan() || a.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    // e^{-x} xᵃ / Γ(a), in logarithms.
    let log_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // P(a, x) = prefix/a · Σ xⁿ / ((a+1)…(a+n)); Q = 1 − P.
        let (mut term, mut sum) = (1.0 / a, 1.0 / a);
        let mut ap = a;
        for _ in 0..100_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * log_prefix.exp()
    } else {
        // Q(a, x) = prefix · 1/(x+1−a− 1(1−a)/(x+3−a− 2(2−a)/(x+5−a− …))).
        let h = 1.0 / continued_fraction(x + 1.0 - a, |i| (-(i as f64) * (i as f64 - a), x + 1.0 - a + 2.0 * i as f64));
        log_prefix.exp() * h
    }
}

/// The χ² distribution's survival function: `P(X > x)` for `k` degrees of freedom.
pub fn chi2_sf(x: f64, k: f64) -> f64 {
    gamma_q(k / 2.0, x / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn erfc_matches_known_values_across_its_range() {
        // scipy.special.erfc
        for (x, v) in [
            (0.0, 1.0),
            (0.1, 0.887_537_083_981_715_2),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_16),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544_5e-5),
            (5.0, 1.537_459_794_428_034_7e-12),
            (10.0, 2.088_487_583_762_544_6e-45),
            (-1.0, 1.842_700_792_949_714_8),
        ] {
            assert!(close(erfc(x), v, 1e-14), "erfc({x}) = {} not {v}", erfc(x));
        }
    }

    #[test]
    fn chi2_survival_matches_known_values() {
        // scipy.stats.chi2.sf
        for (x, k, v) in [
            (1.0, 1.0, 0.317_310_507_862_911_15),
            (3.84, 1.0, 0.050_043_521_248_705_19),
            (10.0, 5.0, 0.075_235_246_146_512_17),
            (0.5, 10.0, 0.999_993_388_289_439),
            (200.0, 100.0, 1.178_450_072_097_978_1e-8),
        ] {
            assert!(close(chi2_sf(x, k), v, 1e-12), "chi2_sf({x}, {k}) = {} not {v}", chi2_sf(x, k));
        }
        assert_eq!(chi2_sf(0.0, 3.0), 1.0);
        assert_eq!(chi2_sf(f64::INFINITY, 3.0), 0.0);
    }

    #[test]
    fn normal_cdf_is_symmetric_and_right_at_the_quartiles() {
        assert!(close(normal_cdf(0.674_489_750_196_081_7), 0.75, 1e-15));
        assert!(close(normal_cdf(-0.674_489_750_196_081_7), 0.25, 1e-14));
        assert_eq!(normal_cdf(0.0), 0.5);
        assert!(close(normal_cdf(-8.0), 6.220_960_574_271_74e-16, 1e-13));
    }
}
