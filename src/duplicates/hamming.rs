//! Hamming distance: `ml.hamming_distance` on `bigint`, `bytea` and `bit varying` and its
//! operator `<^>`; hashes as hex text (`ml.hash_from_hex`, `ml.hash_to_hex`); the radius
//! index (`ml.hash_bands`, `ml.hash_probe`). Documented in docs/functions/near_duplicates.md.

use crate::shared::errors::{literal, raise, INVALID_PARAMETER_VALUE, INVALID_TEXT_REPRESENTATION, STRING_DATA_LENGTH_MISMATCH};
use mlkit::hash::radius::bit_index::Split;
use mlkit::hash::{hamming, hex, radius};
use pgrx::prelude::*;

// ---------------------------------------------------------------------------------------
// Hamming distance

/// Bits in which two 64-bit hashes differ (the sign bit included).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hamming_distance(a bigint, b bigint) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hamming_distance(bigint, bigint) IS 'Number of bits in which two 64-bit hashes differ.';
"#)]
fn hamming_distance_bigint(a: i64, b: i64) -> i32 {
    hamming::distance_u64(a as u64, b as u64) as i32
}

/// Bits in which two byte strings of equal length differ.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hamming_distance(a bytea, b bytea) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hamming_distance(bytea, bytea) IS 'Number of bits in which two byte strings of the same length differ.';
"#)]
fn hamming_distance_bytea(a: &[u8], b: &[u8]) -> i32 {
    match hamming::distance_bytes(a, b) {
        Some(d) => i32::try_from(d).unwrap_or(i32::MAX),
        None => raise(
            STRING_DATA_LENGTH_MISMATCH,
            format!("ml.hamming_distance: a has {} bytes but b has {}", a.len(), b.len()),
            "Hamming distance compares strings of the same length; compare hashes of the same kind and size.",
        ),
    }
}

// `bit varying` has no pgrx type: this is a plain version-1 C function.
finfo_v1!(pg_finfo_hamming_distance_varbit);

/// Bits in which two bit strings of equal length differ (`ml.hamming_distance(bit varying, bit varying)`).
///
/// # Safety
/// Called by PostgreSQL through the SQL declaration below, as a STRICT function of two
/// `bit varying` arguments.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hamming_distance_varbit(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: two non-null varbit arguments (STRICT).
    let ((a_bits, a), (b_bits, b)) = unsafe { (varbit_arg(fcinfo, 0), varbit_arg(fcinfo, 1)) };
    if a_bits != b_bits {
        raise(
            STRING_DATA_LENGTH_MISMATCH,
            format!("ml.hamming_distance: a has {a_bits} bits but b has {b_bits}"),
            "Hamming distance compares strings of the same length; compare hashes of the same kind and size.",
        );
    }
    // The padding bits after the last are always zero in a varbit, so whole bytes compare.
    let d = hamming::distance_bytes(a, b).unwrap_or(0);
    pg_sys::Datum::from(i32::try_from(d).unwrap_or(i32::MAX))
}

/// A varbit argument: its length in bits and its bytes.
///
/// # Safety
/// Argument `n` of `fcinfo` must be a non-null `bit varying`.
unsafe fn varbit_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> (i32, &'a [u8]) {
    unsafe {
        let raw = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n);
        // Detoasted into the function's memory context, which lives as long as the call.
        let flat = pg_sys::pg_detoast_datum(raw.cast_mut_ptr::<pg_sys::varlena>());
        let len = pgrx::varlena::varsize_any_exhdr(flat);
        varbit_payload(std::slice::from_raw_parts(pgrx::varlena::vardata_any(flat) as *const u8, len))
    }
}

/// A `bit varying` value's payload (its bytes after the length word) as its length in bits
/// and its bytes, most significant bit first; a payload too short for the bit count is 0 bits.
pub(crate) fn varbit_payload(payload: &[u8]) -> (i32, &[u8]) {
    match payload.split_first_chunk::<4>() {
        Some((len, bits)) => (i32::from_ne_bytes(*len), bits),
        None => (0, &[]),
    }
}

extension_sql!(
    r#"
CREATE FUNCTION ml.hamming_distance(a bit varying, b bit varying) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hamming_distance_varbit';
COMMENT ON FUNCTION ml.hamming_distance(bit varying, bit varying) IS 'Number of bits in which two bit strings of the same length differ.';

-- <^> ("xor distance"): pgvector has <~> for Hamming distance on bit, so a different name
-- keeps both extensions usable side by side.
CREATE OPERATOR ml.<^> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = ml.hamming_distance, COMMUTATOR = OPERATOR(ml.<^>));
CREATE OPERATOR ml.<^> (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = ml.hamming_distance, COMMUTATOR = OPERATOR(ml.<^>));
CREATE OPERATOR ml.<^> (LEFTARG = bit varying, RIGHTARG = bit varying, FUNCTION = ml.hamming_distance, COMMUTATOR = OPERATOR(ml.<^>));
"#,
    name = "hamming_operators",
    requires = [hamming_distance_bigint, hamming_distance_bytea]
);

