//! `ml.score_drift`: compares the columns of two tables or views as Evidently's data drift
//! does (its choice of test per column, its thresholds), exactly in memory or, for large
//! tables, from sketches ([`super::score_drift_sketch`]); records a run and one `ml.data_drift` row
//! per column. Documented in docs/functions/score_drift.md.

use crate::runs;
use crate::shared::errors::{
    literal, raise, spi, spi_some, DATATYPE_MISMATCH, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED,
    UNDEFINED_COLUMN,
};
use crate::shared::params::{opt, Opt, Options};
use crate::shared::source::{for_each_batch, Relation};
use crate::shared::sql;
use mlkit::drift::auto::{self, Sample};
use mlkit::drift::embedding;
use pgrx::prelude::*;
use pgrx::FromDatum;
use pgrx::JsonB;
use serde_json::{json, Map, Value};

/// What `params` may hold: the parser's defaults and `ml.options`' rows.
pub const SCORE_OPTS: &[Opt] = &[
    opt("threshold", "null", "the bound of every column's test (a p-value for tests, a distance for distances); left out: each method's own, as Evidently's"),
    opt("drift_share", "0.5", "the share of drifted columns, 0 to 1, at which the data set counts as drifted"),
    opt("columns", "null", "per-column settings, {\"<column>\": {\"method\": ..., \"threshold\": ...}}"),
    opt("random_state", "42", "seed of the embedding drift's domain classifier split, as Evidently's"),
    opt("engine", "\"exact\"", "\"exact\" reads each column whole; \"sketch\" computes numerical columns from parallel quantile sketches; \"auto\" sketches above 1000000 rows"),
];
/// What one column's entry in `params.columns` may hold.
pub const COLUMN_OPTS: &[Opt] = &[
    opt("method", "null", "the column's test: ks, wasserstein, psi, jensenshannon, chisquare or z; for embedding columns model, distance or ratio; left out: chosen as Evidently does"),
    opt("threshold", "null", "the column's bound; left out: params.threshold, else the method's own"),
];

/// How a column is compared: as numbers or as categories.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Numerical,
    Categorical,
    Embedding,
    Other,
}

/// One column's verdict, whatever its kind.
struct ColumnResult {
    column: String,
    kind: Kind,
    reference_size: usize,
    current_size: usize,
    distinct_values: Option<usize>,
    method: &'static str,
    statistic: f64,
    p_value: Option<f64>,
    drift_score: f64,
    threshold: f64,
    drifted: bool,
    /// What the sketch engine adds to the row's details (engine, error bound, rank errors).
    engine: Option<Value>,
}

fn kind_of(c: &pgrx::spi::SpiClient<'_>, oid: pg_sys::Oid) -> Kind {
    if crate::shared::pgvector::vector_type(c, oid).is_some() {
        return Kind::Embedding;
    }
    let t = spi(
        c.select(
            "SELECT CASE WHEN t.typcategory OPERATOR(pg_catalog.=) 'N' THEN 'n'
                         WHEN t.typcategory OPERATOR(pg_catalog.=) ANY (ARRAY['S', 'B', 'E']::pg_catalog.\"char\"[]) THEN 'c'
                         WHEN (t.typcategory OPERATOR(pg_catalog.=) 'A'
                               AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e
                                            WHERE e.oid OPERATOR(pg_catalog.=) t.typelem AND e.typcategory OPERATOR(pg_catalog.=) 'N'))
                              OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                                          WHERE k.castsource OPERATOR(pg_catalog.=) t.oid
                                            AND k.casttarget OPERATOR(pg_catalog.=) 'real[]'::pg_catalog.regtype) THEN 'e'
                         ELSE 'o' END::pg_catalog.text
               FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) $1",
            None,
            &[oid.into()],
        ),
        "check a column type",
    );
    match spi(t.first().get_one::<String>(), "check a column type").as_deref() {
        Some("n") => Kind::Numerical,
        Some("c") => Kind::Categorical,
        Some("e") => Kind::Embedding,
        _ => Kind::Other,
    }
}

