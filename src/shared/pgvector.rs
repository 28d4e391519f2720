//! pgvector's types, recognised at run time and read from their bytes
//! (`mlkit::vector_formats`), without a cast per row. pg_mlkit does not depend on pgvector:
//! without it nothing here matches and every column goes through its cast to `real[]`.
//!
//! pgvector's type OIDs differ per database, and a type is found by what it is, not by its
//! name: a type whose input function is pgvector's `vector_in`, `halfvec_in` or
//! `sparsevec_in` in a C library named `vector`. No ordinary role can create a C function, so
//! a look-alike type named `vector` of another layout is not read as one (it still goes
//! through its cast, if it has one).

use crate::shared::errors::spi;
use mlkit::vector_formats::VectorType;
use pgrx::prelude::*;

/// pgvector's types in this database: each one's OID, input function and quoted, qualified
/// name, for the types whose input function is a C function of the `vector` library. Callers
/// add their own condition after it (`AND ...`).
const PGVECTOR_TYPES: &str = "SELECT p.prosrc::pg_catalog.text,
        pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.typname)
   FROM pg_catalog.pg_type t
   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
   JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.typinput
   JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
  WHERE t.typlen OPERATOR(pg_catalog.=) -1 AND l.lanname OPERATOR(pg_catalog.=) 'c'
    AND pg_catalog.regexp_replace(p.probin, '^.*/', '') OPERATOR(pg_catalog.=) ANY (ARRAY['vector', 'vector.so'])";

/// The first of pgvector's types that `condition` picks: its input function and qualified name.
fn find(c: &pgrx::spi::SpiClient<'_>, condition: &str, args: &[pgrx::datum::DatumWithOid<'_>]) -> Option<(String, String)> {
    let t = spi(c.select(&format!("{PGVECTOR_TYPES} AND {condition} LIMIT 1"), None, args), "look up pgvector's types");
    if t.is_empty() {
        return None;
    }
    let row = t.first();
    Some((spi(row.get::<String>(1), "look up pgvector's types")?, spi(row.get::<String>(2), "look up pgvector's types")?))
}

/// The pgvector type that `oid` is (the base type of a domain should be passed), if any.
pub fn vector_type(c: &pgrx::spi::SpiClient<'_>, oid: pg_sys::Oid) -> Option<VectorType> {
    let (input, _) = find(c, "t.oid OPERATOR(pg_catalog.=) $1", &[oid.into()])?;
    VectorType::from_input_function(&input)
}

/// pgvector's `vector` type, schema-qualified and quoted, for a cast (`sparsevec` casts to
/// `real[]` only through it).
pub fn vector_type_name(c: &pgrx::spi::SpiClient<'_>) -> Option<String> {
    find(c, "p.prosrc OPERATOR(pg_catalog.=) 'vector_in'", &[]).map(|(_, name)| name)
}

/// `read` of the bytes after the length word of a non-null varlena datum (a pgvector value, a
/// bit string), detoasted; a copy
/// that detoasting made (of a compressed, out-of-line or short-headered value) is freed after.
///
/// # Safety
/// `datum` must be a non-null varlena datum.
pub unsafe fn with_datum_bytes<R>(datum: pg_sys::Datum, read: impl FnOnce(&[u8]) -> R) -> R {
    let original = datum.cast_mut_ptr::<pg_sys::varlena>();
    // SAFETY: a valid varlena; detoasting returns it or a palloc'd flat copy with a 4-byte
    // header, which lives until freed below.
    unsafe {
        let flat = pg_sys::pg_detoast_datum(original);
        let len = pgrx::varsize_any(flat);
        let r = read(std::slice::from_raw_parts((flat as *const u8).add(4), len.saturating_sub(4)));
        if flat != original {
            pg_sys::pfree(flat.cast());
        }
        r
    }
}

/// Appends the dense values of a non-null pgvector datum of type `t` to `out` and returns its
/// dimension. `reserve(out, dim)` runs before anything is densified (check a dimension or a
/// memory plan there, and grow `out` fallibly); a damaged value is an error (XX001) naming
/// `what()` — "embedding of id '7' in source public.docs", say.
///
/// # Safety
/// `datum` must be a non-null datum of pgvector type `t`.
pub unsafe fn append_datum(
    t: VectorType,
    datum: pg_sys::Datum,
    out: &mut Vec<f32>,
    reserve: impl FnOnce(&mut Vec<f32>, usize),
    what: impl FnOnce() -> String,
) -> usize {
    // SAFETY: per the contract.
    unsafe { with_datum_bytes(datum, |b| mlkit::vector_formats::append_dense(t, b, out, reserve)) }.unwrap_or_else(|e| {
        crate::shared::errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("{} is a damaged {}: {e}", what(), t.name()),
            "A value pgvector wrote always reads back: SELECT it to see where it came from.",
        )
    })
}