// ---------------------------------------------------------------------------------------
// Hex text

/// A 64-bit hash from imagehash's hex text, e.g. `ml.hash_from_hex('c3d4e5f60718293a')`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_from_hex(hex text) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_from_hex(text) IS 'A 64-bit hash from hex text as imagehash prints it (up to 16 hex digits).';
"#)]
fn hash_from_hex(hex: &str) -> i64 {
    hex::parse_u64(hex).map(|v| v as i64).unwrap_or_else(|| {
        raise(
            INVALID_TEXT_REPRESENTATION,
            format!("ml.hash_from_hex: hex {} is not a 64-bit hash in hex", literal(hex)),
            "Pass 1 to 16 hexadecimal digits, as str(imagehash.phash(image)) prints them, e.g. 'c3d4e5f60718293a'.",
        )
    })
}

/// imagehash's hex text of a 64-bit hash: 16 lower-case digits.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_to_hex(hash bigint) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_to_hex(bigint) IS 'A 64-bit hash as 16 hex digits, as imagehash prints it.';
"#)]
fn hash_to_hex(hash: i64) -> String {
    format!("{:016x}", hash as u64)
}

/// A bit string's hex text, as PDQ and most hash tools print 256-bit hashes (the text
/// `('x' || hex)::bit(n)` reads back).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_to_hex(hash bit varying) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_to_hex(bit varying) IS 'A bit string (a 256-bit PDQ hash) as hex digits, most significant first, as pdqhash prints it; a length that is not a multiple of 4 is refused.';
"#)]
fn hash_to_hex_bits(fcinfo: pg_sys::FunctionCallInfo) -> String {
    // SAFETY: argument 0 is a non-null bit varying (STRICT).
    let (len, bytes) = unsafe { varbit_arg(fcinfo, 0) };
    if len % 4 != 0 {
        raise(
            STRING_DATA_LENGTH_MISMATCH,
            format!("ml.hash_to_hex: hash has {len} bits, not a whole number of hex digits"),
            "Hex text holds 4 bits a digit: pass bit strings of a multiple of 4 bits (a PDQ hash has 256).",
        );
    }
    let digits = (len / 4).max(0) as usize;
    let mut text = hex::encode(bytes);
    text.truncate(digits);
    text
}

// ---------------------------------------------------------------------------------------
// The index scheme: a GIN index on ml.hash_bands(hash), queried with ml.hash_probe.

/// Bands of the SQL index scheme: with 5, hashes within distance 4 share a whole band.
const INDEX_BANDS: usize = 5;
/// Band keys are `band × 2¹³ + value` (no band has more than 13 bits).
const BAND_KEY_STRIDE: i32 = 1 << 13;
/// The largest radius `ml.hash_probe` enumerates keys for.
const MAX_PROBE_RADIUS: i32 = 14;

/// The five band keys of a hash, for `CREATE INDEX ... USING gin (ml.hash_bands(hash))`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_bands(hash bigint) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_bands(bigint) IS
  'Index keys of a 64-bit hash: index with USING gin (ml.hash_bands(col)), search with ml.hash_bands(col) && ml.hash_probe(query, radius).';
"#)]
fn hash_bands(hash: i64) -> Vec<i32> {
    (0..INDEX_BANDS).map(|j| j as i32 * BAND_KEY_STRIDE + radius::band_value(hash as u64, j, INDEX_BANDS) as i32).collect()
}

/// Every band key a hash within `radius` of `hash` must share at least one of.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_probe(hash bigint, radius integer DEFAULT 4) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_probe(bigint, integer) IS
  'Band keys to search for hashes within radius: WHERE ml.hash_bands(col) && ml.hash_probe(q, r) AND ml.hamming_distance(col, q) <= r.';
"#)]
fn hash_probe(hash: i64, radius: i32) -> Vec<i32> {
    if !(0..=MAX_PROBE_RADIUS).contains(&radius) {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("ml.hash_probe: radius must be between 0 and {MAX_PROBE_RADIUS}, not {radius}"),
            "Up to 4 the index finds candidates by exact band matches; larger radii probe more keys. Beyond 14, scan with ml.hamming_distance alone.",
        );
    }
    let flips = radius as u32 / INDEX_BANDS as u32;
    let mut keys = vec![];
    for j in 0..INDEX_BANDS {
        let bits = radius::band_bits(j, INDEX_BANDS);
        radius::for_each_within(radius::band_value(hash as u64, j, INDEX_BANDS), bits, flips, &mut |v| {
            keys.push(j as i32 * BAND_KEY_STRIDE + v as i32)
        });
    }
    keys
}

// Bit strings (bit(n), bit varying: pgvector's binary_quantize()) in the same scheme. 64 bits
// are the 64-bit hash with the same bits (first bit most significant) and get its keys;
// other lengths get mlkit::hash::radius::bit_index's.

