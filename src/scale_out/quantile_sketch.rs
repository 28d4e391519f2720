//! `ml.quantile_sketch_agg`: a mergeable quantile sketch (type `ml.quantile_sketch`,
//! `mlkit::drift::sketch`) and its accessors.

use crate::shared::errors::{raise, INVALID_BINARY_REPRESENTATION, INVALID_PARAMETER_VALUE, INVALID_TEXT_REPRESENTATION};
use mlkit::drift::sketch::{self, flat, Sketch};
use pgrx::fcinfo::{pg_arg_is_null, pg_getarg_datum_raw};
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use pgrx::prelude::*;

use super::fcinfo::*;

// Layout of ml.quantile_sketch: the 4-byte varlena header, 4 bytes of padding, then the
// sketch's flat form (`mlkit::drift::sketch::flat`), whose level 0 has room for k values so
// that a row is added in place.

extension_sql!(
    r#"
CREATE TYPE ml.quantile_sketch;
CREATE FUNCTION ml_internal.quantile_sketch_in(cstring) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_in';
CREATE FUNCTION ml_internal.quantile_sketch_out(ml.quantile_sketch) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_out';
CREATE FUNCTION ml_internal.quantile_sketch_recv(internal) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_recv';
CREATE FUNCTION ml_internal.quantile_sketch_send(ml.quantile_sketch) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_send';
CREATE TYPE ml.quantile_sketch (
  INPUT = ml_internal.quantile_sketch_in, OUTPUT = ml_internal.quantile_sketch_out,
  RECEIVE = ml_internal.quantile_sketch_recv, SEND = ml_internal.quantile_sketch_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE ml.quantile_sketch IS
  'A mergeable quantile sketch of a numeric column that carries its own rank-error bound. Built by ml.quantile_sketch_agg; text form is JSON.';

CREATE FUNCTION ml_internal.quantile_sketch_transition(ml.quantile_sketch, double precision, integer) RETURNS ml.quantile_sketch
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_transition';
CREATE FUNCTION ml_internal.quantile_sketch_transition(ml.quantile_sketch, double precision) RETURNS ml.quantile_sketch
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_transition';
CREATE FUNCTION ml_internal.quantile_sketch_combine(ml.quantile_sketch, ml.quantile_sketch) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_combine';
CREATE AGGREGATE ml.quantile_sketch_agg(x double precision, k integer) (
  SFUNC = ml_internal.quantile_sketch_transition, STYPE = ml.quantile_sketch,
  COMBINEFUNC = ml_internal.quantile_sketch_combine, PARALLEL = SAFE
);
CREATE AGGREGATE ml.quantile_sketch_agg(x double precision) (
  SFUNC = ml_internal.quantile_sketch_transition, STYPE = ml.quantile_sketch,
  COMBINEFUNC = ml_internal.quantile_sketch_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.quantile_sketch_agg(double precision, integer) IS
  'A quantile sketch of x keeping k values per level (8 to 1048576); NULL, NaN and infinities are skipped. Parallel and combinable.';
COMMENT ON AGGREGATE ml.quantile_sketch_agg(double precision) IS
  'A quantile sketch of x with k = 4096; NULL, NaN and infinities are skipped. Parallel and combinable.';
"#,
    name = "quantile_sketch",
    requires = ["common"]
);

finfo_v1!(
    pg_finfo_mlkit_quantile_sketch_in,
    pg_finfo_mlkit_quantile_sketch_out,
    pg_finfo_mlkit_quantile_sketch_recv,
    pg_finfo_mlkit_quantile_sketch_send,
    pg_finfo_mlkit_quantile_sketch_transition,
    pg_finfo_mlkit_quantile_sketch_combine,
);

/// A sketch in the flat layout, in `context`.
unsafe fn sketch_flat(s: &Sketch, context: pg_sys::MemoryContext) -> *mut pg_sys::varlena {
    let upper: usize = s.levels.iter().skip(1).map(|l| 2 + l.len()).sum();
    let size = 8 + flat::byte_len(s.k, upper);
    if size > 1 << 30 {
        raise(
            crate::shared::errors::PROGRAM_LIMIT_EXCEEDED,
            format!("a quantile sketch of k = {} does not fit in 1 GB", s.k),
            "Use a smaller k.",
        );
    }
    // It grows by a level each time the values seen double past k.
    state_within_budget(size, || format!("ml.quantile_sketch_agg: a sketch of k = {} with {} levels", s.k, s.levels.len()));
    let w = flat::words(s);
    // SAFETY: a fresh allocation of `size` bytes, the words written after the header and pad.
    unsafe {
        let p = pg_sys::MemoryContextAllocZero(context, size) as *mut u8;
        pgrx::set_varsize_4b(p as *mut pg_sys::varlena, size as i32);
        for (i, v) in w.iter().enumerate() {
            (p.add(8 + 8 * i) as *mut u64).write_unaligned(v.to_le());
        }
        p as *mut pg_sys::varlena
    }
}

/// The sketch of a flat value's bytes after the varlena header (the padding first; what
/// pgrx hands a `&[u8]` argument), checked.
fn sketch_of(data: &[u8]) -> Sketch {
    flat::read(data.get(4..).unwrap_or_default()).unwrap_or_else(|e| {
        raise(
            INVALID_BINARY_REPRESENTATION,
            format!("an ml.quantile_sketch value is damaged: {}", e.0),
            "Build it again with ml.quantile_sketch_agg.",
        )
    })
}

/// Argument `i`'s bytes after the varlena header (detoasted).
unsafe fn varlena_bytes<'a>(fcinfo: FunctionCallInfo, i: usize) -> &'a [u8] {
    // SAFETY: argument `i` is a non-null varlena; the detoasted copy lives for the call.
    unsafe {
        let p = state_arg(fcinfo, i);
        std::slice::from_raw_parts((p as *const u8).add(4), pgrx::varsize_any(p) - 4)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_in(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: an input function's argument.
    let s = Sketch::from_text(&unsafe { cstring_arg(fcinfo) }).unwrap_or_else(|e| {
        raise(
            INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type ml.quantile_sketch: {}", e.0),
            "The text form is the JSON that ml.quantile_sketch_agg's output prints.",
        )
    });
    // SAFETY: a new value in the current context.
    unsafe { Datum::from(sketch_flat(&s, pg_sys::CurrentMemoryContext)) }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_out(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null sketch.
    cstring_datum(sketch_of(unsafe { varlena_bytes(fcinfo, 0) }).to_text())
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_recv(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: a receive function's argument.
    let s = Sketch::from_bytes(unsafe { message_bytes(fcinfo) }).unwrap_or_else(|e| {
        raise(
            INVALID_BINARY_REPRESENTATION,
            format!("invalid binary input for type ml.quantile_sketch: {}", e.0),
            "Send what ml_internal.quantile_sketch_send wrote.",
        )
    });
    // SAFETY: a new value in the current context.
    unsafe { Datum::from(sketch_flat(&s, pg_sys::CurrentMemoryContext)) }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_send(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null sketch.
    let bytes = sketch_of(unsafe { varlena_bytes(fcinfo, 0) }).to_bytes();
    bytes.into_datum().unwrap_or(Datum::from(0))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_transition(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: (ml.quantile_sketch, float8[, int4]), any NULL; the state is updated in place
    // only inside an aggregate.
    unsafe {
        let nargs = (*fcinfo).nargs as usize;
        let k = if nargs > 2 && !pg_arg_is_null(fcinfo, 2) {
            pg_getarg_datum_raw(fcinfo, 2).value() as i32 as i64
        } else {
            sketch::DEFAULT_K as i64
        };
        if !(sketch::MIN_K as i64..=sketch::MAX_K as i64).contains(&k) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.quantile_sketch_agg: k must be between {} and {}, not {k}", sketch::MIN_K, sketch::MAX_K),
                "Leave k out for 4096 (rank error about (log2(n/k) + 1) / k at worst).",
            );
        }
        let x =
            (!pg_arg_is_null(fcinfo, 1)).then(|| f64::from_bits(pg_getarg_datum_raw(fcinfo, 1).value() as u64)).filter(|x| x.is_finite());
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let context = if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext };
        if pg_arg_is_null(fcinfo, 0) {
            let mut s = Sketch::new(k as usize);
            if let Some(x) = x {
                s.add(x);
            }
            return Datum::from(sketch_flat(&s, context));
        }
        let Some(x) = x else { return pg_getarg_datum_raw(fcinfo, 0) };
        let state = own_arg(fcinfo, in_aggregate);
        let size = pgrx::varsize_any(state);
        // The common case: one more value on level 0, in place.
        if size >= 8 && flat::add_in_place(std::slice::from_raw_parts_mut((state as *mut u8).add(8), size - 8), x) {
            return Datum::from(state);
        }
        let mut s = sketch_of(std::slice::from_raw_parts((state as *const u8).add(4), size.saturating_sub(4)));
        s.add(x);
        Datum::from(sketch_flat(&s, context))
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_combine(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: two non-null sketches (strict); the result is new, in the aggregate's context.
    unsafe {
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let mut a = sketch_of(varlena_bytes(fcinfo, 0));
        a.merge(&sketch_of(varlena_bytes(fcinfo, 1)));
        Datum::from(sketch_flat(&a, if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext }))
    }
}

/// The `q`-quantile of a sketch (the exact minimum and maximum at 0 and 1).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_quantile(sketch ml.quantile_sketch, q double precision) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_quantile(ml.quantile_sketch, double precision) IS
  'The q-quantile (0 to 1) of a quantile sketch; its rank is within ml.sketch_rank_error of q.';
"#)]
fn sketch_quantile(sketch: &[u8], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        raise(INVALID_PARAMETER_VALUE, format!("ml.sketch_quantile: q must be between 0 and 1, not {q}"), "Pass e.g. 0.5 for the median.");
    }
    sketch_of(sketch).quantile(q)
}

/// Values the sketch has seen.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_count(sketch ml.quantile_sketch) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_count(ml.quantile_sketch) IS 'Number of values a quantile sketch has seen.';
"#)]
fn sketch_count(sketch: &[u8]) -> i64 {
    sketch_of(sketch).n as i64
}

/// The sketch's guaranteed bound on the rank error of any query, as a fraction of its count.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_rank_error(sketch ml.quantile_sketch) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_rank_error(ml.quantile_sketch) IS
  'The guaranteed bound on the rank error of any quantile or CDF query, as a fraction of the count (0 while the sketch holds every value).';
"#)]
fn sketch_rank_error(sketch: &[u8]) -> f64 {
    sketch_of(sketch).epsilon()
}

/// Two-sample Kolmogorov–Smirnov from two sketches: the statistic between their CDFs, SciPy's
/// large-sample p-value for it, and the bound on its distance from the exact statistic.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_ks(reference ml.quantile_sketch, current ml.quantile_sketch)
RETURNS TABLE (statistic double precision, pvalue double precision, error_bound double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_ks(ml.quantile_sketch, ml.quantile_sketch) IS
  'Two-sample KS test from two quantile sketches: the statistic (within error_bound of the exact one) and its asymptotic p-value.';
"#)]
fn sketch_ks(
    reference: &[u8],
    current: &[u8],
) -> TableIterator<'static, (name!(statistic, f64), name!(pvalue, f64), name!(error_bound, f64))> {
    let (a, b) = (sketch_of(reference), sketch_of(current));
    if a.n == 0 || b.n == 0 {
        raise(INVALID_PARAMETER_VALUE, "ml.sketch_ks: a sketch is empty", "Both samples need values.");
    }
    let (d, bound) = sketch::ks(&a, &b);
    let p = mlkit::drift::ks::asymptotic_two_sided(d, a.n as usize, b.n as usize);
    TableIterator::once((d, p, bound))
}

/// Wasserstein-1 distance from two sketches, and the bound on its distance from the exact one.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_wasserstein(reference ml.quantile_sketch, current ml.quantile_sketch)
RETURNS TABLE (distance double precision, normed double precision, error_bound double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_wasserstein(ml.quantile_sketch, ml.quantile_sketch) IS
  'Wasserstein-1 distance from two quantile sketches (within error_bound of the exact one), and normed by the reference''s standard deviation as Evidently does.';
"#)]
fn sketch_wasserstein(
    reference: &[u8],
    current: &[u8],
) -> TableIterator<'static, (name!(distance, f64), name!(normed, f64), name!(error_bound, f64))> {
    let (a, b) = (sketch_of(reference), sketch_of(current));
    if a.n == 0 || b.n == 0 {
        raise(INVALID_PARAMETER_VALUE, "ml.sketch_wasserstein: a sketch is empty", "Both samples need values.");
    }
    let (w, bound) = sketch::wasserstein(&a, &b);
    let std = a.mean_std().1;
    let normed = if std > 0.0 { w / std } else { f64::NAN };
    TableIterator::once((w, normed, bound))
}
