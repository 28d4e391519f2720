//! The execution context every algorithm runs in: how many threads it may use, the caller's
//! progress hook (where the PostgreSQL layer checks for cancel), and the memory budget. It is
//! kept apart from each algorithm's own parameters, so that `Params` say *what* to compute
//! and [`Exec`] says *how*.
//!
//! # Threads
//!
//! One worker pool serves the whole process (rayon's, built on first use with the thread
//! count asked for, rebuilt only when a caller asks for another count). Its threads are
//! spawned with every signal blocked, so PostgreSQL's signal handlers (cancel, timeout,
//! latch) only ever run on the backend's own thread. Worker threads only see the slices
//! they are handed: they never call the [`Progress`] hook and never touch PostgreSQL.
//!
//! # Determinism
//!
//! Rows are cut into chunks whose size the *algorithm* fixes, never the thread count.
//! Chunks run a wave at a time, and their results are merged in chunk order on the calling
//! thread, so floating-point sums add up in the same order whatever the number of threads:
//! the same input gives bit-for-bit the same output for any `threads` (on one kind of CPU;
//! the SIMD kernels of [`crate::linalg`] add in another order than the portable ones).
//!
//! # Cancellation
//!
//! Between waves, on the calling thread, the hook is told how far the pass is
//! ([`Step::Pass`]). A wave is at most [`WAVE_CHUNKS`] chunks per thread, small enough that
//! the hook runs many times a second in every pass; the PostgreSQL hook checks for
//! interrupts there, and its error unwinds out of the algorithm on the calling thread.

use crate::{Progress, Step};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Chunks per thread in one wave, between two calls of the progress hook.
pub const WAVE_CHUNKS: usize = 2;

/// Why an algorithm refused to go on.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryLimit {
    /// What the step would need, in bytes.
    pub needed: usize,
    /// The budget, in bytes.
    pub limit: usize,
    /// What needed it ("DBSCAN neighbour lists", ...).
    pub what: &'static str,
}

impl std::fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} need {} MB, over the {} MB", self.what, self.needed.div_ceil(1 << 20), self.limit / (1 << 20))
    }
}

