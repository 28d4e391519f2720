//! `ml.score_drift(..., params => '{"engine": "sketch"}')`: the drift of a numerical column
//! from aggregates instead of the column read into memory. Each statistic comes from passes
//! that parallel workers (and Citus shards) split, and records its error bound:
//!
//! | method | from | error |
//! |---|---|---|
//! | Wasserstein (÷ reference std, Evidently's score) | `ml.quantile_sketch_agg` of each side; std from exact sums | `(ε₁ + ε₂)(max − min) / std` |
//! | KS | the same sketches; SciPy's large-sample p-value | statistic within `ε₁ + ε₂` |
//! | PSI, Jensen–Shannon | Evidently's bins: Sturges edges from the exact count, minimum and maximum, counted by `ml.hist_agg`; or per distinct value (`GROUP BY`) when the reference has at most 20 | none: the counts are exact |
//!
//! The method is chosen as Evidently does for more than 1,000 reference rows: Jensen–Shannon
//! when both sides hold at most 5 distinct values, Wasserstein otherwise. χ² and z are tests of
//! small samples and are not offered here. A categorical column is compared by its exact
//! counts per category (`GROUP BY`): Jensen–Shannon, or PSI by name.

use crate::shared::errors::{literal, raise, spi, spi_some, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE};
use crate::shared::source::Relation;
use crate::shared::sql;
use mlkit::drift::auto::Method;
use mlkit::drift::sketch::{self, Sketch};
use mlkit::drift::{binning, divergence, ks};
use pgrx::prelude::*;
use serde_json::{json, Value};

/// Rows (reference and current together) above which `"engine": "auto"` uses the sketches.
pub const AUTO_ROWS: i64 = 1_000_000;

/// Distinct values counted at most (enough to tell ≤ 5 and ≤ 20 apart from more).
const DISTINCT_CAP: i64 = 21;

/// One side of a column, as the aggregates saw it.
struct Side {
    sketch: Sketch,
    /// Distinct values, capped at [`DISTINCT_CAP`].
    distinct: i64,
}

/// The column's verdict, with what the engine adds to `ml.data_drift.details`.
pub struct Scored {
    pub method: Method,
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub drift_score: f64,
    pub reference_size: usize,
    pub current_size: usize,
    pub details: Value,
}

/// The quoted `col::double precision` expression and relation (with its alias) for one side.
fn parts(c: &pgrx::spi::SpiClient<'_>, rel: &Relation, column: &str) -> (String, String) {
    parts_as(c, rel, column, "double precision")
}

/// The quoted `col::<cast>` expression (`double precision` or `pg_catalog.text`) and the
/// relation with its alias, for one side ([`crate::shared::sql`]).
fn parts_as(c: &pgrx::spi::SpiClient<'_>, rel: &Relation, column: &str, cast: &str) -> (String, String) {
    (format!("{}::{cast}", sql::column(column)), format!("{} AS {}", sql::relation(c, rel.oid), sql::ALIAS))
}

fn side(c: &pgrx::spi::SpiClient<'_>, rel: &Relation, column: &str) -> Side {
    let (x, from) = parts(c, rel, column);
    let finite = format!("{x} IS NOT NULL AND {x} OPERATOR(pg_catalog.<>) ALL (ARRAY['NaN', 'Infinity', '-Infinity']::double precision[])");
    let q = format!("SELECT ml.quantile_sketch_agg({x})::pg_catalog.text FROM {from}");
    let text = spi_some(spi(c.select(&q, None, &[]), "sketch a column").first().get_one::<String>(), "sketch a column");
    let sketch = Sketch::from_text(&text).unwrap_or_else(|e| {
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("ml.score_drift: a sketch did not read back: {}", e.0),
            "This is a bug in pg_mlkit; please report it with the statement that caused it.",
        )
    });
    // The sketch keeps a subset of the values: more than the cap there means more in the
    // column. Only a column that looks like few values is counted exactly (cheaply, then).
    let mut kept: Vec<f64> = sketch.levels.iter().flatten().map(|v| if *v == 0.0 { 0.0 } else { *v }).collect();
    kept.sort_by(f64::total_cmp);
    kept.dedup();
    let distinct = if kept.len() as i64 >= DISTINCT_CAP {
        DISTINCT_CAP
    } else {
        let q = format!("SELECT pg_catalog.count(*) FROM (SELECT {x} FROM {from} WHERE {finite} GROUP BY 1 LIMIT {DISTINCT_CAP}) AS _ml_d");
        spi_some(spi(c.select(&q, None, &[]), "count distinct values").first().get_one::<i64>(), "count distinct values")
    };
    Side { sketch, distinct }
}

