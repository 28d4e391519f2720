//! The audit of model stage changes, `ml.model_stage_transitions` (docs/models.md): rows are
//! written by `ml.model_registry`'s own trigger and by nothing else.
//!
//! Both trigger functions are in Rust because the guard must know who is inserting, and SQL
//! cannot tell: `pg_trigger_depth() > 1` is true inside any nested trigger, including one on
//! the caller's own temporary table. Here the registry's trigger raises [`RECORDING`] for
//! exactly its own `INSERT` (no user code runs inside it: the audit table has no triggers but
//! the guard, and its defaults and checks are the extension's), and the guard lets a
//! non-owner's insert through only while it is raised. Declared in sql/schema/30_registry.sql.

use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::WhoAllocated;

use crate::shared::errors::{raise, spi, DATATYPE_MISMATCH, FEATURE_NOT_SUPPORTED};
use crate::shared::tenancy::current_role_name;

/// The row the registry's trigger is inserting: tenant, model id, from, to, name, version.
type Row = (Option<String>, Option<i64>, Option<String>, Option<String>, Option<String>, Option<String>);

thread_local! {
    /// The audit rows the registry's trigger is inserting right now (a stack: cascades may
    /// nest), each with whether the guard has let it through. Popped by [`Recording`]'s drop,
    /// also when the insert fails.
    static RECORDING: RefCell<Vec<(Row, bool)>> = const { RefCell::new(Vec::new()) };
}

struct Recording;

impl Recording {
    fn start(row: Row) -> Recording {
        RECORDING.with(|r| r.borrow_mut().push((row, false)));
        Recording
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDING.with(|r| r.borrow_mut().pop());
    }
}

fn text(t: &PgHeapTuple<'_, impl WhoAllocated>, table: &str, col: &str) -> Option<String> {
    t.get_by_name::<String>(col).unwrap_or_else(|e| unreadable(table, col, e))
}

fn bigint(t: &PgHeapTuple<'_, impl WhoAllocated>, table: &str, col: &str) -> Option<i64> {
    t.get_by_name::<i64>(col).unwrap_or_else(|e| unreadable(table, col, e))
}

fn unreadable(table: &str, col: &str, e: impl std::fmt::Display) -> ! {
    raise(DATATYPE_MISMATCH, format!("{table}.{col} could not be read: {e}"), "The table's columns were changed; restore them.")
}

/// `AFTER UPDATE OF stage ON ml.model_registry`: records a stage that changed, with the role
/// that changed it and the model's name and version (kept when the model is deleted).
/// Inserts are not changes (a new model's stage is in its row), which also keeps pg_restore,
/// whose COPY inserts, from recording twice.
#[pg_trigger(sql = false)]
fn record_stage_transition<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, PgHeapTupleError> {
    const T: &str = "ml.model_registry";
    let (Some(new), Some(old)) = (trigger.new(), trigger.old()) else {
        raise(
            FEATURE_NOT_SUPPORTED,
            "ml.record_stage_transition must be an AFTER UPDATE row trigger",
            "It is the trigger of ml.model_registry.",
        );
    };
    let (from, to) = (text(&old, T, "stage"), text(&new, T, "stage"));
    if from != to {
        let row: Row = (text(&new, T, "tenant_id"), bigint(&new, T, "id"), from, to, text(&new, T, "name"), text(&new, T, "version"));
        let _recording = Recording::start(row.clone());
        let written = Spi::connect_mut(|c| {
            let t = spi(
                c.update(
                    "INSERT INTO ml.model_stage_transitions (tenant_id, model_id, from_stage, to_stage, changed_by, transitioned_at, model_name, model_version)
                     VALUES ($1, $2, $3, $4, CURRENT_USER, pg_catalog.now(), $5, $6)
                     RETURNING tenant_id, model_id, from_stage, to_stage, model_name, model_version, reason IS NULL AND changed_by OPERATOR(pg_catalog.=) CURRENT_USER",
                    None,
                    &[row.0.clone().into(), row.1.into(), row.2.clone().into(), row.3.clone().into(), row.4.clone().into(), row.5.clone().into()],
                ),
                "record the stage change",
            );
            let r = t.first();
            let w: Row = (
                spi(r.get(1), "record the stage change"),
                spi(r.get(2), "record the stage change"),
                spi(r.get(3), "record the stage change"),
                spi(r.get(4), "record the stage change"),
                spi(r.get(5), "record the stage change"),
                spi(r.get(6), "record the stage change"),
            );
            (w, spi(r.get::<bool>(7), "record the stage change").unwrap_or(false))
        });
        // Whatever ran inside the insert, the row written must be the one recorded.
        if written != (row, true) {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                "ml.model_stage_transitions: the audit row was changed while it was written",
                "Only the registry's own trigger writes the audit; remove triggers that change ml.model_stage_transitions.",
            );
        }
    }
    Ok(Some(new))
}

/// `BEFORE INSERT OR UPDATE OR DELETE ON ml.model_stage_transitions`: append-only for every
/// role but the owner of the table (and superusers), who may write anything (restores,
/// corrections); others' rows come only from [`record_stage_transition`], and each of its
/// inserts lets exactly the row it is writing through, once.
#[pg_trigger(sql = false)]
fn guard_stage_audit<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, PgHeapTupleError> {
    const T: &str = "ml.model_stage_transitions";
    let relid = trigger.relid().unwrap_or_else(|_| {
        raise(FEATURE_NOT_SUPPORTED, "ml.guard_stage_audit must be a row trigger", "It is the trigger of ml.model_stage_transitions.")
    });
    // The owner, as the other guards count it: a member of the table's owner role.
    let owner = Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT pg_catalog.pg_has_role(r.relowner, 'MEMBER') FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) $1",
                None,
                &[relid.into()],
            ),
            "check the audit's owner",
        );
        spi(t.first().get_one::<bool>(), "check the audit's owner").unwrap_or(false)
    });
    let op = trigger.op().ok();
    if owner {
        return Ok(if matches!(op, Some(PgTriggerOperation::Delete)) { trigger.old() } else { trigger.new() });
    }
    if let (Some(PgTriggerOperation::Insert), Some(new)) = (&op, trigger.new()) {
        let row: Row = (
            text(&new, T, "tenant_id"),
            bigint(&new, T, "model_id"),
            text(&new, T, "from_stage"),
            text(&new, T, "to_stage"),
            text(&new, T, "model_name"),
            text(&new, T, "model_version"),
        );
        let clean = text(&new, T, "reason").is_none() && text(&new, T, "changed_by") == Some(current_role_name());
        let expected = RECORDING.with(|r| match r.borrow_mut().last_mut() {
            Some((want, used)) if !*used && clean && *want == row => {
                *used = true;
                true
            }
            _ => false,
        });
        if expected {
            return Ok(Some(new));
        }
    }
    let verb = match op {
        Some(PgTriggerOperation::Insert) => "INSERT",
        Some(PgTriggerOperation::Update) => "UPDATE",
        Some(PgTriggerOperation::Delete) => "DELETE",
        _ => "this change",
    };
    raise(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("ml.model_stage_transitions is append-only: {verb} by role {} is not allowed", current_role_name()),
        "Rows are added when a model's stage changes (UPDATE ml.model_registry SET stage = ...); only the owner of the table may change or remove them.",
    )
}
