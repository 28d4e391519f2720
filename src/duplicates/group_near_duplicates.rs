//! `ml.group_near_duplicates`: exact and similar groups (burst, panorama, similar) of the
//! hashes in a table. Documented in docs/functions/near_duplicates.md.

use crate::runs::{self, required_name};
use crate::shared::errors::{
    literal, raise, spi, DATATYPE_MISMATCH, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, INVALID_TEXT_REPRESENTATION,
    NULL_VALUE_NOT_ALLOWED, PROGRAM_LIMIT_EXCEEDED, STRING_DATA_LENGTH_MISMATCH,
};
use crate::shared::params::{opt, Opt, Options};
use crate::shared::progress::ms;
use crate::shared::progress::Reporter;
use crate::shared::source::{check_unique_ids, display_name, owned_text, qualified_name, Relation};
use crate::shared::sql;
use crate::{runs::writer, shared::guc};
use mlkit::hash::groups::{self, Grouping, Item, Kind};
use mlkit::hash::hex;
use mlkit::hash::radius::{Bits, WideIndex};
use mlkit::Exec;
use pgrx::prelude::*;
use serde_json::json;
use std::ffi::CStr;
use std::time::Instant;

// ---------------------------------------------------------------------------------------
// ml.group_near_duplicates

/// What `params` may hold: the parser's defaults and `ml.options`' rows
/// (docs/functions/near_duplicates.md explains each).
pub const PARAM_OPTS: &[Opt] = &[
    opt("radius", "10", "largest Hamming distance between a member and its group's leader (0 to 32 for 64-bit hashes; for other bit strings a default of 10 is lowered to their limit)"),
    opt("high_distance", "2", "distances up to here are confidence 'high' (lowered to radius when that is less)"),
    opt("medium_distance", "6", "distances up to here are 'medium', beyond up to the radius 'low' (kept between high_distance and radius)"),
    opt("burst_seconds", "10", "a group shot within this many seconds is a burst"),
    opt("panorama_gap_seconds", "30", "most seconds between consecutive shots of a panorama"),
    opt("panorama_min_shots", "3", "fewest shots in a panorama, 2 or more"),
    opt("quality_column", "null", "a column of each hash's quality (as ml.pdq gives it): rows below min_quality are left out"),
    opt("min_quality", "50", "with quality_column, the least quality a hash needs to be grouped (PDQ's recommendation: 50)"),
    opt("dihedral_column", "null", "a bit varying[] column of each item's hashes in its other orientations (ml.pdq_dihedral): rotated and mirrored copies then group with their original"),
];

/// The columns `params` may name besides the hash (PDQ's quality and rotations).
struct Extras {
    quality_column: Option<String>,
    min_quality: i32,
    dihedral_column: Option<String>,
}

fn parse_extras(value: Option<&serde_json::Value>) -> Extras {
    let o = Options::new("params", value, PARAM_OPTS, "ml.group_near_duplicates");
    Extras {
        quality_column: o.text("quality_column"),
        min_quality: o.integer("min_quality", i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        dihedral_column: o.text("dihedral_column"),
    }
}

fn parse_params(value: Option<&serde_json::Value>) -> groups::Params {
    let o = Options::new("params", value, PARAM_OPTS, "ml.group_near_duplicates");
    // Up to the longest bit string; a 64-bit hash's radius is checked against 32 once the
    // hashes are read (check_radius).
    let radius = o.integer("radius", 0, MAX_BITS as i64) as u32;
    let high =
        o.integer_opt("high_distance", 0, MAX_BITS as i64).unwrap_or_else(|| o.default_integer("high_distance").min(radius as i64)) as u32;
    let medium = o
        .integer_opt("medium_distance", 0, MAX_BITS as i64)
        .unwrap_or_else(|| o.default_integer("medium_distance").max(high as i64).min(radius.max(high) as i64)) as u32;
    if medium < high {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("params.medium_distance ({medium}) is smaller than params.high_distance ({high})"),
            "Confidence bands go high ≤ high_distance < medium ≤ medium_distance < low; make medium_distance at least high_distance.",
        );
    }
    groups::Params {
        radius,
        high_distance: high,
        medium_distance: medium,
        burst_seconds: o.non_negative("burst_seconds"),
        panorama_gap_seconds: o.non_negative("panorama_gap_seconds"),
        panorama_min_shots: o.integer("panorama_min_shots", 2, 1_000_000) as usize,
    }
}

