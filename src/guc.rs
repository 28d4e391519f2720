//! Settings (`SET pg_mlkit.…`), defined here and documented in docs/configuration.md.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `pg_mlkit.threads`: worker threads one call may use for its number crunching; 0 (the
/// default) means one per CPU core. Results do not depend on it.
pub static THREADS: GucSetting<i32> = GucSetting::<i32>::new(0);

/// `pg_mlkit.max_memory_mb`: the most working memory one call may plan to use, in MB.
/// Input that would need more is refused with SQLSTATE 54000 before it is read whole.
pub static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(4096);

/// `pg_mlkit.progress_interval`: seconds between progress NOTICEs of a long call; 0 turns
/// them off. Short calls (under the interval) stay silent.
pub static PROGRESS_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(10);

/// `pg_mlkit.max_image_pixels`: the largest image (width × height) `ml.phash`, `ml.dhash` and
/// `ml.ahash` decode; a larger declared size is refused before any pixel is decoded. The
/// default is Pillow's own decompression-bomb threshold. Only a superuser may change it.
pub static MAX_IMAGE_PIXELS: GucSetting<i32> = GucSetting::<i32>::new(89_478_485);

pub fn register() {
    GucRegistry::define_int_guc(
        c"pg_mlkit.threads",
        c"Worker threads one pg_mlkit call may use (0 = one per CPU core).",
        c"Only the arithmetic runs on worker threads; results are the same for any value.",
        &THREADS,
        0,
        1024,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_mlkit.max_memory_mb",
        c"Most working memory one pg_mlkit call may plan to use, in megabytes.",
        c"Input that would need more is refused with an error before it is read whole.",
        &MAX_MEMORY_MB,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"pg_mlkit.max_image_pixels",
        c"Largest image, in pixels (width times height), that the perceptual hash functions decode.",
        c"Larger images are refused before decoding, as decompression bombs; the default is Pillow's threshold.",
        &MAX_IMAGE_PIXELS,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_mlkit.progress_interval",
        c"Seconds between progress NOTICEs of a long pg_mlkit call (0 = none).",
        c"",
        &PROGRESS_INTERVAL,
        0,
        86_400,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
}

/// The thread count to use now.
pub fn threads() -> usize {
    match THREADS.get() {
        n if n > 0 => n as usize,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// The memory limit in bytes.
pub fn max_memory_bytes() -> usize {
    MAX_MEMORY_MB.get().max(1) as usize * 1024 * 1024
}
