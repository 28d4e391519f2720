//! Drift statistics on two samples, equal to SciPy's and Evidently's:
//! `ml.wasserstein_distance`, `ml.psi`, `ml.jensen_shannon_distance`, `ml.chi_square_test`,
//! `ml.z_test_proportions`. Documented in docs/functions/drift_statistics.md.

use crate::shared::errors::literal;
use crate::shared::errors::{raise, DATATYPE_MISMATCH, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED, PROGRAM_LIMIT_EXCEEDED};
use mlkit::drift::ks::{self, Alternative, Method};
use mlkit::drift::{binning, categorical, divergence, wasserstein};
use pgrx::prelude::*;

/// The numbers of a sample argument, checked: not empty, no NULL, no NaN or infinity.
fn numbers(func: &str, arg: &str, values: Vec<Option<f64>>) -> Vec<f64> {
    if values.is_empty() {
        raise(INVALID_PARAMETER_VALUE, format!("{func}: {arg} is empty"), "Compare samples of at least one value each.");
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => raise(
                NULL_VALUE_NOT_ALLOWED,
                format!("{func}: {arg} has a NULL at position {}", i + 1),
                "Leave missing values out of the sample, e.g. array_agg(x) FILTER (WHERE x IS NOT NULL).",
            ),
            Some(x) if !x.is_finite() => raise(
                INVALID_PARAMETER_VALUE,
                format!("{func}: {arg} has {} at position {}", sql_float(x), i + 1),
                "Drift statistics need finite numbers; leave NaN and infinities out of the sample.",
            ),
            Some(x) => x,
        })
        .collect()
}

/// The categories of a sample argument, checked: not empty, no NULL.
fn categories<T>(func: &str, arg: &str, values: Vec<Option<T>>) -> Vec<T> {
    if values.is_empty() {
        raise(INVALID_PARAMETER_VALUE, format!("{func}: {arg} is empty"), "Compare samples of at least one value each.");
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.unwrap_or_else(|| {
                raise(
                    NULL_VALUE_NOT_ALLOWED,
                    format!("{func}: {arg} has a NULL at position {}", i + 1),
                    "Leave missing values out, or make them a category of their own: coalesce(x, 'missing').",
                )
            })
        })
        .collect()
}

fn sql_float(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// SciPy's `wasserstein_distance(reference, current)`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.wasserstein_distance(reference double precision[], current double precision[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.wasserstein_distance(double precision[], double precision[]) IS
  'First Wasserstein (earth mover''s) distance between two samples, equal to scipy.stats.wasserstein_distance.';
"#)]
fn wasserstein_distance(reference: Vec<Option<f64>>, current: Vec<Option<f64>>) -> f64 {
    let f = "ml.wasserstein_distance";
    wasserstein::distance(&numbers(f, "reference", reference), &numbers(f, "current", current))
}

/// Evidently's PSI of a numerical column.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.psi(reference double precision[], current double precision[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.psi(double precision[], double precision[]) IS
  'Population stability index of two numerical samples, on Evidently''s bins (Sturges'' rule, or one bin per value) and empty-bin rule.';
"#)]
fn psi_numbers(reference: Vec<Option<f64>>, current: Vec<Option<f64>>) -> f64 {
    let (r, c) = binning::binned_numbers(&numbers("ml.psi", "reference", reference), &numbers("ml.psi", "current", current), true);
    divergence::psi(&r, &c)
}

/// Evidently's PSI of a categorical column.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.psi(reference text[], current text[]) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.psi(text[], text[]) IS
  'Population stability index of two categorical samples (one bin per category), with Evidently''s empty-bin rule.';
"#)]
fn psi_categories(reference: Vec<Option<String>>, current: Vec<Option<String>>) -> f64 {
    let (r, c) = binning::binned_categories(&categories("ml.psi", "reference", reference), &categories("ml.psi", "current", current), true);
    divergence::psi(&r, &c)
}

fn check_base(base: Option<f64>) -> Option<f64> {
    if let Some(b) = base {
        if !(b > 0.0 && b != 1.0 && b.is_finite()) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.jensen_shannon_distance: base must be positive, finite and not 1, not {b}"),
                "Leave base out (NULL) for natural logarithms, or pass 2 for bits.",
            );
        }
    }
    base
}

/// Evidently's Jensen–Shannon distance of a numerical column.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.jensen_shannon_distance(reference double precision[], current double precision[], base double precision DEFAULT NULL)
RETURNS double precision
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.jensen_shannon_distance(double precision[], double precision[], double precision) IS
  'Jensen-Shannon distance of two numerical samples on Evidently''s bins (scipy.spatial.distance.jensenshannon); natural log unless base is given.';
"#)]
fn jensen_shannon_numbers(reference: Option<Vec<Option<f64>>>, current: Option<Vec<Option<f64>>>, base: Option<f64>) -> Option<f64> {
    let f = "ml.jensen_shannon_distance";
    let (r, c) = binning::binned_numbers(&numbers(f, "reference", reference?), &numbers(f, "current", current?), false);
    Some(divergence::jensen_shannon(&r, &c, check_base(base)))
}

/// Evidently's Jensen–Shannon distance of a categorical column.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.jensen_shannon_distance(reference text[], current text[], base double precision DEFAULT NULL)
RETURNS double precision
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.jensen_shannon_distance(text[], text[], double precision) IS
  'Jensen-Shannon distance of two categorical samples (one bin per category); natural log unless base is given.';