/// The longest bit string a hash column may hold (`bit(n)`, `bit varying`).
const MAX_BITS: usize = 16_384;
/// The largest radius for 64-bit hashes.
const MAX_RADIUS_64: u32 = 32;

/// How a column's values are read.
#[derive(Clone, Copy, PartialEq)]
enum HashType {
    Integer,
    Hex,
    Bytes,
    /// `bit(n)` or `bit varying`: 64 bits are a 64-bit hash, other lengths a [`Bits`] code.
    Bits,
}

/// The hashes read: 64-bit, or bit strings of another length (one length for all).
enum Codes {
    Short(Vec<Item>),
    Wide(Vec<Item<Bits>>),
}

/// `params.radius` against the hashes' width: at most 32 for 64-bit hashes; for other bit
/// strings at most three bands' worth (`mlkit::hash::radius::bit_index::max_radius`, which
/// bounds a search's probes) and the length. A default radius beyond that is lowered to it.
fn check_radius(params: &mut groups::Params, given: bool, bits: usize) {
    let max = if bits == 64 { MAX_RADIUS_64 } else { mlkit::hash::radius::bit_index::max_radius(bits).min(bits as u32) };
    if params.radius <= max {
        return;
    }
    if !given {
        params.radius = max;
        params.high_distance = params.high_distance.min(max);
        params.medium_distance = params.medium_distance.min(max);
        return;
    }
    raise(
        INVALID_PARAMETER_VALUE,
        format!("params.radius must be between 0 and {max} for {bits}-bit hashes, not {}", params.radius),
        format!(
            "Pass a radius of at most {max}, or leave it out (the default is {}, or {max} if that is less).",
            crate::shared::params::declared(PARAM_OPTS, "radius")
        ),
    );
}

