//! The bridge between the algorithms' progress hook and PostgreSQL: every step checks for
//! query cancel and `statement_timeout` (raising the usual error, which unwinds out of the
//! algorithm), and a long call says how far it is with a NOTICE every
//! `pg_mlkit.progress_interval` seconds.

use crate::shared::guc::PROGRESS_INTERVAL;
use mlkit::Step;
use pgrx::prelude::*;
use std::time::{Duration, Instant};

pub struct Reporter {
    what: String,
    last: Instant,
}

impl Reporter {
    pub fn new(what: impl Into<String>) -> Self {
        Self { what: what.into(), last: Instant::now() }
    }

    /// Checks for interrupts and, when the interval has passed, reports `detail`.
    pub fn tick(&mut self, detail: impl FnOnce() -> String) {
        pg_sys::check_for_interrupts!();
        let every = PROGRESS_INTERVAL.get();
        if every > 0 && self.last.elapsed() >= Duration::from_secs(every as u64) {
            self.last = Instant::now();
            notice!("{}: {}", self.what, detail());
        }
    }
}

impl mlkit::Progress for Reporter {
    fn step(&mut self, what: Step) {
        self.tick(|| match what {
            Step::Seeding { init, centers } => format!("restart {}: seeding, {centers} centres chosen", init + 1),
            Step::Iteration { init, iteration, changed } => {
                format!("restart {}: iteration {iteration}, {changed} points changed cluster", init + 1)
            }
            Step::Pass { what, done, total } => format!("{what}: {done} of {total}"),
            Step::Optimize { what, iteration, total, loss } => match loss {
                Some(l) => format!("{what}: iteration {iteration} of {total}, KL divergence {l:.4}"),
                None => format!("{what}: iteration {iteration} of {total}"),
            },
        });
    }
}

/// Milliseconds since `since`, to the microsecond.
pub fn ms(since: std::time::Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}