/// Counts per distinct value of both sides (sorted by value), by `GROUP BY`: of the column
/// as numbers (NaN left out) or, for a categorical column, as text.
fn value_counts(c: &pgrx::spi::SpiClient<'_>, r: &Relation, cur: &Relation, column: &str, categorical: bool) -> (Vec<f64>, Vec<f64>) {
    let cast = if categorical { "pg_catalog.text" } else { "double precision" };
    let ((x, rf), (_, cf)) = (parts_as(c, r, column, cast), parts_as(c, cur, column, cast));
    let keep = if categorical {
        format!("{x} IS NOT NULL")
    } else {
        format!("{x} IS NOT NULL AND {x} OPERATOR(pg_catalog.<>) 'NaN'::double precision")
    };
    let q = format!(
        "WITH _ml_a AS (SELECT {x} AS _ml_v, pg_catalog.count(*) AS _ml_n FROM {rf} WHERE {keep} GROUP BY 1),
              _ml_b AS (SELECT {x} AS _ml_v, pg_catalog.count(*) AS _ml_n FROM {cf} WHERE {keep} GROUP BY 1)
         SELECT coalesce(_ml_a._ml_n, 0)::double precision, coalesce(_ml_b._ml_n, 0)::double precision
           FROM _ml_a FULL JOIN _ml_b USING (_ml_v) ORDER BY _ml_v"
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for row in spi(c.select(&q, None, &[]), "count values") {
        a.push(spi(row.get::<f64>(1), "count values").unwrap_or(0.0));
        b.push(spi(row.get::<f64>(2), "count values").unwrap_or(0.0));
    }
    (a, b)
}

fn value_shares(c: &pgrx::spi::SpiClient<'_>, r: &Relation, cur: &Relation, column: &str, fill: bool) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = value_counts(c, r, cur, column, false);
    shares(a, b, fill)
}

/// Scores one categorical column from its value counts (`GROUP BY`, exact): Jensen–Shannon
/// (Evidently's choice above 1,000 rows) or PSI on one bin per category.
pub fn score_categories(r: &Relation, cur: &Relation, column: &str, named: Option<Method>) -> Scored {
    let f = "ml.score_drift";
    let method = named.unwrap_or_else(|| mlkit::drift::auto::choose_large(false, 0));
    match method {
        Method::Ks | Method::Wasserstein => raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: method {} needs numbers, but column {} is categorical", literal(method.name()), literal(column)),
            "Use psi, jensenshannon, chisquare or z for categorical columns.",
        ),
        Method::ChiSquare | Method::Z => refuse(method, column),
        _ => {}
    }
    let (a, b) = Spi::connect(|c| value_counts(c, r, cur, column, true));
    let (na, nb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    if na == 0.0 || nb == 0.0 {
        no_values(column, if na == 0.0 { &r.name } else { &cur.name });
    }
    let fill = method == Method::Psi;
    let (sa, sb) = shares(a, b, fill);
    let v = if fill { divergence::psi(&sa, &sb) } else { divergence::jensen_shannon(&sa, &sb, None) };
    Scored {
        method,
        statistic: v,
        p_value: None,
        drift_score: v,
        reference_size: na as usize,
        current_size: nb as usize,
        details: json!({"engine": "sketch", "error_bound": 0.0, "distinct_values": sa.len()}),
    }
}

fn refuse(method: Method, column: &str) -> ! {
    raise(
        FEATURE_NOT_SUPPORTED,
        format!("ml.score_drift: method {} is not computed by the sketch engine (column {})", literal(method.name()), literal(column)),
        "χ² and z are tests of small samples: use params.engine 'exact', or wasserstein, ks, psi or jensenshannon.",
    )
}

fn shares(a: Vec<f64>, b: Vec<f64>, fill: bool) -> (Vec<f64>, Vec<f64>) {
    let (na, nb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    let (mut a, mut b): (Vec<f64>, Vec<f64>) = (a.into_iter().map(|v| v / na).collect(), b.into_iter().map(|v| v / nb).collect());
    if fill {
        binning::fill_empty_bins(&mut a);
        binning::fill_empty_bins(&mut b);
    }
    (a, b)
}

/// Counts per Sturges bin over both sides (edges from the exact count, minimum, maximum).
fn sturges_shares(
    c: &pgrx::spi::SpiClient<'_>,
    r: &Relation,
    cur: &Relation,
    column: &str,
    a: &Sketch,
    b: &Sketch,
    fill: bool,
) -> (Vec<f64>, Vec<f64>) {
    // numpy.histogram_bin_edges(both, "sturges") needs only n, min and max: two points at
    // min and max stand for them, with the count put right.
    let (lo, hi) = (a.min.min(b.min), a.max.max(b.max));
    let edges = binning::sturges_edges_of(lo, hi, (a.n + b.n) as f64);
    let count = |rel: &Relation| -> Vec<f64> {
        let (x, from) = parts(c, rel, column);
        let q = format!("SELECT ml.hist_agg({x}, $1) FROM {from}");
        let t = spi(c.select(&q, None, &[edges.clone().into()]), "count the bins");
        let counts: Option<Vec<i64>> = spi(t.first().get(1), "count the bins");
        counts.unwrap_or_default().into_iter().map(|v| v as f64).collect()
    };
    shares(count(r), count(cur), fill)
}

/// Scores one numerical column from its aggregates; `named` is the method asked for, if any.
pub fn score(r: &Relation, cur: &Relation, column: &str, named: Option<Method>) -> Scored {
    let (a, b) = Spi::connect(|c| (side(c, r, column), side(c, cur, column)));
    if a.sketch.n == 0 || b.sketch.n == 0 {
        no_values(column, if a.sketch.n == 0 { &r.name } else { &cur.name });
    }
    // Evidently's choice above 1,000 rows (auto::choose_large): the distinct values of both
    // sides together are counted exactly only when each side looks like few.
    let few = (named.is_none() && a.distinct <= 5 && b.distinct <= 5)
        .then(|| Spi::connect(|c| value_shares(c, r, cur, column, false)))
        .filter(|(sa, _)| sa.len() <= 5);
    let n_values = few.as_ref().map_or(usize::MAX, |(sa, _)| sa.len());
    let method = named.unwrap_or_else(|| mlkit::drift::auto::choose_large(true, n_values));
    let (ea, eb) = (a.sketch.epsilon(), b.sketch.epsilon());
    let mut details = json!({"engine": "sketch", "rank_error": [ea, eb]});
    let (statistic, p_value, drift_score) = match method {
        Method::Wasserstein => {
            let (w, bound) = sketch::wasserstein(&a.sketch, &b.sketch);
            let std = a.sketch.mean_std().1.max(0.001);
            details["error_bound"] = json!(bound / std);
            (w / std, None, w / std)
        }
        Method::Ks => {
            let (d, bound) = sketch::ks(&a.sketch, &b.sketch);
            let p = ks::asymptotic_two_sided(d, a.sketch.n as usize, b.sketch.n as usize);
            details["error_bound"] = json!(bound);
            (d, Some(p), p)
        }
        Method::Psi | Method::JensenShannon => {
            let fill = method == Method::Psi;
            let (sa, sb) = few.unwrap_or_else(|| {
                Spi::connect(|c| {
                    if a.distinct > binning::DISTINCT_FOR_HISTOGRAM as i64 {
                        sturges_shares(c, r, cur, column, &a.sketch, &b.sketch, fill)
                    } else {
                        value_shares(c, r, cur, column, fill)
                    }
                })
            });
            details["error_bound"] = json!(0.0);
            let v = if fill { divergence::psi(&sa, &sb) } else { divergence::jensen_shannon(&sa, &sb, None) };
            (v, None, v)
        }
        Method::ChiSquare | Method::Z => refuse(method, column),
    };
    Scored { method, statistic, p_value, drift_score, reference_size: a.sketch.n as usize, current_size: b.sketch.n as usize, details }
}

/// Rows of a relation (an exact count), for `"engine": "auto"`.
pub fn rows(rel: &Relation) -> i64 {
    Spi::connect(|c| {
        let q = format!("SELECT pg_catalog.count(*) FROM {}", sql::relation(c, rel.oid));
        spi_some(spi(c.select(&q, None, &[]), "count rows").first().get_one::<i64>(), "count rows")
    })
}

/// The error for a compared column without values in the relation `rel`.
pub fn no_values(column: &str, rel: &str) -> ! {
    raise(
        INVALID_PARAMETER_VALUE,
        format!("ml.score_drift: column {} has no values in {rel}", literal(column)),
        "Drift needs values on both sides; leave the column out with columns => ARRAY[...].",
    )
}