/// Finds exact and near-duplicate groups among the hashes of `source` and records them:
/// one `ml.analysis_runs` row, and one `ml.duplicate_assignments` row per item in a group.
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.group_near_duplicates(
    source regclass,
    id_column name DEFAULT 'id',
    hash_column name DEFAULT 'phash',
    sha256_column name DEFAULT NULL,
    taken_at_column name DEFAULT NULL,
    params jsonb DEFAULT '{}',
    run jsonb DEFAULT '{}'
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.group_near_duplicates IS
  'Groups exact duplicates (same SHA-256) and near-duplicates (perceptual hashes within a radius) of a table or view into ml.duplicate_assignments (burst, panorama and similar groups); returns the run id.';
"#
)]
#[allow(clippy::too_many_arguments)]
pub fn group_near_duplicates(
    source: Option<pg_sys::Oid>,
    id_column: Option<&CStr>,
    hash_column: Option<&CStr>,
    sha256_column: Option<&CStr>,
    taken_at_column: Option<&CStr>,
    params: Option<crate::shared::params::Jsonb>,
    run: Option<crate::shared::params::Jsonb>,
) -> i64 {
    let started = Instant::now();
    let source = source.unwrap_or_else(|| {
        raise(NULL_VALUE_NOT_ALLOWED, "source must not be NULL", "Pass the table or view that holds the hashes, e.g. 'photos'.")
    });
    let id_column = required_name("id_column", id_column);
    let hash_column = required_name("hash_column", hash_column);
    let sha_column = sha256_column.map(|c| required_name("sha256_column", Some(c)));
    let time_column = taken_at_column.map(|c| required_name("taken_at_column", Some(c)));
    let f = "ml.group_near_duplicates";
    let params = params.map(|j| j.value(f, "params"));
    let radius_given = params.as_ref().and_then(|p| p.get("radius")).is_some();
    let mut used = parse_params(params.as_ref());
    let extras = parse_extras(params.as_ref());
    let run = runs::RunOptions::parse(run.map(|j| j.value(f, "run")).as_ref());

    let (name, qualified) = (display_name(source), qualified_name(source));
    let mut progress = Reporter::new(format!("ml.group_near_duplicates({name})"));
    let t_read = Instant::now();
    let (query, hash_type, sha_type) = Spi::connect(|c| {
        let rel = Relation::open(c, source, &name, "Pass the table or view that holds the hashes, e.g. source => 'photos'.");
        build_query(c, &rel, &id_column, &hash_column, sha_column.as_deref(), time_column.as_deref(), &extras)
    });
    let min_quality = extras.quality_column.as_ref().map(|_| extras.min_quality);
    let (ids, items, low_quality) = read(
        &query,
        hash_type,
        sha_type,
        min_quality,
        extras.dihedral_column.as_deref(),
        &name,
        &hash_column,
        sha_column.as_deref(),
        &mut progress,
    );
    if ids.is_empty() && low_quality > 0 {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("every row of source {name} ({low_quality}) has a quality below params.min_quality ({})", extras.min_quality),
            "Lower params.min_quality, or leave quality_column out to group every hash.",
        );
    }
    if ids.is_empty() {
        raise(INVALID_PARAMETER_VALUE, format!("source {name} has no rows"), "Group a table or view that holds hashes.");
    }
    check_unique_ids(&ids, &id_column, &name);
    let read_ms = ms(t_read);

    let t_group = Instant::now();
    let (bits, n_items) = match &items {
        Codes::Short(v) => (64, v.len()),
        Codes::Wide(v) => (v[0].hash.len(), v.len()),
    };
    check_radius(&mut used, radius_given, bits);
    let mut exec = Exec::new(guc::threads(), &mut progress);
    let grouping = match &items {
        Codes::Short(v) => groups::group(v, &used, &mut exec),
        Codes::Wide(v) => groups::group(v, &used, &mut exec),
    };
    let group_ms = ms(t_group);

    let mut metrics = metrics(&grouping, n_items, read_ms, group_ms);
    if min_quality.is_some() {
        metrics["left_out_low_quality"] = json!(low_quality);
    }
    let mut stage_params = json!({
        "radius": used.radius,
        "high_distance": used.high_distance,
        "medium_distance": used.medium_distance,
        "burst_seconds": used.burst_seconds,
        "panorama_gap_seconds": used.panorama_gap_seconds,
        "panorama_min_shots": used.panorama_min_shots,
        "hash_column": hash_column,
        "sha256_column": sha_column,
        "taken_at_column": time_column,
        "hash_bits": bits,
        "grouping": "star",
    });
    // PDQ's keys, recorded where they were used.
    if let Some(q) = &extras.quality_column {
        stage_params["quality_column"] = json!(q);
        stage_params["min_quality"] = json!(extras.min_quality);
    }
    if let Some(d) = &extras.dihedral_column {
        stage_params["dihedral_column"] = json!(d);
    }
    let stage = runs::Stage { name: "near_duplicates", module: "hash::groups", params: stage_params };
    let run_id = runs::insert("duplicate_detection", &run, &qualified, n_items, Some(&stage), None, metrics);
    let t_write = Instant::now();
    let digests: Vec<Option<&[u8]>> = match &items {
        Codes::Short(v) => v.iter().map(|i| i.digest.as_deref()).collect(),
        Codes::Wide(v) => v.iter().map(|i| i.digest.as_deref()).collect(),
    };
    write(run_id, &ids, &digests, &grouping, &mut progress);
    runs::finish(run_id, ms(started), ms(t_write));
    run_id
}

