//! Hamming distance: `ml.hamming_distance` on `bigint`, `bytea` and `bit varying` and its
//! operator `<^>`; hashes as hex text (`ml.hash_from_hex`, `ml.hash_to_hex`); the radius
//! index (`ml.hash_bands`, `ml.hash_probe`). Documented in docs/functions/near_duplicates.md.

use crate::shared::errors::{literal, raise, INVALID_PARAMETER_VALUE, INVALID_TEXT_REPRESENTATION, STRING_DATA_LENGTH_MISMATCH};
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

/// `bit varying` has no pgrx type: this is a plain version-1 C function.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_hamming_distance_varbit() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

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
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
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
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
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
// The probe keys grouped by band, for `ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r))`.
//
// GIN merges the posting lists of all the keys of one `&&` at once, at a cost of about
// keys × candidates: 272 keys and ~4,000 candidates for a 256-bit hash at radius 31 over 1M
// rows (15 ms). Given an array of key arrays, a bitmap index scan runs one GIN scan per
// element and ORs the results: one per band, 17 keys each, about 16 × 17 × 260 (3 ms). The
// candidates are the same. A band's keys share the key's high bits: `band × 2¹³ + value`
// for 64-bit hashes (BAND_KEY_STRIDE), `(band + 1) × 2¹⁶ + value` for longer strings
// (radius::bit_index).

extension_sql!(
    r#"
CREATE DOMAIN ml.hash_keys AS integer[];
COMMENT ON DOMAIN ml.hash_keys IS 'The probe keys of one band of a hash (ml.hash_probe_bands): an element of the array a radius search takes as ml.hash_bands(col) && ANY(...).';

CREATE FUNCTION ml.hash_probe_bands(hash bigint, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT b.keys::ml.hash_keys
          FROM (SELECT pg_catalog.array_agg(k) AS keys FROM pg_catalog.unnest(ml.hash_probe(hash, radius)) AS k
                 GROUP BY k OPERATOR(pg_catalog./) 8192) AS b);
COMMENT ON FUNCTION ml.hash_probe_bands(bigint, integer) IS
  'ml.hash_probe''s keys, one array a band: WHERE ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r)) AND ml.hamming_distance(col, q) <= r searches band by band, faster for large radii.';

CREATE FUNCTION ml.hash_probe_bands(hash bit varying, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT b.keys::ml.hash_keys
          FROM (SELECT pg_catalog.array_agg(k) AS keys FROM pg_catalog.unnest(ml.hash_probe(hash, radius)) AS k
                 GROUP BY k OPERATOR(pg_catalog./) CASE WHEN pg_catalog.length(hash) OPERATOR(pg_catalog.=) 64 THEN 8192 ELSE 65536 END) AS b);
COMMENT ON FUNCTION ml.hash_probe_bands(bit varying, integer) IS
  'ml.hash_probe''s keys, one array a band: WHERE ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r)) AND ml.hamming_distance(col, q) <= r searches band by band (a 256-bit PDQ hash at radius 31: 16 scans of 17 keys).';

CREATE FUNCTION ml.hash_probe_bands(hash bytea, radius integer DEFAULT 4) RETURNS ml.hash_keys[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT b.keys::ml.hash_keys
          FROM (SELECT pg_catalog.array_agg(k) AS keys FROM pg_catalog.unnest(ml.hash_probe(hash, radius)) AS k
                 GROUP BY k OPERATOR(pg_catalog./) CASE WHEN pg_catalog.length(hash) OPERATOR(pg_catalog.=) 8 THEN 8192 ELSE 65536 END) AS b);
COMMENT ON FUNCTION ml.hash_probe_bands(bytea, integer) IS
  'ml.hash_probe''s keys, one array a band: WHERE ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, r)) AND ml.hamming_distance(col, q) <= r searches band by band.';
"#,
    name = "hash_probe_bands",
    requires = [hash_probe, hash_probe_bits, hash_probe_bytea]
);
