//! `ml.item_key`: an item id (stored as text) as a value of the source key's type, for joining
//! a run back to its source through the source's own index (`ml.run_items`, in
//! sql/schema/10_analysis.sql, is the set-returning form). Documented in
//! docs/functions/run_items.md.

use crate::shared::errors::{literal, raise};
use pgrx::prelude::*;
use pgrx::AnyElement;

/// `item_id` read by the input function of `id_type`'s type (only its type matters: pass a
/// typed NULL). NULL for a NULL id. Immutable: the same text always reads as the same value.
#[pg_extern(
    immutable,
    parallel_safe,
    sql = r#"
CREATE FUNCTION ml.item_key(item_id text, id_type anyelement) RETURNS anyelement
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.item_key(text, anyelement) IS
  'An item id (text) as a value of the type of id_type (pass a typed NULL: NULL::bigint, NULL::uuid), for joining a run to its source by its key.';
"#
)]
fn item_key(item_id: Option<&str>, _id_type: Option<AnyElement>, fcinfo: pg_sys::FunctionCallInfo) -> Option<AnyElement> {
    let item_id = item_id?;
    // SAFETY: the call's own fcinfo; argument 1 is the polymorphic id_type.
    let oid = unsafe { pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, 1) };
    let text = std::ffi::CString::new(item_id).unwrap_or_default();
    let datum = crate::shared::sql::input_value(oid, &text, |r| {
        raise(
            r.sql_error_code(),
            format!(
                "ml.item_key: item_id {} is not a value of id_type's type {}: {}",
                literal(item_id),
                crate::shared::sql::type_name(oid),
                r.message()
            ),
            "Pass a NULL of the type of the key the run read (its metrics.input.id_column): NULL::bigint, NULL::uuid, NULL::text.",
        )
    });
    // SAFETY: a non-null datum of type `oid`, just made by its input function.
    unsafe { AnyElement::from_polymorphic_datum(datum, false, oid) }
}