/// The type category of a column, by its base type.
fn type_category(oid: pg_sys::Oid) -> &'static str {
    use pg_sys::*;
    match oid {
        INT2OID | INT4OID | INT8OID => "integer",
        TEXTOID | VARCHAROID | BPCHAROID => "text",
        BYTEAOID => "bytea",
        BITOID | VARBITOID => "bits",
        TIMESTAMPTZOID | TIMESTAMPOID | DATEOID => "time",
        FLOAT4OID | FLOAT8OID | NUMERICOID => "number",
        _ => "other",
    }
}

fn build_query(
    c: &pgrx::spi::SpiClient<'_>,
    rel: &Relation,
    id_column: &str,
    hash_column: &str,
    sha_column: Option<&str>,
    time_column: Option<&str>,
    extras: &Extras,
) -> (String, HashType, Option<HashType>) {
    let id = rel.column("id_column", id_column).clone();
    let hash = rel.column("hash_column", hash_column).clone();
    let hash_type = match type_category(hash.base) {
        "integer" => HashType::Integer,
        "text" => HashType::Hex,
        "bytea" => HashType::Bytes,
        "bits" => HashType::Bits,
        _ => raise(
            DATATYPE_MISMATCH,
            format!("hash_column {} of source {} has type {}", literal(hash_column), rel.name, hash.type_name),
            "Hashes may be bigint (as ml.phash returns them), hex text (as imagehash prints them), bit strings of one length (bit(n): a PDQ hash, pgvector's binary_quantize()) or byte strings of one length (bytea: 8 bytes are a 64-bit hash, 32 a PDQ hash).",
        ),
    };
    let sha_expr = match sha_column {
        None => ("NULL::pg_catalog.bytea".to_string(), None),
        Some(col) => {
            let sha = rel.column("sha256_column", col).clone();
            match type_category(sha.base) {
                "bytea" => (format!("{}::pg_catalog.bytea", sql::column(col)), Some(HashType::Bytes)),
                "text" => (format!("{}::pg_catalog.text", sql::column(col)), Some(HashType::Hex)),
                _ => raise(
                    DATATYPE_MISMATCH,
                    format!("sha256_column {} of source {} has type {}", literal(col), rel.name, sha.type_name),
                    "A digest may be bytea (as sha256() returns it) or hex text.",
                ),
            }
        }
    };
    let time_expr = match time_column {
        None => "NULL::double precision".to_string(),
        Some(col) => {
            let t = rel.column("taken_at_column", col).clone();
            match type_category(t.base) {
                "time" => format!("EXTRACT(epoch FROM {})::double precision", sql::column(col)),
                "number" | "integer" => format!("{}::double precision", sql::column(col)),
                _ => raise(
                    DATATYPE_MISMATCH,
                    format!("taken_at_column {} of source {} has type {}", literal(col), rel.name, t.type_name),
                    "Capture times may be timestamptz, timestamp, date, or seconds since the epoch as a number.",
                ),
            }
        }
    };
    let quality_expr = match &extras.quality_column {
        None => "NULL::integer".to_string(),
        Some(col) => {
            let q = rel.column("params.quality_column", col).clone();
            if !matches!(type_category(q.base), "integer" | "number") {
                raise(
                    DATATYPE_MISMATCH,
                    format!("params.quality_column {} of source {} has type {}", literal(col), rel.name, q.type_name),
                    "A quality is a number, as ml.pdq returns it (0 to 100).",
                );
            }
            format!("{}::integer", sql::column(col))
        }
    };
    let dihedral_expr = match &extras.dihedral_column {
        None => "NULL::pg_catalog.varbit[]".to_string(),
        Some(col) => {
            let d = rel.column("params.dihedral_column", col).clone();
            if d.base != pg_sys::VARBITARRAYOID && d.base != pg_sys::BITARRAYOID {
                raise(
                    DATATYPE_MISMATCH,
                    format!("params.dihedral_column {} of source {} has type {}", literal(col), rel.name, d.type_name),
                    "The hashes of an item's orientations are a bit varying[], as ml.pdq_dihedral returns them.",
                );
            }
            if !matches!(hash_type, HashType::Bits | HashType::Bytes) {
                raise(
                    FEATURE_NOT_SUPPORTED,
                    format!(
                        "params.dihedral_column needs bit-string hashes, but hash_column {} of source {} has type {}",
                        literal(hash_column),
                        rel.name,
                        hash.type_name
                    ),
                    "Store PDQ hashes as bit varying (ml.pdq(image)).hash, and their orientations as (ml.pdq_dihedral(image)).hashes.",
                );
            }
            format!("{}::pg_catalog.varbit[]", sql::column(col))
        }
    };
    let id_q = sql::column(id_column);
    let order = rel.order_by(c, &id, &id_q);
    let hash_q = sql::column(hash_column);
    let hash_expr = match hash_type {
        HashType::Integer => format!("{hash_q}::bigint"),
        HashType::Hex => format!("{hash_q}::pg_catalog.text"),
        HashType::Bytes => format!("{hash_q}::pg_catalog.bytea"),
        HashType::Bits => format!("{hash_q}::pg_catalog.varbit"),
    };
    let query = format!(
        "SELECT {id_q}::pg_catalog.text, {hash_expr}, {}, {time_expr}, {quality_expr}, {dihedral_expr} FROM {} AS {} {order}",
        sha_expr.0,
        sql::relation(c, rel.oid),
        sql::ALIAS
    );
    (query, hash_type, sha_expr.1)
}

