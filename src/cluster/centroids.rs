//! `ml.centroids`: a stored K-Means model's centroids as rows `(cluster, centroid)`, as
//! `real[]` or in the type of a value passed as `as_type` (pgvector's `vector`, `halfvec`,
//! `sparsevec`, `double precision[]`, …), so that `ORDER BY embedding <=> centroid` works on
//! them directly. Documented in docs/functions/centroids.md.

use crate::shared::errors::{raise, spi, DATATYPE_MISMATCH, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::registry::{self, KMeansModel};
use mlkit::vector_formats::VectorType;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::AnyElement;
use std::fmt::Write;
use std::rc::Rc;

const F: &str = "ml.centroids";

/// The model a run stored (`run => '{"model_name": ...}'`), as (name, version).
fn model_of_run(run_id: i64) -> (String, String) {
    let found = Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT m.name, m.version FROM ml.model_registry m
                  WHERE m.source_run_id OPERATOR(pg_catalog.=) $1 AND m.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
                    AND m.model_type OPERATOR(pg_catalog.=) 'kmeans'
                  ORDER BY m.id DESC LIMIT 1",
                None,
                &[run_id.into()],
            ),
            "look up the run's model",
        );
        if t.is_empty() {
            return None;
        }
        let row = t.first();
        Some((spi(row.get::<String>(1), "look up the run's model")?, spi(row.get::<String>(2), "look up the run's model")?))
    });
    found.unwrap_or_else(|| {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{F}: run {run_id} stored no K-Means model, so its centroids were not kept"),
            "Name a model when clustering (run => '{\"model_name\": \"...\"}'), or pass a model name to ml.centroids.",
        )
    })
}

fn load(model: Option<&str>, version: Option<&str>) -> Rc<KMeansModel> {
    let name = model
        .unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{F}: model must not be NULL"), "Name a model of ml.model_registry."));
    registry::load_kmeans(F, name, version)
}

fn load_run(run_id: Option<i64>) -> Rc<KMeansModel> {
    let run_id = run_id.unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, format!("{F}: run_id must not be NULL"), "Pass a run's id."));
    let (name, version) = model_of_run(run_id);
    registry::load_kmeans(F, &name, Some(&version))
}

/// Centroid `j` of `m` in single precision (as it was fitted and stored).
fn centroid(m: &KMeansModel, j: usize) -> impl Iterator<Item = f32> + '_ {
    m.centroids[j * m.dim..(j + 1) * m.dim].iter().map(|&v| v as f32)
}

fn as_real_arrays(m: &KMeansModel) -> TableIterator<'static, (i32, Vec<f32>)> {
    let rows: Vec<_> = (0..m.profiles.len()).map(|j| (j as i32, centroid(m, j).collect())).collect();
    TableIterator::new(rows)
}

/// How a centroid is written as text for the input function of a type whose base type is
/// `base`: an array literal (single or double precision), or pgvector's own text form.
enum Form {
    Real,
    Double,
    Vector(VectorType),
}

fn form_of(oid: Oid) -> Form {
    // SAFETY: the catalog lookup of a type OID PostgreSQL resolved for the call.
    let base = unsafe { pg_sys::getBaseType(oid) };
    match base {
        pg_sys::FLOAT4ARRAYOID => Form::Real,
        pg_sys::FLOAT8ARRAYOID | pg_sys::NUMERICARRAYOID => Form::Double,
        _ => match Spi::connect(|c| crate::shared::pgvector::vector_type(c, base)) {
            Some(t) => Form::Vector(t),
            None => {
                let name = crate::shared::sql::type_name(oid);
                raise(
                    DATATYPE_MISMATCH,
                    format!("{F}: as_type has type {name}, which centroids cannot be returned as"),
                    "Pass NULL::vector, NULL::halfvec, NULL::sparsevec (pgvector), NULL::real[], NULL::double precision[] or NULL::numeric[].",
                )
            }
        },
    }
}

/// Centroid `j` as the text its type reads. Single-precision values print in their shortest
/// exact form, so `vector` and `real[]` get the stored values bit for bit; `double
/// precision[]` gets the same values widened.
fn text_of(m: &KMeansModel, j: usize, form: &Form) -> String {
    let mut s = String::with_capacity(m.dim * 12 + 16);
    let join = |s: &mut String, open: char, close: char, wide: bool| {
        s.push(open);
        for (i, v) in centroid(m, j).enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = if wide { write!(s, "{}", f64::from(v)) } else { write!(s, "{v}") };
        }
        s.push(close);
    };
    match form {
        Form::Real => join(&mut s, '{', '}', false),
        Form::Double => join(&mut s, '{', '}', true),
        Form::Vector(VectorType::Vector | VectorType::HalfVec) => join(&mut s, '[', ']', false),
        Form::Vector(VectorType::SparseVec) => {
            s.push('{');
            let mut first = true;
            for (i, v) in centroid(m, j).enumerate().filter(|(_, v)| *v != 0.0) {
                let _ = write!(s, "{}{}:{v}", if first { "" } else { "," }, i + 1);
                first = false;
            }
            let _ = write!(s, "}}/{}", m.dim);
        }
    }
    s
}

