//! The function-call interface the types and aggregates of this area are written against:
//! arguments and results of raw version-1 C functions.

use crate::shared::errors::raise;
use pgrx::array::RawArray;
use pgrx::fcinfo::pg_getarg_datum_raw;
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use std::ptr::NonNull;

// ---------------------------------------------------------------------------------------
// The function-call interface, shared by the types and aggregates below

/// Argument 0 of an input function: the text (not NUL-containing; invalid UTF-8 replaced).
pub(super) unsafe fn cstring_arg(fcinfo: FunctionCallInfo) -> String {
    // SAFETY: argument 0 of a type's input function is a non-null cstring.
    unsafe { std::ffi::CStr::from_ptr(pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<std::ffi::c_char>()).to_string_lossy().into_owned() }
}

/// An output function's result: `text` as a palloc'd cstring.
pub(super) fn cstring_datum(text: String) -> Datum {
    // SAFETY: pstrdup copies the NUL-terminated string into the current memory context.
    unsafe { Datum::from(pg_sys::pstrdup(std::ffi::CString::new(text).unwrap_or_default().as_ptr())) }
}

/// Argument 0 of a receive function: the message's unread bytes, marked as read.
pub(super) unsafe fn message_bytes<'a>(fcinfo: FunctionCallInfo) -> &'a [u8] {
    // SAFETY: argument 0 of a receive function is the message's StringInfo (type internal).
    unsafe {
        let buf = pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
        let all = std::slice::from_raw_parts((*buf).data as *const u8, (*buf).len as usize);
        let rest = &all[(*buf).cursor as usize..];
        (*buf).cursor = (*buf).len;
        rest
    }
}

/// What a call site keeps in `fn_extra`, allocated in `fn_mcxt` (which lives as long as the
/// call site): the last array argument checked (centroids, bin edges), and how the embedding
/// argument is read, worked out on the first row ([`super::kmeans_step`]).
pub(super) struct CallSite {
    kept: *mut pg_sys::varlena,
    /// Where `kept` is allocated.
    context: pg_sys::MemoryContext,
    pub(super) embedding: Option<crate::shared::embedding_arg::Reader>,
    /// The function this site is for, and its C entry point (the backend's site, below,
    /// serves one at a time).
    function: (pg_sys::Oid, pg_sys::PGFunction),
}

/// The site of calls made without an expression: Citus's `worker_partial_agg` calls the
/// transition function so, through a fresh `FmgrInfo` for every row, so `fn_extra` never
/// outlives a row. One per backend, for the function last called so, in the memory of the
/// aggregate (or, outside one, of the transaction): a reset callback forgets the site when
/// that memory goes, so a kept array never outlives the query that passed it.
struct BackendSite(std::cell::UnsafeCell<Option<CallSite>>);
// SAFETY: a backend runs its SQL functions on one thread; worker threads never call them.
unsafe impl Sync for BackendSite {}
static BACKEND_SITE: BackendSite = BackendSite(std::cell::UnsafeCell::new(None));

/// Forgets the backend's site when the memory it lives in (`arg`) is reset or deleted.
unsafe extern "C-unwind" fn forget_backend_site(arg: *mut std::ffi::c_void) {
    // SAFETY: called by PostgreSQL on the backend's thread, outside any call of ours.
    let site = unsafe { &mut *BACKEND_SITE.0.get() };
    if matches!(site, Some(s) if s.context.cast::<std::ffi::c_void>() == arg) {
        *site = None;
    }
}

/// This call site's [`CallSite`], made (empty) on the first call: in `fn_extra` when the call
/// has an expression (every call a query plans), else the backend's site.
pub(super) unsafe fn call_site<'a>(fcinfo: FunctionCallInfo) -> &'a mut CallSite {
    // SAFETY: fn_extra is ours: NULL, or a CallSite made here in fn_mcxt. BACKEND_SITE is
    // touched only on the backend's thread, by one call at a time.
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        let function = ((*flinfo).fn_oid, (*flinfo).fn_addr);
        if (*flinfo).fn_expr.is_null() {
            let mut context: pg_sys::MemoryContext = std::ptr::null_mut();
            if pg_sys::AggCheckCallContext(fcinfo, &mut context) == 0 {
                context = pg_sys::CurTransactionContext;
            }
            let site = &mut *BACKEND_SITE.0.get();
            if !matches!(site, Some(s) if s.function == function && s.context == context) {
                // A site still here has a live context (its callback would have cleared it).
                if let Some(old) = site.take() {
                    if !old.kept.is_null() {
                        pg_sys::pfree(old.kept.cast());
                    }
                }
                let callback = pg_sys::MemoryContextAlloc(context, std::mem::size_of::<pg_sys::MemoryContextCallback>())
                    as *mut pg_sys::MemoryContextCallback;
                callback.write(pg_sys::MemoryContextCallback {
                    func: Some(forget_backend_site),
                    arg: context.cast(),
                    next: std::ptr::null_mut(),
                });
                pg_sys::MemoryContextRegisterResetCallback(context, callback);
                *site = Some(CallSite { kept: std::ptr::null_mut(), context, embedding: None, function });
            }
            return site.get_or_insert_with(|| unreachable!());
        }
        if (*flinfo).fn_extra.is_null() {
            let site = pg_sys::MemoryContextAlloc((*flinfo).fn_mcxt, std::mem::size_of::<CallSite>()) as *mut CallSite;
            site.write(CallSite { kept: std::ptr::null_mut(), context: (*flinfo).fn_mcxt, embedding: None, function });
            (*flinfo).fn_extra = site.cast();
        }
        &mut *((*flinfo).fn_extra as *mut CallSite)
    }
}

