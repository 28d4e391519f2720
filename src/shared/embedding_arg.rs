//! One embedding passed as an argument (`anycompatible`: an unknown literal arrives as `text`), decoded by its type at run time:
//! `real[]`, `double precision[]`, `numeric[]`, `integer[]`, `bigint[]`, a quoted array literal
//! (`'{1,2,3}'`, which PostgreSQL passes as `text`), a domain over any of them, and pgvector's
//! `vector`, `halfvec` and `sparsevec` read from their bytes (no cast). The functions that take
//! one embedding (`ml.predict_cluster`) use this; tables are read by `shared::source`.

use crate::shared::errors::{literal, raise, DATATYPE_MISMATCH};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::AnyElement;

/// The values of `value` (NULL elements kept as `None`, for the caller's own error), after
/// `check_dim` has accepted its dimension. `check_dim` runs before anything is densified, so a
/// `sparsevec` of a billion dimensions is refused without allocating it.
pub fn values(func: &str, arg: &str, value: &AnyElement, check_dim: impl FnOnce(usize)) -> Vec<Option<f64>> {
    // SAFETY: the catalog lookup of a type OID PostgreSQL passed us.
    let base = unsafe { pg_sys::getBaseType(value.oid()) };
    let datum = value.datum();
    let array = match base {
        pg_sys::FLOAT4ARRAYOID
        | pg_sys::FLOAT8ARRAYOID
        | pg_sys::NUMERICARRAYOID
        | pg_sys::INT2ARRAYOID
        | pg_sys::INT4ARRAYOID
        | pg_sys::INT8ARRAYOID => (datum, base),
        pg_sys::TEXTOID => {
            // SAFETY: a text datum.
            let text = unsafe { <&str>::from_datum(datum, false) }.unwrap_or_default();
            if text.trim_start().starts_with('[') {
                raise(
                    crate::shared::errors::INVALID_TEXT_REPRESENTATION,
                    format!(
                        "{func}: {arg} {} is pgvector's text form, but it was passed as text",
                        literal(&text.chars().take(40).collect::<String>())
                    ),
                    "Cast it: '[1,2,3]'::vector, or write an array literal: '{1,2,3}'.",
                );
            }
            // A quoted literal: read as double precision[] by its input function (which raises
            // its own 22P02 for a malformed one).
            // SAFETY: a text datum; OidInputFunctionCall sets up the call array_in needs.
            let parsed = unsafe {
                let text = pg_sys::text_to_cstring(datum.cast_mut_ptr());
                let (mut input, mut ioparam) = (Oid::INVALID, Oid::INVALID);
                pg_sys::getTypeInputInfo(pg_sys::FLOAT8ARRAYOID, &mut input, &mut ioparam);
                let arr = pg_sys::OidInputFunctionCall(input, text, ioparam, -1);
                pg_sys::pfree(text.cast());
                arr
            };
            (parsed, pg_sys::FLOAT8ARRAYOID)
        }
        _ => {
            let t = Spi::connect(|c| crate::shared::pgvector::vector_type(c, base)).unwrap_or_else(|| refuse(func, arg, value.oid()));
            let mut out = Vec::new();
            // SAFETY: a non-null datum of pgvector type `t`; its dimension is checked before it
            // is densified.
            unsafe {
                crate::shared::pgvector::append_datum(
                    t,
                    datum,
                    &mut out,
                    |v, n| {
                        check_dim(n);
                        crate::shared::errors::try_grow(v, n, || format!("{func}: reading {arg} of {n} values"))
                    },
                    || format!("{func}: {arg}"),
                )
            };
            return out.into_iter().map(|v| Some(f64::from(v))).collect();
        }
    };
    // The array's shape from its header, before any element is converted: one dimension,
    // and as many elements as the caller accepts.
    // SAFETY: a non-null array datum; the detoasted copy lives in the call's memory context.
    let (flat, n, ndim) = unsafe {
        let flat = pg_sys::pg_detoast_datum(array.0.cast_mut_ptr());
        let raw = pgrx::array::RawArray::from_ptr(std::ptr::NonNull::new_unchecked(flat.cast()));
        (pg_sys::Datum::from(flat), raw.len(), raw.dims().len())
    };
    if ndim > 1 {
        raise(
            crate::shared::errors::ARRAY_SUBSCRIPT_ERROR,
            format!("{func}: {arg} has {ndim} dimensions, not 1"),
            "An embedding is a one-dimensional array of numbers.",
        );
    }
    check_dim(n);
    decode_array(flat, array.1)
}

/// The elements of an array datum of type `array_type`, as doubles.
fn decode_array(datum: pg_sys::Datum, array_type: Oid) -> Vec<Option<f64>> {
    // SAFETY: a non-null array datum of `array_type`, converted by pgrx's FromDatum of that
    // element type (which detoasts it).
    unsafe {
        match array_type {
            pg_sys::FLOAT4ARRAYOID => {
                Vec::<Option<f32>>::from_datum(datum, false).unwrap_or_default().into_iter().map(|v| v.map(f64::from)).collect()
            }
            pg_sys::FLOAT8ARRAYOID => Vec::<Option<f64>>::from_datum(datum, false).unwrap_or_default(),
            pg_sys::INT2ARRAYOID => {
                Vec::<Option<i16>>::from_datum(datum, false).unwrap_or_default().into_iter().map(|v| v.map(f64::from)).collect()
            }
            pg_sys::INT4ARRAYOID => {
                Vec::<Option<i32>>::from_datum(datum, false).unwrap_or_default().into_iter().map(|v| v.map(f64::from)).collect()
            }
            pg_sys::INT8ARRAYOID => {
                Vec::<Option<i64>>::from_datum(datum, false).unwrap_or_default().into_iter().map(|v| v.map(|x| x as f64)).collect()
            }
            _ => Vec::<Option<pgrx::AnyNumeric>>::from_datum(datum, false)
                .unwrap_or_default()
                .into_iter()
                // Beyond a double: infinite, which the caller refuses as out of range.
                .map(|v| v.map(|n| f64::try_from(n).unwrap_or(f64::INFINITY)))
                .collect(),
        }
    }
}

fn refuse(func: &str, arg: &str, oid: Oid) -> ! {
    // SAFETY: format_type_be of a type OID PostgreSQL passed us returns a palloc'd cstring.
    let name = unsafe { std::ffi::CStr::from_ptr(pg_sys::format_type_be(oid)) }.to_string_lossy().into_owned();
    raise(
        DATATYPE_MISMATCH,
        format!("{func}: {arg} has type {name}, which is not an embedding"),
        "Pass real[], double precision[], numeric[], smallint[], integer[], bigint[], or pgvector's vector, halfvec or sparsevec.",
    )
}
