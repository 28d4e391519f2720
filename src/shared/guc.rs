//! Settings (`SET pg_mlkit.…`), defined here and documented in docs/configuration.md and
//! docs/operating.md.
//!
//! The prefix `pg_mlkit` is reserved once the library is loaded: `SET pg_mlkit.thread = 4`
//! (a typo) is an error, not a silently ignored placeholder.
//!
//! The two resource limits, `pg_mlkit.threads` and `pg_mlkit.max_memory_mb`, are ordinary
//! settings an application may lower, but raising one above the server's configured value (its
//! *ceiling*: postgresql.conf, `ALTER SYSTEM` or the command line, else the built-in default)
//! takes a superuser or a role granted `SET ON PARAMETER` for it. The check is a check hook
//! ([`check_threads`], [`check_max_memory`]), so it applies to `SET`, `SET LOCAL`,
//! `set_config()`, `ALTER ROLE … SET` and function `SET` clauses alike.

use std::ffi::{c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicI32, Ordering};

use pgrx::{pg_guard, pg_sys, GucContext, GucFlags, GucRegistry, GucSetting};

/// `pg_mlkit.threads`: worker threads one call may use for its number crunching; 0 (the
/// default) means one per CPU core. Results do not depend on it.
pub static THREADS: GucSetting<i32> = GucSetting::<i32>::new(0);

/// `pg_mlkit.max_memory_mb`: the most working memory one call may plan to use, in MB.
/// Input that would need more is refused with SQLSTATE 54000 before it is read whole; a plan
/// the server cannot allocate even under the limit fails with 53200 ([`crate::shared::errors::ensure_allocatable`]).
pub static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(4096);

/// `pg_mlkit.progress_interval`: seconds between progress NOTICEs of a long call; 0 turns
/// them off. Short calls (under the interval) stay silent.
pub static PROGRESS_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(10);

/// `pg_mlkit.max_image_pixels`: the largest image (width × height) `ml.phash`, `ml.dhash` and
/// `ml.ahash` decode; a larger declared size is refused before any pixel is decoded. The
/// default is Pillow's own decompression-bomb threshold. Only a superuser may change it.
pub static MAX_IMAGE_PIXELS: GucSetting<i32> = GucSetting::<i32>::new(89_478_485);

/// `pg_mlkit.require_tenant`: when on, a session that has not set `app.tenant` gets an error
/// from every table of schema `ml` (and from `ml.current_tenant()`) instead of working in the
/// tenant 'default'. Only a superuser may change it.
pub static REQUIRE_TENANT: GucSetting<bool> = GucSetting::<bool>::new(false);

/// The server's configured values of the two limits (their ceilings), as the check hooks last
/// saw them set from the configuration file, the command line or the built-in default.
static THREADS_CEILING: AtomicI32 = AtomicI32::new(0);
static MAX_MEMORY_CEILING: AtomicI32 = AtomicI32::new(4096);

