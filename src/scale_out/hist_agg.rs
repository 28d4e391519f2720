//! `ml.hist_agg`: counts per fixed bin, as numpy.histogram, as a combinable aggregate.

use crate::shared::errors::{literal, raise, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use pgrx::array::RawArray;
use pgrx::fcinfo::{pg_arg_is_null, pg_getarg_datum_raw};
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use pgrx::prelude::*;
use std::ptr::NonNull;

use super::fcinfo::*;

extension_sql!(
    r#"
CREATE FUNCTION ml_internal.hist_agg_transition(bigint[], double precision, double precision[]) RETURNS bigint[]
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_hist_agg_transition';
CREATE FUNCTION ml_internal.hist_agg_combine(bigint[], bigint[]) RETURNS bigint[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_hist_agg_combine';
CREATE AGGREGATE ml.hist_agg(x double precision, edges double precision[]) (
  SFUNC = ml_internal.hist_agg_transition, STYPE = bigint[],
  COMBINEFUNC = ml_internal.hist_agg_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.hist_agg(double precision, double precision[]) IS
  'Counts of x per bin of the increasing edges, as numpy.histogram: [e0, e1), …, [e(n-1), en]; NULL, NaN and values outside the edges are not counted. Parallel and combinable.';
"#,
    name = "hist_agg",
    requires = ["common"]
);

finfo_v1!(pg_finfo_mlkit_hist_agg_transition, pg_finfo_mlkit_hist_agg_combine,);

// ---------------------------------------------------------------------------------------
// ml.hist_agg

/// Argument `i` as checked bin edges (kept in `fn_extra` like centroids).
unsafe fn edges_arg<'a>(fcinfo: FunctionCallInfo, i: usize) -> &'a [f64] {
    // SAFETY: argument `i` is a float8[] (NULL checked first); the kept copy lives in fn_mcxt.
    unsafe {
        if pg_arg_is_null(fcinfo, i) {
            raise(NULL_VALUE_NOT_ALLOWED, "ml.hist_agg: edges must not be NULL", "Pass the increasing bin edges, e.g. ARRAY[0, 0.5, 1].");
        }
        let mut array = kept_arg(fcinfo, i, |arg| {
            let mut array = RawArray::from_ptr(NonNull::new_unchecked(arg.cast()));
            let ok_shape = array.dims().len() == 1 && array.len() >= 2 && !array.any_nulls();
            let values = if ok_shape { array.data::<f64>().as_ref().to_vec() } else { Vec::new() };
            if !ok_shape || values.iter().any(|v| !v.is_finite()) || values.windows(2).any(|w| w[0] >= w[1]) {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!(
                        "ml.hist_agg: edges {} are not at least two finite, strictly increasing numbers",
                        literal(&format!("{values:?}"))
                    ),
                    "Pass the bin edges in increasing order, e.g. ARRAY[0, 0.5, 1] for two bins.",
                );
            }
        });
        let n = array.len();
        std::slice::from_raw_parts(array.data::<f64>().as_ptr() as *const f64, n)
    }
}

/// A new zeroed `bigint[]` of `n` counts in `context`.
unsafe fn alloc_counts(n: usize, context: pg_sys::MemoryContext) -> *mut pg_sys::varlena {
    // SAFETY: construct_array copies nothing but the zeros into the current context, which is
    // switched to `context` for the call.
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo(context);
        let mut zeros = vec![Datum::from(0i64); n];
        let a =
            pg_sys::construct_array(zeros.as_mut_ptr(), n as i32, pg_sys::INT8OID, 8, true, pg_sys::TYPALIGN_DOUBLE as std::ffi::c_char);
        pg_sys::MemoryContextSwitchTo(old);
        a.cast()
    }
}

/// The counts of a detoasted `bigint[]` state, checked to be one-dimensional without NULLs.
unsafe fn counts_of<'a>(p: *mut pg_sys::varlena) -> &'a mut [i64] {
    // SAFETY: a detoasted int8[].
    unsafe {
        let mut array = RawArray::from_ptr(NonNull::new_unchecked(p.cast()));
        if array.dims().len() != 1 || array.any_nulls() {
            raise(
                INVALID_PARAMETER_VALUE,
                "ml.hist_agg: a histogram state must be a one-dimensional bigint[] without NULLs",
                "Combine states made by ml.hist_agg.",
            );
        }
        let n = array.len();
        std::slice::from_raw_parts_mut(array.data::<i64>().as_ptr() as *mut i64, n)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_hist_agg_transition(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: arguments are (bigint[], float8, float8[]), any NULL.
    unsafe {
        let edges = edges_arg(fcinfo, 2);
        let bins = edges.len() - 1;
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let state = if pg_arg_is_null(fcinfo, 0) {
            alloc_counts(bins, if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext })
        } else {
            own_arg(fcinfo, in_aggregate)
        };
        let counts = counts_of(state);
        if counts.len() != bins {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.hist_agg: the edges changed within one aggregate ({} bins, then {bins})", counts.len()),
                "Pass the same edges to every row of one ml.hist_agg.",
            );
        }
        if !pg_arg_is_null(fcinfo, 1) {
            let x = f64::from_bits(pg_getarg_datum_raw(fcinfo, 1).value() as u64);
            if let Some(b) = bin_of(x, edges) {
                counts[b] = counts[b].checked_add(1).unwrap_or_else(|| count_overflow());
            }
        }
        Datum::from(state)
    }
}

/// numpy.histogram's bin of `x`: `[e_i, e_{i+1})`, the last bin closed; `None` outside or NaN.
fn bin_of(x: f64, edges: &[f64]) -> Option<usize> {
    let (first, last) = (edges[0], edges[edges.len() - 1]);
    if !(x >= first && x <= last) {
        return None;
    }
    // The first edge above x, less one; x = last falls in the last bin.
    Some(edges.partition_point(|&e| e <= x).saturating_sub(1).min(edges.len() - 2))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_hist_agg_combine(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: two non-null bigint[] (strict).
    unsafe {
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let a = own_arg(fcinfo, in_aggregate);
        let b = counts_of(state_arg(fcinfo, 1));
        let ca = counts_of(a);
        if ca.len() != b.len() {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.hist_agg: cannot combine histograms of {} and {} bins", ca.len(), b.len()),
                "Combine histograms taken with the same edges.",
            );
        }
        for (x, y) in ca.iter_mut().zip(b.iter()) {
            *x = x.checked_add(*y).unwrap_or_else(|| count_overflow());
        }
        Datum::from(a)
    }
}

/// A bin count past bigint's range: only a hand-made state can get there.
fn count_overflow() -> ! {
    raise(
        pgrx::PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        "ml.hist_agg: a bin count is out of range for bigint",
        "Counts come from ml.hist_agg itself; do not pass hand-made states to its support functions.",
    )
}

#[cfg(test)]
mod tests {
    use super::bin_of;

    #[test]
    fn bins_follow_numpy() {
        let e = [0.0, 1.0, 2.0, 4.0];
        assert_eq!(bin_of(0.0, &e), Some(0));
        assert_eq!(bin_of(0.999, &e), Some(0));
        assert_eq!(bin_of(1.0, &e), Some(1));
        assert_eq!(bin_of(3.9, &e), Some(2));
        assert_eq!(bin_of(4.0, &e), Some(2));
        assert_eq!(bin_of(4.1, &e), None);
        assert_eq!(bin_of(-0.1, &e), None);
        assert_eq!(bin_of(f64::NAN, &e), None);
    }
}