/// The bit string argument `n` as a code.
///
/// # Safety
/// Argument `n` of `fcinfo` must be a non-null `bit varying`.
unsafe fn bits_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize, func: &str) -> radius::Bits {
    // SAFETY: per the contract.
    let (len, bytes) = unsafe { varbit_arg(fcinfo, n) };
    usize::try_from(len).ok().filter(|&l| l > 0).and_then(|l| radius::Bits::from_bytes(bytes, l)).unwrap_or_else(|| {
        raise(
            STRING_DATA_LENGTH_MISMATCH,
            format!("{func}: hash has {len} bits"),
            "Index bit strings of at least one bit, all of one length (e.g. binary_quantize(embedding)).",
        )
    })
}

/// The band keys of a bit string, for `CREATE INDEX ... USING gin (ml.hash_bands(col))`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_bands(hash bit varying) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE COST 50 LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_bands(bit varying) IS
  'Index keys of a bit string (64 bits: those of the 64-bit hash; longer: bands of at most 16 bits): index with USING gin (ml.hash_bands(col)).';
"#)]
fn hash_bands_bits(fcinfo: pg_sys::FunctionCallInfo) -> Vec<i32> {
    // SAFETY: argument 0 is a non-null bit varying (STRICT).
    let code = unsafe { bits_arg(fcinfo, 0, "ml.hash_bands") };
    match code.as_u64() {
        Some(h) => hash_bands(h as i64),
        None => radius::bit_index::keys(&code),
    }
}

/// Every band key a bit string within `radius` of `hash` shares at least one of.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_probe(hash bit varying, radius integer DEFAULT 4) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_probe(bit varying, integer) IS
  'Band keys to search for bit strings within radius: WHERE ml.hash_bands(col) && ml.hash_probe(q, r) AND ml.hamming_distance(col, q) <= r.';
"#)]
fn hash_probe_bits(fcinfo: pg_sys::FunctionCallInfo) -> Vec<i32> {
    // SAFETY: argument 0 is a non-null bit varying, argument 1 a non-null integer (STRICT).
    let (code, r) = unsafe { (bits_arg(fcinfo, 0, "ml.hash_probe"), pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1).value() as i32) };
    match code.as_u64() {
        Some(h) => hash_probe(h as i64, r),
        None => probe_wide(&code, r),
    }
}

/// The probe keys of a code longer than 64 bits.
fn probe_wide(code: &radius::Bits, r: i32) -> Vec<i32> {
    // Every code of this length is within its length: a larger radius is that one.
    let r = r.min(code.len() as i32);
    let max = radius::bit_index::max_radius(code.len()).min(code.len() as u32);
    if r < 0 || r as u32 > max {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("ml.hash_probe: radius must be between 0 and {max} for {}-bit strings, not {r}", code.len()),
            "Probes enumerate up to two flips per 16-bit band; beyond that, scan with ml.hamming_distance alone (or pgvector's <~> with an HNSW bit_hamming_ops index).",
        );
    }
    radius::bit_index::probe_keys(code, r as u32)
}

// Byte strings (bytea: a PDQ hash as 32 bytes, a 64-bit hash as 8) are the bit strings of
// their bits, most significant bit of the first byte first: the same keys as bit(8n).

/// A byte string as a code of its bits.
fn bytes_code(bytes: &[u8], func: &str) -> radius::Bits {
    radius::Bits::from_bytes(bytes, bytes.len() * 8).filter(|c| !c.is_empty()).unwrap_or_else(|| {
        raise(
            STRING_DATA_LENGTH_MISMATCH,
            format!("{func}: hash has {} bytes", bytes.len()),
            "Index byte strings of at least one byte, all of one length (a PDQ hash has 32).",
        )
    })
}

/// The band keys of a byte string, for `CREATE INDEX ... USING gin (ml.hash_bands(col))`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_bands(hash bytea) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE COST 50 LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_bands(bytea) IS
  'Index keys of a byte string, those of the bit string of its bits (8 bytes: those of the 64-bit hash): index with USING gin (ml.hash_bands(col)).';
"#)]
fn hash_bands_bytea(hash: &[u8]) -> Vec<i32> {
    let code = bytes_code(hash, "ml.hash_bands");
    match code.as_u64() {
        Some(h) => hash_bands(h as i64),
        None => radius::bit_index::keys(&code),
    }
}

/// Every band key a byte string within `radius` bits of `hash` shares at least one of.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_probe(hash bytea, radius integer DEFAULT 4) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_probe(bytea, integer) IS
  'Band keys to search for byte strings within radius bits: WHERE ml.hash_bands(col) && ml.hash_probe(q, r) AND ml.hamming_distance(col, q) <= r.';
