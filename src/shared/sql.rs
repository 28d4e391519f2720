//! The one way pg_mlkit writes SQL at run time (docs/security.md).
//!
//! Every query the extension runs must mean the same thing whoever calls it and whatever their
//! `search_path` holds: a role may plant `pg_temp.text`, a `public.format(...)` that is a better
//! match than `pg_catalog`'s, or a temporary table named `pg_class`. So:
//!
//! * identifiers are always double-quoted ([`ident`]), relations always schema-qualified from
//!   the catalog ([`relation`]), never taken as text from a row or an argument;
//! * every type, function and operator in a query text is written with its schema
//!   (`pg_catalog.text`, `OPERATOR(pg_catalog.=)`, `ml.current_tenant()`); keyword types
//!   (`real`, `bigint`, `integer`, `double precision`, `boolean`) are the grammar's own and
//!   always `pg_catalog`'s;
//! * the functions that run SQL also pin `search_path = pg_catalog, pg_temp` in their
//!   `CREATE FUNCTION` (pg_temp last, so nothing temporary shadows the catalog);
//! * internal aliases start with `_ml` ([`ALIAS`]), so they cannot be a user's column names
//!   by accident, and every column of a user relation is referred to through its alias;
//! * every datum read back is type-checked before it is decoded ([`expect_type`], and
//!   [`crate::shared::errors::spi`] turns pgrx's own check into 42804).

use crate::shared::errors::{raise, spi, spi_some, DATATYPE_MISMATCH};
use pgrx::prelude::*;

/// The alias of the user's relation in queries built here.
pub const ALIAS: &str = "_ml_src";

/// A type's name as SQL writes it (`format_type_be`): `double precision[]`, `vector(3)`.
pub fn type_name(oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be of a type OID returns a palloc'd cstring (an unknown OID prints
    // as "???").
    unsafe { std::ffi::CStr::from_ptr(pg_sys::format_type_be(oid)) }.to_string_lossy().into_owned()
}

/// `text` read by the input function of type `oid` (a domain's checks its constraints): a
/// datum of that type in the current memory context. An input the type refuses raises what
/// `refused` makes of the type's own error (its SQLSTATE and message), so the caller can say
/// which argument was refused and what to do.
pub fn input_value<F: Fn(&pgrx::pg_sys::panic::ErrorReportWithLevel) -> pg_sys::Datum + std::panic::RefUnwindSafe>(
    oid: pg_sys::Oid,
    text: &std::ffi::CStr,
    refused: F,
) -> pg_sys::Datum {
    let (mut input, mut ioparam) = (pg_sys::Oid::INVALID, pg_sys::Oid::INVALID);
    // SAFETY: the input function of a valid type OID.
    unsafe { pg_sys::getTypeInputInfo(oid, &mut input, &mut ioparam) };
    // The error is raised again, as the caller's: nothing the input function left half-done
    // outlives the transaction it aborts.
    pgrx::PgTryBuilder::new(|| {
        // SAFETY: the type's input function on a cstring it only reads.
        unsafe { pg_sys::OidInputFunctionCall(input, text.as_ptr().cast_mut(), ioparam, -1) }
    })
    .catch_others(|e| match e {
        pgrx::pg_sys::panic::CaughtError::PostgresError(r) | pgrx::pg_sys::panic::CaughtError::ErrorReport(r) => refused(&r),
        other => other.rethrow(),
    })
    .execute()
}

/// `name` as a quoted identifier: `"name"`, with `"` doubled. Always quoted, so that no name
/// is ever folded, taken as a keyword, or read as anything but itself.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A column of the user's relation, through [`ALIAS`]: `_ml_src."name"`.
pub fn column(name: &str) -> String {
    format!("{ALIAS}.{}", ident(name))
}

/// The relation `oid` as a query writes it: `"schema"."name"`, from the catalog (a temporary
/// table is named by its own `pg_temp_N` schema, so no other relation can stand in for it).
pub fn relation(c: &pgrx::spi::SpiClient<'_>, oid: pg_sys::Oid) -> String {
    let (schema, name) = relation_parts(c, oid);
    format!("{}.{}", ident(&schema), ident(&name))
}

/// The relation `oid`'s schema and name, from the catalog.
pub fn relation_parts(c: &pgrx::spi::SpiClient<'_>, oid: pg_sys::Oid) -> (String, String) {
    let t = spi(
        c.select(
            "SELECT n.nspname::pg_catalog.text, r.relname::pg_catalog.text
               FROM pg_catalog.pg_class r
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace
              WHERE r.oid OPERATOR(pg_catalog.=) $1",
            None,
            &[oid.into()],
        ),
        "look up a relation",
    );
    if t.is_empty() {
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("relation with OID {} does not exist", oid.to_u32()),
            "It was dropped while the call ran; run it again.",
        );
    }
    let row = t.first();
    (spi_some(row.get(1), "look up a relation"), spi_some(row.get(2), "look up a relation"))
}

/// `name` quoted only where SQL needs it (PostgreSQL's own `quote_identifier` rules): for
/// what a person reads, such as a run's recorded source, never for a query.
pub fn display_ident(name: &str) -> String {
    let Ok(c) = std::ffi::CString::new(name) else { return ident(name) };
    // SAFETY: quote_identifier reads a NUL-terminated string and returns it or a palloc'd copy.
    unsafe { std::ffi::CStr::from_ptr(pg_sys::quote_identifier(c.as_ptr())).to_string_lossy().into_owned() }
}

/// Checks that column `col` (1-based) of the tuple descriptor has type `want` before a datum
/// of it is decoded by hand (`SPI_getbinval`); a mismatch is 42804, never a misread datum.
///
/// # Safety
/// `desc` must be a valid tuple descriptor with at least `col` columns.
pub unsafe fn expect_type(desc: pg_sys::TupleDesc, col: i32, want: pg_sys::Oid, what: &str) {
    // SAFETY: the caller's guarantee.
    let got = unsafe { pg_sys::SPI_gettypeid(desc, col) };
    if got != want {
        raise(
            DATATYPE_MISMATCH,
            format!("pg_mlkit could not {what}: column {col} of its query has type OID {}, not {}", got.to_u32(), want.to_u32()),
            "A type in the query resolved to another one; this is a bug in pg_mlkit, please report it.",
        );
    }
}

/// A `k × d` matrix (row-major), such as centroids, as a two-dimensional `real[]` parameter. A value, not text
/// to cast: a cast of a parameter would be evaluated again for every row.
pub fn array_2d(c: &[f32], d: usize) -> pgrx::datum::DatumWithOid<'static> {
    let k = c.len() / d;
    let mut values: Vec<pg_sys::Datum> = c.iter().map(|v| pg_sys::Datum::from(v.to_bits())).collect();
    let mut dims = [k as i32, d as i32];
    let mut lbs = [1, 1];
    // SAFETY: k × d float4 datums (by value), no NULLs; construct_md_array copies them into
    // a new array in the current memory context, which outlives the statement that uses it.
    unsafe {
        let a = pg_sys::construct_md_array(
            values.as_mut_ptr(),
            std::ptr::null_mut(),
            2,
            dims.as_mut_ptr(),
            lbs.as_mut_ptr(),
            pg_sys::FLOAT4OID,
            4,
            true,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        );
        pgrx::datum::DatumWithOid::new(pg_sys::Datum::from(a), pg_sys::FLOAT4ARRAYOID)
    }
}
