//! `ml.current_tenant()`: the tenant of this session, which every table's `tenant_id` default
//! and row-level security policy read (docs/tenancy.md).
//!
//! It is C rather than SQL so that reading it loads this library, and with it the setting
//! `pg_mlkit.require_tenant`: a SQL function would read a placeholder that any session could
//! have set before the library was loaded.

use std::ffi::CStr;

use pgrx::prelude::*;

use crate::errors::raise;
use crate::guc;

/// The session's tenant: the `app.tenant` setting, or 'default' when it is unset or empty —
/// unless `pg_mlkit.require_tenant` is on, when that is an error (SQLSTATE 42501).
/// Declared in sql/schema/00_common.sql, before the tables that use it.
#[pg_extern(sql = false, stable, parallel_safe)]
fn current_tenant() -> String {
    // SAFETY: GetConfigOption returns NULL or a pointer to the setting's current value, valid
    // until the setting changes; it is copied at once.
    let value = unsafe {
        let p = pg_sys::GetConfigOption(c"app.tenant".as_ptr(), true, false);
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    };
    match value {
        Some(t) if !t.is_empty() => t,
        _ if guc::REQUIRE_TENANT.get() => raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "this session has no tenant: app.tenant is not set, and pg_mlkit.require_tenant is on",
            "SET app.tenant = '...' (or set it for the role with ALTER ROLE ... SET app.tenant) before using schema ml.",
        ),
        _ => "default".to_owned(),
    }
}