"#)]
fn hash_probe_bytea(hash: &[u8], radius: i32) -> Vec<i32> {
    let code = bytes_code(hash, "ml.hash_probe");
    match code.as_u64() {
        Some(h) => hash_probe(h as i64, radius),
        None => probe_wide(&code, radius),
    }
}

// ---------------------------------------------------------------------------------------
// The search band by band, and `ml.hash_within`.
//
// GIN merges the posting lists of all the keys of one `&&` at once, at a cost of about
// keys × candidates: 272 keys and ~4,000 candidates for a 256-bit hash at radius 31 over 1M
// rows (15 ms). Given an array of key arrays, a bitmap index scan runs one GIN scan per
// element and ORs the results: one per band, 17 keys each, about 16 × 17 × 260 (3 ms), the
// same candidates. ml.hash_probe lists keys band after band, and a band's keys share their
// high bits: `band × 2¹³ + value` for 64-bit hashes (BAND_KEY_STRIDE), `(band + 1) × 2¹⁶ +
// value` for longer strings (radius::bit_index).
//
// The planner cannot estimate `&&` over keys this rare (it takes each key to match about 0.1%
// of rows, so 272 keys look like a quarter of the table) and then picks a sequential or a
// parallel scan. `ml.hash_within(col, q, r)` is the search written so that it does not: an
// SQL function the planner inlines into the index condition and
// `ml_internal.within_radius(col, q, r)`, whose support function gives the planner the share
// of rows within the radius, and which is PARALLEL RESTRICTED, so a point search is not
// spread over workers that cost more to start than the search takes.

/// Bands with fewer keys than this share an element (one GIN scan): merging costs nothing
/// when there are few keys.
const MIN_ELEMENT_KEYS: usize = 16;

/// `keys` (band after band, a band's keys the same when divided by `stride`) as the elements
/// of `&& ANY(...)`: a band's keys together, consecutive bands merged while an element has
/// fewer than [`MIN_ELEMENT_KEYS`].
fn probe_elements(keys: &[i32], stride: i32) -> Vec<Vec<i32>> {
    let mut out: Vec<Vec<i32>> = vec![];
    let mut band = None;
    for &k in keys {
        let b = k.div_euclid(stride);
        match out.last_mut() {
            Some(last) if band == Some(b) || last.len() < MIN_ELEMENT_KEYS => last.push(k),
            _ => out.push(vec![k]),
        }
        band = Some(b);
    }
    out
}

/// The probe keys of a code (by its bits), and the stride that tells its bands apart.
fn probe_with_stride(code: &radius::Bits, r: i32) -> (Vec<i32>, i32) {
    match code.as_u64() {
        Some(h) => (hash_probe(h as i64, r), BAND_KEY_STRIDE),
        None => (probe_wide(code, r), 1 << 16),
    }
}

/// An `ml.hash_keys[]` of `elements`, the declared return type of the calling function.
///
/// # Safety
/// `fcinfo` is the call of a function declared to return `ml.hash_keys[]`.
unsafe fn hash_keys_array(fcinfo: pg_sys::FunctionCallInfo, elements: Vec<Vec<i32>>) -> pg_sys::Datum {
    use pgrx::IntoDatum;
    // SAFETY: per the contract; the element type is the domain over integer[].
    unsafe {
        let element_type = pg_sys::get_element_type(pg_sys::get_fn_expr_rettype((*fcinfo).flinfo));
        if element_type == pg_sys::InvalidOid {
            raise(
                pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "ml.hash_probe_bands: called without its declared result type",
                "Call it from SQL.",
            );
        }
        let mut datums: Vec<pg_sys::Datum> = elements.into_iter().map(|e| e.into_datum().unwrap_or(pg_sys::Datum::from(0))).collect();
        let array = pg_sys::construct_array(
            datums.as_mut_ptr(),
            datums.len() as i32,
            element_type,
            -1,
            false,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        );
        pg_sys::Datum::from(array)
    }
}

finfo_v1!(
    pg_finfo_hash_probe_bands_bigint,
    pg_finfo_hash_probe_bands_varbit,
    pg_finfo_hash_probe_bands_bytea,
    pg_finfo_within_radius_varbit,
    pg_finfo_within_radius_support,
    pg_finfo_hash_keys_selectivity,
    pg_finfo_hash_probe_blocks_varbit,
    pg_finfo_hash_probe_blocks_bytea
);

/// How a probe function's hash argument is stored.
#[derive(Clone, Copy)]
enum HashArg {
    Bits,
    Bytes,
}

