//! Near-duplicates in SQL: `ml.hamming_distance` (and its operator `<^>`),
//! `ml.hash_from_hex` / `ml.hash_to_hex`, the perceptual hashes `ml.phash`, `ml.dhash` and
//! `ml.ahash`, Meta's PDQ hash `ml.pdq` / `ml.pdq_dihedral`, the index helpers `ml.hash_bands` / `ml.hash_probe`, and
//! `ml.group_near_duplicates`. Documented in docs/functions/near_duplicates.md.

pub mod group_near_duplicates;
pub mod hamming;
pub mod image_hashes;
pub mod pdq;