/// A column's values in a relation, NULL (and for numbers NaN) left out as missing.
fn read_sample(c: &pgrx::spi::SpiClient<'_>, rel: &Relation, column: &str, kind: Kind, limit_bytes: usize) -> Sample {
    let (x, from) = (sql::column(column), format!("{} AS {}", sql::relation(c, rel.oid), sql::ALIAS));
    let q = if kind == Kind::Numerical {
        format!(
            "SELECT {x}::double precision FROM {from}
              WHERE {x} IS NOT NULL AND {x}::double precision OPERATOR(pg_catalog.<>) 'NaN'::double precision"
        )
    } else {
        format!("SELECT {x}::pg_catalog.text FROM {from} WHERE {x} IS NOT NULL")
    };
    let (mut numbers, mut categories, mut bytes) = (Vec::new(), Vec::new(), 0usize);
    if kind == Kind::Numerical {
        // Numbers by the million: straight from the fetched tuples, without a per-value lookup.
        for_each_batch(c, &q, |batch| {
            crate::shared::errors::try_grow(&mut numbers, batch.len(), || {
                format!("ml.score_drift: reading column {} of {}", literal(column), rel.name)
            });
            // SAFETY: the batch's one column is checked to be float8 before any is decoded.
            unsafe {
                let (desc, tuples) = batch.raw();
                sql::expect_type(desc, 1, pg_sys::FLOAT8OID, "read a column");
                for &tuple in tuples {
                    let mut null = false;
                    let d = pg_sys::SPI_getbinval(tuple, desc, 1, &mut null);
                    if let Some(v) = f64::from_datum(d, null) {
                        numbers.push(v);
                    }
                }
            }
            if numbers.len() * 8 > limit_bytes {
                memory_exceeded(column, rel);
            }
            numbers.len() * 8
        });
        if let Some(v) = numbers.iter().find(|x| x.is_infinite()) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!(
                    "ml.score_drift: column {} of {} holds {}",
                    literal(column),
                    rel.name,
                    if *v > 0.0 { "Infinity" } else { "-Infinity" }
                ),
                "Drift tests need finite numbers; filter infinities out through a view (NULL and NaN count as missing and are left out).",
            );
        }
        return Sample::Numbers(numbers);
    }
    for_each_row(c, &q, column, rel, limit_bytes, |row| {
        // The query leaves NULLs out.
        let t = spi_some(row.get::<&str>(1), "read a value");
        let v = crate::shared::source::owned_text(t, || format!("ml.score_drift: reading column {} of {}", literal(column), rel.name));
        bytes += v.len() + 24;
        categories.push(v);
        bytes
    });
    Sample::Categories(categories)
}

fn memory_exceeded(column: &str, rel: &Relation) -> ! {
    raise(
        crate::shared::errors::PROGRAM_LIMIT_EXCEEDED,
        format!(
            "ml.score_drift: column {} of {} needs more memory than pg_mlkit.max_memory_mb ({} MB) allows (each period may use half)",
            literal(column),
            rel.name,
            crate::shared::guc::max_memory_bytes() >> 20
        ),
        "Raise the limit if the server has the memory, or compare a sample of the rows through a view.",
    )
}

