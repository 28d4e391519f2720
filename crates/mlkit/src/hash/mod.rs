//! Near-duplicate detection: Hamming distance, perceptual image hashes, radius search and
//! duplicate groups.
//!
//! | module | what |
//! |---|---|
//! | [`hamming`] | bit distances, with hardware popcount when the CPU has it |
//! | [`hex`] | hashes and digests as hex text, as imagehash and `sha256sum` print them |
//! | [`image`] | PNG and JPEG bytes to Pillow's grey picture |
//! | [`resample`] | Pillow's Lanczos resize, to the bit |
//! | [`dct`] | SciPy's type-II DCT, to the bit |
//! | [`perceptual`] | imagehash's `phash`, `dhash` and `average_hash` |
//! | [`pdq`] | Meta's PDQ hash and its 8 dihedral hashes, as PyPI `pdqhash` 0.2.8, to the bit |
//! | [`radius`] | every hash within a Hamming radius: multi-index hashing |
//! | [`groups`] | exact and near-duplicate groups, with confidence and type (seed 003) |

pub mod dct;
pub mod groups;
pub mod hamming;
pub mod hex;
pub mod image;
pub mod pdq;
pub mod perceptual;
pub mod radius;
pub mod resample;
