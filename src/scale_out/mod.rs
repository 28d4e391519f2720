//! Aggregates that PostgreSQL's parallel workers, and Citus's shards, can split: one Lloyd
//! step of K-Means (`ml.kmeans_step`), a fixed-edge histogram (`ml.hist_agg`) and a mergeable
//! quantile sketch (`ml.quantile_sketch_agg`, `mlkit::drift::sketch`), with the
//! parallel-safe scalar helpers that go with them (`ml.nearest_centroid`,
//! `ml.centroid_distance`, `ml.sample_hash`). The arithmetic is `mlkit::cluster::lloyd`.
//!
//! Why these are written against the function-call interface directly: a transition function
//! that gets a flat (non-`internal`) state must either copy it every row or update it in
//! place, which PostgreSQL allows only inside an aggregate (`AggCheckCallContext`). Updating
//! in place keeps a row's cost at its `k × d` distances; a copy would add `k × d` writes and
//! an allocation per row. A flat state, unlike `internal`, needs no serial/deserial functions
//! for parallel workers and travels between Citus nodes as its text form.
//!
//! `ml.kmeans_state`'s layout: the 4-byte varlena header, `k` and `d` (`u32`), 4 bytes of
//! padding, then `f64`s: the inertia, `k` counts, `k × d` sums (row-major). The type is
//! `ALIGNMENT = double`, so the `f64`s of a detoasted value are aligned.
//!
//! Centroids and edges given as arguments are checked once and kept in the call's
//! `fn_extra`; later rows compare their bytes with the kept copy (a `memcmp`, no parsing).

use crate::shared::errors::{
    literal, raise, ARRAY_SUBSCRIPT_ERROR, INVALID_BINARY_REPRESENTATION, INVALID_PARAMETER_VALUE, INVALID_TEXT_REPRESENTATION,
    NULL_VALUE_NOT_ALLOWED,
};
use mlkit::cluster::lloyd::{self, Step};
use mlkit::drift::sketch::{self, Sketch};
use pgrx::array::RawArray;
use pgrx::fcinfo::{pg_arg_is_null, pg_getarg_datum_raw, pg_return_null};
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use pgrx::prelude::*;
use std::ptr::NonNull;