/// Each row of `query` handed to `row`, which returns the bytes kept so far; more than
/// `limit_bytes` is an error.
fn for_each_row(
    c: &pgrx::spi::SpiClient<'_>,
    query: &str,
    column: &str,
    rel: &Relation,
    limit_bytes: usize,
    mut row: impl FnMut(pgrx::spi::SpiHeapTupleData<'_>) -> usize,
) {
    let mut kept = 0usize;
    for_each_batch(c, query, |batch| {
        for r in batch.rows {
            kept = row(r);
        }
        if kept > limit_bytes {
            memory_exceeded(column, rel);
        }
        kept
    });
}

/// An embedding column's non-NULL rows, as one row-major matrix. A pgvector column is read
/// from its bytes (`vector`, `halfvec`, `sparsevec` densified), any other through its cast to
/// `real[]`.
fn read_embeddings(c: &pgrx::spi::SpiClient<'_>, rel: &Relation, column: &str, limit_bytes: usize) -> (Vec<f32>, usize) {
    let x = sql::column(column);
    let col = rel.column("params.columns", column).clone();
    let vector = crate::shared::pgvector::vector_type(c, col.base);
    let selected = if vector.is_some() { x.clone() } else { format!("{x}::real[]") };
    let q = format!("SELECT {selected} FROM {} AS {} WHERE {x} IS NOT NULL", sql::relation(c, rel.oid), sql::ALIAS);
    let (mut data, mut dim) = (Vec::new(), 0usize);
    let odd = |dim: usize| -> ! {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("ml.score_drift: column {} of {} has an embedding that is empty, of another length than the first ({dim}), or not all finite numbers", literal(column), rel.name),
            "Embedding drift compares vectors of one length; filter the odd rows out through a view.",
        )
    };
    if let Some(t) = vector {
        crate::shared::source::for_each_batch(c, &q, |batch| {
            // SAFETY: the batch's own tuples, decoded only after the column's type is checked.
            unsafe {
                let (desc, tuples) = batch.raw();
                sql::expect_type(desc, 1, col.declared, "read an embedding");
                for &tuple in tuples {
                    let mut null = false;
                    let datum = pg_sys::SPI_getbinval(tuple, desc, 1, &mut null);
                    if null {
                        odd(dim);
                    }
                    let start = data.len();
                    let n = crate::shared::pgvector::append_datum(
                        t,
                        datum,
                        &mut data,
                        |v, n| {
                            if (v.len() + n) * 4 > limit_bytes {
                                memory_exceeded(column, rel);
                            }
                            crate::shared::errors::try_grow(v, n, || {
                                format!("ml.score_drift: reading column {} of {}", literal(column), rel.name)
                            })
                        },
                        || format!("ml.score_drift: column {} of {}", literal(column), rel.name),
                    );
                    if dim == 0 {
                        dim = n;
                    }
                    if n == 0 || n != dim || data[start..].iter().any(|v| !v.is_finite()) {
                        odd(dim);
                    }
                }
            }
            data.len() * 4
        });
        return (data, dim);
    }
    for_each_row(c, &q, column, rel, limit_bytes, |row| {
        // Borrowed from the tuple: a long array is checked before anything of it is copied.
        let v: Option<pgrx::Array<'_, f32>> = spi(row.get::<pgrx::Array<'_, f32>>(1), "read an embedding");
        let n = v.as_ref().map_or(0, |a| a.len());
        if dim == 0 {
            dim = n;
        }
        if n == 0 || n != dim || v.as_ref().is_some_and(|a| a.iter().any(|x| !x.is_some_and(f32::is_finite))) {
            odd(dim);
        }
        crate::shared::errors::try_grow(&mut data, dim, || format!("ml.score_drift: reading column {} of {}", literal(column), rel.name));
        if let Some(a) = v {
            data.extend(a.iter().flatten());
        }
        data.len() * 4
    });
    (data, dim)
}

