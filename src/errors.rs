//! How pg_mlkit reports bad input: an `ERROR` with a SQLSTATE, a message that names the
//! argument and its value, and a hint that says what to do instead.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::spi::SpiResult;
use pgrx::{PgLogLevel, PgSqlErrorCode};

pub use pgrx::PgSqlErrorCode::{
    ERRCODE_ARRAY_ELEMENT_ERROR as ARRAY_SUBSCRIPT_ERROR, ERRCODE_DATATYPE_MISMATCH as DATATYPE_MISMATCH,
    ERRCODE_FEATURE_NOT_SUPPORTED as FEATURE_NOT_SUPPORTED, ERRCODE_INVALID_BINARY_REPRESENTATION as INVALID_BINARY_REPRESENTATION,
    ERRCODE_INVALID_TEXT_REPRESENTATION as INVALID_TEXT_REPRESENTATION, ERRCODE_STRING_DATA_LENGTH_MISMATCH as STRING_DATA_LENGTH_MISMATCH, ERRCODE_INVALID_PARAMETER_VALUE as INVALID_PARAMETER_VALUE,
    ERRCODE_NULL_VALUE_NOT_ALLOWED as NULL_VALUE_NOT_ALLOWED, ERRCODE_PROGRAM_LIMIT_EXCEEDED as PROGRAM_LIMIT_EXCEEDED,
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

/// A value as SQL would quote it in a message: `'text'`, or NULL.
pub fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Turns an unexpected SPI failure into an internal error (PostgreSQL errors inside SPI are
/// raised directly and never get here).
pub fn spi<T>(r: SpiResult<T>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("pg_mlkit could not {what}: {e}"),
            "This is a bug in pg_mlkit; please report it with the statement that caused it.",
        )
    })
}