/// The body of `ml.hash_probe_bands` and `ml.hash_probe_blocks` for bit and byte strings: the
/// probe keys of argument 0 within radius argument 1 under `split`, as an `ml.hash_keys[]`.
///
/// # Safety
/// `fcinfo` is a call of a function declared (`arg`, integer) returning `ml.hash_keys[]`,
/// with both arguments non-null (STRICT).
unsafe fn probe_array(fcinfo: pg_sys::FunctionCallInfo, arg: HashArg, split: Split, func: &str) -> pg_sys::Datum {
    // SAFETY: per the contract.
    unsafe {
        let code = match arg {
            HashArg::Bits => bits_arg(fcinfo, 0, func),
            HashArg::Bytes => bytes_code(pgrx::fcinfo::pg_getarg::<&[u8]>(fcinfo, 0).unwrap_or_default(), func),
        };
        let r = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1).value() as i32;
        let elements = match split {
            Split::Interleaved => {
                let (keys, stride) = probe_with_stride(&code, r);
                probe_elements(&keys, stride)
            }
            Split::Blocks => probe_blocks(&code, r, func),
        };
        hash_keys_array(fcinfo, elements)
    }
}

/// `ml.hash_probe_bands(bigint, integer)`.
///
/// # Safety
/// Called by PostgreSQL through its SQL declaration (STRICT: bigint, integer).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hash_probe_bands_bigint(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: two non-null arguments of the declared types.
    unsafe {
        let (h, r) =
            (pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).value() as i64, pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1).value() as i32);
        hash_keys_array(fcinfo, probe_elements(&hash_probe(h, r), BAND_KEY_STRIDE))
    }
}

/// `ml.hash_probe_bands(bit varying, integer)`.
///
/// # Safety
/// Called by PostgreSQL through its SQL declaration (STRICT: bit varying, integer).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hash_probe_bands_varbit(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: per the contract.
    unsafe { probe_array(fcinfo, HashArg::Bits, Split::Interleaved, "ml.hash_probe_bands") }
}

/// `ml.hash_probe_bands(bytea, integer)`.
///
/// # Safety
/// Called by PostgreSQL through its SQL declaration (STRICT: bytea, integer).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hash_probe_bands_bytea(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: per the contract.
    unsafe { probe_array(fcinfo, HashArg::Bytes, Split::Interleaved, "ml.hash_probe_bands") }
}

/// `ml_internal.within_radius(bigint, bigint, integer)`: the exact check of ml.hash_within.
#[pg_extern(sql = r#"
CREATE FUNCTION ml_internal.within_radius(a bigint, b bigint, radius integer) RETURNS boolean
IMMUTABLE STRICT PARALLEL RESTRICTED COST 5 SUPPORT ml_internal.within_radius_support
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
"#, requires = ["within_radius_support"])]
fn within_radius_bigint(a: i64, b: i64, radius: i32) -> bool {
    hamming_distance_bigint(a, b) <= radius
}

/// `ml_internal.within_radius(bytea, bytea, integer)`.
#[pg_extern(sql = r#"
CREATE FUNCTION ml_internal.within_radius(a bytea, b bytea, radius integer) RETURNS boolean
IMMUTABLE STRICT PARALLEL RESTRICTED COST 5 SUPPORT ml_internal.within_radius_support
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
"#, requires = ["within_radius_support"])]
fn within_radius_bytea(a: &[u8], b: &[u8], radius: i32) -> bool {
    match hamming::distance_bytes(a, b) {
        Some(d) => d <= radius.max(-1) as u64 && radius >= 0,
        None => within_length_mismatch(a.len() * 8, b.len() * 8),
    }
}

/// The error of `ml.hash_within` on hashes of two lengths.
fn within_length_mismatch(a_bits: usize, b_bits: usize) -> ! {
    raise(
        STRING_DATA_LENGTH_MISMATCH,
        format!("ml.hash_within: hash has {a_bits} bits but query has {b_bits}"),
        "Search among hashes of the query's kind and size (a PDQ hash has 256 bits).",
    )
}

/// `ml_internal.within_radius(bit varying, bit varying, integer)`.
///
/// # Safety
/// Called by PostgreSQL through its SQL declaration (STRICT: bit varying, bit varying, integer).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn within_radius_varbit(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: three non-null arguments of the declared types.
    unsafe {
        let ((a_bits, a), (b_bits, b)) = (varbit_arg(fcinfo, 0), varbit_arg(fcinfo, 1));
        if a_bits != b_bits {
            within_length_mismatch(a_bits.max(0) as usize, b_bits.max(0) as usize);
        }
        let radius = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 2).value() as i32;
        // The padding bits after the last are always zero in a varbit, so whole bytes compare.
        let d = hamming::distance_bytes(a, b).unwrap_or(0);
        pg_sys::Datum::from(radius >= 0 && d <= radius as u64)
    }
}

/// The least share of rows the planner is told a radius search returns: near-duplicates are
/// why one searches, and they are far more common than unrelated hashes within the radius.
const MIN_WITHIN_SELECTIVITY: f64 = 1e-4;