fn as_type_rows(m: &KMeansModel, fcinfo: pg_sys::FunctionCallInfo, arg: usize) -> TableIterator<'static, (i32, AnyElement)> {
    // SAFETY: the call's own fcinfo; argument `arg` is the polymorphic as_type.
    let oid = unsafe { pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, arg as i32) };
    let form = form_of(oid);
    let rows: Vec<_> = (0..m.profiles.len())
        .map(|j| {
            let text = std::ffi::CString::new(text_of(m, j, &form)).expect("numbers have no NUL");
            // The type's own checks (a vector(n)'s dimension, halfvec's range, a domain's
            // constraints) fail with their own SQLSTATE, given this function's context.
            let datum = crate::shared::sql::input_value(oid, &text, |r| {
                raise(
                    r.sql_error_code(),
                    format!("{F}: centroid {j} cannot be returned as as_type's type {}: {}", crate::shared::sql::type_name(oid), r.message()),
                    "Pass a type the centroids fit: NULL::vector (no dimension or the model's), NULL::real[], ...; halfvec holds values up to 65504.",
                )
            });
            // SAFETY: a non-null datum of type `oid`.
            let value = unsafe { AnyElement::from_polymorphic_datum(datum, false, oid) }.expect("a non-null datum");
            (j as i32, value)
        })
        .collect();
    TableIterator::new(rows)
}

/// The centroids of a stored K-Means model as `real[]`: the version aliased `production`,
/// else the newest staged `production`, else the newest, unless `version` is given.
#[pg_extern(
    stable,
    parallel_restricted,
    sql = r#"
CREATE FUNCTION ml.centroids(model text, version text DEFAULT NULL)
RETURNS TABLE (cluster integer, centroid real[])
STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.centroids(text, text) IS
  'A stored K-Means model''s centroids as rows (cluster, centroid real[]).';
"#
)]
fn centroids(model: Option<&str>, version: Option<&str>) -> TableIterator<'static, (name!(cluster, i32), name!(centroid, Vec<f32>))> {
    as_real_arrays(&load(model, version))
}

/// The centroids of a stored K-Means model in the type of `as_type` (only its type is used:
/// pass `NULL::vector`).
#[pg_extern(
    stable,
    parallel_restricted,
    sql = r#"
CREATE FUNCTION ml.centroids(model text, as_type anyelement, version text DEFAULT NULL)
RETURNS TABLE (cluster integer, centroid anyelement)
STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.centroids(text, anyelement, text) IS
  'A stored K-Means model''s centroids as rows (cluster, centroid) in the type of as_type: ORDER BY embedding <=> centroid works on NULL::vector''s.';
"#
)]
fn centroids_as(
    model: Option<&str>,
    _as_type: Option<AnyElement>,
    version: Option<&str>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> TableIterator<'static, (name!(cluster, i32), name!(centroid, AnyElement))> {
    as_type_rows(&load(model, version), fcinfo, 1)
}

/// The centroids a run stored (the K-Means model it registered) as `real[]`.
#[pg_extern(
    stable,
    parallel_restricted,
    sql = r#"
CREATE FUNCTION ml.centroids(run_id bigint)
RETURNS TABLE (cluster integer, centroid real[])
STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.centroids(bigint) IS
  'The centroids of the K-Means model a clustering run stored, as rows (cluster, centroid real[]).';
"#
)]
fn run_centroids(run_id: Option<i64>) -> TableIterator<'static, (name!(cluster, i32), name!(centroid, Vec<f32>))> {
    as_real_arrays(&load_run(run_id))
}

/// The centroids a run stored in the type of `as_type`.
#[pg_extern(
    stable,
    parallel_restricted,
    sql = r#"
CREATE FUNCTION ml.centroids(run_id bigint, as_type anyelement)
RETURNS TABLE (cluster integer, centroid anyelement)
STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.centroids(bigint, anyelement) IS
  'The centroids of the K-Means model a clustering run stored, as rows (cluster, centroid) in the type of as_type.';
"#
)]
fn run_centroids_as(
    run_id: Option<i64>,
    _as_type: Option<AnyElement>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> TableIterator<'static, (name!(cluster, i32), name!(centroid, AnyElement))> {
    as_type_rows(&load_run(run_id), fcinfo, 1)
}