pub fn register() {
    // SAFETY: the hooks are #[pg_guard]ed and only read their arguments and the catalogs.
    unsafe {
        GucRegistry::define_int_guc_with_hooks(
            c"pg_mlkit.threads",
            c"Worker threads one pg_mlkit call may use (0 = one per CPU core).",
            c"Only the arithmetic runs on worker threads; results are the same for any value. Raising it above the server's setting takes a superuser.",
            &THREADS,
            0,
            1024,
            GucContext::Userset,
            GucFlags::default(),
            Some(check_threads),
            None,
            None,
        );
        GucRegistry::define_int_guc_with_hooks(
            c"pg_mlkit.max_memory_mb",
            c"Most working memory one pg_mlkit call may plan to use, in megabytes.",
            c"Input that would need more is refused with an error before it is read whole. Raising it above the server's setting takes a superuser.",
            &MAX_MEMORY_MB,
            1,
            i32::MAX,
            GucContext::Userset,
            GucFlags::UNIT_MB,
            Some(check_max_memory),
            None,
            None,
        );
    }
    GucRegistry::define_bool_guc(
        c"pg_mlkit.require_tenant",
        c"Refuse sessions that have not set app.tenant, instead of putting them in the tenant 'default'.",
        c"Only a superuser may change it; set it in postgresql.conf for a multi-tenant server.",
        &REQUIRE_TENANT,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_mlkit.max_image_pixels",
        c"Largest image, in pixels (width times height), that the perceptual hash functions decode.",
        c"Larger images are refused before decoding, as decompression bombs; the default is Pillow's threshold.",
        &MAX_IMAGE_PIXELS,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_mlkit.progress_interval",
        c"Seconds between progress NOTICEs of a long pg_mlkit call (0 = none).",
        c"",
        &PROGRESS_INTERVAL,
        0,
        86_400,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
    // SAFETY: a static C string; reserving a prefix only records it.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"pg_mlkit".as_ptr()) };
}

/// Threads as a count: 0 means one per core.
fn effective_threads(n: i32) -> i32 {
    if n > 0 {
        n
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as i32)
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn check_threads(newval: *mut c_int, _extra: *mut *mut c_void, source: pg_sys::GucSource::Type) -> bool {
    // SAFETY: PostgreSQL passes a valid pointer to the proposed value.
    let value = unsafe { *newval };
    check_ceiling(c"pg_mlkit.threads", value, source, &THREADS_CEILING, effective_threads, "threads")
}

#[pg_guard]
unsafe extern "C-unwind" fn check_max_memory(newval: *mut c_int, _extra: *mut *mut c_void, source: pg_sys::GucSource::Type) -> bool {
    // SAFETY: PostgreSQL passes a valid pointer to the proposed value.
    let value = unsafe { *newval };
    check_ceiling(c"pg_mlkit.max_memory_mb", value, source, &MAX_MEMORY_CEILING, |v| v, "MB")
}

/// The rule both limits share: a value from the server's configuration sets the ceiling; any
/// other source may set at most the ceiling unless the role is a superuser or holds
/// `SET ON PARAMETER` on the setting.
fn check_ceiling(
    name: &CStr,
    value: i32,
    source: pg_sys::GucSource::Type,
    ceiling: &AtomicI32,
    measure: fn(i32) -> i32,
    unit: &str,
) -> bool {
    if source < pg_sys::GucSource::PGC_S_GLOBAL {
        ceiling.store(value, Ordering::Relaxed);
        return true;
    }
    let limit = ceiling.load(Ordering::Relaxed);
    if measure(value) <= measure(limit) || may_raise(name) {
        return true;
    }
    let display = name.to_string_lossy();
    let msg = format!("only a superuser may raise {display} above the server's setting of {} {unit}, not to {value}", measure(limit));
    let hint = format!(
        "Lower values are allowed. A superuser can raise it (or GRANT SET ON PARAMETER {display} to a role), or change it for the server in postgresql.conf."
    );
    // SAFETY: GUC_check_err* take palloc'd strings, which PostgreSQL reads right after the hook returns.
    unsafe {
        pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as c_int);
        pg_sys::GUC_check_errmsg_string = pg_sys::pstrdup(CString::new(msg).unwrap_or_default().as_ptr());
        pg_sys::GUC_check_errhint_string = pg_sys::pstrdup(CString::new(hint).unwrap_or_default().as_ptr());
    }
    false
}

/// Whether the current role may set the limit above its ceiling.
fn may_raise(name: &CStr) -> bool {
    // SAFETY: plain catalog reads; check hooks outside the configuration file run inside a
    // transaction (SET, ALTER ROLE, session start and parallel workers restoring the leader's values).
    unsafe {
        pg_sys::superuser()
            || (pg_sys::IsTransactionState()
                && pg_sys::pg_parameter_aclcheck(name.as_ptr(), pg_sys::GetUserId(), pg_sys::ACL_SET as pg_sys::AclMode)
                    == pg_sys::AclResult::ACLCHECK_OK)
    }
}

/// The thread count to use now.
pub fn threads() -> usize {
    match THREADS.get() {
        n if n > 0 => n as usize,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// The memory limit in bytes.
pub fn max_memory_bytes() -> usize {
    MAX_MEMORY_MB.get().max(1) as usize * 1024 * 1024
}