/// Working memory per item besides its id: the item (hash, digest, time), its share of the
/// multi-index (a hash and an index in every band) and of the grouping's per-point arrays.
const BYTES_PER_ITEM: usize = 256;

/// Reads the items: (ids, hashes, rows left out for a quality below `min_quality`).
#[allow(clippy::too_many_arguments)]
fn read(
    query: &str,
    hash_type: HashType,
    sha_type: Option<HashType>,
    min_quality: Option<i32>,
    dihedral_column: Option<&str>,
    name: &str,
    hash_column: &str,
    sha_column: Option<&str>,
    progress: &mut Reporter,
) -> (Vec<String>, Codes, u64) {
    let (mut ids, mut items) = (Vec::new(), Vec::new());
    let mut wide: Vec<Bits> = Vec::new();
    let mut variants: Vec<Vec<Bits>> = Vec::new();
    let mut low_quality = 0u64;
    let (limit, mut id_bytes, mut probed) = (guc::max_memory_bytes(), 0usize, 0usize);
    Spi::connect(|c| {
        crate::shared::source::for_each_batch(c, query, |batch| {
            progress.tick(|| format!("read {} rows of {name}", ids.len()));
            // SAFETY: the batch's own tuple table; column 2 is checked to be varbit or bytea
            // before a bit string is decoded from it.
            let (desc, tuples) = unsafe {
                let (desc, tuples) = batch.raw();
                match hash_type {
                    HashType::Bits => crate::shared::sql::expect_type(desc, 2, pg_sys::VARBITOID, "read a hash"),
                    HashType::Bytes => crate::shared::sql::expect_type(desc, 2, pg_sys::BYTEAOID, "read a hash"),
                    _ => {}
                }
                crate::shared::sql::expect_type(desc, 6, pg_sys::VARBITARRAYOID, "read the hashes of orientations");
                (desc, tuples.to_vec())
            };
            for (k, row) in batch.rows.enumerate() {
                let id = spi(row.get::<&str>(1), "read an id")
                    .map(|t| owned_text(t, || format!("reading the ids of source {name}")))
                    .unwrap_or_else(|| {
                        raise(
                            NULL_VALUE_NOT_ALLOWED,
                            format!("id_column of source {name} is NULL in a row"),
                            "Every item needs an id: filter the NULLs out through a view, or fill them in.",
                        )
                    });
                if let Some(min) = min_quality {
                    if spi(row.get::<i32>(5), "read a quality").is_none_or(|q| q < min) {
                        low_quality += 1;
                        continue;
                    }
                }
                let missing = || -> ! {
                    raise(
                        NULL_VALUE_NOT_ALLOWED,
                        format!("hash_column {} of source {name} is NULL for id {}", literal(hash_column), literal(&id)),
                        "Hash every item first (e.g. UPDATE ... SET phash = ml.phash(image)), or filter unhashed rows out through a view.",
                    )
                };
                let hash = match hash_type {
                    HashType::Integer => spi(row.get::<i64>(2), "read a hash").unwrap_or_else(|| missing()) as u64,
                    HashType::Hex => {
                        let text = spi(row.get::<&str>(2), "read a hash").unwrap_or_else(|| missing());
                        hex::parse_u64(text).unwrap_or_else(|| {
                            raise(
                                INVALID_TEXT_REPRESENTATION,
                                format!(
                                    "hash_column {} of source {name} holds {} for id {}, which is not a 64-bit hash in hex",
                                    literal(hash_column),
                                    literal(&text.chars().take(40).collect::<String>()),
                                    literal(&id)
                                ),
                                "Hex hashes are 1 to 16 hexadecimal digits, as imagehash prints them.",
                            )
                        })
                    }
                    HashType::Bytes | HashType::Bits => {
                        let mut null = false;
                        // SAFETY: column 2 of this tuple is bytea or varbit (checked above).
                        let datum = unsafe { pg_sys::SPI_getbinval(tuples[k], desc, 2, &mut null) };
                        if null {
                            missing();
                        }
                        // A byte string is the bit string of its bits, most significant first.
                        fn bytes_bits(hash_type: HashType, b: &[u8]) -> (i32, &[u8]) {
                            match hash_type {
                                HashType::Bytes => (i32::try_from(b.len() * 8).unwrap_or(i32::MAX), b),
                                _ => super::hamming::varbit_payload(b),
                            }
                        }
                        let bits = unsafe {
                            // SAFETY: a varlena datum (bytea or varbit).
                            crate::shared::pgvector::with_datum_bytes(datum, |b| {
                                let (len, b) = bytes_bits(hash_type, b);
                                let len = len.max(0) as usize;
                                if len == 0 || len > MAX_BITS {
                                    raise(
                                        STRING_DATA_LENGTH_MISMATCH,
                                        format!(
                                            "hash_column {} of source {name} holds {len} bits for id {}",
                                            literal(hash_column),
                                            literal(&id)
                                        ),
                                        format!("Bit-string hashes have 1 to {MAX_BITS} bits, all of one length."),
                                    );
                                }
                                Bits::from_bytes(b, len)
                            })
                        }
                        .unwrap_or_else(|| {
                            raise(
                                pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                                format!(
                                    "hash_column {} of source {name} holds a damaged bit string for id {}",
                                    literal(hash_column),
                                    literal(&id)
                                ),
                                "Check the row with SELECT.",
                            )
                        });
                        if let Some(first) = wide.first().filter(|f: &&Bits| f.len() != bits.len()) {
                            raise(
                                STRING_DATA_LENGTH_MISMATCH,
                                format!(
                                    "hash_column {} of source {name} holds {} bits for id {}, but {} for the first row",
                                    literal(hash_column),
                                    bits.len(),
                                    literal(&id),
                                    first.len()
                                ),
                                "Near-duplicates are found among hashes of one length: filter the others out through a view.",
                            );
                        }
                        // The bits, the point the grouping keeps, the index's copy and band ids.
                        id_bytes += 3 * (bits.len().div_ceil(64) * 8 + 24) + bits.len().div_ceil(16) * 4;
                        let h = bits.as_u64().unwrap_or(0);
                        if dihedral_column.is_some() {
                            // SAFETY: column 6 of this tuple is varbit[] (checked above).
                            let v = unsafe { orientations(tuples[k], desc, bits.len(), name, dihedral_column.unwrap_or_default(), &id) };
                            id_bytes += v.len() * (bits.len().div_ceil(64) * 8 + 24);
                            variants.push(v);
                        }
                        wide.push(bits);
                        h
                    }
                };
                let digest = match sha_type {
                    None => None,
                    Some(HashType::Bytes) => spi(row.get::<&[u8]>(3), "read a digest").map(|b| {
                        let mut v = Vec::new();
                        crate::shared::errors::try_grow(&mut v, b.len(), || format!("reading the digests of source {name}"));
                        v.extend_from_slice(b);
                        v
                    }),
                    Some(_) => spi(row.get::<&str>(3), "read a digest").map(|t| {
                        // A digest is a few dozen hex digits: a longer text is no digest (and is not copied).
                        (t.len() <= 128).then(|| hex::decode(t)).flatten().unwrap_or_else(|| {
                            raise(
                                INVALID_TEXT_REPRESENTATION,
                                format!(
                                    "sha256_column {} of source {name} holds {} for id {}, which is not hex",
                                    literal(sha_column.unwrap_or_default()),
                                    literal(&t.chars().take(80).collect::<String>()),
                                    literal(&id)
                                ),
                                "Store digests as bytea (sha256(image)) or as hex text (encode(sha256(image), 'hex')).",
                            )
                        })
                    }),
                };
                let taken_at = spi(row.get::<f64>(4), "read a capture time");
                id_bytes += id.len() + 24;
                ids.push(id);
                items.push(Item { hash, digest, taken_at, variants: vec![] });
            }
            let planned = items.len() * BYTES_PER_ITEM + id_bytes;
            if planned > limit {
                raise(
                    PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "source {name} needs more than {} MB of working memory ({} rows read so far), over pg_mlkit.max_memory_mb ({} MB)",
                        planned >> 20,
                        items.len(),
                        limit >> 20
                    ),
                    "Raise the limit (SET pg_mlkit.max_memory_mb = ...) if the server has the memory, or group a part of the table through a view.",
                );
            }
            if planned > probed {
                crate::shared::errors::ensure_allocatable(planned, || format!("reading source {name}"));
                probed = planned;
            }
            planned
        });
    });
    if !matches!(hash_type, HashType::Bits | HashType::Bytes) || wide.first().is_some_and(|b| b.len() == 64) {
        // 64-bit strings are 64-bit hashes (first bit most significant): as a bigint column.
        return (ids, Codes::Short(items), low_quality);
    }
    let index = WideIndex::memory_bytes(wide.len(), wide.first().map_or(0, Bits::len));
    if items.len() * BYTES_PER_ITEM + id_bytes + index > limit {
        raise(
            PROGRAM_LIMIT_EXCEEDED,
            format!(
                "source {name} needs more than {} MB of working memory ({} bit strings of {} bits and their index), over pg_mlkit.max_memory_mb ({} MB)",
                (items.len() * BYTES_PER_ITEM + id_bytes + index) >> 20,
                items.len(),
                wide[0].len(),
                limit >> 20
            ),
            "Raise the limit (SET pg_mlkit.max_memory_mb = ...) if the server has the memory, or group a part of the table through a view.",
        );
    }
    variants.resize_with(wide.len(), Vec::new);
    let items = items
        .into_iter()
        .zip(wide)
        .zip(variants)
        .map(|((i, hash), variants)| Item { hash, digest: i.digest, taken_at: i.taken_at, variants })
        .collect();
    (ids, Codes::Wide(items), low_quality)
}