/// Planner support for `ml_internal.within_radius`: its selectivity, the share of unrelated
/// hashes within the radius (`mlkit::hash::hamming::random_within_probability`) but at least
/// [`MIN_WITHIN_SELECTIVITY`]. The length is 64 for `bigint`, a constant query's otherwise
/// (256 when it is a parameter); a radius that is not a constant is taken as an eighth of it.
///
/// # Safety
/// Called by the planner with a support request node.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn within_radius_support(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: argument 0 is a Node (the support function protocol); args are the call's.
    unsafe {
        let node = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::Node>();
        if node.is_null() || (*node).type_ != pg_sys::NodeTag::T_SupportRequestSelectivity {
            return pg_sys::Datum::from(0usize);
        }
        let req = node.cast::<pg_sys::SupportRequestSelectivity>();
        let args = pgrx::PgList::<pg_sys::Node>::from_pg((*req).args);
        let constant = |i: usize| {
            args.get_ptr(i)
                .filter(|n| (**n).type_ == pg_sys::NodeTag::T_Const)
                .map(|n| n.cast::<pg_sys::Const>())
                .filter(|c| !(**c).constisnull)
        };
        let bits = match args.get_ptr(1).map(|n| pg_sys::exprType(n)) {
            Some(pg_sys::INT8OID) => 64,
            Some(t) => match constant(1) {
                Some(c) if t == pg_sys::BYTEAOID => (pgrx::varlena::varsize_any_exhdr((*c).constvalue.cast_mut_ptr()) * 8) as u32,
                Some(c) if t == pg_sys::VARBITOID || t == pg_sys::BITOID => {
                    let flat = pg_sys::pg_detoast_datum((*c).constvalue.cast_mut_ptr());
                    let payload =
                        std::slice::from_raw_parts(pgrx::varlena::vardata_any(flat) as *const u8, pgrx::varlena::varsize_any_exhdr(flat));
                    varbit_payload(payload).0.max(1) as u32
                }
                _ => 256,
            },
            None => 256,
        };
        let radius = constant(2).map_or(bits / 8, |c| ((*c).constvalue.value() as i32).max(0) as u32);
        let p = mlkit::hash::hamming::random_within_probability(bits.max(1), radius);
        (*req).selectivity = p.clamp(MIN_WITHIN_SELECTIVITY, 1.0);
        pg_sys::Datum::from(req)
    }
}

/// The second split of a bit string: `m` runs of consecutive bits (`radius::bit_index`).
fn blocks_of(code: &radius::Bits) -> Vec<i32> {
    radius::bit_index::keys_of(code, Split::Blocks)
}

/// The block probes of a code, one element a block.
fn probe_blocks(code: &radius::Bits, r: i32, func: &str) -> Vec<Vec<i32>> {
    let r = r.min(code.len() as i32);
    let max = radius::bit_index::max_radius(code.len()).min(code.len() as u32);
    if r < 0 || r as u32 > max {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{func}: radius must be between 0 and {max} for {}-bit strings, not {r}", code.len()),
            "Probes enumerate up to two flips per block of at most 16 bits; beyond that, scan with ml.hamming_distance alone.",
        );
    }
    probe_elements(&radius::bit_index::probe_keys_of(code, r as u32, Split::Blocks), 1 << 16)
}

/// The block keys of a bit string: a second index beside ml.hash_bands for ml.hash_within.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_blocks(hash bit varying) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE COST 50 LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_blocks(bit varying) IS
  'Index keys of a bit string cut into runs of consecutive bits (ml.hash_bands deals them round): a second index, USING gin (ml.hash_blocks(col) ml.hash_bands_ops), lets ml.hash_within check only the rows both indexes find.';
"#)]
fn hash_blocks_bits(fcinfo: pg_sys::FunctionCallInfo) -> Vec<i32> {
    // SAFETY: argument 0 is a non-null bit varying (STRICT).
    blocks_of(&unsafe { bits_arg(fcinfo, 0, "ml.hash_blocks") })
}

/// The block keys of a byte string (those of the bit string of its bits).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.hash_blocks(hash bytea) RETURNS integer[]
IMMUTABLE STRICT PARALLEL SAFE COST 50 LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.hash_blocks(bytea) IS
  'Index keys of a byte string''s bits cut into runs of consecutive bits: a second index for ml.hash_within, USING gin (ml.hash_blocks(col) ml.hash_bands_ops).';
"#)]
fn hash_blocks_bytea(hash: &[u8]) -> Vec<i32> {
    blocks_of(&bytes_code(hash, "ml.hash_blocks"))
}

/// `ml.hash_probe_blocks(bit varying, integer)`.
///
/// # Safety
/// Called by PostgreSQL through its SQL declaration (STRICT: bit varying, integer).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hash_probe_blocks_varbit(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: per the contract.
    unsafe { probe_array(fcinfo, HashArg::Bits, Split::Blocks, "ml.hash_probe_blocks") }
}

/// `ml.hash_probe_blocks(bytea, integer)`.
///
/// # Safety
/// Called by PostgreSQL through its SQL declaration (STRICT: bytea, integer).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hash_probe_blocks_bytea(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: per the contract.
    unsafe { probe_array(fcinfo, HashArg::Bytes, Split::Blocks, "ml.hash_probe_blocks") }
}

