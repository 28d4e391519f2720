//! What pg_mlkit needs to know about Citus, which it never requires: whether it is installed
//! (the scan engine then passes embeddings as `real[]`, the type Citus pushes aggregates down
//! for), and whether this backend is a worker running part of a distributed query, where
//! pg_mlkit's tables (local to the coordinator) are not. docs/scale-out.md, "On Citus".

use crate::shared::errors::{raise, spi, FEATURE_NOT_SUPPORTED};
use pgrx::pg_sys;
use std::ffi::CStr;

/// The `application_name` Citus gives the connections it opens to run a distributed query's
/// tasks (Citus's `CITUS_APPLICATION_NAME_PREFIX`).
const TASK_APPLICATION_NAME: &str = "citus_internal gpid=";

/// Whether Citus is installed in this database (its tables may be the source).
pub fn installed(c: &pgrx::spi::SpiClient<'_>) -> bool {
    let q = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus')";
    spi(c.select(q, None, &[]), "look for Citus").first().get::<bool>(1).ok().flatten().unwrap_or(false)
}

/// Refuses (0A000) to look a model up in a Citus task: a query over a distributed table runs
/// a function of its select list on the workers, whose `ml` tables are empty (or, worse, hold
/// something else). The hint gives the forms that do run on the shards.
pub fn refuse_model_lookup_in_task(func: &str) {
    // SAFETY: GetConfigOption returns NULL or the setting's current value, copied at once.
    let name = unsafe {
        let p = pg_sys::GetConfigOption(c"application_name".as_ptr(), true, false);
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    };
    if name.is_some_and(|n| n.starts_with(TASK_APPLICATION_NAME)) {
        raise(
            FEATURE_NOT_SUPPORTED,
            format!("{func} was called on a Citus worker, for a query over a distributed table: pg_mlkit's models are on the coordinator"),
            "Score a whole table with ml.predict_clusters('model', 'table') (it runs on the coordinator), or compute the clusters on the shards with ml.nearest_centroid(embedding, (SELECT array_agg(centroid ORDER BY cluster) FROM ml.centroids('model'))).",
        );
    }
}