extension_sql!(
    r#"
CREATE TYPE ml.kmeans_state;
CREATE FUNCTION ml.kmeans_state_in(cstring) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_in';
CREATE FUNCTION ml.kmeans_state_out(ml.kmeans_state) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_out';
CREATE FUNCTION ml.kmeans_state_recv(internal) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_recv';
CREATE FUNCTION ml.kmeans_state_send(ml.kmeans_state) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_send';
CREATE TYPE ml.kmeans_state (
  INPUT = ml.kmeans_state_in, OUTPUT = ml.kmeans_state_out,
  RECEIVE = ml.kmeans_state_recv, SEND = ml.kmeans_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE ml.kmeans_state IS
  'One K-Means (Lloyd) step over some rows: per centroid the count and sum of the rows nearest to it, and the inertia. Built by ml.kmeans_step; text form is JSON.';

CREATE FUNCTION ml.kmeans_state_eq(ml.kmeans_state, ml.kmeans_state) RETURNS boolean
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_eq';
CREATE OPERATOR ml.= (
  LEFTARG = ml.kmeans_state, RIGHTARG = ml.kmeans_state, PROCEDURE = ml.kmeans_state_eq,
  COMMUTATOR = OPERATOR(ml.=)
);

CREATE FUNCTION ml.kmeans_step_transition(ml.kmeans_state, real[], real[]) RETURNS ml.kmeans_state
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_transition';
CREATE FUNCTION ml.kmeans_step_combine(ml.kmeans_state, ml.kmeans_state) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_combine';
CREATE AGGREGATE ml.kmeans_step(embedding real[], centroids real[]) (
  SFUNC = ml.kmeans_step_transition, STYPE = ml.kmeans_state,
  COMBINEFUNC = ml.kmeans_step_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.kmeans_step(real[], real[]) IS
  'One Lloyd step of K-Means: assigns every embedding to the nearest of the centroids (a k × d array) and sums them per centroid; NULL embeddings are skipped. Parallel and combinable.';

CREATE FUNCTION ml.kmeans_centroids(state ml.kmeans_state) RETURNS real[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_centroids';
COMMENT ON FUNCTION ml.kmeans_centroids(ml.kmeans_state) IS
  'The next centroids of a K-Means step (k × d): each centroid''s rows'' mean; a centroid no row chose is a row of NULLs.';
CREATE FUNCTION ml.kmeans_counts(state ml.kmeans_state) RETURNS bigint[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_counts';
COMMENT ON FUNCTION ml.kmeans_counts(ml.kmeans_state) IS 'Rows nearest to each centroid in a K-Means step.';
CREATE FUNCTION ml.kmeans_sums(state ml.kmeans_state) RETURNS double precision[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_sums';
COMMENT ON FUNCTION ml.kmeans_sums(ml.kmeans_state) IS 'Sum of the rows nearest to each centroid in a K-Means step (k × d).';
CREATE FUNCTION ml.kmeans_inertia(state ml.kmeans_state) RETURNS double precision
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_inertia';
COMMENT ON FUNCTION ml.kmeans_inertia(ml.kmeans_state) IS
  'Sum of squared Euclidean distances of the rows of a K-Means step to their nearest centroids.';

CREATE FUNCTION ml.nearest_centroid(embedding real[], centroids real[]) RETURNS integer
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_nearest_centroid';
COMMENT ON FUNCTION ml.nearest_centroid(real[], real[]) IS
  'Index (from 0) of the centroid nearest to the embedding (Euclidean; ties go to the lower index); centroids is a k × d array.';
CREATE FUNCTION ml.centroid_distance(embedding real[], centroids real[]) RETURNS double precision
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_centroid_distance';
COMMENT ON FUNCTION ml.centroid_distance(real[], real[]) IS
  'Euclidean distance from the embedding to the nearest of the centroids (a k × d array).';

CREATE FUNCTION ml.nearest_exemplar(embedding real[], exemplars real[], labels integer[], max_distance double precision DEFAULT NULL)
  RETURNS integer
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_nearest_exemplar';
COMMENT ON FUNCTION ml.nearest_exemplar(real[], real[], integer[], double precision) IS
  'The cluster (labels) of the exemplar (a row of the m × d exemplars) nearest to the embedding, or -1 when it is farther than max_distance: assigns the rows outside a clustered sample.';

CREATE FUNCTION ml.hist_agg_transition(bigint[], double precision, double precision[]) RETURNS bigint[]
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_hist_agg_transition';
CREATE FUNCTION ml.hist_agg_combine(bigint[], bigint[]) RETURNS bigint[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_hist_agg_combine';
CREATE AGGREGATE ml.hist_agg(x double precision, edges double precision[]) (
  SFUNC = ml.hist_agg_transition, STYPE = bigint[],
  COMBINEFUNC = ml.hist_agg_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.hist_agg(double precision, double precision[]) IS
  'Counts of x per bin of the increasing edges, as numpy.histogram: [e0, e1), …, [e(n-1), en]; NULL, NaN and values outside the edges are not counted. Parallel and combinable.';
"#,
    name = "aggregates",
    requires = ["common"]
);

/// Declares the version-1 calling convention of raw C functions, as `#[pg_extern]` would.
macro_rules! finfo_v1 {
    ($($f:ident),* $(,)?) => {
        $(
            #[no_mangle]
            #[doc(hidden)]
            pub extern "C" fn $f() -> &'static pg_sys::Pg_finfo_record {
                const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }
        )*
    };
}

finfo_v1!(
    pg_finfo_mlkit_kmeans_state_in,
    pg_finfo_mlkit_kmeans_state_out,
    pg_finfo_mlkit_kmeans_state_recv,
    pg_finfo_mlkit_kmeans_state_send,
    pg_finfo_mlkit_kmeans_state_eq,
    pg_finfo_mlkit_kmeans_step_transition,
    pg_finfo_mlkit_kmeans_step_combine,
    pg_finfo_mlkit_kmeans_centroids,
    pg_finfo_mlkit_kmeans_counts,
    pg_finfo_mlkit_kmeans_sums,
    pg_finfo_mlkit_kmeans_inertia,
    pg_finfo_mlkit_nearest_centroid,
    pg_finfo_mlkit_centroid_distance,
    pg_finfo_mlkit_nearest_exemplar,
    pg_finfo_mlkit_hist_agg_transition,
    pg_finfo_mlkit_hist_agg_combine,
);

// ---------------------------------------------------------------------------------------
// The function-call interface, shared by the types and aggregates below

/// Argument 0 of an input function: the text (not NUL-containing; invalid UTF-8 replaced).
unsafe fn cstring_arg(fcinfo: FunctionCallInfo) -> String {
    // SAFETY: argument 0 of a type's input function is a non-null cstring.
    unsafe { std::ffi::CStr::from_ptr(pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<std::ffi::c_char>()).to_string_lossy().into_owned() }
}

/// An output function's result: `text` as a palloc'd cstring.
fn cstring_datum(text: String) -> Datum {
    // SAFETY: pstrdup copies the NUL-terminated string into the current memory context.
    unsafe { Datum::from(pg_sys::pstrdup(std::ffi::CString::new(text).unwrap_or_default().as_ptr())) }
}

/// Argument 0 of a receive function: the message's unread bytes, marked as read.
unsafe fn message_bytes<'a>(fcinfo: FunctionCallInfo) -> &'a [u8] {
    // SAFETY: argument 0 of a receive function is the message's StringInfo (type internal).
    unsafe {
        let buf = pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
        let all = std::slice::from_raw_parts((*buf).data as *const u8, (*buf).len as usize);
        let rest = &all[(*buf).cursor as usize..];
        (*buf).cursor = (*buf).len;
        rest
    }
}

/// Argument `i`, a non-null array kept in `fn_extra`: the kept copy when the argument's bytes
/// are those of last time, else the argument checked by `check` and copied into `fn_mcxt`
/// (which lives as long as the call site). Returns the kept array.
unsafe fn kept_arg(fcinfo: FunctionCallInfo, i: usize, check: impl FnOnce(*mut pg_sys::varlena)) -> RawArray {
    // SAFETY: argument `i` is a non-null varlena; fn_extra is ours (NULL or a copy made here).
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        let arg = pg_sys::pg_detoast_datum(pg_getarg_datum_raw(fcinfo, i).cast_mut_ptr());
        let size = pgrx::varsize_any(arg);
        let kept = (*flinfo).fn_extra as *mut pg_sys::varlena;
        let same = !kept.is_null()
            && pgrx::varsize_any(kept) == size
            && std::slice::from_raw_parts(kept as *const u8, size) == std::slice::from_raw_parts(arg as *const u8, size);
        if !same {
            check(arg);
            if !kept.is_null() {
                pg_sys::pfree(kept.cast());
            }
            let copy = pg_sys::MemoryContextAlloc((*flinfo).fn_mcxt, size);
            std::ptr::copy_nonoverlapping(arg as *const u8, copy as *mut u8, size);
            (*flinfo).fn_extra = copy;
        }
        RawArray::from_ptr(NonNull::new_unchecked((*flinfo).fn_extra.cast()))
    }
}

// ---------------------------------------------------------------------------------------
// ml.kmeans_state: the flat layout

/// Bytes before the `f64`s: varlena header, `k`, `d`, padding.
const HEAD: usize = 16;

/// A state's shape and its `f64`s (inertia, counts, sums), borrowed from the varlena.
struct Flat<'a> {
    k: usize,
    d: usize,
    values: &'a mut [f64],
}

impl Flat<'_> {
    fn parts(&mut self) -> (&mut f64, &mut [f64], &mut [f64]) {
        let (inertia, rest) = self.values.split_at_mut(1);
        let (counts, sums) = rest.split_at_mut(self.k);
        (&mut inertia[0], counts, sums)
    }

    fn to_step(&self) -> Step {
        Step {
            k: self.k,
            d: self.d,
            inertia: self.values[0],
            counts: self.values[1..1 + self.k].to_vec(),
            sums: self.values[1 + self.k..].to_vec(),
        }
    }
}

/// Refuses (54000) an aggregate state of `size` bytes over `pg_mlkit.max_memory_mb`, which
/// bounds every state as it bounds a call's working memory. `what` names the state (built
/// only on refusal).
fn state_within_budget(size: usize, what: impl FnOnce() -> String) {
    let limit = crate::shared::guc::max_memory_bytes();
    if size > limit {
        raise(
            crate::shared::errors::PROGRAM_LIMIT_EXCEEDED,
            format!("{} needs {} MB, over pg_mlkit.max_memory_mb = {} MB", what(), size.div_ceil(1 << 20), limit >> 20),
            "Raise pg_mlkit.max_memory_mb (up to the server's setting), or aggregate less at once: fewer centroids or dimensions for ml.kmeans_step, a smaller k for ml.quantile_sketch_agg.",
        );
    }
}

/// A new, zeroed state of shape `k × d` in `context`.
unsafe fn alloc_state(k: usize, d: usize, context: pg_sys::MemoryContext) -> *mut pg_sys::varlena {
    let size = HEAD + 8 * (1 + k + k * d);
    if size > 1 << 30 {
        raise(
            crate::shared::errors::PROGRAM_LIMIT_EXCEEDED,
            format!("a K-Means step of {k} centroids of {d} dimensions needs {} MB, over PostgreSQL's 1 GB value limit", size >> 20),
            "Use fewer centroids or fewer dimensions (reduce them first).",
        );
    }
    state_within_budget(size, || format!("ml.kmeans_step: a state of {k} centroids of {d} dimensions"));
    // SAFETY: a fresh zeroed allocation of `size` bytes, MAXALIGNed by palloc.
    unsafe {
        let p = pg_sys::MemoryContextAllocZero(context, size) as *mut u8;
        pgrx::set_varsize_4b(p as *mut pg_sys::varlena, size as i32);
        (p.add(4) as *mut u32).write(k as u32);
        (p.add(8) as *mut u32).write(d as u32);
        p as *mut pg_sys::varlena
    }
}

/// The state behind a detoasted pointer.
///
/// # Safety
/// `p` is a detoasted `ml.kmeans_state` that stays valid (and unaliased, if modified) for `'a`.
unsafe fn flat<'a>(p: *mut pg_sys::varlena) -> Flat<'a> {
    // SAFETY: per the contract; the header fields were written by `alloc_state` or checked
    // by the input functions, and the length matches them (checked below).
    unsafe {
        let bytes = p as *mut u8;
        let size = pgrx::varsize_any(p);
        let k = (bytes.add(4) as *const u32).read_unaligned() as usize;
        let d = (bytes.add(8) as *const u32).read_unaligned() as usize;
        if size != HEAD + 8 * (1 + k + k * d) || !(bytes.add(HEAD) as usize).is_multiple_of(8) {
            raise(
                INVALID_BINARY_REPRESENTATION,
                format!("an ml.kmeans_state of {size} bytes does not hold {k} centroids of {d} dimensions"),
                "The value is damaged; build it again with ml.kmeans_step.",
            );
        }
        Flat { k, d, values: std::slice::from_raw_parts_mut(bytes.add(HEAD) as *mut f64, 1 + k + k * d) }
    }
}

/// A palloc'd state holding `step`.
unsafe fn state_of(step: &Step) -> Datum {
    // SAFETY: allocated in the current context with the shape of `step`.
    unsafe {
        let p = alloc_state(step.k, step.d, pg_sys::CurrentMemoryContext);
        let f = flat(p);
        f.values[0] = step.inertia;
        f.values[1..1 + step.k].copy_from_slice(&step.counts);
        f.values[1 + step.k..].copy_from_slice(&step.sums);
        Datum::from(p)
    }
}

/// Argument `i`, a non-null `ml.kmeans_state`, detoasted (possibly a copy).
unsafe fn state_arg(fcinfo: FunctionCallInfo, i: usize) -> *mut pg_sys::varlena {
    // SAFETY: the caller says argument `i` is a non-null varlena.
    unsafe { pg_sys::pg_detoast_datum(pg_getarg_datum_raw(fcinfo, i).cast_mut_ptr()) }
}

fn text_error(e: lloyd::Error) -> ! {
    raise(
        INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type ml.kmeans_state: {e}"),
        "The text form is {\"k\": …, \"d\": …, \"inertia\": …, \"counts\": [k numbers], \"sums\": [k × d numbers]}, as ml.kmeans_step's output prints it.",
    )
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_state_in(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: an input function's argument.
    let step = Step::from_text(&unsafe { cstring_arg(fcinfo) }).unwrap_or_else(|e| text_error(e));
    // SAFETY: builds a new value in the current context.
    unsafe { state_of(&step) }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_state_out(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null ml.kmeans_state.
    cstring_datum(unsafe { flat(state_arg(fcinfo, 0)).to_step().to_text() })
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_state_recv(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: a receive function's argument.
    let step = Step::from_binary(unsafe { message_bytes(fcinfo) }).unwrap_or_else(|e| {
        raise(
            INVALID_BINARY_REPRESENTATION,
            format!("invalid binary input for type ml.kmeans_state: {e}"),
            "The binary form is k and d (int4), then inertia, k counts and k × d sums (float8), as ml.kmeans_state_send writes it.",
        )
    });
    // SAFETY: builds a new value in the current context.
    unsafe { state_of(&step) }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_state_send(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null ml.kmeans_state.
    let bytes = unsafe { flat(state_arg(fcinfo, 0)).to_step().to_binary() };
    bytes.into_datum().unwrap_or(Datum::from(0))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_state_eq(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: arguments 0 and 1 are non-null ml.kmeans_states.
    let (a, b) = unsafe { (flat(state_arg(fcinfo, 0)), flat(state_arg(fcinfo, 1))) };
    Datum::from((a.k, a.d) == (b.k, b.d) && a.values.iter().zip(b.values.iter()).all(|(x, y)| x.to_bits() == y.to_bits()))
}

// ---------------------------------------------------------------------------------------
// Arguments: centroids (kept in fn_extra), embeddings

/// Centroids checked once per call site: the kept copy of the argument's bytes.
struct Centres<'a> {
    k: usize,
    d: usize,
    data: &'a [f32],
}

/// Argument `i` as checked `k × d` centroids, from the copy kept in `fn_extra` when the bytes
/// are the same as last time. `func` names the function in messages.
unsafe fn centres_arg<'a>(fcinfo: FunctionCallInfo, i: usize, func: &str) -> Centres<'a> {
    // SAFETY: argument `i` is a real[] (NULL checked first); the kept copy lives in fn_mcxt.
    unsafe {
        if pg_arg_is_null(fcinfo, i) {
            raise(NULL_VALUE_NOT_ALLOWED, format!("{func}: centroids must not be NULL"), "Pass the centroids as a k × d real[] array.");
        }
        let mut array = kept_arg(fcinfo, i, |arg| check_centres(arg, func));
        let dims = array.dims();
        let (k, d) = (dims[0] as usize, dims[1] as usize);
        let data = std::slice::from_raw_parts(array.data::<f32>().as_ptr() as *const f32, k * d);
        Centres { k, d, data }
    }
}

/// Centroids are a two-dimensional `real[]` without NULLs, all finite.
unsafe fn check_centres(arg: *mut pg_sys::varlena, func: &str) {
    // SAFETY: a detoasted real[].
    let mut array = unsafe { RawArray::from_ptr(NonNull::new_unchecked(arg.cast())) };
    let dims = array.dims().to_vec();
    if dims.len() != 2 || dims[0] < 1 || dims[1] < 1 {
        raise(
            ARRAY_SUBSCRIPT_ERROR,
            format!("{func}: centroids must be a two-dimensional array (k × d), not one of {} dimensions", dims.len()),
            "Pass one row per centroid, e.g. ARRAY[[0, 0], [1, 1]]::real[].",
        );
    }
    // SAFETY: the array is valid; any_nulls reads its bitmap.
    if unsafe { array.any_nulls() } {
        raise(NULL_VALUE_NOT_ALLOWED, format!("{func}: centroids contain a NULL"), "Every coordinate of every centroid is needed.");
    }
    // SAFETY: a float4 array without NULLs: contiguous f32s.
    let values = unsafe { array.data::<f32>().as_ref() };
    if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{func}: centroid {} has {} at coordinate {}", pos / dims[1] as usize, values[pos], pos % dims[1] as usize + 1),
            "Centroids must be finite numbers.",
        );
    }
}

/// Argument `i`, a non-null `real[]` embedding of length `d`, as a slice valid during the call.
unsafe fn embedding_arg<'a>(fcinfo: FunctionCallInfo, i: usize, d: usize, func: &str) -> &'a [f32] {
    // SAFETY: argument `i` is a non-null real[]; a detoasted copy lives in the call's context.
    unsafe {
        let arg = pg_sys::pg_detoast_datum(pg_getarg_datum_raw(fcinfo, i).cast_mut_ptr());
        let mut array = RawArray::from_ptr(NonNull::new_unchecked(arg.cast()));
        let n = array.len();
        if array.dims().len() != 1 || n != d {
            raise(
                ARRAY_SUBSCRIPT_ERROR,
                format!("{func}: an embedding has {n} values in {} dimensions, the centroids have {d} columns", array.dims().len()),
                "Embeddings must be one-dimensional arrays as long as a centroid; filter odd rows out with a WHERE clause.",
            );
        }
        if array.any_nulls() {
            raise(NULL_VALUE_NOT_ALLOWED, format!("{func}: an embedding contains a NULL"), "Filter such rows out with a WHERE clause.");
        }
        let x = std::slice::from_raw_parts(array.data::<f32>().as_ptr() as *const f32, n);
        if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{func}: an embedding has {} at position {}", x[pos], pos + 1),
                "K-Means needs finite numbers: filter such rows out with a WHERE clause.",
            );
        }
        x
    }
}

// ---------------------------------------------------------------------------------------
// ml.kmeans_step

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_step_transition(fcinfo: FunctionCallInfo) -> Datum {
    const F: &str = "ml.kmeans_step";
    // SAFETY: arguments are (ml.kmeans_state, real[], real[]), any of them NULL; in an
    // aggregate the state is ours to modify (AggCheckCallContext), otherwise it is copied.
    unsafe {
        let c = centres_arg(fcinfo, 2, F);
        if pg_arg_is_null(fcinfo, 1) {
            return if pg_arg_is_null(fcinfo, 0) { pg_return_null(fcinfo) } else { pg_getarg_datum_raw(fcinfo, 0) };
        }
        let x = embedding_arg(fcinfo, 1, c.d, F);
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let state = if pg_arg_is_null(fcinfo, 0) {
            alloc_state(c.k, c.d, if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext })
        } else {
            own_arg(fcinfo, in_aggregate)
        };
        let mut f = flat(state);
        if (f.k, f.d) != (c.k, c.d) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{F}: the centroids changed shape within one aggregate ({} × {}, then {} × {})", f.k, f.d, c.k, c.d),
                "Pass the same centroids to every row of one ml.kmeans_step.",
            );
        }
        let (inertia, counts, sums) = f.parts();
        lloyd::add_point(inertia, counts, sums, x, c.data);
        Datum::from(state)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_step_combine(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: both arguments are non-null states (strict); the first is ours to modify only
    // inside an aggregate.
    unsafe {
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let a = own_arg(fcinfo, in_aggregate);
        let b = flat(state_arg(fcinfo, 1)).to_step();
        let mut fa = flat(a);
        if (fa.k, fa.d) != (b.k, b.d) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.kmeans_step: cannot combine a step of {} × {} centroids with one of {} × {}", fa.k, fa.d, b.k, b.d),
                "Combine steps taken with the same centroids.",
            );
        }
        let (inertia, counts, sums) = fa.parts();
        lloyd::merge_into(inertia, counts, sums, b.inertia, &b.counts, &b.sums);
        Datum::from(a)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_centroids(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null state; the array is built from Rust-owned buffers
    // that outlive construct_md_array, which copies them.
    unsafe {
        let step = flat(state_arg(fcinfo, 0)).to_step();
        let (k, d) = (step.k, step.d);
        let mut values = vec![Datum::from(0); k * d];
        let mut nulls = vec![false; k * d];
        for (j, mean) in step.means().into_iter().enumerate() {
            match mean {
                Some(m) => m.iter().enumerate().for_each(|(t, v)| values[j * d + t] = Datum::from((*v as f32).to_bits())),
                None => nulls[j * d..(j + 1) * d].iter_mut().for_each(|n| *n = true),
            }
        }
        let mut dims = [k as i32, d as i32];
        let mut lbs = [1, 1];
        let a = pg_sys::construct_md_array(
            values.as_mut_ptr(),
            nulls.as_mut_ptr(),
            2,
            dims.as_mut_ptr(),
            lbs.as_mut_ptr(),
            pg_sys::FLOAT4OID,
            4,
            true,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        );
        Datum::from(a)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_counts(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null state.
    let step = unsafe { flat(state_arg(fcinfo, 0)).to_step() };
    step.counts.iter().map(|&c| c as i64).collect::<Vec<i64>>().into_datum().unwrap_or(Datum::from(0))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_sums(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null state.
    let step = unsafe { flat(state_arg(fcinfo, 0)).to_step() };
    step.sums.into_datum().unwrap_or(Datum::from(0))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_inertia(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null state.
    let inertia = unsafe { flat(state_arg(fcinfo, 0)).values[0] };
    inertia.into_datum().unwrap_or(Datum::from(0))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_nearest_centroid(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: (real[], real[]), both non-null (strict).
    unsafe {
        let c = centres_arg(fcinfo, 1, "ml.nearest_centroid");
        let x = embedding_arg(fcinfo, 0, c.d, "ml.nearest_centroid");
        Datum::from(lloyd::nearest(x, c.data).0 as i32)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_centroid_distance(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: (real[], real[]), both non-null (strict).
    unsafe {
        let c = centres_arg(fcinfo, 1, "ml.centroid_distance");
        let x = embedding_arg(fcinfo, 0, c.d, "ml.centroid_distance");
        f64::from(lloyd::nearest(x, c.data).1).sqrt().into_datum().unwrap_or(Datum::from(0))
    }
}

/// The cluster of the exemplar nearest to `embedding` (exemplars `m × d`, their clusters
/// `labels`), or -1 (noise) when it is farther than `max_distance`: how the rows outside a
/// clustered sample join its DBSCAN or HDBSCAN clusters (see docs/scale-out.md).
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_nearest_exemplar(fcinfo: FunctionCallInfo) -> Datum {
    const F: &str = "ml.nearest_exemplar";
    // SAFETY: (real[], real[], int4[], float8), the first three non-null (checked), the
    // exemplars kept in fn_extra as centroids are.
    unsafe {
        if pg_arg_is_null(fcinfo, 0) || pg_arg_is_null(fcinfo, 2) {
            return pg_return_null(fcinfo);
        }
        let ex = centres_arg(fcinfo, 1, F);
        let x = embedding_arg(fcinfo, 0, ex.d, F);
        let labels = pg_sys::pg_detoast_datum(pg_getarg_datum_raw(fcinfo, 2).cast_mut_ptr());
        let mut array = RawArray::from_ptr(NonNull::new_unchecked(labels.cast()));
        if array.dims().len() != 1 || array.len() != ex.k || array.any_nulls() {
            raise(
                ARRAY_SUBSCRIPT_ERROR,
                format!("{F}: labels must hold one cluster per exemplar ({}), without NULLs", ex.k),
                "Pass the exemplars' clusters in the exemplars' order, e.g. from array_agg(cluster ORDER BY item_id).",
            );
        }
        let labels = std::slice::from_raw_parts(array.data::<i32>().as_ptr() as *const i32, ex.k);
        let (j, s) = lloyd::nearest(x, ex.data);
        let limit = (!pg_arg_is_null(fcinfo, 3)).then(|| f64::from_bits(pg_getarg_datum_raw(fcinfo, 3).value() as u64));
        let far = limit.is_some_and(|m| f64::from(s).sqrt() > m);
        Datum::from(if far { -1 } else { labels[j] })
    }
}

/// A number in [0, 1) determined by `id` and `seed` alone, the same on every server and in
/// every release: `WHERE ml.sample_hash(id::text, 42) < 0.01` keeps a fixed 1 % sample that
/// parallel workers and shards agree on (`random()` is parallel restricted and unseeded per row).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sample_hash(id text, seed bigint DEFAULT 0) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sample_hash(text, bigint) IS
  'A number in [0, 1) determined by the id and the seed alone: a seeded sample that parallel workers and shards agree on.';
"#)]
fn sample_hash(id: &str, seed: i64) -> f64 {
    lloyd::sample_hash(id.as_bytes(), seed as u64)
}

// ---------------------------------------------------------------------------------------
// ml.hist_agg

/// Argument `i` as checked bin edges (kept in `fn_extra` like centroids).
unsafe fn edges_arg<'a>(fcinfo: FunctionCallInfo, i: usize) -> &'a [f64] {
    // SAFETY: argument `i` is a float8[] (NULL checked first); the kept copy lives in fn_mcxt.
    unsafe {
        if pg_arg_is_null(fcinfo, i) {
            raise(NULL_VALUE_NOT_ALLOWED, "ml.hist_agg: edges must not be NULL", "Pass the increasing bin edges, e.g. ARRAY[0, 0.5, 1].");
        }
        let mut array = kept_arg(fcinfo, i, |arg| {
            let mut array = RawArray::from_ptr(NonNull::new_unchecked(arg.cast()));
            let ok_shape = array.dims().len() == 1 && array.len() >= 2 && !array.any_nulls();
            let values = if ok_shape { array.data::<f64>().as_ref().to_vec() } else { Vec::new() };
            if !ok_shape || values.iter().any(|v| !v.is_finite()) || values.windows(2).any(|w| w[0] >= w[1]) {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!(
                        "ml.hist_agg: edges {} are not at least two finite, strictly increasing numbers",
                        literal(&format!("{values:?}"))
                    ),
                    "Pass the bin edges in increasing order, e.g. ARRAY[0, 0.5, 1] for two bins.",
                );
            }
        });
        let n = array.len();
        std::slice::from_raw_parts(array.data::<f64>().as_ptr() as *const f64, n)
    }
}

/// A new zeroed `bigint[]` of `n` counts in `context`.
unsafe fn alloc_counts(n: usize, context: pg_sys::MemoryContext) -> *mut pg_sys::varlena {
    // SAFETY: construct_array copies nothing but the zeros into the current context, which is
    // switched to `context` for the call.
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo(context);
        let mut zeros = vec![Datum::from(0i64); n];
        let a =
            pg_sys::construct_array(zeros.as_mut_ptr(), n as i32, pg_sys::INT8OID, 8, true, pg_sys::TYPALIGN_DOUBLE as std::ffi::c_char);
        pg_sys::MemoryContextSwitchTo(old);
        a.cast()
    }
}

/// The counts of a detoasted `bigint[]` state, checked to be one-dimensional without NULLs.
unsafe fn counts_of<'a>(p: *mut pg_sys::varlena) -> &'a mut [i64] {
    // SAFETY: a detoasted int8[].
    unsafe {
        let mut array = RawArray::from_ptr(NonNull::new_unchecked(p.cast()));
        if array.dims().len() != 1 || array.any_nulls() {
            raise(
                INVALID_PARAMETER_VALUE,
                "ml.hist_agg: a histogram state must be a one-dimensional bigint[] without NULLs",
                "Combine states made by ml.hist_agg.",
            );
        }
        let n = array.len();
        std::slice::from_raw_parts_mut(array.data::<i64>().as_ptr() as *mut i64, n)
    }
}

/// The state to update: argument 0 detoasted, copied unless it is the aggregate's own.
unsafe fn own_arg(fcinfo: FunctionCallInfo, in_aggregate: bool) -> *mut pg_sys::varlena {
    // SAFETY: argument 0 is a non-null varlena.
    unsafe {
        let original = pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::varlena>();
        let s = pg_sys::pg_detoast_datum(original);
        if s == original && !in_aggregate {
            let size = pgrx::varsize_any(s);
            let copy = pg_sys::palloc(size) as *mut pg_sys::varlena;
            std::ptr::copy_nonoverlapping(s as *const u8, copy as *mut u8, size);
            copy
        } else {
            s
        }
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_hist_agg_transition(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: arguments are (bigint[], float8, float8[]), any NULL.
    unsafe {
        let edges = edges_arg(fcinfo, 2);
        let bins = edges.len() - 1;
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let state = if pg_arg_is_null(fcinfo, 0) {
            alloc_counts(bins, if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext })
        } else {
            own_arg(fcinfo, in_aggregate)
        };
        let counts = counts_of(state);
        if counts.len() != bins {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.hist_agg: the edges changed within one aggregate ({} bins, then {bins})", counts.len()),
                "Pass the same edges to every row of one ml.hist_agg.",
            );
        }
        if !pg_arg_is_null(fcinfo, 1) {
            let x = f64::from_bits(pg_getarg_datum_raw(fcinfo, 1).value() as u64);
            if let Some(b) = bin_of(x, edges) {
                counts[b] = counts[b].checked_add(1).unwrap_or_else(|| count_overflow());
            }
        }
        Datum::from(state)
    }
}

/// numpy.histogram's bin of `x`: `[e_i, e_{i+1})`, the last bin closed; `None` outside or NaN.
fn bin_of(x: f64, edges: &[f64]) -> Option<usize> {
    let (first, last) = (edges[0], edges[edges.len() - 1]);
    if !(x >= first && x <= last) {
        return None;
    }
    // The first edge above x, less one; x = last falls in the last bin.
    Some(edges.partition_point(|&e| e <= x).saturating_sub(1).min(edges.len() - 2))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_hist_agg_combine(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: two non-null bigint[] (strict).
    unsafe {
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let a = own_arg(fcinfo, in_aggregate);
        let b = counts_of(state_arg(fcinfo, 1));
        let ca = counts_of(a);
        if ca.len() != b.len() {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.hist_agg: cannot combine histograms of {} and {} bins", ca.len(), b.len()),
                "Combine histograms taken with the same edges.",
            );
        }
        for (x, y) in ca.iter_mut().zip(b.iter()) {
            *x = x.checked_add(*y).unwrap_or_else(|| count_overflow());
        }
        Datum::from(a)
    }
}

/// A bin count past bigint's range: only a hand-made state can get there.
fn count_overflow() -> ! {
    raise(
        pgrx::PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        "ml.hist_agg: a bin count is out of range for bigint",
        "Counts come from ml.hist_agg itself; do not pass hand-made states to its support functions.",
    )
}

#[cfg(test)]
mod tests {
    use super::bin_of;

    #[test]
    fn bins_follow_numpy() {
        let e = [0.0, 1.0, 2.0, 4.0];
        assert_eq!(bin_of(0.0, &e), Some(0));
        assert_eq!(bin_of(0.999, &e), Some(0));
        assert_eq!(bin_of(1.0, &e), Some(1));
        assert_eq!(bin_of(3.9, &e), Some(2));
        assert_eq!(bin_of(4.0, &e), Some(2));
        assert_eq!(bin_of(4.1, &e), None);
        assert_eq!(bin_of(-0.1, &e), None);
        assert_eq!(bin_of(f64::NAN, &e), None);
    }
}

// ---------------------------------------------------------------------------------------
// ml.quantile_sketch_agg: a mergeable quantile sketch (mlkit::drift::sketch)
//
// Layout of ml.quantile_sketch after the 4-byte varlena header: 4 bytes of padding, then
// little-endian 8-byte words: k, n, levels, min, max, sum, sum_sq, err; level 0's length,
// its compaction count and room for k values (so a row is one store in place); then each
// higher level's length, compaction count and values.

const SKETCH_WORDS: usize = 10;

extension_sql!(
    r#"
CREATE TYPE ml.quantile_sketch;
CREATE FUNCTION ml.quantile_sketch_in(cstring) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_in';
CREATE FUNCTION ml.quantile_sketch_out(ml.quantile_sketch) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_out';
CREATE FUNCTION ml.quantile_sketch_recv(internal) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_recv';
CREATE FUNCTION ml.quantile_sketch_send(ml.quantile_sketch) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_send';
CREATE TYPE ml.quantile_sketch (
  INPUT = ml.quantile_sketch_in, OUTPUT = ml.quantile_sketch_out,
  RECEIVE = ml.quantile_sketch_recv, SEND = ml.quantile_sketch_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE ml.quantile_sketch IS
  'A mergeable quantile sketch of a numeric column that carries its own rank-error bound. Built by ml.quantile_sketch_agg; text form is JSON.';

CREATE FUNCTION ml.quantile_sketch_transition(ml.quantile_sketch, double precision, integer) RETURNS ml.quantile_sketch
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_transition';
CREATE FUNCTION ml.quantile_sketch_transition(ml.quantile_sketch, double precision) RETURNS ml.quantile_sketch
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_transition';
CREATE FUNCTION ml.quantile_sketch_combine(ml.quantile_sketch, ml.quantile_sketch) RETURNS ml.quantile_sketch
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_quantile_sketch_combine';
CREATE AGGREGATE ml.quantile_sketch_agg(x double precision, k integer) (
  SFUNC = ml.quantile_sketch_transition, STYPE = ml.quantile_sketch,
  COMBINEFUNC = ml.quantile_sketch_combine, PARALLEL = SAFE
);
CREATE AGGREGATE ml.quantile_sketch_agg(x double precision) (
  SFUNC = ml.quantile_sketch_transition, STYPE = ml.quantile_sketch,
  COMBINEFUNC = ml.quantile_sketch_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.quantile_sketch_agg(double precision, integer) IS
  'A quantile sketch of x keeping k values per level (8 to 1048576); NULL, NaN and infinities are skipped. Parallel and combinable.';
COMMENT ON AGGREGATE ml.quantile_sketch_agg(double precision) IS
  'A quantile sketch of x with k = 4096; NULL, NaN and infinities are skipped. Parallel and combinable.';
"#,
    name = "quantile_sketch",
    requires = ["aggregates"]
);

finfo_v1!(
    pg_finfo_mlkit_quantile_sketch_in,
    pg_finfo_mlkit_quantile_sketch_out,
    pg_finfo_mlkit_quantile_sketch_recv,
    pg_finfo_mlkit_quantile_sketch_send,
    pg_finfo_mlkit_quantile_sketch_transition,
    pg_finfo_mlkit_quantile_sketch_combine,
);

/// A sketch in the flat layout, in `context`.
unsafe fn sketch_flat(s: &Sketch, context: pg_sys::MemoryContext) -> *mut pg_sys::varlena {
    let upper: usize = s.levels.iter().skip(1).map(|l| 2 + l.len()).sum();
    let words = SKETCH_WORDS + s.k + upper;
    let size = 8 + 8 * words;
    if size > 1 << 30 {
        raise(
            crate::shared::errors::PROGRAM_LIMIT_EXCEEDED,
            format!("a quantile sketch of k = {} does not fit in 1 GB", s.k),
            "Use a smaller k.",
        );
    }
    // It grows by a level each time the values seen double past k.
    state_within_budget(size, || format!("ml.quantile_sketch_agg: a sketch of k = {} with {} levels", s.k, s.levels.len()));
    let mut w: Vec<u64> = Vec::with_capacity(words);
    w.extend([s.k as u64, s.n, s.levels.len() as u64]);
    w.extend([s.min, s.max, s.sum, s.sum_sq, s.err].map(f64::to_bits));
    w.extend([s.levels[0].len() as u64, s.compactions[0]]);
    w.extend(s.levels[0].iter().map(|v| v.to_bits()));
    w.resize(SKETCH_WORDS + s.k, 0);
    for (l, c) in s.levels.iter().zip(&s.compactions).skip(1) {
        w.extend([l.len() as u64, *c]);
        w.extend(l.iter().map(|v| v.to_bits()));
    }
    // SAFETY: a fresh allocation of `size` bytes, the words written after the header and pad.
    unsafe {
        let p = pg_sys::MemoryContextAllocZero(context, size) as *mut u8;
        pgrx::set_varsize_4b(p as *mut pg_sys::varlena, size as i32);
        for (i, v) in w.iter().enumerate() {
            (p.add(8 + 8 * i) as *mut u64).write_unaligned(v.to_le());
        }
        p as *mut pg_sys::varlena
    }
}

/// The sketch of a flat value's bytes after the varlena header (the padding first; what
/// pgrx hands a `&[u8]` argument), checked.
fn sketch_of(data: &[u8]) -> Sketch {
    let bad = |why: String| -> ! {
        raise(
            INVALID_BINARY_REPRESENTATION,
            format!("an ml.quantile_sketch value is damaged: {why}"),
            "Build it again with ml.quantile_sketch_agg.",
        )
    };
    let word = |i: usize| data.get(4 + 8 * i..12 + 8 * i).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let Some(k) = word(0).map(|k| k as usize) else { bad("too short".into()) };
    if !(sketch::MIN_K..=sketch::MAX_K).contains(&k) {
        bad(format!("k = {k}"));
    }
    // Rebuild the canonical form (level 0 without its spare room) and check it.
    let len0 = word(8).unwrap_or(u64::MAX) as usize;
    if len0 >= k || data.len() < 4 + 8 * (SKETCH_WORDS + k) {
        bad("level 0 is longer than k".into());
    }
    let mut canon = Vec::with_capacity(data.len());
    canon.extend_from_slice(&data[4..4 + 8 * (SKETCH_WORDS + len0)]);
    canon.extend_from_slice(&data[4 + 8 * (SKETCH_WORDS + k)..]);
    Sketch::from_bytes(&canon).unwrap_or_else(|e| bad(e.0))
}

/// Argument `i`'s bytes after the varlena header (detoasted).
unsafe fn varlena_bytes<'a>(fcinfo: FunctionCallInfo, i: usize) -> &'a [u8] {
    // SAFETY: argument `i` is a non-null varlena; the detoasted copy lives for the call.
    unsafe {
        let p = state_arg(fcinfo, i);
        std::slice::from_raw_parts((p as *const u8).add(4), pgrx::varsize_any(p) - 4)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_in(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: an input function's argument.
    let s = Sketch::from_text(&unsafe { cstring_arg(fcinfo) }).unwrap_or_else(|e| {
        raise(
            INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type ml.quantile_sketch: {}", e.0),
            "The text form is the JSON that ml.quantile_sketch_agg's output prints.",
        )
    });
    // SAFETY: a new value in the current context.
    unsafe { Datum::from(sketch_flat(&s, pg_sys::CurrentMemoryContext)) }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_out(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null sketch.
    cstring_datum(sketch_of(unsafe { varlena_bytes(fcinfo, 0) }).to_text())
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_recv(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: a receive function's argument.
    let s = Sketch::from_bytes(unsafe { message_bytes(fcinfo) }).unwrap_or_else(|e| {
        raise(
            INVALID_BINARY_REPRESENTATION,
            format!("invalid binary input for type ml.quantile_sketch: {}", e.0),
            "Send what ml.quantile_sketch_send wrote.",
        )
    });
    // SAFETY: a new value in the current context.
    unsafe { Datum::from(sketch_flat(&s, pg_sys::CurrentMemoryContext)) }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_send(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: argument 0 is a non-null sketch.
    let bytes = sketch_of(unsafe { varlena_bytes(fcinfo, 0) }).to_bytes();
    bytes.into_datum().unwrap_or(Datum::from(0))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_transition(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: (ml.quantile_sketch, float8[, int4]), any NULL; the state is updated in place
    // only inside an aggregate.
    unsafe {
        let nargs = (*fcinfo).nargs as usize;
        let k = if nargs > 2 && !pg_arg_is_null(fcinfo, 2) {
            pg_getarg_datum_raw(fcinfo, 2).value() as i32 as i64
        } else {
            sketch::DEFAULT_K as i64
        };
        if !(sketch::MIN_K as i64..=sketch::MAX_K as i64).contains(&k) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("ml.quantile_sketch_agg: k must be between {} and {}, not {k}", sketch::MIN_K, sketch::MAX_K),
                "Leave k out for 4096 (rank error about (log2(n/k) + 1) / k at worst).",
            );
        }
        let x =
            (!pg_arg_is_null(fcinfo, 1)).then(|| f64::from_bits(pg_getarg_datum_raw(fcinfo, 1).value() as u64)).filter(|x| x.is_finite());
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let context = if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext };
        if pg_arg_is_null(fcinfo, 0) {
            let mut s = Sketch::new(k as usize);
            if let Some(x) = x {
                s.add(x);
            }
            return Datum::from(sketch_flat(&s, context));
        }
        let Some(x) = x else { return pg_getarg_datum_raw(fcinfo, 0) };
        let state = own_arg(fcinfo, in_aggregate);
        let base = (state as *mut u8).add(8);
        let size = pgrx::varsize_any(state);
        let word = |i: usize| u64::from_le((base.add(8 * i) as *const u64).read_unaligned());
        let (sk, len0) = (word(0) as usize, word(8) as usize);
        if (sketch::MIN_K..=sketch::MAX_K).contains(&sk) && size >= 8 + 8 * (SKETCH_WORDS + sk) && len0 + 1 < sk {
            // The common case: one more value on level 0, in place.
            let put = |i: usize, v: u64| (base.add(8 * i) as *mut u64).write_unaligned(v.to_le());
            let f = |i: usize| f64::from_bits(word(i));
            put(1, word(1) + 1);
            put(3, f(3).min(x).to_bits());
            put(4, f(4).max(x).to_bits());
            put(5, (f(5) + x).to_bits());
            put(6, (f(6) + x * x).to_bits());
            put(SKETCH_WORDS + len0, x.to_bits());
            put(8, len0 as u64 + 1);
            return Datum::from(state);
        }
        let mut s = sketch_of(std::slice::from_raw_parts((state as *const u8).add(4), size - 4));
        s.add(x);
        Datum::from(sketch_flat(&s, context))
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_quantile_sketch_combine(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: two non-null sketches (strict); the result is new, in the aggregate's context.
    unsafe {
        let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
        let in_aggregate = pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) != 0;
        let mut a = sketch_of(varlena_bytes(fcinfo, 0));
        a.merge(&sketch_of(varlena_bytes(fcinfo, 1)));
        Datum::from(sketch_flat(&a, if in_aggregate { aggcontext } else { pg_sys::CurrentMemoryContext }))
    }
}

/// The `q`-quantile of a sketch (the exact minimum and maximum at 0 and 1).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_quantile(sketch ml.quantile_sketch, q double precision) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_quantile(ml.quantile_sketch, double precision) IS
  'The q-quantile (0 to 1) of a quantile sketch; its rank is within ml.sketch_rank_error of q.';
"#)]
fn sketch_quantile(sketch: &[u8], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        raise(INVALID_PARAMETER_VALUE, format!("ml.sketch_quantile: q must be between 0 and 1, not {q}"), "Pass e.g. 0.5 for the median.");
    }
    sketch_of(sketch).quantile(q)
}

/// Values the sketch has seen.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_count(sketch ml.quantile_sketch) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_count(ml.quantile_sketch) IS 'Number of values a quantile sketch has seen.';
"#)]
fn sketch_count(sketch: &[u8]) -> i64 {
    sketch_of(sketch).n as i64
}

/// The sketch's guaranteed bound on the rank error of any query, as a fraction of its count.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_rank_error(sketch ml.quantile_sketch) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_rank_error(ml.quantile_sketch) IS
  'The guaranteed bound on the rank error of any quantile or CDF query, as a fraction of the count (0 while the sketch holds every value).';
"#)]
fn sketch_rank_error(sketch: &[u8]) -> f64 {
    sketch_of(sketch).epsilon()
}

/// Two-sample Kolmogorov–Smirnov from two sketches: the statistic between their CDFs, SciPy's
/// large-sample p-value for it, and the bound on its distance from the exact statistic.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_ks(reference ml.quantile_sketch, current ml.quantile_sketch)
RETURNS TABLE (statistic double precision, pvalue double precision, error_bound double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_ks(ml.quantile_sketch, ml.quantile_sketch) IS
  'Two-sample KS test from two quantile sketches: the statistic (within error_bound of the exact one) and its asymptotic p-value.';
"#)]
fn sketch_ks(
    reference: &[u8],
    current: &[u8],
) -> TableIterator<'static, (name!(statistic, f64), name!(pvalue, f64), name!(error_bound, f64))> {
    let (a, b) = (sketch_of(reference), sketch_of(current));
    if a.n == 0 || b.n == 0 {
        raise(INVALID_PARAMETER_VALUE, "ml.sketch_ks: a sketch is empty", "Both samples need values.");
    }
    let (d, bound) = sketch::ks(&a, &b);
    let p = mlkit::drift::ks::asymptotic_two_sided(d, a.n as usize, b.n as usize);
    TableIterator::once((d, p, bound))
}

/// Wasserstein-1 distance from two sketches, and the bound on its distance from the exact one.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sketch_wasserstein(reference ml.quantile_sketch, current ml.quantile_sketch)
RETURNS TABLE (distance double precision, normed double precision, error_bound double precision)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sketch_wasserstein(ml.quantile_sketch, ml.quantile_sketch) IS
  'Wasserstein-1 distance from two quantile sketches (within error_bound of the exact one), and normed by the reference''s standard deviation as Evidently does.';
"#)]
fn sketch_wasserstein(
    reference: &[u8],
    current: &[u8],
) -> TableIterator<'static, (name!(distance, f64), name!(normed, f64), name!(error_bound, f64))> {
    let (a, b) = (sketch_of(reference), sketch_of(current));
    if a.n == 0 || b.n == 0 {
        raise(INVALID_PARAMETER_VALUE, "ml.sketch_wasserstein: a sketch is empty", "Both samples need values.");
    }
    let (w, bound) = sketch::wasserstein(&a, &b);
    let std = a.mean_std().1;
    let normed = if std > 0.0 { w / std } else { f64::NAN };
    TableIterator::once((w, normed, bound))
}
