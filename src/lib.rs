//! pg_mlkit: clustering analysis and ML monitoring inside PostgreSQL.
//!
//! The algorithms live in the `mlkit` crate (plain Rust, no PostgreSQL); this crate is the
//! thin SQL layer on top. One module per SQL area, named after it:
//!
//! | SQL                          | Rust                          |
//! |------------------------------|-------------------------------|
//! | `ml.cluster_embeddings(...)` | [`cluster::cluster_embeddings`] (its scan engine: [`cluster::scan`]) |
//! | `ml.centroids(...)` | [`cluster::centroids`] |
//! | `ml.suggest_eps(...)` | [`cluster::suggest_eps`] |
//! | `ml.reduce_embeddings(...)`  | [`reduce::reduce_embeddings`] (also the reduction stage of `ml.cluster_embeddings`) |
//! | `ml.transform(model, embedding)`, `ml.transform_table(model, source)` | [`reduce::transform`] |
//! | `ml.plot_run(...)`           | [`runs::plot_run`] |
//! | `ml.compare_runs(a, b)`      | [`runs::compare_runs`] |
//! | `ml.cluster_keywords(...)`   | [`runs::cluster_keywords`] (c-TF-IDF: `mlkit::text`) |
//! | `ml.item_key(...)`, `ml.run_items(...)` | [`runs::item_key`] (`ml.run_items`: `sql/schema/10_analysis.sql`) |
//! | `ml.options(function_name)` | [`help::options`] |
//! | `ml.load_analysis_run(...)`  | `sql/schema/90_load_analysis_run.sql` (plain SQL) |
//! | `ml.predict_cluster`, `ml.predict_clusters` | [`monitor::predict_cluster`] (DBSCAN/HDBSCAN placement: `mlkit::cluster::placement`; `ml.log_prediction`: `sql/schema/20_monitoring.sql`) |
//! | `ml.ks_2samp`, `ml.wasserstein_distance`, `ml.psi`, `ml.jensen_shannon_distance`, `ml.chi_square_test`, `ml.z_test_proportions` | [`monitor::drift_statistics`] |
//! | `ml.score_drift`             | [`monitor::score_drift`] (its sketch engine: [`monitor::score_drift_sketch`]) |
//! | `ml.hamming_distance`, `<^>`, `ml.hash_from_hex`, `ml.hash_to_hex`, `ml.hash_within`, `ml.hash_bands`, `ml.hash_blocks`, `ml.hash_probe`, `ml.hash_probe_bands`, `ml.hash_probe_blocks` | [`duplicates::hamming`] |
//! | `ml.phash`, `ml.dhash`, `ml.ahash` | [`duplicates::image_hashes`] |
//! | `ml.pdq`, `ml.pdq_dihedral` | [`duplicates::pdq`] (the method: `mlkit::hash::pdq`) |
//! | `ml.group_near_duplicates(...)` | [`duplicates::group_near_duplicates`] |
//! | `ml.kmeans_step`, `ml.kmeans_centroids`, `ml.kmeans_counts`, `ml.kmeans_sums`, `ml.kmeans_inertia`, `ml.nearest_centroid`, `ml.centroid_distance`, `ml.nearest_exemplar`, type `ml.kmeans_state` | [`scale_out::kmeans_step`] |
//! | `ml.hist_agg` | [`scale_out::hist_agg`] |
//! | `ml.quantile_sketch_agg`, `ml.sketch_quantile`, `ml.sketch_count`, `ml.sketch_rank_error`, `ml.sketch_ks`, `ml.sketch_wasserstein`, type `ml.quantile_sketch` | [`scale_out::quantile_sketch`] |
//! | `ml.sample_hash` | [`scale_out::sample_hash`] |
//! | tables of schema `ml`        | `sql/schema/*.sql`            |
//! | `ml.current_tenant()`        | [`shared::tenancy`] (`ml.grant_tenant`, `ml.revoke_tenant`, `ml.tenant_grants`: `sql/schema/00_common.sql`) |
//! | the stage audit's triggers   | [`shared::stage_audit`]       |
//! | settings `pg_mlkit.*`        | [`shared::guc`]               |
//!
//! Shared by the SQL areas ([`shared`]): [`shared::sql`] (the one way SQL is built: quoted,
//! qualified, typed), [`shared::source`] (reading a relation, the one cursor loop), [`shared::pgvector`] (pgvector's types), [`shared::embedding_arg`] (one embedding argument of any type), [`shared::registry`] (model
//! artifacts), [`shared::params`] (jsonb options), [`shared::errors`], [`shared::progress`]
//! (interrupts and NOTICEs); and [`runs`] (the `ml.analysis_runs` row, [`runs::writer`]'s
//! batched result writes). Dependencies run one way: an area uses `shared` and `runs`,
//! `runs` uses `shared`, `shared` uses nothing above it; [`help`] reads every area's option lists.

