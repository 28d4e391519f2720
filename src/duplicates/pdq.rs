//! `ml.pdq` and `ml.pdq_dihedral`: Meta's PDQ hash of image bytes (bit for bit PyPI
//! `pdqhash`'s on the same pixels), as a 256-bit `bit varying` and a quality. The method is
//! [`mlkit::hash::pdq`]. Documented in docs/functions/pdq.md.
//!
//! `bit varying` has no pgrx type, and the result is a row (OUT parameters): both functions
//! are plain version-1 C functions that build their row with the function's own result type.

use super::image_hashes::decode_with;
use crate::shared::errors::{raise, INTERNAL_ERROR};
use mlkit::hash::pdq::{self, Prescale};
use pgrx::prelude::*;

/// The prescale argument (argument 1, `downscale boolean`).
///
/// # Safety
/// `fcinfo` is a call of a function whose argument 1 is a non-null boolean.
unsafe fn prescale_arg(fcinfo: pg_sys::FunctionCallInfo) -> Prescale {
    // SAFETY: per the contract.
    if unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1) }.value() != 0 {
        Prescale::Nearest512
    } else {
        Prescale::None
    }
}

/// The image argument (argument 0, a non-null `bytea`), detoasted for the call.
///
/// # Safety
/// `fcinfo` is a call of a function whose argument 0 is a non-null bytea.
unsafe fn image_arg<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a [u8] {
    unsafe {
        let raw = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0);
        // Detoasted into the function's memory context, which lives as long as the call.
        let flat = pg_sys::pg_detoast_datum(raw.cast_mut_ptr::<pg_sys::varlena>());
        std::slice::from_raw_parts(pgrx::varlena::vardata_any(flat) as *const u8, pgrx::varlena::varsize_any_exhdr(flat))
    }
}

/// A `bit varying` datum of the 256 bits of `hash`, most significant first (the bit string
/// `('x' || hex)::bit(256)` gives), in the current memory context.
fn varbit_datum(hash: &[u8; 32]) -> pg_sys::Datum {
    let size = pg_sys::VARHDRSZ + 4 + hash.len();
    // SAFETY: a fresh palloc of `size` bytes, filled completely below.
    unsafe {
        let p = pg_sys::palloc0(size) as *mut u8;
        pgrx::set_varsize_4b(p as *mut pg_sys::varlena, size as i32);
        std::ptr::copy_nonoverlapping(256i32.to_ne_bytes().as_ptr(), p.add(pg_sys::VARHDRSZ), 4);
        std::ptr::copy_nonoverlapping(hash.as_ptr(), p.add(pg_sys::VARHDRSZ + 4), hash.len());
        pg_sys::Datum::from(p)
    }
}

/// The call's result row from `values` (no NULLs), shaped by its OUT parameters.
///
/// # Safety
/// `fcinfo` is the call of a function declared with OUT parameters matching `values`' types.
unsafe fn result_row(fcinfo: pg_sys::FunctionCallInfo, values: &mut [pg_sys::Datum]) -> pg_sys::Datum {
    unsafe {
        let mut desc: pg_sys::TupleDesc = std::ptr::null_mut();
        if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut desc) != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE {
            raise(INTERNAL_ERROR, "ml.pdq: the function's result is not a row", "This is a bug in pg_mlkit; please report it.");
        }
        let desc = pg_sys::BlessTupleDesc(desc);
        let mut nulls = vec![false; values.len()];
        let tuple = pg_sys::heap_form_tuple(desc, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}

finfo_v1!(pg_finfo_pdq_hash);

/// `ml.pdq(image, downscale)`: the PDQ hash and quality of PNG or JPEG bytes.
///
/// # Safety
/// Called by PostgreSQL through the SQL declaration below (STRICT: bytea, boolean).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn pdq_hash(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: a non-null bytea and a non-null boolean (STRICT).
    let (image, prescale) = unsafe { (image_arg(fcinfo), prescale_arg(fcinfo)) };
    let h = decode_with("ml.pdq", image, |bytes, limits| pdq::pdq(bytes, limits, prescale));
    // SAFETY: declared with OUT hash bit varying, OUT quality integer.
    unsafe { result_row(fcinfo, &mut [varbit_datum(&h.hash), pg_sys::Datum::from(h.quality)]) }
}

finfo_v1!(pg_finfo_pdq_dihedral_hashes);

/// `ml.pdq_dihedral(image, downscale)`: the PDQ hashes of the 8 rotations and flips.
///
/// # Safety
/// Called by PostgreSQL through the SQL declaration below (STRICT: bytea, boolean).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn pdq_dihedral_hashes(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: a non-null bytea and a non-null boolean (STRICT).
    let (image, prescale) = unsafe { (image_arg(fcinfo), prescale_arg(fcinfo)) };
    let h = decode_with("ml.pdq_dihedral", image, |bytes, limits| pdq::pdq_dihedral(bytes, limits, prescale));
    let mut elems: Vec<pg_sys::Datum> = h.hashes.iter().map(varbit_datum).collect();
    // SAFETY: eight varbit datums; varbit is a varlena (typlen -1), passed by reference,
    // aligned on int ('i'). Declared with OUT hashes bit varying[], OUT quality integer.
    unsafe {
        let array =
            pg_sys::construct_array(elems.as_mut_ptr(), elems.len() as i32, pg_sys::VARBITOID, -1, false, pg_sys::TYPALIGN_INT as _);
        result_row(fcinfo, &mut [pg_sys::Datum::from(array), pg_sys::Datum::from(h.quality)])
    }
}

extension_sql!(
    r#"
CREATE FUNCTION ml.pdq(image bytea, downscale boolean DEFAULT false, OUT hash bit varying, OUT quality integer)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'pdq_hash';
COMMENT ON FUNCTION ml.pdq(bytea, boolean) IS
  'Meta''s PDQ hash of a PNG or JPEG image: 256 bits and a quality from 0 to 100, equal to pdqhash (ThreatExchange); downscale => true first resizes pictures larger than 512 as the PDQ photo hasher does.';

CREATE FUNCTION ml.pdq_dihedral(image bytea, downscale boolean DEFAULT false, OUT hashes bit varying[], OUT quality integer)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'pdq_dihedral_hashes';
COMMENT ON FUNCTION ml.pdq_dihedral(bytea, boolean) IS
  'The PDQ hashes of the 8 rotations and flips of a PNG or JPEG image (original, rotate90, rotate180, rotate270, flipx, flipy, flipplus1, flipminus1), as pdqhash.compute_dihedral, and the quality.';
"#,
    name = "pdq_functions"
);