/// Compares columns of two tables or views, column by column, as Evidently's data drift
/// does; records a run and one `ml.data_drift` row per column.
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.score_drift(
    reference regclass,
    current regclass,
    columns text[] DEFAULT NULL,
    method text DEFAULT 'auto',
    params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.score_drift IS
  'Scores the drift of every column (or the named ones) between a reference and a current table or view, choosing tests as Evidently does; records a run and ml.data_drift rows.';
"#
)]
fn score_drift(
    reference: Option<pg_sys::Oid>,
    current: Option<pg_sys::Oid>,
    columns: Option<Vec<Option<String>>>,
    method: Option<&str>,
    params: Option<crate::shared::params::Jsonb>,
    run: Option<crate::shared::params::Jsonb>,
) -> i64 {
    let started = std::time::Instant::now();
    let f = "ml.score_drift";
    let reference = reference.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: reference must not be NULL"), "Pass the reference period's table or view.")
    });
    let current = current.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: current must not be NULL"), "Pass the current period's table or view.")
    });
    let method = method.unwrap_or("auto");
    let global_method = if method == "auto" {
        None
    } else {
        Some(auto::Method::from_name(method).unwrap_or_else(|| {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{f}: method must be auto, ks, wasserstein, psi, jensenshannon, chisquare or z, not {}", literal(method)),
                "Leave method out to choose per column as Evidently does.",
            )
        }))
    };
    let p = params.map(|j| j.value(f, "params"));
    let opts = Options::new("params", p.as_ref(), SCORE_OPTS, f);
    let global_threshold = opts.number_opt("threshold", f64::MIN, f64::MAX);
    let drift_share = opts.number("drift_share", 0.0, 1.0);
    let seed = opts.integer("random_state", 0, i64::MAX) as u64;
    let engine = opts.text_or_default("engine");
    if !["exact", "sketch", "auto"].contains(&engine.as_str()) {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: params.engine must be 'exact', 'sketch' or 'auto', not {}", literal(&engine)),
            "Leave engine out to read each column whole; 'sketch' computes numerical columns from parallel aggregates; 'auto' sketches above 1,000,000 rows.",
        );
    }
    let per_column: Map<String, Value> = match opts.object("columns") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let run = runs::RunOptions::parse(run.map(|j| j.value(f, "run")).as_ref());

    let (ref_name, cur_name) = (crate::shared::source::display_name(reference), crate::shared::source::display_name(current));
    let (ref_rel, cur_rel) = Spi::connect(|c| {
        (
            Relation::open(c, reference, &ref_name, "Pass the reference period's table or view."),
            Relation::open(c, current, &cur_name, "Pass the current period's table or view."),
        )
    });
    // The columns to compare: the named ones, or every comparable column of both.
    let (plan, skipped) = Spi::connect(|c| {
        let mut plan = vec![];
        let mut skipped = vec![];
        let names: Vec<String> = match &columns {
            Some(list) => list
                .iter()
                .map(|n| {
                    let n = n.as_deref().unwrap_or_else(|| {
                        raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: columns has a NULL"), "Name each column to compare.")
                    });
                    crate::runs::unquote(n)
                })
                .collect(),
            None => ref_rel
                .columns
                .iter()
                .filter(|col| cur_rel.columns.iter().any(|o| o.name == col.name))
                .map(|col| col.name.clone())
                .collect(),
        };
        for col in names {
            let rc = ref_rel.column("columns", &col).clone();
            let cc = cur_rel.columns.iter().find(|o| o.name == col).cloned().unwrap_or_else(|| {
                raise(
                    UNDEFINED_COLUMN,
                    format!("{f}: column {} is not in current {}", literal(&col), cur_rel.name),
                    "Compare columns that both relations have.",
                )
            });
            let (rk, ck) = (kind_of(c, rc.base), kind_of(c, cc.base));
            if rk == Kind::Other || rk != ck {
                if columns.is_some() {
                    raise(
                        if rk != ck && rk != Kind::Other { DATATYPE_MISMATCH } else { FEATURE_NOT_SUPPORTED },
                        format!(
                            "{f}: column {} has type {} in reference and {} in current, which pg_mlkit cannot compare",
                            literal(&col),
                            rc.type_name,
                            cc.type_name
                        ),
                        "Compare numeric columns, text, boolean and enum columns as categories, or numeric arrays (embeddings).",
                    );
                }
                skipped.push(col);
                continue;
            }
            plan.push((col, rk));
        }
        (plan, skipped)
    });
    if plan.is_empty() {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: {} and {} have no columns to compare", ref_rel.name, cur_rel.name),
            "Name the columns, or compare relations that share numeric or categorical columns.",
        );
    }
    for key in per_column.keys() {
        if !plan.iter().any(|(c, _)| c == key) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{f}: params.columns names {}, which is not compared", literal(key)),
                "Per-column settings are for the compared columns.",
            );
        }
    }

    // The sketch engine's choice is the same for every column: size is counted once.
    let sketch_all = engine == "sketch"
        || (engine == "auto"
            && crate::monitor::score_drift_sketch::rows(&ref_rel) + crate::monitor::score_drift_sketch::rows(&cur_rel)
                > crate::monitor::score_drift_sketch::AUTO_ROWS);
    let mut results: Vec<ColumnResult> = vec![];
    for (col, kind) in &plan {
        let col_opts = Options::new("params.columns", per_column.get(col.as_str()), COLUMN_OPTS, "a column's drift");
        let col_threshold = col_opts.number_opt("threshold", f64::MIN, f64::MAX).or(global_threshold);
        if *kind == Kind::Embedding {
            let m = match col_opts.text("method").as_deref() {
                None => embedding::Method::Model,
                Some(name) => embedding::Method::from_name(name).unwrap_or_else(|| {
                    raise(
                        INVALID_PARAMETER_VALUE,
                        format!("{f}: params.columns.{col}.method {} is not an embedding drift method", literal(name)),
                        "Embedding columns take model (the default), distance or ratio.",
                    )
                }),
            };
            let limit = crate::shared::guc::max_memory_bytes() / 2;
            let ((rd, rdim), (cd, cdim)) =
                Spi::connect(|cl| (read_embeddings(cl, &ref_rel, col, limit), read_embeddings(cl, &cur_rel, col, limit)));
            if rd.is_empty() || cd.is_empty() {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!(
                        "{f}: column {} has no embeddings in {}",
                        literal(col),
                        if rd.is_empty() { &ref_rel.name } else { &cur_rel.name }
                    ),
                    "Drift needs values on both sides.",
                );
            }
            if rdim != cdim {
                raise(
                    crate::shared::errors::ARRAY_SUBSCRIPT_ERROR,
                    format!("{f}: column {} has {rdim} dimensions in reference and {cdim} in current", literal(col)),
                    "Compare embeddings of one model.",
                );
            }
            let (r, c) = (embedding::Embeddings { data: &rd, dim: rdim }, embedding::Embeddings { data: &cd, dim: cdim });
            let threshold = col_threshold.unwrap_or(m.default_threshold());
            let score = embedding::score(m, &r, &c, seed);
            results.push(ColumnResult {
                column: col.clone(),
                kind: *kind,
                reference_size: r.rows(),
                current_size: c.rows(),
                distinct_values: None,
                method: m.name(),
                statistic: score,
                p_value: None,
                drift_score: score,
                threshold,
                drifted: embedding::drifted(m, score, threshold),
                engine: None,
            });
            continue;
        }
        let sketched = matches!(kind, Kind::Numerical | Kind::Categorical) && sketch_all;
        if sketched {
            let named = col_opts.text("method").map(|name| {
                auto::Method::from_name(&name).unwrap_or_else(|| {
                    raise(
                        INVALID_PARAMETER_VALUE,
                        format!("{f}: params.columns.{col}.method {} is not a drift method", literal(&name)),
                        "Use ks, wasserstein, psi or jensenshannon.",
                    )
                })
            });
            let s = if *kind == Kind::Numerical {
                crate::monitor::score_drift_sketch::score(&ref_rel, &cur_rel, col, named.or(global_method))
            } else {
                crate::monitor::score_drift_sketch::score_categories(&ref_rel, &cur_rel, col, named.or(global_method))
            };
            let threshold = col_threshold.unwrap_or(s.method.default_threshold());
            let drifted = auto::drifted(s.method, s.drift_score, threshold);
            results.push(ColumnResult {
                column: col.clone(),
                kind: *kind,
                reference_size: s.reference_size,
                current_size: s.current_size,
                distinct_values: None,
                method: s.method.name(),
                statistic: s.statistic,
                p_value: s.p_value,
                drift_score: s.drift_score,
                threshold,
                drifted,
                engine: Some(s.details),
            });
            continue;
        }
        let limit = crate::shared::guc::max_memory_bytes() / 2;
        let (r, c) = Spi::connect(|cl| (read_sample(cl, &ref_rel, col, *kind, limit), read_sample(cl, &cur_rel, col, *kind, limit)));
        if r.is_empty() || c.is_empty() {
            crate::monitor::score_drift_sketch::no_values(col, if r.is_empty() { &ref_rel.name } else { &cur_rel.name });
        }
        let m = match col_opts.text("method").as_deref() {
            Some(name) => auto::Method::from_name(name).unwrap_or_else(|| {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{f}: params.columns.{col}.method {} is not a drift method", literal(name)),
                    "Use ks, wasserstein, psi, jensenshannon, chisquare or z.",
                )
            }),
            None => global_method.unwrap_or_else(|| auto::choose(&r, &c)),
        };
        if !m.accepts(&r) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{f}: method {} needs numbers, but column {} is categorical", literal(m.name()), literal(col)),
                "Use psi, jensenshannon, chisquare or z for categorical columns.",
            );
        }
        let threshold = col_threshold.unwrap_or(m.default_threshold());
        let o = auto::run_in(m, &r, &c, threshold, &mut crate::shared::progress::Reporter::new(format!("{f}: column {}", literal(col))));
        results.push(ColumnResult {
            column: col.clone(),
            kind: *kind,
            reference_size: r.len(),
            current_size: c.len(),
            distinct_values: Some(auto::distinct_values(&r, &c)),
            method: m.name(),
            statistic: o.statistic,
            p_value: o.p_value,
            drift_score: o.drift_score,
            threshold,
            drifted: o.drifted,
            engine: None,
        });
    }
    let drifted = results.iter().filter(|x| x.drifted).count();
    let share = drifted as f64 / results.len() as f64;
    let metrics = json!({
        "columns": results.len(),
        "drifted_columns": drifted,
        "drift_share": share,
        "dataset_drift": share >= drift_share,
        "skipped_columns": skipped,
        "per_column": results.iter().map(|x| (x.column.clone(), json!({"method": x.method, "drift_score": x.drift_score, "drifted": x.drifted}))).collect::<Map<String, Value>>(),
        "timings_ms": {"total": crate::shared::progress::ms(started)},
    });
    let used = json!({"method": method, "engine": engine, "threshold": global_threshold, "drift_share": drift_share, "random_state": seed, "columns": per_column, "reference": ref_rel.name, "current": cur_rel.name});
    let stage = runs::Stage { name: "data_drift", module: "drift::auto", params: used };
    let run_id = runs::insert("drift", &run, &cur_rel.name, results.len(), Some(&stage), None, metrics);
    Spi::connect_mut(|c| {
        for x in &results {
            let kind = match x.kind {
                Kind::Numerical => "numerical",
                Kind::Embedding => "embedding",
                _ => "categorical",
            };
            spi(
                c.update(
                    "INSERT INTO ml.data_drift (model_name, run_id, feature_name, method, statistic, p_value, threshold, is_drifted,
                                                reference_size, current_size, details)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    None,
                    &[
                        run.model_name.clone().into(),
                        run_id.into(),
                        x.column.as_str().into(),
                        x.method.into(),
                        x.statistic.into(),
                        x.p_value.into(),
                        x.threshold.into(),
                        x.drifted.into(),
                        (x.reference_size as i64).into(),
                        (x.current_size as i64).into(),
                        JsonB({
                            let mut d = json!({"drift_score": x.drift_score, "column_type": kind, "distinct_values": x.distinct_values});
                            if let Some(Value::Object(extra)) = &x.engine {
                                d.as_object_mut().into_iter().for_each(|m| m.extend(extra.clone()));
                            }
                            d
                        })
                        .into(),
                    ],
                ),
                "record the drift",
            );
        }
    });
    runs::finish(run_id, crate::shared::progress::ms(started), 0.0);
    run_id
}