/// The hashes of an item's other orientations: the `bit varying[]` in column 6 of `tuple`
/// (NULL: none), each of the hash's `len` bits; the identity among them is harmless.
///
/// # Safety
/// Column 6 of `desc` is `varbit[]` and `tuple` one of its rows.
unsafe fn orientations(
    tuple: *mut pg_sys::HeapTupleData,
    desc: pg_sys::TupleDesc,
    len: usize,
    name: &str,
    column: &str,
    id: &str,
) -> Vec<Bits> {
    let mut null = false;
    // SAFETY: per the contract.
    let datum = unsafe { pg_sys::SPI_getbinval(tuple, desc, 6, &mut null) };
    if null {
        return vec![];
    }
    let (mut elems, mut nulls, mut n): (*mut pg_sys::Datum, *mut bool, i32) = (std::ptr::null_mut(), std::ptr::null_mut(), 0);
    // SAFETY: a non-null varbit[] datum, detoasted; varbit is a varlena aligned on int.
    let elems = unsafe {
        let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr::<pg_sys::varlena>()) as *mut pg_sys::ArrayType;
        pg_sys::deconstruct_array(array, pg_sys::VARBITOID, -1, false, pg_sys::TYPALIGN_INT as _, &mut elems, &mut nulls, &mut n);
        (0..n.max(0) as usize).filter(|&i| !*nulls.add(i)).map(|i| *elems.add(i)).collect::<Vec<_>>()
    };
    elems
        .into_iter()
        .map(|e| {
            // SAFETY: a non-null varbit element of the array.
            unsafe {
                crate::shared::pgvector::with_datum_bytes(e, |b| {
                    let (l, b) = super::hamming::varbit_payload(b);
                    (l.max(0) as usize == len).then(|| Bits::from_bytes(b, len)).flatten()
                })
            }
            .unwrap_or_else(|| {
                raise(
                    STRING_DATA_LENGTH_MISMATCH,
                    format!(
                        "params.dihedral_column {} of source {name} holds a hash that is not of {len} bits for id {}",
                        literal(column),
                        literal(id)
                    ),
                    "Every orientation's hash has the length of the item's hash, as ml.pdq_dihedral gives them.",
                )
            })
        })
        .collect()
}

