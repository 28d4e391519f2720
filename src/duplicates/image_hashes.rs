//! The perceptual hashes `ml.phash`, `ml.dhash` and `ml.ahash` of image bytes (imagehash's,
//! bit for bit). Documented in docs/functions/near_duplicates.md.

use crate::shared::errors::{raise, INVALID_BINARY_REPRESENTATION, INVALID_PARAMETER_VALUE, PROGRAM_LIMIT_EXCEEDED};
use crate::shared::guc;
use mlkit::hash::image::{decode_grey, Grey, ImageError, Limits};
use mlkit::hash::{hex, perceptual};
use pgrx::prelude::*;

// ---------------------------------------------------------------------------------------
// Perceptual hashes

fn decode(fn_name: &str, image: &[u8]) -> Grey {
    decode_with(fn_name, image, decode_grey)
}

/// What decoding an image may use: `pg_mlkit.max_image_pixels`, and `pg_mlkit.max_memory_mb`
/// for its buffers, as any call's working memory.
pub(crate) fn limits() -> Limits {
    Limits { max_pixels: guc::MAX_IMAGE_PIXELS.get().max(1) as u64, max_bytes: guc::max_memory_bytes() }
}

/// Runs `decode` (a decoder, or a decoder and a hash) on `image` within [`limits`], raising
/// the SQL error that fits when it fails. The decoders return errors for bad input; a panic
/// inside one would be a bug in it, and is reported as an undecodable image rather than
/// reaching the user as a Rust panic.
pub(crate) fn decode_with<T>(fn_name: &str, image: &[u8], decode: impl Fn(&[u8], &Limits) -> Result<T, ImageError>) -> T {
    let limits = limits();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode(image, &limits)))
        .unwrap_or_else(|_| Err(ImageError::Malformed { format: "image", reason: "the decoder failed on it".into() }));
    result.unwrap_or_else(|e| match e {
        ImageError::Unrecognised => raise(
            INVALID_PARAMETER_VALUE,
            format!("{fn_name}: image is not a PNG or JPEG ({} bytes starting {})", image.len(), hex_prefix(image)),
            "Pass the bytes of a PNG or JPEG file.",
        ),
        ImageError::Malformed { .. } => raise(
            INVALID_BINARY_REPRESENTATION,
            format!("{fn_name}: image could not be decoded: {e}"),
            "The file is damaged or truncated; re-read or re-encode it.",
        ),
        ImageError::TooLarge { .. } => raise(
            PROGRAM_LIMIT_EXCEEDED,
            format!("{fn_name}: {e} (pg_mlkit.max_image_pixels)"),
            "A superuser can raise pg_mlkit.max_image_pixels if such images are expected; decoding needs about 1 to 3 bytes of memory a pixel.",
        ),
        ImageError::OverBudget { .. } => raise(
            PROGRAM_LIMIT_EXCEEDED,
            format!("{fn_name}: {e} (pg_mlkit.max_memory_mb)"),
            "Raise pg_mlkit.max_memory_mb (up to the server's setting) if such images are expected, or hash a smaller copy of the image.",
        ),
        ImageError::OutOfMemory { bytes } => crate::shared::errors::out_of_memory(bytes, &format!("{fn_name}: image of {} bytes", image.len())),
    })
}

fn hex_prefix(b: &[u8]) -> String {
    format!("'\\x{}{}'", hex::encode(&b[..b.len().min(8)]), if b.len() > 8 { "…" } else { "" })
}

/// imagehash's `phash(Image.open(...))` of PNG or JPEG bytes, as a bigint.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.phash(image bytea) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.phash(bytea) IS 'Perceptual hash (DCT) of a PNG or JPEG image, equal to imagehash.phash.';
"#)]
fn phash(image: &[u8]) -> i64 {
    perceptual::phash(&decode("ml.phash", image)) as i64
}

/// imagehash's `dhash(Image.open(...))` of PNG or JPEG bytes, as a bigint.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.dhash(image bytea) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.dhash(bytea) IS 'Difference hash of a PNG or JPEG image, equal to imagehash.dhash.';
"#)]
fn dhash(image: &[u8]) -> i64 {
    perceptual::dhash(&decode("ml.dhash", image)) as i64
}

/// imagehash's `average_hash(Image.open(...))` of PNG or JPEG bytes, as a bigint.
#[pg_extern(sql = r#"
CREATE FUNCTION ml.ahash(image bytea) RETURNS bigint
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.ahash(bytea) IS 'Average hash of a PNG or JPEG image, equal to imagehash.average_hash.';
"#)]
fn ahash(image: &[u8]) -> i64 {
    perceptual::ahash(&decode("ml.ahash", image)) as i64
}
