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
//! The embedding argument is `anycompatible`: its type is classified once per call site
//! (`shared::embedding_arg::Reader`), so a `real[]` is read in place and pgvector's `vector`,
//! `halfvec` and `sparsevec` from their bytes, without a cast per row.

mod fcinfo;
pub mod hist_agg;
pub mod kmeans_step;
pub mod quantile_sketch;
pub mod sample_hash;