/// The type of argument `i`: the call expression's (an `anycompatible` argument is whatever
/// the caller passed), or, when the caller gave no expression, the type the function declares
/// for it. Citus's `worker_partial_agg` calls an aggregate's transition function so: without
/// an expression and with a fresh `FmgrInfo` per row. `InvalidOid` when neither says (a
/// polymorphic argument called without an expression).
pub(super) unsafe fn arg_type(fcinfo: FunctionCallInfo, i: usize) -> pg_sys::Oid {
    // SAFETY: flinfo is the call's; fn_oid is the function being called.
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        let oid = pg_sys::get_fn_expr_argtype(flinfo, i as i32);
        if oid != pg_sys::InvalidOid || (*flinfo).fn_oid == pg_sys::InvalidOid {
            return oid;
        }
        let declared = pgrx::pg_catalog::pg_proc::PgProc::new((*flinfo).fn_oid)
            .and_then(|proc| proc.proargtypes().get(i).copied())
            .unwrap_or(pg_sys::InvalidOid);
        // A pseudo-type (anycompatible, anyelement, …) says nothing of the value.
        if declared == pg_sys::InvalidOid || pg_sys::get_typtype(declared) as u8 == b'p' {
            pg_sys::InvalidOid
        } else {
            declared
        }
    }
}

/// Argument `i`, a non-null array kept in the [`CallSite`]: the kept copy when the argument's
/// bytes are those of last time, else the argument checked by `check` and copied into
/// the site's context. Returns the kept array.
pub(super) unsafe fn kept_arg(fcinfo: FunctionCallInfo, i: usize, check: impl FnOnce(*mut pg_sys::varlena)) -> RawArray {
    // SAFETY: argument `i` is a non-null varlena; the kept copy is NULL or made here.
    unsafe {
        let site = call_site(fcinfo);
        let arg = pg_sys::pg_detoast_datum(pg_getarg_datum_raw(fcinfo, i).cast_mut_ptr());
        let size = pgrx::varsize_any(arg);
        let kept = site.kept;
        let same = !kept.is_null()
            && pgrx::varsize_any(kept) == size
            && std::slice::from_raw_parts(kept as *const u8, size) == std::slice::from_raw_parts(arg as *const u8, size);
        if !same {
            check(arg);
            if !kept.is_null() {
                pg_sys::pfree(kept.cast());
                site.kept = std::ptr::null_mut();
            }
            let copy = pg_sys::MemoryContextAlloc(site.context, size) as *mut pg_sys::varlena;
            std::ptr::copy_nonoverlapping(arg as *const u8, copy as *mut u8, size);
            site.kept = copy;
        }
        RawArray::from_ptr(NonNull::new_unchecked(site.kept.cast()))
    }
}

/// Refuses (54000) an aggregate state of `size` bytes over `pg_mlkit.max_memory_mb`, which
/// bounds every state as it bounds a call's working memory. `what` names the state (built
/// only on refusal).
pub(super) fn state_within_budget(size: usize, what: impl FnOnce() -> String) {
    let limit = crate::shared::guc::max_memory_bytes();
    if size > limit {
        raise(
            crate::shared::errors::PROGRAM_LIMIT_EXCEEDED,
            format!("{} needs {} MB, over pg_mlkit.max_memory_mb = {} MB", what(), size.div_ceil(1 << 20), limit >> 20),
            "Raise pg_mlkit.max_memory_mb (up to the server's setting), or aggregate less at once: fewer centroids or dimensions for ml.kmeans_step, a smaller k for ml.quantile_sketch_agg.",
        );
    }
}

/// Argument `i`, a non-null `ml.kmeans_state`, detoasted (possibly a copy).
pub(super) unsafe fn state_arg(fcinfo: FunctionCallInfo, i: usize) -> *mut pg_sys::varlena {
    // SAFETY: the caller says argument `i` is a non-null varlena.
    unsafe { pg_sys::pg_detoast_datum(pg_getarg_datum_raw(fcinfo, i).cast_mut_ptr()) }
}

/// The state to update: argument 0 detoasted, copied unless it is the aggregate's own.
pub(super) unsafe fn own_arg(fcinfo: FunctionCallInfo, in_aggregate: bool) -> *mut pg_sys::varlena {
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