/// How an algorithm runs: threads, progress and cancellation, memory budget.
pub struct Exec<'a> {
    threads: usize,
    progress: &'a mut dyn Progress,
    memory_limit: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl<'a> Exec<'a> {
    /// A context with `threads` workers (1 = everything on the calling thread), reporting to
    /// `progress`, with no memory limit.
    pub fn new(threads: usize, progress: &'a mut dyn Progress) -> Self {
        let threads = threads.max(1);
        // Without a pool (threads could not be started) everything runs on this thread.
        let pool = if threads > 1 { pool(threads) } else { None };
        let threads = if pool.is_some() { threads } else { 1 };
        Self { threads, progress, memory_limit: usize::MAX, pool }
    }

    /// The same, refusing steps that would need more than `bytes` of working memory.
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Threads that can run at once: the thread count, but no more than the CPU has cores.
    pub fn cores(&self) -> usize {
        self.threads.min(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// `Err` when `needed` bytes are over the budget.
    pub fn reserve(&self, needed: usize, what: &'static str) -> Result<(), MemoryLimit> {
        if needed > self.memory_limit {
            Err(MemoryLimit { needed, limit: self.memory_limit, what })
        } else {
            Ok(())
        }
    }

    /// Tells the hook (on the calling thread) where the algorithm is.
    pub fn step(&mut self, what: Step) {
        self.progress.step(what);
    }

    /// Runs `work` on every chunk of `0..n` (chunks of `chunk_rows`), handing each its own
    /// rows of `out` (every row `width` wide), and passes the results to `merge` in chunk
    /// order. `what` names the pass in progress reports.
    #[allow(clippy::too_many_arguments)]
    pub fn for_chunks_mut<T: Send, O: Send>(
        &mut self,
        what: &'static str,
        n: usize,
        chunk_rows: usize,
        out: &mut [O],
        width: usize,
        work: impl Fn(Range<usize>, &mut [O]) -> T + Sync,
        mut merge: impl FnMut(T),
    ) {
        let _: Result<(), ()> = self.run(what, n, chunk_rows, out, width, work, |t| {
            merge(t);
            Ok(())
        });
    }

    /// [`Exec::for_chunks`] whose `merge` can stop the pass: the first error ends it (the
    /// wave under way finishes, no further one starts) and is returned.
    pub fn try_for_chunks<T: Send, E>(
        &mut self,
        what: &'static str,
        n: usize,
        chunk_rows: usize,
        work: impl Fn(Range<usize>) -> T + Sync,
        merge: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut unit = vec![(); n];
        self.run(what, n, chunk_rows, &mut unit, 1, |r, _| work(r), merge)
    }

    #[allow(clippy::too_many_arguments)]
    fn run<T: Send, O: Send, E>(
        &mut self,
        what: &'static str,
        n: usize,
        chunk_rows: usize,
        out: &mut [O],
        width: usize,
        work: impl Fn(Range<usize>, &mut [O]) -> T + Sync,
        mut merge: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        assert_eq!(out.len(), n * width, "output buffer does not match {n} rows of width {width}");
        let mut pieces = Vec::new();
        let mut rest = out;
        for r in chunks(n, chunk_rows) {
            let (head, tail) = rest.split_at_mut(r.len() * width);
            pieces.push((r, head));
            rest = tail;
        }
        let wave_len = self.threads * WAVE_CHUNKS;
        let mut pieces = pieces.into_iter().peekable();
        let mut done = 0;
        while pieces.peek().is_some() {
            let wave: Vec<_> = pieces.by_ref().take(wave_len).collect();
            let rows: usize = wave.iter().map(|(r, _)| r.len()).sum();
            let results: Vec<T> = match &self.pool {
                None => wave.into_iter().map(|(r, o)| work(r, o)).collect(),
                Some(pool) => {
                    use rayon::prelude::*;
                    pool.install(|| wave.into_par_iter().map(|(r, o)| work(r, o)).collect())
                }
            };
            for t in results {
                merge(t)?;
            }
            done += rows;
            self.progress.step(Step::Pass { what, done, total: n });
        }
        Ok(())
    }

    /// [`Exec::for_chunks_mut`] without an output buffer.
    pub fn for_chunks<T: Send>(
        &mut self,
        what: &'static str,
        n: usize,
        chunk_rows: usize,
        work: impl Fn(Range<usize>) -> T + Sync,
        merge: impl FnMut(T),
    ) {
        let mut unit = vec![(); n];
        self.for_chunks_mut(what, n, chunk_rows, &mut unit, 1, |r, _| work(r), merge);
    }

    /// Runs `work` on every chunk of `0..n` in one go, without progress reports: for short
    /// passes that an outer loop already reports (one step of Prim's algorithm, ...).
    pub fn quick_map<T: Send>(&self, n: usize, chunk_rows: usize, work: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
        let ranges: Vec<Range<usize>> = chunks(n, chunk_rows).collect();
        match &self.pool {
            Some(pool) if ranges.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| ranges.into_par_iter().map(&work).collect())
            }
            _ => ranges.into_iter().map(work).collect(),
        }
    }

    /// Runs `work(offset, chunk)` on every chunk of `items` in one go (without progress
    /// reports) and returns the results in chunk order.
    pub fn quick_map_mut<I: Send, T: Send>(&self, items: &mut [I], chunk_len: usize, work: impl Fn(usize, &mut [I]) -> T + Sync) -> Vec<T> {
        let chunk_len = chunk_len.max(1);
        match &self.pool {
            Some(pool) if items.len() > chunk_len => {
                use rayon::prelude::*;
                pool.install(|| items.par_chunks_mut(chunk_len).enumerate().map(|(c, s)| work(c * chunk_len, s)).collect())
            }
            _ => items.chunks_mut(chunk_len).enumerate().map(|(c, s)| work(c * chunk_len, s)).collect(),
        }
    }
}

/// How workers of [`Exec::lockstep`] are told what to do next.
const STOP: usize = usize::MAX;

/// Sets the stop signal when dropped, also while unwinding (a cancel raised in the progress
/// hook), so that workers spinning for the next round leave and the scope can end.
struct StopOnDrop<'a>(&'a AtomicUsize);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(STOP, Ordering::Release);
    }
}

