//! A first pass that bounds the memory of the second: a count-min sketch of document
//! frequencies.
//!
//! Pruning by minimum document frequency is only exact once every document has been seen,
//! but the vocabulary of a million documents (with bigrams, millions of mostly rare terms)
//! is what eats the memory. So the caller reads its rows twice. The first pass feeds every
//! document to a [`DfSketch`]: for each distinct term of a document it adds one to `DEPTH`
//! counters picked by the term's hash (Cormode and Muthukrishnan's count-min sketch, with
//! conservative update: only the counters at the current minimum move). A term's estimate,
//! the least of its counters, is never below its true document frequency. In the second pass
//! the [`super::Accumulator`] counts only terms whose estimate reaches `min_documents`: every
//! term that truly reaches it is counted in full, plus the few rare terms whose counters
//! collide with frequent ones, which the exact count of the second pass then drops. The result
//! is exactly that of one unbounded pass; the memory is the sketch's fixed size plus the terms
//! that (nearly) reach the threshold, at most `tokens / min_documents` of them plus collisions.

use super::tokenize::{Analyzer, Scratch};
use super::vocabulary::{hash_term, mix};
use std::collections::HashMap;

/// Counters per term.
const DEPTH: usize = 4;

/// Document frequencies of every term, over-estimated, in a fixed size.
#[derive(Debug)]
pub struct DfSketch {
    pub(crate) analyzer: Analyzer,
    span_documents: bool,
    /// `DEPTH` rows of `mask + 1` counters, one after the other.
    counts: Vec<u32>,
    mask: usize,
    carries: HashMap<i64, Vec<String>>,
    scratch: Scratch,
    hashes: Vec<u64>,
    documents: u64,
}

impl DfSketch {
    /// A sketch of at most `bytes` (at least 64 KiB) for documents analysed by `analyzer`;
    /// `span_documents` as [`super::Options::ngrams_span_documents`]. Its estimates are over by
    /// about `DEPTH × tokens / counters` at most for nearly all terms.
    pub fn new(analyzer: Analyzer, span_documents: bool, bytes: usize) -> Self {
        let per_row = (bytes / (4 * DEPTH)).max(1 << 12);
        let width = if per_row.is_power_of_two() { per_row } else { per_row.next_power_of_two() / 2 };
        Self {
            analyzer,
            span_documents,
            counts: vec![0; width * DEPTH],
            mask: width - 1,
            carries: HashMap::new(),
            scratch: Scratch::default(),
            hashes: Vec::new(),
            documents: 0,
        }
    }

    /// Adds one document of cluster `label`; the same documents in the same order as the
    /// second pass will see them.
    pub fn add(&mut self, label: i64, text: &str) {
        let mut fresh = Vec::new();
        let carry = if self.span_documents { self.carries.entry(label).or_default() } else { &mut fresh };
        self.hashes.clear();
        let hashes = &mut self.hashes;
        self.analyzer.terms(text, carry, &mut self.scratch, |t| hashes.push(hash_term(t)));
        self.hashes.sort_unstable();
        self.hashes.dedup();
        for i in 0..self.hashes.len() {
            let h = self.hashes[i];
            let slots = self.slots(h);
            let least = slots.iter().map(|&at| self.counts[at]).min().unwrap_or(0);
            for at in slots {
                if self.counts[at] == least {
                    self.counts[at] = least.saturating_add(1);
                }
            }
        }
        self.documents += 1;
    }

    fn slots(&self, h: u64) -> [usize; DEPTH] {
        let step = mix(h ^ 0x9e37_79b9_7f4a_7c15) | 1;
        let width = self.mask + 1;
        std::array::from_fn(|row| row * width + (h.wrapping_add(step.wrapping_mul(row as u64)) as usize & self.mask))
    }

    /// At least the number of documents that contain the term of hash `h`.
    pub(crate) fn estimate(&self, h: u64) -> u32 {
        self.slots(h).iter().map(|&at| self.counts[at]).min().unwrap_or(0)
    }

    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// Bytes held (the counters, the carries, the buffers).
    pub fn memory_bytes(&self) -> usize {
        let carries: usize = self.carries.values().map(|c| 24 + c.iter().map(|s| 24 + s.capacity()).sum::<usize>()).sum();
        self.counts.capacity() * 4 + carries + self.carries.capacity() * 9 + self.scratch.bytes() + self.hashes.capacity() * 8
    }
}