fn metrics(g: &Grouping, items: usize, read_ms: f64, group_ms: f64) -> serde_json::Value {
    let count = |k: Kind| g.groups.iter().filter(|x| x.kind == k).count();
    json!({
        "items": items,
        "exact_groups": g.exact_groups,
        "items_in_exact_groups": g.exact.iter().filter(|e| e.is_some()).count(),
        "similar_groups": g.groups.len(),
        "burst_groups": count(Kind::Burst),
        "panorama_groups": count(Kind::Panorama),
        "plain_similar_groups": count(Kind::Similar),
        "items_in_similar_groups": g.similar.iter().filter(|s| s.is_some()).count(),
        "largest_group": g.groups.iter().map(|x| x.items).max().unwrap_or(0),
        "timings_ms": { "read": read_ms, "group": group_ms },
    })
}

fn write(run_id: i64, ids: &[String], digests: &[Option<&[u8]>], g: &Grouping, progress: &mut Reporter) {
    let mut rows = writer::DuplicateRows::default();
    for i in 0..ids.len() {
        let exact = g.exact[i].map(|first| hex::encode(digests[first].unwrap_or_default()));
        let similar = g.similar[i];
        if exact.is_none() && similar.is_none() {
            continue;
        }
        rows.item_id.push(ids[i].clone());
        rows.exact_group_confidence.push(exact.as_ref().map(|_| "high".to_string()));
        rows.exact_group_id.push(exact);
        rows.similar_group_id.push(similar.map(|m| ids[g.groups[m.group].leader].clone()));
        rows.similar_group_confidence.push(similar.map(|m| m.confidence.as_str().to_string()));
        rows.similar_group_type.push(similar.map(|m| g.groups[m.group].kind.as_str().to_string()));
        rows.hamming_distance.push(similar.map(|m| m.distance as i32));
    }
    writer::write_duplicates(run_id, &rows, progress);
}
