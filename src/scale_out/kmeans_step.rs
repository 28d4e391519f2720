//! `ml.kmeans_step`: one Lloyd step of K-Means as a flat, combinable aggregate (type
//! `ml.kmeans_state`), its accessors, and the scalar helpers `ml.nearest_centroid`,
//! `ml.centroid_distance` and `ml.nearest_exemplar`. Documented in docs/functions/scale_out.md.

use crate::shared::embedding_arg::{densify, Reader};
use crate::shared::errors::{
    raise, ARRAY_SUBSCRIPT_ERROR, INVALID_BINARY_REPRESENTATION, INVALID_PARAMETER_VALUE, INVALID_TEXT_REPRESENTATION,
    NULL_VALUE_NOT_ALLOWED,
};
use mlkit::cluster::lloyd::{self, Step};
use pgrx::array::RawArray;
use pgrx::fcinfo::{pg_arg_is_null, pg_getarg_datum_raw, pg_return_null};
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use pgrx::prelude::*;
use std::borrow::Cow;
use std::ptr::NonNull;

use super::fcinfo::*;

extension_sql!(
    r#"
CREATE TYPE ml.kmeans_state;
CREATE FUNCTION ml_internal.kmeans_state_in(cstring) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_in';
CREATE FUNCTION ml_internal.kmeans_state_out(ml.kmeans_state) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_out';
CREATE FUNCTION ml_internal.kmeans_state_recv(internal) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_recv';
CREATE FUNCTION ml_internal.kmeans_state_send(ml.kmeans_state) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_send';
CREATE TYPE ml.kmeans_state (
  INPUT = ml_internal.kmeans_state_in, OUTPUT = ml_internal.kmeans_state_out,
  RECEIVE = ml_internal.kmeans_state_recv, SEND = ml_internal.kmeans_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);
COMMENT ON TYPE ml.kmeans_state IS
  'One K-Means (Lloyd) step over some rows: per centroid the count and sum of the rows nearest to it, and the inertia. Built by ml.kmeans_step; text form is JSON.';

CREATE FUNCTION ml_internal.kmeans_state_eq(ml.kmeans_state, ml.kmeans_state) RETURNS boolean
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_state_eq';
CREATE OPERATOR ml.= (
  LEFTARG = ml.kmeans_state, RIGHTARG = ml.kmeans_state, PROCEDURE = ml_internal.kmeans_state_eq,
  COMMUTATOR = OPERATOR(ml.=)
);

CREATE FUNCTION ml_internal.kmeans_step_transition(ml.kmeans_state, anycompatible, real[]) RETURNS ml.kmeans_state
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_transition';
CREATE FUNCTION ml_internal.kmeans_step_combine(ml.kmeans_state, ml.kmeans_state) RETURNS ml.kmeans_state
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_combine';
CREATE AGGREGATE ml.kmeans_step(embedding anycompatible, centroids real[]) (
  SFUNC = ml_internal.kmeans_step_transition, STYPE = ml.kmeans_state,
  COMBINEFUNC = ml_internal.kmeans_step_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.kmeans_step(anycompatible, real[]) IS
  'One Lloyd step of K-Means: assigns every embedding (real[], another numeric array, or pgvector''s vector, halfvec or sparsevec) to the nearest of the centroids (a k × d array) and sums them per centroid; NULL embeddings are skipped. Parallel and combinable.';

-- The same step declared for real[] only: what Citus pushes down to its shards. Its
-- worker_partial_agg accepts only an aggregate whose declared argument types are the call's
-- (never a polymorphic one), and calls the transition function without the call's
-- expression: the declared type then says what the embedding is. (An overload of
-- ml.kmeans_step would make calls with other types ambiguous.)
CREATE FUNCTION ml_internal.kmeans_step_transition(ml.kmeans_state, real[], real[]) RETURNS ml.kmeans_state
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_kmeans_step_transition';
CREATE AGGREGATE ml.kmeans_step_real(embedding real[], centroids real[]) (
  SFUNC = ml_internal.kmeans_step_transition, STYPE = ml.kmeans_state,
  COMBINEFUNC = ml_internal.kmeans_step_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE ml.kmeans_step_real(real[], real[]) IS
  'ml.kmeans_step for real[] embeddings (cast others: embedding::real[]): the same result, declared for one type so that Citus pushes it down to its shards.';

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

CREATE FUNCTION ml.nearest_centroid(embedding anycompatible, centroids real[]) RETURNS integer
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_nearest_centroid';
COMMENT ON FUNCTION ml.nearest_centroid(anycompatible, real[]) IS
  'Index (from 0) of the centroid nearest to the embedding (Euclidean; ties go to the lower index); centroids is a k × d array.';
CREATE FUNCTION ml.centroid_distance(embedding anycompatible, centroids real[]) RETURNS double precision
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_centroid_distance';
COMMENT ON FUNCTION ml.centroid_distance(anycompatible, real[]) IS
  'Euclidean distance from the embedding to the nearest of the centroids (a k × d array).';

CREATE FUNCTION ml.nearest_exemplar(embedding anycompatible, exemplars real[], labels integer[], max_distance double precision DEFAULT NULL)
  RETURNS integer
  IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'mlkit_nearest_exemplar';
COMMENT ON FUNCTION ml.nearest_exemplar(anycompatible, real[], integer[], double precision) IS
  'The cluster (labels) of the exemplar (a row of the m × d exemplars) nearest to the embedding, or -1 when it is farther than max_distance: assigns the rows outside a clustered sample.';
"#,
    name = "kmeans_step",
    requires = ["common"]
);

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
);

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
            "The binary form is k and d (int4), then inertia, k counts and k × d sums (float8), as ml_internal.kmeans_state_send writes it.",
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

/// Argument `i`, a non-null embedding of length `d`: a `real[]` read in place; pgvector's
/// `vector`, `halfvec` and `sparsevec` read from their bytes (no cast); another numeric array
/// or a quoted literal through [`Reader::values`]. The argument's type ([`arg_type`]) is
/// classified once per call site.
unsafe fn embedding_arg<'a>(fcinfo: FunctionCallInfo, i: usize, d: usize, func: &str) -> Cow<'a, [f32]> {
    let wrong_length = |n: usize, ndim: usize| -> ! {
        raise(
            ARRAY_SUBSCRIPT_ERROR,
            format!("{func}: an embedding has {n} values in {ndim} dimensions, the centroids have {d} columns"),
            "Embeddings must be one-dimensional arrays as long as a centroid; filter odd rows out with a WHERE clause.",
        )
    };
    // SAFETY: argument `i` is non-null, of the type its expression gives; a detoasted copy
    // lives in the call's context.
    unsafe {
        let site = call_site(fcinfo);
        let reader = *site.embedding.get_or_insert_with(|| {
            let oid = arg_type(fcinfo, i);
            if oid == pg_sys::InvalidOid {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{func}: the embedding's type is not known to this call"),
                    "Call it from SQL, where the argument's type is known, or cast the embedding to real[].",
                );
            }
            Reader::of(func, "an embedding", oid)
        });
        let datum = pg_getarg_datum_raw(fcinfo, i);
        let x: Cow<'a, [f32]> = match reader {
            Reader::Float4Array => {
                let arg = pg_sys::pg_detoast_datum(datum.cast_mut_ptr());
                let mut array = RawArray::from_ptr(NonNull::new_unchecked(arg.cast()));
                let n = array.len();
                if array.dims().len() != 1 || n != d {
                    wrong_length(n, array.dims().len());
                }
                if array.any_nulls() {
                    null_element(func);
                }
                Cow::Borrowed(std::slice::from_raw_parts(array.data::<f32>().as_ptr() as *const f32, n))
            }
            Reader::Pgvector(t) => Cow::Owned(densify(func, "an embedding", t, datum, |n| {
                if n != d {
                    wrong_length(n, 1)
                }
            })),
            other => Cow::Owned(
                other
                    .values(func, "an embedding", datum, |n| {
                        if n != d {
                            wrong_length(n, 1)
                        }
                    })
                    .into_iter()
                    .map(|v| v.map(|v| v as f32).unwrap_or_else(|| null_element(func)))
                    .collect(),
            ),
        };
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

fn null_element(func: &str) -> ! {
    raise(NULL_VALUE_NOT_ALLOWED, format!("{func}: an embedding contains a NULL"), "Filter such rows out with a WHERE clause.")
}

// ---------------------------------------------------------------------------------------
// ml.kmeans_step

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_kmeans_step_transition(fcinfo: FunctionCallInfo) -> Datum {
    const F: &str = "ml.kmeans_step";
    // SAFETY: arguments are (ml.kmeans_state, an embedding, real[]), any of them NULL; in an
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
        lloyd::add_point(inertia, counts, sums, &x, c.data);
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
    // SAFETY: (an embedding, real[]), both non-null (strict).
    unsafe {
        let c = centres_arg(fcinfo, 1, "ml.nearest_centroid");
        let x = embedding_arg(fcinfo, 0, c.d, "ml.nearest_centroid");
        Datum::from(lloyd::nearest(&x, c.data).0 as i32)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_centroid_distance(fcinfo: FunctionCallInfo) -> Datum {
    // SAFETY: (an embedding, real[]), both non-null (strict).
    unsafe {
        let c = centres_arg(fcinfo, 1, "ml.centroid_distance");
        let x = embedding_arg(fcinfo, 0, c.d, "ml.centroid_distance");
        f64::from(lloyd::nearest(&x, c.data).1).sqrt().into_datum().unwrap_or(Datum::from(0))
    }
}

/// The cluster of the exemplar nearest to `embedding` (exemplars `m × d`, their clusters
/// `labels`), or -1 (noise) when it is farther than `max_distance`: how the rows outside a
/// clustered sample join its DBSCAN or HDBSCAN clusters (see docs/scale-out.md).
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn mlkit_nearest_exemplar(fcinfo: FunctionCallInfo) -> Datum {
    const F: &str = "ml.nearest_exemplar";
    // SAFETY: (an embedding, real[], int4[], float8), the first three non-null (checked), the
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
        let (j, s) = lloyd::nearest(&x, ex.data);
        let limit = (!pg_arg_is_null(fcinfo, 3)).then(|| f64::from_bits(pg_getarg_datum_raw(fcinfo, 3).value() as u64));
        let far = limit.is_some_and(|m| f64::from(s).sqrt() > m);
        Datum::from(if far { -1 } else { labels[j] })
    }
}