/// Keys a probe is taken to have when the planner cannot see them (a parameter): one band's.
const UNSEEN_PROBE_KEYS: usize = 17;

/// The restriction estimate of `OPERATOR(ml_internal.&&)`, the overlap operator of the
/// `ml.hash_bands_ops` operator class: the share of rows with one of the probe's `n` keys, `1 −
/// (1 − p)ⁿ`, where `p` is one band value's share of rows: 2⁻¹³ for the 64-bit scheme's keys,
/// 2⁻¹⁶ for bit strings' (a uniform hash fills its band values evenly). The planner calls it
/// for each element of `&& ANY(...)` and adds them up as alternatives. PostgreSQL's own
/// `arraycontsel` takes a key it has no statistics for to match about 0.1% of rows, so it sees
/// a PDQ probe (272 keys) as a quarter of the table.
///
/// # Safety
/// Called by the planner as an operator's RESTRICT function: (PlannerInfo, operator, args,
/// varRelid).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn hash_keys_selectivity(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    use pgrx::{FromDatum, IntoDatum};
    // SAFETY: argument 2 is the operator's argument list (the RESTRICT protocol).
    unsafe {
        let args = pgrx::PgList::<pg_sys::Node>::from_pg(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 2).cast_mut_ptr());
        let mut right = args.get_ptr(1).unwrap_or(std::ptr::null_mut());
        // A domain's value (ml.hash_keys) may come wrapped in a relabelling.
        while !right.is_null() && (*right).type_ == pg_sys::NodeTag::T_RelabelType {
            right = (*right.cast::<pg_sys::RelabelType>()).arg.cast();
        }
        let keys = (!right.is_null() && (*right).type_ == pg_sys::NodeTag::T_Const)
            .then(|| right.cast::<pg_sys::Const>())
            .filter(|c| !(**c).constisnull && pg_sys::getBaseType((**c).consttype) == pg_sys::INT4ARRAYOID)
            .and_then(|c| pgrx::datum::Array::<i32>::from_datum((*c).constvalue, false))
            .map(|a| (a.len(), a.iter().flatten().next()));
        let (n, first) = keys.unwrap_or((UNSEEN_PROBE_KEYS, None));
        let p = if first.is_some_and(|k| k < 1 << 16) { 1.0 / f64::from(BAND_KEY_STRIDE) } else { 1.0 / 65536.0 };
        let selectivity = (1.0 - (1.0 - p).powi(n.min(i32::MAX as usize) as i32)).clamp(1e-9, 1.0);
        selectivity.into_datum().unwrap_or(pg_sys::Datum::from(0usize))
    }
}

extension_sql!(
    r#"
CREATE FUNCTION ml_internal.within_radius_support(internal) RETURNS internal
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'within_radius_support';
"#,
    name = "within_radius_support",
);

