//! `ml.sample_hash`: a seeded sample that parallel workers and shards agree on.

use mlkit::cluster::lloyd;
use pgrx::prelude::*;

/// A number in [0, 1) determined by `id` and `seed` alone, the same on every server and in
/// every release: `WHERE ml.sample_hash(id::text, 42) < 0.01` keeps a fixed 1 % sample that
/// parallel workers and shards agree on (`random()` is parallel restricted and unseeded per row).
#[pg_extern(sql = r#"
CREATE FUNCTION ml.sample_hash(id text, seed bigint DEFAULT 0) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.sample_hash(text, bigint) IS
  'A number in [0, 1) determined by the id and the seed alone: a seeded sample that parallel workers and shards agree on.';
"#)]
fn sample_hash(id: &str, seed: i64) -> f64 {
    lloyd::sample_hash(id.as_bytes(), seed as u64)
}