use pgrx::prelude::*;

/// Declares the version-1 calling convention of raw C functions (those whose arguments or
/// results pgrx has no type for), as `#[pg_extern]` would: `finfo_v1!(pg_finfo_NAME, ...)`.
macro_rules! finfo_v1 {
    ($($f:ident),* $(,)?) => {
        $(
            #[unsafe(no_mangle)]
            #[doc(hidden)]
            pub extern "C" fn $f() -> &'static pgrx::pg_sys::Pg_finfo_record {
                const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }
        )*
    };
}

pub mod cluster;
pub mod duplicates;
pub mod help;
pub mod monitor;
pub mod reduce;
pub mod runs;
pub mod scale_out;
pub mod shared;

::pgrx::pg_module_magic!();

// The schema, in dependency order. Every file is plain SQL; see sql/schema/.
extension_sql_file!("../sql/schema/00_common.sql", name = "common", bootstrap);
extension_sql_file!("../sql/schema/10_analysis.sql", name = "analysis", requires = ["common"]);
extension_sql_file!("../sql/schema/20_monitoring.sql", name = "monitoring", requires = ["analysis"]);
extension_sql_file!("../sql/schema/30_registry.sql", name = "registry", requires = ["monitoring"]);
extension_sql_file!("../sql/schema/40_training.sql", name = "training", requires = ["registry"]);
extension_sql_file!("../sql/schema/50_evaluation.sql", name = "evaluation", requires = ["training"]);
extension_sql_file!("../sql/schema/60_predictions.sql", name = "predictions", requires = ["evaluation"]);
extension_sql_file!("../sql/schema/70_experiments.sql", name = "experiments", requires = ["predictions"]);
extension_sql_file!("../sql/schema/80_drift.sql", name = "drift", requires = ["experiments"]);
extension_sql_file!("../sql/schema/85_monitoring_jobs.sql", name = "monitoring_jobs", requires = ["drift"]);
extension_sql_file!("../sql/schema/90_load_analysis_run.sql", name = "load_analysis_run", requires = ["monitoring_jobs"]);
extension_sql_file!("../sql/schema/95_comments.sql", name = "comments", requires = ["load_analysis_run"]);
extension_sql_file!("../sql/schema/99_finish.sql", name = "finish", finalize);

/// Registers the `pg_mlkit.*` settings when the library is loaded.
///
/// It also turns off Rust's backtrace capture unless the server's environment asks for it
/// with `RUST_LIB_BACKTRACE`: with `RUST_BACKTRACE=1` inherited from a shell, every ERROR
/// (which pgrx raises by unwinding) would carry a symbolised backtrace in its DETAIL, costing
/// milliseconds and memory — and, when the error is that memory ran out, the symbolising
/// itself fails to allocate and Rust aborts the backend.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: _PG_init runs on the backend's only thread, before this library starts any.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    shared::guc::register();
}
