//! How pg_mlkit reports bad input: an `ERROR` with a SQLSTATE, a message that names the
//! argument and its value, and a hint that says what to do instead.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::spi::SpiResult;
use pgrx::{PgLogLevel, PgSqlErrorCode};

pub use pgrx::PgSqlErrorCode::{
    ERRCODE_ARRAY_ELEMENT_ERROR as ARRAY_SUBSCRIPT_ERROR, ERRCODE_DATATYPE_MISMATCH as DATATYPE_MISMATCH,
    ERRCODE_FEATURE_NOT_SUPPORTED as FEATURE_NOT_SUPPORTED, ERRCODE_INTERNAL_ERROR as INTERNAL_ERROR,
    ERRCODE_INVALID_BINARY_REPRESENTATION as INVALID_BINARY_REPRESENTATION, ERRCODE_INVALID_PARAMETER_VALUE as INVALID_PARAMETER_VALUE,
    ERRCODE_INVALID_TEXT_REPRESENTATION as INVALID_TEXT_REPRESENTATION, ERRCODE_NULL_VALUE_NOT_ALLOWED as NULL_VALUE_NOT_ALLOWED,
    ERRCODE_PROGRAM_LIMIT_EXCEEDED as PROGRAM_LIMIT_EXCEEDED, ERRCODE_STRING_DATA_LENGTH_MISMATCH as STRING_DATA_LENGTH_MISMATCH,
    ERRCODE_UNDEFINED_COLUMN as UNDEFINED_COLUMN, ERRCODE_UNIQUE_VIOLATION as UNIQUE_VIOLATION,
    ERRCODE_WRONG_OBJECT_TYPE as WRONG_OBJECT_TYPE,
};

/// Raises an `ERROR`; never returns. The transaction is aborted, so nothing the call wrote
/// survives.
#[track_caller]
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, hint: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "pg_mlkit").set_hint(hint.into()).report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// A NOTICE with a hint: what a call that succeeded wants its caller to look at.
pub fn notice(message: impl Into<String>, hint: impl Into<String>) {
    ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, message.into(), "pg_mlkit")
        .set_hint(hint.into())
        .report(PgLogLevel::NOTICE);
}

/// Refuses, with SQLSTATE 53200 (out_of_memory), a plan of `bytes` the server cannot allocate
/// now, before any of it is used: Rust aborts the process when an allocation fails, so every
/// large plan is first tried as one allocation that can fail (and is given back at once).
/// `what` names the call and its input for the message (built only on failure).
pub fn ensure_allocatable(bytes: usize, what: impl FnOnce() -> String) {
    let mut probe: Vec<u8> = Vec::new();
    if probe.try_reserve_exact(bytes).is_err() {
        out_of_memory(bytes, &what());
    }
}

/// Makes room in `v` for `additional` more items, or fails with 53200 instead of the abort
/// a growing `Vec` would cause. `v` is freed first, since the report needs a little memory.
pub fn try_grow<T>(v: &mut Vec<T>, additional: usize, what: impl FnOnce() -> String) {
    if v.try_reserve(additional).is_err() {
        let wanted = (v.capacity() + additional) * std::mem::size_of::<T>();
        drop(std::mem::take(v));
        out_of_memory(wanted, &what());
    }
}

/// The 53200 error for `bytes` the server could not give.
pub fn out_of_memory(bytes: usize, what: &str) -> ! {
    raise(
        pgrx::PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        format!("{what}: the server could not allocate the {} MB of working memory it needs", bytes.div_ceil(1024 * 1024)),
        "Free memory on the server, lower pg_mlkit.max_memory_mb so that such calls are refused up front, or work on a sample through a view.",
    )
}

/// A value as SQL would quote it in a message: `'text'`, or NULL.
pub fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Turns an unexpected SPI failure into an internal error (PostgreSQL errors inside SPI are
/// raised directly and never get here).
///
/// A datum whose type is not the one asked for (pgrx checks before decoding) is 42804: a type
/// in the query resolved to something else, which must never be read as the wrong type.
pub fn spi<T>(r: SpiResult<T>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        if let pgrx::spi::SpiError::DatumError(d) = &e {
            raise(
                DATATYPE_MISMATCH,
                format!("pg_mlkit could not {what}: {d}"),
                "A type in the query resolved to another one; this is a bug in pg_mlkit, please report it.",
            );
        }
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("pg_mlkit could not {what}: {e}"),
            "This is a bug in pg_mlkit; please report it with the statement that caused it.",
        )
    })
}

/// [`spi`] for a value that cannot be NULL (a key, a `NOT NULL` column, a `count(*)`): a NULL
/// is an internal error, never read as 0, "" or false.
pub fn spi_some<T>(r: SpiResult<Option<T>>, what: &str) -> T {
    spi(r, what).unwrap_or_else(|| {
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("pg_mlkit could not {what}: the query returned NULL where a value must be"),
            "This is a bug in pg_mlkit; please report it with the statement that caused it.",
        )
    })
}
