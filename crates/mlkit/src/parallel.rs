//! Fan-out over fixed-size row chunks with scoped threads.
//!
//! Rows are cut into chunks of a size the caller fixes, independent of the thread count.
//! Chunks run `threads` at a time ("waves"), and their results are handed to `merge` in
//! chunk order. Floating-point sums therefore add up in the same order whatever the
//! number of threads, so results are bit-for-bit reproducible across machines and
//! settings. Worker threads only see the slices they are handed; they never call the
//! caller's [`crate::Progress`] hook, so nothing PostgreSQL-specific runs on them.

use std::ops::Range;

/// Rows per chunk used by the algorithms: large enough to amortise a thread spawn, small
/// enough to balance two to sixteen threads on 10⁴–10⁶ rows.
pub const CHUNK_ROWS: usize = 4096;

/// The chunks `0..n` is cut into.
pub fn chunks(n: usize, chunk_rows: usize) -> impl Iterator<Item = Range<usize>> {
    let step = chunk_rows.max(1);
    (0..n.div_ceil(step)).map(move |c| c * step..((c + 1) * step).min(n))
}

/// Runs `work` on every chunk of `0..n`, handing each its own rows of `out` (every row
/// `width` wide), at most `threads` chunks at once, and passes the results to `merge` in
/// chunk order.
pub fn for_chunks_mut<T: Send, O: Send>(
    n: usize,
    chunk_rows: usize,
    threads: usize,
    out: &mut [O],
    width: usize,
    work: impl Fn(Range<usize>, &mut [O]) -> T + Sync,
    mut merge: impl FnMut(T),
) {
    assert_eq!(out.len(), n * width, "output buffer does not match {n} rows of width {width}");
    let mut pieces = Vec::new();
    let mut rest = out;
    for r in chunks(n, chunk_rows) {
        let (head, tail) = rest.split_at_mut(r.len() * width);
        pieces.push((r, head));
        rest = tail;
    }
    let threads = threads.max(1);
    if threads == 1 || pieces.len() == 1 {
        for (r, o) in pieces {
            merge(work(r, o));
        }
        return;
    }
    let mut pieces = pieces.into_iter().peekable();
    while pieces.peek().is_some() {
        let wave: Vec<_> = pieces.by_ref().take(threads).collect();
        let results: Vec<T> = std::thread::scope(|s| {
            let handles: Vec<_> = wave.into_iter().map(|(r, o)| s.spawn(|| work(r, o))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
                .collect()
        });
        results.into_iter().for_each(&mut merge);
    }
}

/// [`for_chunks_mut`] without an output buffer.
pub fn for_chunks<T: Send>(
    n: usize,
    chunk_rows: usize,
    threads: usize,
    work: impl Fn(Range<usize>) -> T + Sync,
    merge: impl FnMut(T),
) {
    let mut unit = vec![(); n];
    for_chunks_mut(n, chunk_rows, threads, &mut unit, 1, |r, _| work(r), merge);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_once_in_order() {
        for n in [0, 1, 5, 4096, 4097, 100_000] {
            let mut next = 0;
            for r in chunks(n, 4096) {
                assert_eq!(r.start, next);
                assert!(!r.is_empty());
                next = r.end;
            }
            assert_eq!(next, n);
        }
    }

    #[test]
    fn results_arrive_in_chunk_order_for_any_thread_count() {
        let n = 10_000;
        for threads in [1, 2, 3, 8] {
            let mut out = vec![0u32; n * 2];
            let mut seen = Vec::new();
            for_chunks_mut(
                n,
                1000,
                threads,
                &mut out,
                2,
                |r, chunk| {
                    for (i, row) in r.clone().zip(chunk.chunks_mut(2)) {
                        row[0] = i as u32;
                        row[1] = 1;
                    }
                    r.start
                },
                |start| seen.push(start),
            );
            assert_eq!(seen, (0..10).map(|c| c * 1000).collect::<Vec<_>>());
            assert!(out.chunks(2).enumerate().all(|(i, row)| row[0] == i as u32 && row[1] == 1));
        }
    }
}
