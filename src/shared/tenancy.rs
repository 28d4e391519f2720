//! `ml.current_tenant()`: the tenant of this session, which every table's `tenant_id` default
//! and row-level security policy read (docs/tenancy.md, docs/security.md).
//!
//! The tenant is the `app.tenant` setting, or 'default' when it is unset or empty. Any role can
//! set `app.tenant`, so the setting alone proves nothing: a role may work in a tenant only if
//! it was granted to PUBLIC or to a role it is a member of (`ml.grant_tenant`, table
//! `ml.tenant_access`). The owner of the extension, superusers and BYPASSRLS roles are exempt:
//! they bypass the policies anyway, and their jobs set the tenant they work for.
//!
//! It is C rather than SQL so that reading it loads this library, and with it the setting
//! `pg_mlkit.require_tenant`: a SQL function would read a placeholder that any session could
//! have set before the library was loaded.
//!
//! The policies call it for every row, so the answer is kept for the rest of the statement:
//! the cache is keyed by role, tenant, transaction, command and statement start, so a grant or
//! revoke another session commits is seen by the next statement (under READ COMMITTED; a
//! REPEATABLE READ transaction sees the grants of its snapshot), and `SET ROLE` or a change of
//! `app.tenant` is never served an old answer.

use std::cell::RefCell;
use std::ffi::CStr;

use pgrx::prelude::*;

use crate::shared::errors::{literal, raise, spi};
use crate::shared::guc;

/// The last answer: for which role, transaction, command and statement start, for which
/// tenant, and whether the role may work in it.
struct Checked {
    at: (pg_sys::Oid, u32, u32, i64),
    tenant: String,
    ok: bool,
}

thread_local! {
    static CHECKED: RefCell<Option<Checked>> = const { RefCell::new(None) };
}

/// The session's tenant: the `app.tenant` setting, or 'default' when it is unset or empty —
/// unless `pg_mlkit.require_tenant` is on, when that is an error (SQLSTATE 42501). A tenant
/// the current role was not granted is an error too (42501).
/// Declared in sql/schema/00_common.sql, before the tables that use it.
#[pg_extern(sql = false, stable, parallel_safe)]
pub(crate) fn current_tenant() -> String {
    // SAFETY: GetConfigOption returns NULL or a pointer to the setting's current value, valid
    // until the setting changes; it is copied at once.
    let value = unsafe {
        let p = pg_sys::GetConfigOption(c"app.tenant".as_ptr(), true, false);
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    };
    let tenant = match value {
        Some(t) if !t.is_empty() => t,
        _ if guc::REQUIRE_TENANT.get() => raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "this session has no tenant: app.tenant is not set, and pg_mlkit.require_tenant is on",
            "SET app.tenant = '...' to a tenant this role was granted (see ml.tenant_grants) before using schema ml.",
        ),
        _ => "default".to_owned(),
    };
    if !may_work_in(&tenant) {
        let role = current_role_name();
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("role \"{role}\" may not work in tenant {}", literal(&tenant)),
            format!(
                "The owner of pg_mlkit grants it: SELECT ml.grant_tenant({}, {}); ml.tenant_grants lists the tenants this role may use.",
                literal(&role),
                literal(&tenant)
            ),
        );
    }
    tenant
}

/// The current role's name (`current_user`).
pub fn current_role_name() -> String {
    // SAFETY: GetUserId is the current role; GetUserNameFromId with noerr returns NULL or a palloc'd name.
    unsafe {
        let p = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), true);
        if p.is_null() {
            "?".to_owned()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// Whether the current role may work in `tenant` (see the module's documentation).
fn may_work_in(tenant: &str) -> bool {
    // Every policy check of a statement asks again: answered from the cache, without a
    // catalog lookup or an allocation.
    // SAFETY: plain reads of the backend's current role and transaction state.
    let at = unsafe {
        let user = pg_sys::GetUserId();
        (user, (*pg_sys::MyProc).lxid, pg_sys::GetCurrentCommandId(false), pg_sys::GetCurrentStatementStartTimestamp())
    };
    if let Some(ok) = CHECKED.with(|c| c.borrow().as_ref().filter(|k| k.at == at && k.tenant == tenant).map(|k| k.ok)) {
        return ok;
    }
    // SAFETY: plain catalog checks of the current role.
    if unsafe { pg_sys::superuser_arg(at.0) || pg_sys::has_bypassrls_privilege(at.0) } {
        CHECKED.with(|c| *c.borrow_mut() = Some(Checked { at, tenant: tenant.to_owned(), ok: true }));
        return true;
    }
    // Read as the calling role, every name qualified: ml.tenant_access's own policy shows a
    // role only the grants that concern it, which is all this asks.
    let ok = Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT pg_catalog.pg_has_role(e.extowner, 'MEMBER')
                        OR EXISTS (SELECT 1 FROM ml.tenant_access a
                                    WHERE a.granted AND a.tenant OPERATOR(pg_catalog.=) $1
                                      AND (a.role_name OPERATOR(pg_catalog.=) 'public'::pg_catalog.text
                                           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                                                       WHERE r.rolname OPERATOR(pg_catalog.=) a.role_name::pg_catalog.name
                                                         AND pg_catalog.pg_has_role(r.oid, 'MEMBER'))))
                   FROM pg_catalog.pg_extension e
                  WHERE e.extname OPERATOR(pg_catalog.=) 'pg_mlkit'::pg_catalog.name",
                None,
                &[tenant.into()],
            ),
            "check the session's tenant",
        );
        spi(t.first().get_one::<bool>(), "check the session's tenant").unwrap_or(false)
    });
    CHECKED.with(|c| *c.borrow_mut() = Some(Checked { at, tenant: tenant.to_owned(), ok }));
    ok
}