impl Exec<'_> {
    /// Runs many short rounds over `lanes` (at most one lane per thread), without handing
    /// each round to the pool anew: lane 0 runs on the calling thread, every other lane on a
    /// worker that waits, spinning, for the next round. Each round, `work(lane, input)` runs
    /// on every lane; then `next(results in lane order, self)` runs on the calling thread and
    /// returns the next round's input, or `None` to stop. `next` may report progress (and a
    /// cancel raised there unwinds safely: the workers are stopped first).
    ///
    /// For algorithms of many small dependent steps (Prim's algorithm), where handing each
    /// step to the pool would cost more than the step. Waiting threads spin, so callers
    /// should use no more lanes than [`Exec::cores`].
    pub fn lockstep<L: Send, I: Copy + Send + Sync, T: Send>(
        &mut self,
        lanes: &mut [L],
        first: I,
        work: impl Fn(&mut L, I) -> T + Sync,
        mut next: impl FnMut(Vec<T>, &mut Exec) -> Option<I>,
    ) {
        let pool = match &self.pool {
            Some(p) if lanes.len() > 1 => p.clone(),
            _ => {
                let mut input = first;
                loop {
                    let results = lanes.iter_mut().map(|l| work(l, input)).collect();
                    match next(results, self) {
                        Some(i) => input = i,
                        None => return,
                    }
                }
            }
        };
        assert!(lanes.len() <= self.threads, "more lanes than threads");
        let round = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let input = Mutex::new(first);
        let Some((head, rest)) = lanes.split_first_mut() else { return };
        let slots: Vec<Mutex<Option<T>>> = rest.iter().map(|_| Mutex::new(None)).collect();
        let work = &work;
        pool.in_place_scope(|scope| {
            let _stop = StopOnDrop(&round);
            for (lane, slot) in rest.iter_mut().zip(&slots) {
                let (round, done, input) = (&round, &done, &input);
                scope.spawn(move |_| {
                    let mut seen = 0;
                    loop {
                        spin_until(|| round.load(Ordering::Acquire) != seen);
                        let r = round.load(Ordering::Acquire);
                        if r == STOP {
                            return;
                        }
                        seen = r;
                        let i = *input.lock().unwrap_or_else(|p| p.into_inner());
                        let t = work(lane, i);
                        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
                        done.fetch_add(1, Ordering::AcqRel);
                    }
                });
            }
            let mut r = 0;
            loop {
                r += 1;
                let i = *input.lock().unwrap_or_else(|p| p.into_inner());
                done.store(0, Ordering::Release);
                round.store(r, Ordering::Release);
                let mine = work(head, i);
                spin_until(|| done.load(Ordering::Acquire) >= slots.len());
                let mut results = Vec::with_capacity(slots.len() + 1);
                results.push(mine);
                for slot in &slots {
                    results.extend(slot.lock().unwrap_or_else(|p| p.into_inner()).take());
                }
                match next(results, self) {
                    Some(i) => *input.lock().unwrap_or_else(|p| p.into_inner()) = i,
                    None => return,
                }
            }
        });
    }
}

