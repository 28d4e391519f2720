//! One embedding passed as an argument (`anycompatible`: an unknown literal arrives as `text`), decoded by its type at run time:
//! `real[]`, `double precision[]`, `numeric[]`, `integer[]`, `bigint[]`, a quoted array literal
//! (`'{1,2,3}'`, which PostgreSQL passes as `text`), a domain over any of them, and pgvector's
//! `vector`, `halfvec` and `sparsevec` read from their bytes (no cast). The functions that take
//! one embedding (`ml.predict_cluster`) use this; tables are read by `shared::source`.

use crate::shared::errors::{literal, raise, DATATYPE_MISMATCH};
use mlkit::vector_formats::VectorType;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::AnyElement;

/// How values of one argument type are read as an embedding: worked out once per call site
/// ([`Reader::of`], which looks pgvector's types up by SPI) and then used for every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// `real[]` (or a domain over it): its elements, in place.
    Float4Array,
    /// pgvector's `vector`, `halfvec` or `sparsevec`, from its bytes.
    Pgvector(VectorType),
    /// Another numeric array type (its OID), or `text` holding a quoted array literal.
    Array(Oid),
}

impl Reader {
    /// The reader of values of type `oid` (a domain's values are read as its base type's); a
    /// type that is no embedding is refused (42804) naming `func` and `arg`.
    pub fn of(func: &str, arg: &str, oid: Oid) -> Reader {
        // SAFETY: the catalog lookup of a type OID PostgreSQL passed us.
        let base = unsafe { pg_sys::getBaseType(oid) };
        match base {
            pg_sys::FLOAT4ARRAYOID => Reader::Float4Array,
            pg_sys::FLOAT8ARRAYOID
            | pg_sys::NUMERICARRAYOID
            | pg_sys::INT2ARRAYOID
            | pg_sys::INT4ARRAYOID
            | pg_sys::INT8ARRAYOID
            | pg_sys::TEXTOID => Reader::Array(base),
            _ => {
                Reader::Pgvector(Spi::connect(|c| crate::shared::pgvector::vector_type(c, base)).unwrap_or_else(|| refuse(func, arg, oid)))
            }
        }
    }

    /// The values of `datum` (NULL elements kept as `None`, for the caller's own error), after
    /// `check_dim` has accepted its dimension. `check_dim` runs before anything is densified, so a
    /// `sparsevec` of a billion dimensions is refused without allocating it.
    ///
    /// # Safety
    /// `datum` must be a non-null value of the type this reader was made for.
    pub unsafe fn values(self, func: &str, arg: &str, datum: pg_sys::Datum, check_dim: impl FnOnce(usize)) -> Vec<Option<f64>> {
        match self {
            Reader::Pgvector(t) => {
                // SAFETY: per the contract (a pgvector value of type `t`).
                let dense = unsafe { densify(func, arg, t, datum, check_dim) };
                dense.into_iter().map(|v| Some(f64::from(v))).collect()
            }
            // SAFETY: per the contract (a numeric array, or text).
            Reader::Float4Array => unsafe { array_values(func, arg, datum, pg_sys::FLOAT4ARRAYOID, check_dim) },
            // SAFETY: as above.
            Reader::Array(base) => unsafe { array_values(func, arg, datum, base, check_dim) },
        }
    }
}

/// The values of `value` (NULL elements kept as `None`), after `check_dim` has accepted its
/// dimension: [`Reader::values`] with the reader of `value`'s type.
pub fn values(func: &str, arg: &str, value: &AnyElement, check_dim: impl FnOnce(usize)) -> Vec<Option<f64>> {
    // SAFETY: a non-null value of its own type.
    unsafe { Reader::of(func, arg, value.oid()).values(func, arg, value.datum(), check_dim) }
}

/// The dense values of a non-null pgvector datum of type `t`, its dimension checked by
/// `check_dim` before anything is densified.
///
/// # Safety
/// `datum` must be a non-null datum of pgvector type `t`.
pub unsafe fn densify(func: &str, arg: &str, t: VectorType, datum: pg_sys::Datum, check_dim: impl FnOnce(usize)) -> Vec<f32> {
    let mut out = Vec::new();
    // SAFETY: per the contract.
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
    out
}

/// The elements of a non-null numeric array of type `base` (or of `text` holding a quoted
/// array literal), one-dimensional and accepted by `check_dim`.
///
/// # Safety
/// `datum` must be a non-null value of type `base`.
unsafe fn array_values(func: &str, arg: &str, datum: pg_sys::Datum, base: Oid, check_dim: impl FnOnce(usize)) -> Vec<Option<f64>> {
    let array = match base {
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
        _ => (datum, base),
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
    let name = crate::shared::sql::type_name(oid);
    raise(
        DATATYPE_MISMATCH,
        format!("{func}: {arg} has type {name}, which is not an embedding"),
        "Pass real[], double precision[], numeric[], smallint[], integer[], bigint[], or pgvector's vector, halfvec or sparsevec.",
    )
}
