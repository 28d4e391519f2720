//! Clusters that name themselves: the terms that set each cluster's documents apart, by
//! BERTopic's class-based TF-IDF (c-TF-IDF), for `ml.cluster_keywords`.
//!
//! # The method
//!
//! BERTopic (Grootendorst, 2022) joins the documents of each cluster, in their order, with
//! one space into a single document, counts terms in these documents with scikit-learn's
//! `CountVectorizer`, and weighs the counts with its `ClassTfidfTransformer`. For cluster
//! `c` and term `t` with count `x(t, c)`:
//!
//! ```text
//!     tf(t, c) = x(t, c) / Σ_t' x(t', c)            the counts, L1-normalised per cluster
//!     f(t)     = Σ_c x(t, c)                        the term's count over all clusters
//!     A        = trunc(Σ_c Σ_t x(t, c) / clusters)  the average words per cluster, an integer
//!     idf(t)   = ln(A / f(t) + 1)
//!     w(t, c)  = tf(t, c) · idf(t)
//! ```
//!
//! Note that `f(t)` is a *frequency*, not a document frequency as in classic TF-IDF, and that
//! BERTopic truncates `A` (`int(X.sum(axis=1).mean())`). Two options of the transformer are
//! here too: `bm25_weighting` (`idf(t) = ln(1 + (A − f(t) + 0.5) / (f(t) + 0.5))`, which can be
//! negative) and `reduce_frequent_words` (`tf` replaced by its square root). BERTopic's seed
//! words (an idf multiplier for chosen words) are not.
//!
//! # Equal to what
//!
//! Weights are computed in `f64` by the same operations in the same order as BERTopic 0.17
//! on NumPy and SciPy: the count divided by the row sum (an exact integer in `f64`), then
//! multiplied by `idf`, whose division, addition and natural logarithm are each one rounding.
//! Only the logarithm may differ, by NumPy's SIMD `log` against the C library's, at most an
//! ulp or so: the tests compare with BERTopic 0.17.4 over scikit-learn 1.9.1 within 1e-9, and
//! on their 3,529 weights find them equal bit for bit (`tests/fixtures/keywords/make_fixtures.py`).
//!
//! The terms are scikit-learn's ([`tokenize`]): `str.lower()`, the words of the token pattern
//! `(?u)\b\w\w+\b` with Python's `\w`, stop words removed, then n-grams of the remaining words
//! joined by a space. As in BERTopic, n-grams span consecutive documents of a cluster
//! (`ngrams_span_documents`, which can be turned off), so the order documents are fed in
//! matters for n-grams as it does for BERTopic.
//!
//! BERTopic's `fit` (with its default `language="english"`) also strips from every document
//! all but ASCII letters, digits and spaces before counting (`_preprocess_text`), and makes a
//! cluster whose joined document is then empty the document `"emptydoc"`. The option
//! `bertopic_preprocess` does the same; it is off by default, which is `ClassTfidfTransformer`
//! over `CountVectorizer()` on the documents as they are, BERTopic with `language` other
//! than English.
//!
//! Clusters: every label is one (BERTopic's rows), −1 (noise) included, in ascending order.
//! A cluster with no term counts in `A`'s denominator and lists no terms.
//!
//! Top terms: BERTopic takes `argpartition` then `argsort` of the weights, which orders equal
//! weights in no documented way; here the order is weight descending, then term ascending
//! (code point order). Only positive weights are listed (BERTopic lists `("", 1e-05)` in their
//! place).
//!
//! # Pruning
//!
//! `min_df` is BERTopic's: `CountVectorizer(min_df=…)` over the joined documents, so it counts
//! *clusters* containing the term, as a count (at least `k` clusters) or a proportion `p` (at
//! least `p × clusters`, compared in `f64`). `min_documents` is ours: the term must occur in
//! at least that many single documents (an n-gram spanning two documents belongs to the later
//! one). Both drop the term's column before any weight is computed, so they change the row
//! sums and `A`, as `min_df` does in BERTopic; with `min_documents = 1` and `min_df = 1` (the
//! defaults) nothing is dropped.
//!
//! # Memory
//!
//! [`Accumulator`] holds each distinct term once ([`vocabulary`]), a map term → count per
//! cluster, and per term a document count when `min_documents > 1`; [`Accumulator::memory_bytes`]
//! says how much, for the caller to hold against its budget as rows stream in. Without pruning
//! memory grows with the vocabulary. With `min_documents > 1` the caller can bound it by
//! reading the rows twice: first into a [`DfSketch`] of fixed size, then into
//! [`Accumulator::with_sketch`], which counts only terms that may reach `min_documents`. The
//! result is exactly that of a single pass ([`sketch`] says why).
//!
//! # Use
//!
//! ```
//! use mlkit::text::{Accumulator, Options};
//! let mut acc = Accumulator::new(Options::default()).unwrap();
//! acc.add(0, "The cat sat on the mat.").unwrap();
//! acc.add(1, "Dogs bark; dogs run.").unwrap();
//! let kw = acc.finish(&mut |_| {}).unwrap();
//! assert_eq!(kw.clusters[1].terms[0].0, "dogs");
//! ```

pub mod ctfidf;
pub mod sketch;
pub mod stop_words;
pub mod tokenize;
mod vocabulary;
mod word_chars;

pub use ctfidf::{Accumulator, ClusterKeywords, Error, Keywords, MinDf, Options};
pub use sketch::DfSketch;
pub use tokenize::{Analyzer, AnalyzerOptions, StopWords};

#[cfg(test)]
mod tests;