"#)]
fn jensen_shannon_categories(
    reference: Option<Vec<Option<String>>>,
    current: Option<Vec<Option<String>>>,
    base: Option<f64>,
) -> Option<f64> {
    let f = "ml.jensen_shannon_distance";
    let (r, c) = binning::binned_categories(&categories(f, "reference", reference?), &categories(f, "current", current?), false);
    Some(divergence::jensen_shannon(&r, &c, check_base(base)))
}

/// Evidently's χ² test of a categorical column.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.chi_square_test(reference text[], current text[])
RETURNS TABLE (statistic double precision, pvalue double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.chi_square_test(text[], text[]) IS
  'Chi-square goodness of fit of the current categories to the reference''s shares, as Evidently''s chisquare test (scipy.stats.chisquare).';
"#)]
fn chi_square_test(
    reference: Vec<Option<String>>,
    current: Vec<Option<String>>,
) -> TableIterator<'static, (name!(statistic, f64), name!(pvalue, f64))> {
    let f = "ml.chi_square_test";
    TableIterator::once(categorical::chi_square(&categories(f, "reference", reference), &categories(f, "current", current)))
}

/// Evidently's two-proportion z-test of a categorical column: text (or varchar, char)
/// categories, or booleans (where `false` is the first category, as `'false' < 'true'`, so
/// the share of `true` is compared and the result is the text form's). One polymorphic
/// function rather than overloads, so that untyped literals (`'{yes,no}'`) still resolve
/// (to `text[]`).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.z_test_proportions(reference anycompatiblearray, current anycompatiblearray)
RETURNS TABLE (statistic double precision, pvalue double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.z_test_proportions(anycompatiblearray, anycompatiblearray) IS
  'Two-proportion z-test (first category against the rest; the share of true for booleans), as Evidently''s z test; two-sided p-value.';
"#)]
fn z_test_proportions(
    reference: pgrx::AnyArray,
    current: pgrx::AnyArray,
) -> TableIterator<'static, (name!(statistic, f64), name!(pvalue, f64))> {
    let f = "ml.z_test_proportions";
    // SAFETY: a valid array type's OID.
    let element = unsafe { pg_sys::get_element_type(reference.oid()) };
    let result = match element {
        pg_sys::BOOLOID => {
            let values = |arg: &str, a: &pgrx::AnyArray| categories(f, arg, a.into::<Vec<Option<bool>>>().unwrap_or_default());
            categorical::z_test(&values("reference", &reference), &values("current", &current))
        }
        pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BPCHAROID => {
            let values = |arg: &str, a: &pgrx::AnyArray| categories(f, arg, a.into::<Vec<Option<String>>>().unwrap_or_default());
            categorical::z_test(&values("reference", &reference), &values("current", &current))
        }
        _ => raise(
            DATATYPE_MISMATCH,
            format!("{f}: reference and current are {}, not categories (text) or booleans", crate::shared::sql::type_name(reference.oid())),
            "Cast the categories to text: ml.z_test_proportions(reference::text[], current::text[]).",
        ),
    };
    TableIterator::once(result)
}

/// SciPy's `ks_2samp(reference, current, alternative, method)`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.ks_2samp(reference double precision[], current double precision[],
                            alternative text DEFAULT 'two-sided', method text DEFAULT 'auto')
RETURNS TABLE (statistic double precision, pvalue double precision, statistic_location double precision,
               statistic_sign integer, exact boolean)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.ks_2samp(double precision[], double precision[], text, text) IS
  'Two-sample Kolmogorov-Smirnov test, equal to scipy.stats.ks_2samp (exact p-values up to 10,000 values a sample with method auto).';
"#)]
#[allow(clippy::type_complexity)]
fn ks_2samp(
    reference: Vec<Option<f64>>,
    current: Vec<Option<f64>>,
    alternative: &str,
    method: &str,
) -> TableIterator<
    'static,
    (name!(statistic, f64), name!(pvalue, f64), name!(statistic_location, f64), name!(statistic_sign, i32), name!(exact, bool)),
> {
    let f = "ml.ks_2samp";
    let alt = match alternative {
        "two-sided" => Alternative::TwoSided,
        "less" => Alternative::Less,
        "greater" => Alternative::Greater,
        other => raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: alternative must be 'two-sided', 'less' or 'greater', not {}", literal(other)),
            "'less' tests whether the reference's CDF lies below the current one's somewhere, 'greater' above.",
        ),
    };
    let m = match method {
        "auto" => Method::Auto,
        "exact" => Method::Exact,
        "asymp" => Method::Asymptotic,
        other => raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: method must be 'auto', 'exact' or 'asymp', not {}", literal(other)),
            "Leave method out: 'auto' is exact up to 10,000 values a sample and asymptotic beyond.",
        ),
    };
    let (reference, current) = (numbers(f, "reference", reference), numbers(f, "current", current));
    // The exact p-value costs up to n₁·n₂ steps (binomials, one-sided): where SciPy's 'auto'
    // switches to the asymptotic method, 'exact' is refused rather than run for minutes.
    let largest = reference.len().max(current.len());
    if m == Method::Exact && largest > ks::MAX_AUTO_N {
        raise(
            PROGRAM_LIMIT_EXCEEDED,
            format!("{f}: method 'exact' is limited to {} values a sample, but a sample has {largest}", ks::MAX_AUTO_N),
            "Use method => 'auto' (exact up to 10,000 values a sample, as SciPy) or 'asymp'; the asymptotic p-value is accurate at this size.",
        );
    }
    // Checks for cancel and statement_timeout while the exact p-value is computed.
    let mut progress = crate::shared::progress::Reporter::new(f);
    let r = ks::ks_2samp_in(&reference, &current, alt, m, &mut progress);
    TableIterator::once((r.statistic, r.pvalue, r.location, r.sign, r.exact))
}