/// Spins until `ready()`, yielding the core now and then.
fn spin_until(ready: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// The chunks `0..n` is cut into.
pub fn chunks(n: usize, chunk_rows: usize) -> impl Iterator<Item = Range<usize>> {
    let step = chunk_rows.max(1);
    (0..n.div_ceil(step)).map(move |c| c * step..((c + 1) * step).min(n))
}

/// The process's worker pool with `threads` threads; `None` when its threads cannot be
/// started (resource limits), so that the caller runs on its own thread instead of failing.
fn pool(threads: usize) -> Option<Arc<rayon::ThreadPool>> {
    static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let mut guard = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((n, p)) = guard.as_ref() {
        if *n == threads {
            return Some(p.clone());
        }
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("mlkit-worker-{i}"))
        .spawn_handler(|thread| {
            let mut b = std::thread::Builder::new();
            if let Some(name) = thread.name() {
                b = b.name(name.to_owned());
            }
            if let Some(size) = thread.stack_size() {
                b = b.stack_size(size);
            }
            // The new thread inherits the signal mask of the thread that spawns it.
            let _blocked = SignalsBlocked::new();
            b.spawn(|| thread.run())?;
            Ok(())
        })
        .build();
    let pool = Arc::new(built.ok()?);
    *guard = Some((threads, pool.clone()));
    Some(pool)
}

/// Blocks every signal on the current thread until dropped.
struct SignalsBlocked {
    #[cfg(unix)]
    old: libc::sigset_t,
}

impl SignalsBlocked {
    fn new() -> Self {
        #[cfg(unix)]
        // SAFETY: plain libc calls on stack-allocated sets.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            Self { old }
        }
        #[cfg(not(unix))]
        Self {}
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the mask saved in `new`.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
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
            let mut hook = |_| {};
            let mut exec = Exec::new(threads, &mut hook);
            let mut out = vec![0u32; n * 2];
            let mut seen = Vec::new();
            exec.for_chunks_mut(
                "test",
                n,
                1000,
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
            assert_eq!(exec.quick_map(n, 3000, |r| r.start), vec![0, 3000, 6000, 9000]);
        }
    }

    #[test]
    fn progress_is_told_between_waves_on_the_calling_thread() {
        let me = std::thread::current().id();
        let mut passes = Vec::new();
        let mut hook = |s: Step| {
            assert_eq!(std::thread::current().id(), me);
            if let Step::Pass { done, .. } = s {
                passes.push(done);
            }
        };
        let mut exec = Exec::new(2, &mut hook);
        exec.for_chunks("test", 100, 10, |_| std::thread::current().id() != me, |_| {});
        // 10 chunks, waves of 2 threads × WAVE_CHUNKS.
        let per_wave = 10 * 2 * WAVE_CHUNKS;
        let expected: Vec<usize> = (1..=100usize.div_ceil(per_wave)).map(|w| (w * per_wave).min(100)).collect();
        assert_eq!(passes, expected);
    }

    #[test]
    fn workers_run_with_signals_blocked() {
        let mut hook = |_| {};
        let exec = Exec::new(2, &mut hook);
        let blocked = exec.quick_map(4, 1, |_| {
            // SAFETY: reads the current thread's mask.
            unsafe {
                let mut cur: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut cur);
                libc::sigismember(&cur, libc::SIGINT) == 1 && libc::sigismember(&cur, libc::SIGUSR1) == 1
            }
        });
        assert!(blocked.iter().all(|&b| b), "a worker thread has signals unblocked");
    }

    #[test]
    fn lockstep_rounds_see_every_lane_in_order() {
        for threads in [1, 2, 3] {
            let mut hook = |_| {};
            let mut exec = Exec::new(threads, &mut hook);
            let mut lanes: Vec<Vec<usize>> = (0..threads).map(|_| Vec::new()).collect();
            let mut seen = Vec::new();
            exec.lockstep(
                &mut lanes,
                0usize,
                |lane, round| {
                    lane.push(round);
                    round * 10
                },
                |results, _| {
                    seen.push(results);
                    (seen.len() < 100).then_some(seen.len())
                },
            );
            assert_eq!(seen.len(), 100);
            assert!(seen.iter().enumerate().all(|(r, v)| v == &vec![r * 10; threads]));
            assert!(lanes.iter().all(|l| l == &(0..100).collect::<Vec<_>>()));
        }
    }

    #[test]
    fn lockstep_stops_its_workers_when_the_caller_unwinds() {
        let mut hook = |_| {};
        let mut exec = Exec::new(2, &mut hook);
        let mut lanes = vec![0u64; 2];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exec.lockstep(&mut lanes, 0u64, |l, i| *l += i, |_, _| -> Option<u64> { panic!("cancelled") });
        }));
        assert!(r.is_err());
        // The pool is still usable: no worker is stuck in the old rounds.
        assert_eq!(exec.quick_map(8, 2, |r| r.start), vec![0, 2, 4, 6]);
    }

    #[test]
    fn memory_budget_is_enforced() {
        let mut hook = |_| {};
        let exec = Exec::new(1, &mut hook).with_memory_limit(1 << 20);
        assert!(exec.reserve(1 << 19, "x").is_ok());
        let e = exec.reserve(3 << 20, "neighbour lists").unwrap_err();
        assert_eq!(e.to_string(), "neighbour lists need 3 MB, over the 1 MB");
    }
}