extension_sql!(
    r#"
CREATE FUNCTION ml_internal.within_radius(a bit varying, b bit varying, radius integer) RETURNS boolean
IMMUTABLE STRICT PARALLEL RESTRICTED COST 5 SUPPORT ml_internal.within_radius_support
LANGUAGE c AS 'MODULE_PATHNAME', 'within_radius_varbit';

-- The overlap operator of ml.hash_bands_ops: pg_catalog.&& with an estimate that knows band
-- keys are rare (ml_internal.hash_keys_selectivity). Written inside ml.hash_within only.
CREATE FUNCTION ml_internal.hash_keys_selectivity(internal, oid, internal, integer) RETURNS double precision
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_keys_selectivity';
CREATE OPERATOR ml_internal.&& (LEFTARG = anyarray, RIGHTARG = anyarray, FUNCTION = pg_catalog.arrayoverlap,
  COMMUTATOR = OPERATOR(ml_internal.&&), RESTRICT = ml_internal.hash_keys_selectivity, JOIN = pg_catalog.arraycontjoinsel);
COMMENT ON OPERATOR ml_internal.&&(anyarray, anyarray) IS 'Overlap of band keys (pg_catalog.&&, with an estimate for rare keys): the operator of ml.hash_bands_ops, which ml.hash_within searches with.';
-- GIN's own array support functions: the same index as the default array_ops, searched
-- through the operator above.
CREATE OPERATOR CLASS ml.hash_bands_ops FOR TYPE integer[] USING gin AS
  OPERATOR 1 ml_internal.&& (anyarray, anyarray),
  FUNCTION 2 pg_catalog.ginarrayextract(anyarray, internal, internal),
  FUNCTION 3 pg_catalog.ginqueryarrayextract(anyarray, internal, smallint, internal, internal, internal, internal),
  FUNCTION 4 pg_catalog.ginarrayconsistent(internal, smallint, anyarray, integer, internal, internal, internal, internal),
  FUNCTION 6 pg_catalog.ginarraytriconsistent(internal, smallint, anyarray, integer, internal, internal, internal),
  STORAGE integer;
COMMENT ON OPERATOR CLASS ml.hash_bands_ops USING gin IS 'The radius index for ml.hash_within: CREATE INDEX ... USING gin (ml.hash_bands(col) ml.hash_bands_ops).';

CREATE DOMAIN ml.hash_keys AS integer[];
COMMENT ON DOMAIN ml.hash_keys IS 'The probe keys of one or more bands of a hash (ml.hash_probe_bands): an element of the array a radius search takes as ml.hash_bands(col) && ANY(...).';

CREATE FUNCTION ml.hash_probe_bands(hash bigint, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_probe_bands_bigint';
COMMENT ON FUNCTION ml.hash_probe_bands(bigint, integer) IS
  'ml.hash_probe''s keys, one array a band (bands of few keys merged): ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r)) runs one GIN scan a band, faster for large radii.';
CREATE FUNCTION ml.hash_probe_bands(hash bit varying, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_probe_bands_varbit';
COMMENT ON FUNCTION ml.hash_probe_bands(bit varying, integer) IS
  'ml.hash_probe''s keys, one array a band (bands of few keys merged): ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r)) runs one GIN scan a band (a PDQ hash at radius 31: 16 scans of 17 keys).';
CREATE FUNCTION ml.hash_probe_bands(hash bytea, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_probe_bands_bytea';
COMMENT ON FUNCTION ml.hash_probe_bands(bytea, integer) IS
  'ml.hash_probe''s keys, one array a band (bands of few keys merged): ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r)) runs one GIN scan a band.';

CREATE FUNCTION ml.hash_probe_blocks(hash bit varying, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_probe_blocks_varbit';
COMMENT ON FUNCTION ml.hash_probe_blocks(bit varying, integer) IS
  'The probe keys of ml.hash_blocks, one array a block: ml.hash_blocks(col) && ANY(ml.hash_probe_blocks(q, r)) holds for every col within r of q.';
CREATE FUNCTION ml.hash_probe_blocks(hash bytea, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'hash_probe_blocks_bytea';
COMMENT ON FUNCTION ml.hash_probe_blocks(bytea, integer) IS
  'The probe keys of ml.hash_blocks for a byte string, one array a block.';

-- Inlined by the planner (an SQL expression of its arguments): the index conditions on
-- ml.hash_bands(hash) and, for strings, ml.hash_blocks(hash), then the exact check, whose
-- support function estimates its rows. Without an index on ml.hash_blocks its condition is a
-- filter the planner puts after the cheaper exact check (ml.hash_blocks costs 50), so it is
-- computed only for the rows within the radius.
CREATE FUNCTION ml.hash_within(hash bigint, query bigint, radius integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ml.hash_bands(hash) OPERATOR(ml_internal.&&) ANY (ml.hash_probe_bands(query, radius))
   AND ml_internal.within_radius(hash, query, radius);
COMMENT ON FUNCTION ml.hash_within(bigint, bigint, integer) IS
  'Whether hash is within radius bits of query, found through an index USING gin (ml.hash_bands(hash) ml.hash_bands_ops) when there is one: WHERE ml.hash_within(col, $1, 4).';
CREATE FUNCTION ml.hash_within(hash bit varying, query bit varying, radius integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ml.hash_bands(hash) OPERATOR(ml_internal.&&) ANY (ml.hash_probe_bands(query, radius))
   AND ml.hash_blocks(hash) OPERATOR(ml_internal.&&) ANY (ml.hash_probe_blocks(query, radius))
   AND ml_internal.within_radius(hash, query, radius);
COMMENT ON FUNCTION ml.hash_within(bit varying, bit varying, integer) IS
  'Whether hash is within radius bits of query, found through an index USING gin (ml.hash_bands(hash) ml.hash_bands_ops) when there is one: WHERE ml.hash_within(pdq, $1, 31).';
CREATE FUNCTION ml.hash_within(hash bytea, query bytea, radius integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ml.hash_bands(hash) OPERATOR(ml_internal.&&) ANY (ml.hash_probe_bands(query, radius))
   AND ml.hash_blocks(hash) OPERATOR(ml_internal.&&) ANY (ml.hash_probe_blocks(query, radius))
   AND ml_internal.within_radius(hash, query, radius);
COMMENT ON FUNCTION ml.hash_within(bytea, bytea, integer) IS
  'Whether hash is within radius bits of query (byte strings as their bits), found through an index USING gin (ml.hash_bands(hash) ml.hash_bands_ops) when there is one.';
"#,
    name = "hash_probe_bands",
    requires = [
        hash_probe,
        hash_probe_bits,
        hash_probe_bytea,
        hash_bands,
        hash_bands_bits,
        hash_bands_bytea,
        within_radius_bigint,
        within_radius_bytea,
        hash_blocks_bits,
        hash_blocks_bytea,
        "within_radius_support",
        "hamming_operators"
    ]
);
